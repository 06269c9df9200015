"""Cohort description (chapter 00), the counting: patient flow, lesions by organ, scan quality, follow-up.

The display tables built on these (Table 1, the case mix, the formatted organ and scan tables) are in
:mod:`sonimage_utils.tables.cohort`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.survival.baseline import compute_km_table
from sonimage_utils.survival.km import compute_survival_quantile

__all__ = [
    "compute_patient_flow",
    "compute_lesions_by_organ",
    "compute_scan_quality",
    "compute_median_follow_up",
    "PFS1_EVENT_TYPES",
    "compute_event_types",
]

#: The PFS1 event types of the data contract (``pfs1_event_type``), in the order the book lists them; the
#: last one is no event.
PFS1_EVENT_TYPES = ("progression", "progression_during_break", "symptomatic_deterioration", "new_therapy", "death",
                    "censored")

def compute_patient_flow(analysis: pd.DataFrame, *, n_randomised: int, timing: pd.DataFrame | None,
                         window_days: int) -> pd.DataFrame:
    """Patient flow from SONIA's randomisation to each analysis set of the book, with who leaves where and why.

    Parameters
    ----------
    analysis : DataFrame
        From :func:`sonimage_utils.derive.analysis_sets.build_analysis_set` (its ``attrs["exclusions"]`` give
        the counts of the step to the heterogeneity set).
    n_randomised : int
        Patients randomised in SONIA (the SAP's ``sonia_n_randomised``), the parent trial.
    timing : DataFrame or None
        From :func:`sonimage_utils.derive.scan_timing.derive_baseline_scan_timing`; None without scans.csv
        (the scan-window set is then not defined and has no row).
    window_days : int
        The scan window, for the reason text.

    Returns
    -------
    DataFrame
        One row per set: ``step`` (a key), ``set`` (its name), ``patients`` (in the set), ``left_out`` (patients
        of the set it comes from who are not in it), ``reason`` (why, with the count of each reason) and
        ``parent`` (the ``step`` it comes from; empty for the first). Tidy and numeric but for the text columns.

    Raises
    ------
    ValueError
        If ``n_randomised`` is smaller than the enrolled cohort.
    """
    n = len(analysis)
    if n_randomised < n:
        raise ValueError(f"n_randomised={n_randomised} is smaller than the {n} enrolled patients")
    exclusions = analysis.attrs.get("exclusions", {})
    no_lesion = int(exclusions.get("no lesion row", (analysis["n_lesions"] == 0).sum()))
    no_assessable = int(exclusions.get("no FES-assessable lesion",
                                       ((analysis["n_lesions"] > 0) & analysis["hs"].isna()).sum()))
    het = analysis[analysis["het_group"].notna()]
    rows = [
        ("randomised", "Randomised in SONIA", n_randomised, 0, "", ""),
        ("enrolled", "Enrolled in SONImage", n, n_randomised - n,
         f"not in the SONImage imaging side-study: {n_randomised - n}", "randomised"),
        ("objective_1", "Objective-1 set (heterogeneity group; objectives 1 and 2)", len(het), n - len(het),
         f"no lesion recorded: {no_lesion}; no FES-assessable lesion (e.g. liver-only disease): {no_assessable}",
         "enrolled"),
    ]
    fdg = het[het["fes_fdg_pattern"].notna()]
    rows.append(("fdg", "With FDG-PET (FES/FDG pattern, exploratory)", len(fdg), len(het) - len(fdg),
                 f"no baseline FDG-PET: {len(het) - len(fdg)}", "objective_1"))
    if timing is not None:
        flagged = timing[timing["outside_window"] & timing["patient_id"].isin(het["patient_id"])]
        after = int(flagged["after_randomization"].sum())
        early = int(flagged["too_early"].sum())
        inside = het[~het["patient_id"].isin(set(flagged["patient_id"]))]
        rows.append(("scan_window", "Baseline scans inside the window (sensitivity)", len(inside),
                     len(het) - len(inside),
                     f"a baseline scan after randomisation ({after} scans) or more than {window_days} days before "
                     f"it ({early} scans)", "objective_1"))
    return pd.DataFrame(rows, columns=["step", "set", "patients", "left_out", "reason", "parent"])


def compute_lesions_by_organ(lesions: pd.DataFrame) -> pd.DataFrame:
    """Lesions per organ: count, share, FES-assessable, FES-positive among assessable, FES/FDG SUVmax medians.

    Parameters
    ----------
    lesions : DataFrame
        From :func:`sonimage_utils.derive.heterogeneity.derive_lesion_fes_status`.
    """
    g = lesions.groupby("organ", sort=False)
    out = pd.DataFrame({
        "lesions": g.size(),
        "fes_assessable": g["fes_assessable"].sum().astype(int),
        "fes_positive": g["fes_positive"].sum().astype(int),
        "median_fes_suvmax": g["fes_suvmax"].median(),
        "median_fdg_suvmax": g["fdg_suvmax"].median(),
    }).sort_values("lesions", ascending=False)
    out["share"] = out["lesions"] / out["lesions"].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_fes_positive"] = out["fes_positive"] / out["fes_assessable"].where(out["fes_assessable"] > 0)
    return out.reset_index()


def compute_scan_quality(scans: pd.DataFrame, uptake_windows: dict, activity_windows: dict) -> pd.DataFrame:
    """Per tracer: scans, uptake time and injected activity summaries, and how many fall outside the windows.

    Parameters
    ----------
    scans : DataFrame
        The contract's scans table.
    uptake_windows : dict
        Tracer -> (low, high) minutes from injection to scan.
    activity_windows : dict
        Tracer -> (low, high) injected activity in MBq (each tracer its own protocol window).
    """
    rows = []
    for tracer, s in scans.groupby("tracer", sort=True):
        lo, hi = uptake_windows[tracer]
        alo, ahi = activity_windows[tracer]
        rows.append({
            "tracer": tracer, "scans": len(s),
            "uptake_median_min": s["uptake_time_min"].median(),
            "uptake_outside_window": int(((s["uptake_time_min"] < lo) | (s["uptake_time_min"] > hi)).sum()),
            "activity_median_mbq": s["injected_activity_mbq"].median(),
            "activity_outside_window": int(((s["injected_activity_mbq"] < alo) |
                                            (s["injected_activity_mbq"] > ahi)).sum()),
        })
    return pd.DataFrame(rows)


def compute_median_follow_up(time, event) -> float:
    """Median potential follow-up by the reverse Kaplan-Meier method: censoring is the event.

    The one Kaplan-Meier (:func:`sonimage_utils.survival.baseline.compute_km_table`) with R's median rule
    (:func:`sonimage_utils.survival.km.compute_survival_quantile`); NaN when the reverse curve never falls
    to one half.

    References
    ----------
    Schemper M, Smith TL. A note on quantifying follow-up in studies of failure time. Control Clin Trials
    1996;17:343-6.

    Examples
    --------
    >>> compute_median_follow_up([1, 2, 3, 4], [0, 1, 0, 0])
    3.0
    """
    event = np.asarray(event, dtype=float)
    km = compute_km_table(time, 1.0 - event)
    return compute_survival_quantile(km["time"].to_numpy(), km["surv"].to_numpy(), 0.5)


def compute_event_types(analysis: pd.DataFrame, by: str) -> pd.DataFrame:
    """Patients per PFS1 event type (and censored), per level of ``by`` and overall, with median follow-up.

    Parameters
    ----------
    analysis : DataFrame
        With ``pfs1_event_type``, ``pfs1_months``, ``pfs1_event`` and the column ``by``.
    by : str
        Grouping column (``arm``).

    Returns
    -------
    DataFrame
        One row per event type of :data:`PFS1_EVENT_TYPES` (``event_type``), then ``all_events`` (the PFS1
        events) and ``patients``; one count column per level of ``by`` (sorted) and ``overall``. The attribute
        ``attrs["median_follow_up"]`` maps each column to its reverse Kaplan-Meier median follow-up in months
        (:func:`compute_median_follow_up`).

    Raises
    ------
    ValueError
        If an event type is not one of :data:`PFS1_EVENT_TYPES`.

    Examples
    --------
    >>> a = pd.DataFrame({"arm": ["ET", "ET", "ET+CDK4/6i"], "pfs1_event_type": ["death", "censored", "progression"],
    ...                   "pfs1_event": [1, 0, 1], "pfs1_months": [3.0, 5.0, 4.0]})
    >>> compute_event_types(a, "arm").set_index("event_type").loc[["death", "censored", "all_events"]].values.tolist()
    [[1, 0, 1], [1, 0, 1], [1, 1, 2]]
    """
    unknown = sorted(set(analysis["pfs1_event_type"].dropna()) - set(PFS1_EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown pfs1_event_type {', '.join(map(repr, unknown))}; expected {PFS1_EVENT_TYPES}")
    levels = sorted(analysis[by].dropna().unique().tolist(), key=str)
    groups = {lv: analysis[analysis[by] == lv] for lv in levels}
    groups["overall"] = analysis
    out = pd.DataFrame({"event_type": [*PFS1_EVENT_TYPES, "all_events", "patients"]})
    follow_up = {}
    for col, rows in groups.items():
        counts = rows["pfs1_event_type"].value_counts()
        out[col] = [int(counts.get(t, 0)) for t in PFS1_EVENT_TYPES] + [int(rows["pfs1_event"].sum()), len(rows)]
        follow_up[col] = (compute_median_follow_up(rows["pfs1_months"], rows["pfs1_event"]) if len(rows)
                          else float("nan"))
    out.attrs["median_follow_up"] = follow_up
    return out
