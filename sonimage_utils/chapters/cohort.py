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
from sonimage_utils.derive.scan_timing import derive_baseline_scan_timing
from sonimage_utils.imaging.quality import read_extraction_report, summarize_extraction
from sonimage_utils.plots.imaging import plot_uptake_times
from sonimage_utils.plots import cohort as cohort_plots
from sonimage_utils.tables.cohort import (TABLE1_VARIABLES, format_case_mix, format_event_types,
                                          format_lesions_by_organ, format_patient_flow, format_scan_quality,
                                          format_scan_timing, format_table1)
from sonimage_utils.tables.format import format_noun, format_value
from sonimage_utils.tables.labels import label

__all__ = ["EXTERNAL_COHORTS", "ARMS", "load", "patient_flow", "event_types", "baseline", "lesions", "scan_quality",
           "scan_timing", "pet_headers", "case_mix"]

#: The external cohorts of objective 5, in the order the case-mix table shows them.
EXTERNAL_COHORTS = ("impact_mbc", "et_fes")

#: The randomised arms and the suffix of their registry names.
ARMS = (("ET", "et"), ("ET+CDK4/6i", "et_cdk46i"))


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


def _timing(base: Section, window_days: int):
    """Baseline scan timing of the cohort (None without scans.csv)."""
    son = base.data["cohort"]
    return (None if son.scans is None else
            derive_baseline_scan_timing(son.scans, son.patients, window_days=window_days))


def patient_flow(base: Section, *, n_randomised: int, window_days: int) -> Section:
    """Patient flow from SONIA's randomisation to each analysis set, as a diagram and a table; the counts the
    prose states.

    Parameters
    ----------
    base : Section
        From :func:`load`.
    n_randomised : int
        Patients randomised in SONIA (``sonia_n_randomised``).
    window_days : int
        The baseline scan window (``baseline_scan_window_days``), for the scan-window set.

    Returns
    -------
    Section
        ``tables["flow"]`` (numbers), ``tables["flow_display"]``, ``figures["flow"]``, ``text["caption"]``;
        results ``cohort_n_*``.
    """
    analysis, son = base.data["analysis"], base.data["cohort"]
    flow = descriptive.compute_patient_flow(analysis, n_randomised=n_randomised, timing=_timing(base, window_days),
                                            window_days=window_days)
    s = Section(tables={"flow": flow, "flow_display": format_patient_flow(flow)},
                figures={"flow": cohort_plots.plot_patient_flow(flow)},
                text={"caption": "**Table 00.1.** Analysis sets of chapters 00 to 02, from the "
                                 f"{format_value(n_randomised, 'count')} "
                                 f"patients randomised in SONIA to the {len(analysis)} enrolled in SONImage and on: "
                                 "each set with its patients, the set it is taken from, and who leaves at that "
                                 "step and why (the numbers of Figure 00.1). The sets of objectives 3 to 5 are "
                                 "counted in their chapters."})
    s.add("cohort_n_sonia_randomised", n_randomised, "Patients randomised in SONIA, the parent trial (parameter "
          "sonia_n_randomised)", "count")
    s.add("cohort_n_patients", len(analysis), "Patients in the development cohort (patients.csv)", "count")
    s.add("cohort_n_lesions", len(son.lesions), "Baseline lesions in the development cohort (lesions.csv)", "count")
    s.add("cohort_n_excluded_no_assessable_lesion", int(analysis["hs"].isna().sum()),
          "Patients without an FES-assessable lesion (no heterogeneity score)", "count")
    s.add("cohort_n_heterogeneity_analysis", int(analysis["hs"].notna().sum()),
          "Patients in the primary heterogeneity analysis", "count")
    return s


def event_types(base: Section) -> Section:
    """PFS1 event types and censoring by arm, with the median follow-up by arm (reverse Kaplan-Meier).

    Returns
    -------
    Section
        ``tables["events"]`` (counts), ``tables["events_display"]``, ``text["caption"]``; results
        ``cohort_n_events_<type>`` (overall and per arm), ``cohort_n_censored[_arm]`` and
        ``cohort_median_followup_months[_arm]``.
    """
    analysis = base.data["analysis"]
    counts = descriptive.compute_event_types(analysis, "arm")
    follow_up = counts.attrs["median_follow_up"]
    s = Section(tables={"events": counts, "events_display": format_event_types(counts)},
                text={"caption": f"**Table 00.2.** PFS1 event types by first-line arm: the first event of the PFS1 "
                                 "composite, n (% of the arm's patients), and censoring; median follow-up by the "
                                 "reverse Kaplan-Meier method (censoring as the event). Enrolled set, "
                                 f"{len(analysis)} patients, {int(analysis['pfs1_event'].sum())} PFS1 events."})
    by_type = counts.set_index("event_type")
    for t in descriptive.PFS1_EVENT_TYPES:
        what = "censored (no PFS1 event)" if t == "censored" else f"PFS1 events of type {t}"
        name = "cohort_n_censored" if t == "censored" else f"cohort_n_events_{t}"
        s.add(name, int(by_type.loc[t, "overall"]), f"Patients {what}, enrolled set", "count")
        for arm, key in ARMS:
            s.add(f"{name}_{key}", int(by_type.loc[t, arm]) if arm in by_type.columns else 0,
                  f"Patients {what}, arm {arm}", "count")
    s.add("cohort_median_followup_months", follow_up["overall"],
          "Median follow-up for PFS1, reverse Kaplan-Meier (censoring as the event), months", "months")
    for arm, key in ARMS:
        s.add(f"cohort_median_followup_months_{key}", follow_up.get(arm),
              f"Median follow-up for PFS1 in arm {arm}, reverse Kaplan-Meier, months", "months")
    return s


