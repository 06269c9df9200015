"""A fast, exact, vectorised Cox fit with Efron ties, for fits inside resampling loops.

Why a second Cox engine beside lifelines: the calibration slope, the spline calibration model of the
calibration curves and the recalibration run once per bootstrap resample (thousands of fits); a
:class:`lifelines.CoxPHFitter` costs about 60 ms of pandas, input checking and loose convergence per fit
at n = 200, this engine about 1.5 ms (``benchmarks/calibration_slope.py``). It maximises the same Efron
partial likelihood as R ``coxph(..., ties = "efron")`` (R's default) and lifelines, to full convergence, and agrees with R to 1e-6 or better in coefficients,
standard errors and log likelihood (``tests/test_estimators_reference.py``). Reported model fits, whose
``.summary`` the book prints, stay on lifelines (:func:`sonimage_utils.survival.cox.fit_cox`).

The other two Cox solvers of the package, for what this engine does not cover:

* :mod:`sonimage_utils.survival.ridge_cox` maximises a *penalised* Efron partial likelihood inside a
  cross-validation over a penalty grid with warm starts; it calls this module's ``_efron_folds`` on its
  ``_Sorted`` data (one Efron likelihood in the package, for one fit or for the training sets of all folds at
  once) and adds the penalty and the path;
* :func:`sonimage_utils.survival.power.fit_cox_batch` fits 1,000 simulated trials at once along a batch
  axis; its times are continuous (no ties), where Efron and Breslow coincide.

The estimator (for distinct event times ``u`` with ``d`` tied events ``D``, risk set ``R``, ``w = exp(eta)``):
``loglik = sum_D eta - sum_u sum_{k<d} log(S0 - k/d * T0)``, ``S0 = sum_R w``, ``T0 = sum_D w``; score
and information follow (Therneau & Grambsch 2000, section 3.3), risk-set sums as cumulative sums of blocks
of the rows sorted once by decreasing time, score and information summed by tie group.

References
----------
Efron B. The efficiency of Cox's likelihood function for censored data. JASA 1977;72:557-65.
Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model. Springer 2000.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["EfronCoxResult", "fit_cox_efron"]


@dataclass
class EfronCoxResult:
    """A Cox model fitted by :func:`fit_cox_efron`.

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients (log hazard ratios).
    vcov : numpy.ndarray
        Model-based covariance (inverse observed information).
    loglik : float
        Efron log partial likelihood at ``coef`` (R ``fit$loglik[2]``).
    loglik_null : float
        At ``coef = 0`` (R ``fit$loglik[1]``).
    n_iter : int
    converged : bool
    feature_names : list of str
    """

    coef: np.ndarray
    vcov: np.ndarray
    loglik: float
    loglik_null: float
    n_iter: int
    converged: bool
    feature_names: list = field(default_factory=list)

    @property
    def se(self) -> np.ndarray:
        """Standard errors, ``sqrt(diag(vcov))``."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def summary(self) -> pd.DataFrame:
        """Coefficient, standard error and hazard ratio per feature."""
        return pd.DataFrame({"coef": self.coef, "se": self.se, "hr": np.exp(self.coef)},
                            index=pd.Index(self.feature_names, name="feature"))


class _SortedOutcome:
    """The part of :class:`_Sorted` that depends on the outcome alone: the rows' order by decreasing time, the
    risk-set ends and the Efron tie structure of the events.

    Built once per data set (one sort of the times), it is shared by every Cox fit and baseline hazard of that
    data set whatever the covariates (the calibration slope on ``lp``, the spline calibration model and its
    baseline): :class:`_Sorted` takes it instead of sorting the same times again. The arrays are exactly those
    :class:`_Sorted` computes from ``time`` and ``event`` (it builds one when none is given), so a fit on a
    shared outcome equals the fit from raw arrays to the bit.

    Parameters
    ----------
    time : numpy.ndarray of float
        Follow-up times (validated by the caller).
    event : numpy.ndarray of bool
        Event indicator (validated by the caller, at least one event).
    """

    def __init__(self, time, event):
        order = np.argsort(-time, kind="stable")
        self.order = order
        t = time[order]
        ev = event[order]
        self.time_sorted, self.event_sorted = t, ev
        n = t.size
        new_group = np.r_[t[1:] != t[:-1], True]
        self.last = np.flatnonzero(new_group)[np.r_[0, np.cumsum(new_group[:-1])]]  # risk set = rows 0..last
        self.ev = np.flatnonzero(ev)  # event rows, by decreasing time
        te = t[self.ev]
        # tie groups among event rows (equal times are adjacent), k = rank within group, d = group size
        start = np.r_[True, te[1:] != te[:-1]]
        gid = np.cumsum(start) - 1
        first = np.flatnonzero(start)
        self.gid = gid
        self.first = first
        self.n_groups = first.size
        self.d = np.bincount(gid)
        k = np.arange(te.size) - first[gid]
        self.f = k / self.d[gid]
        self.group_last = self.last[self.ev[first]]  # strictly increasing: one distinct time per group
        # blocks of rows between consecutive risk-set ends; rows after the last end are in no risk set
        self.block_start = np.r_[0, self.group_last[:-1] + 1]
        if self.group_last[-1] + 1 < n:
            self.block_start = np.r_[self.block_start, self.group_last[-1] + 1]
        self.n = n
        self.has_ties = bool(np.any(self.d > 1))
        self.tie_rows = np.flatnonzero(self.d[gid] > 1)


