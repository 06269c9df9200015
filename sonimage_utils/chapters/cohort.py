"""Chapter 00, the cohort and its data: patient flow, Table 1, lesions, scan quality, external case mix.

Each function is one section of ``notebooks/00_cohort.py`` and returns a
:class:`~sonimage_utils.chapters.Section`; the study values (thresholds, protocol windows) come from the
notebook's parameters. Nothing here displays anything.
"""

from __future__ import annotations

import os

from sonimage_utils import descriptive
from sonimage_utils.chapters.section import Section
from sonimage_utils.data.load import available_cohorts, load_cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.derive.heterogeneity import derive_lesion_fes_status
from sonimage_utils.imaging.quality import read_extraction_report, summarize_extraction
from sonimage_utils.plots.imaging import plot_uptake_times
from sonimage_utils.plots import cohort as cohort_plots
from sonimage_utils.tables.cohort import format_case_mix, format_lesions_by_organ, format_scan_quality, format_table1
from sonimage_utils.tables.format import format_value
from sonimage_utils.tables.labels import label

__all__ = ["EXTERNAL_COHORTS", "load", "patient_flow", "baseline", "lesions", "scan_quality", "pet_headers",
           "case_mix"]

#: The external cohorts of objective 5, in the order the case-mix table shows them.
EXTERNAL_COHORTS = ("impact_mbc", "et_fes")


def load(data_dir, *, fes_threshold: float, fes_excluded_organs, fdg_threshold) -> Section:
    """The development cohort, its analysis set and its lesions with their FES status.

    Parameters
    ----------
    data_dir : path-like
        The data folder.
    fes_threshold, fes_excluded_organs, fdg_threshold
        The SAP's heterogeneity definition (see :func:`sonimage_utils.derive.build_analysis_set`).

    Returns
    -------
    Section
        ``data``: ``data_dir``, ``cohort``, ``analysis``, ``lesions``, ``het`` (the heterogeneity arguments)
        and ``fes_threshold``.
    """
    het = dict(fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg_threshold)
    son = load_cohort(data_dir, "sonimage")
    return Section(data={"data_dir": data_dir, "cohort": son, "analysis": build_analysis_set(son, **het),
                         "lesions": derive_lesion_fes_status(son.lesions, fes_threshold=fes_threshold,
                                                                    fes_excluded_organs=fes_excluded_organs),
                         "het": het, "fes_threshold": fes_threshold})


def patient_flow(base: Section) -> Section:
    """Patient flow and the counts the prose states.

    Returns
    -------
    Section
        ``tables["flow"]``; results ``cohort_n_*`` and the median follow-up (reverse Kaplan-Meier), overall
        and by arm (``cohort_median_followup_months[_et|_et_cdk46i]``).
    """
    analysis, son = base.data["analysis"], base.data["cohort"]
    s = Section(tables={"flow": descriptive.compute_patient_flow(analysis)},
                text={"caption": "**Table 00.1.** Patient flow, development cohort."})
    s.add("cohort_n_patients", len(analysis), "Patients in the development cohort (patients.csv)", "count")
    s.add("cohort_n_lesions", len(son.lesions), "Baseline lesions in the development cohort (lesions.csv)", "count")
    s.add("cohort_n_excluded_no_assessable_lesion", int(analysis["hs"].isna().sum()),
          "Patients without an FES-assessable lesion (no heterogeneity score)", "count")
    s.add("cohort_n_heterogeneity_analysis", int(analysis["hs"].notna().sum()),
          "Patients in the primary heterogeneity analysis", "count")
    s.add("cohort_median_followup_months",
          descriptive.compute_median_follow_up(analysis["pfs1_months"], analysis["pfs1_event"]),
          "Median follow-up for PFS1, reverse Kaplan-Meier (censoring as the event), months", "months")
    for arm, key in (("ET", "et"), ("ET+CDK4/6i", "et_cdk46i")):
        rows = analysis[analysis["arm"] == arm]
        s.add(f"cohort_median_followup_months_{key}",
              descriptive.compute_median_follow_up(rows["pfs1_months"], rows["pfs1_event"]) if len(rows) else None,
              f"Median follow-up for PFS1 in arm {arm}, reverse Kaplan-Meier, months", "months")
    return s


