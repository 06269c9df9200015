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
#   sonimage:
#     depends_on: ["04"]
#     needs: {"04": ["models/benefit_model.json"]}
# ---

# %% [markdown]
# (chapter-05)=
# # 05 External validation in IMPACT-MBC and ET-FES
#
# Objective 5: does the model frozen in chapter 04 predict PFS1 in patients it has never seen? The model
# is read from its JSON artifact and applied **unchanged** (no refitting) to each external cohort present
# in the data folder. Performance follows McLernon et al. (Ann Intern Med 2023) and Austin et al. (Stat Med
# 2020); every metric has a bootstrap 95% confidence interval. The metric code reproduces the paper's own
# worked example (Rotterdam -> GBSG) to the published figures (`tests/test_validation_reference.py`).
#
# :::{important}
# **What cannot be validated here.** Neither external cohort randomised the CDK4/6 inhibitor: IMPACT-MBC
# patients received physician's-choice first-line therapy, and ET-FES patients single-agent endocrine therapy
# without any CDK4/6 inhibitor. The *predicted benefit* of adding a CDK4/6 inhibitor (chapter 04) therefore
# cannot be validated in either cohort: there is no randomised contrast to compare it with. What these
# cohorts can test is the predicted risk of a PFS1 event *under the therapy a patient received*: the model's
# ET-alone risk for patients on ET alone and its ET+CDK4/6i risk for patients on that therapy. That is what this
# chapter validates; patients on other therapy are ranked, not calibrated.
# :::

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
seed = 20240901
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
validation_horizon_months = None
validation_n_boot = 500
validation_n_boot_curves = 200
validation_n_jobs = 2
validation_dask_scheduler = None
calibration_n_groups = 5
calibration_min_distinct_predictions = 10
auc_times_months = [6, 12, 18, 24, 30, 36]
et_fes_top_n_lesions = 3
et_fes_fes_threshold = 2.0

# %% tags=["remove-cell"]
from sonimage_utils.chapters import external_validation as ev
from sonimage_utils.pipeline.report import (record_section, save_figure, save_table, show, show_markdown,
                                             synthetic_notice)
from sonimage_utils.tables.validation import format_metric_frame

prep = ev.prepare_chapter(data_dir, build_dir, horizon_months=validation_horizon_months, fes_threshold=fes_threshold,
                          fes_excluded_organs=fes_excluded_organs)

# %% tags=["remove-input"]
synthetic_notice(synthetic)
if prep.text["absent"]:
    show_markdown(prep.text["absent"])
show_markdown(prep.text["model"])

# %% [markdown]
# ## Flow and case mix
#
# A model travels only as far as the patients resemble those it was built on. The tables compare the
# cohorts before any prediction is judged: who is in each, how many events, what first-line therapy,
# what disease, and the distribution of each predictor as measured (before the development-mean imputation
# that the frozen model applies to a missing predictor).

# %% tags=["remove-cell"]
flow = ev.flow_section(prep)
for key, name in {"flow": "05_flow", "case_mix": "05_case_mix", "predictors": "05_predictors"}.items():
    save_table(flow.tables[key], name, build_dir)

# %% tags=["remove-input"]
show_markdown(flow.text["flow"])
show(flow.tables["flow"])

# %% tags=["remove-input"]
show_markdown(flow.text["case_mix"])
show(flow.tables["case_mix"])

