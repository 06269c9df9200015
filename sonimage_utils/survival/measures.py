"""Harrell's C and the calibration slope of a linear predictor, each written once for the whole book.

Internal validation (objective 4, inside the bootstrap) and external validation (objective 5) call these
same two functions, so the same model on the same data gets the same number in both chapters.

* :func:`compute_harrell_c`: R ``concordance(Surv(time, event) ~ lp, reverse = TRUE)$concordance``. A pair
  is comparable when the shorter time is an event; an event and a censoring at the same time are
  comparable (the censored patient is taken to outlive the event), two events at the same time are not;
  pairs tied in ``lp`` count 1/2, where a tie is ``|lp_i - lp_j| <= 1e-8`` (as scikit-survival's
  ``concordance_index_censored``): a linear predictor computed as ``X @ coef`` can give two patients with
  the same covariates values a last-bit apart, which R, computing them alike, sees as tied. Counted
  exactly in integers, in blocks of rows, O(n^2) time and O(n * block) memory.
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
from sonimage_utils.survival.efron import fit_cox_efron

__all__ = ["compute_harrell_c", "compute_calibration_slope"]

_Z975 = 1.959963984540054
#: Scores closer than this count as tied in Harrell's C (scikit-survival's ``tied_tol``).
_TIED_TOL = 1e-8


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
    t, e, x = check_survival_inputs(time, event, lp, names=["lp"])
    idx = np.flatnonzero(e)
    block = max(1, 2_000_000 // t.size)
    conc = tied = comp = 0
    for start in range(0, idx.size, block):
        i = idx[start:start + block]
        ti = t[i][:, None]
        comparable = (t[None, :] > ti) | ((t[None, :] == ti) & ~e[None, :])
        diff = x[i][:, None] - x[None, :]
        tie = np.abs(diff) <= _TIED_TOL
        comp += int(np.count_nonzero(comparable))
        conc += int(np.count_nonzero(comparable & (diff > 0) & ~tie))
        tied += int(np.count_nonzero(comparable & tie))
    if comp == 0:
        return float("nan")
    return (conc + 0.5 * tied) / comp


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
    if np.std(x) < 1e-10:
        raise ValueError("lp is constant: calibration slope undefined")
    fit = fit_cox_efron(x, t, e)
    b, se = float(fit.coef[0]), float(fit.se[0])
    return {"slope": b, "se": se, "ci_low": b - _Z975 * se, "ci_high": b + _Z975 * se,
            "converged": bool(fit.converged)}
