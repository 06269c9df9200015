"""Harrell's C and the calibration slope of a linear predictor, each written once for the whole book.

Internal validation (objective 4, inside the bootstrap) and external validation (objective 5) call these
same two functions, so the same model on the same data gets the same number in both chapters.

* :func:`compute_harrell_c`: R ``concordance(Surv(time, event) ~ lp, reverse = TRUE)$concordance``. A pair
  is comparable when the shorter time is an event; an event and a censoring at the same time are
  comparable (the censored patient is taken to outlive the event), two events at the same time are not;
  pairs tied in ``lp`` count 1/2, where a tie is ``|lp_i - lp_j| <= 1e-8`` (as scikit-survival's
  ``concordance_index_censored``): a linear predictor computed as ``X @ coef`` can give two patients with
  the same covariates values a last-bit apart, which R, computing them alike, sees as tied. Counted
  exactly in integers by :func:`compute_concordance_counts`, O(n log n) time and O(n) memory.
* :func:`compute_concordance_counts`: per event, the comparable, concordant and tied pair counts behind
  Harrell's C and Uno's C (:func:`sonimage_utils.external_validation.metrics.compute_uno_c` weights them).
* :func:`compute_calibration_slope`: the coefficient of ``lp`` in R ``coxph(Surv(time, event) ~ lp)``, Efron
  ties (R's default), fitted with :func:`~sonimage_utils.survival.efron.fit_cox_efron`.

References
----------
Harrell FE, Lee KL, Mark DB. Multivariable prognostic models. Stat Med 1996;15:361-87.
Cox DR. Two further applications of a model for binary regression. Biometrika 1958;45:562-5.
"""

from __future__ import annotations

import numpy as np

from sonimage_utils.survival.baseline import check_survival_inputs
from sonimage_utils.survival.efron import _fit_cox_efron_on, _SortedOutcome

__all__ = ["compute_harrell_c", "compute_harrell_c_from_counts", "compute_concordance_counts",
           "compute_calibration_slope"]

_Z975 = 1.959963984540054
#: Scores closer than this count as tied in Harrell's C (scikit-survival's ``tied_tol``).
_TIED_TOL = 1e-8


def _prefix_bound(xs, x, tol, concordant):
    """For each score in ``x``, how many sorted scores ``v`` (``xs``) have ``fl(x - v) > tol`` (``concordant``)
    or ``fl(x - v) >= -tol`` (concordant or tied).

    Both sets are prefixes of ``xs`` because a rounded difference is monotone in ``v``. A ``searchsorted`` on
    ``x -+ tol`` finds the boundary up to rounding; the loop moves it over whole groups of equal values until
    the predicate, evaluated exactly as the pairwise definition does, holds on both sides.
    """
    n = xs.size
    if concordant:
        pred = lambda a, v: (a - v) > tol  # noqa: E731
        k = np.searchsorted(xs, x - tol, side="left")
    else:
        pred = lambda a, v: (a - v) >= -tol  # noqa: E731
        k = np.searchsorted(xs, x + tol, side="right")
    while True:
        before, at = xs[np.maximum(k - 1, 0)], xs[np.minimum(k, n - 1)]
        back = (k > 0) & ~pred(x, before)
        fwd = (k < n) & pred(x, at)
        if not (back.any() or fwd.any()):
            return k
        k = np.where(back, np.searchsorted(xs, before, side="left"), k)
        k = np.where(fwd, np.searchsorted(xs, at, side="right"), k)


def compute_concordance_counts(time, event, score, *, tied_tol=_TIED_TOL) -> dict:
    """Per event, the pairs it is comparable with and how many of them are concordant or tied in ``score``.

    Event ``i`` is comparable with patient ``j`` when ``time_j > time_i``, or ``time_j == time_i`` and ``j``
    is censored; the pair is concordant when ``score_i - score_j > tied_tol`` and tied when
    ``|score_i - score_j| <= tied_tol`` (the differences rounded as the pairwise definition rounds them).

    The counts come from one sort by score and an offline divide-and-conquer dominance count over the
    patients taken in decreasing time (censored patients at a time enter before that time's events are
    counted, events after), ``O(n log^2 n)`` time in ``O(log n)`` vectorised passes and ``O(n)`` memory,
    exactly equal to the ``O(n^2)`` pairwise counts.

    Parameters
    ----------
    time, event, score : array-like
    tied_tol : float
        Scores closer than this are tied (scikit-survival's ``tied_tol``).

    Returns
    -------
    dict
        ``index`` (positions of the events, ascending), and per event ``comparable``, ``concordant`` and
        ``tied`` (int64 arrays in the order of ``index``).

    Raises
    ------
    ValueError
        Through :func:`~sonimage_utils.survival.baseline.check_survival_inputs`.

    Examples
    --------
    >>> c = compute_concordance_counts([1, 2, 3], [1, 1, 0], [3.0, 2.0, 2.0])
    >>> c["comparable"].tolist(), c["concordant"].tolist(), c["tied"].tolist()
    ([2, 1], [2, 0], [0, 1])
    """
    t, e, x = check_survival_inputs(time, event, score, names=["score"])
    return _concordance_counts(t, e, x, tied_tol)


