"""Discrimination, mean/weak calibration and overall accuracy of a survival prediction at a horizon.

Statistics layer only: plain numbers and DataFrames. The definitions follow McLernon et al. (Ann Intern
Med 2023) and its public code (Rotterdam/GBSG worked example); the package doing the work is named in
each function:

* Kaplan-Meier risk, Harrell's C and the calibration slope are the book's single implementations in
  :mod:`sonimage_utils.survival` (:func:`~sonimage_utils.survival.baseline.compute_km_risk`,
  :func:`~sonimage_utils.survival.measures.compute_harrell_c`, R ``concordance(..., reverse = TRUE)``;
  :func:`~sonimage_utils.survival.measures.compute_calibration_slope`, R ``coxph(Surv ~ lp)``, Efron ties),
  re-exported here under the same names.
* Uno's C, the cumulative/dynamic AUC(t) and the IPCW Brier score are scikit-survival's
  :func:`sksurv.metrics.concordance_index_ipcw`, :func:`sksurv.metrics.cumulative_dynamic_auc` and
  :func:`sksurv.metrics.brier_score` (training data = validation data), recomputed here from one
  :class:`~sonimage_utils.survival.baseline.SurvivalOutcome`: the data set's times sorted once, its
  Kaplan-Meier and its censoring Kaplan-Meier (scikit-survival's ``CensoringDistributionEstimator``) computed
  once and shared by every measure (``tests/test_validation_sksurv_agreement.py`` checks the values equal
  scikit-survival's). Uno's C is O(n log n): the per-event pair counts of
  :func:`~sonimage_utils.survival.measures.compute_concordance_counts` (shared with Harrell's C) weighted by
  the censoring weights and summed in scikit-survival's order. The AUC at several times sorts the marker
  once. The index of prediction accuracy (IPA) is ``1 - Brier(model) / Brier(null)`` with the null model the
  Kaplan-Meier risk of the same data. Each ``compute_*`` function takes raw arrays; its ``compute_*_from``
  twin takes the prepared outcome (:func:`~sonimage_utils.external_validation.performance.survival_performance`
  and the bootstrap build one per data set or resample).
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

import numpy as np
from sksurv.exceptions import NoComparablePairException

from sonimage_utils.survival.baseline import (SurvivalOutcome, _check_per_patient, check_survival_inputs,
                                              compute_km_risk)
from sonimage_utils.survival.measures import (compute_calibration_slope, compute_concordance_counts,
                                              compute_harrell_c)

__all__ = [
    "check_survival_inputs",
    "compute_km_risk",
    "compute_harrell_c",
    "compute_uno_c",
    "compute_uno_c_from",
    "compute_cd_auc",
    "compute_cd_auc_from",
    "compute_observed_expected",
    "compute_observed_expected_from",
    "compute_calibration_slope",
    "compute_brier",
    "compute_brier_from",
    "compute_calibration_in_the_large",
]


def _per_patient(outcome: SurvivalOutcome, values, name: str) -> np.ndarray:
    """One per-patient array of ``outcome``'s data set, as :func:`check_survival_inputs` checks it."""
    return _check_per_patient(values, outcome.size, name)


def compute_uno_c(time, event, lp, t: float) -> float:
    """Uno's IPCW C truncated at ``t``; the censoring distribution is estimated on the data given.

    :func:`compute_uno_c_from` on the :class:`~sonimage_utils.survival.baseline.SurvivalOutcome` of
    ``time`` and ``event``.

    Parameters
    ----------
    time, event : array-like
    lp : array-like
        Linear predictor or any risk score (higher = higher risk).
    t : float
        Truncation time: only events before ``t`` are weighted.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On invalid inputs, no patient or no event before ``t``, a censoring survival of 0 at an event time
        before ``t``, or no comparable pair.

    References
    ----------
    Uno H, Cai T, Pencina MJ, D'Agostino RB, Wei LJ. Stat Med 2011;30:1105-17.

    Examples
    --------
    >>> round(compute_uno_c([1, 2, 3, 4], [1, 1, 0, 0], [4.0, 3.0, 2.0, 1.0], 3.5), 3)
    1.0
    """
    tt, e, x = check_survival_inputs(time, event, lp, names=["lp"])
    return compute_uno_c_from(SurvivalOutcome(tt, e), x, t)


