"""Synthetic patients: baseline covariates, PFS1 and PET scan metadata (vectorised).

Hand-written because no library simulates this trial; the survival draw is the standard inversion of a
Weibull proportional-hazards model (Bender, Augustin and Blettner, Stat Med 2005;24:1713-23).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["simulate_baseline", "simulate_pfs", "simulate_scans"]

_CDK = "ET+CDK4/6i"


def _choice(rng, probs: dict, n: int) -> np.ndarray:
    keys = list(probs)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=list(probs.values()))]


def _months_to_days(months: np.ndarray, truth: dict) -> np.ndarray:
    return np.floor(np.asarray(months) * truth["days_per_month"]).astype(np.int64)


def simulate_baseline(rng: np.random.Generator, truth: dict, cohort: str, n: int) -> pd.DataFrame:
    """Simulate the baseline of ``n`` patients of one cohort (covariates known before lesions are drawn).

    Parameters
    ----------
    rng : numpy.random.Generator
    truth : dict
        Complete truth dict (:func:`sonimage_utils.simulate.truth.build_truth`).
    cohort : str
        ``sonimage``, ``impact_mbc`` or ``et_fes``.
    n : int
        Number of patients.

    Returns
    -------
    pandas.DataFrame
        Contract patient columns except the PFS1 ones, plus latent columns starting with ``_``:
        ``_pattern`` (disease pattern driving the lesions), ``_z_fdg`` (latent FDG level).

    Examples
    --------
    >>> from sonimage_utils.simulate.truth import build_truth
    >>> t = build_truth(seed=1, n_patients={"sonimage": 4})
    >>> simulate_baseline(np.random.default_rng(1), t, "sonimage", 4).shape[0]
    4
    """
    c = truth["cohorts"][cohort]
    width = max(3, len(str(n)))
    ids = [f"{c['id_prefix']}-{i:0{width}d}" for i in range(1, n + 1)]
    if set(c["arm_probs"]) == {_CDK, "ET"} and math.isclose(c["arm_probs"][_CDK], 0.5):
        arm = np.where(rng.permutation(n) < (n + rng.integers(0, 2)) // 2, _CDK, "ET").astype(object)
    else:
        arm = _choice(rng, c["arm_probs"], n)
    start = np.datetime64(c["accrual_start"], "D")
    entry_days = np.floor(rng.uniform(0, c["accrual_months"], n) * truth["days_per_month"]).astype(np.int64)
    rand_date = start + entry_days.astype("timedelta64[D]")

    age = np.clip(rng.normal(c["age_mean"], c["age_sd"], n), 18.0, 110.0).round(1)
    p_pre = np.where(age < 45, 0.9, np.where(age < 53, 0.5, 0.02))
    meno = np.where(rng.uniform(size=n) < p_pre, "pre", "post").astype(object)
    who = rng.choice(len(c["who_probs"]), size=n, p=c["who_probs"]).astype(np.int64)
    pattern = _choice(rng, c["pattern_probs"], n)
    de_novo = rng.uniform(size=n) < c["p_de_novo"]
    prior_et = ~de_novo & (rng.uniform(size=n) < c["p_prior_adjuvant_endocrine_if_relapse"])
    histology = _choice(rng, c["histology_probs"], n)
    er_levels = np.arange(max(c["er_min_percent"], 10), 101, 10, dtype=float)
    w = np.exp(0.35 * np.arange(er_levels.size))
    er = rng.choice(er_levels, size=n, p=w / w.sum())
    fdg_done = rng.uniform(size=n) < c["p_fdg_pet_done"]
    z_fdg = rng.standard_normal(n)

    age = age.astype(float)
    histology = histology.astype(object)
    for values in (age, histology, er):
        miss = rng.uniform(size=n) < c["p_missing"]
        values[miss] = np.nan

    return pd.DataFrame({
        "patient_id": ids,
        "center": _choice(rng, c["centers"], n),
        "arm": arm,
        "randomization_date": rand_date.astype("datetime64[ns]"),
        "age_years": age,
        "menopausal_status": meno,
        "who_performance_status": who,
        "visceral_disease": np.isin(pattern, ["visceral", "no_assessable"]),
        "bone_only_disease": pattern == "bone_only",
        "de_novo_metastatic": de_novo,
        "prior_adjuvant_endocrine": prior_et,
        "histology": histology,
        "er_percent": er,
        "fdg_pet_done": fdg_done,
        "_pattern": pattern,
        "_z_fdg": z_fdg,
    })


def simulate_pfs(rng: np.random.Generator, truth: dict, cohort: str, patients: pd.DataFrame,
                 het: pd.Series) -> pd.DataFrame:
    """Add PFS1 (date, event, event type) from the Weibull PH model and administrative censoring.

    Parameters
    ----------
    rng : numpy.random.Generator
    truth : dict
    cohort : str
    patients : pandas.DataFrame
        Output of :func:`simulate_baseline`.
    het : pandas.Series of float
        Derived heterogeneity per patient, aligned with ``patients``: 1 heterogeneous, 0 homogeneous,
        NaN no FES-assessable lesion.

    Returns
    -------
    pandas.DataFrame
        ``patients`` with ``pfs1_date``, ``pfs1_event``, ``pfs1_event_type`` and latent ``_lp``,
        ``_pfs_months``.
    """
    pfs, c = truth["pfs"], truth["cohorts"][cohort]
    n = len(patients)
    arm = patients["arm"].to_numpy()
    is_cdk = arm == _CDK
    h = np.nan_to_num(het.to_numpy(dtype=float), nan=0.0)
    none = np.isnan(het.to_numpy(dtype=float))
    if "hr_by_arm" in c:
        arm_lhr = np.log(np.array([c["hr_by_arm"][a] for a in arm], dtype=float))
    else:
        arm_lhr = is_cdk * math.log(pfs["hr_arm"])
    lp = (arm_lhr + h * math.log(pfs["hr_heterogeneous"]) + h * is_cdk * math.log(pfs["hr_interaction"])
          + patients["visceral_disease"].to_numpy() * math.log(pfs["hr_visceral"])
          + patients["who_performance_status"].to_numpy() * math.log(pfs["hr_who_per_step"])
          + patients["_z_fdg"].to_numpy() * math.log(pfs["hr_fdg_per_sd"])
          + none * math.log(pfs["hr_no_assessable"]) + math.log(c["baseline_hr"]))
    e = rng.exponential(size=n)
    t_event = pfs["weibull_scale_months"] * (e * np.exp(-lp)) ** (1.0 / pfs["weibull_shape"])
    rand = patients["randomization_date"].to_numpy().astype("datetime64[D]")
    start = np.datetime64(c["accrual_start"], "D")
    cutoff = start + np.timedelta64(int(c["data_cutoff_months"] * truth["days_per_month"]), "D")
    admin_months = (cutoff - rand).astype(np.int64) / truth["days_per_month"]
    dropout = rng.exponential(1.0 / c["dropout_per_month"], size=n) if c["dropout_per_month"] > 0 \
        else np.full(n, np.inf)
    t_cens = np.minimum(admin_months, dropout)
    event = t_event <= t_cens
    t_obs = np.where(event, t_event, t_cens)
    days = np.maximum(_months_to_days(t_obs, truth), 1)
    days = np.minimum(days, (cutoff - rand).astype(np.int64))
    etype = _choice(rng, pfs["event_type_probs"], n)
    out = patients.copy()
    out["pfs1_date"] = (rand + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    out["pfs1_event"] = event.astype(np.int64)
    out["pfs1_event_type"] = np.where(event, etype, "censored").astype(object)
    out["_lp"] = lp
    out["_pfs_months"] = t_event
    out["_cutoff"] = np.datetime64(cutoff, "ns")
    return out


def simulate_scans(rng: np.random.Generator, truth: dict, patients: pd.DataFrame) -> pd.DataFrame:
    """One FES scan per patient and one FDG scan where ``fdg_pet_done``.

    Parameters
    ----------
    rng : numpy.random.Generator
    truth : dict
    patients : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        Contract scans columns, ordered by patient then tracer (FES first).
    """
    s = truth["scans"]
    n = len(patients)
    weight = np.clip(rng.normal(*s["weight_kg"], n), 40.0, 150.0)

    def one(tracer, mask):
        m = int(mask.sum())
        before = -np.minimum(np.round(rng.exponential(s["days_before_mean"], m)), 42)
        after = rng.integers(1, 8, m)
        offset = np.where(rng.uniform(size=m) < s["p_after_randomization"], after, before).astype(np.int64)
        key = tracer.lower()
        frame = pd.DataFrame({
            "patient_id": patients["patient_id"].to_numpy()[mask],
            "tracer": tracer,
            "scan_date": (patients["randomization_date"].to_numpy()[mask].astype("datetime64[D]")
                          + offset.astype("timedelta64[D]")).astype("datetime64[ns]"),
            "injected_activity_mbq": np.clip(rng.normal(*s[f"{key}_activity_mbq"], m), 50, 500),
            "uptake_time_min": np.clip(np.round(rng.normal(*s[f"{key}_uptake_min"], m)), 20, 180),
            "weight_kg": np.clip(weight[mask] + rng.normal(0, 0.5, m), 25, 250),
            "blood_glucose_mmol_l": (np.clip(rng.normal(*s["glucose_mmol_l"], m), 3.5, 15.0)
                                     if tracer == "FDG" else np.full(m, np.nan)),
        })
        frame["_order"] = np.flatnonzero(mask) * 2 + (tracer == "FDG")
        return frame

    scans = pd.concat([one("FES", np.ones(n, dtype=bool)),
                       one("FDG", patients["fdg_pet_done"].to_numpy(dtype=bool))], ignore_index=True)
    return scans.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
