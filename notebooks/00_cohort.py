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
from pathlib import Path

from IPython.display import Markdown, display

from sonimage_utils import descriptive as cohort
from sonimage_utils.plots import cohort as cohort_plots
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.data.load import available_cohorts, load_cohort
from sonimage_utils.derive.heterogeneity import derive_lesion_fes_status
from sonimage_utils.imaging.quality import plot_uptake_times, read_extraction_report, summarize_extraction
from sonimage_utils.pipeline.report import record, save_figure, save_table, synthetic_notice

HET = dict(fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg_threshold)
son = load_cohort(data_dir, "sonimage")
analysis = build_analysis_set(son, **HET)
lesions = derive_lesion_fes_status(son.lesions, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs)

# %% tags=["remove-input"]
synthetic_notice(synthetic)

# %% [markdown]
# ## Patient flow
#
# Every enrolled patient is counted. A patient without an FES-assessable lesion (for example with
# liver-only disease) has no heterogeneity score and leaves the heterogeneity analyses; she stays in
# every count and table here.

# %% tags=["remove-input"]
flow = cohort.compute_patient_flow(analysis)
record("cohort_n_patients", len(analysis), "Patients in the development cohort (patients.csv)", fmt="{:.0f}")
record("cohort_n_lesions", len(son.lesions), "Baseline lesions in the development cohort (lesions.csv)", fmt="{:.0f}")
record("cohort_n_excluded_no_assessable_lesion", int(analysis["hs"].isna().sum()),
       "Patients without an FES-assessable lesion (no heterogeneity score)", fmt="{:.0f}")
record("cohort_n_heterogeneity_analysis", int(analysis["hs"].notna().sum()),
       "Patients in the primary heterogeneity analysis", fmt="{:.0f}")
save_table(flow, "00_patient_flow", build_dir)
display(Markdown("**Table 00.1.** Patient flow, development cohort."))
display(flow.style.hide(axis="index").set_uuid("flow"))

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
t1_arm = cohort.compute_table1(analysis, "arm")
save_table(t1_arm, "00_table1_by_arm", build_dir)
display(Markdown("**Table 00.2.** Baseline characteristics by first-line arm (median [Q1, Q3] or n (%))."))
display(t1_arm)

# %% tags=["remove-input"]
t1_het = cohort.compute_table1(analysis, "het_group")
save_table(t1_het, "00_table1_by_heterogeneity", build_dir)
display(Markdown(f"**Table 00.3.** Baseline characteristics by primary heterogeneity group (FES threshold "
                 f"{fes_threshold:g}); patients without an assessable lesion in their own column."))
display(t1_het)

# %% [markdown]
# ## Lesions and their FES/FDG uptake
#
# The heterogeneity score rests on lesion-level FES uptake, so the lesions themselves come first: where they
# are, how many can be assessed for FES, and how uptake spreads around the threshold.

# %% tags=["remove-input"]
by_organ = cohort.compute_lesions_by_organ(lesions)
save_table(by_organ, "00_lesions_by_organ", build_dir)
display(Markdown("**Table 00.4.** Baseline lesions by organ: FES-assessable and FES-positive lesions, median "
                 "lesion SUVmax."))
labels = {"organ": "organ", "lesions": "lesions", "share": "share of lesions", "fes_assessable": "FES-assessable",
          "fes_positive": "FES-positive", "share_fes_positive": "FES-positive among assessable",
          "median_fes_suvmax": "median FES SUVmax", "median_fdg_suvmax": "median FDG SUVmax"}
