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
benefit_optimism_sd_max = {"c": 0.25, "slope": 0.5, "c_for_benefit": 0.25, "c_for_benefit_effect": 0.25}
benefit_calibration_min_spread = 0.05
benefit_riley_risk_margin = 0.05
benefit_baseline_report_months = [12, 24, 36]
benefit_distribution_percentiles = [10, 25, 50, 75, 90]
benefit_n_jobs = 2
benefit_dask_scheduler = None

# %% tags=["remove-cell"]
from sonimage_utils.chapters import benefit_model as bm
from sonimage_utils.pipeline.report import (glue_text, record_deviation, record_section, save_figure, save_table, show,
                                            show_markdown, synthetic_notice)

p = bm.BenefitSettings.from_parameters(globals())  # the parameters cell above, names as in analysis.yml
d = bm.prepare_benefit_data(data_dir, p)

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# (obj4-sample-size)=
# ## How many predictors can this cohort support?
#
# Before any model is fitted, Riley's criteria {cite}`riley2019,riley2020` say how many candidate parameters a
# Cox prediction model can estimate from this cohort without harmful overfitting: expected shrinkage of at
# least {glue:text}`obj4_shrinkage_target_text` (criterion 1) and a small gap between apparent and adjusted
# R² (criterion 2); criterion 3 asks for the overall risk at the horizon within ±{glue:text}`obj4_riley_risk_margin_text`.
# The event rate and mean follow-up are this cohort's own; the anticipated Cox-Snell R²
# is a parameter ({glue:text}`obj4_r2cs_anticipated_text`; its rationale is on the SAP page). The
# implementation reproduces the published worked example of {cite}`riley2020` (a test of the package).

# %% tags=["remove-input"]
riley = bm.section_sample_size(d, p)
record_section(riley)
glue_text("obj4_parameter_noun", riley.text["parameter_noun"])
glue_text("obj4_predictor_noun", riley.text["predictor_noun"])
save_table(riley.tables["riley"], "04_riley_sample_size", build_dir)
show_markdown(riley.text["caption"])
show(riley.tables["riley"].style.hide(axis="index"))

# %% [markdown]
# This cohort supports {glue:text}`obj4_max_parameters_text` {glue:text}`obj4_parameter_noun`; the
# {glue:text}`obj4_n_candidates_text` pre-specified candidates would need {glue:text}`obj4_n_required_all_candidates_text`
# patients, and an effect model with all their arm interactions {glue:text}`obj4_n_required_effect_model_text`.
# The model's size is therefore fixed before fitting: the first {glue:text}`obj4_n_features_text` {glue:text}`obj4_predictor_noun`
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
sec = bm.section_predictors(d, p)
record_section(sec)
save_table(sec.tables["predictors"], "04_candidate_predictors", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["predictors_display"].style)  # a Styler shows the definitions in full

# %% tags=["remove-cell"]
bm.fit_development_model(d, p)
# frozen now, shown in its section below: chapter 05 reads this file alone and starts once it exists
bm.write_frozen_model(d, p, build_dir)

# %% [markdown]
# (obj4-risk-model)=
# ## Risk modelling (primary): a prognostic model blinded to arm
#
# The prognostic model is a ridge-penalised Cox model (Efron ties, as every Cox fit of the book) on both
# arms without the arm term, the
# penalty chosen by {glue:text}`obj4_cv_folds_text`-fold cross-validated partial likelihood
# {cite}`verweij1993`. The chosen penalty was {glue:text}`obj4_penalty_text`.