def baseline(base: Section) -> Section:
    """Table 1 by first-line arm and by primary heterogeneity group.

    Returns
    -------
    Section
        ``tables["by_arm"]`` (with the centre), ``tables["by_het"]`` (with the arm and the centre) and their
        captions in ``text``.
    """
    analysis = base.data["analysis"]
    threshold = format_value(base.data["fes_threshold"], "parameter")
    n, n_group = len(analysis), int(analysis["het_group"].notna().sum())
    return Section(
        tables={"by_arm": format_table1(analysis, "arm", ("center", *TABLE1_VARIABLES)),
                "by_het": format_table1(analysis, "het_group", ("arm", "center", *TABLE1_VARIABLES))},
        text={"by_arm": f"**Table 00.3.** Baseline characteristics by first-line arm (median [Q1, Q3] or n (%)). "
                        f"Enrolled set, {n} patients.",
              "by_het": f"**Table 00.4.** Baseline characteristics, first-line arm and centre by primary "
                        f"heterogeneity group (FES threshold {threshold}; median [Q1, Q3] or n (%)); patients "
                        f"without an assessable lesion in their own column. Enrolled set, {n} patients, of whom "
                        f"{n_group} with a heterogeneity group (the objective-1 set). The groups are not "
                        "randomised: an imbalance in arm or centre is what the arm-adjusted and centre-stratified "
                        "models of chapter 01 answer."})


def lesions(base: Section) -> Section:
    """Lesions by organ, and the SUV and heterogeneity-score figures.

    Returns
    -------
    Section
        ``tables["by_organ"]`` (numbers, for the CSV), ``tables["by_organ_display"]`` (text),
        ``figures["suv"]``, ``figures["hs"]``, ``text["caption"]`` (the table's) and ``text["suv"]`` (the sets
        and n of the two figures).
    """
    les, analysis = base.data["lesions"], base.data["analysis"]
    by_organ = descriptive.compute_lesions_by_organ(les)
    n_hs = int(analysis["hs"].notna().sum())
    return Section(
        tables={"by_organ": by_organ, "by_organ_display": format_lesions_by_organ(by_organ)},
        figures={"suv": cohort_plots.plot_suv_by_organ(les, base.data["fes_threshold"],
                                                       analysis.attrs["fdg_threshold"]),
                 "hs": cohort_plots.plot_heterogeneity_score(analysis)},
        text={"caption": f"**Table 00.5.** Baseline lesions by organ: FES-assessable and FES-positive lesions, "
                         f"median lesion SUVmax. All {len(les)} baseline lesions of the {len(analysis)} enrolled "
                         "patients.",
              "suv": f"Figure 00.2 shows the {len(les)} baseline lesions of the {len(analysis)} enrolled patients; "
                     f"Figure 00.3 the heterogeneity score of the {n_hs} "
                     f"{format_noun(n_hs, 'patient')} with at least one FES-assessable lesion (the heterogeneity "
                     "set)."})


def _windows(fes, fdg) -> dict:
    return {"FES": fes, "FDG": fdg}


def scan_quality(base: Section, *, uptake_window_fes_min, uptake_window_fdg_min, injected_activity_window_fes_mbq,
                 injected_activity_window_fdg_mbq) -> Section:
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
    activity = _windows(injected_activity_window_fes_mbq, injected_activity_window_fdg_mbq)
    quality = descriptive.compute_scan_quality(scans, windows, activity)
    n_patients = scans["patient_id"].nunique()
    return Section(tables={"quality": quality, "quality_display": format_scan_quality(quality)},
                   figures={"scans": cohort_plots.plot_scan_quality(scans, windows, activity)},
                   text={"caption": f"**Table 00.6.** PET scans per tracer against the protocol windows of uptake "
                                    "time and injected activity (each tracer its own windows). All baseline scans "
                                    f"of the enrolled set: {len(scans)} scans of {n_patients} patients.",
                         "figure": f"Figure 00.4 shows the same {len(scans)} scans, one panel per tracer."})


