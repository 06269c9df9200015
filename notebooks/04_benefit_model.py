# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (chapter-04)=
# # 04 Predicting the individual benefit of adding a CDK4/6 inhibitor
#
# Objective 4 asks for a model that predicts, patient by patient, how much first-line ET+CDK4/6i adds to
# PFS1 over ET alone. With {glue:text}`obj4_n_patients_text` patients ({glue:text}`obj4_n_events_text` PFS1
# events) this is a small-sample prediction problem, so this chapter begins
# with what the data can support, follows the PATH statement {cite}`kent2020` (risk modelling first,
# effect modelling second), validates internally by bootstrap, and freezes the model for objective 5.

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
seed = 20240901
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
benefit_candidate_features = ["hs", "log_fdg_suvmax", "visceral_disease", "who_performance_status",
                              "log_mean_fes_suvmax", "log_n_lesions", "bone_only_disease", "de_novo_metastatic",
                              "prior_adjuvant_endocrine", "age_years", "log_min_fes_suvmax"]
benefit_r2cs_anticipated = 0.15
benefit_shrinkage_target = 0.9
benefit_model_size = None
benefit_horizon_months = 24.0
benefit_rmst_horizon_months = 36.0
benefit_threshold = 0.05
benefit_risk_groups = 4
benefit_calibration_groups = 3
benefit_cv_folds = 10
benefit_n_boot = 500
benefit_sensitivity_n_boot = 200
benefit_cfb_n_boot = 500
benefit_n_jobs = 2
benefit_dask_scheduler = None

# %% tags=["remove-cell"]
import functools
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from sonimage_utils.plots import benefit as benefit_plots
from sonimage_utils.benefit.sample_size import riley_max_parameters, riley_sample_size
from sonimage_utils.benefit.metrics import c_for_benefit, compute_calibration_for_benefit
from sonimage_utils.benefit.procedure import (evaluate_benefit_model, fit_benefit_procedure, fit_for_bootstrap,
                                          predict_from_features)
from sonimage_utils.benefit.risk_groups import compute_risk_group_effects
from sonimage_utils.data.load import load_cohort
from sonimage_utils.benefit.internal_validation import bootstrap_optimism
from sonimage_utils.benefit.artifact import compute_data_hash, freeze_model, load_model, predict_model, write_model
from sonimage_utils.benefit.features import FEATURE_DEFINITIONS, derive_model_features, derive_outcome
from sonimage_utils.survival.ridge_cox import PenaltyCVResult
from sonimage_utils.pipeline.report import record, save_figure, save_table, synthetic_notice

H, TAU = float(benefit_horizon_months), float(benefit_rmst_horizon_months)
SETTINGS = {"fes_threshold": fes_threshold, "fes_excluded_organs": list(fes_excluded_organs)}
son = load_cohort(data_dir, "sonimage")
outcome = derive_outcome(son.patients)
raw_all = derive_model_features(son.patients, son.lesions, benefit_candidate_features, SETTINGS)
n_patients, n_events = len(outcome), int(outcome["event"].sum())
person_months = float(outcome["time"].sum())

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# (obj4-sample-size)=
# ## How many predictors can this cohort support?
#
# Before any model is fitted, Riley's criteria {cite}`riley2019,riley2020` say how many candidate parameters a
# Cox prediction model can estimate from this cohort without harmful overfitting: expected shrinkage of at
# least {glue:text}`obj4_shrinkage_target_text` (criterion 1) and a small gap between apparent and adjusted
# R² (criterion 2). The event rate and mean follow-up are this cohort's own; the anticipated Cox-Snell R²
# is a parameter ({glue:text}`obj4_r2cs_anticipated_text`; its rationale is on the SAP page). The
# implementation reproduces the published worked example of {cite}`riley2020` (a test of the package).

# %% tags=["remove-input"]
rate = n_events / person_months
mean_fu = person_months / n_patients
riley = riley_max_parameters(n_patients, benefit_r2cs_anticipated, rate, mean_fu, benefit_shrinkage_target)
n_full = riley_sample_size(benefit_r2cs_anticipated, len(benefit_candidate_features), rate, H, mean_fu,
                           benefit_shrinkage_target)
