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
# (chapter-03)=
# # 03 Lesion-level response and RECIST 1.1
#
# Does a lesion that shows little estrogen-receptor uptake shrink less? This chapter answers objective 3 and
# its three registered secondary outcomes: the per-patient RECIST 1.1 response, each lesion's change in size
# at its largest measurable response, and each patient's trajectory of target-lesion size from the baseline CT
# to the CT at progression. RECIST 1.1 is applied as set out in the analysis plan (no confirmation of response,
# as in a randomised trial with PFS as endpoint; stable disease needs a CT at least `recist_sd_min_days` after
# baseline).

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
fdg_threshold = None
recist_sd_min_days = 42
recist_confirm = False
lesion_response_threshold_pct = -30.0

# %% tags=["remove-cell"]
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from sonimage_utils.plots import lesions as lesion_plots
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.data.load import load_cohort
from sonimage_utils.tables.format import fmt_num, fmt_p
from sonimage_utils.lesions import (build_lesion_response_set, compare_orr_fisher, compute_orr,
                                            fit_lesion_gee, fit_lesion_lmm)
from sonimage_utils.recist.engine import assess
from sonimage_utils.recist.summary import derive_sod_trajectories, derive_swimmer_data, tabulate_bor
from sonimage_utils.pipeline.report import record, save_figure, save_table, synthetic_notice

HET = dict(fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg_threshold)
son = load_cohort(data_dir, "sonimage")
analysis = build_analysis_set(son, **HET)
res = assess(son.recist, son.lesions, sd_min_days=recist_sd_min_days, confirm=recist_confirm)
groups = analysis.set_index("patient_id")["het_group"]
best = res.best.merge(analysis[["patient_id", "arm", "het_group", "het_group3"]], on="patient_id", how="left")
les = build_lesion_response_set(res, son.lesions, analysis[["patient_id", "arm", "het_group"]],
                                fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                                response_threshold=lesion_response_threshold_pct)
ORGAN_DUMMIES = [c for c in les.columns if c.startswith("organ_") and c != "organ_group"]


def glue_p(name, p):
    """Glue a p-value for prose as '= 0.213' or '< 0.001' (the number itself is recorded separately)."""
    text = fmt_p(p)
    glue(name, text if text.startswith("<") else f"= {text}", display=False)


def model_table(fit, odds=False):
    """Fixed effects of a lesion model as a display table."""
    s = fit.summary
    est, lo, hi = (("odds_ratio", "or_ci_low", "or_ci_high") if odds else ("estimate", "ci_low", "ci_high"))
    return pd.DataFrame({
        "term": s["term"].str.replace("_assessable", "").str.replace("organ_", "organ: "),
        ("odds ratio" if odds else "coefficient (% points)"): s[est].map(lambda v: fmt_num(v, 2)),
        "95% CI": [f"{fmt_num(a)} to {fmt_num(b)}" for a, b in zip(s[lo], s[hi])],
        "SE": s["std_error"].map(lambda v: fmt_num(v, 3)),
        "p": s["p_value"].map(fmt_p)})


# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## Who can be assessed
#
# RECIST measures response on target lesions, which must be measurable on CT (10 mm, lymph nodes 15 mm short
# axis). Bone lesions are not measurable, so patients with bone-only disease have no target lesion: they are
# assessed on non-target and new lesions only, are counted here and described below, and are not silently
# dropped.

# %% tags=["remove-input"]
n_pat = len(analysis)
n_recist = res.best["patient_id"].nunique()
n_meas = int(res.best["has_target_disease"].sum())
n_no_meas = n_recist - n_meas
n_bone_only = int(analysis.loc[analysis["patient_id"].isin(res.best.loc[~res.best["has_target_disease"],
                                                                        "patient_id"]), "bone_only_disease"]
                  .fillna(False).astype(bool).sum())
n_targets = len(res.lesions)
n_lesion_analysed = int(res.lesions["best_pct_change"].notna().sum())
n_lesion_no_pre_pd = n_targets - n_lesion_analysed
record("obj3_n_patients_recist", n_recist, "Patients with RECIST assessments", fmt="{:.0f}")
record("obj3_n_patients_measurable", n_meas, "Patients with measurable (target) disease", fmt="{:.0f}")
record("obj3_n_patients_no_measurable", n_no_meas, "Patients without measurable disease (non-target only)",
       fmt="{:.0f}")
record("obj3_n_patients_no_measurable_bone_only", n_bone_only,
       "Patients without measurable disease who have bone-only disease", fmt="{:.0f}")
