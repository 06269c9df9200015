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
from sonimage_utils.chapters import lesion_response as lr
from sonimage_utils.pipeline.report import (glue_text, record_section, save_figure, save_table, show, show_markdown,
                                            synthetic_notice)

d = lr.prepare_lesion_data(data_dir, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                           fdg_threshold=fdg_threshold, recist_sd_min_days=recist_sd_min_days,
                           recist_confirm=recist_confirm, lesion_response_threshold_pct=lesion_response_threshold_pct)

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

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Waterfall plot of the best change in diameter of every RECIST target lesion with a CT before the patient's first progression, coloured by lesion FES status. Dashed line: -30% (lesion response); dotted line: +20%.", "name": "fig-03-waterfall"}}
save_figure(wf.figures["waterfall"], "03_waterfall", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The same waterfall plot, one panel per organ group (bone lesions are never RECIST targets).", "name": "fig-03-waterfall-organ"}}
save_figure(wf.figures["waterfall_by_organ"], "03_waterfall_by_organ", build_dir)

# %% tags=["remove-input"]
save_table(wf.tables["by_status"], "03_lesion_response_by_fes_status", build_dir)
show_markdown(wf.text["caption"])
show(wf.tables["by_status_display"])

# %% [markdown]
# ## Lesion change against baseline uptake
#
# The question is continuous before it is dichotomous: does lesion shrinkage follow the lesion's FES (and
# FDG) uptake? Lesions of one patient share a colour and are joined by a line, because lesions of the same
# patient are not independent.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Best change of each target lesion against its baseline FES SUVmax (left; FES-assessable lesions, dotted line at the positivity threshold) and FDG SUVmax (right); colour and lines: patient. Dashed line: -30%.", "name": "fig-03-scatter"}}
save_figure(lr.section_uptake(d).figures["scatter"], "03_uptake_scatter", build_dir)

# %% [markdown]
# ## Mixed model of lesion change
#
# A linear mixed model relates each lesion's best % change to its FES SUVmax, its FDG SUVmax and its organ
# group, with a random intercept per patient (REML), so that patients with many lesions do not count as many
# independent observations. Lesions that are not FES-assessable (liver) or lack an FDG-PET value leave this
# model; the FES-only model below keeps the latter.

# %% tags=["remove-input"]
mm = lr.section_mixed_model(d)
record_section(mm)
glue_text("obj3_lmm_fes_p_prose", mm.text["obj3_lmm_fes_p_prose"])
save_table(mm.tables["lmm"], "03_lmm", build_dir)
show_markdown(mm.text["caption"])
show(mm.tables["lmm_display"])

# %% [markdown]
# Each unit higher FES SUVmax went with a change in best lesion size of {glue:text}`obj3_lmm_fes_coef_text`
# percentage points (95% CI {glue:text}`obj3_lmm_fes_coef_ci_low_text` to
# {glue:text}`obj3_lmm_fes_coef_ci_high_text`; p {glue:text}`obj3_lmm_fes_p_prose`), adjusted for FDG
# SUVmax and organ, in {glue:text}`obj3_lmm_n_lesions_text` lesions of {glue:text}`obj3_lmm_n_patients_text`
# patients. A negative coefficient means more ER uptake, more shrinkage.

# %% tags=["remove-input"]
save_table(mm.tables["sensitivity"], "03_lmm_sensitivity", build_dir)
show_markdown(mm.text["caption_sensitivity"])
show(mm.tables["sensitivity"].style.hide(axis="index"))

# %% [markdown]
# ## Binary lesion response: GEE
#
# A lesion responds when its best change is at most -30%. A logistic GEE with exchangeable working correlation
# within patient and robust (sandwich) standard errors gives the population-averaged odds ratio per unit
# SUVmax.

# %% tags=["remove-input"]
sec = lr.section_gee(d)
record_section(sec)
glue_text("obj3_gee_fes_p_prose", sec.text["obj3_gee_fes_p_prose"])
save_table(sec.tables["gee"], "03_gee", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["gee_display"])

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
pr = lr.section_patient_response(d)
record_section(pr)
glue_text("obj3_orr_fisher_p_prose", pr.text["obj3_orr_fisher_p_prose"])
save_table(pr.tables["orr"], "03_orr_by_heterogeneity", build_dir)
show_markdown(pr.text["caption"])
show(pr.tables["orr_display"])

# %% [markdown]
# The ORR was {glue:text}`obj3_orr_homogeneous_text` in the homogeneous and
# {glue:text}`obj3_orr_heterogeneous_text` in the heterogeneous group (Fisher's exact test
# p {glue:text}`obj3_orr_fisher_p_prose`).

# %% tags=["remove-input"]
save_table(pr.tables["bor"], "03_bor_by_heterogeneity", build_dir)
show_markdown(pr.text["caption_bor"])
show(pr.tables["bor"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Best overall response (RECIST 1.1, no confirmation) by primary heterogeneity group, all patients with RECIST assessments; non-CR/non-PD is the stable category of patients without measurable disease.", "name": "fig-03-bor"}}
save_figure(pr.figures["bor"], "03_bor_by_heterogeneity", build_dir)

# %% [markdown]
# ## Patients without measurable disease
#
# These patients cannot have a PR or a lesion-level response; their best response comes from non-target and
# new lesions only. They are described here rather than left out.

# %% tags=["remove-input"]
sec = lr.section_no_measurable(d)
save_table(sec.tables["bor"], "03_bor_no_measurable_disease", build_dir)
show_markdown(sec.text["caption"])
show(sec.tables["bor"])

# %% [markdown]
# ## Trajectories and time on therapy
#
# The registered trajectory outcome: the sum of target-lesion diameters from the baseline CT to the CT at
# progression, as % change from baseline (spider plot); and each patient's time on first-line therapy with the
# times of first response and of RECIST progression (swimmer plot).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Spider plot: sum of target-lesion diameters (% change from baseline) from the baseline CT to the CT at first progression (cross), patients with measurable disease, coloured by heterogeneity group. CTs with a target lesion not assessed are left out. Dashed line: -30% (PR); dotted line: +20%.", "name": "fig-03-spider"}}
traj = lr.section_trajectories(d)
save_table(traj.tables["trajectories"], "03_sod_trajectories", build_dir)
save_figure(traj.figures["spider"], "03_spider", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Swimmer plot: time on first-line therapy (PFS1) per patient, coloured by heterogeneity group, with the first CR/PR (triangle) and the first RECIST progression (cross); arrow: no PFS1 event at last follow-up. A bar ending without a cross ended for a PFS1 event other than RECIST progression.", "name": "fig-03-swimmer"}}
save_figure(traj.figures["swimmer"], "03_swimmer", build_dir)

# %% [markdown]
# ## RECIST settings
#
# Response was assessed by the book's own RECIST 1.1 implementation (`sonimage_utils.recist.assess`), tested
# case by case against the rules of the guideline (Eisenhauer et al. 2009). Settings of this run:

# %% tags=["remove-input"]
show(lr.section_recist_settings(d).tables["settings"])
