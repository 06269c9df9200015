"""Decision curve analysis for a survival prediction at a horizon (net benefit).

Net benefit at threshold probability ``p_t`` (Vickers & Elkin 2006), with the true- and false-positive
fractions among patients above the threshold estimated by Kaplan-Meier so that censoring before ``t`` is
handled (Vickers et al. 2008, the ``stdca`` method used by McLernon et al. 2023)::

    NB_model(p_t) = P(risk > p_t) * [F(t | risk > p_t) - (1 - F(t | risk > p_t)) * p_t / (1 - p_t)]
    NB_all(p_t)   = F(t) - (1 - F(t)) * p_t / (1 - p_t)
    NB_none       = 0

with ``F = 1 - KM`` (:func:`~sonimage_utils.survival.baseline.compute_km_at`). Written by hand: neither
lifelines nor scikit-survival has decision curves.

References
----------
Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction models. Med Decis
Making 2006;26:565-74.
Vickers AJ, Cronin AM, Elkin EB, Gonen M. Extensions to decision curve analysis, a novel method for
evaluating diagnostic tests, prediction models and molecular markers. BMC Med Inform Decis Mak 2008;8:53.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sonimage_utils.survival.baseline import check_survival_inputs, compute_km_at

__all__ = ["compute_net_benefit"]


def _km_risk_or_nan(t_arr, e_arr, t):
    """1 - KM(t); NaN when nobody in the subgroup was followed up to ``t`` (or the subgroup is empty)."""
    return 1.0 - compute_km_at(t_arr, e_arr, t, extend=False)[0]


def compute_net_benefit(time, event, risk, t: float, thresholds=None) -> pd.DataFrame:
    """Net benefit of treating by the model, of treating all and of treating none, at horizon ``t``.

    Parameters
    ----------
    time, event : array-like
        Outcome.
    risk : array-like
        Predicted probability of the event by ``t``.
    t : float
        Horizon.
    thresholds : array-like, optional
        Threshold probabilities in [0, 1); default 0.00, 0.01, ..., 0.99.

    Returns
    -------
    pandas.DataFrame
        ``threshold``, ``n_above`` (patients with risk above the threshold), ``net_benefit_model``,
        ``net_benefit_all``, ``net_benefit_none`` (0). The model's net benefit is 0 when no patient is above
        the threshold and NaN when the patients above it are all censored before ``t``.

    Raises
    ------
    ValueError
        On invalid inputs or thresholds outside [0, 1).

    Examples
    --------
    >>> nb = compute_net_benefit([1, 2, 3, 4], [1, 0, 1, 0], [0.9, 0.2, 0.6, 0.1], 3.5, [0.5])
    >>> float(nb["net_benefit_model"].iloc[0])
    0.5
    """
    tt, e, r = check_survival_inputs(time, event, risk, names=["risk"])
    thr = np.round(np.arange(0, 1.0, 0.01), 10) if thresholds is None else np.asarray(thresholds, float)
    if np.any((thr < 0) | (thr >= 1)):
        raise ValueError("thresholds must lie in [0, 1)")
    n = r.size
    f_all = _km_risk_or_nan(tt, e, t)
    rows = []
    for p in thr:
        odds = p / (1 - p)
        above = r > p
        k = int(above.sum())
        if k == 0:
            nb = 0.0
        else:
            f = _km_risk_or_nan(tt[above], e[above], t)
            nb = (k / n) * (f - (1 - f) * odds)
        rows.append({"threshold": float(p), "n_above": k, "net_benefit_model": nb,
                     "net_benefit_all": f_all - (1 - f_all) * odds, "net_benefit_none": 0.0})
    return pd.DataFrame(rows)
