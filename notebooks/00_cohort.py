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
# (chapter-00)=
# # 00 The cohort and its data
#
# Who the analyses are about: how many patients and lesions the data hold, who leaves which analysis and
# why, the baseline characteristics by treatment arm and by heterogeneity group, what the PET scans show
# lesion by lesion, how well the scans kept to the protocol, and how the external cohorts differ.

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
fdg_threshold = None
uptake_window_fes_min = [50, 70]
uptake_window_fdg_min = [55, 75]
injected_activity_window_fes_mbq = [150, 250]
injected_activity_window_fdg_mbq = [150, 300]
baseline_scan_window_days = 28
sonia_n_randomised = 1050

# %% tags=["remove-cell"]
from sonimage_utils.chapters import cohort as chapter
from sonimage_utils.pipeline.report import (record_section, save_figure, save_table, show, show_markdown,
                                            synthetic_notice)

base = chapter.load(data_dir, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                    fdg_threshold=fdg_threshold)
WINDOWS = dict(uptake_window_fes_min=uptake_window_fes_min, uptake_window_fdg_min=uptake_window_fdg_min)

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## Patient flow and analysis sets
#
# Every enrolled patient is counted. A patient without an FES-assessable lesion (for example with
# liver-only disease) has no heterogeneity score and leaves the heterogeneity analyses; she stays in
# every count and table here. Figure 00.1 follows the patients from SONIA's randomisation to each analysis set
# and Table 00.1 gives the same numbers.

# %% tags=["remove-input"]
flow = chapter.patient_flow(base, n_randomised=sonia_n_randomised, window_days=baseline_scan_window_days)
save_table(flow.tables["flow"], "00_patient_flow", build_dir)
record_section(flow)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 00.1. Patient flow from SONIA's randomisation to the analysis sets of chapters 00 to 02: each solid box is a set with its n, each dashed box the patients who leave at that step and why. The randomised total is the parameter sonia_n_randomised.", "name": "fig-00-flow"}}
save_figure(flow.figures["flow"], "00_patient_flow", build_dir)

# %% tags=["remove-input"]
show_markdown(flow.text["caption"])
show(flow.tables["flow_display"].style.hide(axis="index").set_uuid("flow"))

# %% [markdown]
# The development cohort has {glue:text}`cohort_n_patients_text` patients (of the
# {glue:text}`cohort_n_sonia_randomised_text` randomised in SONIA) with {glue:text}`cohort_n_lesions_text`
# baseline lesions; {glue:text}`cohort_n_excluded_no_assessable_lesion_text` had no FES-assessable lesion, so
# {glue:text}`cohort_n_heterogeneity_analysis_text` enter the primary heterogeneity analysis (Figure 00.1,
# Table 00.1).
#
# ## PFS1 events and follow-up
#
# PFS1 is a composite (the estimand on the SAP page): its first event is progression, progression during a
# treatment break, symptomatic deterioration, a new therapy or death. Table 00.2 shows which event ended PFS1 in
# each arm, and who was censored.

# %% tags=["remove-input"]
events = chapter.event_types(base)
record_section(events)
save_table(events.tables["events"], "00_pfs1_event_types", build_dir)
show_markdown(events.text["caption"])
show(events.tables["events_display"].style.hide(axis="index").set_uuid("events"))

# %% [markdown]
# Progression ended PFS1 in {glue:text}`cohort_n_events_progression_text`, death in
# {glue:text}`cohort_n_events_death_text` and a new therapy in {glue:text}`cohort_n_events_new_therapy_text` of
# the enrolled patients; censored without an event: {glue:text}`cohort_n_censored_text` (Table 00.2). Median follow-up (reverse
# Kaplan-Meier) was {glue:text}`cohort_median_followup_months_text` months overall,
# {glue:text}`cohort_median_followup_months_et_text` with ET and {glue:text}`cohort_median_followup_months_et_cdk46i_text`
# with ET+CDK4/6i.

# %% [markdown]
# ## Baseline characteristics
#
# Randomisation should balance the arms (Table 00.3); the heterogeneity groups are not randomised, so
# differences between them, including in arm and centre (Table 00.4), are what the adjusted analyses of the
# later chapters have to reckon with.

# %% tags=["remove-input"]
table1 = chapter.baseline(base)
save_table(table1.tables["by_arm"], "00_table1_by_arm", build_dir)
show_markdown(table1.text["by_arm"])
show(table1.tables["by_arm"])

# %% tags=["remove-input"]
save_table(table1.tables["by_het"], "00_table1_by_heterogeneity", build_dir)
show_markdown(table1.text["by_het"])
show(table1.tables["by_het"])

