"""Graphs of the cohort chapter. Each function returns a matplotlib Figure and shows nothing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sonimage_utils.tables.labels import label

__all__ = ["plot_suv_by_organ", "plot_heterogeneity_score", "plot_scan_quality"]

_STATUS_COLOURS = {"positive": "#1b7837", "negative": "#c51b7d", "not_assessable": "#969696"}


def _detached(fig):
    """``fig`` released from pyplot: a notebook's inline backend then shows it only where the notebook asks
    (a chapter module builds figures in one cell that the notebook shows in later ones)."""
    plt.close(fig)
    return fig


def plot_suv_by_organ(lesions: pd.DataFrame, fes_threshold: float, fdg_threshold: float | None = None):
    """FES and FDG lesion SUVmax by organ (log scale), FES threshold and FDG patient threshold marked.

    Parameters
    ----------
    lesions : DataFrame
        With ``organ``, ``fes_suvmax``, ``fdg_suvmax`` and ``fes_status``.
    fes_threshold : float
    fdg_threshold : float, optional
    """
    order = lesions["organ"].value_counts().index.tolist()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    rng = np.random.default_rng(0)  # jitter only; fixed so figures are reproducible
    for ax, col, title in ((axes[0], "fes_suvmax", "FES SUVmax"), (axes[1], "fdg_suvmax", "FDG SUVmax")):
        for i, organ in enumerate(order):
            sub = lesions[(lesions["organ"] == organ) & lesions[col].notna() & (lesions[col] > 0)]
            colours = [_STATUS_COLOURS[s] for s in sub["fes_status"]] if col == "fes_suvmax" else "#4393c3"
            ax.scatter(sub[col], i + rng.uniform(-0.25, 0.25, len(sub)), s=8, alpha=0.6, c=colours, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel(f"{title} (g/ml, log scale)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].axvline(fes_threshold, color="black", ls="--", lw=1)
    axes[0].text(fes_threshold, len(order) - 0.4, f" threshold {fes_threshold:g}", fontsize=8, va="top")
    if fdg_threshold is not None and np.isfinite(fdg_threshold):
        axes[1].axvline(fdg_threshold, color="black", ls=":", lw=1)
        axes[1].text(fdg_threshold, len(order) - 0.4, f" patient cut-off {fdg_threshold:.1f}", fontsize=8, va="top")
    axes[0].set_yticks(range(len(order)), [label(o) for o in order])
    axes[0].set_ylim(-0.6, len(order) - 0.4)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=label(k)) for k, c in _STATUS_COLOURS.items()]
    axes[0].legend(handles=handles, title="FES status", fontsize=8, loc="lower right")
    fig.tight_layout()
    return _detached(fig)


def plot_heterogeneity_score(analysis: pd.DataFrame):
    """Histogram of the heterogeneity score (share of FES-positive assessable lesions, %)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    hs = analysis["hs"].dropna()
    ax.hist(hs, bins=np.arange(0, 105, 5), color="#4393c3", edgecolor="white")
    ax.set_xlabel("Heterogeneity score (% FES-positive of assessable lesions)")
    ax.set_ylabel("Patients")
    ax.axvline(100, color="black", ls="--", lw=1)
    ax.set_xlim(-2, 104)
    fig.tight_layout()
    return _detached(fig)


def plot_scan_quality(scans: pd.DataFrame, uptake_windows: dict, activity_window):
    """Uptake time against injected activity per tracer, with the protocol windows shaded."""
    tracers = sorted(scans["tracer"].unique())
    fig, axes = plt.subplots(1, len(tracers), figsize=(5 * len(tracers), 3.8), squeeze=False)
    for ax, tracer in zip(axes[0], tracers):
        s = scans[scans["tracer"] == tracer]
        lo, hi = uptake_windows[tracer]
        alo, ahi = activity_window
        ax.add_patch(plt.Rectangle((lo, alo), hi - lo, ahi - alo, color="#d9f0d3", zorder=0, label="protocol windows"))
        outside = ~s["uptake_time_min"].between(lo, hi) | ~s["injected_activity_mbq"].between(alo, ahi)
        ax.scatter(s.loc[~outside, "uptake_time_min"], s.loc[~outside, "injected_activity_mbq"], s=12, color="black",
                   zorder=2, label="within")
        ax.scatter(s.loc[outside, "uptake_time_min"], s.loc[outside, "injected_activity_mbq"], s=14, color="#c51b7d",
                   marker="x", zorder=2, label=f"outside ({int(outside.sum())})")
        ax.set_title(f"{tracer}-PET (n = {len(s)})")
        ax.set_xlabel("Uptake time (min)")
        ax.set_ylabel("Injected activity (MBq)")
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return _detached(fig)
