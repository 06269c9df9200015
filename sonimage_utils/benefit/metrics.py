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
    tr = np.asarray(treated).astype(int)
    rng = np.random.default_rng(rng)
    it, ic = np.flatnonzero(tr == 1), np.flatnonzero(tr == 0)
    m = min(it.size, ic.size)
    if it.size > m:
        it = np.sort(rng.choice(it, size=m, replace=False))
    if ic.size > m:
        ic = np.sort(rng.choice(ic, size=m, replace=False))
    it = it[np.argsort(pb[it], kind="stable")]
    ic = ic[np.argsort(pb[ic], kind="stable")]
    return pd.DataFrame({"idx_treated": it, "idx_control": ic, "predicted": (pb[it] + pb[ic]) / 2})


def _status_at(time, event, t):
    """1 event by t, 0 event-free at t, NaN censored before t."""
    return np.where((time <= t) & (event == 1), 1.0, np.where(time > t, 0.0, np.nan))


def _c_for_benefit_once(pb, treated, time, event, t, rng):
    pairs = match_on_predicted_benefit(pb, treated, rng)
    st = _status_at(time, event, t)
    s_t, s_c = st[pairs["idx_treated"]], st[pairs["idx_control"]]
    keep = ~(np.isnan(s_t) | np.isnan(s_c))
    observed = s_c[keep] - s_t[keep]  # +1: control had the event, treated did not
    return c_for_benefit_pairs(pairs["predicted"].to_numpy()[keep], observed), int(keep.sum())


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
    """Quantile group (1 = lowest) of each value, ties kept together.

    A value's group is ``ceil(n_groups x rank / n)`` with the lowest rank of its tie block; the groups that
    occur are renumbered 1, 2, ...: equal values always share a group, so a model with few distinct
    predictions (one binary predictor, say) yields fewer groups than asked for.

    Raises
    ------
    ValueError
        If ``n_groups`` < 1 or exceeds the number of values.

    Examples
    --------
    >>> assign_quantile_groups([0.3, -1.0, 2.0, 0.0], 2).tolist()
    [2, 1, 2, 1]
    >>> assign_quantile_groups([0.0, 0.0, 0.0, 1.0], 4).tolist()
    [1, 1, 1, 2]
    """
    values = np.asarray(values, dtype=float)
    if not 1 <= n_groups <= values.size:
        raise ValueError(f"n_groups must be between 1 and the number of values, got {n_groups}")
    ranks = pd.Series(values).rank(method="min").to_numpy()
    raw = np.ceil(ranks * n_groups / values.size).astype(int)
    return np.searchsorted(np.unique(raw), raw) + 1


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
