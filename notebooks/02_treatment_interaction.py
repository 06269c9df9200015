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
# and ER-heterogeneous disease? This chapter answers objective 2: a Cox model with a heterogeneity x treatment
# interaction, the treatment effect within each group, and - because a cohort of this size is small for an interaction -
# a simulation of how large an interaction this study could detect.

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
seed = 20240901
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
fdg_threshold = None
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
# The question is whether the hazard ratio of ET+CDK4/6i vs ET is the same in both heterogeneity groups. The
# model `PFS1 ~ group * arm` lets it differ; the likelihood-ratio test compares it with `PFS1 ~ group + arm`
# (chapter 01's model), which forces one treatment effect for everyone.

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
# (95% CI {glue:text}`obj2_hr_interaction_ci_low_text` to {glue:text}`obj2_hr_interaction_ci_high_text`).
#
# ## Treatment effect within each group
#
# The hazard ratios of ET+CDK4/6i vs ET within each group come from the interaction model (linear combinations
# of its coefficients, Wald 95% CIs), beside the overall effect adjusted for the group.

# %% tags=["remove-input"]
within = chapter.within_groups(base, model)
record_section(within)
save_table(within.tables["by_group"], "02_arm_hr_by_group", build_dir)
show_markdown(within.text["caption"])
show(within.tables["by_group"].style.hide(axis="index").set_uuid("sub"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Hazard ratio of ET+CDK4/6i vs ET with 95% CI, overall (adjusted for heterogeneity group; diamond) and within each heterogeneity group (from the interaction model), log scale; patients and PFS1 events per row.", "name": "fig-02-forest"}}
save_figure(within.figures["forest"], "02_forest", build_dir)

# %% [markdown]
# Within ER-homogeneous patients the HR of ET+CDK4/6i vs ET was {glue:text}`obj2_hr_arm_homogeneous_text`
# ({glue:text}`obj2_hr_arm_homogeneous_ci_low_text` to {glue:text}`obj2_hr_arm_homogeneous_ci_high_text`);
# within ER-heterogeneous patients {glue:text}`obj2_hr_arm_heterogeneous_text`
# ({glue:text}`obj2_hr_arm_heterogeneous_ci_low_text` to {glue:text}`obj2_hr_arm_heterogeneous_ci_high_text`).
# The Kaplan-Meier curves by arm within each group show the same comparison without the model.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Kaplan-Meier estimates of PFS1 by first-line arm within each heterogeneity group, with censoring marks and number at risk; the HR in each panel is from the interaction model.", "name": "fig-02-km-by-arm"}}
save_figure(within.figures["km"], "02_km_by_arm_within_group", build_dir)

# %% [markdown]
# ## How much can a cohort of this size tell about an interaction?
#
# A test of interaction has far less power than the test of a main effect: it compares two treatment effects,
# each estimated in a subgroup. The simulation below asks how often this study would detect an interaction of a
# given size. Each simulated trial has this cohort's number of patients, split into the two groups and the two
# arms as observed, with exponential PFS1 times, the expected share of events as observed, ET+CDK4/6i HR
# `power_hr_arm` in ER-homogeneous patients (SONIA), group HR `power_hr_group` on ET and a median PFS1 of
# `power_median_reference_months` months for ER-homogeneous patients on ET (SONIA's ET arm). It is analysed
# exactly as above (likelihood-ratio test, level `power_alpha`), `power_n_sim` times per interaction size
# (seed `seed`). The ratio 1 row is the type I error, which should sit at the nominal level.

# %% tags=["remove-input"]
power = chapter.interaction_power(base, interaction_hrs=power_interaction_hrs, n_sim=power_n_sim,
                                  alpha=power_alpha, seed=seed, hr_arm=power_hr_arm, hr_group=power_hr_group,
                                  median_reference_months=power_median_reference_months)
if power.text["warning"]:
    show_markdown(power.text["warning"])
record_section(power)
save_table(power.tables["power"], "02_interaction_power", build_dir)
show_markdown(power.text["caption"])
show(power.tables["power"].style.hide(axis="index").set_uuid("power"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Simulated power of the likelihood-ratio test of the heterogeneity x arm interaction against its true size (ratio of the ET+CDK4/6i hazard ratios, heterogeneous / homogeneous; log scale), with 95% Monte Carlo intervals. The dotted line is the significance level, the dashed line 80% power.", "name": "fig-02-power"}}
if "power" in power.figures:
    save_figure(power.figures["power"], "02_interaction_power", build_dir)

# %% [markdown]
# Without an interaction the test rejected in {glue:text}`obj2_power_type1_error_text` of simulated trials, as
# it should. If the CDK4/6 inhibitor halved its hazard ratio in ER-heterogeneous disease (ratio 0.5), this
# study would detect it in {glue:text}`obj2_power_ratio_0_5_text` of trials; a doubling (ratio 2) in
# {glue:text}`obj2_power_ratio_2_0_text`; even a ratio of 0.33 in {glue:text}`obj2_power_ratio_0_33_text`.
# The largest interaction below 1 with 80% power among those simulated: {glue:text}`obj2_ratio_for_80_power_text`.
#
# **What the study can and cannot conclude.** A significant interaction would be evidence that the benefit of
# CDK4/6 inhibition depends on FES heterogeneity, but the estimate would likely exaggerate its size (only large
# chance deviations cross the threshold at this power). A non-significant interaction is *not* evidence that the
# benefit is the same in both groups: interactions of clinically important size are missed most of the time.
# The within-group hazard ratios and their confidence intervals, not the p-value, show which effects remain
# compatible with the data; objective 4 takes the question of individual benefit further.