#: The outcome-only attributes :class:`_Sorted` takes from its :class:`_SortedOutcome`.
_OUTCOME_FIELDS = ("last", "ev", "gid", "first", "n_groups", "d", "f", "group_last", "block_start", "n",
                   "has_ties", "tie_rows")


class _Sorted:
    """Rows sorted by decreasing time, with risk-set ends and the Efron tie structure of the events.

    Risk set of tie group ``g`` = rows ``0..group_last[g]``. Its sums are cumulative sums over *blocks* of
    rows (``block_start``: the rows between two consecutive risk-set ends), so a likelihood evaluation adds
    n rows once into G blocks and then cumulates G block sums, rather than cumulating all n rows. The event
    rows of a tie group are adjacent (``first``: where each group starts among the event rows).

    The order and tie structure come from ``outcome`` (a :class:`_SortedOutcome` of ``time`` and ``event``)
    when given, so that several fits on one data set sort its times once; otherwise they are computed here.
    """

    def __init__(self, X, time, event, offset, outcome=None):
        if outcome is None:
            outcome = _SortedOutcome(time, event)
        for name in _OUTCOME_FIELDS:
            setattr(self, name, getattr(outcome, name))
        order = outcome.order
        self.X = X[order]
        self.offset = offset[order]
        # data-only quantities, computed once: event rows' covariates, their sum
        self.xe = np.ascontiguousarray(self.X[self.ev])
        self.xe_sum = self.xe.sum(axis=0)


def _group_sums(s: _Sorted, values):
    """Sum of ``values`` (one row per event row, any further axes) within each tie group."""
    return np.add.reduceat(values, s.first, axis=0)


def _efron(s: _Sorted, beta, want_derivatives=True):
    """Efron log likelihood, score and information of all rows at ``beta`` (p,): :func:`_efron_folds` with one
    subset holding every row (one implementation of the formulas)."""
    loglik, grad, info = _efron_folds(s, np.asarray(beta, dtype=float)[None, :], want_derivatives=want_derivatives)
    return (float(loglik[0]), None, None) if grad is None else (float(loglik[0]), grad[0], info[0])


