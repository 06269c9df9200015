"""Kaplan-Meier summaries and the log-rank test, matching R ``survival`` conventions.

Statistics layer only: functions return result objects holding plain DataFrames; tables are made in
:mod:`sonimage_utils.tables.survival` and figures in :mod:`sonimage_utils.plots.survival`.

The Kaplan-Meier table (product-limit estimate and Greenwood sums) is the book's one implementation,
:func:`sonimage_utils.survival.baseline.compute_km_table` (the product ``prod(1 - d/n)`` as R ``survfit``;
lifelines' ``KaplanMeierFitter``, used before, sums logarithms and differs in the last bits). Two things
follow R ``survfit``, the reference of the book, rather than lifelines:

* the pointwise confidence interval uses R's default ``conf.type = "log"``
  (``S * exp(+-z * se)``, ``se`` = Greenwood standard error of the cumulative hazard, upper limit capped
  at 1); lifelines offers only the log(-log) interval;
* the median and its confidence interval follow R ``quantile.survfit`` exactly, including its rule
  that when the curve equals 0.5 over an interval the median is the midpoint of that interval.

References
----------
Therneau T. A Package for Survival Analysis in R. R package ``survival`` 3.5 (``survfit``,
``quantile.survfit``, ``survdiff``).
Brookmeyer R, Crowley J. A confidence interval for the median survival time. Biometrics 1982;38:29-41.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test
from scipy import stats

from sonimage_utils.survival.baseline import compute_km_table

__all__ = ["KaplanMeierResult", "LogrankResult", "fit_km", "compute_logrank", "compute_survival_quantile",
           "compute_km_crossings"]

#: R ``quantile.survfit`` default tolerance, ``sqrt(.Machine$double.eps)``.
_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass
class KaplanMeierResult:
    """Kaplan-Meier estimates per group.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per group: ``group``, ``n``, ``n_events``, ``median``, ``median_ci_low``,
        ``median_ci_high`` (NaN when not reached), ``median_reached`` (bool).
    landmarks : pandas.DataFrame
        One row per group and landmark time: ``group``, ``time``, ``n_risk``, ``surv``, ``ci_low``,
        ``ci_high``; NaN survival when the landmark lies after the group's last follow-up time.
    curves : dict of str to pandas.DataFrame
        Per group, one row per distinct time: ``time``, ``n_risk``, ``n_event``, ``n_censor``, ``surv``,
        ``std_err`` (of the cumulative hazard, as R), ``lower``, ``upper``.
    conf_level : float
    group_col : str or None
    """

    summary: pd.DataFrame
    landmarks: pd.DataFrame
    curves: dict = field(default_factory=dict)
    conf_level: float = 0.95
    group_col: str | None = None


@dataclass
class LogrankResult:
    """Log-rank test (R ``survdiff`` with ``rho = 0``).

    Attributes
    ----------
    summary : pandas.DataFrame
        Per group: ``group``, ``n``, ``observed``, ``expected``.
    statistic, df, p : float
        Chi-square statistic, degrees of freedom (groups - 1) and p-value; NaN when fewer than two groups
        or no events.
    message : str
        Empty when the test could be computed, otherwise why not.
    """

    summary: pd.DataFrame
    statistic: float
    df: int
    p: float
    message: str = ""


def _check_columns(df: pd.DataFrame, time: str, event: str, group: str | None) -> pd.DataFrame:
    cols = [time, event] + ([group] if group is not None else [])
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the data: {missing}")
    data = df[cols].dropna()
    t = data[time].astype(float)
    if (t < 0).any():
        raise ValueError(f"{time} has negative values")
    e = data[event].astype(float)
    if not e.isin([0, 1]).all():
        raise ValueError(f"{event} must be 0/1")
    return data


def _group_levels(data: pd.DataFrame, group: str | None) -> list:
    if group is None:
        return ["all"]
    col = data[group]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [c for c in col.cat.categories if (col == c).any()]
    return sorted(col.unique().tolist(), key=str)


def compute_survival_quantile(time, surv, p: float = 0.5, start: float = 0.0) -> float:
    """Time at which a step survival curve first reaches ``1 - p``, by R's ``quantile.survfit`` rule.

    Parameters
    ----------
    time : array-like
        Distinct ordered times of the curve (event and censoring times, as R ``survfit$time``).
    surv : array-like
        Curve values at ``time``; NaN entries (e.g. undefined confidence limits) are skipped as in R.
    p : float
        Quantile of the event distribution (0.5 = median).
    start : float
        Start time of the curve (R ``xmin``, 0).

    Returns
    -------
    float
        The quantile; NaN when the curve never falls to ``1 - p``. When the curve equals ``1 - p`` exactly
        (within ``sqrt(machine eps)``) over an interval, the midpoint of that interval is returned.

    Examples
    --------
    >>> compute_survival_quantile([1, 2, 3, 5], [0.75, 0.5, 0.5, 0.0])
    3.5
    """
    x = np.concatenate([[start], np.asarray(time, float)])
    y = np.concatenate([[0.0], 1.0 - np.asarray(surv, float)])
    if not np.any(np.isfinite(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # drop repeated values (R duplicated(), NaN counts as a value), keep the first occurrence
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    n = len(y)
    ok = np.isfinite(y)

    def first_at_or_above(shift: float) -> int | None:
        # R approx(y + shift, 1:n, p, method = "constant", f = 1): index of the first point >= p
        idx = np.flatnonzero(ok & (y + shift >= p))
        if len(idx) == 0 or not np.any(ok & (y + shift <= p)):
            return None
        return int(idx[0])

    i1, i2 = first_at_or_above(_TOL), first_at_or_above(-_TOL)
    if p == 0:
        return float(x[0])
    last = np.flatnonzero(ok)[-1]
    if abs(p - y[last]) < _TOL and i1 is not None and n - 1 == last:
        return float((x[i1] + xmax) / 2)
    if i1 is None or i2 is None:
        return float("nan")
    return float((x[i1] + x[i2]) / 2)


def _curve(t: np.ndarray, e: np.ndarray, z: float) -> pd.DataFrame:
    tab = compute_km_table(t, e)
    surv = tab["surv"].to_numpy(float)
    se = np.sqrt(tab["greenwood"].to_numpy(float))
    with np.errstate(invalid="ignore", over="ignore"):
        lower = surv * np.exp(-z * se)
        upper = np.minimum(1.0, surv * np.exp(z * se))
    undefined = (surv <= 0) | ~np.isfinite(se)
    lower[undefined] = np.nan
    upper[undefined] = np.nan
    se[~np.isfinite(se)] = np.nan
    return pd.DataFrame({"time": tab["time"].to_numpy(float), "n_risk": tab["n_risk"].to_numpy(int),
                         "n_event": tab["n_event"].to_numpy(int), "n_censor": tab["n_censor"].to_numpy(int),
                         "surv": surv, "std_err": se, "lower": lower, "upper": upper})


def _landmark(curve: pd.DataFrame, t: np.ndarray, when: float) -> dict:
    if when > curve["time"].max():
        return {"time": when, "n_risk": 0, "surv": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    before = curve[curve["time"] <= when]
    if before.empty:
        return {"time": when, "n_risk": int(len(t)), "surv": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    row = before.iloc[-1]
    return {"time": when, "n_risk": int((t >= when).sum()), "surv": row["surv"], "ci_low": row["lower"],
            "ci_high": row["upper"]}


def fit_km(df: pd.DataFrame, time: str = "pfs1_months", event: str = "pfs1_event", group: str | None = None,
           landmarks=(), conf_level: float = 0.95) -> KaplanMeierResult:
    """Kaplan-Meier curves, medians with 95% CI, and survival at landmark times, per group.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient; rows with a missing value in the used columns are left out.
    time, event : str
        Follow-up time (months) and event indicator (1 event, 0 censored).
    group : str, optional
        Grouping column; a categorical column keeps its category order. None gives one curve ("all").
    landmarks : sequence of float
        Times at which survival is reported (R ``summary(fit, times = ...)``); the SAP's landmark times are
        passed by the chapter. None by default.
    conf_level : float
        Confidence level of the pointwise log intervals.

    Returns
    -------
    KaplanMeierResult

    Raises
    ------
    ValueError
        If a column is missing, times are negative or events are not 0/1.

    References
    ----------
    R ``survfit(Surv(time, event) ~ group)``, ``quantile(fit, 0.5)``, ``summary(fit, times = ...)``.

    Examples
    --------
    >>> d = pd.DataFrame({"pfs1_months": [1, 2, 3, 5], "pfs1_event": [1, 1, 0, 1]})
    >>> fit_km(d).summary["median"].item()
    3.5
    """
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must lie between 0 and 1")
    data = _check_columns(df, time, event, group)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    rows, lm_rows, curves = [], [], {}
    for level in _group_levels(data, group):
        sub = data if group is None else data[data[group] == level]
        t = sub[time].to_numpy(float)
        e = sub[event].to_numpy(float)
        curve = _curve(t, e, z)
        curves[str(level)] = curve
        med = compute_survival_quantile(curve["time"], curve["surv"])
        rows.append({"group": str(level), "n": len(t), "n_events": int(e.sum()), "median": med,
                     "median_ci_low": compute_survival_quantile(curve["time"], curve["lower"]),
                     "median_ci_high": compute_survival_quantile(curve["time"], curve["upper"]),
                     "median_reached": bool(np.isfinite(med))})
        for when in landmarks:
            lm_rows.append({"group": str(level), **_landmark(curve, t, float(when))})
    lm_cols = ["group", "time", "n_risk", "surv", "ci_low", "ci_high"]
    return KaplanMeierResult(summary=pd.DataFrame(rows), landmarks=pd.DataFrame(lm_rows, columns=lm_cols),
                             curves=curves, conf_level=conf_level, group_col=group)


def compute_logrank(df: pd.DataFrame, group: str, time: str = "pfs1_months",
                    event: str = "pfs1_event") -> LogrankResult:
    """Log-rank test of equal survival across groups (lifelines, checked against R ``survdiff``).

    Parameters
    ----------
    df : pandas.DataFrame
    group : str
        Grouping column.
    time, event : str

    Returns
    -------
    LogrankResult
        With NaN statistic and an explanatory ``message`` when there are fewer than two groups or no
        events, instead of an error.

    References
    ----------
    R ``survdiff(Surv(time, event) ~ group)``.

    Examples
    --------
    >>> d = pd.DataFrame({"pfs1_months": [1, 2, 3, 4], "pfs1_event": [1, 1, 1, 0], "g": list("abab")})
    >>> round(compute_logrank(d, "g").p, 3)  # R survdiff: 0.4328
    0.433
    """
    data = _check_columns(df, time, event, group)
    levels = _group_levels(data, group)
    t = data[time].to_numpy(float)
    e = data[event].to_numpy(float)
    g = data[group].astype(str).to_numpy()
    base = [{"group": str(lv), "n": int((g == str(lv)).sum()), "observed": float(e[g == str(lv)].sum())}
            for lv in levels]
    if len(levels) < 2 or e.sum() == 0:
        why = "fewer than two groups" if len(levels) < 2 else "no events"
        summary = pd.DataFrame(base).assign(expected=np.nan)
        return LogrankResult(summary, float("nan"), max(len(levels) - 1, 0), float("nan"),
                             f"log-rank test not computed: {why}")
    res = multivariate_logrank_test(t, g, e)
    expected = []
    for lv in levels:
        # expected events in a group: sum over event times of d_t * n_group,t / n_t
        mask = g == str(lv)
        ev_times = np.unique(t[e == 1])
        n_t = (t[None, :] >= ev_times[:, None])
        d_t = ((t[None, :] == ev_times[:, None]) & (e[None, :] == 1)).sum(axis=1)
        expected.append(float((d_t * n_t[:, mask].sum(axis=1) / n_t.sum(axis=1)).sum()))
    summary = pd.DataFrame(base).assign(expected=expected)
    return LogrankResult(summary, float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value))


def compute_km_crossings(km: KaplanMeierResult, reference: str, comparison: str) -> list:
    """Times at which the Kaplan-Meier curve of ``comparison`` crosses that of ``reference``.

    The curves are compared at every distinct time of either group up to the earlier of the two last
    follow-up times (after it one curve is not estimated). A crossing is a change in the sign of
    ``S_comparison - S_reference``; times where the curves are equal do not count.

    Parameters
    ----------
    km : KaplanMeierResult
    reference, comparison : str
        Groups of ``km.curves``.

    Returns
    -------
    list of float
        The first time of each new sign after the first (empty when the curves do not cross).

    Raises
    ------
    ValueError
        If a group has no curve.

    Examples
    --------
    >>> d = pd.DataFrame({"pfs1_months": [1, 4, 5, 2, 3, 6], "pfs1_event": [1, 1, 1, 1, 1, 1],
    ...                   "g": list("aaabbb")})
    >>> compute_km_crossings(fit_km(d, group="g"), "a", "b")
    [3.0, 5.0]
    """
    for g in (reference, comparison):
        if g not in km.curves:
            raise ValueError(f"no Kaplan-Meier curve for group {g!r}; groups: {list(km.curves)}")
    a, b = km.curves[reference], km.curves[comparison]
    end = min(a["time"].max(), b["time"].max())
    grid = np.unique(np.r_[a["time"], b["time"]])
    grid = grid[grid <= end]

    def at(curve):
        k = np.searchsorted(curve["time"].to_numpy(float), grid, side="right")
        return np.r_[1.0, curve["surv"].to_numpy(float)][k]

    sign = np.sign(at(b) - at(a))
    nonzero = np.flatnonzero(sign != 0)
    crossings = []
    for i, j in zip(nonzero[:-1], nonzero[1:]):
        if sign[j] != sign[i]:
            crossings.append(float(grid[j]))
    return crossings
