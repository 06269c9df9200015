"""Chapter 04, predicting the individual benefit of adding a CDK4/6 inhibitor: one function per section.

The notebook builds :class:`BenefitSettings` once from its parameters (``analysis.yml``),
:func:`prepare_benefit_data` reads the cohort and derives the predictors, and each section function
returns a :class:`~sonimage_utils.chapters.section.Section`. Nothing here displays anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sonimage_utils.benefit.artifact import (compute_data_hash, compute_file_hashes, freeze_model, load_model,
                                             predict_model, write_model)
from sonimage_utils.benefit.features import FEATURE_DEFINITIONS, derive_model_features, derive_outcome
from sonimage_utils.benefit.internal_validation import compute_optimism_stability
from sonimage_utils.benefit.metrics import (assign_quantile_groups, c_for_benefit, compute_calibration_for_benefit,
                                            compute_group_collapse)
from sonimage_utils.benefit.procedure import compute_survival_at
from sonimage_utils.benefit.procedure import (bootstrap_benefit_procedure, compute_risk_grid, derive_penalty_cv_table,
                                              fit_benefit_procedure, fit_for_bootstrap, predict_from_features)
from sonimage_utils.benefit.risk_groups import compute_risk_group_effects
from sonimage_utils.benefit.uncertainty import (compute_benefit_distribution, compute_prediction_intervals,
                                                summarise_prediction_intervals)
from sonimage_utils.benefit.sample_size import (riley_max_parameters, riley_n_criterion3, riley_sample_size,
                                                select_model_features)
from sonimage_utils.chapters.section import Section
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.heterogeneity import derive_patient_heterogeneity
from sonimage_utils.plots import benefit as benefit_plots
from sonimage_utils.tables.benefit import (format_benefit_summary, format_calibration_for_benefit_table,
                                          format_benefit_distribution_table, format_coefficient_table,
                                          format_optimism_table, format_prediction_interval_table,
                                          format_predictor_table, format_riley_table, format_risk_group_table)
from sonimage_utils.tables.format import format_estimate_ci, format_noun, format_value
from sonimage_utils.tables.frames import format_columns

__all__ = ["BenefitSettings", "BenefitData", "prepare_benefit_data", "section_sample_size", "section_predictors",
           "fit_development_model", "section_risk_model", "section_effect_model", "section_predicted_benefit",
           "section_internal_validation", "section_benefit_uncertainty", "section_sensitivity", "section_c_for_benefit", "write_frozen_model",
           "section_frozen_model",
           "section_deviations", "section_conclusion"]

#: The development data files whose bytes the frozen model's provenance hashes.
DATA_FILES = ("patients.csv", "lesions.csv")


@dataclass(frozen=True)
class BenefitSettings:
    """The analysis-plan values of chapter 04 (the notebook's parameters, from ``analysis.yml``)."""

    seed: int
    fes_threshold: float
    fes_excluded_organs: list
    candidate_features: list
    r2cs_anticipated: float
    shrinkage_target: float
    model_size: int | None
    horizon_months: float
    rmst_horizon_months: float
    threshold: float
    risk_groups: int
    calibration_groups: int
    cv_folds: int
    n_boot: int
    sensitivity_n_boot: int
    cfb_n_boot: int
    optimism_sd_max: dict
    calibration_min_spread: float
    riley_risk_margin: float
    baseline_report_months: list
    distribution_percentiles: list
    n_jobs: int = 1
    dask_scheduler: str | None = None

    @classmethod
    def from_parameters(cls, params) -> "BenefitSettings":
        """Settings from the notebook's parameters (names as in ``analysis.yml``), e.g. ``globals()``.

        Raises
        ------
        ValueError
            If a parameter of the chapter is absent from ``params``.
        """
        missing = [name for name in _PARAMETER_FIELDS if name not in params]
        if missing:
            raise ValueError(f"chapter 04 parameter(s) missing: {missing}")
        return cls(**{field_name: params[name] for name, field_name in _PARAMETER_FIELDS.items()})

    @property
    def horizon(self) -> float:
        """Prediction horizon, months."""
        return float(self.horizon_months)

    @property
    def rmst_horizon(self) -> float:
        """Restriction time of the restricted mean PFS, months."""
        return float(self.rmst_horizon_months)

    @property
    def feature_settings(self) -> dict:
        """Lesion-derivation settings of the predictors (frozen with the model)."""
        return {"fes_threshold": self.fes_threshold, "fes_excluded_organs": list(self.fes_excluded_organs)}

    def provenance(self, data_files_sha256: dict) -> dict:
        """The parameters stored in the frozen model (names as in ``analysis.yml``)."""
        return {"seed": self.seed, "fes_threshold": self.fes_threshold,
                "fes_excluded_organs": list(self.fes_excluded_organs),
                "benefit_candidate_features": list(self.candidate_features), "benefit_model_size": self.model_size,
                "benefit_r2cs_anticipated": self.r2cs_anticipated,
                "benefit_shrinkage_target": self.shrinkage_target, "benefit_cv_folds": self.cv_folds,
                "benefit_horizon_months": self.horizon, "benefit_rmst_horizon_months": self.rmst_horizon,
                "data_files_sha256": data_files_sha256}


#: analysis.yml parameter -> BenefitSettings field.
_PARAMETER_FIELDS = {
    "seed": "seed", "fes_threshold": "fes_threshold", "fes_excluded_organs": "fes_excluded_organs",
    "benefit_candidate_features": "candidate_features", "benefit_r2cs_anticipated": "r2cs_anticipated",
    "benefit_shrinkage_target": "shrinkage_target", "benefit_model_size": "model_size",
    "benefit_horizon_months": "horizon_months", "benefit_rmst_horizon_months": "rmst_horizon_months",
    "benefit_threshold": "threshold", "benefit_risk_groups": "risk_groups",
    "benefit_calibration_groups": "calibration_groups", "benefit_cv_folds": "cv_folds", "benefit_n_boot": "n_boot",
    "benefit_sensitivity_n_boot": "sensitivity_n_boot", "benefit_cfb_n_boot": "cfb_n_boot",
    "benefit_optimism_sd_max": "optimism_sd_max", "benefit_calibration_min_spread": "calibration_min_spread",
    "benefit_riley_risk_margin": "riley_risk_margin", "benefit_baseline_report_months": "baseline_report_months",
    "benefit_distribution_percentiles": "distribution_percentiles", "benefit_n_jobs": "n_jobs",
    "benefit_dask_scheduler": "dask_scheduler",
}


@dataclass
class BenefitData:
    """The development cohort, its outcome and every candidate predictor; later sections add the fit.

    Attributes
    ----------
    data_dir : Path
    cohort : Cohort
    outcome : pandas.DataFrame
        ``time`` (months), ``event``, ``treated``, indexed by patient.
    raw : pandas.DataFrame
        Raw value of every candidate predictor, indexed by patient.
    features : list of str
        Predictors of the model (set by :func:`section_sample_size`).
    fit : dict
        ``frame``, ``model``, ``dev`` (set by :func:`fit_development_model`), ``boot``.
    deviations : list of str
        Departures from the analysis plan found while computing (a grouping that collapsed, say), in the
        order found; :func:`section_deviations` reports them.
    """

    data_dir: Path
    cohort: object
    outcome: pd.DataFrame
    raw: pd.DataFrame
    features: list = field(default_factory=list)
    fit: dict = field(default_factory=dict)
    deviations: list = field(default_factory=list)

    @property
    def n_patients(self) -> int:
        return len(self.outcome)

    @property
    def n_events(self) -> int:
        return int(self.outcome["event"].sum())


def prepare_benefit_data(data_dir, p: BenefitSettings) -> BenefitData:
    """Load the SONImage cohort, derive the PFS1 outcome and every candidate predictor."""
    son = load_cohort(data_dir, "sonimage")
    raw = derive_model_features(son.patients, son.lesions, p.candidate_features, p.feature_settings)
    return BenefitData(Path(data_dir), son, derive_outcome(son.patients), raw)


def section_sample_size(d: BenefitData, p: BenefitSettings) -> Section:
    """Riley's criteria: how many parameters the cohort supports; fixes the model's predictors (Table 04.1)."""
    s = Section()
    person_months = float(d.outcome["time"].sum())
    rate, mean_fu = d.n_events / person_months, person_months / d.n_patients
    n_cand = len(p.candidate_features)
    riley = riley_max_parameters(d.n_patients, p.r2cs_anticipated, rate, mean_fu, p.shrinkage_target)
    n_full = riley_sample_size(p.r2cs_anticipated, n_cand, rate, p.horizon, mean_fu, p.shrinkage_target)
    n_effect = riley_sample_size(p.r2cs_anticipated, 2 * n_cand + 1, rate, p.horizon, mean_fu, p.shrinkage_target)
    n3 = riley_n_criterion3(rate, p.horizon, mean_fu, p.riley_risk_margin)
    d.features = select_model_features(p.candidate_features, riley["max_parameters"], p.model_size)
    s.add("obj4_n_patients", d.n_patients, "Patients in the objective 4 model", "count")
    s.add("obj4_n_events", d.n_events, "PFS1 events in the objective 4 model", "count")
    s.add("obj4_shrinkage_target", p.shrinkage_target, "Target expected shrinkage (Riley criterion 1)", "estimate")
    s.add("obj4_r2cs_anticipated", p.r2cs_anticipated, "Anticipated Cox-Snell R2 (parameter)", "estimate")
    s.add("obj4_max_parameters", riley["max_parameters"], "Largest number of candidate parameters this cohort "
          "supports (Riley criteria 1 and 2)", "count")
    s.add("obj4_n_required_all_candidates", n_full["n_required"], "Patients needed for all pre-specified "
          "candidate predictors (Riley)", "count")
    s.add("obj4_n_required_effect_model", n_effect["n_required"], "Patients needed for an effect model with "
          "all candidates and their arm interactions (Riley)", "count")
    s.add("obj4_riley_n_criterion3", n3["n_criterion3"], "Patients needed for Riley's criterion 3 (overall risk at "
          "the horizon within the SAP margin)", "count")
    s.add("obj4_riley_risk_margin", p.riley_risk_margin, "Margin of error of the overall risk, Riley criterion 3 "
          "(parameter)", "parameter")
    s.add("obj4_n_candidates", n_cand, "Pre-specified candidate predictors", "count")
    s.add("obj4_n_features", len(d.features), "Predictors in the prognostic model", "count")
    s.text["parameter_noun"] = format_noun(riley["max_parameters"], "candidate parameter")
    s.text["predictor_noun"] = format_noun(len(d.features), "predictor")
    s.tables["riley"] = format_riley_table(n_patients=d.n_patients, n_events=d.n_events, event_rate=rate,
                                           mean_followup=mean_fu, r2_cs=p.r2cs_anticipated, max_parameters=riley,
                                           n_candidates=n_cand, n_required_all=n_full["n_required"],
                                           n_required_effect=n_effect["n_required"], criterion3=n3,
                                           horizon=p.horizon, risk_margin=p.riley_risk_margin)
    s.text["caption"] = "**Table 04.1.** Riley's minimum sample size criteria for this cohort."
    return s


def section_predictors(d: BenefitData, p: BenefitSettings) -> Section:
    """The pre-specified candidate predictors, which are in the model, missing values and means (Table 04.2)."""
    s = Section()
    s.add("obj4_fes_threshold", p.fes_threshold, "FES positivity threshold used by the model features", "parameter")
    cand = list(p.candidate_features)
    table = pd.DataFrame({
        "predictor": cand,
        "definition": [FEATURE_DEFINITIONS[f] for f in cand],
        "in model": ["yes" if f in d.features else "no (beyond Riley's limit)" for f in cand],
        "missing (n)": [int(d.raw[f].isna().sum()) for f in cand],
        "mean": [d.raw[f].mean() for f in cand],
    })
    s.tables["predictors"] = table
    s.tables["predictors_display"] = format_predictor_table(table)
    s.text["caption"] = "**Table 04.2.** Pre-specified candidate predictors in priority order."
    return s


def fit_development_model(d: BenefitData, p: BenefitSettings) -> None:
    """Fit the whole procedure on the development data; store ``frame``, ``model`` and ``dev`` in ``d.fit``.

    ``dev`` is one row per patient: predictors, outcome, predictions and ``arm``.
    """
    frame = d.raw[d.features].join(d.outcome)
    model = fit_benefit_procedure(frame, d.features, n_folds=p.cv_folds, seed=p.seed)
    dev = frame.join(predict_from_features(model, frame[d.features], horizon=p.horizon, rmst_horizon=p.rmst_horizon))
    dev["arm"] = np.where(dev["treated"] == 1, "ET+CDK4/6i", "ET")
    d.fit.update(frame=frame, model=model, dev=dev)


def section_risk_model(d: BenefitData, p: BenefitSettings) -> Section:
    """Risk modelling: the prognostic model (Table 04.3, penalty figure) and effects by risk group (Table 04.4)."""
    s = Section()
    model, dev = d.fit["model"], d.fit["dev"]
    prog = model["prognostic"]
    s.add("obj4_cv_folds", p.cv_folds, "Folds of the cross-validated partial likelihood", "count")
    s.add("obj4_penalty", prog["penalty"], "Ridge penalty chosen for the prognostic model", "estimate")
    coef = pd.DataFrame([{"predictor": f["name"], "coefficient (per SD)": prog["coefficients"][f["name"]],
                          "HR per SD": np.exp(prog["coefficients"][f["name"]]), "SD": f["scale"],
                          "mean": f["center"], "imputed (n)": f["n_missing"]} for f in model["features"]])
    s.tables["coefficients"] = coef
    s.tables["coefficients_display"] = format_coefficient_table(
        coef, name="predictor", kinds={c: "estimate3" for c in ("coefficient (per SD)", "HR per SD", "SD", "mean")})
    s.text["caption"] = "**Table 04.3.** Prognostic model: penalised coefficients on the standardised scale."
    s.figures["penalty"] = benefit_plots.plot_penalty_cv(
        derive_penalty_cv_table(prog, n_folds=p.cv_folds, seed=p.seed), title="Prognostic model")
    s.add("obj4_horizon", p.horizon, "Prediction horizon (months)", "parameter")
    groups = compute_risk_group_effects(dev, t=p.horizon, n_groups=p.risk_groups, time="time", event="event",
                                        predicted="benefit_t")
    s.add("obj4_risk_interaction_p", groups.attrs["interaction_p"], "LR test of arm x prognostic linear predictor",
          "p_value", missing="not estimable")
    check = compute_group_collapse(assign_quantile_groups(dev["lp"], p.risk_groups), dev["benefit_t"],
                                   n_requested=p.risk_groups, min_spread=p.calibration_min_spread)
    s.add("obj4_risk_groups_n", check["n_groups"], "Risk groups formed (tie-aware cut-points; the SAP asks for "
          "benefit_risk_groups)", "count")
    s.text["risk_groups_note"] = _grouping_note(check, "risk groups", "benefit_risk_groups", "linear predictor",
                                                d.deviations)
    hr = float(np.exp(d.fit["model"]["risk_benefit"]["coefficients"]["treated"]))
    s.add("obj4_risk_benefit_hr", hr, "Hazard ratio of ET+CDK4/6i in the risk-based benefit model (constant over "
          "risk)", "ratio")
    s.add("obj4_benefit_peak_pfs_et", hr ** (1 / (1 - hr)) if 0 < hr < 1 else np.nan, "PFS under ET at the horizon "
          "where a constant hazard ratio gives the largest absolute benefit (HR^(1/(1-HR)))", "estimate")
    s.text["risk_groups_direction"] = _describe_risk_group_direction(groups, d.fit["model"], p.horizon)
    s.tables["risk_groups"] = groups
    s.tables["risk_groups_display"] = format_risk_group_table(groups, p.horizon)
    s.text["caption_risk_groups"] = (
        "**Table 04.4.** Effect of ET+CDK4/6i by risk group (tie-aware quantile groups of the prognostic linear "
        "predictor, sizes n); PFS at "
        f"{format_value(p.horizon, 'parameter')} months by Kaplan-Meier; predicted = mean risk-based predicted benefit.")
    s.figures["risk_groups"] = benefit_plots.plot_risk_group_effects(groups, t=p.horizon)
    return s


def section_effect_model(d: BenefitData) -> Section:
    """Effect modelling: arm x predictor interactions, ridge-penalised (Table 04.5)."""
    s = Section()
    eff = d.fit["model"]["effect"]
    s.add("obj4_effect_penalty", eff["penalty"], "Ridge penalty chosen for the effect model", "estimate")
    table = pd.DataFrame([{"term": k, "coefficient": v, "HR": np.exp(v), "penalised": k != "treated"}
                          for k, v in eff["coefficients"].items()])
    s.tables["effect"] = table
    # terms stay as the caption names them (`treated`, `treated:<predictor>`)
    s.tables["effect_display"] = format_columns(table, {"coefficient": "estimate3", "HR": "estimate3"}, index="term")
    s.text["caption"] = ("**Table 04.5.** Effect model coefficients (predictors standardised; `treated` = "
                         "ET+CDK4/6i).")
    return s


def section_predicted_benefit(d: BenefitData, p: BenefitSettings) -> Section:
    """Predicted individual benefit: summaries (Table 04.6), the share below the threshold, the distribution."""
    s = Section()
    dev = d.fit["dev"]
    s.add("obj4_rmst_horizon", p.rmst_horizon, "Restriction time of the restricted mean PFS (months)", "parameter")
    s.add("obj4_benefit_threshold", p.threshold, "Clinically meaningful benefit threshold (PFS difference at "
          "the horizon)", "percent")
    s.add("obj4_mean_benefit", dev["benefit_t"].mean(), "Mean predicted PFS benefit at the horizon (risk-based)",
          "percent")
    s.add("obj4_share_below_threshold", float((dev["benefit_t"] < p.threshold).mean()),
          "Share of patients with predicted benefit below the threshold", "percent")
    cols = ("benefit_t", "benefit_rmst", "effect_benefit_t", "effect_benefit_rmst")
    h, tau = format_value(p.horizon, "parameter"), format_value(p.rmst_horizon, "parameter")
    summary = pd.DataFrame({
        "model": ["risk-based", "risk-based", "effect", "effect"],
        "quantity": [f"PFS difference at {h} m", f"RMST difference to {tau} m"] * 2,
        **{stat: [getattr(dev[c], stat)() for c in cols] for stat in ("mean", "min", "median", "max")}})
    s.tables["summary_display"] = format_benefit_summary(summary)
    s.tables["predictions"] = dev.drop(columns=d.features)
    s.text["caption"] = "**Table 04.6.** Predicted individual benefit (PFS difference as a proportion; RMST in months)."
    s.figures["benefit"] = benefit_plots.plot_benefit_distribution(dev["benefit_t"], threshold=p.threshold,
                                                                   t=p.horizon)
    return s


def section_internal_validation(d: BenefitData, p: BenefitSettings) -> Section:
    """Bootstrap optimism correction of the whole procedure (Table 04.7, calibration figure)."""
    s = Section()
    dev = d.fit["dev"]
    grid = compute_risk_grid(dev["risk_t"])
    boot = bootstrap_benefit_procedure(d.fit["frame"], d.features, n_folds=p.cv_folds, horizon=p.horizon,
                                       rmst_horizon=p.rmst_horizon, risk_grid=grid, benefit_threshold=p.threshold,
                                       n_boot=p.n_boot, seed=p.seed, n_jobs=p.n_jobs,
                                       scheduler_address=p.dask_scheduler, with_benefit_discrimination=True,
                                       keep_predictions=True)
    d.fit["boot"] = boot
    stab = compute_optimism_stability(boot, p.optimism_sd_max).set_index("measure")
    d.fit["stability"] = stab
    s.add("obj4_n_boot", p.n_boot, "Bootstrap resamples B", "count")
    s.add("obj4_n_boot_failed", boot.n_failed, "Bootstrap resamples where the procedure failed", "count")
    s.add("obj4_c_apparent", boot.apparent["c"], "Apparent Harrell C of the prognostic model", "estimate")
    s.add("obj4_c_corrected", stab.loc["c", "reported"], "Optimism-corrected Harrell C (null when the bootstrap "
          "optimism is unstable, benefit_optimism_sd_max)" + _why(stab, "c"), "estimate", _missing(stab, "c"))
    s.add("obj4_slope_apparent", boot.apparent["slope"], "Apparent calibration slope", "estimate")
    s.add("obj4_slope_corrected", stab.loc["slope", "reported"], "Optimism-corrected calibration slope (null when "
          "the bootstrap optimism is unstable, benefit_optimism_sd_max)" + _why(stab, "slope"), "estimate",
          _missing(stab, "slope"))
    s.add("obj4_slope_optimism_sd", stab.loc["slope", "optimism_sd"], "SD of the per-resample bootstrap optimism of "
          "the calibration slope", "estimate")
    ci = np.nanquantile(boot.resamples["test_share_below"], [0.025, 0.975])
    s.add("obj4_share_below_threshold_ci_low", ci[0], "Share below threshold: 2.5% bootstrap quantile", "percent")
    s.add("obj4_share_below_threshold_ci_high", ci[1], "Share below threshold: 97.5% bootstrap quantile", "percent")
    perf = stab.loc[["c", "slope"]].reset_index()
    s.tables["performance"] = perf.replace({"c": "Harrell C", "slope": "calibration slope"})
    s.tables["performance_display"] = format_optimism_table(perf, index="measure")
    s.text["caption"] = ("**Table 04.7.** Apparent, optimism (Harrell's mean; median and SD over the resamples) and "
                         f"optimism-corrected performance (B = {p.n_boot}); *reported* is the corrected value where "
                         "the SAP's stability rule (`benefit_optimism_sd_max`: the SD of the per-resample optimism, "
                         "and the gap between its mean and median, at most the threshold) holds, else not estimable "
                         "with the reason.")
    s.text["stability"] = _stability_sentence(stab, ["c", "slope"])
    n_fitted = p.n_boot - boot.n_failed
    dropped = {"slope": ("calibration slope", "the refitted model's linear predictor was constant"),
               "calibration": ("smoothed calibration curve", "its spline calibration model did not converge")}
    for key, (what, why) in dropped.items():
        n_bad = int(boot.n_not_finite.get(key, 0))
        s.add(f"obj4_{key}_n_boot_not_estimable", n_bad, f"Fitted bootstrap resamples where the {what} could not "
              f"be estimated ({why}); left out of its optimism", "count")
        if n_bad:
            s.text["stability"] += (f" The {what} could not be estimated in {format_value(n_bad, 'count')} of the "
                                    f"{format_value(n_fitted, 'count')} fitted resamples ({why} there); its "
                                    f"optimism averages the other {format_value(n_fitted - n_bad, 'count')}.")
    s.figures["calibration"] = benefit_plots.plot_bootstrap_calibration(
        grid, boot.apparent["calibration"], boot.corrected["calibration"], dev["risk_t"], t=p.horizon)
    return s


#: The predicted benefits given per-patient intervals: (model, column, is a PFS difference at the horizon).
_INTERVAL_QUANTITIES = (("risk-based", "benefit_t", True), ("risk-based", "benefit_rmst", False),
                        ("effect", "effect_benefit_t", True), ("effect", "effect_benefit_rmst", False))


def section_benefit_uncertainty(d: BenefitData, p: BenefitSettings) -> Section:
    """Bootstrap intervals of each patient's predicted benefit and of the distribution of benefit (Tables 04.7a,
    04.7b, figure), from the predictions the internal-validation bootstrap keeps (no second bootstrap).

    Raises
    ------
    ValueError
        If the bootstrap's own fit on the original data does not reproduce the development predictions.
    """
    s = Section()
    boot, dev = d.fit["boot"], d.fit["dev"]
    h, tau = format_value(p.horizon, "parameter"), format_value(p.rmst_horizon, "parameter")
    rows, intervals, dists = [], {}, []
    for model, col, is_pfs in _INTERVAL_QUANTITIES:
        if not np.allclose(boot.apparent_predictions[col], dev[col].to_numpy(float), atol=1e-10):
            raise ValueError(f"{col}: the bootstrap's fit on the original data differs from the development fit")
        iv = compute_prediction_intervals(dev[col], boot.predictions[col], index=dev.index)
        intervals[col] = iv
        summ = summarise_prediction_intervals(iv, threshold=p.threshold if is_pfs else None)
        quantity = f"PFS difference at {h} m" if is_pfs else f"RMST difference to {tau} m (months)"
        rows.append({"model": model, "quantity": quantity, "n_straddle_threshold": np.nan, "n_above_threshold": np.nan,
                     "n_below_threshold": np.nan, **summ})
        if is_pfs:
            dist = compute_benefit_distribution(dev[col], boot.predictions[col], p.distribution_percentiles)
            dists.append(dist.assign(model=model))
            prefix = "obj4_benefit" if model == "risk-based" else "obj4_effect_benefit"
            what = f"predicted PFS benefit at the horizon ({model} model)"
            s.add(f"{prefix}_ci_width_median", summ["median_width"], f"Median width of the per-patient 95% "
                  f"bootstrap interval of the {what}", "percent")
            s.add(f"{prefix}_n_ci_excludes_zero", summ["n_excludes_zero"], f"Patients whose 95% bootstrap interval "
                  f"of the {what} excludes 0", "count")
            s.add(f"{prefix}_n_ci_straddle_threshold", summ["n_straddle_threshold"], f"Patients whose 95% bootstrap "
                  f"interval of the {what} contains values below and at or above benefit_threshold", "count")
            for q, est, lo, hi in dist[["percentile", "estimate", "ci_low", "ci_high"]].itertuples(index=False):
                name, qq = f"{prefix}_p{format_value(q, 'parameter')}", format_value(q, "parameter")
                s.add(name, est, f"{qq}th percentile across patients of the {what}", "percent")
                s.add(f"{name}_ci_low", lo, f"{qq}th percentile of the {what}: 2.5% bootstrap quantile", "percent")
                s.add(f"{name}_ci_high", hi, f"{qq}th percentile of the {what}: 97.5% bootstrap quantile", "percent")
        else:
            prefix = "obj4_benefit_rmst" if model == "risk-based" else "obj4_effect_benefit_rmst"
            s.add(f"{prefix}_ci_width_median", summ["median_width"], f"Median width (months) of the per-patient 95% "
                  f"bootstrap interval of the predicted RMST difference ({model} model)", "months")
            s.add(f"{prefix}_n_ci_excludes_zero", summ["n_excludes_zero"], "Patients whose 95% bootstrap interval of "
                  f"the predicted RMST difference ({model} model) excludes 0", "count")
    s.add("obj4_benefit_interval_n_boot", int(intervals["benefit_t"]["n_boot"].iat[0]), "Bootstrap resamples behind "
          "the per-patient intervals (those where the procedure could be refitted)", "count")
    table = pd.DataFrame(rows)[["model", "quantity", "n", "median_width", "min_width", "max_width",
                                "n_excludes_zero", "n_above_zero", "n_below_zero", "n_straddle_threshold",
                                "n_above_threshold", "n_below_threshold"]]
    s.tables["intervals"] = table
    s.tables["intervals_display"] = format_prediction_interval_table(table)
    per_patient = pd.concat({c: iv[["estimate", "ci_low", "ci_high"]] for c, iv in intervals.items()}, axis=1)
    per_patient.columns = [f"{c}_{stat}" for c, stat in per_patient.columns]
    s.tables["per_patient"] = per_patient.rename_axis("patient_id").reset_index()
    dist = pd.concat(dists, ignore_index=True)
    s.tables["distribution"] = dist[["model", "percentile", "estimate", "ci_low", "ci_high"]]
    s.tables["distribution_display"] = pd.concat(
        {m: format_benefit_distribution_table(g) for m, g in dist.groupby("model", sort=False)}, names=["model"])
    s.text["caption_intervals"] = (
        f"**Table 04.7a.** Per-patient 95% bootstrap percentile intervals of predicted benefit (the "
        f"{format_value(p.n_boot, 'count')} refits of the internal-validation bootstrap predicting for the original "
        f"patients): widths (PFS difference as a proportion, RMST in months), how many exclude 0, and how many "
        f"contain both values below and at or above the {format_value(p.threshold, 'percent')} threshold.")
    s.text["caption_distribution"] = (
        f"**Table 04.7b.** Distribution of predicted PFS benefit at {h} months across patients: percentiles "
        "(`benefit_distribution_percentiles`) with 95% bootstrap percentile intervals.")
    s.figures["intervals"] = benefit_plots.plot_individual_benefit_intervals(
        {"risk-based model": intervals["benefit_t"], "effect model (exploratory)": intervals["effect_benefit_t"]},
        threshold=p.threshold, t=p.horizon)
    s.text["implication"] = _describe_individual_uncertainty(table, dist, d.fit["model"], p)
    return s


def _describe_individual_uncertainty(table: pd.DataFrame, dist: pd.DataFrame, model: dict, p: BenefitSettings) -> str:
    """What the per-patient intervals imply for individual prediction, chosen from their numbers."""
    pct = lambda v: format_value(v, "percent")  # noqa: E731
    rb = table.iloc[0]
    d_rb = dist[dist["model"] == "risk-based"]
    q_lo, q_hi = d_rb["percentile"].min(), d_rb["percentile"].max()
    spread = float(d_rb["estimate"].max() - d_rb["estimate"].min())
    n = int(rb["n"])
    text = [f"Each patient's predicted PFS benefit at {format_value(p.horizon, 'parameter')} months (risk-based model) "
            f"has a 95% bootstrap interval of median width {pct(rb['median_width'])} (from {pct(rb['min_width'])} to "
            f"{pct(rb['max_width'])}), while the predicted benefits of the patients from the "
            f"{format_value(q_lo, 'parameter')}th to the {format_value(q_hi, 'parameter')}th percentile span "
            f"{pct(spread)}."]
    if rb["median_width"] >= spread:
        text.append("The uncertainty about one patient's benefit is larger than the differences in predicted benefit "
                    "between patients, so the model cannot rank individual patients by their benefit.")
    else:
        text.append("The differences between patients exceed the typical interval width; whether the ranking they "
                    "imply is real is what the c-for-benefit below assesses.")
    k = int(rb["n_straddle_threshold"])
    if k:
        text.append(f"For {format_value(k, 'count')} of {format_value(n, 'count')} patients the interval contains "
                    f"both a benefit below {pct(p.threshold)} and one at or above it: for them the model cannot say "
                    "whether adding a CDK4/6 inhibitor brings a clinically meaningful benefit.")
    elif int(rb["n_above_threshold"]) == n:
        text.append(f"Every patient's interval lies at or above the {pct(p.threshold)} threshold: by this model every "
                    "patient gains a clinically meaningful benefit, which is the cohort's average effect applied to "
                    "all rather than a distinction between patients.")
    elif int(rb["n_below_threshold"]) == n:
        text.append(f"Every patient's interval lies below the {pct(p.threshold)} threshold.")
    else:
        text.append(f"No patient's interval contains both a benefit below {pct(p.threshold)} and one at or above it: "
                    f"{format_value(rb['n_above_threshold'], 'count')} lie at or above it, "
                    f"{format_value(rb['n_below_threshold'], 'count')} below.")
    hr = float(np.exp(model["risk_benefit"]["coefficients"]["treated"]))
    above, excl = int(rb["n_above_zero"]), int(rb["n_excludes_zero"])
    if excl == n and above == n and hr < 1:
        text.append("Every interval excludes 0, but in the risk-based model this restates the overall treatment "
                    f"effect (a constant hazard ratio of {format_value(hr, 'ratio')} gives every patient a positive "
                    "benefit); it is not information about the individual.")
    elif excl:
        text.append(f"{format_value(excl, 'count')} of {format_value(n, 'count')} intervals exclude 0.")
    else:
        text.append("No interval excludes 0.")
    eff = table.iloc[2]
    text.append(f"The effect model (exploratory) gives intervals of median width {pct(eff['median_width'])}; "
                f"{format_value(eff['n_excludes_zero'], 'count')} exclude 0 and "
                f"{format_value(eff['n_straddle_threshold'], 'count')} contain the threshold.")
    if rb["median_width"] >= spread or k > n / 2:
        text.append("**For individual prediction this means:** the model cannot tell one patient's benefit from "
                    "another's; a patient's predicted benefit says no more than the cohort's average effect and should "
                    "not guide that patient's treatment.")
    else:
        text.append("**For individual prediction this means:** the intervals are narrower than the differences "
                    "between patients, but they carry only the uncertainty of the fitted procedure in this cohort; "
                    "without external validation of predicted benefit they do not support treatment decisions.")
    return " ".join(text)


def section_sensitivity(d: BenefitData, p: BenefitSettings) -> Section:
    """Sensitivity: every candidate predictor, penalty only, validated by the same bootstrap (Table 04.8)."""
    s = Section()
    cand = list(p.candidate_features)
    coincides = sorted(cand) == sorted(d.features)
    if coincides:
        # Riley's limit admits every candidate (a large cohort): the all-candidates model IS the primary model
        # (ridge and its folds do not depend on the order of the predictors), so its bootstrap is the primary one
        boot_all, stab_all, n_boot_all = d.fit["boot"], d.fit["stability"], p.n_boot
    else:
        frame_all = d.raw.join(d.outcome)
        model_all = fit_for_bootstrap(frame_all, p.seed, features=cand, n_folds=p.cv_folds)
        grid = compute_risk_grid(predict_from_features(model_all, d.raw, horizon=p.horizon,
                                                       rmst_horizon=p.rmst_horizon)["risk_t"])
        boot_all = bootstrap_benefit_procedure(frame_all, cand, n_folds=p.cv_folds, horizon=p.horizon,
                                               rmst_horizon=p.rmst_horizon, risk_grid=grid,
                                               benefit_threshold=p.threshold, n_boot=p.sensitivity_n_boot,
                                               seed=p.seed, n_jobs=p.n_jobs, scheduler_address=p.dask_scheduler)
        stab_all = compute_optimism_stability(boot_all, p.optimism_sd_max).set_index("measure")
        n_boot_all = p.sensitivity_n_boot
    s.add("obj4_sensitivity_n_boot", n_boot_all, "Bootstrap resamples of the all-candidates sensitivity analysis "
          "(the primary bootstrap's B when Riley's limit admits every candidate and the two models coincide)",
          "count")
    s.add("obj4_c_apparent_all", boot_all.apparent["c"], "Apparent C, all candidates (sensitivity)", "estimate")
    s.add("obj4_c_corrected_all", stab_all.loc["c", "reported"], "Optimism-corrected C, all candidates "
          "(sensitivity; null when the bootstrap optimism is unstable)" + _why(stab_all, "c"), "estimate",
          _missing(stab_all, "c"))
    s.add("obj4_slope_corrected_all", stab_all.loc["slope", "reported"], "Optimism-corrected slope, all candidates "
          "(null when the bootstrap optimism is unstable)" + _why(stab_all, "slope"), "estimate",
          _missing(stab_all, "slope"))
    s.add("obj4_slope_optimism_sd_all", stab_all.loc["slope", "optimism_sd"], "SD of the per-resample bootstrap "
          "optimism of the calibration slope, all candidates", "estimate")
    n_feat = len(d.features)
    both = pd.concat([d.fit["stability"].reset_index().assign(model=f"{n_feat} {format_noun(n_feat, 'predictor')} (Riley)"),
                      stab_all.reset_index().assign(model=f"all {len(cand)} candidates")])
    both = both.query("measure in ['c', 'slope']")[["model", "measure", "apparent", "optimism", "corrected",
                                                     "optimism_median", "optimism_sd", "reported", "reason"]]
    s.text["stability"] = _stability_sentence(stab_all, ["c", "slope"])
    if coincides:
        s.text["stability"] = (f"Riley's criteria admit all {len(cand)} candidates in this cohort, so the "
                               "all-candidates model is the primary model and this sensitivity analysis repeats "
                               "its bootstrap (no overfitting price to show). " + s.text["stability"])
    s.tables["both"] = both
    s.tables["both_display"] = format_optimism_table(both).set_index(["model", "measure"])
    s.text["caption"] = ("**Table 04.8.** Internal validation of the Riley-sized model and of a model with every "
                         "candidate.")
    return s


def section_c_for_benefit(d: BenefitData, p: BenefitSettings) -> Section:
    """c-for-benefit of the risk-based and effect models and calibration for benefit (Table 04.9, figure)."""
    s = Section()
    dev = d.fit["dev"]
    args = (dev["treated"], dev["time"], dev["event"], p.horizon)
    cfb = c_for_benefit(dev["benefit_t"], *args, n_boot=p.cfb_n_boot, seed=p.seed)
    cfb_eff = c_for_benefit(dev["effect_benefit_t"], *args, n_boot=p.cfb_n_boot, seed=p.seed)
    s.add("obj4_c_for_benefit", cfb.c, "c-for-benefit of the risk-based model (apparent)", "estimate")
    s.add("obj4_c_for_benefit_ci_low", cfb.ci_low, "c-for-benefit 95% bootstrap CI, lower", "estimate")
    s.add("obj4_c_for_benefit_ci_high", cfb.ci_high, "c-for-benefit 95% bootstrap CI, upper", "estimate")
    s.add("obj4_c_for_benefit_pairs", cfb.n_pairs, "Matched pairs used by the c-for-benefit", "count")
    s.add("obj4_c_for_benefit_effect", cfb_eff.c, "c-for-benefit of the effect model (apparent)", "estimate")
    s.add("obj4_c_for_benefit_effect_ci_low", cfb_eff.ci_low, "c-for-benefit of the effect model, 95% bootstrap CI, "
          "lower", "estimate")
    s.add("obj4_c_for_benefit_effect_ci_high", cfb_eff.ci_high, "c-for-benefit of the effect model, 95% bootstrap "
          "CI, upper", "estimate")
    stab = d.fit["stability"]
    s.add("obj4_c_for_benefit_corrected", stab.loc["c_for_benefit", "reported"], "Optimism-corrected c-for-benefit "
          "of the risk-based model (the internal-validation bootstrap)" + _why(stab, "c_for_benefit"), "estimate",
          _missing(stab, "c_for_benefit"))
    s.add("obj4_c_for_benefit_effect_corrected", stab.loc["c_for_benefit_effect", "reported"], "Optimism-corrected "
          "c-for-benefit of the effect model (the internal-validation bootstrap)" + _why(stab, "c_for_benefit_effect"),
          "estimate",
          _missing(stab, "c_for_benefit_effect"))
    het = derive_patient_heterogeneity(d.cohort.lesions, fes_threshold=p.fes_threshold,
                                       fes_excluded_organs=p.fes_excluded_organs, fdg_threshold=None)
    group = het.set_index("patient_id")["het_group"].reindex(dev.index)
    by_group = dev.groupby(group.astype(object), dropna=True)["effect_benefit_t"].agg(["size", "mean"])
    for level in ("homogeneous", "heterogeneous"):
        value = by_group.loc[level, "mean"] if level in by_group.index else np.nan
        s.add(f"obj4_mean_benefit_effect_{level}", value, f"Mean predicted PFS benefit at the horizon (effect model), "
              f"FES-{level} patients (primary heterogeneity group)", "percent")
    s.tables["benefit_by_group"] = by_group.rename_axis("het_group").reset_index()
    cal = compute_calibration_for_benefit(dev["benefit_t"], *args, n_groups=p.calibration_groups)
    check = compute_group_collapse(assign_quantile_groups(dev["benefit_t"], p.calibration_groups), dev["benefit_t"],
                                   n_requested=p.calibration_groups, min_spread=p.calibration_min_spread)
    s.add("obj4_calibration_groups_n", check["n_groups"], "Calibration-for-benefit groups formed (tie-aware "
          "cut-points; the SAP asks for benefit_calibration_groups)", "count")
    s.text["calibration_note"] = _grouping_note(check, "calibration groups", "benefit_calibration_groups",
                                                "predicted benefit", d.deviations)
    s.tables["calibration"] = cal
    s.tables["calibration_display"] = format_calibration_for_benefit_table(cal)
    s.text["caption"] = ("**Table 04.9.** Calibration for benefit: observed (Kaplan-Meier difference, 95% CI) vs mean "
                         "predicted benefit in quantile groups of predicted benefit (risk-based model).")
    if check["drawable"]:
        s.figures["calibration"] = benefit_plots.plot_calibration_for_benefit(cal, t=p.horizon)
        s.text["calibration_figure"] = ""
    else:
        s.text["calibration_figure"] = (
            f"No calibration-for-benefit figure is drawn: the group means of predicted benefit span "
            f"{format_value(check['spread'], 'estimate3')}, less than the "
            f"{format_value(p.calibration_min_spread, 'estimate3')} the SAP requires "
            "(`benefit_calibration_min_spread`), so a line through them could not show whether larger predicted "
            "benefit goes with larger observed benefit; Table 04.9 gives the numbers.")
    s.text["corrected"] = _stability_sentence(stab, ["c_for_benefit", "c_for_benefit_effect"])
    return s


def write_frozen_model(d: BenefitData, p: BenefitSettings, build_dir) -> Path:
    """Freeze the development model to ``BUILD/models/benefit_model.json`` and check that the file reproduces the
    predictions; return its path.

    The artifact holds the development fit alone (no bootstrap result), so the notebook writes it as soon as the
    model is fitted: chapter 05, which reads nothing else of chapter 04, starts then (``needs`` in its header)
    instead of after chapter 04's bootstraps. :func:`section_frozen_model` shows it where the chapter reads.

    Raises
    ------
    ValueError
        If the predictions of the written file differ from those in memory.
    """
    son, dev = d.cohort, d.fit["dev"]
    data_hash = compute_data_hash(son.patients, son.lesions)
    artifact = freeze_model(d.fit["model"], features=d.features, feature_settings=p.feature_settings,
                            horizon=p.horizon, rmst_horizon=p.rmst_horizon,
                            parameters=p.provenance(compute_file_hashes(d.data_dir / "sonimage", DATA_FILES)),
                            data_sha256=data_hash)
    path = write_model(artifact, Path(build_dir) / "models" / "benefit_model.json")
    check = predict_model(load_model(path), son.patients, son.lesions).set_index("patient_id")
    if not np.allclose(check.loc[dev.index, "benefit_t"], dev["benefit_t"], atol=1e-12):
        raise ValueError(f"{path}: the frozen model does not reproduce the in-memory predictions")
    d.fit["frozen"] = {"path": path, "data_sha256": data_hash}
    return path


def section_frozen_model(d: BenefitData, p: BenefitSettings, build_dir) -> Section:
    """The frozen model file (written by :func:`write_frozen_model`, here if not yet) and its coefficients.

    ``text["json"]`` is the file as a Markdown code block; ``text["obj4_data_sha256_short_text"]`` the first
    12 hex digits of the data hash.

    Raises
    ------
    ValueError
        If the predictions of the written file differ from those in memory.
    """
    s = Section()
    if "frozen" not in d.fit:
        write_frozen_model(d, p, build_dir)
    path, data_hash = d.fit["frozen"]["path"], d.fit["frozen"]["data_sha256"]
    s.data["path"] = path
    s.text["obj4_data_sha256_short_text"] = data_hash[:12]
    # the rendered page is BUILD/html/notebooks/04_benefit_model.html; the book carries a copy of
    # BUILD/models/ as html/_static/models/ (pipeline/book.py), so the link works when the book is served
    # and in every kept version
    s.text["json"] = ("The file itself, for software rather than for reading: "
                      '<a href="../_static/models/benefit_model.json">models/benefit_model.json</a> (a copy of '
                      "the file in the build folder).")
    model = d.fit["model"]
    rows = []
    for part, label in (("prognostic", "prognostic (risk) model"), ("risk_benefit", "risk-based benefit model"),
                        ("effect", "effect model")):
        if part not in model:
            continue
        for term, b in model[part]["coefficients"].items():
            rows.append({"model": label, "term": term, "coefficient": b, "HR": float(np.exp(b)),
                         "ridge penalty": model[part].get("penalty", 0.0) if term != "treated" else 0.0})
    coef = pd.DataFrame(rows)
    s.tables["coefficients"] = coef
    s.tables["coefficients_display"] = format_columns(coef, {"coefficient": "estimate3", "HR": "estimate3",
                                                             "ridge penalty": "estimate"}).set_index(["model", "term"])
    base = pd.DataFrame([{"model": label, **{f"S0({format_value(t, 'parameter')} m)":
                                             float(compute_survival_at(model[part]["baseline"], [0.0], float(t))[0])
                                             for t in p.baseline_report_months}}
                         for part, label in (("prognostic", "prognostic (risk) model"),
                                             ("risk_benefit", "risk-based benefit model"), ("effect", "effect model"))
                         if part in model])
    s.tables["baseline"] = base
    s.tables["baseline_display"] = format_columns(base, {c: "estimate3" for c in base.columns if c != "model"},
                                                  index="model")
    s.text["caption_coefficients"] = (
        "**Table 04.10.** Every coefficient of the frozen model (predictors standardised with the development "
        "means and SDs of Table 04.3; `treated` = ET+CDK4/6i; `lp` = the prognostic linear predictor; ridge "
        "penalty 0 = unpenalised).")
    s.text["caption_baseline"] = (
        "**Table 04.11.** Baseline PFS of each model (Efron's rule at tied event times, as the fits) at the reporting times (`benefit_baseline_report_"
        "months`): the survival of a patient at the development mean of every predictor, on ET alone.")
    return s


def section_deviations(d: BenefitData) -> Section:
    """Departures from the analysis plan found while computing the chapter (``d.deviations``): ``text["list"]`` for
    the chapter and ``data["deviations"]``, one sentence each, for the book's SAP-deviations page."""
    s = Section()
    s.add("obj4_n_deviations", len(d.deviations), "Departures from the analysis plan found in chapter 04", "count")
    s.data["deviations"] = list(d.deviations)  # the notebook reports each with pipeline.report.record_deviation
    s.text["list"] = ("\n".join(f"- {x}" for x in d.deviations) if d.deviations
                      else "No departure from the analysis plan was found in this chapter.")
    return s


def section_conclusion(p: BenefitSettings, *sections: Section) -> Section:
    """The chapter's conclusion, chosen from the numbers of its ``sections`` (sample size and c-for-benefit)."""
    s = Section()
    results = {r.name: r.value for sec in sections for r in sec.results}
    v = lambda n, k="count": format_value(results[n], k)  # noqa: E731
    supported = int(results["obj4_max_parameters"])
    need = max(int(results["obj4_n_required_effect_model"]), int(results["obj4_riley_n_criterion3"]))
    lines = []
    if supported <= 1:
        lines.append(
            f"**Individual benefit cannot be predicted from this cohort.** {v('obj4_n_patients')} patients "
            f"({v('obj4_n_events')} events) support {supported} parameter by Riley's criteria; predicting benefit "
            "needs at least the arm, a prognostic score and their interaction, and the pre-specified effect model "
            f"needs {v('obj4_n_required_effect_model')} patients (criterion 3 alone, the overall risk at "
            f"{format_value(p.horizon, 'parameter')} months within ±{format_value(p.riley_risk_margin, 'parameter')}, "
            f"needs {v('obj4_riley_n_criterion3')}).")
    else:
        lines.append(
            f"This cohort supports {supported} parameters by Riley's criteria; the pre-specified effect model needs "
            f"{v('obj4_n_required_effect_model')} patients, so its heterogeneity of effect remains exploratory.")
    cfb, lo, hi = results["obj4_c_for_benefit"], results["obj4_c_for_benefit_ci_low"], results["obj4_c_for_benefit_ci_high"]
    if np.isfinite([cfb, lo, hi]).all() and lo <= 0.5 <= hi:
        lines.append(
            f"Predicted benefit does not discriminate observed benefit better than chance: c-for-benefit "
            f"{format_estimate_ci(cfb, lo, hi)}, an interval that includes 0.5 (absence of evidence, not evidence "
            "of no heterogeneity).")
    lines.append(
        f"What the model can still be used for: a pre-specified prognostic score to validate externally (chapter 05) "
        f"and the sample-size arithmetic for a larger study, which would need about {format_value(need, 'count')} "
        "patients with randomised CDK4/6 inhibition and baseline FES-PET; not for treatment decisions.")
    s.text["conclusion"] = "\n\n".join(lines)
    return s


def _grouping_note(check: dict, what: str, parameter: str, by: str, deviations: list) -> str:
    """One sentence on how a tie-aware grouping came out; a collapse is also appended to ``deviations``."""
    sizes = ", ".join(str(n) for n in check["sizes"])
    if check["collapsed"]:
        note = (f"The analysis plan asks for {check['n_requested']} {what} (`{parameter}`); the {by} takes only "
                f"{check['n_groups']} distinct {format_noun(check['n_groups'], 'value')}, so {check['n_groups']} {what} were formed (sizes {sizes}).")
        deviations.append(note)
        return f"**Deviation.** {note}"
    return (f"{check['n_groups']} {what} as the analysis plan asks (`{parameter}`); tie-aware cut-points, fixed from "
            f"the {by} before any within-group fit, keep equal values together (sizes {sizes}).")


def _trend(values, digits: int = 2) -> str:
    """The direction of a sequence as displayed (rounded to ``digits``): rises, falls, flat or non-monotone."""
    v = np.round(np.asarray(values, dtype=float), digits)
    if not np.isfinite(v).all() or v.size < 2:
        return "cannot be described"
    step = np.diff(v)
    if (step == 0).all():
        return "is the same in every group"
    if (step >= 0).all():
        return "rises" if (step > 0).all() else "rises or stays level"
    if (step <= 0).all():
        return "falls" if (step < 0).all() else "falls or stays level"
    return "does not change in one direction"


def _describe_risk_group_direction(groups: pd.DataFrame, model: dict, horizon: float) -> str:
    """Sentences on Table 04.4 written from its numbers: how predicted and observed benefit move with risk."""
    pred, obs = groups["predicted_benefit"], groups["abs_benefit"]
    f = lambda v: format_value(v, "estimate")  # noqa: E731
    text = (f"As the risk rises across the groups of Table 04.4, the mean predicted absolute benefit of the "
            f"risk-based model {_trend(pred)} ({', '.join(f(v) for v in pred)}) and the observed Kaplan-Meier "
            f"difference {_trend(obs)} ({', '.join(f(v) for v in obs)}; every group's CI is in the table).")
    hr = float(np.exp(model["risk_benefit"]["coefficients"]["treated"]))
    # a constant hazard ratio h gives the benefit S^h - S, largest at S* = h^(1/(1-h)) (derivative h S^(h-1) = 1)
    s_star = hr ** (1 / (1 - hr)) if 0 < hr < 1 else float("nan")
    pfs_et = groups["pfs_et"]
    if np.isfinite(s_star) and _trend(pred).startswith("falls"):
        text += (f" With a constant hazard ratio ({format_value(hr, 'ratio')}) the absolute benefit at "
                 f"{format_value(horizon, 'parameter')} months is largest where PFS under ET at that time is "
                 f"{f(s_star)}; here it is {f(pfs_et.min())} to {f(pfs_et.max())} by Kaplan-Meier, below that "
                 "point, so a higher risk leaves less PFS to gain.")
    elif np.isfinite(s_star) and _trend(pred).startswith("rises"):
        text += (f" With a constant hazard ratio ({format_value(hr, 'ratio')}) the absolute benefit grows with the "
                 f"baseline risk as long as PFS under ET at {format_value(horizon, 'parameter')} months stays above "
                 f"{f(s_star)}.")
    return text


def _missing(stab: pd.DataFrame, measure: str) -> str | None:
    """The registry's word for a corrected value the stability rule withholds: "not estimable (<reason>)"."""
    reason = stab.loc[measure, "reason"]
    return f"not estimable ({reason})" if reason else None


def _why(stab: pd.DataFrame, measure: str) -> str:
    """A suffix for a registry description: the reason a corrected value is null ("" when reported)."""
    reason = stab.loc[measure, "reason"]
    return f"; null: {reason}" if reason else ""


def _stability_sentence(stab: pd.DataFrame, measures) -> str:
    """Which optimism corrections the stability rule reports and which it withholds, and why."""
    names = {"c": "Harrell C", "slope": "calibration slope", "c_for_benefit": "c-for-benefit (risk-based model)",
             "c_for_benefit_effect": "c-for-benefit (effect model)"}
    bad = [m for m in measures if not stab.loc[m, "stable"]]
    if not bad:
        return "Every optimism correction in the table meets the SAP's stability rule."
    parts = [f"the {names.get(m, m)} (per-resample {stab.loc[m, 'reason']})" for m in bad]
    return ("By the SAP's stability rule the optimism-corrected value is not estimable for " + "; ".join(parts)
            + ": the bootstrap optimism varies so much between resamples that subtracting its mean would report "
            "noise. The apparent value stands uncorrected, and optimistic.")
