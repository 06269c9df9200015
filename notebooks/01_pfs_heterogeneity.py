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
# (chapter-01)=
# # 01 PFS1 by FES/FDG heterogeneity
#
# Do patients whose metastases all take up FES (ER-homogeneous disease) stay free of progression longer on
# first-line endocrine therapy than patients with at least one FES-negative lesion? This chapter answers
# objective 1 with the registered analysis: a Cox model of PFS1 on the primary heterogeneity group, adjusted
# for treatment allocation, with Kaplan-Meier curves, the log-rank test, a check of proportional hazards and
# the pre-specified sensitivity analyses.

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
fdg_threshold = None
fdg_threshold_fixed = 5.0
fes_thresholds_sensitivity = [1.8, 2.0]
landmark_months = [12, 24]
ph_transform = "km"
ph_alpha = 0.05
piecewise_cutpoints_months = [12]
rmst_horizon_months = 36.0
baseline_scan_window_days = 28
cox_min_events_per_group = 5

# %% tags=["remove-cell"]
from sonimage_utils.chapters import pfs_heterogeneity as chapter
from sonimage_utils.pipeline.report import (record_section, save_figure, save_table, show, show_markdown,
                                            synthetic_notice)

base = chapter.load(data_dir, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                    fdg_threshold=fdg_threshold)

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## Who is analysed
#
# The primary analysis needs a heterogeneity group, so it includes every patient with at least one
# FES-assessable lesion (FES threshold `fes_threshold` on the SAP page); patients without one are counted in
# chapter 00 and left out here.

# %% tags=["remove-input"]
record_section(chapter.who_is_analysed(base))

# %% [markdown]
# Of the patients, {glue:text}`obj1_n_patients_text` have a heterogeneity group
# ({glue:text}`obj1_n_excluded_text` have none): {glue:text}`obj1_n_homogeneous_text` ER-homogeneous
# ({glue:text}`obj1_n_events_homogeneous_text` PFS1 events) and {glue:text}`obj1_n_heterogeneous_text`
# ER-heterogeneous ({glue:text}`obj1_n_events_heterogeneous_text` events);
# {glue:text}`obj1_n_events_text` events in all.
#
# ## Kaplan-Meier estimates
#
# The curves show the raw comparison, before any adjustment (descriptive); medians and landmark survival
# summarise them, each at one point of the curve.
# Confidence intervals are R's default for `survfit` (log transform), and the median's interval is where the
# confidence band crosses 50% (Brookmeyer-Crowley), so "not reached" means the band had not fallen to 50%.