n_effect = riley_sample_size(benefit_r2cs_anticipated, 2 * len(benefit_candidate_features) + 1, rate, H, mean_fu,
                             benefit_shrinkage_target)
record("obj4_n_patients", n_patients, "Patients in the objective 4 model", fmt="{:.0f}")
record("obj4_n_events", n_events, "PFS1 events in the objective 4 model", fmt="{:.0f}")
record("obj4_shrinkage_target", benefit_shrinkage_target, "Target expected shrinkage (Riley criterion 1)")
record("obj4_r2cs_anticipated", benefit_r2cs_anticipated, "Anticipated Cox-Snell R2 (parameter)")
record("obj4_max_parameters", riley["max_parameters"], "Largest number of candidate parameters this cohort "
       "supports (Riley criteria 1 and 2)", fmt="{:.0f}")
record("obj4_n_required_all_candidates", n_full["n_required"], "Patients needed for all pre-specified "
       "candidate predictors (Riley)", fmt="{:.0f}")
record("obj4_n_required_effect_model", n_effect["n_required"], "Patients needed for an effect model with "
       "all candidates and their arm interactions (Riley)", fmt="{:.0f}")
record("obj4_n_candidates", len(benefit_candidate_features), "Pre-specified candidate predictors", fmt="{:.0f}")
size = int(benefit_model_size) if benefit_model_size is not None else max(1, riley["max_parameters"])
features = list(benefit_candidate_features[:size])
record("obj4_n_features", len(features), "Predictors in the prognostic model", fmt="{:.0f}")
riley_table = pd.DataFrame([
    {"quantity": "patients / events", "value": f"{n_patients} / {n_events}"},
    {"quantity": "event rate (per person-month)", "value": f"{rate:.4f}"},
    {"quantity": "mean follow-up (months)", "value": f"{mean_fu:.1f}"},
    {"quantity": "anticipated Cox-Snell R²", "value": f"{benefit_r2cs_anticipated:g}"},
    {"quantity": "max Cox-Snell R²", "value": f"{riley['max_r2_cs']:.2f}"},
    {"quantity": "max parameters, criterion 1 (shrinkage)", "value": riley["max_parameters_criterion1"]},
    {"quantity": "max parameters, criterion 2 (R² gap)", "value": riley["max_parameters_criterion2"]},
    {"quantity": f"patients needed for all {len(benefit_candidate_features)} candidates", "value": n_full["n_required"]},
    {"quantity": "patients needed for the full effect model", "value": n_effect["n_required"]},
])
save_table(riley_table, "04_riley_sample_size", build_dir)
display(Markdown("**Table 04.1.** Riley's minimum sample size criteria for this cohort."))
display(riley_table.style.hide(axis="index").set_uuid("riley"))

# %% [markdown]
# This cohort supports {glue:text}`obj4_max_parameters_text` candidate parameter(s); the
# {glue:text}`obj4_n_candidates_text` pre-specified candidates would need {glue:text}`obj4_n_required_all_candidates_text`
# patients, and an effect model with all their arm interactions {glue:text}`obj4_n_required_effect_model_text`.
# The model's size is therefore fixed before fitting: the first {glue:text}`obj4_n_features_text` predictor(s)
# of the pre-specified, priority-ordered list (parameter `benefit_candidate_features`; FES heterogeneity first,
# the study's hypothesis), and the ridge penalty shrinks even these. Whatever follows is exploratory.

# %% [markdown]
# (obj4-predictors)=
# ## Predictors and outcome
#
# Outcome: PFS1 in months (days / 30.4375) from randomisation, both arms pooled for the prognostic model.
# Predictors are derived from `patients.csv` and `lesions.csv` exactly as the frozen model derives them on new
# data (FES threshold {glue:text}`obj4_fes_threshold_text`, liver lesions not FES-assessable); missing values
# are imputed with the development mean, and predictors are standardised with development means and SDs.

# %% tags=["remove-input"]
record("obj4_fes_threshold", fes_threshold, "FES positivity threshold used by the model features", fmt="{:g}")
pred_table = pd.DataFrame({
    "predictor": benefit_candidate_features,
    "definition": [FEATURE_DEFINITIONS[f] for f in benefit_candidate_features],
    "in model": ["yes" if f in features else "no (beyond Riley's limit)" for f in benefit_candidate_features],
    "missing (n)": [int(raw_all[f].isna().sum()) for f in benefit_candidate_features],
    "mean": [raw_all[f].mean() for f in benefit_candidate_features],
})
save_table(pred_table, "04_candidate_predictors", build_dir)
display(Markdown("**Table 04.2.** Pre-specified candidate predictors in priority order."))
display(pred_table.style.hide(axis="index").format(precision=2).set_uuid("preds"))

