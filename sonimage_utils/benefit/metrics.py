"""Objective 4 statistics: validation of predicted benefit.

One job: how well predicted benefit agrees with observed benefit. Van Klaveren's
c-for-benefit with 1:1 matching on predicted benefit and a bootstrap CI; calibration for benefit by
quantile groups of predicted benefit. These are written by hand: no maintained Python library has them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sonimage_utils.survival.baseline import compute_km_at

__all__ = [
    "c_for_benefit_pairs",
    "match_on_predicted_benefit",
    "c_for_benefit",
    "CForBenefitResult",
    "compute_calibration_for_benefit",
    "assign_quantile_groups",
    "compute_group_collapse",
]


def c_for_benefit_pairs(predicted_benefit, observed_benefit) -> float:
    """Concordance of predicted and observed benefit over already-matched pairs.

    Over all pairs of pairs with unequal observed benefit (-1, 0, +1), the share where the pair with the
    larger observed benefit also has the larger predicted benefit; ties in prediction count 0.5.

    Parameters
    ----------
    predicted_benefit : array-like
        One predicted benefit per matched pair.
    observed_benefit : array-like
        One observed benefit per matched pair (-1, 0 or +1).

    Returns
    -------
    float
        NaN when no two pairs differ in observed benefit.

    Raises
    ------
    ValueError
        If the lengths differ or a value is missing.

    References
    ----------
    van Klaveren D, et al. The proposed 'concordance-statistic for benefit' provided a useful metric
    when modeling heterogeneous treatment effects. J Clin Epidemiol 2018;94:59-68.

    Examples
    --------
    >>> c_for_benefit_pairs([0.3, 0.1, 0.2, 0.2], [1, 0, -1, 1])
    0.7
    """
    pb = np.asarray(predicted_benefit, dtype=float)
    ob = np.asarray(observed_benefit, dtype=float)
    if pb.shape != ob.shape or pb.ndim != 1:
        raise ValueError("predicted_benefit and observed_benefit must be 1-d and of equal length")
    if np.isnan(pb).any() or np.isnan(ob).any():
        raise ValueError("benefits must not be missing")
    # Counted, not enumerated: for each level of observed benefit, its pairs with every lower level are
    # counted by binary search in the sorted predictions of the lower levels (O(m log m) time and O(m) memory
    # for the three levels -1, 0, +1, where listing all m(m-1)/2 pairs held gigabytes at m = 5,000). The
    # counts are exact integers, so the share equals the mean over the listed pairs to the last bit.
    levels = np.unique(ob)
    usable = concordant = tied = 0
    for k in range(1, levels.size):
        lower = np.sort(pb[ob < levels[k]])
        upper = pb[ob == levels[k]]
        left = np.searchsorted(lower, upper, side="left")
        right = np.searchsorted(lower, upper, side="right")
        usable += lower.size * upper.size
        concordant += int(left.sum())
        tied += int((right - left).sum())
    if usable == 0:
        return float("nan")
    return float((concordant + 0.5 * tied) / usable)


def match_on_predicted_benefit(predicted_benefit, treated, rng=None) -> pd.DataFrame:
    """1:1 rank matching of treated and control patients on predicted benefit.

    The larger arm is randomly subsampled to the size of the smaller; each arm is sorted by predicted
    benefit and the k-th treated patient is paired with the k-th control.

    Parameters
    ----------
    predicted_benefit : array-like
    treated : array-like of 0/1
    rng : numpy Generator or int, optional

    Returns
    -------
    DataFrame
        ``idx_treated``, ``idx_control`` (positions in the inputs), ``predicted`` (mean of the two).
    """
    pb = np.asarray(predicted_benefit, dtype=float)
    it, ic = _match(pb, np.asarray(treated).astype(int), np.random.default_rng(rng))
    return pd.DataFrame({"idx_treated": it, "idx_control": ic, "predicted": (pb[it] + pb[ic]) / 2})


def _match(pb, tr, rng):
    """The pairs of :func:`match_on_predicted_benefit` as two index arrays (treated, control), without the frame
    (the c-for-benefit of each bootstrap resample reads only these)."""
    it, ic = np.flatnonzero(tr == 1), np.flatnonzero(tr == 0)
    m = min(it.size, ic.size)
    if it.size > m:
        it = np.sort(rng.choice(it, size=m, replace=False))
    if ic.size > m:
        ic = np.sort(rng.choice(ic, size=m, replace=False))
    return it[np.argsort(pb[it], kind="stable")], ic[np.argsort(pb[ic], kind="stable")]


def _status_at(time, event, t):
    """1 event by t, 0 event-free at t, NaN censored before t."""
    return np.where((time <= t) & (event == 1), 1.0, np.where(time > t, 0.0, np.nan))


def _c_for_benefit_once(pb, treated, time, event, t, rng):
    it, ic = _match(pb, treated, rng)
    st = _status_at(time, event, t)
    s_t, s_c = st[it], st[ic]
    keep = ~(np.isnan(s_t) | np.isnan(s_c))
    observed = s_c[keep] - s_t[keep]  # +1: control had the event, treated did not
    return c_for_benefit_pairs(((pb[it] + pb[ic]) / 2)[keep], observed), int(keep.sum())


class CForBenefitResult:
    """c-for-benefit with its bootstrap percentile CI (attributes ``c``, ``ci_low``, ``ci_high``,
    ``n_pairs``, ``n_boot``, ``boot``)."""

    def __init__(self, c, ci_low, ci_high, n_pairs, boot):
        self.c, self.ci_low, self.ci_high, self.n_pairs = c, ci_low, ci_high, n_pairs
        self.boot = boot
        self.n_boot = int(np.isfinite(boot).sum())

    @property
    def summary(self) -> pd.DataFrame:
        """One row: estimate, CI and the numbers behind them."""
        return pd.DataFrame([{"c_for_benefit": self.c, "ci_low": self.ci_low, "ci_high": self.ci_high,
                              "n_pairs_used": self.n_pairs, "n_boot": self.n_boot}])


def c_for_benefit(predicted_benefit, treated, time, event, t, *, n_boot, seed, alpha=0.05):
    """c-for-benefit (van Klaveren 2018) with 1:1 matching on predicted benefit and a bootstrap CI.

    Patients are matched with :func:`match_on_predicted_benefit`; a pair's observed benefit is +1 when the
    control patient had a PFS event by ``t`` and the treated one did not, -1 for the reverse, 0 otherwise;
    pairs with a patient censored before ``t`` are left out; the pair's predicted benefit is the mean of
    the two. The CI resamples patients within arm, re-matches and recomputes (percentile interval).

    Parameters
    ----------
    predicted_benefit : array-like
        Predicted absolute benefit (higher = more benefit from the treatment).
    treated : array-like of 0/1
    time, event : array-like
    t : float
        Horizon of the observed benefit.
    n_boot : int
    seed : int
    alpha : float

    Returns
    -------
    CForBenefitResult

    Raises
    ------
    ValueError
        If lengths differ or an arm is empty.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = c_for_benefit(rng.random(40), np.arange(40) % 2, rng.exponential(10, 40), np.ones(40), 8, n_boot=20, seed=0)
    >>> 0 <= r.c <= 1
    True
    """
    pb, tr = np.asarray(predicted_benefit, float), np.asarray(treated).astype(int)
    time, event = np.asarray(time, float), np.asarray(event, float)
    if not (pb.shape == tr.shape == time.shape == event.shape):
        raise ValueError("predicted_benefit, treated, time and event must have equal length")
    if tr.min() == tr.max():
        raise ValueError("both arms are needed for c-for-benefit")
    ss = np.random.SeedSequence(seed)
    c, n_pairs = _c_for_benefit_once(pb, tr, time, event, t, np.random.default_rng(ss.spawn(1)[0]))
    boot = np.full(n_boot, np.nan)
    it, ic = np.flatnonzero(tr == 1), np.flatnonzero(tr == 0)
    for b, child in enumerate(ss.spawn(n_boot)):
        rng = np.random.default_rng(child)
        idx = np.r_[rng.choice(it, it.size), rng.choice(ic, ic.size)]
        boot[b] = _c_for_benefit_once(pb[idx], tr[idx], time[idx], event[idx], t, rng)[0]
    lo, hi = (np.nanquantile(boot, [alpha / 2, 1 - alpha / 2]) if np.isfinite(boot).any()
              else (np.nan, np.nan))
    return CForBenefitResult(c, float(lo), float(hi), n_pairs, boot)


def assign_quantile_groups(values, n_groups) -> np.ndarray:
    """Group (1 = lowest) of each value: ``n_groups`` groups as equal in size as ties allow.

    Tie-aware cut-points, fixed from the values alone before anything is fitted within a group: the cuts
    lie between distinct values (equal values always share a group) and are chosen, by dynamic
    programming over the distinct values, to minimise the sum of squared differences between the group
    sizes and ``n / n_groups``. Without ties these are the usual quantile groups; with a large tie block
    the other groups are split evenly around it rather than lost. Fewer groups result only when there are
    fewer distinct values than ``n_groups`` (see :func:`compute_group_collapse` to report it).

    Raises
    ------
    ValueError
        If ``n_groups`` < 1 or exceeds the number of values, or a value is missing.

    Examples
    --------
    >>> assign_quantile_groups([0.3, -1.0, 2.0, 0.0], 2).tolist()
    [2, 1, 2, 1]
    >>> assign_quantile_groups([0.0, 0.0, 0.0, 1.0], 4).tolist()
    [1, 1, 1, 2]
    >>> np.bincount(assign_quantile_groups([0.0] * 58 + list(range(1, 43)), 4))[1:].tolist()
    [58, 14, 14, 14]
    """
    values = np.asarray(values, dtype=float)
    if not 1 <= n_groups <= values.size:
        raise ValueError(f"n_groups must be between 1 and the number of values, got {n_groups}")
    if np.isnan(values).any():
        raise ValueError("values must not be missing")
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    m, k = distinct.size, min(int(n_groups), distinct.size)
    target = values.size / n_groups
    cum = np.r_[0, np.cumsum(counts)]
    # cost[g, j]: best cost of g groups over the first j distinct values; cut[g, j]: start of the last group
    cost = np.full((k + 1, m + 1), np.inf)
    cut = np.zeros((k + 1, m + 1), dtype=int)
    cost[0, 0] = 0.0
    for g in range(1, k + 1):
        for j in range(g, m - (k - g) + 1):
            starts = np.arange(g - 1, j)
            c = cost[g - 1, starts] + (cum[j] - cum[starts] - target) ** 2
            best = int(np.argmin(c))  # first minimum: deterministic
            cost[g, j], cut[g, j] = c[best], starts[best]
    group_of_distinct = np.empty(m, dtype=int)
    j = m
    for g in range(k, 0, -1):
        group_of_distinct[cut[g, j]:j] = g
        j = cut[g, j]
    return group_of_distinct[inverse]


def compute_group_collapse(groups, predicted, *, n_requested: int, min_spread: float) -> dict:
    """Whether a grouping delivers what the analysis plan asked for: a check to report, never to hide.

    Parameters
    ----------
    groups : array-like of int
        From :func:`assign_quantile_groups`.
    predicted : array-like
        The value whose group means a figure compares (e.g. predicted benefit).
    n_requested : int
        Groups the SAP asks for.
    min_spread : float
        Smallest range of the group means of ``predicted`` for the groups to show anything (the SAP's
        ``benefit_calibration_min_spread``).

    Returns
    -------
    dict
        ``n_requested``, ``n_groups`` (achieved), ``collapsed`` (fewer than requested), ``sizes``,
        ``spread`` (max - min of the group means), ``drawable`` (at least 2 groups and spread >=
        ``min_spread``), ``closest`` (smallest difference between the means of neighbouring groups).

    Examples
    --------
    >>> r = compute_group_collapse([1, 1, 2, 2], [0.34, 0.34, 0.33, 0.32], n_requested=3, min_spread=0.05)
    >>> r["collapsed"], r["n_groups"], r["drawable"], round(r["spread"], 3)
    (True, 2, False, 0.015)
    """
    groups, predicted = np.asarray(groups), np.asarray(predicted, dtype=float)
    labels = np.unique(groups)
    means = np.array([predicted[groups == g].mean() for g in labels])
    spread = float(means.max() - means.min()) if means.size else float("nan")
    closest = float(np.min(np.abs(np.diff(means)))) if means.size > 1 else float("nan")
    return {"n_requested": int(n_requested), "n_groups": int(labels.size), "collapsed": labels.size < n_requested,
            "sizes": [int((groups == g).sum()) for g in labels], "spread": spread, "closest": closest,
            "drawable": bool(labels.size >= 2 and spread >= min_spread)}


def compute_calibration_for_benefit(predicted_benefit, treated, time, event, t, *, n_groups, alpha=0.05):
    """Observed vs predicted benefit by quantile groups of predicted benefit.

    Within each group: predicted = mean predicted benefit; observed = KM(t) treated - KM(t) control, with
    a Wald CI from the Greenwood variances
    (:func:`~sonimage_utils.survival.baseline.compute_km_at`). Groups keep tied predictions together
    (:func:`assign_quantile_groups`), so there may be fewer than ``n_groups``.

    Returns
    -------
    DataFrame
        One row per group: ``group``, ``n``, ``n_treated``, ``n_control``, ``predicted``, ``observed``,
        ``ci_low``, ``ci_high``.

    Raises
    ------
    ValueError
        If lengths differ or ``n_groups`` < 1.

    References
    ----------
    Efthimiou O, et al. Measuring the performance of prediction models to personalize treatment choice.
    Stat Med 2023;42:1188-206.
    """
    pb, tr = np.asarray(predicted_benefit, float), np.asarray(treated).astype(int)
    time, event = np.asarray(time, float), np.asarray(event, float)
    if not (pb.shape == tr.shape == time.shape == event.shape):
        raise ValueError("inputs must have equal length")
    if n_groups < 1:
        raise ValueError("n_groups must be >= 1")
    groups = assign_quantile_groups(pb, n_groups)
    z = _norm_ppf(1 - alpha / 2)
    rows = []
    for g in np.unique(groups):
        m = groups == g
        s1, v1 = compute_km_at(time[m & (tr == 1)], event[m & (tr == 1)], t)  # NaN for an empty arm
        s0, v0 = compute_km_at(time[m & (tr == 0)], event[m & (tr == 0)], t)
        obs, se = s1 - s0, math.sqrt(v1 + v0) if np.isfinite(v1 + v0) else np.nan
        rows.append({"group": g, "n": int(m.sum()), "n_treated": int((m & (tr == 1)).sum()),
                     "n_control": int((m & (tr == 0)).sum()), "predicted": float(pb[m].mean()),
                     "observed": obs, "ci_low": obs - z * se, "ci_high": obs + z * se})
    return pd.DataFrame(rows)


def _norm_ppf(q):
    from scipy.stats import norm

    return float(norm.ppf(q))
