"""Figures for the survival chapters. Every function returns a matplotlib Figure and shows nothing.

* :func:`plot_km` - Kaplan-Meier curves with censoring marks, pointwise 95% bands and a number-at-risk table.
* :func:`plot_km_panels` - the same, one panel per subgroup (e.g. arm within heterogeneity group).
* :func:`plot_schoenfeld` - scaled Schoenfeld residuals per term with a smoother (R ``plot(cox.zph(fit))``).
* :func:`plot_forest` - hazard ratios with 95% CIs on a log axis, with patients and events per row.
* :func:`plot_interaction_power` - simulated power against the size of the interaction.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import transforms
from statsmodels.nonparametric.smoothers_lowess import lowess

from sonimage_utils.tables.format import NOT_ESTIMABLE, format_estimate_ci

__all__ = ["plot_km", "plot_km_panels", "plot_schoenfeld", "plot_forest", "plot_interaction_power", "PALETTE"]

#: Okabe-Ito colours (colour-blind safe), in the order groups are drawn.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


def _detached(fig):
    """``fig`` released from pyplot: a notebook's inline backend then shows it only where the notebook asks
    (a chapter module builds figures in one cell that the notebook shows in later ones)."""
    plt.close(fig)
    return fig


def _at_risk(curve: pd.DataFrame, t: float) -> int:
    idx = np.searchsorted(curve["time"].to_numpy(), t, side="left")
    return int(curve["n_risk"].iloc[idx]) if idx < len(curve) else 0


def _tick_step(xmax: float) -> float:
    return 3.0 if xmax <= 24 else 6.0 if xmax <= 60 else 12.0


def _draw_km(ax, ax_tab, km, labels, colors, xmax, step, show_ci, legend_title):
    groups = list(km.curves)
    ticks = np.arange(0, xmax + 1e-9, step)
    for i, g in enumerate(groups):
        c = km.curves[g]
        colour = colors.get(g, PALETTE[i % len(PALETTE)])
        row = km.summary.set_index("group").loc[g]
        t = np.r_[0.0, c["time"].to_numpy()]
        s = np.r_[1.0, c["surv"].to_numpy()]
        label = f"{labels.get(g, g)} (n = {row['n']}, events = {row['n_events']})"
        ax.step(t, s, where="post", color=colour, lw=1.8, label=label)
        if show_ci:
            lo = np.r_[1.0, c["lower"].to_numpy()]
            hi = np.r_[1.0, c["upper"].to_numpy()]
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(t[ok], lo[ok], hi[ok], step="post", color=colour, alpha=0.12, lw=0)
        cens = c[c["n_censor"] > 0]
        ax.plot(cens["time"], cens["surv"], ls="", marker="|", ms=7, mew=1.2, color=colour)
        for j, tick in enumerate(ticks):
            ax_tab.text(tick, len(groups) - 1 - i, str(_at_risk(c, tick)), ha="center", va="center", fontsize=8,
                        color=colour)
        ax_tab.text(-0.02, len(groups) - 1 - i, labels.get(g, g), ha="right", va="center", fontsize=8,
                    color=colour, transform=transforms.blended_transform_factory(ax_tab.transAxes, ax_tab.transData))
    ax.set_xlim(-0.02 * xmax, xmax * 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xticks(ticks)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.grid(alpha=0.25)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper right", fontsize=8, frameon=False, title=legend_title, title_fontsize=8)
    ax_tab.set_xlim(ax.get_xlim())
    ax_tab.set_ylim(-0.6, len(groups) - 0.4)
    ax_tab.set_axis_off()
    ax_tab.set_title("Number at risk", fontsize=8, loc="left", x=-0.0, pad=2)


def plot_km(km, *, labels: dict | None = None, colors: dict | None = None, xmax: float | None = None,
            step: float | None = None, xlabel: str = "Months since randomisation",
            ylabel: str = "Progression-free (PFS1)", show_ci: bool = True, annotation: str | None = None,
            legend_title: str | None = None, figsize=(7.5, 5.2)):
    """Kaplan-Meier curves with number-at-risk table.

    Parameters
    ----------
    km : KaplanMeierResult
    labels, colors : dict, optional
        Group -> display label / colour (default the Okabe-Ito palette).
    xmax : float, optional
        Right end of the time axis (default the last follow-up time).
    step : float, optional
        Spacing of ticks and at-risk counts (default 3, 6 or 12 months by length).
    xlabel, ylabel : str
    show_ci : bool
        Draw the pointwise 95% (log) confidence bands.
    annotation : str, optional
        Text in the lower left, e.g. the log-rank p-value or the HR.
    legend_title : str, optional
    figsize : tuple

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels, colors = labels or {}, colors or {}
    xmax = xmax or max(float(c["time"].max()) for c in km.curves.values())
    step = step or _tick_step(xmax)
    n = len(km.curves)
    fig, (ax, ax_tab) = plt.subplots(2, 1, figsize=figsize, gridspec_kw={"height_ratios": [5, 0.45 + 0.3 * n]})
    _draw_km(ax, ax_tab, km, labels, colors, xmax, step, show_ci, legend_title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if annotation:
        ax.text(0.02, 0.04, annotation, transform=ax.transAxes, fontsize=9, va="bottom")
    fig.tight_layout()
    fig.subplots_adjust(left=max(0.16, 0.012 * max(len(labels.get(g, g)) for g in km.curves)))
    return _detached(fig)


def plot_km_panels(panels: dict, *, labels: dict | None = None, colors: dict | None = None,
                   annotations: dict | None = None, xlabel: str = "Months since randomisation",
                   ylabel: str = "Progression-free (PFS1)", show_ci: bool = False, legend_title: str | None = None,
                   figsize=None):
    """Kaplan-Meier curves in side-by-side panels (one per subgroup), shared axes, each with its at-risk table.

    Parameters
    ----------
    panels : dict of str to KaplanMeierResult
        Panel title -> curves (e.g. ``{"Homogeneous": fit_km(hom, group="arm"), ...}``).
    labels, colors : dict, optional
        Group -> label / colour, shared by all panels.
    annotations : dict, optional
        Panel title -> text in the lower left.
    xlabel, ylabel, show_ci, legend_title, figsize
        As :func:`plot_km`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels, colors, annotations = labels or {}, colors or {}, annotations or {}
    k = len(panels)
    xmax = max(float(c["time"].max()) for km in panels.values() for c in km.curves.values())
    step = _tick_step(xmax)
    n = max(len(km.curves) for km in panels.values())
    fig, axes = plt.subplots(2, k, figsize=figsize or (5.2 * k, 5.0), squeeze=False,
                             gridspec_kw={"height_ratios": [5, 0.45 + 0.3 * n]})
    for j, (title, km) in enumerate(panels.items()):
        _draw_km(axes[0, j], axes[1, j], km, labels, colors, xmax, step, show_ci, legend_title)
        axes[0, j].set_title(title)
        axes[0, j].set_xlabel(xlabel)
        if title in annotations:
            axes[0, j].text(0.02, 0.04, annotations[title], transform=axes[0, j].transAxes, fontsize=9)
    axes[0, 0].set_ylabel(ylabel)
    fig.tight_layout()
    fig.subplots_adjust(left=0.12, wspace=0.35)
    return _detached(fig)


def plot_schoenfeld(ph, *, labels: dict | None = None, xlabel: str = "Months since randomisation",
                    frac: float = 2 / 3, figsize=None, smooths: dict | None = None):
    """Scaled Schoenfeld residuals against time, one panel per term, with a smoother and its band.

    A flat smoother at the fitted coefficient (dashed line) is what proportional hazards predicts; the
    panel title gives the score test of :func:`~sonimage_utils.survival.ph.compute_ph_test`. With
    ``smooths`` (term -> :func:`~sonimage_utils.survival.ph.compute_zph_smooth`), the regression-spline fit
    and its pointwise band are drawn, as R ``plot.cox.zph``; without, a lowess line (no band) guides the eye.

    Parameters
    ----------
    ph : PHTestResult
    labels : dict, optional
        Term -> display label.
    xlabel : str
    frac : float
        Lowess span (only without ``smooths``).
    figsize : tuple, optional
    smooths : dict of str to pandas.DataFrame, optional
        Term -> ``time``, ``fit``, ``lower``, ``upper``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = labels or {}
    terms = [t for t in ph.summary["term"] if t != "GLOBAL"]
    fig, axes = plt.subplots(1, len(terms), figsize=figsize or (4.2 * len(terms), 3.6), squeeze=False)
    tests = ph.summary.set_index("term")
    r = ph.residuals
    for ax, term in zip(axes[0], terms):
        ax.scatter(r["time"], r[term], s=12, color="#555555", alpha=0.7, lw=0)
        if smooths and term in smooths:
            sm = smooths[term]
            ax.fill_between(sm["time"], sm["lower"], sm["upper"], color=PALETTE[0], alpha=0.18, lw=0,
                            label="spline +/- 2 SE")
            ax.plot(sm["time"], sm["fit"], color=PALETTE[0], lw=2, label="regression spline")
        else:
            sm = lowess(r[term], r["time"], frac=frac, return_sorted=True)
            ax.plot(sm[:, 0], sm[:, 1], color=PALETTE[0], lw=2, label="lowess")
        ax.axhline(ph.coef[term], color=PALETTE[1], ls="--", lw=1.2, label="fitted coefficient")
        p = tests.loc[term, "p"]
        ax.set_title(f"{labels.get(term, term)}\nPH test p = {p:.3f}" if p >= 0.001 else
                     f"{labels.get(term, term)}\nPH test p < 0.001", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.25)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0, 0].set_ylabel("Scaled Schoenfeld residual, beta(t)")
    axes[0, -1].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _detached(fig)