# %% tags=["remove-cell"]
frame = raw_all[features].join(outcome)
model = fit_benefit_procedure(frame, features, n_folds=benefit_cv_folds, seed=seed)
pred = predict_from_features(model, frame[features], horizon=H, rmst_horizon=TAU)
dev = frame.join(pred)
dev["arm"] = np.where(dev["treated"] == 1, "ET+CDK4/6i", "ET")


def cv_table(part):
    cv = model[part]["cv"]
    return PenaltyCVResult(np.array(cv["penalties"]), np.array(cv["cvpl"]), model[part]["penalty"],
                           benefit_cv_folds, seed).summary


# %% [markdown]
# (obj4-risk-model)=
# ## Risk modelling (primary): a prognostic model blinded to arm
#
# The prognostic model is a ridge-penalised Cox model (Breslow ties) on both arms without the arm term, the
# penalty chosen by {glue:text}`obj4_cv_folds_text`-fold cross-validated partial likelihood
# {cite}`verweij1993`. The chosen penalty was {glue:text}`obj4_penalty_text`.

# %% tags=["remove-input"]
record("obj4_cv_folds", benefit_cv_folds, "Folds of the cross-validated partial likelihood", fmt="{:.0f}")
record("obj4_penalty", model["prognostic"]["penalty"], "Ridge penalty chosen for the prognostic model", fmt="{:.3g}")
coef = pd.DataFrame([{"predictor": s["name"], "coefficient (per SD)": model["prognostic"]["coefficients"][s["name"]],
                      "HR per SD": np.exp(model["prognostic"]["coefficients"][s["name"]]), "SD": s["scale"],
                      "mean": s["center"], "imputed (n)": s["n_missing"]} for s in model["features"]])