def fit_cox_efron(X, time, event, *, offset=None, init=None, tol: float = 1e-10, max_iter: int = 50,
                  feature_names=None) -> EfronCoxResult:
    """Fit a Cox model by Newton-Raphson on the Efron partial likelihood (R ``coxph``, ``ties = "efron"``).

    Parameters
    ----------
    X : array-like, shape (n, p) or (n,)
        Covariates.
    time, event : array-like, shape (n,)
        Follow-up time (>= 0) and event indicator (1 event, 0 censored).
    offset : array-like, shape (n,), optional
        Fixed part of the linear predictor (R ``offset()``).
    init : array-like, shape (p,), optional
        Starting coefficients (default 0).
    tol : float
        Convergence when the largest absolute Newton step is below ``tol * (1 + max|coef|)``; the
        quadratic convergence of Newton's method then leaves an error far below ``tol``.
    max_iter : int
        Iterations; a monotone likelihood (coefficient running off to infinity) stops here with
        ``converged = False``.
    feature_names : list of str, optional

    Returns
    -------
    EfronCoxResult

    Raises
    ------
    ValueError
        On mismatched lengths, non-finite values, event codes other than 0/1, or no event.

    Examples
    --------
    >>> fit = fit_cox_efron([[0.0], [1.0], [0.0], [1.0]], [1.0, 1.0, 2.0, 3.0], [1, 1, 1, 0])
    >>> round(float(fit.coef[0]), 4)  # R coxph(Surv(time, event) ~ x): -0.6931
    -0.6931
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    time = np.asarray(time, dtype=float).ravel()
    event = np.asarray(event, dtype=float).ravel()
    n, p = X.shape
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float).ravel()
    if time.size != n or event.size != n or off.size != n:
        raise ValueError("X, time, event and offset must have the same number of rows")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(time)) and np.all(np.isfinite(off))):
        raise ValueError("X, time and offset must be finite")
    if np.any(time < 0):
        raise ValueError("time must be non-negative")
    if not np.all((event == 0) | (event == 1)):
        raise ValueError("event must be coded 0 (censored) or 1 (event)")
    if not event.any():
        raise ValueError("no events: the Cox model cannot be fitted")
    return _newton(_Sorted(X, time, event == 1, off), init, tol, max_iter, feature_names)


def _fit_cox_efron_on(outcome: _SortedOutcome, X, *, tol: float = 1e-10, max_iter: int = 50) -> EfronCoxResult:
    """:func:`fit_cox_efron` of covariates ``X`` on an outcome already validated and sorted (``outcome``).

    The fits of one data set (e.g. the calibration slope and the spline calibration model of a bootstrap
    resample) share its :class:`_SortedOutcome` instead of validating and sorting the same times again; the
    Newton iterations are those of :func:`fit_cox_efron` (one implementation), so the result is the same to
    the bit (``tests/test_efron_engine.py``).

    Parameters
    ----------
    outcome : _SortedOutcome
        Of the data set's times and events (at least one event).
    X : array-like, shape (n, p) or (n,)
        Covariates, rows in the order of the times given to ``outcome``.
    tol, max_iter
        As :func:`fit_cox_efron`.

    Returns
    -------
    EfronCoxResult

    Raises
    ------
    ValueError
        If ``X`` does not have one finite row per patient.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != outcome.n:
        raise ValueError("X, time, event and offset must have the same number of rows")
    if not np.all(np.isfinite(X)):
        raise ValueError("X, time and offset must be finite")
    return _newton(_Sorted(X, None, None, np.zeros(outcome.n), outcome), None, tol, max_iter, None)


def _newton(s: _Sorted, init, tol, max_iter, feature_names) -> EfronCoxResult:
    """Newton-Raphson with step halving on the Efron likelihood of ``s`` (the iterations of :func:`fit_cox_efron`)."""
    p = s.X.shape[1]
    beta = np.zeros(p) if init is None else np.array(init, dtype=float).ravel()
    loglik, grad, info = _efron(s, beta)
    # from 0 (the default start) the first evaluation is the null model's: its likelihood, computed by the same
    # operations as an evaluation without derivatives, is the null log likelihood (one evaluation saved per fit)
    loglik_null = loglik if init is None else _efron(s, np.zeros(p), want_derivatives=False)[0]
    converged, it = False, 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        for _ in range(30):  # step halving keeps the likelihood increasing
            new = beta + step
            new_loglik, new_grad, new_info = _efron(s, new)
            if np.isfinite(new_loglik) and new_loglik >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
        beta, loglik, grad, info = new, new_loglik, new_grad, new_info
        if np.max(np.abs(step)) < tol * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
    try:
        vcov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        vcov = np.full((p, p), np.nan)
    names = list(feature_names) if feature_names is not None else [f"x{j + 1}" for j in range(p)]
    return EfronCoxResult(beta, vcov, loglik, loglik_null, it, converged, names)


