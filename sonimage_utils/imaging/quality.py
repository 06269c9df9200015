"""Imaging quality for the book: the extraction report read back, uptake times against the protocol windows,
and how the series were quantified (vendor, units, decay correction, scan-time source).

Functions return DataFrames (the figure is :func:`sonimage_utils.plots.imaging.plot_uptake_times`); the notebook
shows them when the data folder came from ``sonimage extract``. The protocol windows are parameters of the
analysis (``uptake_window_fes_min``, ``uptake_window_fdg_min`` in ``analysis.yml``) and are always passed in.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .privacy import vendor_of

__all__ = ["read_extraction_report", "compute_uptake_compliance", "summarize_extraction"]

_CHARACTERISTICS = (("manufacturer", "Vendor"), ("units", "Units (0054,1001)"),
                    ("decay_correction", "Decay correction (0054,1102)"),
                    ("scan_time_source", "Scan time from"), ("injection_time_source", "Injection time from"),
                    ("midnight_crossing", "Injection before midnight"), ("status", "Extraction status"))


def read_extraction_report(path) -> pd.DataFrame | None:
    """Read ``extraction_report.csv`` (a file or the folder holding it); None when there is none.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    pandas.DataFrame or None
    """
    path = os.path.join(path, "extraction_report.csv") if os.path.isdir(path) else path
    if not os.path.isfile(path):
        return None
    return pd.read_csv(path, dtype={"patient_id": str, "series_ref": str, "warning": str},
                       keep_default_na=True)


def _check_windows(uptake_windows):
    if not isinstance(uptake_windows, dict) or not uptake_windows:
        raise ValueError(f"uptake_windows must be a dict tracer -> (low, high) minutes, got {uptake_windows!r}")
    windows = dict(uptake_windows)
    for tracer, window in windows.items():
        low, high = (float(v) for v in window)
        if not 0 <= low < high:
            raise ValueError(f"uptake window of {tracer} must be (low, high) with 0 <= low < high, got {window}")
        windows[tracer] = (low, high)
    return windows


def compute_uptake_compliance(report: pd.DataFrame, uptake_windows: dict) -> pd.DataFrame:
    """Each series' uptake time against its tracer's protocol window.

    Parameters
    ----------
    report : pandas.DataFrame
        ``extraction_report.csv`` (or ``scans.csv``): ``patient_id``, ``tracer``, ``uptake_time_min``.
    uptake_windows : dict
        tracer -> (low, high) minutes, the protocol windows (parameters ``uptake_window_fes_min`` and
        ``uptake_window_fdg_min`` of ``analysis.yml``).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``tracer``, ``uptake_time_min``, ``window_low``, ``window_high``, ``in_window``
        (boolean; NA when the uptake time is missing) and ``deviation_min`` (minutes outside the window, 0 inside).

    Raises
    ------
    ValueError
        If a column is missing, the windows are not a dict, a window is malformed, or a tracer has no window.

    Examples
    --------
    >>> rep = pd.DataFrame({"patient_id": ["P1", "P2"], "tracer": ["FDG", "FES"], "uptake_time_min": [80, 60]})
    >>> windows = {"FDG": (55, 75), "FES": (50, 70)}
    >>> compute_uptake_compliance(rep, windows)[["in_window", "deviation_min"]].values.tolist()
    [[False, 5.0], [True, 0.0]]
    """
    missing = {"patient_id", "tracer", "uptake_time_min"} - set(report.columns)
    if missing:
        raise ValueError(f"report lacks column(s) {sorted(missing)}")
    windows = _check_windows(uptake_windows)
    unknown = set(report.tracer.dropna()) - set(windows)
    if unknown:
        raise ValueError(f"no uptake window for tracer(s) {sorted(unknown)}")
    out = report[["patient_id", "tracer", "uptake_time_min"]].copy()
    out["uptake_time_min"] = out["uptake_time_min"].astype(float)
    out["window_low"] = out.tracer.map(lambda t: windows[t][0]).astype(float)
    out["window_high"] = out.tracer.map(lambda t: windows[t][1]).astype(float)
    t = out.uptake_time_min
    out["in_window"] = pd.array(np.where(t.isna(), None, (t >= out.window_low) & (t <= out.window_high)),
                                dtype="boolean")
    out["deviation_min"] = np.maximum(out.window_low - t, 0) + np.maximum(t - out.window_high, 0)
    return out.reset_index(drop=True)


def summarize_extraction(report: pd.DataFrame, uptake_windows: dict) -> pd.DataFrame:
    """Counts of series per tracer by vendor, units, decay correction, time sources and status, and the
    uptake time summary with the number outside the protocol window.

    Parameters
    ----------
    report : pandas.DataFrame
        ``extraction_report.csv``.
    uptake_windows : dict
        As in :func:`compute_uptake_compliance`.

    Returns
    -------
    pandas.DataFrame
        Columns ``characteristic``, ``level`` and one count column per tracer (as text for the uptake rows).
        The vendor is a name from :data:`~sonimage_utils.imaging.privacy.VENDORS` or ``other`` even for a report
        written before the extraction restricted it (whose manufacturer column could hold any header text).
    """
    if "manufacturer" in report.columns:
        report = report.assign(manufacturer=report.manufacturer.map(vendor_of).where(report.manufacturer.notna()))
    tracers = sorted(report.tracer.dropna().unique())
    rows = [dict(characteristic="Series", level="", **{t: str(int((report.tracer == t).sum())) for t in tracers})]
    for column, label in _CHARACTERISTICS:
        if column not in report.columns:
            continue
        for level in sorted(report[column].dropna().astype(str).unique()):
            counts = {t: str(int(((report.tracer == t) & (report[column].astype(str) == level)).sum()))
                      for t in tracers}
            rows.append(dict(characteristic=label, level=level, **counts))
    ok = report[report.uptake_time_min.notna()] if "uptake_time_min" in report.columns else report.iloc[:0]
    if len(ok):
        comp = compute_uptake_compliance(ok, uptake_windows)
        median, outside = {}, {}
        for t in tracers:
            sub = comp[comp.tracer == t]
            if len(sub):
                q = sub.uptake_time_min.quantile([0.0, 0.5, 1.0]).to_numpy()
                median[t] = f"{q[1]:.0f} ({q[0]:.0f}-{q[2]:.0f})"
                outside[t] = f"{int((~sub.in_window).sum())} of {len(sub)} " \
                             f"(window {sub.window_low.iloc[0]:g}-{sub.window_high.iloc[0]:g})"
            else:
                median[t] = outside[t] = ""
        rows.append(dict(characteristic="Uptake time, min", level="median (range)", **median))
        rows.append(dict(characteristic="Uptake time, min", level="outside protocol window", **outside))
    return pd.DataFrame(rows, columns=["characteristic", "level", *tracers])