def plot_forest(rows: pd.DataFrame, *, xlabel: str = "Hazard ratio (95% CI)", favours=None, digits: int = 2,
                figsize=None, note: str | None = None):
    """Forest plot of hazard ratios on a log scale, with patients, events and HR (95% CI) printed per row.

    Parameters
    ----------
    rows : pandas.DataFrame
        ``label``, ``n``, ``n_events``, ``hr``, ``hr_ci_low``, ``hr_ci_high``; optional ``bold`` (bool) for
        summary rows drawn as diamonds. Rows with a missing HR are listed as "not estimable".
    xlabel : str
    favours : tuple of str, optional
        Texts under the axis left and right of HR = 1, e.g. ``("favours ET+CDK4/6i", "favours ET")``.
    digits : int
    figsize : tuple, optional
    note : str, optional
        A line printed above the rows, e.g. the interaction test (the caller formats it from its result).

    Returns
    -------
    matplotlib.figure.Figure
    """
    k = len(rows)
    # layout in inches so long labels never run into the number columns
    label_in = 0.2 + 0.075 * max(len(str(v)) for v in rows["label"])
    cols_in, plot_in, hr_in = 1.5, 3.6, 1.8
    width = label_in + cols_in + plot_in + hr_in + 0.3
    top_in = 0.45 + (0.35 if note else 0.0)
    fig, ax = plt.subplots(figsize=figsize or (width, 1.3 + 0.45 * k + top_in - 0.45))
    width = fig.get_figwidth()
    x_label, x_n, x_ev, x_hr = (-(label_in + cols_in) / plot_in, -0.8 / plot_in, -0.15 / plot_in,
                                1 + 0.15 / plot_in)
    y = np.arange(k)[::-1]
    finite = rows[["hr_ci_low", "hr_ci_high"]].to_numpy(float)
    finite = finite[np.isfinite(finite)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.5, 2.0)
    lo, hi = min(lo, 0.8) / 1.15, max(hi, 1.25) * 1.15
    text = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    for yi, (_, r) in zip(y, rows.iterrows()):
        bold = r.get("bold", False) is True or r.get("bold", False) is np.True_
        weight = "bold" if bold else "normal"
        ax.text(x_label, yi, str(r["label"]), transform=text, va="center", fontsize=9, weight=weight)
        ax.text(x_n, yi, str(int(r["n"])), transform=text, va="center", ha="right", fontsize=9)
        ax.text(x_ev, yi, str(int(r["n_events"])), transform=text, va="center", ha="right", fontsize=9)
        if not np.isfinite(r["hr"]):
            ax.text(x_hr, yi, NOT_ESTIMABLE, transform=text, va="center", fontsize=9)
            continue
        ax.text(x_hr, yi, format_estimate_ci(r["hr"], r["hr_ci_low"], r["hr_ci_high"], digits),
                transform=text, va="center", fontsize=9, weight=weight)
        if bold:
            ax.fill([r["hr_ci_low"], r["hr"], r["hr_ci_high"], r["hr"]], [yi, yi + 0.25, yi, yi - 0.25],
                    color="black")
        else:
            ax.plot([r["hr_ci_low"], r["hr_ci_high"]], [yi, yi], color="black", lw=1.3)
            ax.plot(r["hr"], yi, "s", color=PALETTE[0], ms=7)
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_ylim(-0.7, k - 0.3)
    ax.set_yticks([])
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.set_xlabel(xlabel)
    for x, head, ha in ((x_label, "Subgroup", "left"), (x_n, "Patients", "right"), (x_ev, "Events", "right"),
                        (x_hr, "HR (95% CI)", "left")):
        ax.text(x, k - 0.35, head, transform=text, fontsize=9, weight="bold", ha=ha, va="bottom")
    height = fig.get_figheight()
    if favours:
        under = transforms.blended_transform_factory(ax.transData, fig.transFigure)
        ax.text(0.97, 0.12 / height, f"\u2190 {favours[0]}", transform=under, ha="right", fontsize=8)
        ax.text(1.03, 0.12 / height, f"{favours[1]} \u2192", transform=under, ha="left", fontsize=8)
    left = (label_in + cols_in + 0.1) / width
    fig.subplots_adjust(left=left, right=left + plot_in / width, top=1 - top_in / height, bottom=0.85 / height)
    if note:
        fig.text(0.1 / width, 1 - 0.12 / height, note, ha="left", va="top", fontsize=9, style="italic")
    return _detached(fig)


