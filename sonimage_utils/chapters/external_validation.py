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
                                                          bootstrap_performance)
from sonimage_utils.external_validation.calibration import (compute_expected_cumhaz, compute_grouped_calibration,
                                                            fit_recalibration)
from sonimage_utils.external_validation.decision_curve import compute_net_benefit
from sonimage_utils.external_validation.metrics import compute_calibration_in_the_large
from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS, survival_performance
from sonimage_utils.plots.validation import (plot_auc_curve, plot_calibration, plot_decision_curve,
                                             plot_lp_distribution)
from sonimage_utils.tables.cohort import format_case_mix
from sonimage_utils.tables.format import format_estimate_ci, format_number, format_value
from sonimage_utils.tables.labels import label
from sonimage_utils.tables.validation import (format_estimate_rows, format_median_iqr, format_performance_table,
                                              format_predictor_summary)

__all__ = ["DEVELOPMENT", "EXTERNAL_COHORTS", "FES_FEATURES", "UPDATING_METRICS", "PreparedCohort",
           "load_frozen_model", "prepare_cohort", "compare_feature_settings", "harmonisation_variants",
           "prepare_chapter", "flow_section", "harmonisation_section", "performance_section",
           "therapy_subgroup_section", "calibration_section", "auc_section", "decision_curve_section",
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
                   fes_excluded_organs, feature_settings: dict | None = None) -> PreparedCohort:
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

    Returns
    -------
    PreparedCohort
    """
    data = load_cohort(data_dir, name)
    analysis = build_analysis_set(data, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                                  fdg_threshold=None)  # the FDG pattern is no model feature
    pred = predict_model(model, data.patients, data.lesions, horizon=horizon, feature_settings=feature_settings)
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


def compare_feature_settings(prepare, variants: dict, horizon: float, reference_lp=None) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        Rows: metric labels (then the correlation); columns: the variants.
    """
    out = {}
    for name, settings in variants.items():
        fr = prepare(settings).frame
        out[name] = survival_performance(fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"], fr["lp"], horizon)
        if reference_lp is not None:
            out[name]["lp correlation with frozen"] = float(np.corrcoef(fr["lp"], reference_lp)[0, 1])
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

    def prepare(name, feature_settings=None):
        return prepare_cohort(data_dir, name, model, horizon=horizon, fes_threshold=fes_threshold,
                              fes_excluded_organs=fes_excluded_organs, feature_settings=feature_settings)

    cohorts = {name: prepare(name) for name in (DEVELOPMENT, *present)}
    notes = [f"**{label(c)}**: no `{c}/` folder in this data folder; its validation is skipped and its `obj5_{c}_*` "
             "results do not exist." for c in absent]
    sec = Section(data={"model": model, "horizon": horizon, "features": features,
                        "settings": model["feature_settings"], "cohorts": cohorts, "present": present,
                        "absent": absent, "prepare": prepare, "fes_threshold": fes_threshold})
    sec.text["absent"] = ":::{note}\n" + "\n\n".join(notes) + "\n:::" if notes else ""
    sec.text["model"] = (f"The frozen model predicts the risk of a PFS1 event by **{_p(horizon)} months** from "
                         f"{len(features)} predictors ({', '.join(f'`{f}`' for f in features)}); its linear "
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
    sec.text["flow"] = ("**Table 05.1.** Patient flow per cohort. Every patient with a PFS1 outcome enters the "
                        "validation; a missing predictor is imputed with the development mean, as frozen.")
    sec.text["case_mix"] = ("**Table 05.2.** Case mix of the development and external cohorts (heterogeneity at "
                            f"FES threshold {_p(prep.data['fes_threshold'])}).")
    sec.text["predictors"] = ("**Table 05.3.** Model predictors per cohort, as derived with the frozen settings: "
                              "median [Q1, Q3], or n (%) for yes/no predictors; missing values before imputation.")
    return sec


def harmonisation_section(prep: Section, *, top_n_lesions: int, fes_threshold: float) -> Section:
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
                                                  reference_lp=cohorts[DEVELOPMENT].frame["lp"])
    sec.text["cost"] = ("**Table 05.5.** Apparent performance of the frozen model in the development cohort with the "
                        "FES predictors derived as measured in ET-FES (no refitting; apparent, so optimistic in level, "
                        "but the differences between columns show what the restricted measurement costs).")
    sec.text["no_fes"] = ("" if set(features) & FES_FEATURES else
                          "*The frozen model uses no FES-derived predictor, so the harmonisation changes nothing.*")
    if "et_fes" in cohorts:
        variants = {f"model threshold {_p(stored['fes_threshold'])} (primary)": None,
                    f"ET-FES threshold {_p(fes_threshold)}": {"fes_threshold": fes_threshold}}
        sec.tables["et_fes_threshold"] = compare_feature_settings(lambda s: prepare("et_fes", s), variants, horizon)
        sec.text["et_fes_threshold"] = (
            "**Table 05.5b.** ET-FES: the frozen model with FES positivity at the model's threshold (primary "
            f"analysis) and at ET-FES's own threshold of {_p(fes_threshold)} (sensitivity; point estimates).")
    return sec


def _metric_kind(metric: str) -> str:
    return {"brier": "estimate3", "oe": "ratio"}.get(metric, "estimate")


def performance_section(prep: Section, *, n_boot: int, seed: int, n_jobs: int,
                        scheduler_address: str | None = None) -> Section:
    """Every metric with its bootstrap interval per external cohort (Table 05.6, ``obj5_*`` results).

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    n_boot, seed, n_jobs
        Bootstrap resamples, their seed and parallel workers
        (:func:`~sonimage_utils.external_validation.bootstrap.bootstrap_performance`).
    scheduler_address : str, optional
        A dask scheduler to run the resamples on (``validation_dask_scheduler``); same results.

    Returns
    -------
    Section
        ``tables["performance"]``; ``text["caption"]`` and ``text["summary"]`` (one paragraph per external
        cohort); ``data["bootstrap"]`` and ``data["citl"]`` by cohort.
    """
    cohorts, horizon, model = prep.data["cohorts"], prep.data["horizon"], prep.data["model"]
    base = model["model"]["prognostic"]["baseline"]
    boots, rows, citl = {}, [], {}
    for name, c in cohorts.items():
        fr = c.frame
        tt, ee = fr["pfs1_months"], fr["pfs1_event"]
        if name == DEVELOPMENT:
            est = survival_performance(tt, ee, fr["risk_t"], fr["lp"], horizon)
            rows += [{"cohort": label(name), "metric": m, "estimate": est[m], "ci_low": np.nan, "ci_high": np.nan}
                     for m in PERFORMANCE_METRICS]
        else:
            boots[name] = bootstrap_performance(tt, ee, fr["risk_t"], fr["lp"], horizon, n_boot=n_boot, seed=seed,
                                                n_jobs=n_jobs, scheduler_address=scheduler_address)
            rows += boots[name].summary.assign(cohort=label(name)).to_dict("records")
        expected = compute_expected_cumhaz(base["time"], base["cumhaz"], fr["lp"].to_numpy(), tt.to_numpy())
        citl[name] = compute_calibration_in_the_large(ee, expected, fr["lp"])

    sec = Section(data={"bootstrap": boots, "citl": citl})
    h = _p(horizon)
    for name in boots:
        s = boots[name].summary.set_index("metric")
        fr, lab = cohorts[name].frame, label(name)
        sec.add(f"obj5_{name}_n_patients", len(fr), f"{lab}: patients validated", "count")
        sec.add(f"obj5_{name}_n_events", int(fr["pfs1_event"].sum()), f"{lab}: PFS1 events", "count")
        for m in PERFORMANCE_METRICS:
            kind = _metric_kind(m)
            sec.add(f"obj5_{name}_{m}", s.loc[m, "estimate"],
                    f"{lab}: {label(m)} (frozen model, t = {h} months)", kind)
            sec.add(f"obj5_{name}_{m}_ci_low", s.loc[m, "ci_low"], f"{lab}: {label(m)}, lower 95% bootstrap limit",
                    kind)
            sec.add(f"obj5_{name}_{m}_ci_high", s.loc[m, "ci_high"],
                    f"{lab}: {label(m)}, upper 95% bootstrap limit", kind)
        sec.add(f"obj5_{name}_citl", citl[name]["ratio"],
                f"{lab}: calibration-in-the-large over follow-up (observed/expected events, Poisson)", "ratio")

    table = format_performance_table(pd.DataFrame(rows))
    extra = format_estimate_rows({"Calibration-in-the-large over follow-up (O/E events, Poisson)": {
        label(k): (v["ratio"], v["ci_low"], v["ci_high"]) for k, v in citl.items()}})
    sec.tables["performance"] = pd.concat([table, extra[table.columns]])[[label(k) for k in cohorts]]
    sec.text["caption"] = (
        f"**Table 05.6.** Performance of the frozen model at {h} months: estimate (95% bootstrap interval, {n_boot} "
        f"resamples; seed {seed}). Development: apparent, no interval. Calibration-in-the-large: Wald interval of "
        "the Poisson model; beyond the last development event time the frozen baseline hazard is flat, so "
        "expected events there are underestimated.")
    lines = []
    for name in boots:
        s = boots[name].summary.set_index("metric")

        def ci(m, s=s):
            return format_estimate_ci(s.loc[m, "estimate"], s.loc[m, "ci_low"], s.loc[m, "ci_high"])

        lines.append(f"In **{label(name)}** ({len(cohorts[name].frame)} patients), Harrell's C was {ci('harrell_c')} "
                     f"and the AUC at {h} months {ci('auc')} (0.5: no discrimination). The observed/expected "
                     f"ratio was {ci('oe')} (above 1: more PFS1 events by {h} months than the model predicts), "
                     f"the calibration slope {ci('calibration_slope')} (below 1: predictions too extreme; above 1: "
                     f"too moderate) and the ICI {ci('ici')}. The IPA was {ci('ipa')} (above 0: better than giving "
                     "everybody the cohort's Kaplan-Meier risk).")
    sec.text["summary"] = "\n\n".join(lines)
    return sec


def therapy_subgroup_section(prep: Section) -> Section:
    """IMPACT-MBC by first-line therapy (Table 05.6b; point estimates); empty without IMPACT-MBC.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.

    Returns
    -------
    Section
        ``tables["by_therapy"]`` (numbers), ``text["caption"]`` and ``text["not_estimable"]`` (a line per
        subgroup whose metrics cannot be estimated, empty when none).
    """
    sec = Section()
    if "impact_mbc" not in prep.data["cohorts"]:
        return sec
    fr, horizon = prep.data["cohorts"]["impact_mbc"].frame, prep.data["horizon"]
    endo = fr["arm"].isin(_ENDOCRINE_ARMS)
    subgroups = {"all patients": fr, "endocrine-based first line": fr[endo], "chemotherapy/other first line": fr[~endo]}
    perf, notes = {}, []
    for name, f in subgroups.items():
        try:
            perf[f"{name} (n = {len(f)})"] = survival_performance(f["pfs1_months"], f["pfs1_event"], f["risk_t"],
                                                                  f["lp"], horizon)
        except ValueError as exc:  # too small or no follow-up beyond the horizon
            notes.append(f"*{name}: not estimable ({exc}).*")
    sec.tables["by_therapy"] = pd.DataFrame(perf).rename(index=label)
    sec.text["not_estimable"] = "\n\n".join(notes)
    sec.text["caption"] = ("**Table 05.6b.** IMPACT-MBC: performance of the frozen model by first-line therapy "
                           "(point estimates).")
    return sec


def calibration_section(prep: Section, *, n_boot: int, seed: int, n_jobs: int, n_groups: int,
                        scheduler_address: str | None = None) -> Section:
    """Calibration at the horizon per external cohort: smoothed curve with bootstrap band, quantile groups.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.
    n_boot, seed, n_jobs
        Resamples of the pointwise band, their seed, parallel workers.
    n_groups : int
        Quantile groups of predicted risk.
    scheduler_address : str, optional
        As :func:`performance_section`.

    Returns
    -------
    Section
        ``tables[name]`` (the groups) and ``figures[name]`` for each external cohort present.
    """
    horizon, sec = prep.data["horizon"], Section()
    for name in prep.data["present"]:
        fr = prep.data["cohorts"][name].frame
        tt, ee, risk = fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"]
        band = bootstrap_calibration_curve(tt, ee, risk, horizon, n_boot=n_boot, seed=seed, n_jobs=n_jobs,
                                           scheduler_address=scheduler_address)
        sec.tables[name] = compute_grouped_calibration(tt, ee, risk, horizon, n_groups=n_groups)
        sec.figures[name] = plot_calibration(band, sec.tables[name], risk, horizon_label=f"{_p(horizon)} months",
                                             title=label(name))
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
        fr = c.frame
        inside = [u for u in times if u < fr["pfs1_months"].max()]
        if inside:
            part = bootstrap_auc_curve(fr["pfs1_months"], fr["pfs1_event"], fr["lp"], inside, n_boot=n_boot,
                                       seed=seed, n_jobs=n_jobs, scheduler_address=scheduler_address)
            parts.append(part.assign(cohort=label(name)))
    sec = Section()
    sec.tables["auc_curve"] = pd.concat(parts, ignore_index=True)
    sec.figures["auc_curve"] = plot_auc_curve(sec.tables["auc_curve"], horizon=prep.data["horizon"],
                                              time_label="Months since start of first-line therapy")
    return sec


def decision_curve_section(prep: Section) -> Section:
    """Net benefit of the frozen and of the recalibrated model per external cohort.

    Parameters
    ----------
    prep : Section
        From :func:`prepare_chapter`.

    Returns
    -------
    Section
        ``tables[name]`` (the frozen model's curve), ``figures[name]``, and ``data["recalibration"]``
        (name -> {"intercept", "slope"} :class:`~sonimage_utils.external_validation.calibration.Recalibration`),
        which :func:`model_updating_section` reports.
    """
    horizon, recal, sec = prep.data["horizon"], {}, Section()
    for name in prep.data["present"]:
        fr = prep.data["cohorts"][name].frame
        tt, ee = fr["pfs1_months"], fr["pfs1_event"]
        recal[name] = {m: fit_recalibration(tt, ee, fr["risk_t"], fr["lp"], horizon, method=m)
                       for m in ("intercept", "slope")}
        sec.tables[name] = compute_net_benefit(tt, ee, fr["risk_t"], horizon)
        recalibrated = compute_net_benefit(tt, ee, recal[name]["slope"].risk, horizon)
        sec.figures[name] = plot_decision_curve(sec.tables[name], model_label="Frozen model",
                                                extra={"Recalibrated (apparent)": recalibrated}, title=label(name))
    sec.data["recalibration"] = recal
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
        fr, rc = prep.data["cohorts"][name].frame, recalibration[name]
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
