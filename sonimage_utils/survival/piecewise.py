"""Piecewise hazard ratios: a Cox model whose group effect may change at pre-specified cut-points.

Follow-up is split into episodes at the cut-points (R ``survSplit``): a patient followed past a cut-point
contributes one ``(start, stop]`` row per interval, with the event only on the last. The model has one group
coefficient per interval (the group indicator times the interval indicator, R ``group:strata(interval)``)
and the adjustment terms in common, with one baseline hazard (the interval is not a stratum). It is fitted by
the book's one Cox fit, :func:`~sonimage_utils.survival.cox.fit_cox` (Efron ties, counting-process rows).
Under proportional hazards the interval hazard ratios estimate the same number; a difference between them is
the time-varying effect the single hazard ratio averages over.

References
----------
Therneau T, Crowson C, Atkinson E. Using time dependent covariates and time dependent coefficients in the Cox
model. Vignette of R package ``survival`` 3.5 (``survSplit``, section 4.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sonimage_utils.survival.cox import CoxResult, fit_cox

__all__ = ["PiecewiseHRResult", "derive_episodes", "fit_piecewise_cox", "format_interval"]


def format_interval(low: float, high: float) -> str:
    """Label of a follow-up interval in months: ``"0-12"``, ``"12+"``.

    Examples
    --------
    >>> format_interval(0.0, 12.0), format_interval(12.0, float("inf"))
    ('0-12', '12+')
    """
    lo = f"{low:g}"
    return f"{lo}+" if not np.isfinite(high) else f"{lo}-{high:g}"


def derive_episodes(df: pd.DataFrame, cutpoints, *, time: str = "pfs1_months",
                    event: str = "pfs1_event") -> pd.DataFrame:
    """Split each patient's follow-up at the cut-points (R ``survSplit(..., cut = cutpoints)``).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient.
    cutpoints : sequence of float
        Strictly increasing positive times.
    time, event : str

    Returns
    -------
    pandas.DataFrame
        The patient's columns repeated per episode, with ``time`` replaced by the episode's end, ``event``
        set on the last episode only, and ``_start`` (episode start), ``_row`` (the patient's row position)
        and ``interval`` (label, e.g. ``"0-12"``, ``"12+"``, an ordered categorical).

    Raises
    ------
    ValueError
        If the cut-points are not strictly increasing and positive.

    Examples
    --------
    >>> d = pd.DataFrame({"pfs1_months": [5.0, 20.0], "pfs1_event": [1, 0]})
    >>> derive_episodes(d, [12])[["_start", "pfs1_months", "pfs1_event"]].to_numpy().tolist()
    [[0.0, 5.0, 1.0], [0.0, 12.0, 0.0], [12.0, 20.0, 0.0]]
    """
    cuts = np.asarray(list(cutpoints), float)
    if cuts.size == 0 or np.any(cuts <= 0) or np.any(np.diff(cuts) <= 0):
        raise ValueError(f"cutpoints must be strictly increasing positive times, got {list(cutpoints)}")
    bounds = np.r_[0.0, cuts, np.inf]
    labels = [format_interval(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]
    parts = []
    data = df.reset_index(drop=True)
    t = data[time].to_numpy(float)
    for k in range(len(bounds) - 1):
        lo, hi = bounds[k], bounds[k + 1]
        at_risk = t > lo
        part = data[at_risk].copy()
        part["_row"] = np.flatnonzero(at_risk)
        part["_start"] = lo
        stop = np.minimum(t[at_risk], hi)
        part[event] = np.where(t[at_risk] <= hi, data.loc[at_risk, event].to_numpy(float), 0.0)
        part[time] = stop
        part["interval"] = labels[k]
        parts.append(part)
    out = pd.concat(parts).sort_values(["_row", "_start"], kind="stable").reset_index(drop=True)
    out["interval"] = pd.Categorical(out["interval"], categories=labels, ordered=True)
    return out


@dataclass
class PiecewiseHRResult:
    """Hazard ratios of a group per follow-up interval.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per interval: ``interval``, ``start``, ``end``, ``n_at_risk_reference``,
        ``n_at_risk_comparison`` (patients at risk at the interval's start), ``n_events_reference``,
        ``n_events_comparison`` (events in the interval), ``coef``, ``se``, ``hr``, ``hr_ci_low``,
        ``hr_ci_high``, ``p``, ``status``, ``message``.
    fit : CoxResult
        The episode-split model.
    """

    summary: pd.DataFrame
    fit: CoxResult


def fit_piecewise_cox(df: pd.DataFrame, group: str, levels, cutpoints, *, adjust=(), time: str = "pfs1_months",
                      event: str = "pfs1_event", reference: dict | None = None) -> PiecewiseHRResult:
    """Cox model with one hazard ratio of ``group`` per interval between the cut-points.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient; rows missing ``group`` are left out.
    group : str
        Binary grouping column.
    levels : sequence of two
        ``(reference, comparison)``.
    cutpoints : sequence of float
        The SAP's cut-points (months).
    adjust : sequence of str
        Terms in common across intervals (e.g. ``["arm"]``).
    time, event : str
    reference : dict, optional
        Reference levels of the adjustment variables.

    Returns
    -------
    PiecewiseHRResult

    References
    ----------
    R ``survSplit(Surv(time, event) ~ ., cut = cutpoints, episode = "interval")`` then
    ``coxph(Surv(tstart, time, event) ~ g1 + g2 + arm)`` with ``gk`` the group indicator in interval ``k``;
    fixtures in ``tests/reference/piecewise``.
    """
    if len(levels) != 2:
        raise ValueError(f"levels must be (reference, comparison), got {levels!r}")
    ref, comp = levels
    data = df.dropna(subset=[group])
    ep = derive_episodes(data, cutpoints, time=time, event=event)
    labels = list(ep["interval"].cat.categories)
    cols = []
    for k, lab in enumerate(labels):
        col = f"_{group}_interval{k}"
        ep[col] = ((ep[group] == comp) & (ep["interval"] == lab)).astype(float)
        cols.append(col)
    fit = fit_cox(ep, " + ".join([*cols, *adjust]), time=time, event=event, reference=reference, entry="_start")
    bounds = np.r_[0.0, np.asarray(list(cutpoints), float), np.inf]
    rows = []
    for k, (lab, col) in enumerate(zip(labels, cols)):
        part = ep[ep["interval"] == lab]
        if fit.ok:
            row = fit.summary.set_index("name").loc[col]
        else:
            row = {k2: np.nan for k2 in ("coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p")}
        rows.append({"interval": lab, "start": bounds[k], "end": bounds[k + 1],
                     "n_at_risk_reference": int((part[group] == ref).sum()),
                     "n_at_risk_comparison": int((part[group] == comp).sum()),
                     "n_events_reference": int(part.loc[part[group] == ref, event].sum()),
                     "n_events_comparison": int(part.loc[part[group] == comp, event].sum()),
                     **{k2: row[k2] for k2 in ("coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p")},
                     "status": fit.status, "message": fit.message})
    return PiecewiseHRResult(pd.DataFrame(rows), fit)
