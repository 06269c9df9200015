"""Precision to expect before the results (TRIPOD item 10): the confidence-interval width of the C-statistic and
of O/E that a validation cohort of a given size and event risk can give.

Closed-form standard errors of Riley et al. (Stat Med 2021), used as the precision check of the time-to-event
framework of Riley et al. (Stat Med 2022) with the outcome read at the horizon (events by ``t`` as a binary
outcome, censoring before ``t`` ignored, so the widths are optimistic lower bounds):

* O/E: ``SE(ln O/E) = sqrt((1 - phi) / (n phi))``, ``phi`` the event risk by ``t``;
* C: Newcombe's (2006) formula, ``SE(C) = sqrt(C (1 - C) (1 + (n/2 - 1) (1 - C)/(2 - C) + (n/2 - 1) C/(1 + C))
  / (n^2 phi (1 - phi)))``, for an anticipated C.

References
----------
Riley RD, Debray TPA, Collins GS, et al. Minimum sample size for external validation of a clinical prediction
model with a binary outcome. Stat Med 2021;40:4230-51.
Riley RD, Collins GS, Ensor J, et al. Minimum sample size calculations for external validation of a clinical
prediction model with a time-to-event outcome. Stat Med 2022;41:1280-95.
Newcombe RG. Confidence intervals for an effect size measure based on the Mann-Whitney statistic. Part 2:
asymptotic methods and evaluation. Stat Med 2006;25:559-73.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["compute_expected_precision"]


def compute_expected_precision(n: int, event_risk: float, c_statistic: float, conf_level: float = 0.95) -> dict:
    """Anticipated standard errors and interval widths of C and O/E for a validation set.

    Parameters
    ----------
    n : int
        Patients in the validation set.
    event_risk : float
        Anticipated risk of the event by the horizon (0 < phi < 1), e.g. the cohort's Kaplan-Meier risk.
    c_statistic : float
        Anticipated C (e.g. the development cohort's).
    conf_level : float

    Returns
    -------
    dict
        ``se_c``, ``c_ci_width`` (``2 z SE``); ``se_log_oe``, ``oe_ci_low``, ``oe_ci_high`` (the interval around an
        O/E of 1) and ``oe_ci_width``.

    Examples
    --------
    >>> p = compute_expected_precision(200, 0.5, 0.7)
    >>> round(p["se_log_oe"], 4), round(p["se_c"], 4)
    (0.0707, 0.0368)
    """
    if int(n) < 2:
        raise ValueError(f"n must be at least 2, got {n!r}")
    if not 0 < event_risk < 1:
        raise ValueError(f"event_risk must lie in (0, 1), got {event_risk!r}")
    if not 0 < c_statistic < 1:
        raise ValueError(f"c_statistic must lie in (0, 1), got {c_statistic!r}")
    z = stats.norm.isf((1 - conf_level) / 2)
    phi, c, n = float(event_risk), float(c_statistic), float(n)
    se_log_oe = np.sqrt((1 - phi) / (n * phi))
    k = n / 2 - 1
    se_c = np.sqrt(c * (1 - c) * (1 + k * (1 - c) / (2 - c) + k * c / (1 + c)) / (n ** 2 * phi * (1 - phi)))
    lo, hi = np.exp(-z * se_log_oe), np.exp(z * se_log_oe)
    return {"se_c": float(se_c), "c_ci_width": float(2 * z * se_c), "se_log_oe": float(se_log_oe),
            "oe_ci_low": float(lo), "oe_ci_high": float(hi), "oe_ci_width": float(hi - lo)}