def plot_interaction_power(power: pd.DataFrame, *, target: float = 0.8, alpha: float = 0.05, figsize=(6.5, 4.2),
                           note: str | None = None):
    """Simulated power of the interaction test against the true ratio of arm HRs (log scale).

    Parameters
    ----------
    power : pandas.DataFrame
        Output of :func:`~sonimage_utils.survival.power.compute_interaction_power`.
    target : float
        Conventional power target drawn as a line.
    alpha : float
        Significance level drawn as a line (the power at ratio 1 should sit on it).
    figsize : tuple
    note : str, optional
        The simulation's design (e.g. its censoring model), printed under the axes, wrapped.

    Returns
    -------
    matplotlib.figure.Figure
    """
    p = power.sort_values("hr_interaction")
    fig, ax = plt.subplots(figsize=figsize)
    ax.errorbar(p["hr_interaction"], p["power"], yerr=1.96 * p["power_mc_se"], fmt="o-", color=PALETTE[0],
                capsize=3, label="simulated power (95% MC interval)")
    ax.axhline(target, color="grey", ls="--", lw=1, label=f"{target:.0%} power")
    ax.axhline(alpha, color=PALETTE[1], ls=":", lw=1, label=f"alpha = {alpha:g}")
    ax.set_xscale("log")
    ticks = sorted(set(np.round(p["hr_interaction"], 2)))
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("True ratio of arm HRs, heterogeneous / homogeneous (log scale)")
    ax.set_ylabel("Power of the interaction LR test")
    ax.grid(alpha=0.25)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="upper center")
    if note:
        wrapped = textwrap.fill(note, width=int(14 * fig.get_figwidth()))
        lines = wrapped.count("\n") + 1
        fig.set_figheight(fig.get_figheight() + 0.17 * lines)
        fig.tight_layout(rect=(0, 0.17 * lines / fig.get_figheight(), 1, 1))
        fig.text(0.02, 0.02, wrapped, ha="left", va="bottom", fontsize=7.5)
    else:
        fig.tight_layout()
    return _detached(fig)