display(by_organ[list(labels)].rename(columns=labels).style.hide(axis="index")
        .format(precision=2, na_rep="-")
        .format("{:.0%}", subset=["share of lesions", "FES-positive among assessable"], na_rep="-").set_uuid("organ"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Lesion FES SUVmax (left, coloured by FES status) and FDG SUVmax (right) by organ, log scale. Dashed line: the FES positivity threshold; dotted line: the patient-level FDG cut-off. Liver lesions are not FES-assessable.", "name": "fig-00-suv"}}
fig = cohort_plots.plot_suv_by_organ(lesions, fes_threshold, analysis.attrs["fdg_threshold"])
save_figure(fig, "00_suv_by_organ", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Heterogeneity score per patient: the share of FES-positive lesions among FES-assessable lesions. Patients at 100 are ER-homogeneous.", "name": "fig-00-hs"}}
fig = cohort_plots.plot_heterogeneity_score(analysis)
save_figure(fig, "00_heterogeneity_score", build_dir)

# %% [markdown]
# ## PET scan quality
#
# Uptake times and injected activities outside the protocol windows (parameters `uptake_window_*` and
# `injected_activity_window_mbq` on the SAP page) affect SUV; they are flagged here rather than corrected.

# %% tags=["remove-input"]
windows = {"FES": uptake_window_fes_min, "FDG": uptake_window_fdg_min}
if son.scans is None:
    display(Markdown("*No scans.csv in this data folder: scan quality cannot be shown.*"))
else:
    quality = cohort.compute_scan_quality(son.scans, windows, injected_activity_window_mbq)
    save_table(quality, "00_scan_quality", build_dir)
    display(Markdown("**Table 00.5.** PET scans per tracer against the protocol windows."))
    headers = {"tracer": "tracer", "scans": "scans", "uptake_median_min": "median uptake (min)",
               "uptake_outside_window": "uptake outside window", "activity_median_mbq": "median activity (MBq)",
               "activity_outside_window": "activity outside window"}
    display(quality[list(headers)].rename(columns=headers).style.hide(axis="index").format(precision=1)
            .set_uuid("quality"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Uptake time and injected activity of each PET scan; shaded: the protocol windows.", "name": "fig-00-scans"}}
if son.scans is not None:
    fig = cohort_plots.plot_scan_quality(son.scans, windows, injected_activity_window_mbq)
    save_figure(fig, "00_scan_quality", build_dir)

# %% [markdown]
# ### From the PET headers
#
# Where the lesion SUVs were computed from the DICOM images with `sonimage extract`, its report shows, per
# series, the scanner vendor, the pixel units, the decay correction and where the scan time came from: the
# facts that decide whether an SUV is comparable across centres.

# %% tags=["remove-input"]
report = read_extraction_report(Path(data_dir) / "sonimage")
if report is None:
    display(Markdown("*This data folder has no `extraction_report.csv`: its SUVs were not computed from DICOM "
                     "by `sonimage extract`, so there is no header-level quality report.*"))
else:
    summary = summarize_extraction(report, windows)
    save_table(summary, "00_extraction_summary", build_dir)
    display(Markdown(f"**Table 00.6.** PET series extracted from DICOM ({len(report)} series): vendor, units, "
                     "decay correction, scan-time source and uptake time against the protocol windows."))
    display(summary.style.hide(axis="index").set_uuid("extraction"))

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Uptake time of each PET series extracted from DICOM, per tracer, against the protocol window (shaded).", "name": "fig-00-uptake-dicom"}}
if report is not None:
    fig = plot_uptake_times(report, windows)
    save_figure(fig, "00_uptake_from_dicom", build_dir)

# %% [markdown]
# ## External cohorts: case mix
#
# Objective 5 validates the model in cohorts that were selected and treated differently; their case mix
# beside the development cohort shows how far the model has to travel. A cohort folder that is absent is
# named here and skipped.

# %% tags=["remove-input"]
present = available_cohorts(data_dir)
analyses = {"sonimage": analysis}
for name in ("impact_mbc", "et_fes"):
    if name in present:
        analyses[name] = build_analysis_set(load_cohort(data_dir, name), **HET)
missing = [c for c in ("impact_mbc", "et_fes") if c not in present]
case_mix = cohort.compute_case_mix(analyses)
save_table(case_mix, "00_case_mix", build_dir)
display(Markdown("**Table 00.7.** Case mix of the development and external cohorts."
                 + (f" Absent from this data folder: {', '.join(missing)}." if missing else "")))
display(case_mix)