def scan_timing(base: Section, *, window_days: int) -> Section:
    """Baseline PET scans against the randomisation date: the scans outside the window and the count.

    The sensitivity analysis of the primary model without the flagged patients is a row of chapter 01's
    sensitivity table (:func:`sonimage_utils.chapters.pfs_heterogeneity.sensitivity`).

    Parameters
    ----------
    base : Section
        From :func:`load`.
    window_days : int
        ``baseline_scan_window_days``: a scan after randomisation or more than this many days before it is
        outside the window.

    Returns
    -------
    Section
        Without scans.csv ``text["note"]`` and ``cohort_n_baseline_scans_outside_window`` missing; otherwise ``tables["timing"]`` (every scan, numbers),
        ``tables["flagged_display"]`` (the scans outside), ``text["caption"]``, ``text["summary"]``; results
        ``cohort_n_baseline_scans_outside_window`` (scans), ``cohort_n_baseline_scans_after_randomisation``,
        ``cohort_n_baseline_scans_too_early`` and ``cohort_n_patients_scan_outside_window`` (patients).
    """
    timing = _timing(base, window_days)
    if timing is None:
        s = Section(text={"note": "*No scans.csv in this data folder: the timing of the baseline scans cannot be "
                                  "checked, and the sensitivity analysis without patients scanned outside the "
                                  "window is not defined.*"})
        s.add("cohort_n_baseline_scans_outside_window", None, "Baseline PET scans outside the window: not available "
              "(no scans.csv)", "count", missing="not available")
        return s
    flagged = timing[timing["outside_window"]]
    n_scans, n_patients = len(flagged), flagged["patient_id"].nunique()
    after, early = int(flagged["after_randomization"].sum()), int(flagged["too_early"].sum())
    s = Section(tables={"timing": timing, "flagged_display": format_scan_timing(timing, window_days)})
    s.add("cohort_n_baseline_scans_outside_window", n_scans, f"Baseline PET scans (FES and FDG; counts scans, not "
          f"patients) after randomisation or more than {window_days} days before it (baseline_scan_window_days)",
          "count")
    s.add("cohort_n_baseline_scans_after_randomisation", after, "Baseline PET scans after the randomisation date",
          "count")
    s.add("cohort_n_baseline_scans_too_early", early, f"Baseline PET scans more than {window_days} days before "
          "randomisation", "count")
    s.add("cohort_n_patients_scan_outside_window", n_patients, "Patients with at least one baseline PET scan "
          "outside the window (left out of the scan-window sensitivity analysis of chapter 01)", "count")
    n_all = timing["patient_id"].nunique()
    s.text["caption"] = (f"**Table 00.7.** Baseline PET scans outside the window: after randomisation or more than "
                         f"{window_days} days before it, one row per scan. Enrolled set, {len(timing)} scans of "
                         f"{n_all} patients, of which {n_scans} {format_noun(n_scans, 'scan')} of {n_patients} "
                         f"{format_noun(n_patients, 'patient')} outside the window.")
    if n_scans == 0:
        s.text["summary"] = (f"All {len(timing)} baseline scans were made within {window_days} days before "
                             "randomisation; no patient is left out of the scan-window sensitivity analysis.")
    else:
        s.text["summary"] = (
            f"{n_scans} of {len(timing)} baseline {format_noun(len(timing), 'scan')} "
            f"({format_value(n_scans / len(timing), 'percent')}) lie outside the window: {after} after "
            f"randomisation, {early} more than {window_days} days before it, in {n_patients} "
            f"{format_noun(n_patients, 'patient')}. Chapter 01 refits the primary model without "
            f"{'her' if n_patients == 1 else 'them'} (sensitivity table, row *Baseline scans inside the window*).")
    return s


def pet_headers(base: Section, *, uptake_window_fes_min, uptake_window_fdg_min) -> Section:
    """The header-level report of ``sonimage extract``, where the SUVs were computed from DICOM.

    Returns
    -------
    Section
        With a report: ``tables["summary"]`` (numbers), ``tables["summary_display"]``, ``figures["uptake"]``,
        ``text["caption"]``; without: only
        ``text["note"]``.
    """
    report = read_extraction_report(os.path.join(base.data["data_dir"], "sonimage"))
    if report is None:
        return Section(text={"note": "*This data folder has no `extraction_report.csv`: its SUVs were not computed "
                                     "from DICOM by `sonimage extract`, so there is no header-level quality report.*"})
    windows = _windows(uptake_window_fes_min, uptake_window_fdg_min)
    summary = summarize_extraction(report, windows)
    display = summary.rename(columns=label)
    display[label("level")] = display[label("level")].map(lambda v: {True: "yes", False: "no", "True": "yes",
                                                                     "False": "no"}.get(v, v))
    return Section(tables={"summary": summary, "summary_display": display},
                   figures={"uptake": plot_uptake_times(report, windows)},
                   text={"caption": f"**Table 00.8.** PET series extracted from DICOM ({len(report)} series): vendor, "
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
                   text={"caption": "**Table 00.9.** Case mix of the development and external cohorts: all patients of "
                                    "each cohort folder (n in the first row), whatever their analysis set."
                                    + (f" Absent from this data folder: {', '.join(missing)}." if missing else "")})
