"""Riley et al.'s minimum sample size for a survival prediction model, and its inverse.

Riley's criteria 1 and 2 (small optimism, small absolute difference in Nagelkerke R2) as the R package
``pmsampsize`` computes them, and the largest number of candidate parameters a cohort of a given size
supports. Written by hand: no maintained Python library has them; the test reproduces pmsampsize's check.

References
----------
Riley RD et al. Calculating the sample size required for developing a clinical prediction model.
BMJ 2020;368:m441.
"""

from __future__ import annotations

import math

__all__ = ["riley_sample_size", "riley_max_parameters", "riley_n_criterion3", "select_model_features"]


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


def riley_sample_size(r2_cs, n_parameters, event_rate, timepoint, mean_followup, shrinkage, *,
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
        Target expected shrinkage (the SAP's ``benefit_shrinkage_target``; Riley's examples use 0.9).
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
    >>> r = riley_sample_size(0.051, 25, 0.065, 2, 2.07, 0.9)
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


def riley_max_parameters(n, r2_cs, event_rate, mean_followup, shrinkage, *, pmsampsize_rounding=True) -> dict:
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
    >>> riley_max_parameters(4286, 0.051, 0.065, 2.07, 0.9)["max_parameters_criterion1"]
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


def riley_n_criterion3(event_rate, timepoint, mean_followup, margin, *, z=1.96) -> dict:
    """Riley's criterion 3: patients needed to estimate the overall risk at ``timepoint`` within ``margin``.

    The overall risk is ``F = 1 - exp(-rate t)``; with an exponential rate estimated from ``n x
    mean_followup`` person-time its SE is ``sqrt(rate / (n mean_followup))`` and the 95% CI of ``F`` is
    ``1 - exp(-(rate -/+ z SE) t)`` (the interval R ``pmsampsize`` prints as its criterion-3 check). Both
    half-widths must be at most ``margin``; the lower one binds (``F`` is concave in the rate):
    ``a = min(rate + ln(exp(-rate t) + margin) / t, -ln(exp(-rate t) - margin) / t - rate)`` and
    ``n3 = ceil(rate z^2 / (mean_followup a^2))``.

    Parameters
    ----------
    event_rate : float
        Events per person-time unit.
    timepoint : float
        Time of the overall risk (same unit).
    mean_followup : float
        Mean follow-up (same unit).
    margin : float
        Largest acceptable absolute margin of error of the overall risk (the SAP's
        ``benefit_riley_risk_margin``; Riley et al. suggest 0.05).
    z : float
        Normal quantile of the interval (1.96, as pmsampsize).

    Returns
    -------
    dict
        ``n_criterion3``, ``risk_at_timepoint`` and, at ``n_criterion3``, ``risk_ci_low``,
        ``risk_ci_high``.

    Raises
    ------
    ValueError
        If an input is not positive or ``margin`` is not below the risk and the survival at ``timepoint``.

    References
    ----------
    Riley RD, et al. Minimum sample size for developing a multivariable prediction model: part II. Stat Med
    2019;38:1276-96 (criterion 3). Riley RD, et al. BMJ 2020;368:m441.

    Examples
    --------
    >>> r = riley_n_criterion3(0.065, 2, 2.07, 0.05)
    >>> r["n_criterion3"], round(r["risk_at_timepoint"], 3)
    (158, 0.122)
    """
    if event_rate <= 0 or timepoint <= 0 or mean_followup <= 0 or margin <= 0:
        raise ValueError("event_rate, timepoint, mean_followup and margin must be > 0")
    surv = math.exp(-event_rate * timepoint)
    if not margin < min(surv, 1 - surv):
        raise ValueError(f"margin {margin} must be below the risk {1 - surv:.3f} and the survival {surv:.3f}")
    a_low = event_rate + math.log(surv + margin) / timepoint
    a_high = -math.log(surv - margin) / timepoint - event_rate
    a = min(a_low, a_high)
    n = math.ceil(event_rate * z ** 2 / (mean_followup * a ** 2) - 1e-9)
    half = z * math.sqrt(event_rate / (n * mean_followup))
    return {"n_criterion3": n, "risk_at_timepoint": 1 - surv,
            "risk_ci_low": 1 - math.exp(-(event_rate - half) * timepoint),
            "risk_ci_high": 1 - math.exp(-(event_rate + half) * timepoint)}


def select_model_features(candidates, max_parameters: int, model_size) -> list:
    """The predictors of the model: the first of the priority-ordered ``candidates``.

    The size is fixed before fitting: ``model_size`` when the analysis plan sets it, else the largest
    number of parameters the cohort supports (:func:`riley_max_parameters`), at least one.

    Parameters
    ----------
    candidates : list of str
        Pre-specified candidate predictors in priority order.
    max_parameters : int
        From :func:`riley_max_parameters`.
    model_size : int or None
        The SAP's ``benefit_model_size`` (None: by Riley's criteria).

    Raises
    ------
    ValueError
        If ``model_size`` is below 1 or there are no candidates.

    Examples
    --------
    >>> select_model_features(["a", "b", "c"], 0, None), select_model_features(["a", "b", "c"], 2, None)
    (['a'], ['a', 'b'])
    >>> select_model_features(["a", "b", "c"], 0, 3)
    ['a', 'b', 'c']
    """
    candidates = list(candidates)
    if not candidates:
        raise ValueError("no candidate predictors")
    if model_size is not None and int(model_size) < 1:
        raise ValueError(f"model_size must be >= 1 or None, got {model_size}")
    size = int(model_size) if model_size is not None else max(1, int(max_parameters))
    return candidates[:size]
