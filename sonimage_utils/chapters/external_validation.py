"""Chapter 05, external validation: the frozen model of chapter 04 applied unchanged to each external cohort.

One function per section of ``notebooks/05_external_validation.py``; each returns a
:class:`~sonimage_utils.chapters.Section` (tables, figures, named results, sentences) and displays nothing.
Every study value (horizon, seed, number of resamples, calibration groups, the ET-FES measurement) comes
from the notebook's parameters (``analysis.yml``); chapter 05 reads only the frozen model JSON of chapter 04.

Figures are made by :mod:`sonimage_utils.plots.validation`; a notebook calls a section that makes figures in
a hidden cell, so that each figure is shown once, in its own captioned cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sonimage_utils.benefit.artifact import load_model, predict_model
from sonimage_utils.benefit.features import FEATURE_DEFINITIONS, derive_model_features
from sonimage_utils.chapters.section import Section
from sonimage_utils.data.load import Cohort, available_cohorts, load_cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.external_validation.bootstrap import (bootstrap_auc_curve, bootstrap_calibration_curve,
                                                          bootstrap_performance, draw_bootstrap_indices)
from sonimage_utils.external_validation.calibration import (compute_calibration_by_value, compute_calibration_rule,
                                                            compute_expected_cumhaz, compute_grouped_calibration,
                                                            fit_recalibration)
from sonimage_utils.external_validation.metrics import (compute_calibration_in_the_large, compute_harrell_c,
                                                        compute_km_risk)
from sonimage_utils.external_validation.precision import compute_expected_precision
from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS, survival_performance
from sonimage_utils.plots.validation import plot_auc_curve, plot_calibration, plot_lp_distribution
from sonimage_utils.tables.cohort import format_case_mix
from sonimage_utils.tables.format import format_estimate_ci, format_number, format_value
from sonimage_utils.tables.labels import label
from sonimage_utils.tables.validation import (format_estimate_rows, format_median_iqr, format_performance_table,
                                              format_predictor_summary)

__all__ = ["DEVELOPMENT", "EXTERNAL_COHORTS", "FES_FEATURES", "UPDATING_METRICS", "PreparedCohort",
           "load_frozen_model", "prepare_cohort", "compare_feature_settings", "harmonisation_variants",
           "prepare_chapter", "flow_section", "harmonisation_section", "performance_section",
           "therapy_subgroup_section", "precision_section", "calibration_section", "auc_section", "decision_curve_section",
           "model_updating_section", "benefit_section"]

#: The development cohort (SONImage) and the external cohorts, in the order of the book's columns.
DEVELOPMENT = "sonimage"
EXTERNAL_COHORTS = ("impact_mbc", "et_fes")
#: Predictors derived from FES lesion uptake: the ones a restricted FES measurement changes.
FES_FEATURES = frozenset({"hs", "fes_heterogeneous", "log_mean_fes_suvmax", "log_min_fes_suvmax"})
#: Metrics of the model-updating table (Table 05.7).
UPDATING_METRICS = ("harrell_c", "oe", "calibration_slope", "ici", "brier", "ipa")
#: First-line arms that are endocrine-based (the rest is chemotherapy or other).
_ENDOCRINE_ARMS = ("ET", "ET+CDK4/6i")


def _p(x) -> str:
    """A SAP value (horizon, threshold) as the book writes it: 24, 1.5."""
    return format_value(x, "parameter")


@dataclass
class PreparedCohort:
    """One cohort with the frozen model's predictions.

    Attributes
    ----------
    data : Cohort
        The contract tables.
    analysis : pandas.DataFrame
        Its analysis set (heterogeneity at the chapter's FES threshold).
    frame : pandas.DataFrame
        One row per patient: ``patient_id``, ``arm``, ``pfs1_months``, ``pfs1_event`` and the predictions of
        :func:`~sonimage_utils.benefit.artifact.predict_model` (``lp``, ``risk_t``, ``benefit_t``, ``n_imputed``...).
    """

    data: Cohort
    analysis: pd.DataFrame
    frame: pd.DataFrame

    @property
    def validation(self) -> pd.DataFrame:
        """The primary validation set: patients on ET alone or on ET+CDK4/6i, with the therapy-specific prediction.

        ``risk_t`` and ``lp`` are the frozen model's prediction for the patient's own arm (``risk_t_arm``,
        ``lp_arm`` of :func:`~sonimage_utils.benefit.artifact.predict_model`); the arm-blinded prognostic ones are
        kept as ``risk_t_prognostic`` and ``lp_prognostic``.
        """
        f = self.frame[self.frame["arm_predicted"].notna()]
        f = f.rename(columns={"risk_t": "risk_t_prognostic", "lp": "lp_prognostic"})
        return f.rename(columns={"risk_t_arm": "risk_t", "lp_arm": "lp"}).reset_index(drop=True)

    @property
    def other(self) -> pd.DataFrame:
        """Patients on chemotherapy or other therapy: no therapy-specific prediction (discrimination only)."""
        return self.frame[self.frame["arm_predicted"].isna()].reset_index(drop=True)


def load_frozen_model(build_dir) -> dict:
    """The model artifact chapter 04 wrote to ``BUILD/models/benefit_model.json``.

    Raises
    ------
    FileNotFoundError
        If chapter 04 has not been run in ``build_dir``.
    """
    path = Path(build_dir) / "models" / "benefit_model.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: chapter 04 writes the frozen model; run it first")
    return load_model(path)


def prepare_cohort(data_dir, name: str, model: dict, *, horizon: float, fes_threshold: float,
                   fes_excluded_organs, feature_settings: dict | None = None, loaded=None) -> PreparedCohort:
    """Outcome and frozen-model predictions of one cohort, one row per patient.

    Parameters
    ----------
    data_dir : str or Path
        Data folder in the contract layout.
    name : str
        Cohort folder (``sonimage``, ``impact_mbc``, ``et_fes``).
    model : dict
        The frozen artifact (:func:`load_frozen_model`).
    horizon : float
        Prediction horizon, months.
    fes_threshold, fes_excluded_organs
        Heterogeneity definition of the analysis set (case mix); the model derives its own predictors with its
        stored settings.
    feature_settings : dict, optional
        A harmonisation of the model's lesion-derived predictors (e.g. ``{"top_n_lesions": 3}``); None applies the
        model unchanged.
    loaded : PreparedCohort, optional
        This cohort prepared before with the same ``data_dir``, ``fes_threshold`` and ``fes_excluded_organs``:
        its validated data and analysis set are reused (only the predictions are made again), so a cohort is
        read and validated once per chapter.

    Returns
    -------
    PreparedCohort
    """
    if loaded is None:
        data = load_cohort(data_dir, name)
        analysis = build_analysis_set(data, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                                      fdg_threshold=None)  # the FDG pattern is no model feature
    else:
        data, analysis = loaded.data, loaded.analysis
    pred = predict_model(model, data.patients, data.lesions, horizon=horizon, feature_settings=feature_settings,
                         arm="observed")
    frame = analysis[["patient_id", "arm", "pfs1_months", "pfs1_event"]].merge(pred, on="patient_id")
    return PreparedCohort(data, analysis, frame)


def harmonisation_variants(top_n_lesions: int, fes_threshold: float) -> dict:
    """Feature settings that re-derive the FES predictors as ET-FES measured them.

    Returns
    -------
    dict of str to dict or None
        Column label -> ``feature_settings`` of :func:`prepare_cohort`: as frozen (None), FES of the
        ``top_n_lesions`` largest lesions, and that with ET-FES's positivity ``fes_threshold``.

    Examples
    --------
    >>> list(harmonisation_variants(3, 2.0))
    ['as frozen', 'FES of the 3 largest lesions', '... and threshold 2']
    """
    return {"as frozen": None,
            f"FES of the {top_n_lesions} largest lesions": {"top_n_lesions": top_n_lesions},
            f"... and threshold {_p(fes_threshold)}": {"top_n_lesions": top_n_lesions,
                                                         "fes_threshold": fes_threshold}}


def compare_feature_settings(prepare, variants: dict, horizon: float, reference_lp=None,
                             min_distinct: int | None = None) -> pd.DataFrame:
    """Point estimates of every metric of the frozen model under each harmonisation of its predictors.

    Parameters
    ----------
    prepare : callable
        ``feature_settings -> PreparedCohort`` (e.g. :func:`prepare_cohort` with the cohort fixed).
    variants : dict of str to dict or None
        Column label -> feature settings (:func:`harmonisation_variants`).
    horizon : float
    reference_lp : array-like, optional
        The linear predictor as frozen; when given, a row ``lp correlation with frozen`` is added.
    min_distinct : int, optional
        ``calibration_min_distinct_predictions``: with fewer distinct predictions ICI/E50/E90 are not estimated
        (NaN); None estimates them always.

    Returns
    -------
    pandas.DataFrame
        Rows: metric labels (then the correlation); columns: the variants.
    """
    out = {}
    for name, settings in variants.items():
        fr = prepare(settings).validation
        smooth = min_distinct is None or compute_calibration_rule(fr["risk_t"], min_distinct)["smooth"]
        out[name] = survival_performance(fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"], fr["lp"], horizon,
                                         smooth_calibration=smooth)
        if reference_lp is not None:
            out[name]["lp correlation with frozen"] = float(np.corrcoef(fr["lp"], np.asarray(reference_lp))[0, 1])
    return pd.DataFrame(out).rename(index=label)


def prepare_chapter(data_dir, build_dir, *, horizon_months, fes_threshold: float, fes_excluded_organs) -> Section:
    """The frozen model and every cohort present, with predictions (the chapter's setup).

    Parameters
    ----------
    data_dir, build_dir : str or Path
    horizon_months : float or None
        Validation horizon; None = the frozen model's own horizon.
    fes_threshold, fes_excluded_organs
        As :func:`prepare_cohort`.

    Returns
    -------
    Section
        ``data``: ``model``, ``horizon``, ``features``, ``settings`` (the stored feature settings),
        ``cohorts`` (name -> :class:`PreparedCohort`, development first), ``present`` and ``absent`` (external
        cohorts), ``prepare`` (``(name, feature_settings) -> PreparedCohort``); ``text``: ``absent`` (a note
        on each missing external cohort, empty when none) and ``model``.
    """
    model = load_frozen_model(build_dir)
    horizon = float(model["horizon"] if horizon_months is None else horizon_months)
    features = list(model["features"])
    on_disk = available_cohorts(data_dir)
    present = [c for c in EXTERNAL_COHORTS if c in on_disk]
    absent = [c for c in EXTERNAL_COHORTS if c not in on_disk]

    cohorts = {}

    def prepare(name, feature_settings=None):
        return prepare_cohort(data_dir, name, model, horizon=horizon, fes_threshold=fes_threshold,
                              fes_excluded_organs=fes_excluded_organs, feature_settings=feature_settings,
                              loaded=cohorts.get(name))

    for name in (DEVELOPMENT, *present):
        cohorts[name] = prepare(name)
    notes = [f"**{label(c)}**: no `{c}/` folder in this data folder; its validation is skipped and its `obj5_{c}_*` "
             "results do not exist." for c in absent]
    sec = Section(data={"model": model, "horizon": horizon, "features": features,
                        "settings": model["feature_settings"], "cohorts": cohorts, "present": present,
                        "absent": absent, "prepare": prepare, "fes_threshold": fes_threshold})
    sec.text["absent"] = ":::{note}\n" + "\n\n".join(notes) + "\n:::" if notes else ""
    noun = "predictor" if len(features) == 1 else "predictors"
    sec.text["model"] = (f"The frozen model predicts the risk of a PFS1 event by **{_p(horizon)} months** from "
                         f"{len(features)} {noun} ({', '.join(f'`{f}`' for f in features)}); its linear "
                         "predictor and baseline hazard are those of the artifact written by chapter 04.")
    return sec


def flow_section(prep: Section) -> Section:
    """Patient flow (Table 05.1), case mix (05.2), predictors as measured (05.3), and the lp distribution figure.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.

    Returns
    -------
    Section
        ``tables`` ``flow``, ``case_mix`` and ``predictors`` with their captions in ``text``; ``figures["lp"]``.
    """
    cohorts, horizon = prep.data["cohorts"], prep.data["horizon"]
    features, stored = prep.data["features"], prep.data["settings"]
    flow = {}
    for name, c in cohorts.items():
        fr = c.frame
        flow[label(name)] = {
            "patients in patients.csv": len(c.data.patients),
            "with a prediction": int(fr["lp"].notna().sum()),
            "with >= 1 predictor imputed (development mean)": int((fr["n_imputed"] > 0).sum()),
            "first-line ET alone": int((fr["arm_predicted"] == "ET").sum()),
            "first-line ET+CDK4/6i": int((fr["arm_predicted"] == "ET+CDK4/6i").sum()),
            "chemotherapy or other: out of the calibration set (discrimination only)": int(fr["arm_predicted"].isna()
                                                                                          .sum()),
            "primary validation set (therapy-specific prediction)": int(fr["arm_predicted"].notna().sum()),
            f"PFS1 events by {_p(horizon)} months": int(((fr["pfs1_months"] <= horizon)
                                                       & (fr["pfs1_event"] == 1)).sum()),
            f"followed event-free beyond {_p(horizon)} months": int((fr["pfs1_months"] > horizon).sum()),
        }
    raw = {label(k): derive_model_features(c.data.patients, c.data.lesions, features, stored)
           for k, c in cohorts.items()}
    sec = Section()
    sec.tables["flow"] = pd.DataFrame(flow)
    sec.tables["case_mix"] = format_case_mix({label(k): c.analysis for k, c in cohorts.items()})
    sec.tables["predictors"] = format_predictor_summary(
        raw, {f: f"{f}: {FEATURE_DEFINITIONS.get(f, '')}" for f in features})
    sec.figures["lp"] = plot_lp_distribution({label(k): c.frame["lp"] for k, c in cohorts.items()})
    sec.text["flow"] = ("**Table 05.1.** Patient flow per cohort. The validated quantity is the therapy-specific "
                        "prediction: the frozen model's risk on ET alone for patients on ET alone, its risk on "
                        "ET+CDK4/6i for patients on ET+CDK4/6i (the risk-based benefit model of chapter 04). Patients "
                        "on chemotherapy or other therapy have no such prediction: they leave the calibration set and "
                        "appear only in a separately labelled discrimination analysis. A missing predictor is imputed "
                        "with the development mean, as frozen. Time origin: randomisation in SONImage, the start of "
                        "first-line therapy in IMPACT-MBC and ET-FES.")
    sec.text["case_mix"] = ("**Table 05.2.** Case mix of the development and external cohorts (heterogeneity at "
                            f"FES threshold {_p(prep.data['fes_threshold'])}).")
    sec.text["predictors"] = ("**Table 05.3.** Model predictors per cohort, as derived with the frozen settings: "
                              "median [Q1, Q3], or n (%) for yes/no predictors; missing values before imputation.")
    return sec


def harmonisation_section(prep: Section, *, top_n_lesions: int, fes_threshold: float,
                          min_distinct: int | None = None) -> Section:
    """How each predictor is measured (Table 05.4), what the ET-FES measurement costs in the development cohort
    (05.5) and, with ET-FES present, its own threshold (05.5b).

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    top_n_lesions : int
        Lesions ET-FES measured FES in (the largest by CT diameter).
    fes_threshold : float
        ET-FES's own FES positivity threshold.
    """
    features, stored, horizon = prep.data["features"], prep.data["settings"], prep.data["horizon"]
    prepare, cohorts = prep.data["prepare"], prep.data["cohorts"]
    organs = ", ".join(stored["fes_excluded_organs"]) or "no"
    sec = Section()
    sec.text["intro"] = (f"Here: ET-FES measured FES in the **{top_n_lesions} largest lesions** and called a lesion "
                         f"endocrine-sensitive at SUVmax >= **{_p(fes_threshold)}** (parameters "
                         "`et_fes_top_n_lesions`, `et_fes_fes_threshold`); the frozen model calls a lesion "
                         f"FES-positive at SUVmax >= **{_p(stored['fes_threshold'])}**, excluding {organs} lesions.")
    et_fes = (f"{top_n_lesions} largest lesions only (own threshold {_p(fes_threshold)}); model threshold "
              f"{_p(stored['fes_threshold'])} applied to the SUVmax values")
    sec.tables["measurement"] = pd.DataFrame(
        [{"predictor": f, "SONImage": "all lesions" if f in FES_FEATURES else "as recorded",
          "IMPACT-MBC": "all lesions, as SONImage" if f in FES_FEATURES else "as recorded",
          "ET-FES": et_fes if f in FES_FEATURES else "as recorded"} for f in features]).set_index("predictor")
    sec.text["measurement"] = "**Table 05.4.** How each predictor is measured in each cohort and how it is harmonised."
    sec.tables["cost"] = compare_feature_settings(lambda s: prepare(DEVELOPMENT, s),
                                                  harmonisation_variants(top_n_lesions, fes_threshold), horizon,
                                                  reference_lp=cohorts[DEVELOPMENT].validation["lp"],
                                                  min_distinct=min_distinct)
    sec.text["cost"] = ("**Table 05.5.** Apparent performance of the frozen model in the development cohort with the "
                        "FES predictors derived as measured in ET-FES (no refitting; apparent, so optimistic in level, "
                        "but the differences between columns show what the restricted measurement costs).")
    sec.text["no_fes"] = ("" if set(features) & FES_FEATURES else
                          "*The frozen model uses no FES-derived predictor, so the harmonisation changes nothing.*")
    if "et_fes" in cohorts:
        variants = {f"model threshold {_p(stored['fes_threshold'])} (primary)": None,
                    f"ET-FES threshold {_p(fes_threshold)}": {"fes_threshold": fes_threshold}}
        sec.tables["et_fes_threshold"] = compare_feature_settings(lambda s: prepare("et_fes", s), variants, horizon,
                                                                  min_distinct=min_distinct)
        sec.text["et_fes_threshold"] = (
            "**Table 05.5b.** ET-FES: the frozen model with FES positivity at the model's threshold (primary "
            f"analysis) and at ET-FES's own threshold of {_p(fes_threshold)} (sensitivity; point estimates)."
            + ("" if min_distinct is None else
               f" ICI, E50 and E90 are estimated only with at least {min_distinct} distinct predictions "
               "(`calibration_min_distinct_predictions`)."))
    return sec


def _metric_kind(metric: str) -> str:
    return {"brier": "estimate3", "oe": "ratio"}.get(metric, "estimate")


def _citl(model: dict, fr: pd.DataFrame, horizon: float) -> tuple[dict, float]:
    """Calibration-in-the-large over follow-up truncated at the horizon, or at the end of the frozen baseline
    hazard if that comes first (beyond it the frozen model predicts no events); therapy-specific lp."""
    base = model["model"]["risk_benefit"]["baseline"]
    tau = float(min(horizon, base["time"][-1]))
    tt = fr["pfs1_months"].to_numpy(dtype=float)
    ee = fr["pfs1_event"].to_numpy(dtype=int) * (tt <= tau)
    expected = compute_expected_cumhaz(base["time"], base["cumhaz"], fr["lp"].to_numpy(dtype=float),
                                       np.minimum(tt, tau))
    return compute_calibration_in_the_large(ee, expected, fr["lp"]), tau


def _includes(lo, hi, value) -> bool:
    return bool(np.isfinite(lo) and np.isfinite(hi) and lo <= value <= hi)


def _conclusions(s: pd.DataFrame, horizon_text: str, rule: dict) -> list[str]:
    """Sentences chosen from the numbers (estimate and 95% interval) of one cohort's performance summary."""
    def ci(m):
        return format_estimate_ci(s.loc[m, "estimate"], s.loc[m, "ci_low"], s.loc[m, "ci_high"])

    def lo_hi(m):
        return float(s.loc[m, "ci_low"]), float(s.loc[m, "ci_high"])

    out = []
    lo, hi = lo_hi("harrell_c")
    if _includes(lo, hi, 0.5):
        out.append(f"discrimination is indistinguishable from chance (Harrell's C {ci('harrell_c')}, interval "
                   "including 0.5)")
    elif lo > 0.5:
        out.append(f"the model ranks patients better than chance (Harrell's C {ci('harrell_c')}, interval above 0.5)")
    else:
        out.append(f"the model ranks patients worse than chance (Harrell's C {ci('harrell_c')}, interval below 0.5)")
    lo, hi = lo_hi("oe")
    if _includes(lo, hi, 1.0):
        out.append(f"the mean risk by {horizon_text} is compatible with the observed one (O/E {ci('oe')}, interval "
                   "including 1)")
    elif lo > 1:
        out.append(f"the model underestimates the risk by {horizon_text}: more PFS1 events than predicted (O/E "
                   f"{ci('oe')}, interval above 1)")
    else:
        out.append(f"the model overestimates the risk by {horizon_text}: fewer PFS1 events than predicted (O/E "
                   f"{ci('oe')}, interval below 1)")
    lo, hi = lo_hi("calibration_slope")
    if _includes(lo, hi, 1.0) and _includes(lo, hi, 0.0):
        out.append(f"the calibration slope cannot be told from 1 nor from 0 ({ci('calibration_slope')}): too "
                   "imprecise to judge the spread of the predictions")
    elif _includes(lo, hi, 1.0):
        out.append(f"the calibration slope is compatible with 1 ({ci('calibration_slope')})")
    elif hi < 1:
        out.append(f"the predictions are too extreme (calibration slope {ci('calibration_slope')}, interval below 1)")
    else:
        out.append(f"the predictions are too moderate (calibration slope {ci('calibration_slope')}, interval above 1)")
    lo, hi = lo_hi("ipa")
    if _includes(lo, hi, 0.0):
        out.append(f"overall accuracy is no better than the cohort's Kaplan-Meier (IPA {ci('ipa')}, interval "
                   "including 0)")
    elif lo > 0:
        out.append(f"overall accuracy is better than the cohort's Kaplan-Meier (IPA {ci('ipa')}, interval above 0)")
    else:
        out.append(f"overall accuracy is worse than the cohort's Kaplan-Meier (IPA {ci('ipa')}, interval below 0)")
    if not rule["smooth"]:
        out.append(f"ICI, E50 and E90 are not estimated (only {rule['n_distinct']} distinct predicted risks; "
                   "calibration is shown per predicted value)")
    return out


def precision_section(prep: Section) -> Section:
    """Precision to expect before the results (Table 05.5c, TRIPOD item 10): the anticipated 95% interval width of
    Harrell's C and of O/E in each external cohort's primary validation set, from its n and its Kaplan-Meier event
    risk at the horizon, for a C equal to the development cohort's apparent one (Riley et al. 2021/2022,
    :func:`~sonimage_utils.external_validation.precision.compute_expected_precision`).

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.

    Returns
    -------
    Section
        ``tables["precision"]`` (display), ``text["caption"]`` and ``text["summary"]``; results
        ``obj5_C_expected_c_ci_width`` and ``obj5_C_expected_oe_ci_width``.
    """
    horizon, cohorts, sec, rows, lines = prep.data["horizon"], prep.data["cohorts"], Section(), {}, []
    dev = cohorts[DEVELOPMENT].validation
    c_dev = compute_harrell_c(dev["pfs1_months"], dev["pfs1_event"], dev["lp"])
    h = _p(horizon)
    for name in prep.data["present"]:
        fr, lab = cohorts[name].validation, label(name)
        phi = compute_km_risk(fr["pfs1_months"], fr["pfs1_event"], horizon)
        if not 0 < phi < 1:
            lines.append(f"{lab}: the Kaplan-Meier risk by {h} months is {format_number(phi)}, so no precision can "
                         "be anticipated.")
            continue
        p = compute_expected_precision(len(fr), phi, c_dev)
        sec.add(f"obj5_{name}_expected_c_ci_width", p["c_ci_width"],
                f"{lab}: anticipated width of the 95% interval of Harrell's C (Riley et al.; n, event risk by {h} "
                "months, development C)", "estimate")
        sec.add(f"obj5_{name}_expected_oe_ci_width", p["oe_ci_width"],
                f"{lab}: anticipated width of the 95% interval of O/E around 1 (Riley et al.)", "estimate")
        rows[lab] = {"primary validation set, n": str(len(fr)),
                     f"event risk by {h} months (Kaplan-Meier)": format_number(phi),
                     "anticipated C (development, apparent)": format_number(c_dev),
                     "anticipated 95% CI of C": format_estimate_ci(c_dev, c_dev - p["c_ci_width"] / 2,
                                                                   c_dev + p["c_ci_width"] / 2),
                     "anticipated 95% CI of O/E, if O/E = 1": format_estimate_ci(1.0, p["oe_ci_low"], p["oe_ci_high"])}
        verdict = ("the interval of C cannot exclude 0.5 unless C exceeds about "
                   f"{format_number(0.5 + p['c_ci_width'] / 2)}" if c_dev - p["c_ci_width"] / 2 <= 0.5 else
                   "a C like the development one would be distinguishable from 0.5")
        lines.append(f"In {lab}, {len(fr)} patients with an event risk of {format_number(phi)} by {h} months give an "
                     f"anticipated 95% interval of width {format_number(p['c_ci_width'])} for C and of "
                     f"{format_number(p['oe_ci_low'])} to {format_number(p['oe_ci_high'])} for an O/E of 1: {verdict}.")
    if rows:
        sec.tables["precision"] = pd.DataFrame(rows)
        sec.text["caption"] = (
            f"**Table 05.5c.** Precision to expect, before the results (TRIPOD item 10): anticipated 95% intervals "
            "of Harrell's C and of O/E in each primary validation set, from Riley et al.'s closed-form standard "
            f"errors with the outcome read as an event by {h} months (an approximation: censoring before then is "
            "ignored, and Harrell's C over the whole follow-up compares more pairs than a C at the horizon). They show "
            "the precision a cohort of this size can give; the bootstrap intervals of Table 05.6 are the results.")
    sec.text["summary"] = " ".join(lines)
    return sec


def performance_section(prep: Section, *, n_boot: int, seed: int, n_jobs: int, min_distinct: int,
                        scheduler_address: str | None = None) -> Section:
    """Every metric with its bootstrap interval per external cohort (Table 05.6, ``obj5_*`` results).

    Each cohort's primary validation set (:attr:`PreparedCohort.validation`: patients on ET alone or on ET+CDK4/6i,
    with the therapy-specific prediction) is validated.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    n_boot, seed, n_jobs
        Bootstrap resamples, their seed and parallel workers
        (:func:`~sonimage_utils.external_validation.bootstrap.bootstrap_performance`).
    min_distinct : int
        ``calibration_min_distinct_predictions``: fewer distinct predictions, no ICI/E50/E90
        (:func:`~sonimage_utils.external_validation.calibration.compute_calibration_rule`).
    scheduler_address : str, optional
        A dask scheduler to run the resamples on (``validation_dask_scheduler``); same results.

    Returns
    -------
    Section
        ``tables["performance"]``; ``text["caption"]`` and ``text["summary"]`` (one paragraph per external
        cohort, its conclusions chosen from the numbers); ``data["bootstrap"]``, ``data["citl"]`` and
        ``data["rule"]`` by cohort.
    """
    cohorts, horizon, model = prep.data["cohorts"], prep.data["horizon"], prep.data["model"]
    boots, rows, citl, rules, tau = {}, [], {}, {}, horizon
    for name, c in cohorts.items():
        fr = c.validation
        tt, ee = fr["pfs1_months"], fr["pfs1_event"]
        rules[name] = compute_calibration_rule(fr["risk_t"], min_distinct)
        smooth = rules[name]["smooth"]
        if name == DEVELOPMENT:
            est = survival_performance(tt, ee, fr["risk_t"], fr["lp"], horizon, smooth_calibration=smooth)
            rows += [{"cohort": label(name), "metric": m, "estimate": est[m], "ci_low": np.nan, "ci_high": np.nan}
                     for m in PERFORMANCE_METRICS]
        else:
            boots[name] = bootstrap_performance(tt, ee, fr["risk_t"], fr["lp"], horizon, n_boot=n_boot, seed=seed,
                                                n_jobs=n_jobs, smooth_calibration=smooth,
                                                scheduler_address=scheduler_address)
            rows += boots[name].summary.assign(cohort=label(name)).to_dict("records")
        citl[name], tau = _citl(model, fr, horizon)

    sec = Section(data={"bootstrap": boots, "citl": citl, "rule": rules})
    h = _p(horizon)
    for name in boots:
        s = boots[name].summary.set_index("metric")
        c, lab = cohorts[name], label(name)
        fr = c.validation
        sec.add(f"obj5_{name}_n_patients", len(c.frame), f"{lab}: patients in the cohort with a prediction", "count")
        sec.add(f"obj5_{name}_n_events", int(c.frame["pfs1_event"].sum()), f"{lab}: PFS1 events (all patients)",
                "count")
        sec.add(f"obj5_{name}_n_validation_set", len(fr),
                f"{lab}: patients in the primary validation set (ET alone or ET+CDK4/6i; therapy-specific "
                "prediction)", "count")
        sec.add(f"obj5_{name}_n_events_validation_set", int(fr["pfs1_event"].sum()),
                f"{lab}: PFS1 events in the primary validation set", "count")
        sec.add(f"obj5_{name}_n_other_therapy", len(c.other),
                f"{lab}: patients on chemotherapy or other therapy (out of the calibration set)", "count")
        sec.add(f"obj5_{name}_n_distinct_predictions", rules[name]["n_distinct"],
                f"{lab}: distinct predicted risks at {h} months in the primary validation set", "count")
        for m in PERFORMANCE_METRICS:
            kind = _metric_kind(m)
            missing = None
            if m in ("ici", "e50", "e90") and not rules[name]["smooth"]:
                missing = "not estimated (too few distinct predictions)"
            sec.add(f"obj5_{name}_{m}", s.loc[m, "estimate"],
                    f"{lab}: {label(m)} (frozen model, therapy-specific prediction, t = {h} months)", kind,
                    missing=missing)
            sec.add(f"obj5_{name}_{m}_ci_low", s.loc[m, "ci_low"], f"{lab}: {label(m)}, lower 95% bootstrap limit",
                    kind, missing=missing)
            sec.add(f"obj5_{name}_{m}_ci_high", s.loc[m, "ci_high"],
                    f"{lab}: {label(m)}, upper 95% bootstrap limit", kind, missing=missing)
        sec.add(f"obj5_{name}_citl", citl[name]["ratio"],
                f"{lab}: calibration-in-the-large over follow-up truncated at {_p(tau)} months (observed/expected "
                "events, Poisson)", "ratio")

    table = format_performance_table(pd.DataFrame(rows))
    extra = format_estimate_rows({f"Calibration-in-the-large, follow-up to {_p(tau)} months (O/E events, Poisson)": {
        label(k): (v["ratio"], v["ci_low"], v["ci_high"]) for k, v in citl.items()}})
    extra_n = pd.DataFrame({"Primary validation set, n (events)": {
        label(k): f"{len(c.validation)} ({int(c.validation['pfs1_event'].sum())})" for k, c in cohorts.items()},
        "Distinct predicted risks": {label(k): str(rules[k]["n_distinct"]) for k in cohorts}}).T
    for k in cohorts:
        if not rules[k]["smooth"]:
            table.loc[[label(m) for m in ("ici", "e50", "e90")], label(k)] = (
                f"not estimated ({rules[k]['n_distinct']} distinct predictions)")
    sec.tables["performance"] = pd.concat([extra_n, table, extra[table.columns]])[[label(k) for k in cohorts]]
    not_smooth = [label(k) for k in cohorts if not rules[k]["smooth"]]
    sec.text["caption"] = (
        f"**Table 05.6.** Performance of the frozen model's therapy-specific prediction at {h} months in each "
        f"cohort's primary validation set: estimate (95% bootstrap interval, {n_boot} resamples; seed {seed}). "
        "Development: apparent, no interval. Calibration-in-the-large: observed/expected PFS1 events over follow-up "
        f"truncated at {_p(tau)} months (the horizon, within the range of the frozen baseline hazard), Wald interval "
        "of the Poisson model."
        + (f" ICI, E50 and E90 are not estimated in {', '.join(not_smooth)}: fewer than {min_distinct} distinct "
           "predictions (parameter `calibration_min_distinct_predictions`)." if not_smooth else ""))
    lines = []
    for name in boots:
        s = boots[name].summary.set_index("metric")
        n = len(cohorts[name].validation)
        sentences = _conclusions(s, f"{h} months", rules[name])
        lines.append(f"In **{label(name)}** ({n} patients in the primary validation set): " + "; ".join(sentences)
                     + ".")
    sec.text["summary"] = "\n\n".join(lines)
    return sec


def therapy_subgroup_section(prep: Section, *, n_boot: int, seed: int, n_jobs: int) -> Section:
    """Patients on chemotherapy or other therapy: discrimination only (Table 05.6b), separately labelled.

    They have no therapy-specific prediction (the model knows ET and ET+CDK4/6i only), so they are not in the
    calibration set; the arm-blinded prognostic linear predictor can still rank them.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    n_boot, seed, n_jobs
        Bootstrap resamples of the intervals, their seed, parallel workers.

    Returns
    -------
    Section
        ``tables["by_therapy"]`` (display text) when some cohort has such patients, ``text["caption"]`` and
        ``text["not_estimable"]`` (a line per cohort whose discrimination cannot be estimated, empty when none).
    """
    sec, horizon, cols, notes = Section(), prep.data["horizon"], {}, []
    for name in prep.data["present"]:
        fr = prep.data["cohorts"][name].other
        if fr.empty:
            continue
        try:
            auc = bootstrap_auc_curve(fr["pfs1_months"], fr["pfs1_event"], fr["lp"], [horizon], n_boot=n_boot,
                                      seed=seed, n_jobs=n_jobs).iloc[0]
            hc = _bootstrap_harrell_c(fr, n_boot=n_boot, seed=seed)
        except ValueError as exc:
            notes.append(f"*{label(name)}, chemotherapy/other: not estimable ({exc}).*")
            continue
        cols[f"{label(name)}, chemotherapy/other (n = {len(fr)}, {int(fr['pfs1_event'].sum())} events)"] = {
            label("harrell_c"): format_estimate_ci(*hc),
            label("auc"): format_estimate_ci(auc["auc"], auc["ci_low"], auc["ci_high"])}
    if cols:
        sec.tables["by_therapy"] = pd.DataFrame(cols)
        sec.text["caption"] = (
            "**Table 05.6b.** Discrimination only, outside the primary validation set: patients on chemotherapy or "
            "other first-line therapy, ranked by the frozen model's arm-blinded prognostic linear predictor "
            f"(Harrell's C over follow-up; AUC at {_p(horizon)} months; 95% bootstrap intervals, {n_boot} resamples). "
            "The model makes no prediction for these therapies, so their calibration is not assessed.")
    sec.text["not_estimable"] = "\n\n".join(notes)
    return sec


def _bootstrap_harrell_c(fr: pd.DataFrame, *, n_boot: int, seed: int) -> tuple[float, float, float]:
    tt, ee, x = (fr[c].to_numpy(dtype=float) for c in ("pfs1_months", "pfs1_event", "lp"))
    est = compute_harrell_c(tt, ee.astype(int), x)
    reps = []
    for idx in draw_bootstrap_indices(tt.size, n_boot, seed):
        try:
            reps.append(compute_harrell_c(tt[idx], ee[idx].astype(int), x[idx]))
        except (ValueError, ArithmeticError):
            pass
    lo, hi = np.quantile(reps, [0.025, 0.975]) if reps else (np.nan, np.nan)
    return float(est), float(lo), float(hi)


def calibration_section(prep: Section, *, n_boot: int, seed: int, n_jobs: int, n_groups: int,
                        min_distinct: int, scheduler_address: str | None = None) -> Section:
    """Calibration at the horizon per external cohort, by the SAP's rule on distinct predictions.

    With at least ``min_distinct`` distinct therapy-specific predictions: the smoothed curve with its bootstrap band
    and tie-aware quantile groups; with fewer: one point per distinct predicted value (Kaplan-Meier observed risk,
    log-log 95% interval) and no curve. Every plot has the same axes (0 to 1).

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    n_boot, seed, n_jobs
        Resamples of the pointwise band, their seed, parallel workers.
    n_groups : int
        Quantile groups of predicted risk (``calibration_n_groups``); a collapse by ties is said in ``text``.
    min_distinct : int
        ``calibration_min_distinct_predictions``.
    scheduler_address : str, optional
        As :func:`performance_section`.

    Returns
    -------
    Section
        ``tables[name]`` (the groups), ``figures[name]`` and ``text[name]`` (what is drawn, and why) for each
        external cohort present.
    """
    horizon, sec = prep.data["horizon"], Section()
    for name in prep.data["present"]:
        fr = prep.data["cohorts"][name].validation
        tt, ee, risk = fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"]
        rule = compute_calibration_rule(risk, min_distinct)
        if rule["smooth"]:
            band = bootstrap_calibration_curve(tt, ee, risk, horizon, n_boot=n_boot, seed=seed, n_jobs=n_jobs,
                                               scheduler_address=scheduler_address)
            groups = compute_grouped_calibration(tt, ee, risk, horizon, n_groups=n_groups)
            text = (f"{label(name)}: {rule['n_distinct']} distinct predicted risks, so the smoothed curve is drawn, "
                    f"with {groups.attrs['n_groups']} quantile groups as points.")
            if groups.attrs["collapse"]:
                text += f" {groups.attrs['collapse']}."
            group_label = "Risk groups: Kaplan-Meier (95% CI)"
        else:
            band = None
            groups = compute_calibration_by_value(tt, ee, risk, horizon)
            text = f"{label(name)}: no smoothed curve; {rule['reason']} ({len(groups)} values)."
            group_label = "Each predicted value: Kaplan-Meier (95% CI)"
        # the plot's rule: a point needs a Kaplan-Meier interval of positive width
        drawable = groups[["observed", "ci_low", "ci_high"]].notna().all(axis=1) & (groups["ci_high"] > groups["ci_low"])
        undrawn = groups[~drawable]
        if len(undrawn):
            k, m = len(undrawn), int(undrawn["n"].sum())
            text += (f" {k} {'group' if k == 1 else 'groups'} ({m} {'patient' if m == 1 else 'patients'}) without a "
                     "Kaplan-Meier interval (a single patient, or no PFS1 event by the horizon) "
                     f"{'is' if k == 1 else 'are'} listed in the saved table but not drawn.")
        sec.tables[name] = groups
        sec.text[name] = text
        sec.figures[name] = plot_calibration(band, groups, risk, horizon_label=f"{_p(horizon)} months",
                                             title=label(name), max_risk=1.0, group_label=group_label)
    return sec


def auc_section(prep: Section, *, times, n_boot: int, seed: int, n_jobs: int,
                scheduler_address: str | None = None) -> Section:
    """Cumulative/dynamic AUC(t) of the linear predictor at ``times`` (those inside each cohort's follow-up).

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    times : list of float
        Months at which AUC(t) is estimated (``auc_times_months``).
    n_boot, seed, n_jobs
        Resamples of the pointwise intervals (0: none), their seed, parallel workers.
    scheduler_address : str, optional
        As :func:`performance_section`.

    Returns
    -------
    Section
        ``tables["auc_curve"]`` and ``figures["auc_curve"]``.
    """
    parts = []
    for name, c in prep.data["cohorts"].items():
        fr = c.validation
        inside = [u for u in times if u < fr["pfs1_months"].max()]
        if inside:
            part = bootstrap_auc_curve(fr["pfs1_months"], fr["pfs1_event"], fr["lp"], inside, n_boot=n_boot,
                                       seed=seed, n_jobs=n_jobs, scheduler_address=scheduler_address)
            parts.append(part.assign(cohort=label(name)))
    sec = Section()
    sec.tables["auc_curve"] = pd.concat(parts, ignore_index=True)
    sec.figures["auc_curve"] = plot_auc_curve(sec.tables["auc_curve"], horizon=prep.data["horizon"],
                                              time_label="Months since randomisation (SONImage) or start of "
                                                         "first-line therapy (external cohorts)")
    return sec


def decision_curve_section(prep: Section) -> Section:
    """The recalibrated models per external cohort; no decision curve, and the sentence that says why.

    A decision curve needs a defined decision taken on the predicted risk, with its range of threshold
    probabilities (Vickers et al. 2008). The SAP defines none for the risk of a PFS1 event (the decision of
    chapter 04 is on predicted *benefit*, which these cohorts cannot validate), so no curve is drawn.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.

    Returns
    -------
    Section
        ``text["omitted"]`` and ``data["recalibration"]`` (name -> {"intercept", "slope"}
        :class:`~sonimage_utils.external_validation.calibration.Recalibration`), which
        :func:`model_updating_section` reports.
    """
    horizon, recal, sec = prep.data["horizon"], {}, Section()
    for name in prep.data["present"]:
        fr = prep.data["cohorts"][name].validation
        tt, ee = fr["pfs1_months"], fr["pfs1_event"]
        recal[name] = {m: fit_recalibration(tt, ee, fr["risk_t"], fr["lp"], horizon, method=m)
                       for m in ("intercept", "slope")}
    sec.data["recalibration"] = recal
    sec.text["omitted"] = (
        "*No decision curve is shown.* Net benefit is defined for a decision taken when the predicted risk exceeds a "
        "threshold, over the thresholds at which clinicians would take it. The SAP defines no decision on the "
        f"predicted risk of a PFS1 event by {_p(horizon)} months (the decision of chapter 04, adding a CDK4/6 "
        "inhibitor, rests on predicted benefit, which these cohorts cannot validate), so there is no threshold "
        "range to draw a curve over.")
    return sec


def model_updating_section(prep: Section, recalibration: dict) -> Section:
    """The frozen model and its recalibrated versions (Table 05.7) and the updated parameters (results).

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    recalibration : dict
        ``decision_curve_section(...).data["recalibration"]``.

    Returns
    -------
    Section
        ``tables["updating"]`` (numbers; absent without an external cohort), ``text["caption"]``,
        ``text["summary"]`` (or a line saying there is nothing to update).
    """
    horizon, h, sec, rows, txt = prep.data["horizon"], _p(prep.data["horizon"]), Section(), [], []
    for name in prep.data["present"]:
        fr, rc = prep.data["cohorts"][name].validation, recalibration[name]
        versions = {"frozen": (fr["risk_t"], fr["lp"]),
                    "intercept recalibrated": (rc["intercept"].risk, fr["lp"]),
                    "intercept and slope recalibrated": (rc["slope"].risk, rc["slope"].slope * fr["lp"])}
        for version, (risk, lp) in versions.items():
            p = survival_performance(fr["pfs1_months"], fr["pfs1_event"], risk, lp, horizon)
            rows.append({"cohort": label(name), "model": version, **{label(m): p[m] for m in UPDATING_METRICS}})
        ratio = rc["intercept"].summary["baseline_ratio"].iloc[0]
        sec.add(f"obj5_{name}_recalibration_slope", rc["slope"].slope,
                f"{label(name)}: slope of the linear predictor re-estimated in the cohort", "estimate")
        sec.add(f"obj5_{name}_recalibration_baseline_ratio", ratio,
                f"{label(name)}: re-estimated / frozen baseline cumulative hazard at the horizon", "ratio")
        txt.append(f"In {label(name)} the baseline cumulative hazard at {h} months re-estimated with the linear "
                   f"predictor as offset is {format_number(ratio)} times the frozen one, and the re-estimated slope "
                   f"of the linear predictor is {format_number(rc['slope'].slope)}.")
    if rows:
        sec.tables["updating"] = pd.DataFrame(rows).set_index(["cohort", "model"])
        sec.text["caption"] = (f"**Table 05.7.** The frozen model and its recalibrated versions at {h} months "
                               "(recalibrated versions: apparent performance in the cohort they were fitted in).")
    sec.text["summary"] = " ".join(txt) if txt else "*No external cohort present: nothing to update.*"
    return sec


def benefit_section(prep: Section) -> Section:
    """What each cohort can say about predicted benefit (Table 05.8): a description, not a validation.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.

    Returns
    -------
    Section
        ``tables["benefit"]`` (one column per cohort) and ``text["caption"]``.
    """
    horizon, rows = prep.data["horizon"], {}
    for name, c in prep.data["cohorts"].items():
        arms = c.analysis["arm"].value_counts()
        dev = name == DEVELOPMENT
        rows[label(name)] = {
            "first-line therapy": "; ".join(f"{k} {v}" for k, v in arms.items()),
            "randomised CDK4/6i": "yes (SONIA)" if dev else "no",
            f"predicted benefit at {_p(horizon)} months, median [Q1, Q3]": format_median_iqr(c.frame["benefit_t"], 3),
            "benefit validated here": "internally, chapter 04" if dev else "no (not identifiable)",
        }
    sec = Section()
    sec.tables["benefit"] = pd.DataFrame(rows)
    sec.text["caption"] = ("**Table 05.8.** What each cohort can say about predicted benefit (predicted benefit: "
                           "difference in PFS1 probability at the horizon, ET+CDK4/6i minus ET, from the frozen "
                           "model).")
    return sec