def _efron_folds(s: _Sorted, B, M=None, Me=None, F=None, want_derivatives=True):
    """Efron log likelihood, score and information of K subsets of the rows at once (e.g. the training sets of
    K cross-validation folds); :func:`_efron` is the case of one subset holding every row.

    A subset's rows are weighted 1 and the others 0: its risk set is its rows of the full risk set, and the tie
    groups of its events are the full tie groups restricted to its events. Evaluating K folds together replaces
    K Python-level evaluations by one on arrays with a fold axis (at small n the cost is numpy's per-call
    overhead, not arithmetic). ``tests/test_efron_engine.py`` checks a subset against its rows evaluated alone.

    Parameters
    ----------
    s : _Sorted
        All rows.
    B : ndarray, shape (K, p)
        Coefficients of each subset.
    M : ndarray, shape (n, K), optional
        1.0 where a row (in ``s``'s sorted order) is in the subset, else 0.0; None = every row in every subset.
    Me : ndarray, shape (n_events, K), optional
        ``M`` at the event rows (with ``M``).
    F : ndarray, shape (n_events, K), optional
        Efron's ``k / d`` of each event among the subset's events of its tie group (0 outside the subset),
        :func:`_fold_fractions` (with ``M``).

    Returns
    -------
    loglik : ndarray (K,)
    grad : ndarray (K, p), or None without derivatives
    info : ndarray (K, p, p), or None without derivatives
    """
    X = s.X
    G = s.n_groups
    eta = X @ B.T + s.offset[:, None]  # n x K
    if M is None:
        shift = eta.max(axis=0)
        w = np.exp(eta - shift)
        F = s.f[:, None]
    else:
        shift = np.max(np.where(M > 0, eta, -np.inf), axis=0)
        w = np.exp(eta - shift) * M
    s0 = np.cumsum(np.add.reduceat(w, s.block_start, axis=0)[:G], axis=0)  # G x K: sum of w over the risk set
    we = w[s.ev]
    t0 = _group_sums(s, we)  # G x K: sum of w over the group's events
    den = s0[s.gid] - F * t0[s.gid]  # per event row
    terms = eta[s.ev] - shift
    if Me is not None:
        den = np.where(Me > 0, den, 1.0)  # outside the subset: no term (log 1 = 0)
        terms = Me * (terms - np.log(den))
    else:
        terms = terms - np.log(den)
    loglik = np.sum(terms, axis=0)
    if not want_derivatives:
        return loglik, None, None
    xe = s.xe
    inv = 1.0 / den if Me is None else Me / den
    a_g = _group_sums(s, inv)  # G x K: sum over a group's events of 1 / den_r
    s1 = np.cumsum(np.add.reduceat(w[:, :, None] * X[:, None, :], s.block_start, axis=0)[:G], axis=0)  # G x K x p
    # score: sum_r x_r - sum_r (S1_g - f_r T1_g) / den_r, the second sum grouped by tie group
    ws = np.einsum("gk,gkp->kp", a_g, s1)
    # information: sum_r [S2_g / den_r - f_r T2_g / den_r - a_r a_r'], a_r = (S1_g - f_r T1_g) / den_r.
    # sum_r S2_g / den_r = X' diag(w * c) X, c_j = sum of a_g over the groups whose risk set holds row j
    dep = np.zeros_like(w)
    dep[s.group_last] = a_g
    c = np.cumsum(dep[::-1], axis=0)[::-1]
    wc = (w * c).T  # K x n
    info = np.matmul((X[None, :, :] * wc[:, :, None]).transpose(0, 2, 1), X[None, :, :])  # K x p x p
    # sum_r a_r a_r' = S1' diag(sum_r 1/den_r^2) S1 when no ties (f = 0); with ties, the cross terms in T1
    S = s1.transpose(1, 0, 2)  # K x G x p
    A2 = _group_sums(s, inv * inv).T  # K x G
    info -= np.matmul((S * A2[:, :, None]).transpose(0, 2, 1), S)
    if s.has_ties:
        fi = F * inv
        b_g = _group_sums(s, fi)  # G x K: sum_r f_r / den_r (0 for an untied event)
        t1 = _group_sums(s, we[:, :, None] * xe[:, None, :])  # G x K x p
        ws -= np.einsum("gk,gkp->kp", b_g, t1)
        T = t1.transpose(1, 0, 2)
        B2 = _group_sums(s, fi * inv).T
        cross = np.matmul((S * B2[:, :, None]).transpose(0, 2, 1), T)
        info += cross + cross.transpose(0, 2, 1)
        C2 = _group_sums(s, fi * fi).T
        info -= np.matmul((T * C2[:, :, None]).transpose(0, 2, 1), T)
        # minus sum_r f_r T2_g / den_r = X_D' diag(w_D * B_g) X_D, only tied event rows have f_r > 0
        r = s.tie_rows
        xt = xe[r]
        wt = (we[r] * b_g[s.gid[r]]).T  # K x n_tied
        info -= np.matmul((xt[None, :, :] * wt[:, :, None]).transpose(0, 2, 1), xt[None, :, :])
    grad = (s.xe_sum if Me is None else Me.T @ xe) - ws
    return loglik, grad, info


def _fold_fractions(s: _Sorted, Me):
    """Efron's ``k / d`` of each event within its tie group among the events of each subset (columns of ``Me``)."""
    earlier = np.cumsum(Me, axis=0) - Me  # subset events before each event row
    rank = earlier - earlier[s.first][s.gid]  # 0, 1, ... within the group
    d = np.add.reduceat(Me, s.first, axis=0)[s.gid]
    return np.where(Me > 0, rank / np.where(d > 0, d, 1.0), 0.0)
