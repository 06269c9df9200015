"""Figures of objective 3: waterfall, uptake scatter, BOR stacked bar, spider and swimmer plots.

Every function takes the DataFrames of :mod:`sonimage_utils.lesions` /
:mod:`sonimage_utils.recist.summary` and returns a matplotlib Figure (never shows it). Colours are
colour-blind safe (Okabe-Ito).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sonimage_utils.plots.figure import MAX_VECTOR_MARKS
from sonimage_utils.recist.summary import BOR_ORDER
from sonimage_utils.tables.labels import LABELS

__all__ = ["FES_COLORS", "GROUP_COLORS", "BOR_COLORS", "plot_waterfall", "plot_uptake_scatter",
           "plot_bor_stacked", "plot_spider", "plot_swimmer"]

FES_COLORS = {"positive": "#0072B2", "negative": "#D55E00", "not_assessable": "#999999"}
GROUP_COLORS = {"homogeneous": "#0072B2", "heterogeneous": "#D55E00", "homogeneous_positive": "#0072B2",
                "mixed": "#E69F00", "homogeneous_negative": "#D55E00", "not assessable": "#999999"}
BOR_COLORS = {"CR": "#006D2C", "PR": "#41AB5D", "SD": "#F0E442", "NON_CR_NON_PD": "#56B4E9", "PD": "#D55E00",
              "NE": "#BBBBBB"}


def _label(x) -> str:
    """The label of a level from the one label table; an unlisted name with its underscores as spaces."""
    return LABELS.get(str(x), str(x).replace("_", " "))


def _detached(fig: Figure) -> Figure:
    """Take ``fig`` out of pyplot's list of open figures, so that a notebook shows it only when asked
    (a chapter module builds several figures in one cell; the inline backend would show them all there)."""
    plt.close(fig)
    return fig


def _reference_lines(ax, horizontal=True):
    draw = ax.axhline if horizontal else ax.axvline
    draw(-30, color="0.3", ls="--", lw=0.9)
    draw(20, color="0.3", ls=":", lw=0.9)
    draw(0, color="0.6", lw=0.6)


def plot_waterfall(data: pd.DataFrame, *, value: str = "best_pct_change", color_by: str = "fes_status",
                   facet: str | None = None, colors: dict | None = None, title: str | None = None) -> Figure:
    """Waterfall plot: one bar per lesion, sorted from most growth to most shrinkage.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per lesion with ``value`` and ``color_by`` (e.g. from ``build_lesion_response_set``); rows
        with a missing ``value`` are left out (say how many in the caption).
    value : str
        % change column.
    color_by : str
        Category that colours the bars (default FES status).
    facet : str, optional
        One panel per level of this column (e.g. ``organ_group``).
    colors : dict, optional
        Level -> colour (default :data:`FES_COLORS`).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Dashed line at -30% (response), dotted at +20% (the RECIST PD size threshold).
    """
    colors = colors or FES_COLORS
    d = data[data[value].notna()]
    panels = [(None, d)] if facet is None else [(k, g) for k, g in d.groupby(facet, sort=True, observed=True)]
    widths = [max(len(g), 3) for _, g in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(4 + 0.06 * sum(widths), 13), 4.2), squeeze=False,
                             sharey=True, gridspec_kw={"width_ratios": widths})
    for ax, (key, g) in zip(axes[0], panels):
        g = g.sort_values(value, ascending=False, kind="mergesort")
        x = np.arange(len(g))
        h = g[value].clip(upper=100).to_numpy(dtype=float)
        # one collection of rectangles (ax.bar adds one artist per bar: minutes at 100,000 lesions); rasterised
        # in vector output when there are too many bars to draw as paths
        boxes = np.stack([np.column_stack([x - 0.425, np.zeros_like(h)]), np.column_stack([x - 0.425, h]),
                          np.column_stack([x + 0.425, h]), np.column_stack([x + 0.425, np.zeros_like(h)])], axis=1)
        ax.add_collection(PolyCollection(boxes, facecolors=[colors.get(str(c), "#999999") for c in g[color_by]],
                                         edgecolors="none", rasterized=len(g) > MAX_VECTOR_MARKS))
        _reference_lines(ax)
        ax.set_xticks([])
        ax.set_xlim(-0.8, max(len(g), 3) - 0.2)
        ax.set_xlabel(f"{_label(key)} (n = {len(g)})" if key is not None else f"Lesions (n = {len(g)})")
    axes[0, 0].set_ylabel("Best change from baseline (%)")
    axes[0, 0].set_ylim(-105, max(45, float(np.nanmax(d[value].clip(upper=100))) + 5) if len(d) else 45)
    present = [k for k in colors if k in set(d[color_by].astype(str))]
    handles = [Patch(color=colors[k], label=LABELS.get(f"fes_{k}", _label(k)) if color_by == "fes_status" else _label(k))
               for k in present]
    handles += [Line2D([], [], color="0.3", ls="--", label="-30%"), Line2D([], [], color="0.3", ls=":", label="+20%")]
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    return _detached(fig)


def plot_uptake_scatter(data: pd.DataFrame, *, y: str = "best_pct_change",
                        x_columns=(("fes_suvmax_assessable", "FES SUVmax"), ("fdg_suvmax", "FDG SUVmax")),
                        patient: str = "patient_id", color_by: str = "het_group", marker_by: str | None = None,
                        fes_threshold: float | None, log_x: bool = False, colors: dict | None = None) -> Figure:
    """Lesion % change against baseline uptake, one panel per tracer; colour = patient group, marker = arm.

    Lesions of one patient are joined by a thin grey line (they are not independent); colour shows the
    patient's heterogeneity group (a handful of colours, never one per patient) and the marker the arm.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per lesion.
    y : str
    x_columns : sequence of (column, label)
    patient : str
        Cluster column (the grey lines).
    color_by : str
        Patient-level category that colours the points (missing -> "not assessable").
    marker_by : str or None
        Patient-level category that sets the marker (ET: circle, ET+CDK4/6i: triangle).
    fes_threshold : float or None
        Vertical line on the FES panel.
    log_x : bool
        Log2 x axis for FES SUVmax (when the lesion models take it on the log scale).
    colors : dict, optional
        Level -> colour (default :data:`GROUP_COLORS`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    colors = colors or GROUP_COLORS
    markers = {"ET": "o", "ET+CDK4/6i": "^"}
    fig, axes = plt.subplots(1, len(x_columns), figsize=(5.2 * len(x_columns), 4.6), squeeze=False, sharey=True)
    grp = data[color_by].astype(object).where(data[color_by].notna(), "not assessable")
    mk = data[marker_by].astype(object) if marker_by else pd.Series("all", index=data.index)
    for ax, (xc, lab) in zip(axes[0], x_columns):
        ok = data[xc].notna() & data[y].notna()
        d = data[ok]
        # a patient's lesions joined in order of uptake: one collection of segments, not one line per patient
        s_ = d.assign(_pid=d[patient].astype(str)).sort_values(["_pid", xc], kind="mergesort")
        same = (s_["_pid"].to_numpy()[1:] == s_["_pid"].to_numpy()[:-1])
        pts = s_[[xc, y]].to_numpy(dtype=float)
        many = len(d) > MAX_VECTOR_MARKS
        ax.add_collection(LineCollection(np.stack([pts[:-1][same], pts[1:][same]], axis=1), colors="0.75",
                                         linewidths=0.5, zorder=1, rasterized=many))
        for (gv, mv), idx in d.groupby([grp[ok], mk[ok]], sort=True).groups.items():
            ax.scatter(d.loc[idx, xc], d.loc[idx, y], color=colors.get(str(gv), "#555555"),
                       marker=markers.get(str(mv), "o"), s=24, edgecolor="white", linewidth=0.4, zorder=3,
                       rasterized=many)
        ax.autoscale_view()
        ax.axhline(-30, color="0.3", ls="--", lw=0.9)
        ax.axhline(0, color="0.6", lw=0.6)
        if fes_threshold is not None and xc.startswith("fes"):
            ax.axvline(fes_threshold, color="0.3", ls=":", lw=0.9)
        log_here = log_x and xc.startswith("fes")
        if log_here:
            ax.set_xscale("log", base=2)
        ax.set_xlabel(f"Baseline lesion {lab}" + (" (log2 scale)" if log_here else ""))
        ax.set_title(f"{len(d)} lesions, {d[patient].nunique()} patients", fontsize=9)
    axes[0, 0].set_ylabel("Best change from baseline (%)")
    present = [k for k in colors if k in set(grp.astype(str))]
    handles = [Line2D([], [], color=colors[k], marker="o", ls="none", label=_label(k)) for k in present]
    if marker_by:
        handles += [Line2D([], [], color="0.3", marker=m, ls="none", label=_label(k))
                    for k, m in markers.items() if k in set(mk.astype(str))]
    handles.append(Line2D([], [], color="0.75", lw=0.8, label="lesions of one patient"))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    return _detached(fig)


def plot_bor_stacked(proportions: pd.DataFrame, counts: pd.DataFrame | None = None) -> Figure:
    """Stacked bar of best overall response per group (proportions within group).

    Parameters
    ----------
    proportions : pandas.DataFrame
        ``tabulate_bor(..., normalize=True)``: rows = groups, columns = response codes.
    counts : pandas.DataFrame, optional
        ``tabulate_bor(...)`` to print n per group under the bars.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    x = np.arange(len(proportions))
    bottom = np.zeros(len(proportions))
    for code in [c for c in BOR_ORDER if c in proportions.columns]:
        h = proportions[code].fillna(0).to_numpy() * 100
        if h.sum() == 0:
            continue
        ax.bar(x, h, bottom=bottom, color=BOR_COLORS[code], label=_label(code), width=0.6, edgecolor="white")
        for xi, hi, bi in zip(x, h, bottom):
            if hi >= 6:
                ax.text(xi, bi + hi / 2, f"{hi:.0f}%", ha="center", va="center", fontsize=8)
        bottom += h
    names = [_label(g) for g in proportions.index]
    if counts is not None:
        names = [f"{n}\n(n = {int(counts.loc[g, 'n'])})" for n, g in zip(names, proportions.index)]
    ax.set_xticks(x, names)
    ax.set_ylabel("Patients (%)")
    ax.set_ylim(0, 100)
    ax.legend(title="Best overall response", bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return _detached(fig)


def plot_spider(trajectories: pd.DataFrame, groups: pd.Series | None = None, *, colors: dict | None = None,
                x: str = "months_from_baseline", y: str = "pct_change_baseline") -> Figure:
    """Spider plot: each patient's target sum of diameters (% change from baseline) over time.

    Parameters
    ----------
    trajectories : pandas.DataFrame
        From ``derive_sod_trajectories`` (``is_progression`` marks the first-PD assessment with a cross).
    groups : pandas.Series, optional
        patient_id -> group label for the colour (missing -> "not assessable").
    colors : dict, optional
        Group -> colour (default :data:`GROUP_COLORS`).
    x, y : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    colors = colors or GROUP_COLORS
    fig, ax = plt.subplots(figsize=(7, 4.5))
    grp = (trajectories["patient_id"].map(groups) if groups is not None
           else pd.Series("all", index=trajectories.index))
    grp = grp.astype(object).where(grp.notna(), "not assessable")
    # one collection of segments for all patients (one line per patient took minutes at 10,000 patients)
    t = trajectories.assign(_g=grp.astype(str)).sort_values(["patient_id", x], kind="mergesort")
    pid = t["patient_id"].to_numpy()
    same = pid[1:] == pid[:-1]
    pts = t[[x, y]].to_numpy(dtype=float)
    seg_colors = [colors.get(g, "#555555") for g in t["_g"].to_numpy()[1:][same]]
    many = len(t) > MAX_VECTOR_MARKS
    ax.add_collection(LineCollection(np.stack([pts[:-1][same], pts[1:][same]], axis=1), colors=seg_colors,
                                     linewidths=0.9, alpha=0.75, rasterized=many))
    first = ~pd.Series(pid).duplicated().to_numpy()
    singles = first & ~np.append(same, False)                         # a patient with one assessment: a dot
    if singles.any():
        ax.scatter(pts[singles, 0], pts[singles, 1], s=4, color=[colors.get(g, "#555555") for g in
                                                                  t["_g"].to_numpy()[singles]], rasterized=many)
    seen = {g: colors.get(g, "#555555") for g in sorted(set(t["_g"]), key=lambda g: (g not in colors, g))}
    prog = t["is_progression"].to_numpy(bool)
    for g, c in seen.items():
        m = prog & (t["_g"].to_numpy() == g)
        ax.scatter(pts[m, 0], pts[m, 1], marker="x", color=c, s=22, zorder=3, rasterized=many)
    ax.autoscale_view()
    _reference_lines(ax)
    ax.set_xlabel("Months from baseline CT")
    ax.set_ylabel("Sum of target diameters, change from baseline (%)")
    n_per = grp.loc[trajectories["patient_id"].drop_duplicates().index].value_counts()
    handles = [Line2D([], [], color=c, label=f"{_label(g)} (n = {n_per.get(g, 0)})") for g, c in seen.items()]
    handles.append(Line2D([], [], color="0.3", marker="x", ls="none", label="first PD"))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.legend(handles=handles, fontsize=8, frameon=False, loc="lower center", ncol=len(handles))
    return _detached(fig)


def plot_swimmer(swim: pd.DataFrame, *, color_by: str = "het_group", colors: dict | None = None) -> Figure:
    """Swimmer plot: one bar per patient, time on first-line therapy (PFS1), with response and PD marks.

    Parameters
    ----------
    swim : pandas.DataFrame
        From ``derive_swimmer_data`` (sorted longest first).
    color_by : str
        Column colouring the bars (missing -> "not assessable").
    colors : dict, optional

    Returns
    -------
    matplotlib.figure.Figure
        Filled triangle: first CR/PR; black cross: first RECIST PD; arrow: no PFS1 event (ongoing).
    """
    colors = colors or GROUP_COLORS
    n = len(swim)
    # 0.11 inch a patient up to a page's height; beyond that the bars get thinner, never the figure taller
    fig, ax = plt.subplots(figsize=(7.5, min(max(4.0, 0.11 * n + 1.2), 11.0)))
    grp = swim[color_by].astype(object).where(swim[color_by].notna(), "not assessable")
    yy = np.arange(n)[::-1]
    w = swim["months_on_therapy"].to_numpy(dtype=float)
    boxes = np.stack([np.column_stack([np.zeros(n), yy - 0.375]), np.column_stack([w, yy - 0.375]),
                      np.column_stack([w, yy + 0.375]), np.column_stack([np.zeros(n), yy + 0.375])], axis=1)
    ax.add_collection(PolyCollection(boxes, facecolors=[colors.get(str(g), "#555555") for g in grp],
                                     edgecolors="none", rasterized=n > MAX_VECTOR_MARKS))
    ax.set_xlim(0, max(float(np.nanmax(w)) if n else 1.0, 1.0) * 1.05 + 0.6)
    r = swim["response_months"].notna().to_numpy()
    ax.scatter(swim.loc[r, "response_months"], yy[r], marker="^", color="#F0E442", s=22, zorder=3,
               edgecolor="black", linewidth=0.5)
    p = swim["progression_months"].notna().to_numpy()
    ax.scatter(swim.loc[p, "progression_months"], yy[p], marker="x", color="black", s=16, zorder=3, linewidth=0.9)
    o = swim["ongoing"].to_numpy(bool)
    ax.scatter(swim.loc[o, "months_on_therapy"] + 0.6, yy[o], marker=">", color="0.3", s=12, zorder=3)
    ax.set_yticks([])
    ax.set_ylim(-1, n)
    ax.set_xlabel("Months from randomisation (time on first-line therapy = PFS1)")
    ax.set_ylabel(f"Patients (n = {n})")
    levels = [g for g in colors if g in set(grp.astype(str))]
    handles = [Patch(color=colors[g], label=_label(g)) for g in levels]
    handles += [Line2D([], [], marker="^", color="#F0E442", markeredgecolor="black", ls="none", label="first CR/PR"),
                Line2D([], [], marker="x", color="black", ls="none", label="RECIST PD"),
                Line2D([], [], marker=">", color="0.3", ls="none", label="no PFS1 event")]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="lower right")
    fig.tight_layout()
    return _detached(fig)
