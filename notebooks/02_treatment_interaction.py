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
# (chapter-02)=
# # 02 Heterogeneity and the benefit of adding a CDK4/6 inhibitor
#
# Does the benefit of adding a CDK4/6 inhibitor to first-line endocrine therapy differ between ER-homogeneous
# and ER-heterogeneous disease? This chapter answers objective 2, a **secondary analysis** of the plan
# (registered, exploratory in inference: the book's one confirmatory test is chapter 01's): a Cox model with a
# heterogeneity x treatment interaction, the treatment effect within each group on the hazard-ratio and on the
# absolute scale, exploratory interactions with the three-level groups and the continuous heterogeneity score,
# and - because a cohort of this size is small for an interaction - a simulation of how large an interaction
# this study could detect. Every analysis uses the objective-2 set, the objective-1 set of chapter 01
# (patients with a heterogeneity group).

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
seed = 20240901
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
fdg_threshold = None
benefit_horizon_months = 24.0
km_min_at_risk = 5
power_n_sim = 1000
power_interaction_hrs = [0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0]
power_hr_arm = 0.59
power_hr_group = 1.5
power_median_reference_months = 16.1
power_alpha = 0.05

# %% tags=["remove-cell"]
from sonimage_utils.chapters import treatment_interaction as chapter
from sonimage_utils.pipeline.report import (record_section, save_figure, save_table, show, show_markdown,
                                            synthetic_notice)

base = chapter.load(data_dir, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                    fdg_threshold=fdg_threshold)

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## The interaction model
#
# **Secondary (registered), exploratory in inference.** The question is whether the hazard ratio of
# ET+CDK4/6i vs ET is the same in both heterogeneity groups. The model `PFS1 ~ group * arm` lets it differ; the
# likelihood-ratio test compares it with `PFS1 ~ group + arm` (chapter 01's model), which forces one treatment
# effect for everyone (Table 02.1).

# %% tags=["remove-input"]
model = chapter.interaction_model(base)
record_section(model)
save_table(model.tables["cox"], "02_cox_interaction", build_dir)
show_markdown(model.text["caption"])
show(model.tables["cox"].style.hide(axis="index").set_uuid("inter"))
if model.text["warning"]:
    show_markdown(model.text["warning"])

# %% [markdown]
# The likelihood-ratio test of the interaction gave p = {glue:text}`obj2_interaction_p_text`
# (chi-square {glue:text}`obj2_interaction_chisq_text`, 1 df); the treatment hazard ratio in ER-heterogeneous
# patients was {glue:text}`obj2_hr_interaction_text` times that in ER-homogeneous patients
# (95% CI {glue:text}`obj2_hr_interaction_ci_low_text` to {glue:text}`obj2_hr_interaction_ci_high_text`). The
# interval, not the p-value, shows which interactions remain compatible with the data: every ratio inside it.
#
# ## Treatment effect within each group
#
# The hazard ratios of ET+CDK4/6i vs ET within each group come from the interaction model (linear combinations
# of its coefficients, Wald 95% CIs), beside the overall effect adjusted for the group (Table 02.2,
# Figure 02.1, which prints the interaction test above the rows).

