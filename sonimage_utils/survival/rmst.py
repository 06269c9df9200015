"""Restricted mean survival time from the one Kaplan-Meier, and its difference between two groups.

The restricted mean up to ``tau`` is the area under the Kaplan-Meier curve from 0 to ``tau``
(:func:`~sonimage_utils.survival.baseline.compute_km_table`, the book's one Kaplan-Meier). Its variance is
R's (``survival:::survmean``, printed by ``print(fit, rmean = tau)``): the Greenwood-type sum over event times
``t_i <= tau`` of ``A_i^2 d_i / (n_i (n_i - d_i))``, with ``A_i`` the area under the curve from ``t_i`` to
``tau``. A curve whose last follow-up lies before ``tau`` is extended flat at its last value, as R does; the
result says so (``extended``), because the area beyond the last follow-up is then an extrapolation.

The difference between two independent groups has variance the sum of the two variances and a Wald
confidence interval (Royston and Parmar 2013; R ``survRM2::rmst2`` gives the same estimate and interval).

References
----------
Royston P, Parmar MKB. Restricted mean survival time: an alternative to the hazard ratio for the design and
analysis of randomized trials with a time-to-event outcome. BMC Med Res Methodol 2013;13:152.
Therneau T. ``survival:::survmean`` (``print.survfit(rmean = )``), R package ``survival`` 3.5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sonimage_utils.survival.baseline import compute_km_table

__all__ = ["compute_rmst_km", "compute_rmst_difference"]


def compute_rmst_km(time, event, tau: float) -> dict:
    """Restricted mean survival time up to ``tau`` from the Kaplan-Meier curve, with R's standard error.

    Parameters
    ----------
    time, event : array-like
        Follow-up time and event indicator (1 event, 0 censored).
    tau : float
        Restriction time (the SAP's horizon), > 0.

    Returns
    -------
    dict
        ``rmst``, ``se``, ``n``, ``n_events`` (events up to ``tau``), ``extended`` (True when the last
        follow-up time is before ``tau`` and the curve was carried flat, as R does), ``last_time``.

    Raises
    ------
    ValueError
        If ``tau`` is not positive or the sample is empty.

    References
    ----------
    R ``summary(survfit(Surv(time, event) ~ 1), rmean = tau)$table[c("rmean", "se(rmean)")]``; fixtures in
    ``tests/reference/rmst``.

    Examples
    --------
    >>> round(compute_rmst_km([1, 2, 3, 4], [1, 1, 0, 1], 3.0)["rmst"], 4)
    2.25
    """
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau!r}")
    tab = compute_km_table(time, event)
    if tab.empty:
        raise ValueError("no observations: the restricted mean is not defined")
    tab = tab[tab["time"] <= tau]
    times = tab["time"].to_numpy(float)
    surv = tab["surv"].to_numpy(float)
    knots = np.r_[0.0, times, tau]
    heights = np.r_[1.0, surv]                       # S on [knot_k, knot_k+1)
    rect = np.diff(knots) * heights
    # area from each distinct time t_i to tau: the rectangles after t_i
    after = np.cumsum(rect[::-1])[::-1][1:]          # after[i] = area from times[i] to tau
    d = tab["n_event"].to_numpy(float)
    n = tab["n_risk"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where((n - d) > 0, d / (n * (n - d)), 0.0)
    var = float(np.sum(after ** 2 * hh))
    t_all = np.asarray(time, float)
    e_all = np.asarray(event, float)
    return {"rmst": float(rect.sum()), "se": float(np.sqrt(var)), "n": int(t_all.size),
            "n_events": int(e_all[t_all <= tau].sum()), "extended": bool(t_all.max() < tau),
            "last_time": float(t_all.max())}


def compute_rmst_difference(df: pd.DataFrame, group: str, levels, tau: float, *, time: str = "pfs1_months",
                            event: str = "pfs1_event", conf_level: float = 0.95) -> pd.DataFrame:
    """Restricted mean survival time per group and the difference of the second group minus the first.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient; rows with a missing value in the used columns are left out.
    group : str
        Grouping column.
    levels : sequence of two
        ``(reference, comparison)``; the difference is comparison minus reference.
    tau : float
        Restriction time (months).
    time, event : str
    conf_level : float

    Returns
    -------
    pandas.DataFrame
        Three rows (``reference``, ``comparison``, ``difference``) with ``group``, ``n``, ``n_events``,
        ``rmst`` (the difference in the last row), ``se``, ``ci_low``, ``ci_high``, ``p`` (difference only),
        ``extended``.

    Raises
    ------
    ValueError
        If ``levels`` does not have two entries or a level has no patients.
    """
    if len(levels) != 2:
        raise ValueError(f"levels must be (reference, comparison), got {levels!r}")
    data = df[[time, event, group]].dropna()
    z = stats.norm.ppf(0.5 + conf_level / 2)
    rows = []
    for lv in levels:
        sub = data[data[group] == lv]
        if sub.empty:
            raise ValueError(f"no patients in {group} = {lv!r}")
        r = compute_rmst_km(sub[time], sub[event], tau)
        rows.append({"group": str(lv), "n": r["n"], "n_events": r["n_events"], "rmst": r["rmst"], "se": r["se"],
                     "ci_low": r["rmst"] - z * r["se"], "ci_high": r["rmst"] + z * r["se"], "p": np.nan,
                     "extended": r["extended"]})
    diff = rows[1]["rmst"] - rows[0]["rmst"]
    se = float(np.hypot(rows[0]["se"], rows[1]["se"]))
    p = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else np.nan
    rows.append({"group": "difference", "n": rows[0]["n"] + rows[1]["n"],
                 "n_events": rows[0]["n_events"] + rows[1]["n_events"], "rmst": diff, "se": se,
                 "ci_low": diff - z * se, "ci_high": diff + z * se, "p": p,
                 "extended": rows[0]["extended"] or rows[1]["extended"]})
    return pd.DataFrame(rows)
