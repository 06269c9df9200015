"""Generating parameters ("truth") of the synthetic SONImage data folder.

Every number that shapes the synthetic cohorts lives in :data:`DEFAULT_TRUTH`; ``truth.json`` is this dict
after the user's overrides and after the Weibull scale has been calibrated. Keeping all of it in one nested
dict makes the generator auditable: an estimator that is meant to recover a quantity can be checked against
the number written beside the data.

Sources of the default values (``book/methods.md``, section Synthetic cohort): SONIA PFS1 medians 24.7 vs
16.1 months and HR 0.59 (Sonke et al., Nature 2024), median follow-up 37.3 months; organ mix and FES SUVmax
range after Nienhuis et al. (J Nucl Med 2018); the FES threshold 1.5 and liver exclusion after the Groningen
convention.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from scipy import optimize

__all__ = ["DEFAULT_TRUTH", "build_truth", "mixture_median_months", "expand_dotted_overrides",
           "read_truth_overrides"]

#: Weibull shape that makes a proportional-hazards ratio of 0.59 equal to the median ratio 24.7 / 16.1.
_SHAPE = round(math.log(1 / 0.59) / math.log(24.7 / 16.1), 4)

DEFAULT_TRUTH: dict = {
    "fes_threshold": 1.5,
    "fes_excluded_organs": ["liver"],
    "days_per_month": 30.4375,
    "pfs": {
        "model": (
            "Weibull proportional hazards: S(t | x) = exp(-(t / weibull_scale_months) ** weibull_shape * "
            "exp(lp)), lp = log(hr_arm) [ET+CDK4/6i] + log(hr_heterogeneous) [het] + log(hr_interaction) "
            "[ET+CDK4/6i and het] + log(hr_visceral) [visceral] + log(hr_who_per_step) * WHO + "
            "log(hr_fdg_per_sd) * z_fdg + log(hr_no_assessable) [no FES-assessable lesion] + "
            "log(baseline_hr of the cohort); het is the heterogeneity group derived from lesions.csv "
            "(book/methods.md); z_fdg is the patient's latent standard-normal FDG level; external cohorts use "
            "hr_by_arm instead of hr_arm."
        ),
        "weibull_shape": _SHAPE,
        "median_et_months": 16.1,
        "hr_arm": 0.59,
        "hr_heterogeneous": 1.8,
        "hr_interaction": 1.0,
        "hr_visceral": 1.3,
        "hr_who_per_step": 1.25,
        "hr_fdg_per_sd": 1.15,
        "hr_no_assessable": 1.0,
        "event_type_probs": {
            "progression": 0.80,
            "symptomatic_deterioration": 0.05,
            "new_therapy": 0.07,
            "death": 0.06,
            "progression_during_break": 0.02,
        },
    },
    "lesions": {
        "n_lesions_median": 8.0,
        "n_lesions_log_sd": 0.85,
        "n_lesions_max": 60,
        "free_organ_probs": {
            "bone": 0.785, "lymph_node": 0.18, "soft_tissue": 0.015, "breast": 0.015, "other": 0.005,
        },
        "visceral_organ_probs": {"lung": 0.55, "liver": 0.3, "pleura": 0.15},
        "visceral_extra_poisson_mean": 0.6,
        "p_heterogeneous": 0.40,
        "p_all_negative_given_heterogeneous": 0.12,
        "negative_share_beta": [1.5, 3.0],
        "fes_patient_log_mean": math.log(3.8),
        "fes_patient_log_sd": 0.35,
        "fes_lesion_log_sd": 0.4,
        "fes_positive_range": [1.5, 14.0],
        "fes_negative_log_mean": math.log(1.05),
        "fes_negative_log_sd": 0.2,
        "fes_negative_range": [0.5, 1.494],
        "fdg_log_mean": math.log(4.0),
        "fdg_patient_log_sd": 0.45,
        "fdg_lesion_log_sd": 0.45,
        "fdg_range": [0.5, 40.0],
        "ct_log_median_mm": {"lymph_node": 15.0, "other": 17.0, "bone_size_proxy": 15.0},
        "ct_log_sd": 0.45,
        "ct_range_mm": [10.0, 80.0],
    },
    "response": {
        "model": (
            "nadir_pct = intercept_pct + arm_effect_pct [ET+CDK4/6i] + fes_coef_per_log_suv * ln(FES SUVmax) "
            "+ fdg_coef_per_log_suv * ln(FDG SUVmax) + u_patient + e_lesion, clipped to [-100, max_growth_pct]; "
            "a lesion reaches nadir_pct linearly by months_to_nadir and stays there, each assessment adds "
            "N(0, visit_noise_pct); liver lesions use the patient's latent mean FES SUVmax; FDG is the latent "
            "lesion value (also when no FDG-PET was done)."
        ),
        "intercept_pct": 0.0,
        "arm_effect_pct": -10.0,
        "fes_coef_per_log_suv": -15.0,
        "fdg_coef_per_log_suv": 2.0,
        "patient_sd_pct": 10.0,
        "lesion_sd_pct": 12.0,
        "max_growth_pct": 60.0,
        "months_to_nadir": 6.0,
        "visit_noise_pct": 4.0,
        "node_floor_mm": 5.0,
        "pd_mechanism_probs": {"target": 0.5, "non_target": 0.25, "new": 0.25},
        "p_equivocal_new_at_pd": 0.1,
        "p_visit_after_pd": 0.5,
        "p_non_target_not_assessed": 0.005,
        "visit_interval_days": 84,
        "baseline_days_before_randomization_max": 28,
    },
    "scans": {
        "fes_activity_mbq": [200.0, 25.0],
        "fdg_activity_mbq": [220.0, 40.0],
        "fes_uptake_min": [60.0, 5.0],
        "fdg_uptake_min": [62.0, 8.0],
        "weight_kg": [72.0, 14.0],
        "glucose_mmol_l": [5.6, 0.8],
        "days_before_mean": 14.0,
        "p_after_randomization": 0.1,
    },
    "cohorts": {
        "sonimage": {
            "id_prefix": "SON",
            "centers": {"UMCG": 0.6, "VUmc": 0.4},
            "arm_probs": {"ET+CDK4/6i": 0.5, "ET": 0.5},
            "who_probs": [0.60, 0.35, 0.05],
            "pattern_probs": {"no_assessable": 0.01, "bone_only": 0.25, "visceral": 0.49, "other": 0.25},
            "age_mean": 64.0,
            "age_sd": 10.0,
            "p_de_novo": 0.30,
            "p_prior_adjuvant_endocrine_if_relapse": 0.6,
            "histology_probs": {"ductal": 0.75, "lobular": 0.20, "other": 0.05},
            "er_min_percent": 20,
            "p_fdg_pet_done": 0.9,
            "p_missing": 0.01,
            "baseline_hr": 1.0,
            "fes_measured": "all",
            "has_scans": True,
            "has_recist": True,
            "accrual_start": "2020-01-06",
            "accrual_months": 24.0,
            "data_cutoff_months": 50.0,
            "dropout_per_month": 0.002,
        },
        "impact_mbc": {
            "id_prefix": "IMP",
            "centers": {"UMCG": 0.5, "MCL": 0.2, "MMC": 0.15, "ZGT": 0.15},
            "arm_probs": {"ET+CDK4/6i": 0.35, "ET": 0.35, "chemotherapy": 0.2, "other": 0.1},
            "hr_by_arm": {"ET+CDK4/6i": 0.59, "ET": 1.0, "chemotherapy": 1.3, "other": 1.2},
            "who_probs": [0.50, 0.35, 0.10, 0.05],
            "pattern_probs": {"no_assessable": 0.01, "bone_only": 0.20, "visceral": 0.54, "other": 0.25},
            "age_mean": 62.0,
            "age_sd": 12.0,
            "p_de_novo": 0.35,
            "p_prior_adjuvant_endocrine_if_relapse": 0.55,
            "histology_probs": {"ductal": 0.72, "lobular": 0.22, "other": 0.06},
            "er_min_percent": 0,
            "p_fdg_pet_done": 0.95,
            "p_missing": 0.02,
            "baseline_hr": 1.15,
            "fes_measured": "all",
            "has_scans": True,
            "has_recist": False,
            "accrual_start": "2014-03-03",
            "accrual_months": 36.0,
            "data_cutoff_months": 66.0,
            "dropout_per_month": 0.006,
        },
        "et_fes": {
            "id_prefix": "ETF",
            "centers": {"site_01": 0.3, "site_02": 0.25, "site_03": 0.2, "site_04": 0.15, "site_05": 0.1},
            "arm_probs": {"ET": 1.0},
            "hr_by_arm": {"ET": 1.0},
            "who_probs": [0.55, 0.38, 0.07],
            "pattern_probs": {"no_assessable": 0.01, "bone_only": 0.28, "visceral": 0.45, "other": 0.26},
            "age_mean": 63.0,
            "age_sd": 11.0,
            "p_de_novo": 0.15,
            "p_prior_adjuvant_endocrine_if_relapse": 0.7,
            "histology_probs": {"ductal": 0.76, "lobular": 0.19, "other": 0.05},
            "er_min_percent": 20,
            "p_fdg_pet_done": 0.7,
            "p_missing": 0.02,
            "baseline_hr": 1.0,
            "fes_measured": "largest_3",
            "has_scans": False,
            "has_recist": False,
            "accrual_start": "2017-01-02",
            "accrual_months": 30.0,
            "data_cutoff_months": 54.0,
            "dropout_per_month": 0.006,
        },
    },
}


#: Dicts whose keys are labels chosen by the user: an override replaces them whole.
_REPLACED_WHOLE = ("centers", "arm_probs", "hr_by_arm")
_ARMS = ("ET+CDK4/6i", "ET", "chemotherapy", "other")


def _merge(base: dict, overrides: dict, path: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if key not in out:
            raise ValueError(f"unknown truth parameter {path + key!r}; known: {sorted(out)}")
        if isinstance(out[key], dict) and isinstance(value, dict) and key not in _REPLACED_WHOLE:
            out[key] = _merge(out[key], value, path + key + ".")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_probs(truth: dict) -> None:
    for name, cohort in truth["cohorts"].items():
        for key in ("centers", "arm_probs", "pattern_probs", "histology_probs"):
            total = sum(cohort[key].values())
            if not math.isclose(total, 1.0, abs_tol=1e-9):
                raise ValueError(f"truth cohorts.{name}.{key} must sum to 1, got {total}")
        if not math.isclose(sum(cohort["who_probs"]), 1.0, abs_tol=1e-9):
            raise ValueError(f"truth cohorts.{name}.who_probs must sum to 1")
        arms = set(cohort["arm_probs"])
        if not arms <= set(_ARMS) or (name == "sonimage" and not arms <= {"ET+CDK4/6i", "ET"}):
            raise ValueError(f"truth cohorts.{name}.arm_probs has arms outside the contract: {sorted(arms)}")
        if "hr_by_arm" in cohort and not arms <= set(cohort["hr_by_arm"]):
            raise ValueError(f"truth cohorts.{name}.hr_by_arm lacks arms {sorted(arms - set(cohort['hr_by_arm']))}")
        if name == "sonimage" and len(cohort["who_probs"]) > 3:
            raise ValueError("truth cohorts.sonimage.who_probs allows WHO 0-2 only")
        if cohort["fes_measured"] not in ("all", "largest_3"):
            raise ValueError(f"truth cohorts.{name}.fes_measured must be 'all' or 'largest_3'")
    for key in ("free_organ_probs", "visceral_organ_probs"):
        if not math.isclose(sum(truth["lesions"][key].values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"truth lesions.{key} must sum to 1")
    for key in ("event_type_probs",):
        if not math.isclose(sum(truth["pfs"][key].values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"truth pfs.{key} must sum to 1")
    pfs = truth["pfs"]
    for key in ("hr_arm", "hr_heterogeneous", "hr_interaction", "hr_visceral", "hr_who_per_step",
                "hr_fdg_per_sd", "hr_no_assessable", "weibull_shape", "median_et_months"):
        if not pfs[key] > 0:
            raise ValueError(f"truth pfs.{key} must be > 0, got {pfs[key]}")
    if not 0 <= truth["lesions"]["p_heterogeneous"] <= 1:
        raise ValueError("truth lesions.p_heterogeneous must lie in [0, 1]")


def _case_mix(truth: dict, cohort: str, arm: str):
    """Return (log hazard ratios, probabilities) over the discrete covariates and a quadrature for z_fdg."""
    pfs, c = truth["pfs"], truth["cohorts"][cohort]
    p_none = c["pattern_probs"]["no_assessable"]
    p_visc_other = c["pattern_probs"]["visceral"]
    p_het = truth["lesions"]["p_heterogeneous"]
    arm_lhr = math.log(pfs["hr_arm"]) if arm == "ET+CDK4/6i" else 0.0
    if "hr_by_arm" in c:
        arm_lhr = math.log(c["hr_by_arm"][arm])
    groups = [  # (probability, het, visceral, no_assessable)
        (p_none, 0, 1, 1),
        ((1 - p_none) * p_het * p_visc_other / (1 - p_none), 1, 1, 0),
        ((1 - p_none) * (1 - p_het) * p_visc_other / (1 - p_none), 0, 1, 0),
        ((1 - p_none) * p_het * (1 - p_visc_other / (1 - p_none)), 1, 0, 0),
        ((1 - p_none) * (1 - p_het) * (1 - p_visc_other / (1 - p_none)), 0, 0, 0),
    ]
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    lhr, prob = [], []
    for p_g, het, visc, none in groups:
        for who, p_who in enumerate(c["who_probs"]):
            base = (arm_lhr + het * math.log(pfs["hr_heterogeneous"])
                    + het * (arm == "ET+CDK4/6i") * math.log(pfs["hr_interaction"])
                    + visc * math.log(pfs["hr_visceral"]) + who * math.log(pfs["hr_who_per_step"])
                    + none * math.log(pfs["hr_no_assessable"]) + math.log(c["baseline_hr"]))
            lhr.append(base + nodes * math.log(pfs["hr_fdg_per_sd"]))
            prob.append(p_g * p_who * weights)
    return np.concatenate(lhr), np.concatenate(prob)


def mixture_median_months(truth: dict, cohort: str, arm: str) -> float:
    """Median PFS1 (months) of one arm over the cohort's case mix, from the Weibull PH model.

    Parameters
    ----------
    truth : dict
        A complete truth dict (from :func:`build_truth`), with ``pfs.weibull_scale_months``.
    cohort : str
        Key of ``truth["cohorts"]``.
    arm : str
        Treatment arm.

    Returns
    -------
    float
        The population median of PFS1 in months.

    Examples
    --------
    >>> t = build_truth(seed=1, n_patients={"sonimage": 100, "impact_mbc": 200, "et_fes": 147})
    >>> round(mixture_median_months(t, "sonimage", "ET"), 1)
    16.1
    """
    lhr, prob = _case_mix(truth, cohort, arm)
    k, scale = truth["pfs"]["weibull_shape"], truth["pfs"]["weibull_scale_months"]

    def surv_minus_half(u):
        return float(np.sum(prob * np.exp(-(u ** k) * np.exp(lhr)))) - 0.5

    return scale * optimize.brentq(surv_minus_half, 1e-6, 1e3, xtol=1e-12)


def build_truth(*, seed: int, n_patients: dict, overrides: dict | None = None) -> dict:
    """Return the complete truth dict: defaults, user overrides, and the calibrated Weibull scale.

    The Weibull scale is chosen so that the median PFS1 of the ET arm over the sonimage case mix equals
    ``pfs.median_et_months``; with the default shape the ET+CDK4/6i arm median then comes out near 24.7.

    Parameters
    ----------
    seed : int
        Master seed, recorded.
    n_patients : dict
        Cohort name -> number of patients.
    overrides : dict, optional
        Nested dict with the same keys as :data:`DEFAULT_TRUTH`; values replace the defaults.

    Returns
    -------
    dict
        The truth dict, JSON-serialisable.

    Raises
    ------
    ValueError
        If an override names an unknown parameter or probabilities do not sum to 1.

    Examples
    --------
    >>> t = build_truth(seed=1, n_patients={"sonimage": 10, "impact_mbc": 0, "et_fes": 0},
    ...                 overrides={"pfs": {"hr_heterogeneous": 2.0}})
    >>> t["pfs"]["hr_heterogeneous"]
    2.0
    """
    truth = _merge(DEFAULT_TRUTH, overrides or {})
    _check_probs(truth)
    for name, n in n_patients.items():
        if name not in truth["cohorts"]:
            raise ValueError(f"unknown cohort {name!r}")
        if int(n) != n or n < 0:
            raise ValueError(f"n_patients for {name} must be a non-negative integer, got {n!r}")
    truth["seed"] = int(seed)
    if overrides:  # a scenario says what it changed (absent for the default truth, whose file stays as it was)
        truth["overrides"] = copy.deepcopy(overrides)
    truth["n_patients"] = {k: int(v) for k, v in n_patients.items()}
    truth["generator"] = "sonimage_utils.simulate (synthetic data; not real patients)"
    truth["pfs"]["weibull_scale_months"] = 1.0
    m_unit = mixture_median_months(truth, "sonimage", "ET")
    truth["pfs"]["weibull_scale_months"] = truth["pfs"]["median_et_months"] / m_unit
    truth["pfs"]["implied_median_months"] = {
        arm: round(mixture_median_months(truth, "sonimage", arm), 3) for arm in ("ET", "ET+CDK4/6i")
    }
    return truth


def expand_dotted_overrides(overrides: dict) -> dict:
    """Nested overrides from a dict whose keys may be dotted paths of ``truth.json``.

    ``{"pfs.hr_interaction": 0.5}`` becomes ``{"pfs": {"hr_interaction": 0.5}}``; nested and dotted keys may be
    mixed. Whether the keys exist is checked by :func:`build_truth`.

    Raises
    ------
    ValueError
        If the same parameter is given twice, or a key is empty.

    Examples
    --------
    >>> expand_dotted_overrides({"pfs.hr_interaction": 0.5, "pfs": {"hr_arm": 0.6}})
    {'pfs': {'hr_interaction': 0.5, 'hr_arm': 0.6}}
    """
    out: dict = {}

    def put(path, value):
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"truth override {'.'.join(path)!r} conflicts with a value given for {part!r}")
        if path[-1] in node and not (isinstance(node[path[-1]], dict) and isinstance(value, dict)):
            raise ValueError(f"truth override {'.'.join(path)!r} given twice")
        if isinstance(value, dict) and isinstance(node.get(path[-1]), dict):
            for k, v in value.items():
                put(path + [str(k)], v)
        else:
            node[path[-1]] = value

    def walk(prefix, d):
        for key, value in d.items():
            parts = str(key).split(".")
            if any(not p for p in parts):
                raise ValueError(f"truth override key {key!r} has an empty part")
            if isinstance(value, dict) and parts[-1] not in _REPLACED_WHOLE:
                walk(prefix + parts, value)
            else:
                put(prefix + parts, value)

    if not isinstance(overrides, dict):
        raise ValueError(f"truth overrides must be a mapping, got {type(overrides).__name__}")
    walk([], overrides)
    return out


def read_truth_overrides(path) -> dict:
    """Read a YAML file of truth overrides (nested or dotted keys of ``truth.json``) as a nested dict.

    Raises
    ------
    ValueError
        If the file is not a YAML mapping (an empty file gives no overrides).
    """
    import yaml

    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if data is None:
        return {}
    return expand_dotted_overrides(data)
