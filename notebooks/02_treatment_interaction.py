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
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.data.load import load_cohort
from sonimage_utils.tables.format import fmt_num
from sonimage_utils.survival.power import compute_interaction_power
from sonimage_utils.pipeline.report import record, save_figure, save_table, synthetic_notice
from sonimage_utils.survival.km import fit_km
from sonimage_utils.survival.cox import compute_lr_test, extract_hr, fit_cox
from sonimage_utils.plots.survival import plot_forest, plot_interaction_power, plot_km_panels
from sonimage_utils.survival.hazard_ratios import compute_subgroup_hrs
from sonimage_utils.tables.survival import P_VALUE_FORMAT, format_cox_table, format_hr_rows, format_power_table

GROUPS = ["homogeneous", "heterogeneous"]
LABELS = {"homogeneous": "ER-homogeneous", "heterogeneous": "ER-heterogeneous"}
REFERENCE = {"het_group": "homogeneous", "arm": "ET"}
VARIABLES = {"het_group": "Heterogeneity group", "arm": "First-line arm", "het_group:arm": "Interaction"}
son = load_cohort(data_dir, "sonimage")
analysis = build_analysis_set(son, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                              fdg_threshold=fdg_threshold)
pfs = analysis[analysis["het_group"].notna()].copy()

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## The interaction model
#
# The question is whether the hazard ratio of ET+CDK4/6i vs ET is the same in both heterogeneity groups. The
# model `PFS1 ~ group * arm` lets it differ; the likelihood-ratio test compares it with `PFS1 ~ group + arm`
# (chapter 01's model), which forces one treatment effect for everyone.

# %% tags=["remove-input"]
main = fit_cox(pfs, "het_group + arm", reference=REFERENCE)
inter = fit_cox(pfs, "het_group * arm", reference=REFERENCE)
lr = compute_lr_test(main, inter)
record("obj2_interaction_chisq", lr["statistic"], "LR chi-square of the heterogeneity x arm interaction", missing="not estimable")
record("obj2_interaction_p", lr["p"], "LR test p of the heterogeneity x arm interaction", fmt=P_VALUE_FORMAT, missing="not estimable")
int_row = extract_hr(inter, "het_group[heterogeneous]:arm[ET+CDK4/6i]")
record("obj2_hr_interaction", int_row["hr"], "Ratio of arm HRs, heterogeneous / homogeneous (interaction term)", missing="not estimable")
record("obj2_hr_interaction_ci_low", int_row["hr_ci_low"], "Lower 95% CI of the interaction ratio", missing="not estimable")
record("obj2_hr_interaction_ci_high", int_row["hr_ci_high"], "Upper 95% CI of the interaction ratio", missing="not estimable")
inter_table = format_cox_table(inter, variable_labels=VARIABLES,
                               labels={"het_group[heterogeneous]:arm[ET+CDK4/6i]":
                                       "ratio of the ET+CDK4/6i HR, heterogeneous / homogeneous"})
save_table(inter_table, "02_cox_interaction", build_dir)
display(Markdown(f"**Table 02.1.** Cox model of PFS1 with a heterogeneity x arm interaction ({inter.n} patients, "
                 f"{inter.n_events} events). The group row is the HR heterogeneous vs homogeneous on ET alone; the "
                 "arm row is the treatment HR in ER-homogeneous patients."))
display(inter_table.style.hide(axis="index").set_uuid("inter"))
if lr["message"]:
    display(Markdown(f":::{{warning}}\n{lr['message']}\n:::"))

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
sub = compute_subgroup_hrs(inter, pfs, "het_group")
for _, r in sub.iterrows():
    record(f"obj2_hr_arm_{r['label']}", r["hr"], f"HR ET+CDK4/6i vs ET within the {r['label']} group", missing="not estimable")
    record(f"obj2_hr_arm_{r['label']}_ci_low", r["hr_ci_low"], f"Lower 95% CI, arm HR within {r['label']}", missing="not estimable")
    record(f"obj2_hr_arm_{r['label']}_ci_high", r["hr_ci_high"], f"Upper 95% CI, arm HR within {r['label']}", missing="not estimable")
overall = extract_hr(main, "arm[ET+CDK4/6i]", "All patients (adjusted for group)")
forest_rows = pd.concat([pd.DataFrame([{**overall, "bold": True}]),
                         sub.assign(label=sub["label"].map(LABELS), bold=False)], ignore_index=True)