def compute_uno_c_from(outcome: SurvivalOutcome, lp, t: float, *, counts: dict | None = None) -> float:
    """Uno's IPCW C truncated at ``t`` from a prepared outcome (and, optionally, its concordance counts).

    scikit-survival's ``concordance_index_ipcw(y, y, lp, tau=t)`` without its O(n^2) loop: an event before
    ``t`` is weighted by ``1 / G(T_i)^2`` (the censoring Kaplan-Meier of ``outcome``, scikit-survival's), and
    the weighted concordant, tied and comparable counts are accumulated event by event in its order (events
    by ``numpy.argsort(time)``) so the rounding, hence the value, is the same.

    Parameters
    ----------
    outcome : SurvivalOutcome
        The data set's outcome.
    lp : array-like
        Risk score of each patient of ``outcome``.
    t : float
        Truncation time.
    counts : dict, optional
        :func:`~sonimage_utils.survival.measures.compute_concordance_counts` of the same data and ``lp``
        (shared with Harrell's C); computed when not given.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`compute_uno_c`.

    References
    ----------
    Uno H, Cai T, Pencina MJ, D'Agostino RB, Wei LJ. Stat Med 2011;30:1105-17.
    """
    x = _per_patient(outcome, lp, "lp")
    tt, e = outcome.time, outcome.event
    w = np.square(outcome.ipcw(tt < t))
    if counts is None:
        counts = compute_concordance_counts(tt, e, x)
    order = outcome.order
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

    :func:`compute_cd_auc_from` on the :class:`~sonimage_utils.survival.baseline.SurvivalOutcome` of
    ``time`` and ``event``.

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
        AUC at each of the sorted, distinct ``times`` (as scikit-survival).

    Raises
    ------
    ValueError
        If a time is outside ``[min(time), max(time))`` or has no case, or the censoring survival is 0 at an
        event time.

    References
    ----------
    Uno H, Cai T, Tian L, Wei LJ. Evaluating prediction rules for t-year survivors with censored regression
    models. JASA 2007;102:527-37.
    """
    t, e, x = check_survival_inputs(time, event, marker, names=["marker"])
    return compute_cd_auc_from(SurvivalOutcome(t, e), x, times)


def compute_cd_auc_from(outcome: SurvivalOutcome, marker, times, *, tied_tol: float = 1e-8) -> np.ndarray:
    """Cumulative/dynamic AUC at each of ``times`` from a prepared outcome, one marker sort for all times.

    scikit-survival's ``cumulative_dynamic_auc(y, y, marker, times)`` (train = test) computed the same way,
    so the values are the same to the last bit: cases (event by ``u``) weighted by ``1 / G(T_i)``, controls
    (alive after ``u``) by 1, patients sorted by decreasing marker (``numpy.argsort``), markers within
    ``tied_tol`` of the next one form one threshold (the last of a run is kept), the ROC curve from (0, 0)
    integrated by the trapezoidal rule.

    Parameters
    ----------
    outcome : SurvivalOutcome
        The data set's outcome.
    marker : array-like
        Score of each patient of ``outcome``.
    times : float or array-like
        Each in ``[min(time), max(time))`` with an event by then.
    tied_tol : float
        Markers closer than this are one threshold (scikit-survival's ``tied_tol``).

    Returns
    -------
    numpy.ndarray
        AUC at each of the sorted, distinct ``times``.

    Raises
    ------
    ValueError
        As :func:`compute_cd_auc`.

    References
    ----------
    Uno H, Cai T, Tian L, Wei LJ. JASA 2007;102:527-37.
    Pölsterl S. scikit-survival. J Mach Learn Res 2020;21:1-6 (``sksurv.metrics.cumulative_dynamic_auc``).
    """
    x = _per_patient(outcome, marker, "marker")
    t, e = outcome.time, outcome.event
    times = np.atleast_1d(np.asarray(times, dtype=float)).ravel()
    if times.size == 0 or not np.all(np.isfinite(times)):
        raise ValueError(f"AUC times must be finite, got {times}")
    if np.any(times >= t.max()) or np.any(times < t.min()):
        raise ValueError(f"AUC times must lie within the follow-up [{t.min():g}; {t.max():g}), got {times}")
    grid = np.unique(times)
    first_event = t[e].min()
    if grid[0] < first_event:
        raise ValueError(f"no event by time {grid[0]:g}: AUC undefined")
    ipcw = outcome.ipcw()
    o = np.argsort(-x[:, None], axis=0)[:, 0]  # scikit-survival's sort (the same permutation as 1-D)
    ts, es, xs, ws = t[o], e[o], x[o], ipcw[o]
    keep = np.ones(x.size, dtype=bool)
    keep[np.flatnonzero(np.absolute(np.diff(np.r_[np.inf, xs])) <= tied_tol) - 1] = False
    is_control = ts[None, :] > grid[:, None]
    is_case = ~is_control & es[None, :]
    cum_tp = np.cumsum(is_case * ws[None, :], axis=1)
    true_pos = cum_tp / cum_tp[:, -1:]
    false_pos = np.cumsum(is_control, axis=1) / is_control.sum(axis=1)[:, None]
    scores = np.empty(grid.size, dtype=float)
    for i in range(grid.size):
        scores[i] = np.trapezoid(np.r_[0, true_pos[i, keep]], np.r_[0, false_pos[i, keep]])
    return scores


def compute_observed_expected(time, event, risk, t: float) -> dict:
    """Observed/expected ratio at ``t``: ``(1 - KM(t)) / mean(risk)``.

    Parameters
    ----------
    time, event : array-like
    risk : array-like
        Predicted probability of the event by ``t``.
    t : float
        Horizon.

    Returns
    -------
    dict
        ``observed`` (1 - KM(t)), ``expected`` (mean predicted risk), ``oe``, and ``oe_ci_low``,
        ``oe_ci_high`` from the Poisson approximation ``exp(+-z / sqrt(events by t))`` used by
        McLernon et al.

    References
    ----------
    McLernon et al., Ann Intern Med 2023.

    Examples
    --------
    >>> compute_observed_expected([1, 2, 3, 4], [1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], 3.0)["oe"]
    1.25
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    return compute_observed_expected_from(SurvivalOutcome(tt, e), r, t)


def compute_observed_expected_from(outcome: SurvivalOutcome, risk, t: float) -> dict:
    """Observed/expected ratio at ``t`` from a prepared outcome; as :func:`compute_observed_expected`.

    Parameters
    ----------
    outcome : SurvivalOutcome
    risk : array-like
        Predicted probability of the event by ``t`` of each patient of ``outcome``.
    t : float

    Returns
    -------
    dict
        As :func:`compute_observed_expected`.

    References
    ----------
    McLernon et al., Ann Intern Med 2023.
    """
    r = _per_patient(outcome, risk, "risk")
    obs = outcome.km_risk(t)
    exp_ = float(np.mean(r))
    oe = obs / exp_
    d = int(np.sum(outcome.event & (outcome.time <= t)))
    half = 1.959963984540054 * np.sqrt(1.0 / d) if d > 0 else np.nan
    return {"observed": obs, "expected": exp_, "oe": oe, "oe_ci_low": oe * np.exp(-half),
            "oe_ci_high": oe * np.exp(half)}


def compute_brier(time, event, risk, t: float) -> dict:
    """IPCW Brier score at ``t`` and the index of prediction accuracy (IPA).

    A case (event by ``t``) is weighted by the inverse censoring survival at its time, a patient still
    event-free after ``t`` by that at ``t``; a patient censored before ``t`` gets weight 0. The null model
    gives every patient the Kaplan-Meier risk at ``t`` of the same data. When the data are
    administratively censored at the horizon, pass a ``t`` just below it (McLernon et al. use 4.99 years
    for 5): nobody is "event-free after t" otherwise. :func:`compute_brier_from` on the
    :class:`~sonimage_utils.survival.baseline.SurvivalOutcome` of ``time`` and ``event``.

    Parameters
    ----------
    time, event : array-like
    risk : array-like
        Predicted probability of the event by ``t``, in [0, 1].
    t : float
        Horizon in ``[min(time), max(time))``.

    Returns
    -------
    dict
        ``brier``, ``brier_null``, ``ipa``.

    Raises
    ------
    ValueError
        On invalid inputs, a risk outside [0, 1] or ``t`` outside ``[min(time), max(time))``.

    References
    ----------
    Graf E, Schmoor C, Sauerbrei W, Schumacher M. Assessment and comparison of prognostic classification
    schemes for survival data. Stat Med 1999;18:2529-45.
    Kattan MW, Gerds TA. Diagn Progn Res 2018;2:7.
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    return compute_brier_from(SurvivalOutcome(tt, e), r, t)


def compute_brier_from(outcome: SurvivalOutcome, risk, t: float) -> dict:
    """IPCW Brier score and IPA at ``t`` from a prepared outcome; as :func:`compute_brier`.

    scikit-survival's ``brier_score(y, y, 1 - risk, t)`` for the model and for the null model (everyone at
    the Kaplan-Meier risk of ``outcome``), computed the same way so the values are the same to the last bit:
    ``G`` at the patient's own time for a case, at ``t`` for a control, a ``G`` of 0 read as an infinite
    weight's reciprocal (weight 0), the mean over all patients in the order given.

    Parameters
    ----------
    outcome : SurvivalOutcome
    risk : array-like
        Predicted probability of the event by ``t`` of each patient of ``outcome``.
    t : float

    Returns
    -------
    dict
        ``brier``, ``brier_null``, ``ipa``.

    Raises
    ------
    ValueError
        As :func:`compute_brier`.

    References
    ----------
    Graf E, et al. Stat Med 1999;18:2529-45.
    Pölsterl S. scikit-survival. J Mach Learn Res 2020;21:1-6 (``sksurv.metrics.brier_score``).
    """
    r = _per_patient(outcome, risk, "risk")
    if np.any((r < 0) | (r > 1)):
        raise ValueError("risk must be a probability in [0, 1]")
    tt, e = outcome.time, outcome.event
    t = float(t)
    if not np.isfinite(t) or t >= tt.max() or t < tt.min():
        raise ValueError(f"all times must be within follow-up time of test data: [{tt.min()}; {tt.max()}[")
    g_t = outcome.censoring_at([t])
    g_t[g_t == 0] = np.inf
    g_y = outcome.censoring_own()
    g_y[g_y == 0] = np.inf
    case = ((tt <= t) & e).astype(int)
    control = (tt > t).astype(int)

    def score(est):
        return float(np.mean(np.square(est) * case / g_y + np.square(1.0 - est) * control / g_t[0]))

    b = score(1.0 - r)
    b0 = score(1.0 - np.full_like(r, outcome.km_risk(t)))
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