def _concordance_counts(t, e, x, tied_tol=_TIED_TOL) -> dict:
    """:func:`compute_concordance_counts` of arrays already validated (``t`` float, ``e`` bool, ``x`` float)."""
    n = t.size
    by_score = np.argsort(x, kind="stable")
    xs = x[by_score]
    rank = np.empty(n, dtype=np.int64)
    rank[by_score] = np.arange(n)
    ev = np.flatnonzero(e)
    lo = _prefix_bound(xs, x[ev], tied_tol, True)   # concordant: rank < lo
    hi = _prefix_bound(xs, x[ev], tied_tol, False)  # concordant or tied: rank < hi
    # one sequence of operations, by decreasing time; at one time: censored enter (kind 0), events are
    # counted (kind 1), events enter (kind 2). A count sees exactly the patients it is comparable with.
    kind = np.concatenate([np.where(e, 2, 0), np.ones(ev.size, dtype=np.int64)])
    seq = np.lexsort((kind, -np.concatenate([t, t[ev]])))
    is_query = seq >= n
    pos = np.arange(seq.size)
    ins_pos, ins_rank = pos[~is_query], rank[seq[~is_query]]
    q_pos, q_ev = pos[is_query], seq[is_query] - n
    comparable = np.cumsum(~is_query)[is_query]
    below_lo = np.zeros(ev.size, dtype=np.int64)
    below_hi = np.zeros(ev.size, dtype=np.int64)
    qlo, qhi, big = lo[q_ev], hi[q_ev], n + 1
    half = 1
    while half < seq.size:  # each level: queries in right halves count entries in the left halves
        left = (ins_pos // half) % 2 == 0
        keys = np.sort((ins_pos[left] // (2 * half)) * big + ins_rank[left])
        right = (q_pos // half) % 2 == 1
        block = (q_pos[right] // (2 * half)) * big
        base = np.searchsorted(keys, block, side="left")
        below_lo[right] += np.searchsorted(keys, block + qlo[right], side="left") - base
        below_hi[right] += np.searchsorted(keys, block + qhi[right], side="left") - base
        half *= 2
    out = {"index": ev, "comparable": np.empty(ev.size, dtype=np.int64),
           "concordant": np.empty(ev.size, dtype=np.int64), "tied": np.empty(ev.size, dtype=np.int64)}
    out["comparable"][q_ev] = comparable
    out["concordant"][q_ev] = below_lo
    out["tied"][q_ev] = below_hi - below_lo
    return out


def compute_harrell_c(time, event, lp) -> float:
    """Harrell's C of a risk score ``lp`` (higher = higher risk); R ``concordance(..., reverse = TRUE)``.

    Parameters
    ----------
    time, event : array-like
    lp : array-like
        Linear predictor or any risk score.

    Returns
    -------
    float
        (concordant + tied / 2) / comparable pairs; NaN when no pair is comparable.

    Raises
    ------
    ValueError
        Through :func:`~sonimage_utils.survival.baseline.check_survival_inputs` (lengths, values, no event).

    Examples
    --------
    >>> compute_harrell_c([1, 2, 3], [1, 1, 0], [3.0, 2.0, 1.0])
    1.0
    """
    return compute_harrell_c_from_counts(compute_concordance_counts(time, event, lp))


def compute_harrell_c_from_counts(counts: dict) -> float:
    """Harrell's C from the pair counts of :func:`compute_concordance_counts` (shared with Uno's C).

    Parameters
    ----------
    counts : dict
        As returned by :func:`compute_concordance_counts`.

    Returns
    -------
    float
        (concordant + tied / 2) / comparable pairs; NaN when no pair is comparable.

    Examples
    --------
    >>> compute_harrell_c_from_counts(compute_concordance_counts([1, 2, 3], [1, 1, 0], [3.0, 2.0, 1.0]))
    1.0
    """
    comp = int(counts["comparable"].sum())
    if comp == 0:
        return float("nan")
    return (int(counts["concordant"].sum()) + 0.5 * int(counts["tied"].sum())) / comp


def compute_calibration_slope(time, event, lp) -> dict:
    """Calibration slope: coefficient of ``lp`` in a Cox model (Efron ties) of the outcome on ``lp`` alone.

    Parameters
    ----------
    time, event : array-like
    lp : array-like
        Linear predictor of the model being validated.

    Returns
    -------
    dict
        ``slope``, ``se`` (model-based), ``ci_low``, ``ci_high`` (Wald 95%), ``converged`` (False when
        the likelihood is monotone and the slope runs off).

    Raises
    ------
    ValueError
        On invalid inputs, or when ``lp`` is (nearly) constant (standard deviation below 1e-10): a model
        shrunk to nothing has no slope.

    Examples
    --------
    >>> rng = np.random.default_rng(0); x = rng.normal(size=2000)
    >>> t = rng.exponential(np.exp(-x)); round(compute_calibration_slope(t, np.ones(2000), x)["slope"], 1)
    1.0
    """
    t, e, x = check_survival_inputs(time, event, lp, names=["lp"])
    return _calibration_slope_on(_SortedOutcome(t, e), x)


def _calibration_slope_on(outcome: _SortedOutcome, x) -> dict:
    """:func:`compute_calibration_slope` of a validated ``lp`` (``x``) on an outcome validated and sorted once
    (:class:`~sonimage_utils.survival.efron._SortedOutcome`), shared with the other fits of the data set."""
    if np.std(x) < 1e-10:
        raise ValueError("lp is constant: calibration slope undefined")
    fit = _fit_cox_efron_on(outcome, x)
    b, se = float(fit.coef[0]), float(fit.se[0])
    return {"slope": b, "se": se, "ci_low": b - _Z975 * se, "ci_high": b + _Z975 * se,
            "converged": bool(fit.converged)}
