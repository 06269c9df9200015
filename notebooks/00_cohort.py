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
injected_activity_window_mbq = [150, 250]

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
# ## Patient flow
#
# Every enrolled patient is counted. A patient without an FES-assessable lesion (for example with
# liver-only disease) has no heterogeneity score and leaves the heterogeneity analyses; she stays in
# every count and table here.

# %% tags=["remove-input"]
flow = chapter.patient_flow(base)
record_section(flow)
save_table(flow.tables["flow"], "00_patient_flow", build_dir)
show_markdown(flow.text["caption"])
show(flow.tables["flow"].style.hide(axis="index").set_uuid("flow"))

# %% [markdown]
# The development cohort has {glue:text}`cohort_n_patients_text` patients with
# {glue:text}`cohort_n_lesions_text` baseline lesions; {glue:text}`cohort_n_excluded_no_assessable_lesion_text`
# had no FES-assessable lesion, so {glue:text}`cohort_n_heterogeneity_analysis_text` enter the primary
# heterogeneity analysis.

# %% [markdown]
# ## Baseline characteristics
#
# Randomisation should balance the arms; the heterogeneity groups are not randomised, so differences between
# them are what the adjusted analyses of the later chapters have to reckon with.

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

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Lesion FES SUVmax (left, coloured by FES status) and FDG SUVmax (right) by organ, log scale. Dashed line: the FES positivity threshold; dotted line: the patient-level FDG cut-off. Liver lesions are not FES-assessable.", "name": "fig-00-suv"}}
save_figure(les.figures["suv"], "00_suv_by_organ", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Heterogeneity score per patient: the share of FES-positive lesions among FES-assessable lesions. Patients at 100 are ER-homogeneous.", "name": "fig-00-hs"}}
save_figure(les.figures["hs"], "00_heterogeneity_score", build_dir)

# %% [markdown]
# ## PET scan quality
#
# Uptake times and injected activities outside the protocol windows (parameters `uptake_window_*` and
# `injected_activity_window_mbq` on the SAP page) affect SUV; they are flagged here rather than corrected.

# %% tags=["remove-input"]
scans = chapter.scan_quality(base, injected_activity_window_mbq=injected_activity_window_mbq, **WINDOWS)
if "note" in scans.text:
    show_markdown(scans.text["note"])
else:
    save_table(scans.tables["quality"], "00_scan_quality", build_dir)
    show_markdown(scans.text["caption"])
    show(scans.tables["quality_display"].style.hide(axis="index").set_uuid("quality"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Uptake time and injected activity of each PET scan; shaded: the protocol windows.", "name": "fig-00-scans"}}
if "scans" in scans.figures:
    save_figure(scans.figures["scans"], "00_scan_quality", build_dir)

# %% [markdown]
# ### From the PET headers
#
# Where the lesion SUVs were computed from the DICOM images with `sonimage extract`, its report shows, per
# series, the scanner vendor, the pixel units, the decay correction and where the scan time came from: the
# facts that decide whether an SUV is comparable across centres.

# %% tags=["remove-input"]
headers = chapter.pet_headers(base, **WINDOWS)
if "note" in headers.text:
    show_markdown(headers.text["note"])
else:
    save_table(headers.tables["summary"], "00_extraction_summary", build_dir)
    show_markdown(headers.text["caption"])
    show(headers.tables["summary"].style.hide(axis="index").set_uuid("extraction"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Uptake time of each PET series extracted from DICOM, per tracer, against the protocol window (shaded).", "name": "fig-00-uptake-dicom"}}
if "uptake" in headers.figures:
    save_figure(headers.figures["uptake"], "00_uptake_from_dicom", build_dir)

# %% [markdown]
# ## External cohorts: case mix
#
# Objective 5 validates the model in cohorts that were selected and treated differently; their case mix
# beside the development cohort shows how far the model has to travel. A cohort folder that is absent is
# named here and skipped.

# %% tags=["remove-input"]
mix = chapter.case_mix(base)
save_table(mix.tables["case_mix"], "00_case_mix", build_dir)
show_markdown(mix.text["caption"])
show(mix.tables["case_mix"])