save_table(coef, "04_prognostic_coefficients", build_dir)
display(Markdown("**Table 04.3.** Prognostic model: penalised coefficients on the standardised scale."))
display(coef.style.hide(axis="index").format(precision=3).set_uuid("coef"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Cross-validated log partial likelihood of the prognostic model over the ridge penalty; the chosen penalty is marked.", "name": "fig-04-penalty"}}
save_figure(benefit_plots.plot_penalty_cv(cv_table("prognostic"), title="Prognostic model"), "04_penalty_cv", build_dir)

# %% [markdown]
# The treatment effect is then estimated within quantile groups of the prognostic linear predictor: the
# hazard ratio (Cox, Efron ties) and the absolute difference in Kaplan-Meier PFS at
# {glue:text}`obj4_horizon_text` months. A constant hazard ratio still means a larger absolute benefit where
# the baseline risk is higher; the likelihood-ratio test of arm x linear predictor gives p =
# {glue:text}`obj4_risk_interaction_p_text`.

# %% tags=["remove-input"]
record("obj4_horizon", H, "Prediction horizon (months)", fmt="{:g}")
groups = compute_risk_group_effects(dev, t=H, n_groups=benefit_risk_groups, time="time", event="event",
                                    predicted="benefit_t")
record("obj4_risk_interaction_p", groups.attrs["interaction_p"], "LR test of arm x prognostic linear predictor",
       fmt="{:.3f}", missing="not estimable")
save_table(groups, "04_risk_groups", build_dir)
display(Markdown(f"**Table 04.4.** Effect of ET+CDK4/6i by risk group (quantiles of the prognostic linear "
                 f"predictor); PFS at {H:g} months by Kaplan-Meier; predicted = mean risk-based predicted benefit."))
display(groups.drop(columns=["hr_status"]).style.hide(axis="index").format(precision=2).set_uuid("groups"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Relative (hazard ratio, left) and absolute (difference in PFS at the horizon, right) effect of adding a CDK4/6 inhibitor by risk group, with 95% CIs; crosses: mean predicted benefit of the risk-based model.", "name": "fig-04-risk-groups"}}
save_figure(benefit_plots.plot_risk_group_effects(groups, t=H), "04_risk_groups", build_dir)

# %% [markdown]
# (obj4-effect-model)=
# ## Effect modelling (secondary): arm x predictor interactions
#
# The effect model adds the arm and arm x predictor interactions, all ridge-penalised except the arm term,
# penalty again by cross-validated partial likelihood (chosen: {glue:text}`obj4_effect_penalty_text`). It has
# more parameters than the cohort supports, so its interactions are shrunk hard and it is exploratory; PATH
# warns that effect models overfit heterogeneity of effect.

# %% tags=["remove-input"]
record("obj4_effect_penalty", model["effect"]["penalty"], "Ridge penalty chosen for the effect model", fmt="{:.3g}")
eff = pd.DataFrame([{"term": k, "coefficient": v, "HR": np.exp(v), "penalised": k != "treated"}
                    for k, v in model["effect"]["coefficients"].items()])
save_table(eff, "04_effect_coefficients", build_dir)
display(Markdown("**Table 04.5.** Effect model coefficients (predictors standardised; `treated` = ET+CDK4/6i)."))
display(eff.style.hide(axis="index").format(precision=3).set_uuid("eff"))

# %% [markdown]
# (obj4-benefit)=
# ## Predicted individual benefit
#
# For each patient the risk-based model predicts PFS at {glue:text}`obj4_horizon_text` months under each arm
# and their difference, and the difference in restricted mean PFS up to {glue:text}`obj4_rmst_horizon_text`
# months. The mean predicted benefit at the horizon is {glue:text}`obj4_mean_benefit_text` (absolute
# difference in PFS); the share of patients predicted to gain less than {glue:text}`obj4_benefit_threshold_text` is
# {glue:text}`obj4_share_below_threshold_text` (95% bootstrap interval {glue:text}`obj4_share_below_threshold_ci_low_text`
# to {glue:text}`obj4_share_below_threshold_ci_high_text`, from the models refitted in the bootstrap below).

# %% tags=["remove-input"]
record("obj4_rmst_horizon", TAU, "Restriction time of the restricted mean PFS (months)", fmt="{:g}")
record("obj4_benefit_threshold", benefit_threshold, "Clinically meaningful benefit threshold (PFS difference at "
       "the horizon)", fmt="{:.0%}")
record("obj4_mean_benefit", dev["benefit_t"].mean(), "Mean predicted PFS benefit at the horizon (risk-based)",
       fmt="{:.0%}")
share_below = float((dev["benefit_t"] < benefit_threshold).mean())
record("obj4_share_below_threshold", share_below, "Share of patients with predicted benefit below the threshold",
       fmt="{:.0%}")
summary = pd.DataFrame({
    "model": ["risk-based", "risk-based", "effect", "effect"],
    "quantity": [f"PFS difference at {H:g} m", f"RMST difference to {TAU:g} m"] * 2,
    "mean": [dev[c].mean() for c in ("benefit_t", "benefit_rmst", "effect_benefit_t", "effect_benefit_rmst")],
    "min": [dev[c].min() for c in ("benefit_t", "benefit_rmst", "effect_benefit_t", "effect_benefit_rmst")],
    "median": [dev[c].median() for c in ("benefit_t", "benefit_rmst", "effect_benefit_t", "effect_benefit_rmst")],
    "max": [dev[c].max() for c in ("benefit_t", "benefit_rmst", "effect_benefit_t", "effect_benefit_rmst")],
})
save_table(dev.drop(columns=features), "04_individual_predictions", build_dir)
display(Markdown("**Table 04.6.** Predicted individual benefit (PFS difference as a proportion; RMST in months)."))
display(summary.style.hide(axis="index").format(precision=3).set_uuid("benefit"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Distribution of predicted individual PFS benefit at the horizon (risk-based model), with the clinical threshold.", "name": "fig-04-benefit"}}
save_figure(benefit_plots.plot_benefit_distribution(dev["benefit_t"], threshold=benefit_threshold, t=H),
            "04_benefit_distribution", build_dir)

# %% [markdown]
# (obj4-internal-validation)=
# ## Internal validation: bootstrap optimism correction
#
# The whole procedure (preprocessing, penalty choice by cross-validation, prognostic and risk-based benefit
# models) is refitted in each of {glue:text}`obj4_n_boot_text` bootstrap resamples {cite}`harrell1996`; the
# mean difference between its performance in the resample and on the original data is the optimism. The
# apparent C of {glue:text}`obj4_c_apparent_text` becomes {glue:text}`obj4_c_corrected_text` after correction,
# and the calibration slope {glue:text}`obj4_slope_corrected_text` ({glue:text}`obj4_n_boot_failed_text`
# resamples failed). A corrected slope far from 1 together with a C near 0.5 says that the predictors carry
# little signal, and the slope is then poorly determined: the median and SD of the per-resample optimism in
# the table show how stable Harrell's mean is. A check on simulated cohorts with known truth (tests) confirms that the corrected C lies
# closer than the apparent C to the C on a large independent cohort.

# %% tags=["remove-cell"]
grid = np.quantile(dev["risk_t"], np.linspace(0.05, 0.95, 19))
fit_fn = functools.partial(fit_for_bootstrap, features=features, n_folds=benefit_cv_folds)
metric_fn = functools.partial(evaluate_benefit_model, horizon=H, rmst_horizon=TAU, risk_grid=grid,
                              benefit_threshold=benefit_threshold)
boot = bootstrap_optimism(frame, fit_fn, metric_fn, n_boot=benefit_n_boot, seed=seed, n_jobs=benefit_n_jobs,
                          scheduler_address=benefit_dask_scheduler, fit_seed=seed)

# %% tags=["remove-input"]
record("obj4_n_boot", benefit_n_boot, "Bootstrap resamples B", fmt="{:.0f}")
record("obj4_n_boot_failed", boot.n_failed, "Bootstrap resamples where the procedure failed", fmt="{:.0f}")
record("obj4_c_apparent", boot.apparent["c"], "Apparent Harrell C of the prognostic model")
record("obj4_c_corrected", boot.corrected["c"], "Optimism-corrected Harrell C")
record("obj4_slope_apparent", boot.apparent["slope"], "Apparent calibration slope")
record("obj4_slope_corrected", boot.corrected["slope"], "Optimism-corrected calibration slope")
ci = np.nanquantile(boot.resamples["test_share_below"], [0.025, 0.975])
record("obj4_share_below_threshold_ci_low", ci[0], "Share below threshold: 2.5% bootstrap quantile",
       fmt="{:.0%}")
record("obj4_share_below_threshold_ci_high", ci[1], "Share below threshold: 97.5% bootstrap quantile",
       fmt="{:.0%}")
perf = boot.summary.query("measure in ['c', 'slope']").replace({"c": "Harrell C", "slope": "calibration slope"})
save_table(perf, "04_internal_validation", build_dir)
display(Markdown(f"**Table 04.7.** Apparent, optimism (Harrell's mean; median and SD over the resamples) and "
                 f"optimism-corrected performance (B = {benefit_n_boot})."))
display(perf.style.hide(axis="index").format(precision=3).set_uuid("perf"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration of the predicted risk of a PFS1 event by the horizon: apparent and bootstrap bias-corrected smoothed curves (Cox model on a restricted cubic spline of the complementary log-log predicted risk); ticks: predicted risks.", "name": "fig-04-calibration"}}
save_figure(benefit_plots.plot_bootstrap_calibration(grid, boot.apparent["calibration"], boot.corrected["calibration"],
                                                     dev["risk_t"], t=H), "04_calibration", build_dir)

# %% [markdown]
# ### Sensitivity: every candidate predictor, penalty only
#
# What if Riley's limit were ignored and all {glue:text}`obj4_n_candidates_text` candidates entered the
# ridge model, the penalty alone guarding against overfitting? The same bootstrap
# ({glue:text}`obj4_sensitivity_n_boot_text` resamples) shows the price: apparent C
# {glue:text}`obj4_c_apparent_all_text`, corrected {glue:text}`obj4_c_corrected_all_text`, corrected
# calibration slope {glue:text}`obj4_slope_corrected_all_text`.

# %% tags=["remove-input"]
frame_all = raw_all.join(outcome)
fit_all = functools.partial(fit_for_bootstrap, features=list(benefit_candidate_features), n_folds=benefit_cv_folds)
model_all = fit_all(frame_all, seed)
grid_all = np.quantile(predict_from_features(model_all, raw_all, horizon=H, rmst_horizon=TAU)["risk_t"],
                       np.linspace(0.05, 0.95, 19))
metric_all = functools.partial(evaluate_benefit_model, horizon=H, rmst_horizon=TAU, risk_grid=grid_all,
                               benefit_threshold=benefit_threshold)
boot_all = bootstrap_optimism(frame_all, fit_all, metric_all, n_boot=benefit_sensitivity_n_boot, seed=seed,
                              n_jobs=benefit_n_jobs, scheduler_address=benefit_dask_scheduler, fit_seed=seed)
record("obj4_sensitivity_n_boot", benefit_sensitivity_n_boot, "Bootstrap resamples of the all-candidates "
       "sensitivity analysis", fmt="{:.0f}")
record("obj4_c_apparent_all", boot_all.apparent["c"], "Apparent C, all candidates (sensitivity)")
record("obj4_c_corrected_all", boot_all.corrected["c"], "Optimism-corrected C, all candidates (sensitivity)")
record("obj4_slope_corrected_all", boot_all.corrected["slope"], "Optimism-corrected slope, all candidates")
both = pd.concat([boot.summary.assign(model=f"{len(features)} predictor(s) (Riley)"),
                  boot_all.summary.assign(model=f"all {len(benefit_candidate_features)} candidates")])
both = both.query("measure in ['c', 'slope']")[["model", "measure", "apparent", "optimism", "corrected",
                                                 "optimism_median", "optimism_sd"]]
save_table(both, "04_internal_validation_sensitivity", build_dir)
display(Markdown("**Table 04.8.** Internal validation of the Riley-sized model and of a model with every candidate."))
display(both.style.hide(axis="index").format(precision=3).set_uuid("sens"))

# %% [markdown]
# (obj4-c-for-benefit)=
# ## Does predicted benefit discriminate observed benefit?
#
# The c-for-benefit {cite}`vanklaveren2018` matches each ET+CDK4/6i patient to an ET patient with similar
# predicted benefit and asks whether pairs with larger predicted benefit more often show it (the ET patient
# progressing by {glue:text}`obj4_horizon_text` months, the treated one not). For the risk-based model it is
# {glue:text}`obj4_c_for_benefit_text` (95% bootstrap CI {glue:text}`obj4_c_for_benefit_ci_low_text` to
# {glue:text}`obj4_c_for_benefit_ci_high_text`, {glue:text}`obj4_c_for_benefit_pairs_text` usable pairs); for
# the effect model {glue:text}`obj4_c_for_benefit_effect_text`. These are apparent values on the development
# data, optimistic by construction; 0.5 means no discrimination of benefit. Calibration for benefit
# {cite}`efthimiou2023` compares, within groups of predicted benefit, the observed with the predicted benefit.

# %% tags=["remove-input"]
cfb = c_for_benefit(dev["benefit_t"], dev["treated"], dev["time"], dev["event"], H, n_boot=benefit_cfb_n_boot, seed=seed)
cfb_eff = c_for_benefit(dev["effect_benefit_t"], dev["treated"], dev["time"], dev["event"], H,
                        n_boot=benefit_cfb_n_boot, seed=seed)
record("obj4_c_for_benefit", cfb.c, "c-for-benefit of the risk-based model (apparent)")
record("obj4_c_for_benefit_ci_low", cfb.ci_low, "c-for-benefit 95% bootstrap CI, lower")
record("obj4_c_for_benefit_ci_high", cfb.ci_high, "c-for-benefit 95% bootstrap CI, upper")
record("obj4_c_for_benefit_pairs", cfb.n_pairs, "Matched pairs used by the c-for-benefit", fmt="{:.0f}")
record("obj4_c_for_benefit_effect", cfb_eff.c, "c-for-benefit of the effect model (apparent)")
cal_b = compute_calibration_for_benefit(dev["benefit_t"], dev["treated"], dev["time"], dev["event"], H,
                                        n_groups=benefit_calibration_groups)
save_table(cal_b, "04_calibration_for_benefit", build_dir)
display(Markdown("**Table 04.9.** Calibration for benefit: observed (Kaplan-Meier difference, 95% CI) vs mean "
                 "predicted benefit in quantile groups of predicted benefit (risk-based model)."))
display(cal_b.style.hide(axis="index").format(precision=3).set_uuid("calb"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration for benefit: observed against predicted PFS benefit at the horizon by quantile group of predicted benefit, with 95% CIs; dashed: perfect calibration.", "name": "fig-04-calibration-benefit"}}
save_figure(benefit_plots.plot_calibration_for_benefit(cal_b, t=H), "04_calibration_for_benefit", build_dir)

# %% [markdown]
# (obj4-frozen-model)=
# ## The frozen model
#
# Everything a prediction needs is written to one JSON file, `models/benefit_model.json` in the build folder:
# predictor definitions and their lesion-derivation settings, imputation values, means and SDs, coefficients,
# Breslow baseline cumulative hazards, horizons, the analysis parameters and the SHA-256 of the development
# data ({glue:text}`obj4_data_sha256_short_text`...). Objective 5 reads it with
# `sonimage_utils.model_artifact.load_model` and applies it unchanged with `predict_model`; below, applying
# the file to the development data reproduces the in-memory predictions.

# %% tags=["remove-input", "output_scroll"]
files_sha = {name: hashlib.sha256((Path(data_dir) / "sonimage" / name).read_bytes()).hexdigest()
             for name in ("patients.csv", "lesions.csv")}
params = {"seed": seed, "fes_threshold": fes_threshold, "fes_excluded_organs": list(fes_excluded_organs),
          "benefit_candidate_features": list(benefit_candidate_features), "benefit_model_size": benefit_model_size,
          "benefit_r2cs_anticipated": benefit_r2cs_anticipated, "benefit_shrinkage_target": benefit_shrinkage_target,
          "benefit_cv_folds": benefit_cv_folds, "benefit_horizon_months": H, "benefit_rmst_horizon_months": TAU,
          "data_files_sha256": files_sha}
data_hash = compute_data_hash(son.patients, son.lesions)
artifact = freeze_model(model, features=features, feature_settings=SETTINGS, horizon=H, rmst_horizon=TAU,
                        parameters=params, data_sha256=data_hash)
path = write_model(artifact, Path(build_dir) / "models" / "benefit_model.json")
check = predict_model(load_model(path), son.patients, son.lesions).set_index("patient_id")
assert np.allclose(check.loc[dev.index, "benefit_t"], dev["benefit_t"], atol=1e-12)
from myst_nb import glue  # noqa: E402

glue("obj4_data_sha256_short_text", data_hash[:12], display=False)
display(Markdown(f"```json\n{path.read_text()}```"))

# %% [markdown]
# (obj4-limitations)=
# ## What the model can and cannot say
#
# - **Size.** The cohort supports {glue:text}`obj4_max_parameters_text` candidate parameter(s) by Riley's
#   criteria, so the prognostic model is deliberately small and penalised, and the effect model, which needs
#   an interaction for every predictor, exceeds what the data support: its heterogeneity of effect is
#   exploratory. The sensitivity analysis above shows what a larger model would lose to overfitting.
# - **Uncertainty.** Internal validation corrects the optimism of the point estimates but with
#   {glue:text}`obj4_n_patients_text` patients the
#   corrected C and slope remain imprecise; the c-for-benefit and calibration for benefit are apparent values
#   on the development data with wide intervals.
# - **What external data can validate.** Neither external cohort randomised a CDK4/6 inhibitor: they can
#   validate the prognostic part of the model (chapter 05, external validation), not its predicted benefit.
# - **Missing predictors.** Missing predictor values are imputed with the development mean (a simple choice,
#   reasonable for the few missing values here); applied to new data the model reports per patient how many
#   predictors were imputed (`n_imputed`), and predictions with imputed imaging predictors deserve caution.
# - **Equity.** SONImage records no sociodemographic variables beyond age (all patients are women), so
#   performance across sociodemographic groups cannot be examined.
# - **Use.** The model is a research tool for statisticians; applying it needs lesion-level FES and FDG PET
#   reads (SUVmax per lesion, organ) in the data contract's format. It is not meant to guide treatment.
# - **Next steps.** A useful benefit model needs randomised data on CDK4/6 inhibition with baseline FES-PET in
#   far more patients (Table 04.1 gives the numbers), e.g. by pooling trials with FES-PET imaging.
