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
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.data.load import load_cohort
from sonimage_utils.tables.format import fmt_num, fmt_p
from sonimage_utils.pipeline.report import record, save_figure, save_table, synthetic_notice
from sonimage_utils.survival.km import compute_logrank, fit_km
from sonimage_utils.survival.cox import extract_hr, fit_cox
from sonimage_utils.survival.ph import compute_ph_test
from sonimage_utils.plots.survival import plot_km, plot_schoenfeld
from sonimage_utils.survival.hazard_ratios import compute_hr_rows
from sonimage_utils.tables.survival import (P_VALUE_FORMAT, format_cox_table, format_hr_rows, format_km_table,
                                            format_ph_table)

HET = dict(fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg_threshold)
GROUPS = ["homogeneous", "heterogeneous"]
LABELS = {"homogeneous": "ER-homogeneous", "heterogeneous": "ER-heterogeneous"}
REFERENCE = {"het_group": "homogeneous", "arm": "ET",
             "het_group3": ["homogeneous_positive", "mixed", "homogeneous_negative"],
             "fes_fdg_pattern": ["fdg_low", "fdg_high_fes_homogeneous", "fdg_high_fes_heterogeneous"]}
VARIABLES = {"het_group": "Heterogeneity group", "arm": "First-line arm", "visceral_disease": "Visceral disease",
             "de_novo_metastatic": "De novo metastatic", "prior_adjuvant_endocrine": "Prior adjuvant ET",
             "who_ps_1plus": "WHO performance status >= 1"}
BINARY_LABELS = {"visceral_disease": "yes vs no", "de_novo_metastatic": "yes vs no",
                 "prior_adjuvant_endocrine": "yes vs no", "who_ps_1plus": "1 or 2 vs 0"}
son = load_cohort(data_dir, "sonimage")


def analysis_set(threshold, fdg=fdg_threshold):
    """Patients with a heterogeneity group at this FES threshold, with the derived covariates."""
    a = build_analysis_set(son, fes_threshold=threshold, fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg)
    a["hs10"] = a["hs"] / 10
    a["who_ps_1plus"] = (a["who_performance_status"] >= 1).astype("boolean")
    return a


analysis = analysis_set(fes_threshold)
pfs = analysis[analysis["het_group"].notna()].copy()

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## Who is analysed
#
# The primary analysis needs a heterogeneity group, so it includes every patient with at least one
# FES-assessable lesion (FES threshold `fes_threshold` on the SAP page); patients without one are counted in
# chapter 00 and left out here.

# %% tags=["remove-input"]
counts = pfs.groupby("het_group", observed=True)["pfs1_event"].agg(["size", "sum"])
record("obj1_n_patients", len(pfs), "Patients in the objective-1 analysis (with a heterogeneity group)", fmt="{:.0f}")
record("obj1_n_events", int(pfs["pfs1_event"].sum()), "PFS1 events in the objective-1 analysis", fmt="{:.0f}")
for g in GROUPS:
    record(f"obj1_n_{g}", int(counts.loc[g, "size"]) if g in counts.index else 0, f"Patients in the {g} group",
           fmt="{:.0f}")
    record(f"obj1_n_events_{g}", int(counts.loc[g, "sum"]) if g in counts.index else 0,
           f"PFS1 events in the {g} group", fmt="{:.0f}")
record("obj1_n_excluded", len(analysis) - len(pfs), "Patients without a heterogeneity group (left out)", fmt="{:.0f}")

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
# confidence band crosses 50% (Brookmeyer-Crowley), so "NR" means the band had not fallen to 50%.

# %% tags=["remove-input"]
km = fit_km(pfs, group="het_group", landmarks=landmark_months)
logrank = compute_logrank(pfs, "het_group")
med = km.summary.set_index("group")
for g in GROUPS:
    m = med.loc[g] if g in med.index else pd.Series({"median": np.nan, "median_ci_low": np.nan,
                                                     "median_ci_high": np.nan})
    record(f"obj1_median_pfs_{g}", m["median"], f"Median PFS1 (months), {g} group; null when not reached",
           fmt="{:.1f} months")
    record(f"obj1_median_pfs_{g}_ci_low", m["median_ci_low"], f"Lower 95% limit of the median, {g}", fmt="{:.1f}",
           missing="not reached")
    record(f"obj1_median_pfs_{g}_ci_high", m["median_ci_high"], f"Upper 95% limit of the median, {g}",
           fmt="{:.1f}", missing="not reached")
    for _, lm in km.landmarks[km.landmarks["group"] == g].iterrows():
        record(f"obj1_pfs{lm['time']:g}_{g}", lm["surv"], f"PFS1 at {lm['time']:g} months, {g} (proportion)",
               fmt="{:.0%}", missing="not estimable")
record("obj1_logrank_chisq", logrank.statistic, "Log-rank chi-square, heterogeneity groups", fmt="{:.2f}",
       missing="not computed")