forest_table = format_hr_rows(forest_rows.assign(comparison=forest_rows["label"]))
save_table(forest_table, "02_arm_hr_by_group", build_dir)
display(Markdown("**Table 02.2.** Hazard ratio of ET+CDK4/6i vs ET overall and within each heterogeneity group."))
display(forest_table.style.hide(axis="index").set_uuid("sub"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Hazard ratio of ET+CDK4/6i vs ET with 95% CI, overall (adjusted for heterogeneity group; diamond) and within each heterogeneity group (from the interaction model), log scale; patients and PFS1 events per row.", "name": "fig-02-forest"}}
fig = plot_forest(forest_rows, xlabel="Hazard ratio, ET+CDK4/6i vs ET (95% CI)",
                  favours=("favours ET+CDK4/6i", "favours ET"))
save_figure(fig, "02_forest", build_dir)

# %% [markdown]
# Within ER-homogeneous patients the HR of ET+CDK4/6i vs ET was {glue:text}`obj2_hr_arm_homogeneous_text`
# ({glue:text}`obj2_hr_arm_homogeneous_ci_low_text` to {glue:text}`obj2_hr_arm_homogeneous_ci_high_text`);
# within ER-heterogeneous patients {glue:text}`obj2_hr_arm_heterogeneous_text`
# ({glue:text}`obj2_hr_arm_heterogeneous_ci_low_text` to {glue:text}`obj2_hr_arm_heterogeneous_ci_high_text`).
# The Kaplan-Meier curves by arm within each group show the same comparison without the model.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Kaplan-Meier estimates of PFS1 by first-line arm within each heterogeneity group, with censoring marks and number at risk; the HR in each panel is from the interaction model.", "name": "fig-02-km-by-arm"}}
panels, notes = {}, {}
for g in GROUPS:
    part = pfs[pfs["het_group"] == g]
    if part.empty:
        continue
    panels[LABELS[g]] = fit_km(part, group="arm")
    r = sub.set_index("label").loc[g]
    notes[LABELS[g]] = ("HR not estimable" if not np.isfinite(r["hr"]) else
                        f"HR {fmt_num(r['hr'])} ({fmt_num(r['hr_ci_low'])}-{fmt_num(r['hr_ci_high'])})")
fig = plot_km_panels(panels, annotations=notes, legend_title="First-line arm")
save_figure(fig, "02_km_by_arm_within_group", build_dir)

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
n_het = int((pfs["het_group"] == "heterogeneous").sum())
n_treated = int((pfs["arm"] == "ET+CDK4/6i").sum())
design = dict(n_patients=len(pfs), n_heterogeneous=n_het, n_treated=n_treated,
              event_fraction=float(pfs["pfs1_event"].mean()), hr_group=power_hr_group, hr_arm=power_hr_arm,
              median_reference_months=power_median_reference_months)
try:
    power = compute_interaction_power(power_interaction_hrs, n_sim=power_n_sim, alpha=power_alpha, seed=seed,
                                      **design)
except ValueError as err:  # e.g. one group or one arm empty, or no events: nothing to simulate
    display(Markdown(f":::{{warning}}\nThe power simulation cannot be run on this cohort: {err}.\n:::"))
    power = pd.DataFrame(columns=["hr_interaction", "hr_arm_homogeneous", "hr_arm_heterogeneous", "power",
                                  "power_mc_se", "mean_events", "median_hr_interaction_estimate",
                                  "share_converged", "n_sim"])
by_ratio = power.set_index("hr_interaction")["power"]
record("obj2_power_type1_error", by_ratio.get(1.0, np.nan), "Simulated type I error of the interaction test",
       fmt="{:.1%}", missing="not simulated")
for ratio, key in ((0.5, "0_5"), (2.0, "2_0"), (0.33, "0_33")):
    record(f"obj2_power_ratio_{key}", by_ratio.get(ratio, np.nan),
           f"Simulated power, interaction ratio {ratio:g}", fmt="{:.0%}", missing="not simulated")
detectable = power[(power["power"] >= 0.8) & (power["hr_interaction"] < 1)]["hr_interaction"]
record("obj2_ratio_for_80_power", detectable.max() if len(detectable) else np.nan,
       "Largest simulated interaction ratio below 1 with at least 80% power", fmt="{:.2f}",
       missing="none of the simulated sizes")
power_table = format_power_table(power)
save_table(power_table, "02_interaction_power", build_dir)
display(Markdown(
    f"**Table 02.3.** Simulated power of the interaction test: {power_n_sim} trials per row, each with "
    f"{len(pfs)} patients ({n_het} ER-heterogeneous, {n_treated} on ET+CDK4/6i), an expected "
    f"{design['event_fraction']:.0%} with a PFS1 event, ET+CDK4/6i HR {power_hr_arm:g} in ER-homogeneous "
    f"patients, group HR {power_hr_group:g} on ET, median PFS1 {power_median_reference_months:g} months for "
    f"ER-homogeneous patients on ET; level {power_alpha:g}. MC SE: Monte Carlo standard error."))
display(power_table.style.hide(axis="index").set_uuid("power"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Simulated power of the likelihood-ratio test of the heterogeneity x arm interaction against its true size (ratio of the ET+CDK4/6i hazard ratios, heterogeneous / homogeneous; log scale), with 95% Monte Carlo intervals. The dotted line is the significance level, the dashed line 80% power.", "name": "fig-02-power"}}
if len(power):
    fig = plot_interaction_power(power, alpha=power_alpha)
    save_figure(fig, "02_interaction_power", build_dir)

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
