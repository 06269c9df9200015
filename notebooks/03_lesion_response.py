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
#
# Objective 3 is secondary: every analysis in this chapter is exploratory, and its p-values are not adjusted for
# multiplicity. The chapter reports many of them, so a single nominally significant p-value here is not evidence
# of an effect on its own, and a non-significant one is not evidence of no effect.

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
lesion_fes_form_aic_margin = 2.0

# %% tags=["remove-cell"]
from sonimage_utils.chapters import lesion_response as lr
from sonimage_utils.pipeline.report import (glue_text, record_deviation, record_section, save_figure, save_table, show,
                                            show_markdown, synthetic_notice)

d = lr.prepare_lesion_data(data_dir, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                           fdg_threshold=fdg_threshold, recist_sd_min_days=recist_sd_min_days,
                           recist_confirm=recist_confirm, lesion_response_threshold_pct=lesion_response_threshold_pct,
                           lesion_fes_form_aic_margin=lesion_fes_form_aic_margin)

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## Who can be assessed
#
# RECIST measures response on target lesions, which must be measurable on CT (10 mm, lymph nodes 15 mm short
# axis). In bone, RECIST 1.1 counts a lytic or mixed lytic-blastic lesion as measurable when it has an
# identifiable soft-tissue component of 10 mm or more (measured on that component); blastic bone lesions are not
# measurable. Patients whose only disease is non-measurable (most often bone-only disease) have no target
# lesion: they are assessed on non-target and new lesions only, are counted in Table 03.1
# and described below, and are not silently dropped.

