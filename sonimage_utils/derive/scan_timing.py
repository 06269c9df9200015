"""Baseline PET scan timing against randomisation: which scans lie outside the SAP's scan window."""

from __future__ import annotations

import pandas as pd

__all__ = ["derive_baseline_scan_timing", "derive_scan_window_set"]


def derive_baseline_scan_timing(scans: pd.DataFrame, patients: pd.DataFrame, *, window_days: int) -> pd.DataFrame:
    """One row per baseline PET scan with its day relative to randomisation and whether it is outside the window.

    A scan is outside the window when it was made after the randomisation date or more than ``window_days``
    days before it (day 0, the randomisation date, and day ``-window_days`` are inside).

    Parameters
    ----------
    scans : DataFrame
        The contract's scans table (``patient_id``, ``tracer``, ``scan_date``).
    patients : DataFrame
        With ``patient_id`` and ``randomization_date``.
    window_days : int
        The SAP's ``baseline_scan_window_days``.

    Returns
    -------
    DataFrame
        ``patient_id``, ``tracer``, ``scan_date``, ``randomization_date``, ``days_from_randomization``
        (negative = before), ``after_randomization``, ``too_early`` and ``outside_window``; sorted by patient
        and tracer.

    Raises
    ------
    ValueError
        If ``window_days`` is negative or a scan's patient is not in ``patients``.

    Examples
    --------
    >>> s = pd.DataFrame({"patient_id": ["a", "a", "b"], "tracer": ["FES", "FDG", "FES"],
    ...                   "scan_date": pd.to_datetime(["2020-01-01", "2020-01-12", "2019-11-20"])})
    >>> p = pd.DataFrame({"patient_id": ["a", "b"], "randomization_date": pd.to_datetime(["2020-01-10", "2020-01-01"])})
    >>> derive_baseline_scan_timing(s, p, window_days=28)[["patient_id", "tracer", "days_from_randomization",
    ...                                                      "outside_window"]].to_string(index=False)
    'patient_id tracer  days_from_randomization  outside_window\\n         a    FDG                        2            True\\n         a    FES                       -9           False\\n         b    FES                      -42            True'
    """
    if window_days < 0:
        raise ValueError(f"window_days must be >= 0, got {window_days!r}")
    out = scans[["patient_id", "tracer", "scan_date"]].merge(
        patients[["patient_id", "randomization_date"]], on="patient_id", how="left", validate="many_to_one")
    unknown = out.loc[out["randomization_date"].isna(), "patient_id"].unique().tolist()
    if unknown:
        raise ValueError(f"scans of patients without a randomisation date: {', '.join(map(str, unknown))}")
    days = (out["scan_date"] - out["randomization_date"]).dt.days.astype(int)
    out["days_from_randomization"] = days
    out["after_randomization"] = days > 0
    out["too_early"] = days < -window_days
    out["outside_window"] = out["after_randomization"] | out["too_early"]
    return out.sort_values(["patient_id", "tracer"], kind="mergesort").reset_index(drop=True)


def derive_scan_window_set(analysis: pd.DataFrame, timing: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``analysis`` whose patients have no baseline scan outside the window.

    Parameters
    ----------
    analysis : DataFrame
        Patient rows with ``patient_id`` (an analysis set).
    timing : DataFrame
        From :func:`derive_baseline_scan_timing`.

    Returns
    -------
    DataFrame
        ``analysis`` without the patients who have at least one flagged scan (a patient without a scan row
        stays: nothing of hers is outside the window).
    """
    flagged = set(timing.loc[timing["outside_window"], "patient_id"])
    return analysis[~analysis["patient_id"].isin(flagged)]
