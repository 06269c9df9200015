"""Figures of objective 4. Each function takes results (DataFrames/arrays) and returns a Figure.

No statistics here and no ``plt.show()``: the notebook saves, shows and closes the returned Figure
(pyplot figures, so that the notebook's inline display renders them).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter

__all__ = [
    "plot_risk_group_effects",
    "plot_benefit_distribution",
    "plot_calibration_for_benefit",
    "plot_bootstrap_calibration",
    "plot_penalty_cv",
    "plot_individual_benefit_intervals",
]

_CDK, _ET = "#1b6f9c", "#c0504d"


def _detached(fig: Figure) -> Figure:
    """Take ``fig`` out of pyplot's list of open figures, so that a notebook shows it only when asked
    (a chapter module builds several figures in one cell; the inline backend would show them all there)."""
    plt.close(fig)
    return fig


def plot_risk_group_effects(table, *, t: float) -> Figure:
    """Hazard ratio (left, log scale) and absolute PFS difference at ``t`` (right) by risk group.

    Parameters
    ----------
    table : DataFrame
        From ``benefit_risk_groups.compute_risk_group_effects``.
    t : float
        Horizon in months (axis label).
    """
    fig = plt.figure(figsize=(9, 3.6), layout="constrained")
    ax_hr, ax_abs = fig.subplots(1, 2)
    y = np.arange(len(table))[::-1]
    labels = [f"G{g} (n={n}, {e} events)" for g, n, e in zip(table["risk_group"], table["n"], table["n_events"])]
    hr, lo, hi = (table[c].to_numpy(float) for c in ("hr", "hr_ci_low", "hr_ci_high"))
    ok = np.isfinite(hr) & np.isfinite(lo) & np.isfinite(hi)
    ax_hr.errorbar(hr[ok], y[ok], xerr=[hr[ok] - lo[ok], hi[ok] - hr[ok]], fmt="s", color=_CDK, capsize=3)
    ax_hr.axvline(1, color="grey", lw=0.8, ls="--")
    ax_hr.set_xscale("log")
    lo_lim = np.nanmin(np.r_[lo[ok], 0.5]) if ok.any() else 0.1
    hi_lim = np.nanmax(np.r_[hi[ok], 2.0]) if ok.any() else 10
    ticks = [v for v in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if lo_lim / 1.5 <= v <= hi_lim * 1.5]
    ax_hr.xaxis.set_major_locator(FixedLocator(ticks))
    ax_hr.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax_hr.xaxis.set_minor_formatter(NullFormatter())
    ax_hr.set_yticks(y, labels)
    ax_hr.set_xlabel("HR of ET+CDK4/6i vs ET (95% CI)")
    ax_hr.set_title("Relative effect by risk group", fontsize=10)
    d, dl, dh = (table[c].to_numpy(float) for c in ("abs_benefit", "abs_ci_low", "abs_ci_high"))
    ax_abs.errorbar(100 * d, y, xerr=[100 * (d - dl), 100 * (dh - d)], fmt="o", color=_CDK, capsize=3,
                    label="observed (Kaplan-Meier)")
    if "predicted_benefit" in table:
        ax_abs.plot(100 * table["predicted_benefit"], y, "x", color="black", label="predicted (mean)")
    ax_abs.axvline(0, color="grey", lw=0.8, ls="--")
    ax_abs.set_yticks(y, [f"G{g}" for g in table["risk_group"]])
    ax_abs.set_xlabel(f"PFS difference at {t:g} months, points (95% CI)")
    ax_abs.set_title("Absolute effect by risk group", fontsize=10)
    ax_hr.set_ylim(y.min() - 0.5, y.max() + 0.5)
    ax_abs.set_ylim(y.min() - 0.5, y.max() + 0.5)
    ax_abs.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    return _detached(fig)


def plot_benefit_distribution(benefit, *, threshold: float, t: float, label: str = "risk-based model") -> Figure:
    """Histogram of predicted individual benefit (percentage points) with the clinical threshold."""
    benefit = 100 * np.asarray(benefit, dtype=float)
    fig = plt.figure(figsize=(6, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.hist(benefit, bins=20, color=_CDK, alpha=0.8, edgecolor="white")
    ax.axvline(100 * threshold, color=_ET, ls="--", label=f"threshold {100 * threshold:g} points")
    ax.set_xlabel(f"Predicted PFS benefit at {t:g} months of adding CDK4/6i (percentage points)")
    ax.set_ylabel("Patients")
    ax.set_title(f"Predicted individual benefit ({label})", fontsize=10)
    ax.legend(fontsize=8)
    return _detached(fig)


def plot_calibration_for_benefit(table, *, t: float) -> Figure:
    """Observed (KM difference, 95% CI) vs mean predicted benefit per quantile group, with the diagonal."""
    fig = plt.figure(figsize=(4.8, 4.4), layout="constrained")
    ax = fig.subplots()
    p, o = 100 * table["predicted"].to_numpy(float), 100 * table["observed"].to_numpy(float)
    lo, hi = 100 * table["ci_low"].to_numpy(float), 100 * table["ci_high"].to_numpy(float)
    ax.errorbar(p, o, yerr=[o - lo, hi - o], fmt="o", color=_CDK, capsize=3)
    for g, x, yv in zip(table["group"], p, o):
        ax.annotate(f"G{g}", (x, yv), textcoords="offset points", xytext=(5, 3), fontsize=8)
    span = [min(lo.min(), p.min(), 0) - 5, max(hi.max(), p.max()) + 5]
    ax.plot(span, span, color="grey", lw=0.8, ls="--")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel(f"Predicted benefit at {t:g} months (points)")
    ax.set_ylabel(f"Observed benefit at {t:g} months (points)")
    ax.set_title("Calibration for benefit", fontsize=10)
    return _detached(fig)


def plot_bootstrap_calibration(grid, apparent, corrected, predicted_risk, *, t: float) -> Figure:
    """Apparent and optimism-corrected calibration curves at ``t`` with a rug of predicted risks."""
    fig = plt.figure(figsize=(4.8, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="ideal")
    ax.plot(grid, apparent, color=_ET, label="apparent")
    ax.plot(grid, corrected, color=_CDK, label="bias-corrected (bootstrap)")
    ax.plot(predicted_risk, np.full(len(predicted_risk), 0.01), "|", color="black", alpha=0.5)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"Predicted risk of a PFS1 event by {t:g} months")
    ax.set_ylabel("Observed risk")
    ax.legend(fontsize=8, loc="upper left")
    return _detached(fig)


def plot_penalty_cv(cv_table, *, title: str) -> Figure:
    """Cross-validated partial likelihood against the ridge penalty (log scale), the choice marked."""
    fig = plt.figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(cv_table["penalty"], cv_table["cvpl"], "o-", color=_CDK, ms=3)
    best = cv_table.loc[cv_table["selected"]]
    ax.plot(best["penalty"], best["cvpl"], "o", color=_ET, ms=7, label="chosen")
    ax.set_xscale("log")
    ax.set_xlabel("Ridge penalty")
    ax.set_ylabel("Cross-validated log partial likelihood")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _detached(fig)


def plot_individual_benefit_intervals(panels: dict, *, threshold: float, t: float) -> Figure:
    """Each patient's predicted benefit with its bootstrap 95% interval, patients sorted by predicted benefit.

    Parameters
    ----------
    panels : dict
        Title -> DataFrame with ``estimate``, ``ci_low``, ``ci_high`` (proportions; one row per patient), one
        panel each, side by side.
    threshold : float
        Clinically meaningful benefit (dashed line).
    t : float
        Horizon in months (axis label).
    """
    fig = plt.figure(figsize=(4.6 * len(panels), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    for ax, (title, table) in zip(axes, panels.items()):
        tab = table.sort_values("estimate")
        x = np.arange(1, len(tab) + 1)
        est, lo, hi = (100 * tab[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
        ax.vlines(x, lo, hi, color=_CDK, alpha=0.45, lw=1.2, label="95% bootstrap interval")
        ax.plot(x, est, "o", color=_CDK, ms=2.5, label="predicted benefit")
        ax.axhline(0, color="grey", lw=0.8)
        ax.axhline(100 * threshold, color=_ET, ls="--", lw=0.9, label=f"threshold {100 * threshold:g} points")
        ax.set_xlabel("Patients, sorted by predicted benefit")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel(f"Predicted PFS benefit at {t:g} months (points)")
    axes[0].legend(fontsize=8, loc="upper left")
    return _detached(fig)
