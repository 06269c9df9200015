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
]

def compute_patient_flow(analysis: pd.DataFrame) -> pd.DataFrame:
    """Patient flow from enrolment to the primary heterogeneity analysis, with reasons.

    Parameters
    ----------
    analysis : DataFrame
        From :func:`sonimage_utils.derive.analysis_sets.build_analysis_set`.

    Returns
    -------
    DataFrame
        Columns ``step``, ``n`` (patients remaining) and ``excluded`` (patients leaving at that step,
        with the reason in ``step``).
    """
    n = len(analysis)
    no_lesion = int((analysis["n_lesions"] == 0).sum())
    no_assessable = int(((analysis["n_lesions"] > 0) & analysis["hs"].isna()).sum())
    rows = [
        ("Enrolled (patients.csv)", n, 0),
        ("Excluded: no lesion recorded", n - no_lesion, no_lesion),
        ("Excluded: no FES-assessable lesion (e.g. liver-only disease)", n - no_lesion - no_assessable,
         no_assessable),
        ("Primary heterogeneity analysis", n - no_lesion - no_assessable, 0),
    ]
    return pd.DataFrame(rows, columns=["step", "n", "excluded"])


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


def compute_scan_quality(scans: pd.DataFrame, uptake_windows: dict, activity_window) -> pd.DataFrame:
    """Per tracer: scans, uptake time and injected activity summaries, and how many fall outside the windows.

    Parameters
    ----------
    scans : DataFrame
        The contract's scans table.
    uptake_windows : dict
        Tracer -> (low, high) minutes from injection to scan.
    activity_window : (float, float)
        Injected activity window in MBq.
    """
    rows = []
    for tracer, s in scans.groupby("tracer", sort=True):
        lo, hi = uptake_windows[tracer]
        rows.append({
            "tracer": tracer, "scans": len(s),
            "uptake_median_min": s["uptake_time_min"].median(),
            "uptake_outside_window": int(((s["uptake_time_min"] < lo) | (s["uptake_time_min"] > hi)).sum()),
            "activity_median_mbq": s["injected_activity_mbq"].median(),
            "activity_outside_window": int(((s["injected_activity_mbq"] < activity_window[0]) |
                                            (s["injected_activity_mbq"] > activity_window[1])).sum()),
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