record("obj3_n_target_lesions", n_targets, "RECIST target lesions at baseline", fmt="{:.0f}")
record("obj3_n_lesions", n_lesion_analysed,
       "Target lesions with a best % change (a CT before the patient's first PD)", fmt="{:.0f}")
record("obj3_n_lesions_no_ct_before_pd", n_lesion_no_pre_pd,
       "Target lesions without a CT before the patient's first PD (progression at the first CT)", fmt="{:.0f}")
flow = pd.DataFrame({
    "": ["Patients in the cohort", "with RECIST assessments", "with measurable (target) disease",
         "without measurable disease", "of whom bone-only disease", "Target lesions at baseline",
         "with a CT before the patient's first PD"],
    "n": [n_pat, n_recist, n_meas, n_no_meas, n_bone_only, n_targets, n_lesion_analysed]})
save_table(flow, "03_recist_flow", build_dir)
display(Markdown("**Table 03.1.** Patients and target lesions in the RECIST analyses."))
display(flow.style.hide(axis="index").set_uuid("flow03"))

# %% [markdown]
# Of {glue:text}`obj3_n_patients_recist_text` patients with RECIST assessments,
# {glue:text}`obj3_n_patients_measurable_text` had measurable disease and
# {glue:text}`obj3_n_patients_no_measurable_text` had none
# ({glue:text}`obj3_n_patients_no_measurable_bone_only_text` of them with bone-only disease).
# There were {glue:text}`obj3_n_target_lesions_text` target lesions;
# {glue:text}`obj3_n_lesions_text` had a CT before the patient's first progression and so a best response.
# The other {glue:text}`obj3_n_lesions_no_ct_before_pd_text` belong to patients who progressed at their first
# CT; they are shown in a sensitivity analysis that also counts the CT at progression.

# %% [markdown]
# ## Lesion-level response: waterfall
#
# Each bar is one target lesion: its largest decrease from its own baseline diameter at any CT before the
# patient's first progression (a disappeared lesion is -100%). Colour shows the lesion's FES status at the
# threshold of {glue:text}`obj3_fes_threshold_text`; liver lesions are not FES-assessable.

