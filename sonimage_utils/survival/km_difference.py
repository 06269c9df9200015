"""Treatment effect on the absolute scale: differences in Kaplan-Meier survival at a horizon between arms,
within subgroups, and the difference of those differences (an interaction on the absolute scale).

Each arm-by-subgroup cell contributes its Kaplan-Meier estimate ``S(t)`` and Greenwood variance from the one
Kaplan-Meier of the book (:func:`~sonimage_utils.survival.baseline.compute_km_at`, R
``summary(survfit(...), times = t)``). Cells are independent samples, so

* the difference between arms within a subgroup, ``S_treated(t) - S_control(t)``, has variance
  ``var_treated + var_control``;
* the difference of the differences (comparison subgroup minus reference subgroup) has variance the sum of
  the four cell variances;

and each gets a Wald interval on the difference scale (normal approximation, ``estimate +/- z * se``), as
in the PATH statement's absolute-benefit summaries (Kent et al. 2020). No transformation is applied: a
difference of survival probabilities has no natural scale on which it is bounded.

A Kaplan-Meier estimate at ``t`` with few patients still at risk rests on a handful of patients (one event
among ``n`` at risk moves it by a factor ``1 - 1/n``), and Greenwood's formula then understates its
variance. A cell with fewer than ``min_at_risk`` patients at risk at ``t`` (the SAP's rule) therefore makes
every difference it enters *not estimable*, with the reason, rather than a precise-looking number.

The method as the book states it: ``book/methods.md``, section Cox models.

References
----------
Kent DM et al. The Predictive Approaches to Treatment heterogeneity (PATH) Statement. Ann Intern Med
2020;172:35-45.
Greenwood M. The natural duration of cancer. Reports on Public Health and Medical Subjects 1926;33:1-26.
Borkowf CB. A simple hybrid variance estimator for the Kaplan-Meier survival function. Stat Med
2005;24:827-851.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sonimage_utils.survival.baseline import compute_km_at

__all__ = ["compute_km_cell_at", "compute_km_interaction_at"]


def compute_km_cell_at(time, event, t: float, *, min_at_risk: int) -> dict:
    """Kaplan-Meier survival at ``t`` in one sample, with its Greenwood variance and whether it may be used.

    Parameters
    ----------
    time, event : array-like
        Follow-up time and event indicator (1 event, 0 censored); may be empty.
    t : float
        Horizon, > 0.
    min_at_risk : int
        Fewest patients at risk at ``t`` (follow-up ``>= t``, R's ``n.risk`` at ``times = t``) for the
        estimate to enter a difference; at least 1.

    Returns
    -------
    dict
        ``n``, ``n_events`` (events up to ``t``), ``n_risk`` (at risk at ``t``), ``surv``, ``se`` (Greenwood),
        ``usable`` (bool) and ``reason`` (why not usable, empty when usable). ``surv`` and ``se`` are NaN when
        nobody was followed up to ``t`` and the curve had not reached 0, or the sample is empty.

    Raises
    ------
    ValueError
        If ``t`` is not positive or ``min_at_risk`` is below 1.

    Examples
    --------
    >>> r = compute_km_cell_at([1, 2, 3, 4], [1, 0, 1, 0], 3.0, min_at_risk=2)
    >>> r["surv"], r["n_risk"], r["usable"], r["reason"]
    (0.375, 2, True, '')
    """
    if not t > 0:
        raise ValueError(f"t must be positive, got {t!r}")
    if int(min_at_risk) != min_at_risk or min_at_risk < 1:
        raise ValueError(f"min_at_risk must be a whole number of at least 1, got {min_at_risk!r}")
    tt = np.asarray(time, dtype=float).ravel()
    ee = np.asarray(event, dtype=float).ravel()
    n_risk = int((tt >= t).sum())
    surv, var = compute_km_at(tt, ee, t, extend=False) if tt.size else (np.nan, np.nan)
    out = {"n": int(tt.size), "n_events": int(ee[tt <= t].sum()), "n_risk": n_risk, "surv": float(surv),
           "se": float(np.sqrt(var)) if np.isfinite(var) else np.nan}
    if tt.size == 0:
        reason = "no patients"
    elif n_risk < min_at_risk:
        reason = (f"{n_risk} at risk at {t:g} months, fewer than the {int(min_at_risk)} the SAP "
                  "requires")
    elif not (np.isfinite(out["surv"]) and np.isfinite(out["se"])):
        reason = "no variance at the horizon"
    else:
        reason = ""
    return {**out, "usable": reason == "", "reason": reason}


def _difference(a: dict, b: dict, z: float) -> dict:
    """``a - b`` of two independent estimates (``estimate``, ``se``) with a Wald interval."""
    est = a["estimate"] - b["estimate"]
    se = float(np.hypot(a["se"], b["se"]))
    return {"estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se}


def compute_km_interaction_at(df: pd.DataFrame, *, group: str, levels, arm: str, arms, t: float,
                              min_at_risk: int, time: str = "pfs1_months", event: str = "pfs1_event",
                              conf_level: float = 0.95) -> dict:
    """Kaplan-Meier survival at ``t`` per subgroup x arm, the arm difference within each subgroup, and the
    difference of those differences (interaction on the absolute scale).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient; rows with a missing value in the used columns are left out.
    group : str
        Subgroup column.
    levels : sequence of two
        ``(reference, comparison)`` subgroups; the interaction is comparison minus reference.
    arm : str
        Arm column.
    arms : sequence of two
        ``(control, treated)``; each difference is treated minus control.
    t : float
        Horizon (months).
    min_at_risk : int
        The SAP's rule (see :func:`compute_km_cell_at`).
    time, event : str
    conf_level : float

    Returns
    -------
    dict
        ``cells``: DataFrame, one row per subgroup x arm: ``group``, ``arm``, ``n``, ``n_events``, ``n_risk``,
        ``surv``, ``se``, ``usable``, ``reason``.
        ``differences``: DataFrame, one row per subgroup (``group`` its level) then ``group = "interaction"``:
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``status`` (``"ok"`` or ``"not_estimable"``),
        ``reason`` (which cells failed the rule, and why; empty when ``ok``). NaN estimates when not
        estimable.

    Raises
    ------
    ValueError
        If ``levels`` or ``arms`` does not have two entries, a column is missing, or ``conf_level`` is not
        in (0, 1).

    References
    ----------
    R ``summary(survfit(Surv(time, event) ~ 1, data = cell), times = t)``: ``surv``, ``std.err``,
    ``n.risk``; fixtures in ``tests/reference/interaction``.
    """
    if len(levels) != 2 or len(arms) != 2:
        raise ValueError(f"levels and arms must each have two entries, got {levels!r} and {arms!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must lie in (0, 1), got {conf_level!r}")
    for c in (time, event, group, arm):
        if c not in df.columns:
            raise ValueError(f"column {c!r} is not in the data")
    data = df[[time, event, group, arm]].dropna()
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    cells = []
    for g in levels:
        for a in arms:
            part = data[(data[group] == g) & (data[arm] == a)]
            cells.append({"group": str(g), "arm": str(a),
                          **compute_km_cell_at(part[time], part[event], t, min_at_risk=min_at_risk)})
    cells = pd.DataFrame(cells)
    nan = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}

    def failed(rows):
        return "; ".join(f"{r['group']}, {r['arm']}: {r['reason']}" for _, r in rows.iterrows() if not r["usable"])

    rows, diffs = [], {}
    for g in levels:
        pair = cells[cells["group"] == str(g)]
        why = failed(pair)
        if why:
            rows.append({"group": str(g), **nan, "status": "not_estimable", "reason": why})
            continue
        ctrl, trt = (pair[pair["arm"] == str(a)].iloc[0] for a in arms)
        diffs[g] = _difference({"estimate": trt["surv"], "se": trt["se"]},
                               {"estimate": ctrl["surv"], "se": ctrl["se"]}, z)
        rows.append({"group": str(g), **diffs[g], "status": "ok", "reason": ""})
    why = failed(cells)
    if why:
        rows.append({"group": "interaction", **nan, "status": "not_estimable", "reason": why})
    else:
        rows.append({"group": "interaction", **_difference(diffs[levels[1]], diffs[levels[0]], z), "status": "ok",
                     "reason": ""})
    return {"cells": cells, "differences": pd.DataFrame(rows)}