record("obj1_logrank_p", logrank.p, "Log-rank p-value, heterogeneity groups", fmt=P_VALUE_FORMAT,
       missing="not computed")
km_table = format_km_table(km, LABELS)
save_table(km_table, "01_km_summary", build_dir)
display(Markdown("**Table 01.1.** PFS1 by heterogeneity group: median and PFS1 at the landmark times, "
                 "Kaplan-Meier estimates with 95% confidence intervals (NR: limit not reached)."))
display(km_table.style.hide(axis="index").set_uuid("km"))
if logrank.message:
    display(Markdown(f"*{logrank.message}*"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Kaplan-Meier estimates of PFS1 by primary heterogeneity group, with pointwise 95% confidence bands (log) and censoring marks; number at risk below the axis.", "name": "fig-01-km"}}
fig = plot_km(km, labels=LABELS, annotation=f"Log-rank p = {fmt_p(logrank.p)}", legend_title="Heterogeneity group")
save_figure(fig, "01_km_heterogeneity", build_dir)

# %% [markdown]
# Median PFS1 was {glue:text}`obj1_median_pfs_homogeneous_text`
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
primary = fit_cox(pfs, "het_group + arm", reference=REFERENCE)
for key, name in (("heterogeneous", "het_group[heterogeneous]"), ("arm", "arm[ET+CDK4/6i]")):
    what = "heterogeneous vs homogeneous" if key == "heterogeneous" else "ET+CDK4/6i vs ET"
    row = extract_hr(primary, name)
    record(f"obj1_hr_{key}", row["hr"], f"HR {what}, Cox PFS1 ~ group + arm (Efron)", missing="not estimable")
    record(f"obj1_hr_{key}_ci_low", row["hr_ci_low"], f"Lower 95% CI, HR {what}", missing="not estimable")
    record(f"obj1_hr_{key}_ci_high", row["hr_ci_high"], f"Upper 95% CI, HR {what}", missing="not estimable")
    record(f"obj1_hr_{key}_p", row["p"], f"Wald p, HR {what}", fmt=P_VALUE_FORMAT, missing="not estimable")
cox_table = format_cox_table(primary, variable_labels=VARIABLES)
save_table(cox_table, "01_cox_primary", build_dir)
display(Markdown(f"**Table 01.2.** Cox model of PFS1 on heterogeneity group and arm ({primary.n} patients, "
                 f"{primary.n_events} events); hazard ratios with Wald 95% CIs."))
display(cox_table.style.hide(axis="index").set_uuid("cox"))
if not primary.ok:
    display(Markdown(f":::{{warning}}\nThe primary model could not be estimated: {primary.message}\n:::"))

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
ph = compute_ph_test(primary, transform=ph_transform)
if ph.message:
    display(Markdown(f"*{ph.message}*"))
else:
    ph_p = ph.summary.set_index("term")["p"]
    record("obj1_ph_global_p", ph_p["GLOBAL"], "Global proportional-hazards score test p (cox.zph)",
           fmt=P_VALUE_FORMAT, missing="not computed")
    record("obj1_ph_het_group_p", ph_p["het_group"], "Proportional-hazards score test p, heterogeneity group",
           fmt=P_VALUE_FORMAT, missing="not computed")
    ph_table = format_ph_table(ph, {"het_group": "Heterogeneity group", "arm": "First-line arm"})
    save_table(ph_table, "01_ph_test", build_dir)
    display(Markdown(f"**Table 01.3.** Score test of proportional hazards (transform `{ph_transform}`)."))
    display(ph_table.style.hide(axis="index").set_uuid("ph"))
    failing = ph.summary[(ph.summary["term"] != "GLOBAL") & (ph.summary["p"] < ph_alpha)]
    if failing.empty:
        display(Markdown(f"No term departs from proportional hazards at the {ph_alpha:g} level, so each hazard "
                         "ratio above is read as the effect over the whole follow-up."))
    else:
        display(Markdown(
            f"Proportional hazards is in doubt for {', '.join(failing['term'])} (p < {ph_alpha:g}). The hazard "
            "ratio of such a term is then an average over follow-up weighted by the events, not a constant "
            "effect; the Kaplan-Meier curves and the landmark survival in Table 01.1 describe the comparison "
            "over time, and the residual plot shows when the effect changes."))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Scaled Schoenfeld residuals of the primary model against time, with a lowess smoother; the dashed line is the fitted coefficient. A flat smoother is what proportional hazards predicts; the title gives the score test.", "name": "fig-01-schoenfeld"}}
if not ph.message:
    fig = plot_schoenfeld(ph, labels={"het_group": "Heterogeneous vs homogeneous (log HR)",
                                      "arm": "ET+CDK4/6i vs ET (log HR)"})
    save_figure(fig, "01_schoenfeld", build_dir)

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
fixed = analysis_set(fes_threshold, fdg=fdg_threshold_fixed)
specs = [
    {"analysis": "Primary (2 groups)", "data": pfs, "formula": "het_group + arm",
     "report": {"het_group[heterogeneous]": "heterogeneous vs homogeneous"}},
    {"analysis": "3 groups", "data": pfs, "formula": "het_group3 + arm",
     "report": {"het_group3[mixed]": "mixed vs all positive",
                "het_group3[homogeneous_negative]": "all negative vs all positive"}},
    {"analysis": "FES/FDG pattern (FDG at median)", "data": pfs.dropna(subset=["fes_fdg_pattern"]),
     "formula": "fes_fdg_pattern + arm",
     "report": {"fes_fdg_pattern[fdg_high_fes_homogeneous]": "FDG high, FES homogeneous vs FDG low",
                "fes_fdg_pattern[fdg_high_fes_heterogeneous]": "FDG high, FES heterogeneous vs FDG low"}},
    {"analysis": f"FES/FDG pattern (FDG >= {fdg_threshold_fixed:g})",
     "data": fixed.dropna(subset=["fes_fdg_pattern", "het_group"]), "formula": "fes_fdg_pattern + arm",
     "report": {"fes_fdg_pattern[fdg_high_fes_homogeneous]": "FDG high, FES homogeneous vs FDG low",
                "fes_fdg_pattern[fdg_high_fes_heterogeneous]": "FDG high, FES heterogeneous vs FDG low"}},
    {"analysis": "Heterogeneity score", "data": pfs, "formula": "hs10 + arm",
     "report": {"hs10": "per 10 points higher"}},
    {"analysis": "Mean FES SUVmax", "data": pfs, "formula": "mean_fes_suvmax + arm",
     "report": {"mean_fes_suvmax": "per 1 unit higher"}},
]
for t in fes_thresholds_sensitivity:
    alt = analysis_set(t)
    specs.append({"analysis": f"FES threshold {t:g}", "data": alt[alt["het_group"].notna()],
                  "formula": "het_group + arm", "report": {"het_group[heterogeneous]": "heterogeneous vs homogeneous"}})
specs.append({"analysis": "Adjusted for clinical factors", "data": pfs,
              "formula": "het_group + arm + visceral_disease + de_novo_metastatic + prior_adjuvant_endocrine"
                         " + who_ps_1plus",
              "report": {"het_group[heterogeneous]": "heterogeneous vs homogeneous"}})
sens, sens_fits = compute_hr_rows(specs, reference=REFERENCE)
for t in fes_thresholds_sensitivity:
    row = sens[sens["analysis"] == f"FES threshold {t:g}"].iloc[0]
    key = f"obj1_hr_heterogeneous_threshold_{str(t).replace('.', '_')}"
    record(key, row["hr"], f"HR heterogeneous vs homogeneous at FES threshold {t:g}", missing="not estimable")
for key, analysis_name in (("obj1_hr_hs10", "Heterogeneity score"), ("obj1_hr_mean_fes", "Mean FES SUVmax"),
                           ("obj1_hr_heterogeneous_adjusted", "Adjusted for clinical factors")):
    row = sens[sens["analysis"] == analysis_name].iloc[0]
    record(key, row["hr"], f"HR, sensitivity analysis: {analysis_name}", missing="not estimable")
    record(f"{key}_ci_low", row["hr_ci_low"], f"Lower 95% CI, {analysis_name}", missing="not estimable")
    record(f"{key}_ci_high", row["hr_ci_high"], f"Upper 95% CI, {analysis_name}", missing="not estimable")
sens_table = format_hr_rows(sens)
save_table(sens_table, "01_sensitivity", build_dir)
display(Markdown("**Table 01.4.** Sensitivity analyses of the primary hazard ratio; every model adjusted for "
                 "the arm (Cox, Efron ties, Wald 95% CIs). A model that cannot be estimated says why in *Note*."))
display(sens_table.style.hide(axis="index").set_uuid("sens"))

# %% [markdown]
# Per 10 points higher heterogeneity score the HR was {glue:text}`obj1_hr_hs10_text`
# ({glue:text}`obj1_hr_hs10_ci_low_text` to {glue:text}`obj1_hr_hs10_ci_high_text`); adjusted for the clinical
# factors, heterogeneous vs homogeneous {glue:text}`obj1_hr_heterogeneous_adjusted_text`
# ({glue:text}`obj1_hr_heterogeneous_adjusted_ci_low_text` to
# {glue:text}`obj1_hr_heterogeneous_adjusted_ci_high_text`). The full clinical model follows.

# %% tags=["remove-input"]
clinical = sens_fits["Adjusted for clinical factors"]
clin_table = format_cox_table(clinical, variable_labels=VARIABLES, labels=BINARY_LABELS)
save_table(clin_table, "01_cox_clinical", build_dir)
display(Markdown(f"**Table 01.5.** Cox model of PFS1 adjusted for clinical factors ({clinical.n} patients, "
                 f"{clinical.n_events} events)." + (f" {clinical.message}" if clinical.message else "")))
display(clin_table.style.hide(axis="index").set_uuid("clin"))
