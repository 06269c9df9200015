"""External validation of a frozen survival prediction model: every performance metric at one horizon.

:func:`survival_performance` is the contract of ``README.md``, section Interfaces; it gathers the metrics computed by
:mod:`sonimage_utils.external_validation.metrics` (discrimination, mean and weak calibration, Brier/IPA; all
from one :class:`~sonimage_utils.survival.baseline.SurvivalOutcome` of the data set, the times sorted and the
Kaplan-Meier and censoring Kaplan-Meier computed once per call)
and :mod:`sonimage_utils.external_validation.calibration` (smoothed calibration, ICI/E50/E90). Confidence
intervals come from :mod:`sonimage_utils.external_validation.bootstrap`, the decision curve from
:mod:`sonimage_utils.external_validation.decision_curve`; tables from :mod:`sonimage_utils.tables.validation`
and figures from :mod:`sonimage_utils.plots.validation`.

Checked against R on the Rotterdam/GBSG worked example of McLernon et al. (Ann Intern Med 2023), see
``tests/reference/rotterdam_gbsg/``.

References
----------
McLernon DJ, Giardiello D, Van Calster B, et al. Assessing performance and clinical usefulness in prediction
models with survival outcomes: practical guidance for Cox proportional hazards models. Ann Intern Med
2023;176:105-114.
Austin PC, Harrell FE Jr, van Klaveren D. Graphical calibration curves and the integrated calibration index
(ICI) for survival models. Stat Med 2020;39:2714-42.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.external_validation.calibration import _smoothed_calibration_fit
from sonimage_utils.external_validation.metrics import (
    check_survival_inputs,
    compute_brier_from,
    compute_cd_auc_from,
    compute_observed_expected_from,
    compute_uno_c_from,
)
from sonimage_utils.survival.baseline import SurvivalOutcome
from sonimage_utils.survival.efron import _SortedOutcome
from sonimage_utils.survival.measures import _calibration_slope_on, _concordance_counts, compute_harrell_c_from_counts

__all__ = ["PERFORMANCE_METRICS", "survival_performance"]

#: Keys returned by :func:`survival_performance`, in display order.
PERFORMANCE_METRICS = ("harrell_c", "uno_c", "auc", "oe", "calibration_slope", "ici", "e50", "e90", "brier",
                       "ipa")

def survival_performance(time, event, risk, lp, t: float, *, calibration_knots=None,
                         smooth_calibration: bool = True) -> dict:
    """Performance of a frozen survival prediction at horizon ``t`` in one data set.

    Parameters
    ----------
    time : array-like of float
        Follow-up time (same unit as ``t``).
    event : array-like of {0, 1}
        1 = event, 0 = censored.
    risk : array-like of float
        Predicted probability of the event by ``t`` (in [0, 1]; values within 1e-12 of 0 or 1 are
        clipped for the cloglog transform of the smoothed calibration).
    lp : array-like of float
        Linear predictor (higher = higher risk).
    t : float
        Horizon. Must lie inside the follow-up (some patient followed beyond ``t``); when the data are
        censored administratively at the horizon, pass a value just below it.
    calibration_knots : array-like, optional
        Knots (cloglog scale) of the smoothed calibration; default 10th/50th/90th percentiles.
    smooth_calibration : bool
        False: no smoothed calibration, ICI/E50/E90 are NaN (the SAP's rule for predictions with too few
        distinct values, :func:`~sonimage_utils.external_validation.calibration.compute_calibration_rule`).

    Returns
    -------
    dict
        ``harrell_c``; ``uno_c`` (IPCW, censoring estimated on these data, truncated at ``t``); ``auc``
        (cumulative/dynamic AUC at ``t``); ``oe`` (``(1 - KM(t)) / mean(risk)``); ``calibration_slope``
        (Cox of outcome on ``lp``); ``ici``, ``e50``, ``e90`` (smoothed calibration at ``t``); ``brier``
        (IPCW Brier at ``t``) and ``ipa`` (``1 - brier / brier_null``, null = Kaplan-Meier of these data).
        A metric that cannot be estimated (e.g. too few distinct predictions for a spline) is NaN.

    Raises
    ------
    ValueError
        On invalid inputs (lengths, missing values, event codes, risk outside [0, 1], no event, ``t``
        outside the follow-up).

    References
    ----------
    McLernon et al., Ann Intern Med 2023 (definitions); Austin et al., Stat Med 2020 (ICI).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> lp = rng.normal(size=300)
    >>> t_event = rng.exponential(1 / (0.1 * np.exp(lp)))
    >>> t_cens = rng.uniform(0, 20, size=300)
    >>> time, event = np.minimum(t_event, t_cens), (t_event <= t_cens).astype(int)
    >>> risk = 1 - np.exp(-0.1 * 5 * np.exp(lp))
    >>> res = survival_performance(time, event, risk, lp, 5.0)
    >>> sorted(res) == sorted(PERFORMANCE_METRICS)
    True
    """
    tt, e, r, x = check_survival_inputs(time, event, risk, lp, names=["risk", "lp"])
    t = float(t)
    if np.any((r < 0) | (r > 1)):
        raise ValueError("risk must be a probability in [0, 1]")
    if not (t > tt.min() and t < tt.max()):
        raise ValueError(f"t = {t:g} must lie inside the follow-up ({tt.min():g}, {tt.max():g})")
    if not np.any(e & (tt <= t)):
        raise ValueError(f"no event by t = {t:g}: performance at t cannot be estimated")
    # one sorted outcome (Kaplan-Meier and censoring Kaplan-Meier) and one set of pair counts for all measures;
    # one sort by decreasing time and one tie structure for the two Cox fits (calibration slope, smoothed
    # calibration) and the baseline hazard; the inputs validated once, here
    outcome = SurvivalOutcome(tt, e)
    counts = _concordance_counts(tt, e, x)
    sorted_outcome = _SortedOutcome(tt, e)
    out = {"harrell_c": compute_harrell_c_from_counts(counts),
           "uno_c": compute_uno_c_from(outcome, x, t, counts=counts),
           "auc": float(compute_cd_auc_from(outcome, x, [t])[0]),
           "oe": compute_observed_expected_from(outcome, r, t)["oe"],
           "calibration_slope": _or_nan(lambda: _calibration_slope_on(sorted_outcome, x)["slope"])}
    try:
        if not smooth_calibration:
            raise ValueError("smoothed calibration not fitted (too few distinct predictions)")
        # the measures only, without the frames and grid curve of compute_smoothed_calibration
        values = _smoothed_calibration_fit(tt, e, r, t, calibration_knots, sorted_outcome)["values"]
        out.update({k: values[k] for k in ("ici", "e50", "e90")})
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        out.update({"ici": np.nan, "e50": np.nan, "e90": np.nan})
    b = compute_brier_from(outcome, r, t)
    out.update({"brier": b["brier"], "ipa": b["ipa"]})
    return {k: float(out[k]) for k in PERFORMANCE_METRICS}


def _or_nan(fn):
    try:
        return fn()
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return np.nan
