"""Graphs of the cohort chapter. Each function returns a matplotlib Figure and shows nothing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sonimage_utils.plots.figure import MAX_VECTOR_MARKS
from sonimage_utils.tables.format import format_count
from sonimage_utils.tables.labels import label

__all__ = ["plot_suv_by_organ", "plot_heterogeneity_score", "plot_scan_quality", "plot_patient_flow"]

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
        # rasterised in vector output above MAX_VECTOR_MARKS points in the panel (a 28 MB SVG at 100,000 lesions)
        many = int((lesions[col] > 0).sum()) > MAX_VECTOR_MARKS
        for i, organ in enumerate(order):
            sub = lesions[(lesions["organ"] == organ) & lesions[col].notna() & (lesions[col] > 0)]
            colours = [_STATUS_COLOURS[s] for s in sub["fes_status"]] if col == "fes_suvmax" else "#4393c3"
            ax.scatter(sub[col], i + rng.uniform(-0.25, 0.25, len(sub)), s=8, alpha=0.6, c=colours, lw=0,
                       rasterized=many)
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
    """Histogram of the heterogeneity score (share of FES-positive assessable lesions, %).

    HS = 0 (no FES-positive lesion) and HS = 100 (ER-homogeneous: every assessable lesion FES-positive) are
    bars of their own, apart from the 10-point bins of the scores strictly between them, so the homogeneous
    patients are never pooled with those just below 100.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    hs = analysis["hs"].dropna()
    inner = hs[(hs > 0) & (hs < 100)]
    edges = np.arange(0, 101, 10)
    ax.hist(inner, bins=edges, color="#4393c3", edgecolor="white", label="0 < HS < 100 (10-point bins)")
    for x, value, colour, name in ((-7, 0, _STATUS_COLOURS["negative"], "HS = 0 (no FES-positive lesion)"),
                                   (107, 100, _STATUS_COLOURS["positive"], "HS = 100 (ER-homogeneous)")):
        count = int((hs == value).sum())
        ax.bar(x, count, width=8, color=colour, edgecolor="white", label=name)
        ax.text(x, count, str(count), ha="center", va="bottom", fontsize=8)
    ax.set_xticks([-7, *edges[2:-1:2], 107], ["0", *[str(e) for e in edges[2:-1:2]], "100"])
    ax.axvline(101.5, color="black", lw=0.8)
    ax.axvline(-1.5, color="black", lw=0.8)
    ax.set_xlim(-13, 113)
    ax.set_xlabel("Heterogeneity score (% FES-positive of assessable lesions)")
    ax.set_ylabel("Patients")
    ax.legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    return _detached(fig)


def plot_patient_flow(flow: pd.DataFrame):
    """Flow diagram: boxes and arrows from the parent trial to each analysis set, with who leaves and why.

    The chain of sets each coming from the one before runs down the left; at every step a box on the right
    says how many patients leave and why. Sets taken from the last set of the chain (complete-case and
    sensitivity subsets) sit side by side below it.

    Parameters
    ----------
    flow : DataFrame
        From :func:`sonimage_utils.descriptive.compute_patient_flow` (``step``, ``set``, ``patients``,
        ``left_out``, ``reason``, ``parent``).
    """
    import textwrap

    has_children = flow["step"].isin(set(flow["parent"]))
    chain = [r for _, r in flow[has_children].iterrows()]
    leaves = flow[~has_children]
    if len(leaves) and not leaves["parent"].eq(chain[-1]["step"]).all():
        raise ValueError("every set outside the chain must come from the chain's last set")
    n_rows = len(chain) + (1.3 if len(leaves) else 0)
    fig, ax = plt.subplots(figsize=(9, 1.3 * n_rows + 0.2))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, n_rows)
    ax.axis("off")
    box = dict(boxstyle="round,pad=0.4", facecolor="#f0f0f0", edgecolor="black", lw=0.8)
    side = dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor="#969696", lw=0.8, ls="--")
    arrow = dict(arrowstyle="-|>", color="black", lw=0.8)

    def text(r):
        return f"{textwrap.fill(str(r['set']), 40)}\nn = {format_count(r['patients'])}"

    def reason(r):
        return textwrap.fill(f"Left out: {format_count(r['left_out'])}", 44) + "\n" + "\n".join(
            textwrap.fill(part.strip(), 44) for part in str(r["reason"]).split(";"))

    ys = [n_rows - 0.55 - i for i in range(len(chain))]
    for i, (r, y) in enumerate(zip(chain, ys)):
        ax.text(0.27, y, text(r), ha="center", va="center", fontsize=9, bbox=box)
        if i:
            ax.annotate("", xy=(0.27, y + 0.3), xytext=(0.27, ys[i - 1] - 0.3), arrowprops=arrow)
            mid = (y + ys[i - 1]) / 2
            ax.annotate("", xy=(0.55, mid), xytext=(0.27, mid), arrowprops=arrow)
            ax.text(0.56, mid, reason(r), ha="left", va="center", fontsize=8, bbox=side)
    if len(leaves):
        y = ys[-1] - 0.85
        xs = np.linspace(0.2, 0.8, len(leaves)) if len(leaves) > 1 else [0.27]
        for x, (_, r) in zip(xs, leaves.iterrows()):
            ax.annotate("", xy=(x, y + 0.08), xytext=(0.27, ys[-1] - 0.3), arrowprops=arrow)
            ax.text(x, y, f"{text(r)}\n{reason(r)}", ha="center", va="top", fontsize=8, bbox=box)
    fig.tight_layout()
    return _detached(fig)


def plot_scan_quality(scans: pd.DataFrame, uptake_windows: dict, activity_windows: dict):
    """Uptake time against injected activity per tracer, with that tracer's protocol windows shaded.

    Parameters
    ----------
    scans : DataFrame
    uptake_windows, activity_windows : dict
        Tracer -> (low, high), minutes and MBq.
    """
    tracers = sorted(scans["tracer"].unique())
    fig, axes = plt.subplots(1, len(tracers), figsize=(5 * len(tracers), 3.8), squeeze=False)
    for ax, tracer in zip(axes[0], tracers):
        s = scans[scans["tracer"] == tracer]
        lo, hi = uptake_windows[tracer]
        alo, ahi = activity_windows[tracer]
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
