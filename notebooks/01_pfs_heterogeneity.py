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
# The curves show the raw comparison, before any adjustment; medians and landmark survival summarise them.
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

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Kaplan-Meier estimates of PFS1 by primary heterogeneity group, with pointwise 95% confidence bands (log) and censoring marks; number at risk below the axis.", "name": "fig-01-km"}}
save_figure(km.figures["km"], "01_km_heterogeneity", build_dir)

# %% [markdown]
# Median PFS1, in months, was {glue:text}`obj1_median_pfs_homogeneous_text`
# (95% CI {glue:text}`obj1_median_pfs_homogeneous_ci_low_text` to
# {glue:text}`obj1_median_pfs_homogeneous_ci_high_text`) in ER-homogeneous and
# {glue:text}`obj1_median_pfs_heterogeneous_text` (95% CI {glue:text}`obj1_median_pfs_heterogeneous_ci_low_text` to
# {glue:text}`obj1_median_pfs_heterogeneous_ci_high_text`) in ER-heterogeneous patients; log-rank
# p = {glue:text}`obj1_logrank_p_text`.
#
# ## The registered analysis: Cox model adjusted for treatment
#
# The protocol's analysis is a Cox model of PFS1 on the heterogeneity group adjusted for the randomised arm
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
# {glue:text}`obj1_hr_arm_ci_high_text`).
#
# ## Proportional hazards
#
# A hazard ratio summarises the whole follow-up only if it is constant over time. The check is the score test
# of R's `cox.zph` (survival 3), per term and global, on the Kaplan-Meier time scale (`ph_transform`), and
# the scaled Schoenfeld residuals, whose smoothed trend estimates how the log hazard ratio moves over time.

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

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Scaled Schoenfeld residuals of the primary model against time, with a lowess smoother; the dashed line is the fitted coefficient. A flat smoother is what proportional hazards predicts; the title gives the score test.", "name": "fig-01-schoenfeld"}}
if "schoenfeld" in ph.figures:
    save_figure(ph.figures["schoenfeld"], "01_schoenfeld", build_dir)

# %% [markdown]
# ## Sensitivity analyses
#
# Each row changes one choice of the primary analysis and keeps the rest: the three-level grouping (all
# positive, mixed, all negative), the combined FES/FDG pattern of Kurland et al. (FDG high at the cohort median
# `fdg_threshold`, and at the fixed cut-off `fdg_threshold_fixed`), the heterogeneity score as a continuous
# variable (per 10 points more FES-positive lesions, so an HR below 1 favours homogeneity), the mean FES SUVmax
# of the assessable lesions, the other FES thresholds (`fes_thresholds_sensitivity`), and the primary model
# adjusted for clinical factors (visceral disease, de novo metastatic disease, prior adjuvant endocrine
# therapy, WHO performance status 1 or more vs 0; status 2 is too rare to estimate on its own). Every model is
# adjusted for the arm.

# %% tags=["remove-input"]
sens = chapter.sensitivity(base, fdg_threshold_fixed=fdg_threshold_fixed,
                           fes_thresholds_sensitivity=fes_thresholds_sensitivity)
record_section(sens)
save_table(sens.tables["sensitivity"], "01_sensitivity", build_dir)
show_markdown(sens.text["sensitivity"])
show(sens.tables["sensitivity"].style.hide(axis="index").set_uuid("sens"))

# %% [markdown]
# Per 10 points higher heterogeneity score the HR was {glue:text}`obj1_hr_hs10_text`
# ({glue:text}`obj1_hr_hs10_ci_low_text` to {glue:text}`obj1_hr_hs10_ci_high_text`); adjusted for the clinical
# factors, heterogeneous vs homogeneous {glue:text}`obj1_hr_heterogeneous_adjusted_text`
# ({glue:text}`obj1_hr_heterogeneous_adjusted_ci_low_text` to
# {glue:text}`obj1_hr_heterogeneous_adjusted_ci_high_text`). The full clinical model follows.

# %% tags=["remove-input"]
save_table(sens.tables["clinical"], "01_cox_clinical", build_dir)
show_markdown(sens.text["clinical"])
show(sens.tables["clinical"].style.hide(axis="index").set_uuid("clin"))
