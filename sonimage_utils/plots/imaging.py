"""Imaging quality figures: uptake time per PET series against the protocol window of its tracer.

The numbers come from :mod:`sonimage_utils.imaging.quality`; this module only draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sonimage_utils.imaging.quality import compute_uptake_compliance

__all__ = ["plot_uptake_times"]


def plot_uptake_times(report: pd.DataFrame, uptake_windows: dict, *, seed: int = 0) -> Figure:
    """Uptake time per series against the protocol window of its tracer, coloured by vendor.

    Parameters
    ----------
    report : pandas.DataFrame
        ``extraction_report.csv`` (``tracer``, ``uptake_time_min``, ``manufacturer``, ``patient_id``).
    uptake_windows : dict
        tracer -> (low, high) minutes, as in :func:`sonimage_utils.imaging.quality.compute_uptake_compliance`.
    seed : int
        Seed of the horizontal jitter of the points (display only; no estimate depends on it).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rep = report[report.uptake_time_min.notna()]
    comp = compute_uptake_compliance(rep, uptake_windows)
    comp["manufacturer"] = rep["manufacturer"].fillna("unknown").to_numpy() if "manufacturer" in rep else "unknown"
    tracers = sorted(comp.tracer.unique()) or ["FES", "FDG"]
    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(6.0, 4.0))
    ax = fig.subplots()
    colours = dict(zip(sorted(comp.manufacturer.unique()), ["C0", "C1", "C2", "C3", "C4", "C5", "C6"] * 3))
    for i, tracer in enumerate(tracers):
        sub = comp[comp.tracer == tracer]
        if len(sub):
            low, high = sub.window_low.iloc[0], sub.window_high.iloc[0]
            ax.fill_between([i - 0.35, i + 0.35], low, high, color="0.9", zorder=0,
                            label="protocol window" if i == 0 else None)
        for vendor, part in sub.groupby("manufacturer"):
            x = i + rng.uniform(-0.2, 0.2, len(part))
            ax.scatter(x, part.uptake_time_min, s=22, color=colours[vendor], zorder=2,
                       label=vendor if vendor not in ax.get_legend_handles_labels()[1] else None,
                       edgecolor=np.where(part.in_window.fillna(True), "none", "red"), linewidth=1.2)
    ax.set_xticks(range(len(tracers)), tracers)
    ax.set_xlim(-0.6, len(tracers) - 0.4)
    ax.set_ylabel("Uptake time (min)")
    ax.set_title("Uptake time per PET series (red edge: outside the window)", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a point
    return fig
