"""Calibration of a survival prediction at a horizon: smoothed curve with ICI/E50/E90, grouped observed vs
predicted, and model updating (recalibration).

The smoothed curve follows Austin, Harrell & van Klaveren (Stat Med 2020) as coded by McLernon et al.
(Ann Intern Med 2023): a secondary Cox model of the outcome on a 3-knot restricted cubic spline of the
complementary log-log predicted risk, knots at the 10th, 50th and 90th percentiles; the observed risk of
each patient is ``1 - S_cal(t | x)`` from that model, and ICI, E50, E90 are the mean, median and 90th
percentile of ``|observed - predicted|`` over patients. The Cox fit is
:func:`~sonimage_utils.survival.efron.fit_cox_efron` (Efron ties, as R ``coxph``/``rms::cph``) and the
baseline the STEP function :func:`~sonimage_utils.survival.baseline.compute_baseline_cumhaz` with Efron's
rule at tied times, read at ``t`` (as R ``survfit`` of that fit and ``rms::survest``; lifelines' ``predict_survival_function`` interpolated linearly between event
times and gave a different ICI); the spline basis is written here because neither lifelines nor scikit-survival offers
Harrell's restricted cubic spline (R ``Hmisc::rcspline.eval``, ``norm = 2``). R ``rms::rcs`` moves the
outer knots to the 5th smallest/largest value when n < 100; this module keeps the plain percentiles the
SAP names (pass ``knots`` to use others).

References
----------
Austin PC, Harrell FE Jr, van Klaveren D. Graphical calibration curves and the integrated calibration index
(ICI) for survival models. Stat Med 2020;39:2714-42.
Harrell FE Jr. Regression Modeling Strategies, 2nd ed. Springer 2015, section 2.4.5.
van Houwelingen HC. Validation, calibration, revision and combination of prognostic survival models. Stat
Med 2000;19:3401-15.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sonimage_utils.survival.design import compute_rcs_basis
from sonimage_utils.survival.baseline import (_baseline_cumhaz_on, check_survival_inputs, compute_baseline_cumhaz,
                                              compute_km_table, evaluate_step)
from sonimage_utils.survival.efron import _fit_cox_efron_on, _SortedOutcome
from sonimage_utils.survival.measures import compute_calibration_slope

__all__ = [
    "choose_calibration_knots",
    "SmoothedCalibration",
    "compute_smoothed_calibration",
    "compute_grouped_calibration",
    "compute_calibration_by_value",
    "compute_calibration_rule",
    "count_distinct_predictions",
    "Recalibration",
    "fit_recalibration",
    "compute_expected_cumhaz",
]

_EPS = 1e-12


def choose_calibration_knots(x) -> np.ndarray:
    """Knots of the calibration spline on the cloglog scale: the 10th, 50th and 90th percentiles.

    When predictions are tied so heavily that these coincide (a model with one categorical predictor, or
    a mass of patients at one value), the percentiles of the *distinct* values are used instead; with
    fewer than 5 distinct values no spline is identifiable and an empty array is returned (the calibration
    model is then linear in cloglog risk). R ``Hmisc::rcspline.eval`` handles ties differently in detail
    (moving an outer knot off a tied extreme); both give the plain percentiles for continuous predictions.

    Examples
    --------
    >>> choose_calibration_knots(np.arange(11.0)).tolist()
    [1.0, 5.0, 9.0]
    >>> choose_calibration_knots(np.r_[np.zeros(50), np.arange(1.0, 11.0)]).tolist()
    [1.0, 5.0, 9.0]
    >>> choose_calibration_knots(np.r_[np.zeros(50), 1.0, 2.0]).size
    0
    """
    x = np.asarray(x, dtype=float)
    k = np.quantile(x, [0.1, 0.5, 0.9])
    if np.unique(k).size == 3:
        return k
    u = np.unique(x)
    if u.size < 5:
        return np.array([])
    return np.quantile(u, [0.1, 0.5, 0.9])


def _cloglog(risk):
    r = np.clip(np.asarray(risk, dtype=float), _EPS, 1 - _EPS)
    return np.log(-np.log1p(-r))


@dataclass
class SmoothedCalibration:
    """Smoothed calibration at a horizon.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per measure: ``ici``, ``e50``, ``e90``, ``emax`` (columns ``measure``, ``value``).
    patients : pandas.DataFrame
        ``predicted``, ``observed`` (smoothed) and ``abs_diff`` per patient.
    curve : pandas.DataFrame
        ``predicted``, ``observed`` on a grid over the range of predictions (for plots).
    knots : numpy.ndarray
        Knots on the cloglog scale (empty: linear calibration model, too few distinct predictions).
    t : float
    """

    summary: pd.DataFrame
    patients: pd.DataFrame
    curve: pd.DataFrame
    knots: np.ndarray
    t: float
    values: dict = field(default_factory=dict)


def _fit_secondary(outcome, basis):
    """Secondary Cox model (Efron ties) of the outcome (a sorted
    :class:`~sonimage_utils.survival.efron._SortedOutcome`) on the calibration basis, with its baseline hazard
    (Efron's rule at tied times, as R ``survfit`` of that fit and ``rms::survest``)."""
    fit = _fit_cox_efron_on(outcome, basis)
    base = _baseline_cumhaz_on(outcome, basis @ fit.coef, ties="efron")
    return fit.coef, base


def _predict_risk(coef, base, basis, t) -> np.ndarray:
    h0 = evaluate_step(*base, t)
    return 1.0 - np.exp(-h0 * np.exp(basis @ coef))


def _smoothed_calibration_fit(tt, e, r, t, knots, outcome=None) -> dict:
    """The smoothed calibration of validated arrays (``tt`` float, ``e`` bool, ``r`` risks in [0, 1]): knots, the
    secondary model, each patient's observed risk and ICI/E50/E90/Emax, without the frames of
    :func:`compute_smoothed_calibration` (which builds them from this). ``outcome``: the data set's
    :class:`~sonimage_utils.survival.efron._SortedOutcome` when the caller already sorted it (the other fits of
    a bootstrap resample), else sorted here.

    Returns
    -------
    dict
        ``knots``, ``coef``, ``base`` (baseline step function), ``observed`` and ``abs_diff`` per patient,
        ``values`` (``ici``, ``e50``, ``e90``, ``emax``).

    Raises
    ------
    ValueError
        As :func:`compute_smoothed_calibration`.
    """
    x = _cloglog(r)
    if knots is None:
        knots = choose_calibration_knots(x)
    else:
        knots = np.asarray(knots, dtype=float)
        if np.unique(knots).size < 3 or np.unique(knots).size < knots.size:
            raise ValueError("calibration knots must be at least 3 distinct values")
    if np.unique(x).size < 2:
        raise ValueError("all predictions are equal: no calibration curve can be fitted")
    basis = compute_rcs_basis(x, knots) if knots.size else x[:, None]
    coef, base = _fit_secondary(_SortedOutcome(tt, e) if outcome is None else outcome, basis)
    obs = _predict_risk(coef, base, basis, t)
    diff = np.abs(obs - r)
    values = {"ici": float(np.mean(diff)), "e50": float(np.quantile(diff, 0.5)),
              "e90": float(np.quantile(diff, 0.9)), "emax": float(np.max(diff))}
    return {"knots": knots, "coef": coef, "base": base, "observed": obs, "abs_diff": diff, "values": values}


def compute_smoothed_calibration(time, event, risk, t: float, *, knots=None, n_grid: int = 100,
                                 grid=None) -> SmoothedCalibration:
    """Smoothed calibration curve at ``t`` with ICI, E50, E90 and Emax.

    Parameters
    ----------
    time, event : array-like
        Outcome in the validation data.
    risk : array-like
        Predicted probability of the event by ``t``.
    t : float
    knots : array-like, optional
        Knots on the cloglog scale; default :func:`choose_calibration_knots` (10th, 50th and 90th
        percentiles of cloglog(risk)).
    n_grid : int
        Number of grid points for ``curve``.
    grid : array-like, optional
        Predicted risks at which to evaluate the curve (overrides ``n_grid``).

    Returns
    -------
    SmoothedCalibration

    Raises
    ------
    ValueError
        If all predictions are equal, or given ``knots`` are not 3 or more distinct values.
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    if np.any((r < 0) | (r > 1)):
        raise ValueError("risk must be a probability in [0, 1]")
    fit = _smoothed_calibration_fit(tt, e, r, t, knots)
    knots, coef, base, values = fit["knots"], fit["coef"], fit["base"], fit["values"]
    g = np.linspace(r.min(), r.max(), n_grid) if grid is None else np.asarray(grid, dtype=float)
    gx = _cloglog(g)
    gobs = _predict_risk(coef, base, compute_rcs_basis(gx, knots) if knots.size else gx[:, None], t)
    return SmoothedCalibration(
        summary=pd.DataFrame({"measure": list(values), "value": list(values.values())}),
        patients=pd.DataFrame({"predicted": r, "observed": fit["observed"], "abs_diff": fit["abs_diff"]}),
        curve=pd.DataFrame({"predicted": g, "observed": gobs}),
        knots=knots, t=float(t), values=values)


def _loglog_ci(surv: float, greenwood: float, conf_level: float = 0.95) -> tuple[float, float]:
    """Log(-log) interval of a Kaplan-Meier value (R ``conf.type = "log-log"``; scikit-survival's rule
    at a curve at 0 or 1: the interval is that point)."""
    eps = np.finfo(float).eps
    if surv <= eps:
        return 0.0, 0.0
    log_p = np.log(surv)
    theta = np.sqrt(greenwood) / log_p if log_p < -eps else 0.0
    z = stats.norm.isf((1.0 - conf_level) / 2.0)
    return float(np.exp(np.exp(-z * theta) * log_p)), float(np.exp(np.exp(z * theta) * log_p))


def count_distinct_predictions(risk, decimals: int = 10) -> int:
    """Number of distinct predicted risks (rounded to ``decimals`` so that floating-point noise is no value).

    Examples
    --------
    >>> count_distinct_predictions([0.2, 0.2 + 1e-15, 0.3])
    2
    """
    r = np.asarray(risk, dtype=float)
    return int(np.unique(np.round(r[np.isfinite(r)], decimals)).size)


def compute_calibration_rule(risk, min_distinct: int) -> dict:
    """The SAP's rule for how calibration at the horizon is shown and measured.

    A smoothed curve (and ICI, E50, E90, which are read off it) needs predictions spread over many values: on
    a handful of distinct values a spline has nothing to smooth between them and draws artefacts. With at
    least ``min_distinct`` distinct predictions the smoothed curve and ICI/E50/E90 are estimated, with
    quantile groups as points; with fewer, calibration is shown per distinct predicted value (Kaplan-Meier
    observed risk with its interval) and ICI/E50/E90 are not estimated.

    Parameters
    ----------
    risk : array-like
        Predicted risks of the validation set.
    min_distinct : int
        ``calibration_min_distinct_predictions`` of ``analysis.yml``.

    Returns
    -------
    dict
        ``n_distinct``, ``smooth`` (bool), ``reason`` (a sentence when not smooth, else empty).

    Examples
    --------
    >>> compute_calibration_rule([0.1, 0.2, 0.2, 0.4], 10)["smooth"]
    False
    """
    if int(min_distinct) < 2:
        raise ValueError(f"min_distinct must be at least 2, got {min_distinct!r}")
    n = count_distinct_predictions(risk)
    smooth = n >= int(min_distinct)
    reason = "" if smooth else (
        f"the predictions take only {n} distinct values (fewer than the {int(min_distinct)} the SAP requires for a "
        "smoothed calibration curve), so ICI, E50 and E90 are not estimated and calibration is shown per "
        "distinct predicted value")
    return {"n_distinct": n, "smooth": smooth, "reason": reason}


def _km_risk_by_group(tt, e, r, groups, t) -> pd.DataFrame:
    """Kaplan-Meier risk at ``t`` (log-log 95% interval) and mean predicted risk in each group 0..G-1."""
    rows = []
    for g in range(int(groups.max()) + 1):
        m = groups == g
        obs = lo = hi = np.nan
        if e[m].any():
            tab = compute_km_table(tt[m], e[m])
            i = np.searchsorted(tab["time"].to_numpy(), t, side="right")
            if i > 0:
                surv, gw = tab["surv"].iat[i - 1], tab["greenwood"].iat[i - 1]
                low_s, high_s = _loglog_ci(surv, gw)
                obs, lo, hi = 1 - surv, 1 - high_s, 1 - low_s
            else:
                obs, lo, hi = 0.0, 0.0, 0.0
            if m.sum() < 2:  # one patient: an observed risk of 0 or 1, no interval
                lo = hi = np.nan
        elif m.sum() > 0:  # no event at all in the group: Kaplan-Meier risk 0, no interval
            obs = 0.0
        rows.append({"group": g + 1, "n": int(m.sum()), "n_events": int(np.sum(e[m] & (tt[m] <= t))),
                     "predicted": float(np.mean(r[m])), "observed": float(obs), "ci_low": float(lo),
                     "ci_high": float(hi)})
    return pd.DataFrame(rows)


def compute_grouped_calibration(time, event, risk, t: float, n_groups: int) -> pd.DataFrame:
    """Observed (Kaplan-Meier) vs mean predicted risk at ``t`` in quantile groups of predicted risk.

    Parameters
    ----------
    time, event, risk : array-like
    t : float
    n_groups : int
        Number of groups of predicted risk, contiguous and as equal in size as ties allow. Tie-aware: a tie
        is never split, and the groups are the partition of the ordered distinct values into ``n_groups`` runs
        whose sizes are closest to ``n / n_groups`` (least squares); so exactly ``n_groups`` groups result
        whenever there are that many distinct predictions, and fewer only when there are not. The frame says so: ``attrs["n_groups_requested"]``, ``attrs["n_groups"]`` and
        ``attrs["collapse"]`` (a sentence when fewer groups resulted, else empty), for the caller to show.

    Returns
    -------
    pandas.DataFrame
        ``group`` (1 = lowest risk), ``n``, ``n_events`` (by t), ``predicted`` (mean), ``observed``
        (1 - KM(t)), ``ci_low``, ``ci_high`` (log-log 95% interval of the KM estimate, R ``survfit(...,
        conf.type = "log-log")``).

    Examples
    --------
    >>> g = compute_grouped_calibration([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 0, 1], [.1, .1, .1, .1, .5, .6], 5.5, 5)
    >>> g.attrs["n_groups"], g.attrs["collapse"][:45]
    (3, '5 groups requested; the predictions take only')
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    if n_groups < 1 or n_groups > r.size:
        raise ValueError(f"n_groups must be between 1 and {r.size}, got {n_groups}")
    values, inverse, counts = np.unique(np.round(r, 10), return_inverse=True, return_counts=True)
    cut = _balanced_cuts(counts, min(n_groups, values.size))
    groups = np.searchsorted(cut, inverse.ravel(), side="right")
    out = _km_risk_by_group(tt, e, r, groups, t)
    k = int(groups.max()) + 1
    out.attrs.update({"n_groups_requested": int(n_groups), "n_groups": k, "by": "quantile",
                      "collapse": "" if k == n_groups else (
                          f"{n_groups} groups requested; the predictions take only {k} distinct values (a tie is "
                          f"never split between groups), so {k} groups")})
    return out


def _balanced_cuts(counts, k: int) -> np.ndarray:
    """Indices (into the ordered distinct values) where groups 2..k start: the partition of the values into k
    contiguous runs whose sizes have the least sum of squared deviations from n / k (dynamic programming)."""
    m, n = counts.size, counts.sum()
    if k <= 1:
        return np.array([], dtype=int)
    csum = np.r_[0, np.cumsum(counts)]
    target = n / k
    inf = np.inf
    cost = np.full((k + 1, m + 1), inf)
    back = np.zeros((k + 1, m + 1), dtype=int)
    cost[0, 0] = 0.0
    for g in range(1, k + 1):
        for j in range(g, m - (k - g) + 1):  # first j values in g groups, leaving enough values for the rest
            i = np.arange(g - 1, j)
            c = cost[g - 1, i] + (csum[j] - csum[i] - target) ** 2
            b = int(np.argmin(c))
            cost[g, j], back[g, j] = c[b], i[b]
    cuts, j = [], m
    for g in range(k, 1, -1):
        j = back[g, j]
        cuts.append(j)
    return np.array(sorted(cuts), dtype=int)


def compute_calibration_by_value(time, event, risk, t: float) -> pd.DataFrame:
    """Observed (Kaplan-Meier, log-log 95% interval) vs predicted risk at ``t`` for each distinct prediction.

    The grouped calibration of a model whose predictions take few values (the SAP's rule,
    :func:`compute_calibration_rule`): one group per distinct predicted risk (rounded to 10 decimals).

    Returns
    -------
    pandas.DataFrame
        As :func:`compute_grouped_calibration`, one row per distinct predicted value (``attrs["by"] = "value"``).

    Examples
    --------
    >>> compute_calibration_by_value([1, 2, 3, 4], [1, 0, 1, 1], [.2, .4, .2, .4], 3.5)["n"].tolist()
    [2, 2]
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    groups = np.unique(np.round(r, 10), return_inverse=True)[1].ravel()
    out = _km_risk_by_group(tt, e, r, groups, t)
    out.attrs.update({"n_groups_requested": None, "n_groups": int(groups.max()) + 1, "by": "value",
                      "collapse": ""})
    return out


@dataclass
class Recalibration:
    """Result of updating a model in new data.

    Attributes
    ----------
    summary : pandas.DataFrame
        ``method``, ``slope`` (1 for intercept-only), ``baseline_cumhaz`` (at t, for lp as given),
        ``baseline_ratio`` (new / original baseline cumulative hazard at t).
    risk : numpy.ndarray
        Updated predicted risk at ``t`` per patient.
    """

    summary: pd.DataFrame
    risk: np.ndarray
    method: str
    slope: float
    baseline_cumhaz: float


def fit_recalibration(time, event, risk, lp, t: float, method: str = "intercept") -> Recalibration:
    """Update a Cox model in new data: re-estimate the baseline hazard (and the slope of the lp).

    Parameters
    ----------
    time, event : array-like
    risk : array-like
        Original predicted risk at ``t`` (used only to report the ratio of baselines).
    lp : array-like
        Original linear predictor.
    t : float
    method : {"intercept", "slope"}
        ``"intercept"``: baseline hazard re-estimated (Breslow) with ``lp`` as an offset
        (recalibration in the large); ``"slope"``: Cox model of the outcome on ``lp`` (calibration slope),
        then its baseline hazard (logistic-type recalibration, van Houwelingen 2000).

    Returns
    -------
    Recalibration
    """
    tt, e, r, x = check_survival_inputs(time, event, risk, lp, names=["risk", "lp"])
    if method not in ("intercept", "slope"):
        raise ValueError(f"method must be 'intercept' or 'slope', got {method!r}")
    slope = 1.0 if method == "intercept" else compute_calibration_slope(tt, e, x)["slope"]
    h0 = float(evaluate_step(*compute_baseline_cumhaz(tt, e, slope * x), t))
    new_risk = 1.0 - np.exp(-h0 * np.exp(slope * x))
    rr = np.clip(r, _EPS, 1 - _EPS)
    h0_orig = float(np.median(-np.log1p(-rr) / np.exp(x)))
    summary = pd.DataFrame([{"method": method, "slope": slope, "baseline_cumhaz": h0,
                             "baseline_ratio": h0 / h0_orig if method == "intercept" else np.nan}])
    return Recalibration(summary=summary, risk=new_risk, method=method, slope=float(slope),
                         baseline_cumhaz=float(h0))


def compute_expected_cumhaz(baseline_time, baseline_cumhaz, lp, time) -> np.ndarray:
    """Cumulative hazard a frozen Cox model expects for each patient at his own follow-up time.

    ``H0(T_i) exp(lp_i)`` with ``H0`` the stored step function (0 before its first time, flat after its
    last: beyond the development follow-up the model predicts no further events, so expected counts there
    are underestimated), read with :func:`~sonimage_utils.survival.baseline.evaluate_step`. Input of
    :func:`~sonimage_utils.external_validation.metrics.compute_calibration_in_the_large`.

    Examples
    --------
    >>> compute_expected_cumhaz([1.0, 2.0], [0.5, 1.5], [0.0, 0.0, 0.0], [0.5, 1.0, 3.0]).tolist()
    [0.0, 0.5, 1.5]
    """
    x = np.asarray(lp, dtype=float)
    tt = np.asarray(time, dtype=float)
    if x.shape != tt.shape:
        raise ValueError("lp and time differ in length")
    if np.size(baseline_time) == 0:
        raise ValueError("baseline_time must be increasing and as long as baseline_cumhaz")
    return evaluate_step(baseline_time, baseline_cumhaz, tt) * np.exp(x)