# %% tags=["remove-input"]
sec = lr.section_assessable(d)
record_section(sec)
save_table(sec.tables["flow"], "03_recist_flow", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["flow"].style.hide(axis="index"))

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
wf = lr.section_waterfall(d)
record_section(wf)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 03.1. Waterfall plot of the best change in diameter of every RECIST target lesion with a CT before the patient's first progression, coloured by lesion FES status. Dashed line: -30% (lesion response); dotted line: +20%.", "name": "fig-03-waterfall"}}
save_figure(wf.figures["waterfall"], "03_waterfall", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 03.2. The same waterfall plot, one panel per organ group (a bone lesion can be a target only when lytic or mixed with a soft-tissue component of 10 mm or more). Target lesions with a CT before the patient's first PD.", "name": "fig-03-waterfall-organ"}}
save_figure(wf.figures["waterfall_by_organ"], "03_waterfall_by_organ", build_dir)

# %% tags=["remove-input"]
save_table(wf.tables["by_status"], "03_lesion_response_by_fes_status", build_dir)
show_markdown(wf.text["caption"])
show(wf.tables["by_status_display"])

# %% [markdown]
# ## Lesion change against baseline uptake
#
# The question is continuous before it is dichotomous: does lesion shrinkage follow the lesion's FES (and
# FDG) uptake? Lesions of one patient are joined by a thin grey line, because lesions of the same patient are
# not independent; colour shows the patient's heterogeneity group and the marker the arm.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 03.3. Best change of each target lesion with a CT before first PD against its baseline FES SUVmax (left; FES-assessable lesions, dotted line at the positivity threshold) and FDG SUVmax (right); colour: heterogeneity group; marker: arm (circle ET, triangle ET+CDK4/6i); grey lines join lesions of one patient. Dashed line: -30%.", "name": "fig-03-scatter"}}
save_figure(lr.section_uptake(d).figures["scatter"], "03_uptake_scatter", build_dir)

# %% [markdown]
# ## Mixed model of lesion change (secondary, exploratory)
#
# A linear mixed model relates each lesion's best % change to its FES SUVmax, its FDG SUVmax, its organ group and
# the patient's randomised arm, with a random intercept per patient (REML), so that patients with many lesions do
# not count as many independent observations. The FES x arm interaction is a pre-specified secondary term. The
# functional form of FES SUVmax (linear, log2 or spline) is chosen by the rule fixed in the SAP
# (Table 03.3). Lesions that are not FES-assessable (liver) or lack an FDG-PET value leave
# this model; the FES-only model of Table 03.5 keeps the latter.

# %% tags=["remove-input"]
mm = lr.section_mixed_model(d)
record_section(mm)
save_table(mm.tables["lmm"], "03_lmm", build_dir)
save_table(mm.tables["lmm_interaction"], "03_lmm_fes_arm_interaction", build_dir)
if mm.text["deviation"]:
    record_deviation(mm.text["deviation"])
for key in ("obj3_lmm_fes_p_prose", "obj3_lmm_fes_arm_interaction_p_prose", "fes_form", "fes_unit", "fes_form_reason",
            "early_progressors", "interaction_sentence"):
    glue_text(f"obj3_{key}" if not key.startswith("obj3") else key, mm.text[key])

# %% [markdown]
# FES SUVmax entered the models as {glue:text}`obj3_fes_form`: {glue:text}`obj3_fes_form_reason`.

# %% tags=["remove-input"]
show_markdown(mm.text["caption_form"])
show(mm.tables["form"].style.hide(axis="index"))

# %% [markdown]
# The lesion best change was {glue:text}`obj3_lmm_fes_coef_text` percentage points
# {glue:text}`obj3_fes_unit` (95% CI {glue:text}`obj3_lmm_fes_coef_ci_low_text` to
# {glue:text}`obj3_lmm_fes_coef_ci_high_text`; p {glue:text}`obj3_lmm_fes_p_prose`), adjusted for FDG SUVmax, organ
# and arm, in {glue:text}`obj3_lmm_n_lesions_text` lesions of {glue:text}`obj3_lmm_n_patients_text` patients
# (Table 03.4). A negative coefficient means more ER uptake, more shrinkage. {glue:text}`obj3_interaction_sentence`

# %% tags=["remove-input"]
show_markdown(mm.text["caption"])
show(mm.tables["lmm_display"])

# %% [markdown]
# **Early progressors.** {glue:text}`obj3_early_progressors`

# %% tags=["remove-input"]
save_table(mm.tables["sensitivity"], "03_lmm_sensitivity", build_dir)
show_markdown(mm.text["caption_sensitivity"])
show(mm.tables["sensitivity"].style.hide(axis="index"))

# %% [markdown]
# ## Binary lesion response: GEE (exploratory)
#
# A lesion responds when its best change is at most -30%. A logistic GEE with exchangeable working correlation
# within patient and robust (sandwich) standard errors gives the population-averaged odds ratio, with the same
# terms and the same form of FES SUVmax as the mixed model.

# %% tags=["remove-input"]
sec = lr.section_gee(d)
record_section(sec)
glue_text("obj3_gee_fes_p_prose", sec.text["obj3_gee_fes_p_prose"])
save_table(sec.tables["gee"], "03_gee", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["gee_display"])

# %% [markdown]
# The odds of a lesion responding changed by a factor {glue:text}`obj3_gee_fes_or_text`
# {glue:text}`obj3_fes_unit` (95% CI {glue:text}`obj3_gee_fes_or_ci_low_text` to
# {glue:text}`obj3_gee_fes_or_ci_high_text`; p {glue:text}`obj3_gee_fes_p_prose`; Table 03.6).

# %% [markdown]
# ## Patient-level RECIST response (secondary, exploratory)
#
# The registered per-patient outcome: best overall response (BOR) by RECIST 1.1 and the objective response rate
# (ORR, CR or PR) with its exact (Clopper-Pearson) 95% CI, among patients with measurable disease, by primary
# heterogeneity group (Fisher's exact test) and by arm. Because the arm changes response, the group comparison is
# also adjusted for arm, by logistic regression: with two binary factors it estimates the same common odds ratio
# as a Mantel-Haenszel analysis stratified by arm, and it gives a Wald CI checked against R's `glm`.

# %% tags=["remove-input"]
pr = lr.section_patient_response(d)
record_section(pr)
for key in ("obj3_orr_fisher_p_prose", "obj3_orr_or_heterogeneous_adj_arm_p_prose", "orr_sentence"):
    glue_text(key if key.startswith("obj3") else f"obj3_{key}", pr.text[key])
for name in ("orr", "orr_arm", "orr_logistic"):
    save_table(pr.tables[name], f"03_{name}" if name != "orr" else "03_orr_by_heterogeneity", build_dir)
show_markdown(pr.text["caption"])
show(pr.tables["orr_display"])

# %% tags=["remove-input"]
show_markdown(pr.text["caption_arm"])
show(pr.tables["orr_arm_display"])
show_markdown(pr.text["caption_logistic"])
show(pr.tables["orr_logistic_display"])

# %% [markdown]
# The ORR was {glue:text}`obj3_orr_homogeneous_text` in the homogeneous and
# {glue:text}`obj3_orr_heterogeneous_text` in the heterogeneous group (Table 03.7; Fisher's exact test
# p {glue:text}`obj3_orr_fisher_p_prose`), and {glue:text}`obj3_orr_et_text` with ET and
# {glue:text}`obj3_orr_et_cdk46i_text` with ET+CDK4/6i (Table 03.8). Adjusted for arm, the odds ratio of response,
# heterogeneous vs homogeneous, was {glue:text}`obj3_orr_or_heterogeneous_adj_arm_text` (95% CI
# {glue:text}`obj3_orr_or_heterogeneous_adj_arm_ci_low_text` to
# {glue:text}`obj3_orr_or_heterogeneous_adj_arm_ci_high_text`; p
# {glue:text}`obj3_orr_or_heterogeneous_adj_arm_p_prose`; Table 03.9). {glue:text}`obj3_orr_sentence`

# %% tags=["remove-input"]
save_table(pr.tables["bor"], "03_bor_by_heterogeneity", build_dir)
show_markdown(pr.text["caption_bor"])
show(pr.tables["bor"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 03.4. Best overall response (RECIST 1.1, no confirmation) by primary heterogeneity group, RECIST set (all patients with RECIST assessments; n per group under the bars); non-CR/non-PD is the stable category of patients without measurable disease.", "name": "fig-03-bor"}}
save_figure(pr.figures["bor"], "03_bor_by_heterogeneity", build_dir)

# %% [markdown]
# ## Patients without measurable disease
#
# These patients cannot have a PR or a lesion-level response; their best response comes from non-target and
# new lesions only. They are described here rather than left out (Table 03.11).

# %% tags=["remove-input"]
sec = lr.section_no_measurable(d)
save_table(sec.tables["bor"], "03_bor_no_measurable_disease", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["bor"])

# %% [markdown]
# ## Trajectories and time on therapy (secondary, exploratory)
#
# The registered trajectory outcome: the sum of target-lesion diameters from the baseline CT to the CT at
# progression, as % change from baseline (Figure 03.5), analysed by a linear mixed model of the % change at each
# post-baseline CT over months from the baseline CT, by heterogeneity group and adjusted for arm (each with its
# own slope), with a random intercept and slope per patient where the data support both (Table 03.12); and each
# patient's time on first-line therapy with the times of first response and of RECIST progression (Figure 03.6).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 03.5. Spider plot: sum of target-lesion diameters (% change from baseline) from the baseline CT to the CT at first progression (cross), measurable set, coloured by heterogeneity group (n per group in the legend). CTs with a target lesion not assessed are left out. Dashed line: -30% (PR); dotted line: +20%.", "name": "fig-03-spider"}}
traj = lr.section_trajectories(d)
save_table(traj.tables["trajectories"], "03_sod_trajectories", build_dir)
save_figure(traj.figures["spider"], "03_spider", build_dir)

# %% tags=["remove-input"]
tm = lr.section_trajectory_model(d)
record_section(tm)
glue_text("obj3_sod_slope_difference_p_prose", tm.text["obj3_sod_slope_difference_p_prose"])
for key in ("random_effects", "slope_direction", "slope_sentence", "dropout_note"):
    glue_text(f"obj3_sod_{key}", tm.text[key])
save_table(tm.tables["sod_lmm"], "03_sod_lmm", build_dir)
if tm.text["deviation"]:
    record_deviation(tm.text["deviation"])
save_table(tm.tables["depth"], "03_depth_of_response", build_dir)
show_markdown(tm.text["caption_model"])
show(tm.tables["sod_lmm_display"])

# %% [markdown]
# In {glue:text}`obj3_sod_n_patients_text` patients ({glue:text}`obj3_sod_n_assessments_text` CTs; model fitted
# with {glue:text}`obj3_sod_random_effects`), the % change in the sum of diameters
# {glue:text}`obj3_sod_slope_direction`: slope difference {glue:text}`obj3_sod_slope_difference_text` percentage
# points per month (95% CI {glue:text}`obj3_sod_slope_difference_ci_low_text` to
# {glue:text}`obj3_sod_slope_difference_ci_high_text`; p {glue:text}`obj3_sod_slope_difference_p_prose`).
# {glue:text}`obj3_sod_slope_sentence` {glue:text}`obj3_sod_dropout_note`

# %% tags=["remove-input"]
show_markdown(tm.text["caption_depth"])
show(tm.tables["depth_display"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 03.6. Swimmer plot: time on first-line therapy (PFS1) per patient of the analysis set, coloured by heterogeneity group, with the first CR/PR (triangle) and the first RECIST progression (cross); arrow: no PFS1 event at last follow-up. A bar ending without a cross ended for a PFS1 event other than RECIST progression.", "name": "fig-03-swimmer"}}
save_figure(traj.figures["swimmer"], "03_swimmer", build_dir)

# %% [markdown]
# ## RECIST settings
#
# Response was assessed by the book's own RECIST 1.1 implementation (`sonimage_utils.recist.assess`), tested
# case by case against the rules of the guideline (Eisenhauer et al. 2009). Settings of this run:

# %% tags=["remove-input"]
show(lr.section_recist_settings(d).tables["settings"])
