"""Discrimination, mean/weak calibration and overall accuracy of a survival prediction at a horizon.

Statistics layer only: plain numbers and DataFrames. The definitions follow McLernon et al. (Ann Intern
Med 2023) and its public code (Rotterdam/GBSG worked example); the package doing the work is named in
each function:

* Kaplan-Meier risk, Harrell's C and the calibration slope are the book's single implementations in
  :mod:`sonimage_utils.survival` (:func:`~sonimage_utils.survival.baseline.compute_km_risk`,
  :func:`~sonimage_utils.survival.measures.compute_harrell_c`, R ``concordance(..., reverse = TRUE)``;
  :func:`~sonimage_utils.survival.measures.compute_calibration_slope`, R ``coxph(Surv ~ lp)``, Efron ties),
  re-exported here under the same names.
* Uno's C: :func:`sksurv.metrics.concordance_index_ipcw` computed in O(n log n): the per-event pair counts of
  :func:`~sonimage_utils.survival.measures.compute_concordance_counts` weighted by scikit-survival's own
  censoring weights and summed in scikit-survival's order, so the value is the same to the last bit.
* The cumulative/dynamic AUC(t): :func:`sksurv.metrics.cumulative_dynamic_auc`, censoring distribution
  estimated on the data given.
* IPCW Brier score: :func:`sksurv.metrics.brier_score`; the index of prediction accuracy (IPA) is
  ``1 - Brier(model) / Brier(null)`` with the null model the Kaplan-Meier risk of the same data.
* Calibration-in-the-large over follow-up: Poisson GLM with the log expected cumulative hazard as offset
  (statsmodels), after Crowson et al. (Stat Methods Med Res 2016).

scikit-survival weights a case by the censoring survival at its own time, ``1 / G(T_i)``; R
``riskRegression`` and ``survival`` use the left limit ``G(T_i-)``. The two differ only where an event and a
censoring share a time (integer-day data); on GBSG the difference is below 2e-4 for every metric
(``tests/test_validation_reference.py`` states it).

References
----------
McLernon DJ, Giardiello D, Van Calster B, et al. Assessing performance and clinical usefulness in prediction
models with survival outcomes: practical guidance for Cox proportional hazards models. Ann Intern Med
2023;176:105-114.
Uno H, Cai T, Pencina MJ, D'Agostino RB, Wei LJ. On the C-statistics for evaluating overall adequacy of risk
prediction procedures with censored survival data. Stat Med 2011;30:1105-17.
Kattan MW, Gerds TA. The index of prediction accuracy: an intuitive measure useful for evaluating risk
prediction models. Diagn Progn Res 2018;2:7.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sksurv.exceptions import NoComparablePairException
from sksurv.metrics import brier_score, cumulative_dynamic_auc
from sksurv.nonparametric import CensoringDistributionEstimator
from sksurv.util import Surv

from sonimage_utils.survival.baseline import check_survival_inputs, compute_km_risk
from sonimage_utils.survival.measures import (compute_calibration_slope, compute_concordance_counts,
                                              compute_harrell_c)

__all__ = [
    "check_survival_inputs",
    "compute_km_risk",
    "compute_harrell_c",
    "compute_uno_c",
    "compute_cd_auc",
    "compute_observed_expected",
    "compute_calibration_slope",
    "compute_brier",
    "compute_calibration_in_the_large",
]


def compute_uno_c(time, event, lp, t: float) -> float:
    """Uno's IPCW C truncated at ``t``; the censoring distribution is estimated on the data given.

    scikit-survival's ``concordance_index_ipcw(y, y, lp, tau=t)`` without its O(n^2) loop: an event before
    ``t`` is weighted by ``1 / G(T_i)^2`` (scikit-survival's censoring Kaplan-Meier), and the weighted
    concordant, tied and comparable counts are accumulated event by event in its order (events by
    ``numpy.argsort(time)``) so the rounding, hence the value, is the same.

    Raises
    ------
    ValueError
        On invalid inputs, a censoring survival of 0 at an event time before ``t``, or no comparable pair.

    Examples
    --------
    >>> round(compute_uno_c([1, 2, 3, 4], [1, 1, 0, 0], [4.0, 3.0, 2.0, 1.0], 3.5), 3)
    1.0
    """
    tt, e, x = check_survival_inputs(time, event, lp, names=["lp"])
    y = Surv.from_arrays(e, tt)
    before = tt < t
    ipcw = np.zeros(tt.size)
    ipcw[before] = CensoringDistributionEstimator().fit(y).predict_ipcw(y[before])
    w = np.square(ipcw)
    counts = compute_concordance_counts(tt, e, x)
    order = np.argsort(tt)
    last_alone = tt.size < 2 or tt[order[-1]] != tt[order[-2]]
    events = order[e[order]]
    if last_alone and events.size and events[-1] == order[-1]:
        events = events[:-1]  # scikit-survival never visits a last, untied time (it has no comparable pair)
    if events.size == 0:
        raise NoComparablePairException("Data has no comparable pairs, cannot estimate concordance index.")
    at = np.searchsorted(counts["index"], events)
    wi = w[events]
    num = np.cumsum(wi * counts["concordant"][at] + 0.5 * wi * counts["tied"][at])[-1]
    den = np.cumsum(wi * counts["comparable"][at])[-1]
    return float(num / den)


def compute_cd_auc(time, event, marker, times) -> np.ndarray:
    """Cumulative/dynamic AUC at each of ``times`` (Uno's IPCW estimator; cases: event by t).

    Parameters
    ----------
    time, event : array-like
    marker : array-like
        Linear predictor or predicted risk (any monotone score gives the same AUC).
    times : float or array-like
        Each strictly inside the follow-up range of the data.

    Returns
    -------
    numpy.ndarray
        AUC at each time.

    Raises
    ------
    ValueError
        If a time is outside ``[min(time), max(time))`` or has no case.
    """
    t, e, x = check_survival_inputs(time, event, marker, names=["marker"])
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if np.any(times >= t.max()) or np.any(times < t.min()):
        raise ValueError(f"AUC times must lie within the follow-up [{t.min():g}; {t.max():g}), got {times}")
    for u in times:
        if not np.any(e & (t <= u)):
            raise ValueError(f"no event by time {u:g}: AUC undefined")
    y = Surv.from_arrays(e, t)
    auc, _ = cumulative_dynamic_auc(y, y, x, times)
    return np.asarray(auc, dtype=float)


def compute_observed_expected(time, event, risk, t: float) -> dict:
    """Observed/expected ratio at ``t``: ``(1 - KM(t)) / mean(risk)``.

    Returns
    -------
    dict
        ``observed`` (1 - KM(t)), ``expected`` (mean predicted risk), ``oe``, and ``oe_ci_low``,
        ``oe_ci_high`` from the Poisson approximation ``exp(+-z / sqrt(events by t))`` used by
        McLernon et al.

    Examples
    --------
    >>> compute_observed_expected([1, 2, 3, 4], [1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], 3.0)["oe"]
    1.25
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    obs = compute_km_risk(tt, e, t)
    exp_ = float(np.mean(r))
    oe = obs / exp_
    d = int(np.sum(e & (tt <= t)))
    half = 1.959963984540054 * np.sqrt(1.0 / d) if d > 0 else np.nan
    return {"observed": obs, "expected": exp_, "oe": oe, "oe_ci_low": oe * np.exp(-half),
            "oe_ci_high": oe * np.exp(half)}


def compute_brier(time, event, risk, t: float) -> dict:
    """IPCW Brier score at ``t`` and the index of prediction accuracy (IPA).

    A case (event by ``t``) is weighted by the inverse censoring survival at its time, a patient still
    event-free after ``t`` by that at ``t``; a patient censored before ``t`` gets weight 0. The null model
    gives every patient the Kaplan-Meier risk at ``t`` of the same data. When the data are
    administratively censored at the horizon, pass a ``t`` just below it (McLernon et al. use 4.99 years
    for 5): nobody is "event-free after t" otherwise.

    Returns
    -------
    dict
        ``brier``, ``brier_null``, ``ipa``.
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    if np.any((r < 0) | (r > 1)):
        raise ValueError("risk must be a probability in [0, 1]")
    y = Surv.from_arrays(e, tt)
    null = np.full_like(r, compute_km_risk(tt, e, t))
    with warnings.catch_warnings():
        # sksurv checks times against the test follow-up; a horizon at the end is still valid here
        warnings.simplefilter("ignore", RuntimeWarning)
        b = float(brier_score(y, y, (1.0 - r)[:, None], [t])[1][0])
        b0 = float(brier_score(y, y, (1.0 - null)[:, None], [t])[1][0])
    return {"brier": b, "brier_null": b0, "ipa": 1.0 - b / b0 if b0 > 0 else np.nan}


def compute_calibration_in_the_large(event, expected, lp=None) -> dict:
    """Calibration over the whole follow-up: Poisson model of events with offset log(expected).

    Parameters
    ----------
    event : array-like of {0, 1}
    expected : array-like of float
        Cumulative hazard the model predicts for each patient at his own follow-up time
        (R ``predict(coxph, type = "expected")``); patients with 0 are left out, as in R.
    lp : array-like, optional
        Linear predictor; when given, the Poisson calibration slope is also estimated
        (offset ``log(expected) - lp``).

    Returns
    -------
    dict
        ``ratio`` (exp(intercept) = observed/expected events) with ``ci_low``, ``ci_high``; and
        ``slope`` with ``slope_ci_low``, ``slope_ci_high`` when ``lp`` is given.
    """
    import statsmodels.api as sm

    e = np.asarray(event, dtype=float).ravel()
    ex = np.asarray(expected, dtype=float).ravel()
    if e.size != ex.size:
        raise ValueError("event and expected differ in length")
    if not np.all(np.isfinite(ex)) or np.any(ex < 0):
        raise ValueError("expected must be finite and >= 0")
    keep = ex > 0
    z = 1.959963984540054
    m = sm.GLM(e[keep], np.ones((keep.sum(), 1)), family=sm.families.Poisson(), offset=np.log(ex[keep])).fit()
    a, se = float(m.params[0]), float(m.bse[0])
    out = {"ratio": np.exp(a), "ci_low": np.exp(a - z * se), "ci_high": np.exp(a + z * se)}
    if lp is not None:
        x = np.asarray(lp, dtype=float).ravel()[keep]
        m2 = sm.GLM(e[keep], sm.add_constant(x), family=sm.families.Poisson(),
                    offset=np.log(ex[keep]) - x).fit()
        b, seb = float(m2.params[1]), float(m2.bse[1])
        out.update({"slope": b, "slope_ci_low": b - z * seb, "slope_ci_high": b + z * seb})
    return out