# %% tags=["remove-input"]
risk = bm.section_risk_model(d, p)
record_section(risk)
save_table(risk.tables["coefficients"], "04_prognostic_coefficients", build_dir)
show_markdown(risk.text["caption"])
show(risk.tables["coefficients_display"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Cross-validated log partial likelihood of the prognostic model over the ridge penalty; the chosen penalty is marked.", "name": "fig-04-penalty"}}
save_figure(risk.figures["penalty"], "04_penalty_cv", build_dir)

# %% [markdown]
# The risk-based benefit model adds the arm to the shrunk prognostic linear predictor, kept as an offset
# (coefficient fixed at 1, Cox with Efron ties), so the ridge shrinkage carries into every predicted benefit
# rather than being undone by a refit of its slope; Table 04.10 lists its coefficients.
#
# The treatment effect is then estimated within quantile groups of the prognostic linear predictor: the
# hazard ratio (Cox, Efron ties) and the absolute difference in Kaplan-Meier PFS at
# {glue:text}`obj4_horizon_text` months. The likelihood-ratio test of arm x linear predictor gives p =
# {glue:text}`obj4_risk_interaction_p_text` (a large p is not evidence that the relative effect is constant).

# %% tags=["remove-input"]
show_markdown(risk.text["risk_groups_note"] + " " + risk.text["risk_groups_direction"])
save_table(risk.tables["risk_groups"], "04_risk_groups", build_dir)
show_markdown(risk.text["caption_risk_groups"])
show(risk.tables["risk_groups_display"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Relative (hazard ratio, left) and absolute (difference in PFS at the horizon, right) effect of adding a CDK4/6 inhibitor by risk group, with 95% CIs; crosses: mean predicted benefit of the risk-based model.", "name": "fig-04-risk-groups"}}
save_figure(risk.figures["risk_groups"], "04_risk_groups", build_dir)

# %% [markdown]
# (obj4-effect-model)=
# ## Effect modelling (secondary): arm x predictor interactions
#
# The effect model adds the arm and arm x predictor interactions, all ridge-penalised except the arm term,
# penalty again by cross-validated partial likelihood (chosen: {glue:text}`obj4_effect_penalty_text`). It has
# more parameters than the cohort supports, so its interactions are shrunk hard and it is exploratory; PATH
# warns that effect models overfit heterogeneity of effect.

# %% tags=["remove-input"]
sec = bm.section_effect_model(d)
record_section(sec)
save_table(sec.tables["effect"], "04_effect_coefficients", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["effect_display"])

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
ben = bm.section_predicted_benefit(d, p)
record_section(ben)
save_table(ben.tables["predictions"], "04_individual_predictions", build_dir)
show_markdown(ben.text["caption"])
show(ben.tables["summary_display"].style.hide(axis="index"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Distribution of predicted individual PFS benefit at the horizon (risk-based model), with the clinical threshold.", "name": "fig-04-benefit"}}
save_figure(ben.figures["benefit"], "04_benefit_distribution", build_dir)

# %% [markdown]
# (obj4-internal-validation)=
# ## Internal validation: bootstrap optimism correction
#
# The whole procedure (preprocessing, penalty choice by cross-validation, prognostic, risk-based benefit and
# effect models) is refitted in each of {glue:text}`obj4_n_boot_text` bootstrap resamples {cite}`harrell1996`; the
# mean difference between its performance in the resample and on the original data is the optimism. The
# apparent C of {glue:text}`obj4_c_apparent_text` becomes {glue:text}`obj4_c_corrected_text` after correction;
# the calibration slope, apparent {glue:text}`obj4_slope_apparent_text`, is after correction
# {glue:text}`obj4_slope_corrected_text` (per-resample optimism SD {glue:text}`obj4_slope_optimism_sd_text`;
# {glue:text}`obj4_n_boot_failed_text` resamples failed). A check on simulated cohorts with known truth (tests)
# confirms that the corrected C lies closer than the apparent C to the C on a large independent cohort.

# %% tags=["remove-cell"]
iv = bm.section_internal_validation(d, p)

# %% tags=["remove-input"]
record_section(iv)
save_table(iv.tables["performance"], "04_internal_validation", build_dir)
show_markdown(iv.text["stability"])
show_markdown(iv.text["caption"])
show(iv.tables["performance_display"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration of the predicted risk of a PFS1 event by the horizon: apparent and bootstrap bias-corrected smoothed curves (Cox model on a restricted cubic spline of the complementary log-log predicted risk); ticks: predicted risks.", "name": "fig-04-calibration"}}
save_figure(iv.figures["calibration"], "04_calibration", build_dir)

# %% [markdown]
# ### Uncertainty of individual predicted benefit
#
# The same {glue:text}`obj4_n_boot_text` refits also predict for every original patient, so each patient's predicted
# benefit gets a 95% bootstrap percentile interval that carries the uncertainty of the whole procedure (penalty
# choice included; {glue:text}`obj4_benefit_interval_n_boot_text` resamples could be refitted), and so does every
# percentile of the distribution of predicted benefit across patients. The median interval width of the risk-based
# predicted benefit at {glue:text}`obj4_horizon_text` months is {glue:text}`obj4_benefit_ci_width_median_text`;
# {glue:text}`obj4_benefit_n_ci_straddle_threshold_text` intervals contain the threshold. These intervals describe
# the model's uncertainty, not the spread of patients' outcomes, and like everything in this chapter they are
# exploratory.

# %% tags=["remove-input"]
unc = bm.section_benefit_uncertainty(d, p)
record_section(unc)
for key in ("per_patient", "intervals", "distribution"):
    save_table(unc.tables[key], f"04_benefit_uncertainty_{key}", build_dir)
show_markdown(unc.text["implication"] + "\n\n" + unc.text["caption_intervals"])
show(unc.tables["intervals_display"])
show_markdown(unc.text["caption_distribution"])
show(unc.tables["distribution_display"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Predicted PFS benefit at the horizon of every patient with its 95% bootstrap percentile interval (the refits of the internal-validation bootstrap), patients sorted by predicted benefit; left the risk-based model, right the effect model (exploratory); dashed: the clinical threshold.", "name": "fig-04-benefit-intervals"}}
save_figure(unc.figures["intervals"], "04_benefit_intervals", build_dir)

# %% [markdown]
# ### Sensitivity: every candidate predictor, penalty only
#
# What if Riley's limit were ignored and all {glue:text}`obj4_n_candidates_text` candidates entered the
# ridge model, the penalty alone guarding against overfitting? The same bootstrap
# ({glue:text}`obj4_sensitivity_n_boot_text` resamples) shows the price: apparent C
# {glue:text}`obj4_c_apparent_all_text`, corrected {glue:text}`obj4_c_corrected_all_text`, corrected
# calibration slope {glue:text}`obj4_slope_corrected_all_text` (per-resample optimism SD
# {glue:text}`obj4_slope_optimism_sd_all_text`).

# %% tags=["remove-input"]
sec = bm.section_sensitivity(d, p)
record_section(sec)
show_markdown(sec.text["stability"])
save_table(sec.tables["both"], "04_internal_validation_sensitivity", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["both_display"])

# %% [markdown]
# (obj4-c-for-benefit)=
# ## Does predicted benefit discriminate observed benefit?
#
# The c-for-benefit {cite}`vanklaveren2018` matches each ET+CDK4/6i patient to an ET patient with similar
# predicted benefit and asks whether pairs with larger predicted benefit more often show it (the ET patient
# progressing by {glue:text}`obj4_horizon_text` months, the treated one not). For the risk-based model it is
# {glue:text}`obj4_c_for_benefit_text` (95% bootstrap CI {glue:text}`obj4_c_for_benefit_ci_low_text` to
# {glue:text}`obj4_c_for_benefit_ci_high_text`, {glue:text}`obj4_c_for_benefit_pairs_text` usable pairs); for
# the effect model {glue:text}`obj4_c_for_benefit_effect_text` ({glue:text}`obj4_c_for_benefit_effect_ci_low_text`
# to {glue:text}`obj4_c_for_benefit_effect_ci_high_text`). These apparent values are optimistic by construction;
# the internal-validation bootstrap above corrects them: {glue:text}`obj4_c_for_benefit_corrected_text`
# (risk-based) and {glue:text}`obj4_c_for_benefit_effect_corrected_text` (effect model); 0.5 means no
# discrimination of benefit. Linking to objective 2, the effect model's mean predicted PFS benefit at
# {glue:text}`obj4_horizon_text` months is {glue:text}`obj4_mean_benefit_effect_homogeneous_text` in
# FES-homogeneous and {glue:text}`obj4_mean_benefit_effect_heterogeneous_text` in FES-heterogeneous patients.
# Calibration for benefit {cite}`efthimiou2023` compares, within groups of predicted benefit, the observed with
# the predicted benefit.

# %% tags=["remove-input"]
cfb = bm.section_c_for_benefit(d, p)
record_section(cfb)
save_table(cfb.tables["calibration"], "04_calibration_for_benefit", build_dir)
show_markdown(cfb.text["corrected"] + "\n\n" + cfb.text["calibration_note"])
show_markdown(cfb.text["caption"])
show(cfb.tables["calibration_display"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration for benefit: observed against predicted PFS benefit at the horizon by quantile group of predicted benefit, with 95% CIs; dashed: perfect calibration.", "name": "fig-04-calibration-benefit"}}
if "calibration" in cfb.figures:
    save_figure(cfb.figures["calibration"], "04_calibration_for_benefit", build_dir)

# %% tags=["remove-input"]
show_markdown(cfb.text["calibration_figure"])

# %% [markdown]
# (obj4-frozen-model)=
# ## The frozen model
#
# Everything a prediction needs is written to one JSON file, `models/benefit_model.json` in the build folder:
# predictor definitions and their lesion-derivation settings, imputation values, means and SDs, coefficients,
# baseline cumulative hazards (Efron's rule at tied event times), horizons, the analysis parameters and the SHA-256 of the development
# data ({glue:text}`obj4_data_sha256_short_text`...). Objective 5 reads it with
# `sonimage_utils.model_artifact.load_model` and applies it unchanged with `predict_model`; below, applying
# the file to the development data reproduces the in-memory predictions. Its content, for reading:

# %% tags=["remove-input"]
sec = bm.section_frozen_model(d, p, build_dir)
glue_text("obj4_data_sha256_short_text", sec.text["obj4_data_sha256_short_text"])
save_table(sec.tables["coefficients"], "04_frozen_model_coefficients", build_dir)
save_table(sec.tables["baseline"], "04_frozen_model_baseline", build_dir)
show_markdown(sec.text["caption_coefficients"])
show(sec.tables["coefficients_display"])
show_markdown(sec.text["caption_baseline"])
show(sec.tables["baseline_display"])
show_markdown(sec.text["json"])

# %% [markdown]
# (obj4-deviations)=
# ## Departures from the analysis plan
#
# Found while computing this chapter; each is also listed on the book's page of deviations from the SAP.

# %% tags=["remove-input"]
sec = bm.section_deviations(d)
record_section(sec)
for text in sec.data["deviations"]:
    record_deviation(text)
show_markdown(sec.text["list"])

# %% [markdown]
# (obj4-conclusion)=
# ## Conclusion

# %% tags=["remove-input"]
show_markdown(bm.section_conclusion(p, riley, cfb).text["conclusion"])

# %% [markdown]
# (obj4-limitations)=
# ## What the model can and cannot say
#
# - **Size.** The cohort supports {glue:text}`obj4_max_parameters_text` {glue:text}`obj4_parameter_noun` by Riley's
#   criteria, so the prognostic model is deliberately small and penalised, and the effect model, which needs
#   an interaction for every predictor, exceeds what the data support: its heterogeneity of effect is
#   exploratory. The sensitivity analysis above shows what a larger model would lose to overfitting.
# - **Uncertainty.** Internal validation corrects the optimism of the point estimates but with
#   {glue:text}`obj4_n_patients_text` patients the
#   corrected C remains imprecise and the corrected slope may not be estimable at all (stability rule above);
#   the c-for-benefit is optimism-corrected but its interval is wide, and calibration for benefit is apparent;
#   the per-patient bootstrap intervals above show how uncertain a single patient's predicted benefit is.
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
