"""Figures of external validation: calibration at the horizon, AUC(t) over time, decision curve, and the
distribution of the linear predictor per cohort.

Graphics layer only: each function takes results computed elsewhere (DataFrames of
:mod:`sonimage_utils.external_validation.calibration`, :mod:`sonimage_utils.external_validation.bootstrap`,
:mod:`sonimage_utils.external_validation.decision_curve`) and returns a :class:`matplotlib.figure.Figure`;
nothing is shown.
Figures are pyplot figures (so that a notebook's inline display renders them); the caller closes them
(:func:`sonimage_utils.pipeline.report.save_figure` does).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sonimage_utils.tables.labels import label

__all__ = ["plot_calibration", "plot_auc_curve", "plot_decision_curve", "plot_lp_distribution"]

_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def plot_calibration(curve: pd.DataFrame | None, grouped: pd.DataFrame | None = None, risk=None, *,
                     horizon_label: str = "t", title: str | None = None, max_risk: float | None = None,
                     group_label: str = "Risk groups: Kaplan-Meier (95% CI)") -> Figure:
    """Calibration plot at the horizon: smoothed curve with its band, grouped points, prediction histogram.

    Parameters
    ----------
    curve : pandas.DataFrame or None
        None: no smoothed curve (too few distinct predictions). Else ``predicted``, ``observed`` and optionally
        ``ci_low``, ``ci_high``
        (:func:`~sonimage_utils.external_validation.bootstrap.bootstrap_calibration_curve`).
    grouped : pandas.DataFrame, optional
        ``predicted``, ``observed``, ``ci_low``, ``ci_high``
        (:func:`~sonimage_utils.external_validation.calibration.compute_grouped_calibration`); a group without an
        interval (one patient, or no event by the horizon) is not drawn (the caller says so).
    risk : array-like, optional
        Predicted risks, drawn as a histogram along the bottom.
    horizon_label : str
        E.g. ``"24 months"`` for the axis labels.
    title : str, optional
    max_risk : float, optional
        Axes from 0 to ``max_risk``; default: a square zoomed on the values shown (tenths, with a margin). Pass
        the same value to every plot of a chapter for the same axes.
    group_label : str
        Legend of the grouped points.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = plt.figure(figsize=(5.6, 5.2))
    ax = fig.add_subplot()
    if curve is None:
        curve = pd.DataFrame({"predicted": [], "observed": []})
    vals = [curve["predicted"].max(), curve["observed"].max()]
    if grouped is not None:
        vals += [grouped["predicted"].max(), np.nanmax(grouped["ci_high"].to_numpy(dtype=float))]
    lows = [curve["predicted"].min(), curve["observed"].min()]
    if {"ci_low"} <= set(curve.columns):
        lows.append(np.nanmin(curve["ci_low"].to_numpy(dtype=float)))
        vals.append(np.nanmax(curve["ci_high"].to_numpy(dtype=float)))
    if grouped is not None:
        lows.append(np.nanmin(grouped["ci_low"].to_numpy(dtype=float)))
    if max_risk is not None:
        bottom, top = 0.0, max_risk
    else:  # zoom on the data, square, with a margin, inside [0, 1]
        bottom = max(0.0, np.floor(10 * np.nanmin(lows) - 0.5) / 10)
        top = min(1.0, np.ceil(10 * np.nanmax(vals) + 0.5) / 10)
    ax.plot([bottom, top], [bottom, top], ls="--", color="grey", lw=1, label="Ideal calibration")
    if {"ci_low", "ci_high"} <= set(curve.columns):
        ax.fill_between(curve["predicted"], curve["ci_low"], curve["ci_high"], color=_COLORS[0], alpha=0.2, lw=0,
                        label="95% bootstrap band")
    if len(curve):
        ax.plot(curve["predicted"], curve["observed"], color=_COLORS[0], lw=2, label="Smoothed (secondary Cox, RCS)")
    if grouped is not None:
        # a group without an interval (one patient; no event by the horizon, a zero-width interval) is not drawn
        g = grouped.dropna(subset=["observed", "ci_low", "ci_high"])
        g = g[g["ci_high"] > g["ci_low"]]
        yerr = np.vstack([g["observed"] - g["ci_low"], g["ci_high"] - g["observed"]]).clip(min=0)
        ax.errorbar(g["predicted"], g["observed"], yerr=yerr, fmt="o", color=_COLORS[1], ms=5, capsize=3,
                    label=group_label)
    if risk is not None:
        r = np.asarray(risk, dtype=float)
        hist_ax = ax.twinx()
        lo, hi = float(np.min(r)), float(np.max(r))
        width = max((hi - lo) / 25, (top - bottom) / 200)
        bins = np.arange(lo, hi + width, width)
        counts = hist_ax.hist(r, bins=bins, color="grey", alpha=0.35)[0]
        hist_ax.set_ylim(0, 5 * max(1, counts.max()))
        hist_ax.set_yticks([])
    ax.set_xlim(bottom, top)
    ax.set_ylim(bottom, top)
    ax.set_xlabel(f"Predicted risk of PFS1 event by {horizon_label}")
    ax.set_ylabel(f"Observed risk by {horizon_label}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_auc_curve(auc: pd.DataFrame, *, time_label: str = "Months", horizon: float | None = None,
                   title: str | None = None) -> Figure:
    """Cumulative/dynamic AUC over time, one line (and band) per cohort.

    Parameters
    ----------
    auc : pandas.DataFrame
        ``time``, ``auc``, optionally ``ci_low``, ``ci_high`` and ``cohort``.
    horizon : float, optional
        Marked with a vertical line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = plt.figure(figsize=(6.0, 4.0))
    ax = fig.add_subplot()
    groups = auc.groupby("cohort", sort=False) if "cohort" in auc.columns else [(None, auc)]
    for i, (name, d) in enumerate(groups):
        c = _COLORS[i % len(_COLORS)]
        if {"ci_low", "ci_high"} <= set(d.columns):
            ax.fill_between(d["time"], d["ci_low"], d["ci_high"], color=c, alpha=0.15, lw=0)
        ax.plot(d["time"], d["auc"], color=c, lw=2, marker="o", ms=3, label=name)
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    if horizon is not None:
        ax.axvline(horizon, color="grey", ls="--", lw=1)
    ax.set_ylim(0.3, 1.0)
    ax.set_xlabel(time_label)
    ax.set_ylabel(label("auc"))
    if "cohort" in auc.columns:
        ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_decision_curve(nb: pd.DataFrame, *, model_label: str = "Model", extra: dict | None = None,
                        max_threshold: float | None = None, title: str | None = None) -> Figure:
    """Decision curve: net benefit of the model against treat-all and treat-none.

    Parameters
    ----------
    nb : pandas.DataFrame
        ``threshold``, ``net_benefit_model``, ``net_benefit_all``
        (:func:`~sonimage_utils.external_validation.decision_curve.compute_net_benefit`).
    model_label : str
    extra : dict of str to pandas.DataFrame, optional
        Further models (e.g. the recalibrated one), drawn with their ``net_benefit_model``.
    max_threshold : float, optional
        Right end of the threshold axis (default: the largest threshold with a patient above it).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = plt.figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    x_max = max_threshold if max_threshold is not None else float(nb.loc[nb["n_above"] > 0, "threshold"].max()
                                                                   if "n_above" in nb else nb["threshold"].max())
    d = nb[nb["threshold"] <= x_max]
    ax.plot(d["threshold"], d["net_benefit_all"], color="grey", lw=1.5, label="Treat all")
    ax.axhline(0, color="black", lw=1, label="Treat none")
    ax.plot(d["threshold"], d["net_benefit_model"], color=_COLORS[0], lw=2, label=model_label)
    for i, (name, other) in enumerate((extra or {}).items(), start=1):
        o = other[other["threshold"] <= x_max]
        ax.plot(o["threshold"], o["net_benefit_model"], color=_COLORS[i % len(_COLORS)], lw=1.5, ls="--", label=name)
    top = float(np.nanmax(d[["net_benefit_all", "net_benefit_model"]].to_numpy()))
    ax.set_ylim(-0.05 * max(top, 0.1), 1.1 * max(top, 0.05))
    ax.set_xlim(0, x_max)
    ax.set_xlabel("Threshold probability")
    ax.set_ylabel("Net benefit")
    ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_lp_distribution(lp_by_cohort: dict, *, xlabel: str = "Linear predictor (prognostic model)",
                         title: str | None = None) -> Figure:
    """Distribution of the linear predictor in each cohort (density histograms and medians).

    Parameters
    ----------
    lp_by_cohort : dict of str to array-like
        Cohort name -> linear predictor of its patients.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If no cohort has a finite value.
    """
    arrays = {k: np.asarray(v, dtype=float) for k, v in lp_by_cohort.items()}
    # values to 10 decimals: patients with equal predictors share one value, and a spike of them on a bin edge
    # must not change bins with the last bit of a coefficient (the figure is the same on every platform)
    arrays = {k: np.round(v[np.isfinite(v)], 10) for k, v in arrays.items() if np.isfinite(v).any()}
    if not arrays:
        raise ValueError("no finite linear predictor to plot")
    allv = np.concatenate(list(arrays.values()))
    bins = np.linspace(allv.min(), allv.max(), 31) if np.ptp(allv) > 0 else 10
    fig = plt.figure(figsize=(6.0, 3.8))
    ax = fig.add_subplot()
    for i, (name, v) in enumerate(arrays.items()):
        c = _COLORS[i % len(_COLORS)]
        ax.hist(v, bins=bins, density=True, histtype="step", lw=2, color=c, label=f"{name} (n = {v.size})")
        ax.axvline(np.median(v), color=c, ls="--", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Density")
    ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
