"""The nonparametric estimators of the book, each written once: Kaplan-Meier survival at a time with its
Greenwood variance, and the Breslow baseline cumulative hazard of a Cox model as a step function.

Every other module (external validation, benefit, the frozen model artifact, the calibration curves)
calls these; none keeps its own copy. Both follow R ``survival``:

* :func:`compute_km_at` is ``summary(survfit(Surv(time, event) ~ 1), times = t, extend = TRUE)``: the
  product-limit estimate at ``t`` and ``std.err^2`` (Greenwood, ``S^2 * sum d / (n (n - d))``);
* :func:`compute_baseline_cumhaz` is ``basehaz(coxph(...), centered = FALSE)`` of a Breslow fit
  (``H0(t) = sum over event times s <= t of d(s) / sum_{j at risk at s} exp(lp_j)``), and with
  ``ties = "efron"`` R's default ``survfit`` of an Efron fit (the Efron correction at tied event times,
  ``ctype = 2``). It is a right-continuous STEP function; read it with
  :func:`evaluate_step`, never by interpolating between event times (lifelines'
  ``predict_survival_function`` interpolates linearly, which is not the estimator R reports).

The full Kaplan-Meier curve with R's log confidence limits and median rule stays in
:mod:`sonimage_utils.survival.km` (:func:`~sonimage_utils.survival.km.fit_km`); it reads its table from
:func:`compute_km_table` here.

References
----------
Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. JASA 1958;53:457-81.
Breslow NE. Discussion of Professor Cox's paper. JRSS B 1972;34:216-7.
Therneau T. A Package for Survival Analysis in R (``survfit``, ``basehaz``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "check_survival_inputs",
    "compute_km_table",
    "compute_km_at",
    "compute_km_risk",
    "compute_baseline_cumhaz",
    "evaluate_step",
]


def check_survival_inputs(time, event, *others, names=()):
    """Validate and convert survival outcome arrays (and any per-patient arrays) to numpy.

    Parameters
    ----------
    time : array-like of float
        Follow-up time, finite and >= 0.
    event : array-like of {0, 1} or bool
        1 (True) for an event, 0 for censoring.
    *others : array-like of float
        Further per-patient arrays (predictions), each finite and as long as ``time``.
    names : sequence of str
        Names of ``others`` for error messages.

    Returns
    -------
    tuple of numpy.ndarray
        ``time`` (float), ``event`` (bool), then each of ``others`` (float).

    Raises
    ------
    ValueError
        On unequal lengths, missing or non-finite values, negative times, event codes other than 0/1,
        or no event at all.

    Examples
    --------
    >>> t, e = check_survival_inputs([1.0, 2.0], [1, 0])
    >>> e.dtype
    dtype('bool')
    """
    t = np.asarray(time, dtype=float).ravel()
    e_raw = np.asarray(event).ravel()
    if t.size == 0:
        raise ValueError("time is empty")
    if e_raw.size != t.size:
        raise ValueError(f"time and event differ in length ({t.size} vs {e_raw.size})")
    if not np.all(np.isfinite(t)):
        raise ValueError("time has missing or non-finite values")
    if np.any(t < 0):
        raise ValueError("time has negative values")
    if e_raw.dtype == bool:
        e = e_raw
    else:
        e_num = pd.to_numeric(pd.Series(e_raw), errors="coerce").to_numpy(dtype=float)
        if np.any(~np.isin(e_num, [0.0, 1.0])):
            raise ValueError("event must be coded 0 (censored) or 1 (event), without missing values")
        e = e_num.astype(bool)
    if not e.any():
        raise ValueError("no event in the data: performance cannot be estimated")
    out = [t, e]
    names = list(names) + [f"array {i + 3}" for i in range(len(names), len(others))]
    for name, arr in zip(names, others):
        a = np.asarray(arr, dtype=float).ravel()
        if a.size != t.size:
            raise ValueError(f"{name} has length {a.size}, expected {t.size}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} has missing or non-finite values")
        out.append(a)
    return tuple(out)


def _as_outcome(time, event):
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    if e.size != t.size:
        raise ValueError(f"time and event differ in length ({t.size} vs {e.size})")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("time must be finite and >= 0")
    e = e.astype(float)
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be coded 0 (censored) or 1 (event)")
    return t, e == 1


def compute_km_table(time, event) -> pd.DataFrame:
    """Kaplan-Meier table at each distinct time (R ``survfit`` without confidence limits).

    Parameters
    ----------
    time, event : array-like
        Follow-up time and event indicator (1 event, 0 censored); may be empty.

    Returns
    -------
    pandas.DataFrame
        One row per distinct time, increasing: ``time``, ``n_risk``, ``n_event``, ``n_censor``, ``surv``
        (product of ``1 - d / n``), ``greenwood`` (cumulative ``sum d / (n (n - d))``, ``inf`` once the
        curve reaches 0; R ``std.err`` of the cumulative hazard is its square root).

    Examples
    --------
    >>> compute_km_table([1, 2, 2, 3], [1, 1, 0, 0])["surv"].tolist()
    [0.75, 0.5, 0.5]
    """
    t, e = _as_outcome(time, event)
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e, minlength=times.size)
    removed = np.bincount(inv, minlength=times.size).astype(float)
    n_risk = removed[::-1].cumsum()[::-1]
    surv = np.cumprod(1.0 - d / n_risk) if times.size else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    return pd.DataFrame({"time": times, "n_risk": n_risk.astype(int), "n_event": d.astype(int),
                         "n_censor": (removed - d).astype(int), "surv": surv, "greenwood": np.cumsum(inc)})


def compute_km_at(time, event, t: float, *, extend: bool = True) -> tuple[float, float]:
    """Kaplan-Meier survival at ``t`` and its Greenwood variance: THE Kaplan-Meier at a time of the book.

    R ``summary(survfit(Surv(time, event) ~ 1), times = t, extend = TRUE)``: ``surv`` and ``std.err^2``.

    Parameters
    ----------
    time, event : array-like
        Outcome; an empty sample gives NaN.
    t : float
        Time.
    extend : bool
        After the last follow-up time, True returns the last value of the curve (R ``extend = TRUE``);
        False returns NaN unless the curve has reached 0 (nobody followed up to ``t``: not estimable).

    Returns
    -------
    surv, variance : float
        ``S(t)`` and ``S(t)^2 * sum_{s <= t} d / (n (n - d))``; the variance is NaN once the curve has
        reached 0 (as R).

    Examples
    --------
    >>> compute_km_at([1, 2, 3, 4], [1, 0, 1, 0], 3.0)
    (0.375, 0.08203125)
    """
    tab = compute_km_table(time, event)
    if tab.empty:
        return float("nan"), float("nan")
    if not extend and t > tab["time"].iat[-1] and tab["surv"].iat[-1] > 0:
        return float("nan"), float("nan")
    i = int(np.searchsorted(tab["time"].to_numpy(), t, side="right"))
    if i == 0:
        return 1.0, 0.0
    s = float(tab["surv"].iat[i - 1])
    g = float(tab["greenwood"].iat[i - 1])
    with np.errstate(invalid="ignore"):
        var = s**2 * g if np.isfinite(g) else float("nan")
    return s, float(var)


def compute_km_risk(time, event, t: float) -> float:
    """Kaplan-Meier cumulative risk ``1 - S(t)`` (R ``summary(survfit(...), times = t, extend = TRUE)``).

    Parameters
    ----------
    time, event : array-like
        Validated with :func:`check_survival_inputs` (at least one event).
    t : float
        Horizon; after the last follow-up time the last value of the curve is returned.

    Returns
    -------
    float

    Examples
    --------
    >>> compute_km_risk([1, 2, 3, 4], [1, 0, 1, 0], 3.0)
    0.625
    """
    t_arr, e_arr = check_survival_inputs(time, event)
    return 1.0 - compute_km_at(t_arr, e_arr, t)[0]


def compute_baseline_cumhaz(time, event, lp, *, ties: str = "breslow") -> tuple[np.ndarray, np.ndarray]:
    """Baseline cumulative hazard for a linear predictor ``lp`` (at ``lp = 0``), a step function.

    Breslow: ``H0(s) = sum over distinct event times u <= s of d(u) / S0(u)``, ``S0(u) = sum_{j: time_j >= u}
    exp(lp_j)``; R ``basehaz(coxph(..., ties = "breslow"), centered = FALSE)``, or ``survfit(fit, ctype = 1)``.
    With ``ties = "efron"`` the increment at ``u`` with ``d`` tied events ``D`` is
    ``sum_{k < d} 1 / (S0(u) - k/d * sum_D exp(lp))``, R's default ``survfit`` (``ctype = 2``) of a fit with
    Efron ties (and ``rms::survest`` of a ``cph`` fit). The two differ only at tied event times. With ``lp``
    fixed (an offset) it is the baseline of a recalibrated model.

    Parameters
    ----------
    time, event : array-like
    lp : array-like
        Linear predictor of each patient (``X @ coef``, plus any offset).
    ties : {"breslow", "efron"}
        The estimator's rule at tied event times (match it to the fit's).

    Returns
    -------
    times, cumhaz : numpy.ndarray
        Increasing distinct event times and the cumulative hazard from each on (read with
        :func:`evaluate_step`).

    Raises
    ------
    ValueError
        On unequal lengths, non-finite values, event codes other than 0/1 or an unknown ``ties``.

    Examples
    --------
    >>> t, h = compute_baseline_cumhaz([1.0, 2.0, 3.0], [1, 1, 0], [0.0, 0.0, 0.0])
    >>> t.tolist(), h.tolist()
    ([1.0, 2.0], [0.3333333333333333, 0.8333333333333333])
    >>> compute_baseline_cumhaz([1.0, 1.0, 2.0], [1, 1, 0], [0.0, 0.0, 0.0], ties="efron")[1].tolist()
    [0.8333333333333333]
    """
    if ties not in ("breslow", "efron"):
        raise ValueError(f"ties must be 'breslow' or 'efron', got {ties!r}")
    t, e = _as_outcome(time, event)
    x = np.asarray(lp, dtype=float).ravel()
    if x.size != t.size or not np.all(np.isfinite(x)):
        raise ValueError("lp must be finite and as long as time")
    order = np.argsort(-t, kind="stable")
    ts, es = t[order], e[order]
    # risk set of row i (rows sorted by decreasing time) = rows 0..last[i], ties included
    new_group = np.r_[ts[1:] != ts[:-1], True]
    last = np.flatnonzero(new_group)[np.r_[0, np.cumsum(new_group[:-1])]] if t.size else np.zeros(0, int)
    w = np.exp(x[order])
    s0 = np.cumsum(w)[last]
    times, first = np.unique(ts[es], return_index=True)
    gid = np.searchsorted(times, ts[es])
    counts = np.bincount(gid, minlength=times.size)
    if ties == "breslow":
        return times, np.cumsum(counts / s0[es][first])
    t0 = np.bincount(gid, weights=w[es], minlength=times.size)
    # event rows of one time are adjacent (rows sorted by time): k = 0..d-1 within each tie group
    start = np.r_[True, gid[1:] != gid[:-1]]
    k = np.arange(gid.size) - np.flatnonzero(start)[np.cumsum(start) - 1]
    frac = k / counts[gid]
    inc = np.bincount(gid, weights=1.0 / (s0[es] - frac * t0[gid]), minlength=times.size)
    return times, np.cumsum(inc)


def evaluate_step(times, values, at, *, before: float = 0.0) -> np.ndarray:
    """Right-continuous step function through ``(times, values)`` evaluated at ``at``.

    Parameters
    ----------
    times : array-like
        Increasing jump times.
    values : array-like
        Value from each jump time on (flat after the last).
    at : float or array-like
    before : float
        Value before the first jump time.

    Returns
    -------
    numpy.ndarray
        Same shape as ``at``.

    Raises
    ------
    ValueError
        If ``times`` is not increasing or differs in length from ``values``.

    Examples
    --------
    >>> evaluate_step([1.0, 2.0], [0.5, 1.5], [0.5, 1.0, 1.9, 3.0]).tolist()
    [0.0, 0.5, 0.5, 1.5]
    """
    bt = np.asarray(times, dtype=float)
    bv = np.asarray(values, dtype=float)
    if bt.shape != bv.shape or bt.ndim != 1 or np.any(np.diff(bt) < 0):
        raise ValueError("times must be increasing and as long as values")
    k = np.searchsorted(bt, np.asarray(at, dtype=float), side="right")
    if bt.size == 0:
        return np.full(np.shape(k), float(before))
    return np.where(k == 0, before, bv[np.maximum(k - 1, 0)])