# %% tags=["remove-input"]
km = chapter.kaplan_meier(base, landmark_months=landmark_months)
record_section(km)
save_table(km.tables["km"], "01_km_summary", build_dir)
show_markdown(km.text["caption"])
show(km.tables["km"].style.hide(axis="index").set_uuid("km"))
if km.text["logrank"]:
    show_markdown(km.text["logrank"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 01.1. Kaplan-Meier estimates of PFS1 by primary heterogeneity group, with pointwise 95% confidence bands (log) and censoring marks; number at risk below the axis. Descriptive; objective-1 set (patients with a heterogeneity group; patients and events per group in Table 01.1).", "name": "fig-01-km"}}
save_figure(km.figures["km"], "01_km_heterogeneity", build_dir)

# %% [markdown]
# Median PFS1, in months, was {glue:text}`obj1_median_pfs_homogeneous_text`
# (95% CI {glue:text}`obj1_median_pfs_homogeneous_ci_low_text` to
# {glue:text}`obj1_median_pfs_homogeneous_ci_high_text`) in ER-homogeneous and
# {glue:text}`obj1_median_pfs_heterogeneous_text` (95% CI {glue:text}`obj1_median_pfs_heterogeneous_ci_low_text` to
# {glue:text}`obj1_median_pfs_heterogeneous_ci_high_text`) in ER-heterogeneous patients; log-rank
# p = {glue:text}`obj1_logrank_p_text` (exploratory: unadjusted for the arm). Figure 01.1 shows the curves.
#
# ## The registered analysis: Cox model adjusted for treatment
#
# **Confirmatory.** The protocol's analysis is a Cox model of PFS1 on the heterogeneity group adjusted for the randomised arm
# (Efron ties, Wald 95% CIs), because the arm is the strongest known determinant of PFS1 in SONIA and the
# groups need not be balanced on it.

# %% tags=["remove-input"]
primary = chapter.primary_cox(base)
record_section(primary)
save_table(primary.tables["cox"], "01_cox_primary", build_dir)
show_markdown(primary.text["caption"])
show(primary.tables["cox"].style.hide(axis="index").set_uuid("cox"))
if primary.text["warning"]:
    show_markdown(primary.text["warning"])

# %% [markdown]
# Adjusted for the arm, the hazard of progression in ER-heterogeneous relative to ER-homogeneous patients was
# HR {glue:text}`obj1_hr_heterogeneous_text` (95% CI {glue:text}`obj1_hr_heterogeneous_ci_low_text` to
# {glue:text}`obj1_hr_heterogeneous_ci_high_text`; p = {glue:text}`obj1_hr_heterogeneous_p_text`); for
# ET+CDK4/6i vs ET, HR {glue:text}`obj1_hr_arm_text` ({glue:text}`obj1_hr_arm_ci_low_text` to
# {glue:text}`obj1_hr_arm_ci_high_text`) (Table 01.2).
#
# ## Proportional hazards
#
# A hazard ratio summarises the whole follow-up only if it is constant over time. That is assessed, not
# presumed: the score test of R's `cox.zph` (survival 3), per term and global, on the Kaplan-Meier time scale
# (`ph_transform`), the scaled Schoenfeld residuals, whose smoothed trend estimates how the log hazard ratio
# moves over time (Figure 01.2), and the pre-specified time-varying analyses of the next section.

# %% tags=["remove-input"]
ph = chapter.proportional_hazards(primary, transform=ph_transform, alpha=ph_alpha)
if "message" in ph.text:
    show_markdown(ph.text["message"])
else:
    record_section(ph)
    save_table(ph.tables["ph"], "01_ph_test", build_dir)
    show_markdown(ph.text["caption"])
    show(ph.tables["ph"].style.hide(axis="index").set_uuid("ph"))
    show_markdown(ph.text["reading"])
    show_markdown(ph.text["figure"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 01.2. Scaled Schoenfeld residuals of the primary model against time with a regression-spline smoother and its pointwise band (the note above the figure gives the method, the analysis set and n); the dashed line is the fitted coefficient. A flat smoother is what proportional hazards predicts; the title gives the score test.", "name": "fig-01-schoenfeld"}}
if "schoenfeld" in ph.figures:
    save_figure(ph.figures["schoenfeld"], "01_schoenfeld", build_dir)

# %% [markdown]
# ## Time-varying sensitivity analysis
#
# **Exploratory, pre-specified.** Two analyses that do not assume a constant hazard ratio: the hazard ratio
# within each interval between the cut-points (`piecewise_cutpoints_months`), from one Cox model on the
# follow-up split at those times, and the restricted mean PFS1 up to the horizon (`rmst_horizon_months`),
# the area under each Kaplan-Meier curve, which needs no assumption about the hazards.

# %% tags=["remove-input"]
tv = chapter.time_varying(base, km, primary, cutpoints=piecewise_cutpoints_months, horizon=rmst_horizon_months)
record_section(tv)
for key, name in (("piecewise", "01_piecewise_hr"), ("rmst", "01_rmst")):
    save_table(tv.tables[key], name, build_dir)
    show_markdown(tv.text[key])
    show(tv.tables[key].style.hide(axis="index").set_uuid(key))
if tv.text["explanation"]:
    show_markdown(tv.text["explanation"])

# %% [markdown]
# Up to {glue:text}`obj1_rmst_horizon_months_text` months, the restricted mean PFS1 of ER-heterogeneous minus
# that of ER-homogeneous patients was {glue:text}`obj1_rmst_difference_text` months (95% CI
# {glue:text}`obj1_rmst_difference_ci_low_text` to {glue:text}`obj1_rmst_difference_ci_high_text`; Table 01.5);
# a negative difference means less time free of progression with heterogeneous disease.

# %% [markdown]
# ## Sensitivity analyses
#
# **Exploratory**, except the first row (the registered analysis, repeated for reference). Each row changes one choice of the primary analysis and keeps the rest: the three-level grouping (all
# positive, mixed, all negative), the combined FES/FDG pattern of Kurland et al. (FDG high at the cohort median
# `fdg_threshold`, and at the fixed cut-off `fdg_threshold_fixed`), the heterogeneity score as a continuous
# variable (per 10 points more FES-positive lesions, so an HR below 1 favours homogeneity), the mean FES SUVmax
# of the assessable lesions, the other FES thresholds (`fes_thresholds_sensitivity`), the primary model
# adjusted for clinical factors (visceral disease, de novo metastatic disease, prior adjuvant endocrine
# therapy, WHO performance status 1 or more vs 0; status 2 is too rare to estimate on its own), the primary
# model stratified by centre (a baseline hazard per centre) and the primary model without the patients whose
# baseline PET was made after randomisation or more than `baseline_scan_window_days` days before it (counted
# in chapter 00). Every model is adjusted for the arm.

# %% tags=["remove-input"]
sens = chapter.sensitivity(base, fdg_threshold_fixed=fdg_threshold_fixed, min_events_per_group=cox_min_events_per_group,
                           fes_thresholds_sensitivity=fes_thresholds_sensitivity,
                           baseline_scan_window_days=baseline_scan_window_days)
record_section(sens)
save_table(sens.tables["sensitivity"], "01_sensitivity", build_dir)
show_markdown(sens.text["sensitivity"])
show(sens.tables["sensitivity"].style.hide(axis="index").set_uuid("sens"))
for key in ("caution", "thresholds", "strata"):
    show_markdown(sens.text[key])

# %% [markdown]
# Stratified by centre, heterogeneous vs homogeneous HR {glue:text}`obj1_hr_heterogeneous_stratified_text`
# ({glue:text}`obj1_hr_heterogeneous_stratified_ci_low_text` to
# {glue:text}`obj1_hr_heterogeneous_stratified_ci_high_text`). Per 10 points higher heterogeneity score the HR was {glue:text}`obj1_hr_hs10_text`
# ({glue:text}`obj1_hr_hs10_ci_low_text` to {glue:text}`obj1_hr_hs10_ci_high_text`); adjusted for the clinical
# factors, heterogeneous vs homogeneous {glue:text}`obj1_hr_heterogeneous_adjusted_text`
# ({glue:text}`obj1_hr_heterogeneous_adjusted_ci_low_text` to
# {glue:text}`obj1_hr_heterogeneous_adjusted_ci_high_text`; complete cases,
# {glue:text}`obj1_n_clinical_complete_cases_text` patients). Apart from its first row, Table 01.6 is exploratory. The full clinical
# model follows (Table 01.7).

# %% tags=["remove-input"]
save_table(sens.tables["clinical"], "01_cox_clinical", build_dir)
show_markdown(sens.text["clinical"])
show(sens.tables["clinical"].style.hide(axis="index").set_uuid("clin"))