# %% tags=["remove-cell"]
record("obj3_fes_threshold", fes_threshold, "FES SUVmax threshold for a positive lesion", fmt="{:g}")

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Waterfall plot of the best change in diameter of every RECIST target lesion with a CT before the patient's first progression, coloured by lesion FES status. Dashed line: -30% (lesion response); dotted line: +20%.", "name": "fig-03-waterfall"}}
fig = lesion_plots.plot_waterfall(les)
save_figure(fig, "03_waterfall", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The same waterfall plot, one panel per organ group (bone lesions are never RECIST targets).", "name": "fig-03-waterfall-organ"}}
fig = lesion_plots.plot_waterfall(les, facet="organ_group")
save_figure(fig, "03_waterfall_by_organ", build_dir)

# %% tags=["remove-input"]
by_status = (les[les["best_pct_change"].notna()].groupby("fes_status")
             .agg(lesions=("lesion_id", "size"), patients=("patient_id", "nunique"),
                  median_best_pct_change=("best_pct_change", "median"), responding=("responding", "mean"))
             .reindex(["positive", "negative", "not_assessable"]).dropna(how="all").reset_index())
save_table(by_status, "03_lesion_response_by_fes_status", build_dir)
for row in by_status.itertuples():
    record(f"obj3_lesion_response_rate_fes_{row.fes_status}", row.responding,
           f"Share of FES-{row.fes_status} target lesions with best change <= -30%", fmt="{:.0%}")
display(Markdown("**Table 03.2.** Target lesions by FES status: median best % change and share responding "
                 f"(best change <= {lesion_response_threshold_pct:g}%)."))
display(by_status.rename(columns={"fes_status": "FES status", "median_best_pct_change": "median best change (%)",
                                  "responding": "responding (<= -30%)"})
        .style.hide(axis="index").format({"median best change (%)": "{:.1f}", "responding (<= -30%)": "{:.0%}"})
        .set_uuid("status03"))

# %% [markdown]
# ## Lesion change against baseline uptake
#
# The question is continuous before it is dichotomous: does lesion shrinkage follow the lesion's FES (and
# FDG) uptake? Lesions of one patient share a colour and are joined by a line, because lesions of the same
# patient are not independent.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Best change of each target lesion against its baseline FES SUVmax (left; FES-assessable lesions, dotted line at the positivity threshold) and FDG SUVmax (right); colour and lines: patient. Dashed line: -30%.", "name": "fig-03-scatter"}}
fig = lesion_plots.plot_uptake_scatter(les, fes_threshold=fes_threshold)
save_figure(fig, "03_uptake_scatter", build_dir)

# %% [markdown]
# ## Mixed model of lesion change
#
# A linear mixed model relates each lesion's best % change to its FES SUVmax, its FDG SUVmax and its organ
# group, with a random intercept per patient (REML), so that patients with many lesions do not count as many
# independent observations. Lesions that are not FES-assessable (liver) or lack an FDG-PET value leave this
# model; the FES-only model below keeps the latter.

# %% tags=["remove-input"]
lmm = fit_lesion_lmm(les, "best_pct_change", ["fes_suvmax_assessable", "fdg_suvmax", *ORGAN_DUMMIES])
fes = lmm.coef("fes_suvmax_assessable")
record("obj3_lmm_fes_coef", fes["estimate"],
       "LMM: change in lesion best % change per unit FES SUVmax (adjusted for FDG SUVmax and organ)")
record("obj3_lmm_fes_coef_ci_low", fes["ci_low"], "LMM FES coefficient, lower 95% limit")
record("obj3_lmm_fes_coef_ci_high", fes["ci_high"], "LMM FES coefficient, upper 95% limit")
record("obj3_lmm_fes_p", fes["p_value"], "LMM FES coefficient, Wald p-value", fmt="{:.3f}")
glue_p("obj3_lmm_fes_p_prose", fes["p_value"])
record("obj3_lmm_fdg_coef", lmm.coef("fdg_suvmax")["estimate"], "LMM: change per unit FDG SUVmax")
record("obj3_lmm_n_lesions", lmm.n_obs, "Lesions in the mixed model", fmt="{:.0f}")
record("obj3_lmm_n_patients", lmm.n_groups, "Patients in the mixed model", fmt="{:.0f}")
record("obj3_lmm_icc", lmm.extra["icc"], "Share of variance between patients (ICC) in the mixed model")
tab = model_table(lmm)
save_table(lmm.summary, "03_lmm", build_dir)
display(Markdown(f"**Table 03.3.** Linear mixed model of lesion best % change ({lmm.n_obs} lesions, "
                 f"{lmm.n_groups} patients; reference organ group: lymph node). Between-patient variance "
                 f"{lmm.extra['var_patient']:.1f}, residual variance {lmm.extra['var_residual']:.1f}."
                 + (f" Warnings: {'; '.join(lmm.extra['warnings'])}." if lmm.extra["warnings"] else "")))
display(tab.style.hide(axis="index").set_uuid("lmm03"))

# %% [markdown]
# Each unit higher FES SUVmax went with a change in best lesion size of {glue:text}`obj3_lmm_fes_coef_text`
# percentage points (95% CI {glue:text}`obj3_lmm_fes_coef_ci_low_text` to
# {glue:text}`obj3_lmm_fes_coef_ci_high_text`; p {glue:text}`obj3_lmm_fes_p_prose`), adjusted for FDG
# SUVmax and organ, in {glue:text}`obj3_lmm_n_lesions_text` lesions of {glue:text}`obj3_lmm_n_patients_text`
# patients. A negative coefficient means more ER uptake, more shrinkage.

# %% tags=["remove-input"]
lmm_fes_only = fit_lesion_lmm(les, "best_pct_change", ["fes_suvmax_assessable", *ORGAN_DUMMIES])
les_s = les.assign(best_pct_change=les["best_pct_change_through_pd"])
lmm_through = fit_lesion_lmm(les_s, "best_pct_change", ["fes_suvmax_assessable", "fdg_suvmax", *ORGAN_DUMMIES])
sens = pd.DataFrame([
    {"model": name, "lesions": f.n_obs, "patients": f.n_groups,
     "FES coefficient": fmt_num(f.coef("fes_suvmax_assessable")["estimate"]),
     "95% CI": f"{fmt_num(f.coef('fes_suvmax_assessable')['ci_low'])} to "
               f"{fmt_num(f.coef('fes_suvmax_assessable')['ci_high'])}",
     "p": fmt_p(f.coef("fes_suvmax_assessable")["p_value"])}
    for name, f in [("primary: FES + FDG + organ", lmm), ("FES + organ (no FDG needed)", lmm_fes_only),
                    ("best change including the CT at progression", lmm_through)]])
record("obj3_lmm_fes_only_coef", lmm_fes_only.coef("fes_suvmax_assessable")["estimate"],
       "LMM without FDG: change per unit FES SUVmax")
save_table(sens, "03_lmm_sensitivity", build_dir)
display(Markdown("**Table 03.4.** The FES coefficient in sensitivity models."))
display(sens.style.hide(axis="index").set_uuid("sens03"))

# %% [markdown]
# ## Binary lesion response: GEE
#
# A lesion responds when its best change is at most -30%. A logistic GEE with exchangeable working correlation
# within patient and robust (sandwich) standard errors gives the population-averaged odds ratio per unit
# SUVmax.

# %% tags=["remove-input"]
gee = fit_lesion_gee(les, "responding", ["fes_suvmax_assessable", "fdg_suvmax", *ORGAN_DUMMIES])
g_fes = gee.coef("fes_suvmax_assessable")
record("obj3_gee_fes_or", g_fes["odds_ratio"], "GEE: odds ratio of lesion response per unit FES SUVmax")
record("obj3_gee_fes_or_ci_low", g_fes["or_ci_low"], "GEE FES odds ratio, lower 95% limit")
record("obj3_gee_fes_or_ci_high", g_fes["or_ci_high"], "GEE FES odds ratio, upper 95% limit")
record("obj3_gee_fes_p", g_fes["p_value"], "GEE FES odds ratio, robust Wald p-value", fmt="{:.3f}")
glue_p("obj3_gee_fes_p_prose", g_fes["p_value"])
save_table(gee.summary, "03_gee", build_dir)
display(Markdown(f"**Table 03.5.** Logistic GEE of lesion response ({gee.n_obs} lesions, {gee.n_groups} patients, "
                 f"{gee.extra['n_responding']} responding; working correlation {gee.extra['alpha']:.2f})."))
display(model_table(gee, odds=True).style.hide(axis="index").set_uuid("gee03"))

# %% [markdown]
# The odds of a lesion responding changed by a factor {glue:text}`obj3_gee_fes_or_text` per unit FES SUVmax
# (95% CI {glue:text}`obj3_gee_fes_or_ci_low_text` to {glue:text}`obj3_gee_fes_or_ci_high_text`;
# p {glue:text}`obj3_gee_fes_p_prose`).

# %% [markdown]
# ## Patient-level RECIST response by heterogeneity group
#
# The registered per-patient outcome: best overall response (BOR) by RECIST 1.1 and the objective response rate
# (ORR, CR or PR) with its exact (Clopper-Pearson) 95% CI, among patients with measurable disease, by primary
# heterogeneity group; Fisher's exact test compares the groups.

# %% tags=["remove-input"]
meas = best[best["has_target_disease"]]
orr = compute_orr(meas, "het_group")
fisher = compare_orr_fisher(orr)
for row in orr.itertuples():
    record(f"obj3_orr_{row.group}", row.orr, f"ORR (CR or PR) among measurable patients, {row.group}", fmt="{:.0%}")
    record(f"obj3_orr_{row.group}_ci_low", row.ci_low, f"ORR {row.group}, exact lower 95% limit", fmt="{:.0%}")
    record(f"obj3_orr_{row.group}_ci_high", row.ci_high, f"ORR {row.group}, exact upper 95% limit", fmt="{:.0%}")
    record(f"obj3_orr_{row.group}_n", row.n, f"Measurable patients, {row.group}", fmt="{:.0f}")
record("obj3_orr_fisher_p", fisher["p_value"], "Fisher's exact test of ORR, heterogeneous vs homogeneous",
       fmt="{:.3f}")
glue_p("obj3_orr_fisher_p_prose", fisher["p_value"])
record("obj3_orr_odds_ratio", fisher["odds_ratio"], "Conditional MLE odds ratio of response, heterogeneous vs "
       "homogeneous")
orr_all = compute_orr(meas, None).iloc[0]
record("obj3_orr_all", orr_all["orr"], "ORR among all patients with measurable disease", fmt="{:.0%}")
orr_show = orr.assign(ORR=[f"{o:.0%} ({lo:.0%}-{hi:.0%})" for o, lo, hi in zip(orr["orr"], orr["ci_low"],
                                                                             orr["ci_high"])])
save_table(orr, "03_orr_by_heterogeneity", build_dir)
n_meas_no_group = int(meas["het_group"].isna().sum())
display(Markdown("**Table 03.6.** Objective response rate (exact 95% CI) among patients with measurable disease, "
                 f"by heterogeneity group. Fisher's exact test p = {fmt_p(fisher['p_value'])}."
                 + (f" {n_meas_no_group} measurable patient(s) without an FES-assessable lesion have no group."
                    if n_meas_no_group else "")))
display(orr_show[["group", "n", "n_responders", "ORR"]].style.hide(axis="index").set_uuid("orr03"))

# %% [markdown]
# The ORR was {glue:text}`obj3_orr_homogeneous_text` in the homogeneous and
# {glue:text}`obj3_orr_heterogeneous_text` in the heterogeneous group (Fisher's exact test
# p {glue:text}`obj3_orr_fisher_p_prose`).

# %% tags=["remove-input"]
bor_counts = tabulate_bor(best, "het_group")
bor_counts.columns = [lesion_plots._label(c) for c in bor_counts.columns]
bor_counts.index.name = "heterogeneity group"
save_table(bor_counts, "03_bor_by_heterogeneity", build_dir)
display(Markdown("**Table 03.7.** Best overall response by heterogeneity group, all patients with RECIST "
                 "assessments (non-CR/non-PD: patients without measurable disease)."))
display(bor_counts)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Best overall response (RECIST 1.1, no confirmation) by primary heterogeneity group, all patients with RECIST assessments; non-CR/non-PD is the stable category of patients without measurable disease.", "name": "fig-03-bor"}}
fig = lesion_plots.plot_bor_stacked(tabulate_bor(best, "het_group", normalize=True), tabulate_bor(best, "het_group"))
save_figure(fig, "03_bor_by_heterogeneity", build_dir)

# %% [markdown]
# ## Patients without measurable disease
#
# These patients cannot have a PR or a lesion-level response; their best response comes from non-target and
# new lesions only. They are described here rather than left out.

# %% tags=["remove-input"]
no_meas = best[~best["has_target_disease"]]
group_cols = pd.Categorical(no_meas["het_group"].astype(object).where(no_meas["het_group"].notna(), "not assessable"),
                            categories=["homogeneous", "heterogeneous", "not assessable"])
desc = pd.crosstab(no_meas["best_overall_response"].rename("best overall response"),
                   pd.Series(group_cols, index=no_meas.index, name="heterogeneity group"),
                   margins=True, margins_name="all", dropna=False)
desc.index = [lesion_plots._label(i) for i in desc.index]
save_table(desc, "03_bor_no_measurable_disease", build_dir)
display(Markdown(f"**Table 03.8.** Best overall response of the {len(no_meas)} patients without measurable "
                 "disease, by heterogeneity group."))
display(desc)

# %% [markdown]
# ## Trajectories and time on therapy
#
# The registered trajectory outcome: the sum of target-lesion diameters from the baseline CT to the CT at
# progression, as % change from baseline (spider plot); and each patient's time on first-line therapy with the
# times of first response and of RECIST progression (swimmer plot).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Spider plot: sum of target-lesion diameters (% change from baseline) from the baseline CT to the CT at first progression (cross), patients with measurable disease, coloured by heterogeneity group. CTs with a target lesion not assessed are left out. Dashed line: -30% (PR); dotted line: +20%.", "name": "fig-03-spider"}}
traj = derive_sod_trajectories(res)
save_table(traj, "03_sod_trajectories", build_dir)
fig = lesion_plots.plot_spider(traj, groups)
save_figure(fig, "03_spider", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Swimmer plot: time on first-line therapy (PFS1) per patient, coloured by heterogeneity group, with the first CR/PR (triangle) and the first RECIST progression (cross); arrow: no PFS1 event at last follow-up. A bar ending without a cross ended for a PFS1 event other than RECIST progression.", "name": "fig-03-swimmer"}}
swim = derive_swimmer_data(res, analysis[["patient_id", "randomization_date", "pfs1_date", "pfs1_event", "arm",
                                          "het_group"]])
fig = lesion_plots.plot_swimmer(swim)
save_figure(fig, "03_swimmer", build_dir)

# %% [markdown]
# ## RECIST settings
#
# Response was assessed by the book's own RECIST 1.1 implementation (`sonimage_utils.recist.assess`), tested
# case by case against the rules of the guideline (Eisenhauer et al. 2009). Settings of this run:

# %% tags=["remove-input"]
display(pd.DataFrame({"setting": ["confirmation of CR/PR", "minimum interval for SD (days)",
                                  "lesion response threshold (%)", "FES threshold (SUVmax)"],
                      "value": ["yes" if recist_confirm else "no (randomised trial)", str(recist_sd_min_days),
                                f"{lesion_response_threshold_pct:g}", f"{fes_threshold:g}"]})
        .style.hide(axis="index").set_uuid("settings03"))