# %% [markdown]
# ## Lesions and their FES/FDG uptake
#
# The heterogeneity score rests on lesion-level FES uptake, so the lesions themselves come first: where they
# are, how many can be assessed for FES, and how uptake spreads around the threshold.

# %% tags=["remove-input"]
les = chapter.lesions(base)
save_table(les.tables["by_organ"], "00_lesions_by_organ", build_dir)
show_markdown(les.text["caption"])
show(les.tables["by_organ_display"].style.hide(axis="index").set_uuid("organ"))
show_markdown(les.text["suv"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 00.2. Lesion FES SUVmax (left, coloured by FES status) and FDG SUVmax (right) by organ, log scale; all baseline lesions of the enrolled set (n above the figure). Dashed line: the FES positivity threshold; dotted line: the patient-level FDG cut-off. Liver lesions are not FES-assessable.", "name": "fig-00-suv"}}
save_figure(les.figures["suv"], "00_suv_by_organ", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 00.3. Heterogeneity score per patient, the share of FES-positive lesions among FES-assessable lesions; heterogeneity set (patients with a score, n above Figure 00.2). HS = 0 and HS = 100 (ER-homogeneous) are bars of their own, the scores between them in 10-point bins.", "name": "fig-00-hs"}}
save_figure(les.figures["hs"], "00_heterogeneity_score", build_dir)

# %% [markdown]
# ## PET scan quality
#
# Uptake times and injected activities outside the protocol windows (parameters `uptake_window_*` and
# `injected_activity_window_*_mbq` on the SAP page, each tracer its own) affect SUV; they are flagged here
# (Table 00.6, Figure 00.4) rather than corrected.

# %% tags=["remove-input"]
scans = chapter.scan_quality(base, injected_activity_window_fes_mbq=injected_activity_window_fes_mbq,
                             injected_activity_window_fdg_mbq=injected_activity_window_fdg_mbq, **WINDOWS)
if "note" in scans.text:
    show_markdown(scans.text["note"])
else:
    save_table(scans.tables["quality"], "00_scan_quality", build_dir)
    show_markdown(scans.text["caption"])
    show(scans.tables["quality_display"].style.hide(axis="index").set_uuid("quality"))
    show_markdown(scans.text["figure"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 00.4. Uptake time and injected activity of each baseline PET scan of the enrolled set, per tracer (n in the panel titles); shaded: that tracer's protocol windows.", "name": "fig-00-scans"}}
if "scans" in scans.figures:
    save_figure(scans.figures["scans"], "00_scan_quality", build_dir)

# %% [markdown]
# ### Baseline scan timing
#
# A baseline PET should show the disease the first-line therapy meets: a scan made after randomisation, or more
# than `baseline_scan_window_days` days before it, is flagged here (Table 00.7), and chapter 01 refits the
# primary model without the patients concerned (exploratory sensitivity analysis).

# %% tags=["remove-input"]
timing = chapter.scan_timing(base, window_days=baseline_scan_window_days)
record_section(timing)
if "note" in timing.text:
    show_markdown(timing.text["note"])
else:
    save_table(timing.tables["timing"], "00_baseline_scan_timing", build_dir)
    show_markdown(timing.text["summary"])
    show_markdown(timing.text["caption"])
    show(timing.tables["flagged_display"].style.hide(axis="index").set_uuid("timing"))

# %% [markdown]
# ### From the PET headers
#
# Where the lesion SUVs were computed from the DICOM images with `sonimage extract`, its report shows, per
# series, the scanner vendor, the pixel units, the decay correction and where the scan time came from: the
# facts that decide whether an SUV is comparable across centres (Table 00.8 and Figure 00.5, where there is a
# report).

# %% tags=["remove-input"]
headers = chapter.pet_headers(base, **WINDOWS)
if "note" in headers.text:
    show_markdown(headers.text["note"])
else:
    save_table(headers.tables["summary"], "00_extraction_summary", build_dir)
    show_markdown(headers.text["caption"])
    show(headers.tables["summary_display"].style.hide(axis="index").set_uuid("extraction"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Figure 00.5. Uptake time of each PET series extracted from DICOM, per tracer, against the protocol window (shaded); the series of Table 00.8.", "name": "fig-00-uptake-dicom"}}
if "uptake" in headers.figures:
    save_figure(headers.figures["uptake"], "00_uptake_from_dicom", build_dir)

# %% [markdown]
# ## External cohorts: case mix
#
# Objective 5 validates the model in cohorts that were selected and treated differently; their case mix
# beside the development cohort shows how far the model has to travel. A cohort folder that is absent is
# named here and skipped (Table 00.9).

# %% tags=["remove-input"]
mix = chapter.case_mix(base)
save_table(mix.tables["case_mix"], "00_case_mix", build_dir)
show_markdown(mix.text["caption"])
show(mix.tables["case_mix"])
