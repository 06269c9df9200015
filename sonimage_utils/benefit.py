"""Objective 4 statistics: sample size for a prediction model, and validation of predicted benefit.

One job: the numbers around the benefit model that do not fit it. Riley's minimum sample size for a
survival prediction model (and its inverse, the most parameters a cohort supports); van Klaveren's
c-for-benefit with 1:1 matching on predicted benefit and a bootstrap CI; calibration for benefit by
quantile groups of predicted benefit. These are written by hand: no maintained Python library has them
(the R package ``pmsampsize`` is the reference for the sample size, and the test reproduces its check).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "riley_sample_size",
    "riley_max_parameters",
    "c_for_benefit_pairs",
    "match_on_predicted_benefit",
    "c_for_benefit",
    "CForBenefitResult",
    "compute_calibration_for_benefit",
    "assign_quantile_groups",
]


def _check_r2(r2_cs, shrinkage):
    if not 0 < r2_cs < 1:
        raise ValueError(f"r2_cs must be in (0, 1), got {r2_cs}")
    if not r2_cs < shrinkage < 1:
        raise ValueError(f"shrinkage must be in (r2_cs, 1), got {shrinkage}")


def _criterion2_shrinkage(r2_cs, event_rate, mean_followup, pmsampsize_rounding):
    # lnL0 / n = (E/n) ln(E/n) - E/n with E/n = rate x mean follow-up (pmsampsize's events / n)
    e_per_n = event_rate * mean_followup
    if not 0 < e_per_n < 1:
        raise ValueError(f"event_rate x mean_followup must be in (0, 1), got {e_per_n}")
    max_r2 = 1 - math.exp(2 * (e_per_n * math.log(e_per_n) - e_per_n))
    if pmsampsize_rounding:
        max_r2 = round(max_r2, 2)
    if r2_cs >= max_r2:
        raise ValueError(f"r2_cs {r2_cs} is not below the maximum possible R2cs {max_r2:.3f}")
    s2 = r2_cs / (r2_cs + 0.05 * max_r2)
    if pmsampsize_rounding:
        s2 = round(s2, 3)
    return max_r2, s2


def riley_sample_size(r2_cs, n_parameters, event_rate, timepoint, mean_followup, shrinkage=0.9, *,
                      pmsampsize_rounding=True) -> dict:
    """Minimum sample size for a Cox prediction model (Riley et al. criteria 1-3).

    Criterion 1 (expected uniform shrinkage >= ``shrinkage``):
    ``n1 = ceil(p / ((S - 1) ln(1 - R2cs / S)))``. Criterion 2 (apparent and adjusted Nagelkerke R2
    differ by <= 0.05): the same with ``S2 = R2cs / (R2cs + 0.05 max R2cs)``,
    ``max R2cs = 1 - exp(2 lnL0 / n)``, ``lnL0 = E ln(E / n) - E``. Criterion 3 (the overall risk at
    ``timepoint``) is reported as the 95% CI of the cumulative incidence at the final size.

    Parameters
    ----------
    r2_cs : float
        Anticipated Cox-Snell R2 of the model.
    n_parameters : int
        Candidate predictor parameters.
    event_rate : float
        Events per person-time unit.
    timepoint : float
        Prediction horizon (same time unit).
    mean_followup : float
        Anticipated mean follow-up (same time unit).
    shrinkage : float
        Target expected shrinkage (default 0.9).
    pmsampsize_rounding : bool
        Round max R2cs to 2 and S2 to 3 decimals as R ``pmsampsize`` does (reproduces the published
        check value n2 = 875; without rounding it is 866).

    Returns
    -------
    dict
        ``n_criterion1``, ``n_criterion2``, ``n_required``, ``events_per_parameter`` (at
        ``n_required``), ``shrinkage_criterion2``, ``max_r2_cs``, ``events``, and ``risk_at_timepoint``
        with ``risk_ci_low``/``risk_ci_high``.

    Raises
    ------
    ValueError
        If an input is out of range (R2cs not below its maximum, shrinkage <= R2cs, ...).

    References
    ----------
    Riley RD, et al. Minimum sample size for developing a multivariable prediction model: part II -
    binary and time-to-event outcomes. Stat Med 2019;38:1276-96. Riley RD, et al. Calculating the sample
    size required for developing a clinical prediction model. BMJ 2020;368:m441.

    Examples
    --------
    >>> r = riley_sample_size(0.051, 25, 0.065, 2, 2.07)
    >>> r["n_criterion1"], r["n_criterion2"], r["n_required"]
    (4286, 875, 4286)
    """
    _check_r2(r2_cs, shrinkage)
    if n_parameters < 1:
        raise ValueError("n_parameters must be >= 1")
    if event_rate <= 0 or timepoint <= 0 or mean_followup <= 0:
        raise ValueError("event_rate, timepoint and mean_followup must be > 0")
    max_r2, s2 = _criterion2_shrinkage(r2_cs, event_rate, mean_followup, pmsampsize_rounding)
    n1 = math.ceil(n_parameters / ((shrinkage - 1) * math.log(1 - r2_cs / shrinkage)))
    n2 = math.ceil(n_parameters / ((s2 - 1) * math.log(1 - r2_cs / s2)))
    n = max(n1, n2)
    person_time = mean_followup * n
    half = 1.96 * math.sqrt(event_rate / person_time)
    return {
        "n_criterion1": n1,
        "n_criterion2": n2,
        "n_required": n,
        "events": n * event_rate * mean_followup,
        "events_per_parameter": n * event_rate * mean_followup / n_parameters,
        "shrinkage_criterion2": s2,
        "max_r2_cs": max_r2,
        "risk_at_timepoint": 1 - math.exp(-event_rate * timepoint),
        "risk_ci_low": 1 - math.exp(-(event_rate - half) * timepoint),
        "risk_ci_high": 1 - math.exp(-(event_rate + half) * timepoint),
    }


def riley_max_parameters(n, r2_cs, event_rate, mean_followup, shrinkage=0.9, *, pmsampsize_rounding=True) -> dict:
    """The largest number of candidate parameters that ``n`` patients support (Riley criteria 1 and 2).

    Inverts the criteria: ``p_k = floor(n (S_k - 1) ln(1 - R2cs / S_k))``; the answer is the smaller.
    Zero means that not even one parameter meets the criteria.

    Returns
    -------
    dict
        ``max_parameters``, ``max_parameters_criterion1``, ``max_parameters_criterion2``,
        ``shrinkage_criterion2``, ``max_r2_cs``.

    Raises
    ------
    ValueError
        As :func:`riley_sample_size`.

    Examples
    --------
    >>> riley_max_parameters(4286, 0.051, 0.065, 2.07)["max_parameters_criterion1"]
    25
    """
    _check_r2(r2_cs, shrinkage)
    if n < 1:
        raise ValueError("n must be >= 1")
    max_r2, s2 = _criterion2_shrinkage(r2_cs, event_rate, mean_followup, pmsampsize_rounding)
    p1 = math.floor(n * (shrinkage - 1) * math.log(1 - r2_cs / shrinkage) + 1e-9)
    p2 = math.floor(n * (s2 - 1) * math.log(1 - r2_cs / s2) + 1e-9)
    return {"max_parameters": min(p1, p2), "max_parameters_criterion1": p1, "max_parameters_criterion2": p2,
            "shrinkage_criterion2": s2, "max_r2_cs": max_r2}


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
    i, j = np.triu_indices(pb.shape[0], k=1)
    usable = ob[i] != ob[j]
    if not usable.any():
        return float("nan")
    d_obs = np.sign(ob[i] - ob[j])[usable]
    d_pred = np.sign(pb[i] - pb[j])[usable]
    score = np.where(d_pred == 0, 0.5, (d_pred == d_obs).astype(float))
    return float(score.mean())


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


def c_for_benefit(predicted_benefit, treated, time, event, t, *, n_boot=200, seed=0, alpha=0.05):
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
    >>> r = c_for_benefit(rng.random(40), np.arange(40) % 2, rng.exponential(10, 40), np.ones(40), 8, n_boot=20)
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


def _km_at(time, event, t):
    """Kaplan-Meier survival at t and its Greenwood variance."""
    s, var_sum = 1.0, 0.0
    for u in np.unique(time[(event == 1) & (time <= t)]):
        n_risk = np.sum(time >= u)
        d = np.sum((time == u) & (event == 1))
        s *= 1 - d / n_risk
        var_sum += d / (n_risk * (n_risk - d)) if n_risk > d else np.inf
    return s, s**2 * var_sum


def compute_calibration_for_benefit(predicted_benefit, treated, time, event, t, *, n_groups=4, alpha=0.05):
    """Observed vs predicted benefit by quantile groups of predicted benefit.

    Within each group: predicted = mean predicted benefit; observed = KM(t) treated - KM(t) control, with
    a Wald CI from the Greenwood variances. Groups keep tied predictions together
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
        s1, v1 = _km_at(time[m & (tr == 1)], event[m & (tr == 1)], t) if (m & (tr == 1)).any() else (np.nan, np.nan)
        s0, v0 = _km_at(time[m & (tr == 0)], event[m & (tr == 0)], t) if (m & (tr == 0)).any() else (np.nan, np.nan)
        obs, se = s1 - s0, math.sqrt(v1 + v0) if np.isfinite(v1 + v0) else np.nan
        rows.append({"group": g, "n": int(m.sum()), "n_treated": int((m & (tr == 1)).sum()),
                     "n_control": int((m & (tr == 0)).sum()), "predicted": float(pb[m].mean()),
                     "observed": obs, "ci_low": obs - z * se, "ci_high": obs + z * se})
    return pd.DataFrame(rows)


def _norm_ppf(q):
    from scipy.stats import norm

    return float(norm.ppf(q))
