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

:class:`SurvivalOutcome` is one data set's outcome sorted once, with that same Kaplan-Meier and the
Kaplan-Meier of the censoring distribution as scikit-survival estimates it (``CensoringDistributionEstimator``:
events leave the risk set before censorings at a shared time, a patient weighted by ``G`` at his own time);
the performance measures of a prediction at a horizon (Uno's C, the cumulative/dynamic AUC, the IPCW Brier
score, the observed/expected ratio) all read one such object per data set or bootstrap resample
(:mod:`sonimage_utils.external_validation.metrics`). :func:`compute_km_table`, :func:`compute_km_at` and
:class:`SurvivalOutcome` share one computation of the curve.

The full Kaplan-Meier curve with R's log confidence limits and median rule stays in
:mod:`sonimage_utils.survival.km` (:func:`~sonimage_utils.survival.km.fit_km`); it reads its table from
:func:`compute_km_table` here.

References
----------
Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. JASA 1958;53:457-81.
Breslow NE. Discussion of Professor Cox's paper. JRSS B 1972;34:216-7.
Therneau T. A Package for Survival Analysis in R (``survfit``, ``basehaz``).
Pölsterl S. scikit-survival: a library for time-to-event analysis built on top of scikit-learn. J Mach Learn
Res 2020;21:1-6 (``sksurv.nonparametric.CensoringDistributionEstimator``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "check_survival_inputs",
    "compute_km_table",
    "compute_km_at",
    "compute_km_risk",
    "SurvivalOutcome",
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
        # numbers convert as pandas would convert them (a bootstrap resample passes int codes every time);
        # anything else (strings, objects) through pandas' coercion, unparsable values becoming missing
        e_num = (e_raw.astype(float) if e_raw.dtype.kind in "iuf"
                 else pd.to_numeric(pd.Series(e_raw), errors="coerce").to_numpy(dtype=float))
        if np.any(~np.isin(e_num, [0.0, 1.0])):
            raise ValueError("event must be coded 0 (censored) or 1 (event), without missing values")
        e = e_num.astype(bool)
    if not e.any():
        raise ValueError("no event in the data: performance cannot be estimated")
    out = [t, e]
    names = list(names) + [f"array {i + 3}" for i in range(len(names), len(others))]
    for name, arr in zip(names, others):
        out.append(_check_per_patient(arr, t.size, name))
    return tuple(out)


def _check_per_patient(values, n: int, name: str) -> np.ndarray:
    """One further per-patient array of :func:`check_survival_inputs`: float, as long as the data (``n``), finite;
    also for measures whose outcome was validated once before (``SurvivalOutcome``)."""
    a = np.asarray(values, dtype=float).ravel()
    if a.size != n:
        raise ValueError(f"{name} has length {a.size}, expected {n}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has missing or non-finite values")
    return a


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


def _km_arrays(t, e, order) -> dict:
    """The counts and product-limit estimates at each distinct time, from one sort of the times.

    ``order`` sorts ``t`` (any sort: the counts do not depend on the order within ties). Returns the
    distinct times, each patient's position among them (``group``), ``n_risk``, ``d`` (events), ``c``
    (censorings), the Kaplan-Meier ``surv`` (``prod(1 - d / n_risk)``), the cumulative Greenwood sum, and
    ``censoring``: scikit-survival's Kaplan-Meier of the censoring distribution
    (``CensoringDistributionEstimator``: at a time shared by events and censorings the events leave the risk
    set first, ``prod(1 - c / (n_risk - d))``).
    """
    n = t.size
    ts = t[order]
    new = np.ones(n, dtype=bool)
    new[1:] = ts[1:] != ts[:-1]
    gid = np.cumsum(new) - 1
    times = ts[new]
    m = times.size
    group = np.empty(n, dtype=np.int64)
    group[order] = gid
    d = np.bincount(gid, weights=e[order].astype(float), minlength=m)
    removed = np.bincount(gid, minlength=m).astype(float)
    n_risk = removed[::-1].cumsum()[::-1]
    c = removed - d
    surv = np.cumprod(1.0 - d / n_risk) if m else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
        ratio = np.where(c != 0, c / (n_risk - d), 0.0)
    return {"times": times, "group": group, "n_risk": n_risk, "d": d, "c": c, "surv": surv,
            "greenwood": np.cumsum(inc), "censoring": np.cumprod(1.0 - ratio)}


def _km_read(km: dict, t: float, extend: bool) -> tuple[float, float]:
    """Kaplan-Meier survival and Greenwood variance at ``t`` from :func:`_km_arrays` (R ``summary(survfit)``)."""
    times, surv = km["times"], km["surv"]
    if times.size == 0:
        return float("nan"), float("nan")
    if not extend and t > times[-1] and surv[-1] > 0:
        return float("nan"), float("nan")
    i = int(np.searchsorted(times, t, side="right"))
    if i == 0:
        return 1.0, 0.0
    s = float(surv[i - 1])
    g = float(km["greenwood"][i - 1])
    with np.errstate(invalid="ignore"):
        var = s**2 * g if np.isfinite(g) else float("nan")
    return s, float(var)


class SurvivalOutcome:
    """One data set's outcome sorted once, with its Kaplan-Meier and its censoring Kaplan-Meier.

    Every time-to-event performance measure at a horizon of one data set reads these two curves: the
    Kaplan-Meier risk (observed/expected ratio, the null model of the Brier score) and the inverse
    probability of censoring weights (Uno's C, the cumulative/dynamic AUC, the IPCW Brier score). Built once
    per data set (per bootstrap resample) and passed to each measure, the times are validated and sorted
    once and each curve computed once.

    The censoring curve follows scikit-survival's ``CensoringDistributionEstimator`` to the last bit: at a
    time shared by events and censorings the events leave the risk set first (``G`` jumps by
    ``c / (n_risk - d)``), a patient is weighted by ``G`` at his own time ``G(T_i)`` (not the left limit
    ``G(T_i-)`` of R ``riskRegression``), ``G`` is read by its ``predict_proba`` rule and an event with
    ``G(T_i) = 0`` is an error.

    Parameters
    ----------
    time : array-like of float
        Follow-up time, finite and >= 0.
    event : array-like of {0, 1} or bool
        1 for an event, 0 for censoring; at least one event.

    Attributes
    ----------
    time : numpy.ndarray
        Follow-up time (float), in the order given.
    event : numpy.ndarray
        Event indicator (bool), in the order given.
    order : numpy.ndarray
        ``numpy.argsort(time)`` (numpy's default sort, as scikit-survival's concordance loop).
    times : numpy.ndarray
        Distinct times, increasing.
    group : numpy.ndarray
        Position of each patient's time in ``times``.
    surv : numpy.ndarray
        Kaplan-Meier survival at each of ``times`` (R ``survfit``).
    censoring : numpy.ndarray
        Censoring survival ``G`` at each of ``times`` (scikit-survival).

    Raises
    ------
    ValueError
        Through :func:`check_survival_inputs` (lengths, values, event codes, no event).

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. JASA 1958;53:457-81.
    Pölsterl S. scikit-survival: a library for time-to-event analysis built on top of scikit-learn. J Mach
    Learn Res 2020;21:1-6 (``sksurv.nonparametric.CensoringDistributionEstimator``).

    Examples
    --------
    >>> o = SurvivalOutcome([1, 2, 2, 3, 4], [1, 1, 0, 0, 1])
    >>> round(o.km_risk(2.5), 6), np.round(o.censoring, 6).tolist()
    (0.4, [1.0, 0.666667, 0.333333, 0.333333])
    >>> np.round(o.ipcw(), 6).tolist()
    [1.0, 1.5, 0.0, 0.0, 3.0]
    """

    def __init__(self, time, event):
        self.time, self.event = check_survival_inputs(time, event)
        self.order = np.argsort(self.time)
        self._km = _km_arrays(self.time, self.event, self.order)
        self.times = self._km["times"]
        self.group = self._km["group"]
        self.surv = self._km["surv"]
        self.censoring = self._km["censoring"]
        self._grid = np.r_[-np.inf, self.times]  # scikit-survival's unique_time_ and prob_
        self._g = np.r_[1.0, self.censoring]

    @property
    def size(self) -> int:
        """Number of patients."""
        return int(self.time.size)

    def km_at(self, t: float, *, extend: bool = True) -> tuple[float, float]:
        """Kaplan-Meier survival at ``t`` and its Greenwood variance, as :func:`compute_km_at`."""
        return _km_read(self._km, t, extend)

    def km_risk(self, t: float) -> float:
        """Kaplan-Meier risk ``1 - S(t)``, as :func:`compute_km_risk`."""
        return 1.0 - self.km_at(t)[0]

    def censoring_at(self, at) -> np.ndarray:
        """Censoring survival ``G`` at each of ``at``: scikit-survival's ``predict_proba``.

        The value at the last distinct time at or below each point (a point within machine epsilon of a
        distinct time takes that time's value); beyond the last time 0 if the curve has reached 0.

        Raises
        ------
        ValueError
            If a point lies beyond the last time while ``G`` there is above 0.
        """
        at = np.atleast_1d(np.asarray(at, dtype=float))
        extends = at > self._grid[-1]
        if self._g[-1] > 0 and extends.any():
            raise ValueError(f"time must be smaller than largest observed time point: {self._grid[-1]}")
        out = np.zeros(at.shape, dtype=float)
        inside = at[~extends]
        idx = np.searchsorted(self._grid, inside)
        exact = np.absolute(self._grid[idx] - inside) < np.finfo(float).eps
        idx[~exact] -= 1
        out[~extends] = self._g[idx]
        return out

    def censoring_own(self) -> np.ndarray:
        """``G(T_i)``, the censoring survival at each patient's own time (order given)."""
        return self.censoring[self.group]

    def ipcw(self, mask=None) -> np.ndarray:
        """Inverse probability of censoring weights ``event_i / G(T_i)``: scikit-survival's ``predict_ipcw``.

        Parameters
        ----------
        mask : array-like of bool, optional
            Patients weighted (the others get 0); default all.

        Raises
        ------
        ValueError
            If ``mask`` selects no patient or no event, or ``G(T_i) = 0`` at a selected event (an event at the
            last time shared with censorings), as scikit-survival.
        """
        ev = self.event if mask is None else self.event & np.asarray(mask, dtype=bool)
        if mask is not None and not np.any(mask):
            raise ValueError("no patient to weight")
        if not ev.any():
            raise ValueError("all samples are censored")
        g = self.censoring_own()[ev]
        if (g == 0.0).any():
            raise ValueError("censoring survival function is zero at one or more time points")
        w = np.zeros(self.time.size)
        w[ev] = 1.0 / g
        return w


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
    km = _km_arrays(t, e, np.argsort(t))
    return pd.DataFrame({"time": km["times"], "n_risk": km["n_risk"].astype(int), "n_event": km["d"].astype(int),
                         "n_censor": km["c"].astype(int), "surv": km["surv"], "greenwood": km["greenwood"]})


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
    t_arr, e_arr = _as_outcome(time, event)
    return _km_read(_km_arrays(t_arr, e_arr, np.argsort(t_arr)), t, extend)


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
    return SurvivalOutcome(time, event).km_risk(t)


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
    return _baseline_cumhaz_sorted(ts, es, last, x[order], ties)


def _baseline_cumhaz_on(outcome, lp, ties):
    """:func:`compute_baseline_cumhaz` of a validated ``lp`` on an outcome sorted once
    (:class:`~sonimage_utils.survival.efron._SortedOutcome`, shared with the Cox fits of the same data set)."""
    if ties not in ("breslow", "efron"):
        raise ValueError(f"ties must be 'breslow' or 'efron', got {ties!r}")
    x = np.asarray(lp, dtype=float).ravel()
    if x.size != outcome.n or not np.all(np.isfinite(x)):
        raise ValueError("lp must be finite and as long as time")
    return _baseline_cumhaz_sorted(outcome.time_sorted, outcome.event_sorted, outcome.last, x[outcome.order], ties)


def _baseline_cumhaz_sorted(ts, es, last, xs, ties):
    """:func:`compute_baseline_cumhaz` on rows already sorted by decreasing time (stable): times ``ts``, events
    ``es`` (bool), risk-set ends ``last`` and linear predictor ``xs`` in that order; the estimator itself, shared
    with callers that sorted the outcome once (:class:`~sonimage_utils.survival.efron._SortedOutcome`:
    ``time_sorted``, ``event_sorted``, ``last``, and the linear predictor taken in its ``order``)."""
    w = np.exp(xs)
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