# %% tags=["remove-input"]
within = chapter.within_groups(base, model)
record_section(within)
save_table(within.tables["by_group"], "02_arm_hr_by_group", build_dir)
show_markdown(within.text["caption"])
show(within.tables["by_group"].style.hide(axis="index").set_uuid("sub"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 02.1. Hazard ratio of ET+CDK4/6i vs ET with 95% CI, overall (adjusted for heterogeneity group; diamond) and within each heterogeneity group (from the interaction model), log scale; patients and PFS1 events per row, objective-2 set. The line above the rows gives the ratio of the two within-group HRs and its likelihood-ratio test (Table 02.1). Secondary analysis; the within-group HRs are exploratory.", "name": "fig-02-forest"}}
save_figure(within.figures["forest"], "02_forest", build_dir)

# %% [markdown]
# Within ER-homogeneous patients the HR of ET+CDK4/6i vs ET was {glue:text}`obj2_hr_arm_homogeneous_text`
# ({glue:text}`obj2_hr_arm_homogeneous_ci_low_text` to {glue:text}`obj2_hr_arm_homogeneous_ci_high_text`);
# within ER-heterogeneous patients {glue:text}`obj2_hr_arm_heterogeneous_text`
# ({glue:text}`obj2_hr_arm_heterogeneous_ci_low_text` to {glue:text}`obj2_hr_arm_heterogeneous_ci_high_text`).
# The Kaplan-Meier curves by arm within each group show the same comparison without the model (Figure 02.2).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 02.2. Kaplan-Meier estimates of PFS1 by first-line arm within each heterogeneity group, with censoring marks and number at risk, objective-2 set (patients and events per group in Table 02.2); the HR in each panel is from the interaction model. Descriptive.", "name": "fig-02-km-by-arm"}}
save_figure(within.figures["km"], "02_km_by_arm_within_group", build_dir)

# %% [markdown]
# ## The interaction on the absolute scale
#
# **Secondary, exploratory.** A hazard ratio is a relative effect; what a patient gains is absolute. As the
# PATH statement asks, Table 02.3 gives PFS1 at the horizon (`benefit_horizon_months`, the horizon of the
# predicted benefit in chapter 04) in each group and arm from the Kaplan-Meier curves, the difference
# ET+CDK4/6i minus ET within each group, and the difference of those differences (heterogeneous minus
# homogeneous). The four group-by-arm cells are independent samples, so each difference has the sum of the
# Greenwood variances of its cells and a Wald 95% CI on the difference scale (normal approximation). A
# difference is reported as not estimable when a cell it uses has fewer patients at risk at the horizon than
# the plan's rule (`km_min_at_risk`).

# %% tags=["remove-input"]
absolute = chapter.absolute_scale(base, horizon=benefit_horizon_months, min_at_risk=km_min_at_risk)
record_section(absolute)
save_table(absolute.tables["absolute"], "02_pfs_horizon_by_arm_and_group", build_dir)
show_markdown(absolute.text["caption"])
show(absolute.tables["absolute"].style.hide(axis="index").set_uuid("absolute"))
show_markdown(absolute.text["reading"])

# %% [markdown]
# ## Other forms of heterogeneity
#
# **Exploratory.** The same question with the three-level groups (homogeneous FES-positive, mixed,
# homogeneous FES-negative; likelihood-ratio test with 2 df) and with the heterogeneity score as a continuous
# variable (arm x score, 1 df). The score enters per 10 points, the scale of chapter 01's sensitivity model:
# the score has a fixed meaning from 0 to 100, whereas a per-SD effect would change with the cohort's spread,
# and the score's distribution (many patients at 100) makes its SD a poor unit. The model assumes that the log
# of the treatment HR changes linearly with the score.

# %% tags=["remove-input"]
other = chapter.other_interactions(base, model)
record_section(other)
if other.text["warning"]:
    show_markdown(other.text["warning"])
for key, name in (("levels", "02_arm_hr_by_group3_and_score"), ("tests", "02_interaction_tests")):
    save_table(other.tables[key], name, build_dir)
    show_markdown(other.text[f"caption_{key}"])
    show(other.tables[key].style.hide(axis="index").set_uuid(key))

# %% [markdown]
# With three levels the interaction test gave p = {glue:text}`obj2_group3_interaction_p_text`
# (chi-square {glue:text}`obj2_group3_interaction_chisq_text`, {glue:text}`obj2_group3_interaction_df_text` df).
# The homogeneous FES-negative group has {glue:text}`obj2_n_homogeneous_negative_text` patients
# ({glue:text}`obj2_n_events_homogeneous_negative_text` events); its HR of ET+CDK4/6i vs ET is
# {glue:text}`obj2_group3_hr_arm_homogeneous_negative_text`
# (95% CI {glue:text}`obj2_group3_hr_arm_homogeneous_negative_ci_low_text` to
# {glue:text}`obj2_group3_hr_arm_homogeneous_negative_ci_high_text`). Per 10 points higher heterogeneity score
# the treatment HR was multiplied by {glue:text}`obj2_hs10_interaction_hr_text`
# (95% CI {glue:text}`obj2_hs10_interaction_hr_ci_low_text` to {glue:text}`obj2_hs10_interaction_hr_ci_high_text`;
# likelihood-ratio p = {glue:text}`obj2_hs10_interaction_p_text`). These tests ask one question three ways and
# are not adjusted for multiplicity (Table 02.5).
#
# ## How much can a cohort of this size tell about an interaction?
#
# A test of interaction has far less power than the test of a main effect: it compares two treatment effects,
# each estimated in a subgroup. The simulation below asks how often this study would detect an interaction of a
# given size. Each simulated trial has this cohort's number of patients, split into the two groups and the two
# arms as observed, with exponential PFS1 times, ET+CDK4/6i HR `power_hr_arm` in ER-homogeneous patients
# (SONIA), group HR `power_hr_group` on ET and a median PFS1 of `power_median_reference_months` months for
# ER-homogeneous patients on ET (SONIA's ET arm). It is analysed exactly as above (likelihood-ratio test, level
# `power_alpha`), `power_n_sim` times per interaction size (seed `seed`). The ratio 1 row is the type I error,
# which should sit at the nominal level.

# %% tags=["remove-input"]
power = chapter.interaction_power(base, interaction_hrs=power_interaction_hrs, n_sim=power_n_sim,
                                  alpha=power_alpha, seed=seed, hr_arm=power_hr_arm, hr_group=power_hr_group,
                                  median_reference_months=power_median_reference_months)
if power.text["warning"]:
    show_markdown(power.text["warning"])
record_section(power)
show_markdown(power.text["censoring"])
save_table(power.tables["power"], "02_interaction_power", build_dir)
show_markdown(power.text["caption"])
show(power.tables["power"].style.hide(axis="index").set_uuid("power"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 02.3. Simulated power of the likelihood-ratio test of the heterogeneity x arm interaction against its true size (ratio of the ET+CDK4/6i hazard ratios, heterogeneous / homogeneous; log scale), with 95% Monte Carlo intervals; the design of Table 02.6 (the objective-2 set's size and split). The dotted line is the significance level, the dashed line 80% power. The note under the axes gives the simulation's censoring model: exponential, independent of group and arm, calibrated to the cohort's share of patients with an event.", "name": "fig-02-power"}}
if "power" in power.figures:
    save_figure(power.figures["power"], "02_interaction_power", build_dir)

# %% [markdown]
# Without an interaction the test rejected in {glue:text}`obj2_power_type1_error_text` of simulated trials. If
# the CDK4/6 inhibitor halved its hazard ratio in ER-heterogeneous disease (ratio 0.5), this study would detect
# it in {glue:text}`obj2_power_ratio_0_5_text` of trials; a doubling (ratio 2) in
# {glue:text}`obj2_power_ratio_2_0_text`; a ratio of 0.33 in {glue:text}`obj2_power_ratio_0_33_text`. The
# largest interaction below 1 with 80% power among those simulated: {glue:text}`obj2_ratio_for_80_power_text`.

# %% tags=["remove-input"]
show_markdown(chapter.conclusion(model, absolute, power).text["conclusion"])

# %% [markdown]
# A significant interaction at this power would likely exaggerate its size (only large chance deviations cross
# the threshold); a non-significant one is not evidence that the benefit is the same in both groups. Objective 4
# takes the question of individual benefit further.