def baseline(base: Section) -> Section:
    """Table 1 by first-line arm and by primary heterogeneity group.

    Returns
    -------
    Section
        ``tables["by_arm"]``, ``tables["by_het"]`` and their captions in ``text``.
    """
    analysis = base.data["analysis"]
    threshold = format_value(base.data["fes_threshold"], "parameter")
    return Section(
        tables={"by_arm": format_table1(analysis, "arm"),
                "by_het": format_table1(analysis, "het_group")},
        text={"by_arm": "**Table 00.2.** Baseline characteristics by first-line arm (median [Q1, Q3] or n (%)).",
              "by_het": f"**Table 00.3.** Baseline characteristics by primary heterogeneity group (FES threshold "
                        f"{threshold}); patients without an assessable lesion in their own column."})


def lesions(base: Section) -> Section:
    """Lesions by organ, and the SUV and heterogeneity-score figures.

    Returns
    -------
    Section
        ``tables["by_organ"]`` (numbers, for the CSV), ``tables["by_organ_display"]`` (text),
        ``figures["suv"]``, ``figures["hs"]``, ``text["caption"]``.
    """
    les, analysis = base.data["lesions"], base.data["analysis"]
    by_organ = descriptive.compute_lesions_by_organ(les)
    return Section(
        tables={"by_organ": by_organ, "by_organ_display": format_lesions_by_organ(by_organ)},
        figures={"suv": cohort_plots.plot_suv_by_organ(les, base.data["fes_threshold"],
                                                       analysis.attrs["fdg_threshold"]),
                 "hs": cohort_plots.plot_heterogeneity_score(analysis)},
        text={"caption": "**Table 00.4.** Baseline lesions by organ: FES-assessable and FES-positive lesions, "
                         "median lesion SUVmax."})


def _windows(uptake_window_fes_min, uptake_window_fdg_min) -> dict:
    return {"FES": uptake_window_fes_min, "FDG": uptake_window_fdg_min}


def scan_quality(base: Section, *, uptake_window_fes_min, uptake_window_fdg_min,
                 injected_activity_window_mbq) -> Section:
    """PET scans per tracer against the protocol windows (scans.csv); a note where the folder has none.

    Returns
    -------
    Section
        With scans: ``tables["quality"]`` (numbers), ``tables["quality_display"]``, ``figures["scans"]``,
        ``text["caption"]``; without: only ``text["note"]``.
    """
    scans = base.data["cohort"].scans
    if scans is None:
        return Section(text={"note": "*No scans.csv in this data folder: scan quality cannot be shown.*"})
    windows = _windows(uptake_window_fes_min, uptake_window_fdg_min)
    quality = descriptive.compute_scan_quality(scans, windows, injected_activity_window_mbq)
    return Section(tables={"quality": quality, "quality_display": format_scan_quality(quality)},
                   figures={"scans": cohort_plots.plot_scan_quality(scans, windows, injected_activity_window_mbq)},
                   text={"caption": "**Table 00.5.** PET scans per tracer against the protocol windows."})


def pet_headers(base: Section, *, uptake_window_fes_min, uptake_window_fdg_min) -> Section:
    """The header-level report of ``sonimage extract``, where the SUVs were computed from DICOM.

    Returns
    -------
    Section
        With a report: ``tables["summary"]``, ``figures["uptake"]``, ``text["caption"]``; without: only
        ``text["note"]``.
    """
    report = read_extraction_report(os.path.join(base.data["data_dir"], "sonimage"))
    if report is None:
        return Section(text={"note": "*This data folder has no `extraction_report.csv`: its SUVs were not computed "
                                     "from DICOM by `sonimage extract`, so there is no header-level quality report.*"})
    windows = _windows(uptake_window_fes_min, uptake_window_fdg_min)
    return Section(tables={"summary": summarize_extraction(report, windows)},
                   figures={"uptake": plot_uptake_times(report, windows)},
                   text={"caption": f"**Table 00.6.** PET series extracted from DICOM ({len(report)} series): vendor, "
                                    "units, decay correction, scan-time source and uptake time against the protocol "
                                    "windows."})


def case_mix(base: Section) -> Section:
    """Case mix of the development cohort beside the external cohorts present in the data folder.

    Returns
    -------
    Section
        ``tables["case_mix"]`` (one column per cohort, by its label) and ``text["caption"]`` naming the
        absent cohorts.
    """
    data_dir = base.data["data_dir"]
    present = available_cohorts(data_dir)
    analyses = {label("sonimage"): base.data["analysis"]}
    for name in EXTERNAL_COHORTS:
        if name in present:
            analyses[label(name)] = build_analysis_set(load_cohort(data_dir, name), **base.data["het"])
    missing = [label(c) for c in EXTERNAL_COHORTS if c not in present]
    return Section(tables={"case_mix": format_case_mix(analyses)},
                   text={"caption": "**Table 00.7.** Case mix of the development and external cohorts."
                                    + (f" Absent from this data folder: {', '.join(missing)}." if missing else "")})