# %% tags=["remove-input"]
show_markdown(flow.text["predictors"])
show(flow.tables["predictors"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Histogram (density scale) of the frozen model's arm-blinded prognostic linear predictor in each cohort, all patients; dashed lines: each cohort's median (equal medians draw one line). A shift means a different case mix; a narrower spread means less room to discriminate.", "name": "fig-05-lp"}}
save_figure(flow.figures["lp"], "05_lp_distribution", build_dir)

# %% [markdown]
# ## Harmonising the predictors
#
# ET-FES measured FES SUVmax in its largest lesions only and used its own positivity threshold; SONImage
# measured every lesion. Applied unchanged, the model reads the ET-FES lesions as they are: FES-derived
# predictors come from the lesions with an FES value, with the model's own threshold. To show what that
# restriction costs, the development cohort is re-derived the same way (FES of its largest lesions only, by
# CT diameter), and with ET-FES's threshold as well, and the frozen model's apparent performance is
# compared. IMPACT-MBC measured FES in every lesion, like SONImage: no harmonisation is needed there.

# %% tags=["remove-input"]
harm = ev.harmonisation_section(prep, top_n_lesions=et_fes_top_n_lesions, fes_threshold=et_fes_fes_threshold,
                                min_distinct=calibration_min_distinct_predictions)
show_markdown(harm.text["intro"])
show_markdown(harm.text["measurement"])
save_table(harm.tables["measurement"], "05_measurement", build_dir)
show(harm.tables["measurement"])
save_table(harm.tables["cost"], "05_harmonisation_cost", build_dir)
show_markdown(harm.text["cost"])
show(format_metric_frame(harm.tables["cost"], 3))
if harm.text["no_fes"]:
    show_markdown(harm.text["no_fes"])

# %% tags=["remove-input"]
if "et_fes_threshold" in harm.tables:
    save_table(harm.tables["et_fes_threshold"], "05_et_fes_threshold", build_dir)
    show_markdown(harm.text["et_fes_threshold"])
    show(format_metric_frame(harm.tables["et_fes_threshold"], 3))

# %% [markdown]
# ## Performance of the frozen model
#
# The validated prediction is therapy-specific: the frozen model's risk on ET alone for patients on ET alone and its
# risk on ET+CDK4/6i for patients on that therapy (the risk-based benefit model of chapter 04), in each cohort's
# primary validation set (Table 05.1). Discrimination (Harrell's C over follow-up, Uno's C truncated at the horizon, the cumulative/dynamic
# AUC at the horizon), calibration (observed/expected at the horizon, calibration slope, and the integrated
# calibration index with E50 and E90 from the smoothed calibration curve) and overall accuracy (IPCW Brier
# score and the index of prediction accuracy, IPA, against the Kaplan-Meier null model of the same cohort).
# The censoring distribution of the IPCW metrics is estimated in each cohort. Intervals: bootstrap percentile
# intervals (patients resampled, metrics recomputed, model fixed). The development column is apparent
# performance, shown for reference; chapter 04 gives its optimism-corrected values.

# %% tags=["remove-input"]
prec = ev.precision_section(prep)
record_section(prec)
if "precision" in prec.tables:
    save_table(prec.tables["precision"], "05_expected_precision", build_dir)
    show_markdown(prec.text["caption"])
    show(prec.tables["precision"])
show_markdown(prec.text["summary"])

# %% tags=["remove-cell"]
perf = ev.performance_section(prep, n_boot=validation_n_boot, seed=seed, n_jobs=validation_n_jobs,
                              min_distinct=calibration_min_distinct_predictions,
                              scheduler_address=validation_dask_scheduler)

# %% tags=["remove-input"]
record_section(perf)
save_table(perf.tables["performance"], "05_performance", build_dir)
show_markdown(perf.text["caption"])
show(perf.tables["performance"])

# %% tags=["remove-input"]
if perf.text["summary"]:
    show_markdown(perf.text["summary"])

# %% [markdown]
# The model predicts for ET alone and for ET+CDK4/6i only. Patients on chemotherapy or other first-line therapy
# (IMPACT-MBC) have no prediction to calibrate; whether the prognostic part of the model still ranks them is a
# separate, discrimination-only analysis.

# %% tags=["remove-input"]
sub = ev.therapy_subgroup_section(prep, n_boot=validation_n_boot, seed=seed, n_jobs=validation_n_jobs)
if "by_therapy" in sub.tables:
    if sub.text["not_estimable"]:
        show_markdown(sub.text["not_estimable"])
    save_table(sub.tables["by_therapy"], "05_impact_mbc_by_therapy", build_dir)
    show_markdown(sub.text["caption"])
    show(sub.tables["by_therapy"])

# %% [markdown]
# ## Calibration at the horizon
#
# By the SAP's rule (`calibration_min_distinct_predictions`), a smoothed curve is drawn only when the
# therapy-specific predictions take enough distinct values: a secondary Cox model of the outcome on a restricted
# cubic spline (3 knots) of the complementary log-log predicted risk, with a pointwise bootstrap band, and
# tie-aware quantile groups of predicted risk as points. Otherwise each distinct predicted value is one point with
# its Kaplan-Meier observed risk and 95% interval. The grey histogram shows where the predictions lie. Every plot
# has the same axes, 0 to 1.

# %% tags=["remove-cell"]
cal = ev.calibration_section(prep, n_boot=validation_n_boot_curves, seed=seed, n_jobs=validation_n_jobs,
                             n_groups=calibration_n_groups, min_distinct=calibration_min_distinct_predictions,
                             scheduler_address=validation_dask_scheduler)
for name, groups in cal.tables.items():
    save_table(groups, f"05_calibration_groups_{name}", build_dir)

# %% tags=["remove-input"]
show_markdown("\n\n".join(cal.text.values()))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration of the frozen model's therapy-specific prediction in IMPACT-MBC (ET alone and ET+CDK4/6i) at the horizon: smoothed curve with 95% bootstrap band and quantile groups, or one point per distinct predicted value, by the rule stated above (Kaplan-Meier, 95% CI); grey: the distribution of predicted risks.", "name": "fig-05-cal-impact"}}
if "impact_mbc" in cal.figures:
    save_figure(cal.figures["impact_mbc"], "05_calibration_impact_mbc", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration of the frozen model's ET-alone prediction in ET-FES at the horizon (FES predictors from the largest lesions, as measured there): smoothed curve with 95% bootstrap band and quantile groups, or one point per distinct predicted value, by the rule stated above (Kaplan-Meier, 95% CI); grey: the distribution of predicted risks.", "name": "fig-05-cal-etfes"}}
if "et_fes" in cal.figures:
    save_figure(cal.figures["et_fes"], "05_calibration_et_fes", build_dir)

# %% [markdown]
# ## Discrimination over time
#
# The cumulative/dynamic AUC at each time compares patients with a PFS1 event by then with those still
# event-free; it shows whether the model's ranking holds early and late, not only at the horizon.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Cumulative/dynamic AUC(t) of the frozen model's therapy-specific linear predictor over follow-up in each cohort's primary validation set, with pointwise 95% bootstrap intervals (development: apparent). Dashed: the horizon; dotted: no discrimination.", "name": "fig-05-auc"}}
auc = ev.auc_section(prep, times=auc_times_months, n_boot=validation_n_boot_curves, seed=seed,
                     n_jobs=validation_n_jobs, scheduler_address=validation_dask_scheduler)
save_table(auc.tables["auc_curve"], "05_auc_curve", build_dir)
save_figure(auc.figures["auc_curve"], "05_auc_curve", build_dir)

# %% [markdown]
# ## Decision curve

# %% tags=["remove-input"]
dca = ev.decision_curve_section(prep)
show_markdown(dca.text["omitted"])

# %% [markdown]
# ## Model updating (sensitivity analysis)
#
# If the model is miscalibrated in a new setting, the simplest repairs keep its ranking and change its
# scale: re-estimating the baseline hazard with the linear predictor as an offset (recalibration of the
# intercept), or also re-estimating the slope of the linear predictor (recalibration of intercept and slope).
# Both are fitted in the validation cohort itself, so their performance below is apparent and optimistic;
# discrimination cannot change, since the ranking of patients is kept. This is a sensitivity analysis: the
# validation above is of the model as frozen.

# %% tags=["remove-input"]
upd = ev.model_updating_section(prep, dca.data["recalibration"])
record_section(upd)
if "updating" in upd.tables:
    save_table(upd.tables["updating"], "05_model_updating", build_dir)
    show_markdown(upd.text["caption"])
    show(format_metric_frame(upd.tables["updating"], 3))
show_markdown(upd.text["summary"])

# %% [markdown]
# ## What can and cannot be validated
#
# The model of chapter 04 has two parts: a prognostic risk (validated above, as far as the cohorts allow)
# and a predicted benefit of adding a CDK4/6 inhibitor. Validating the second needs patients comparable in
# everything but the treatment, which only randomisation provides. IMPACT-MBC did not randomise (its
# first-line therapies, chosen by physicians, differ by prognosis), and ET-FES gave no CDK4/6 inhibitor at
# all. The predicted benefits below are therefore shown only to describe how the model would sort these
# patients; they are **not** a validation, and no c-for-benefit or calibration-for-benefit is computed here.

# %% tags=["remove-input"]
ben = ev.benefit_section(prep)
save_table(ben.tables["benefit"], "05_benefit_not_validated", build_dir)
show_markdown(ben.text["caption"])
show(ben.tables["benefit"])
