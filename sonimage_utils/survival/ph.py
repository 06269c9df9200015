"""Proportional-hazards check: the score test and scaled Schoenfeld residuals of R ``cox.zph`` (survival >= 3).

Why by hand: lifelines' :func:`lifelines.statistics.proportional_hazard_test` implements the older
Grambsch-Therneau approximation (it uses the model variance for the time-by-covariate block), which is what
R ``cox.zph`` did before survival 3.0. Since 3.0, ``cox.zph`` computes a proper score test: for every term
it adds ``x * g(t)`` to the model and tests the new coefficients at zero with the full ``2p x 2p``
information matrix, evaluated at the fitted coefficients (C routine ``zph1``). The two tests differ by
more than rounding on real data, so this module re-implements the survival 3.x algorithm (Efron or
Breslow ties, one stratum, unit weights) and is checked against ``cox.zph`` to 1e-6 in
``tests/test_survival_ph.py``.

References
----------
Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on weighted residuals.
Biometrika 1994;81:515-526.
Therneau T. ``cox.zph`` and ``src/zph1.c`` in R package ``survival`` 3.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sonimage_utils.survival.baseline import compute_km_table

from sonimage_utils.survival.cox import CoxResult
from sonimage_utils.survival.design import compute_rcs_basis

__all__ = ["PHTestResult", "compute_ph_test", "compute_zph", "compute_zph_smooth"]

_TRANSFORMS = ("km", "identity", "log", "rank")


@dataclass
class PHTestResult:
    """Score test of proportional hazards, per term and global.

    Attributes
    ----------
    summary : pandas.DataFrame
        ``term``, ``chisq``, ``df``, ``p``; last row ``GLOBAL``.
    residuals : pandas.DataFrame
        One row per event, ordered by time: ``time``, ``x`` (transformed time), and one column per term
        with the scaled Schoenfeld residual (``beta + residual``; for a term with several columns the
        coefficient-weighted sum, centred at 1, as R).
    coef : dict
        Term -> the value the scaled residuals centre on (the coefficient, or 1 for a multi-column term).
    transform : str
    message : str
        Why the test was not computed (empty when it was).
    """

    summary: pd.DataFrame
    residuals: pd.DataFrame
    coef: dict
    transform: str
    message: str = ""


def _transform_time(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    if transform == "identity":
        return time.copy()
    if transform == "log":
        return np.log(time)
    if transform == "rank":
        return stats.rankdata(time)
    # "km": 1 - KM(t-), the left-continuous Kaplan-Meier of the pooled data
    tab = compute_km_table(time, event)
    uniq, surv = tab["time"].to_numpy(), tab["surv"].to_numpy()
    before = np.searchsorted(uniq, time, side="left")  # number of distinct times strictly below t
    return 1.0 - np.concatenate([[1.0], surv])[before]


def compute_zph(time, event, X, beta, *, ties: str = "efron", transform: str = "km", terms: dict | None = None,
                names: list | None = None) -> PHTestResult:
    """Score test of proportional hazards and scaled Schoenfeld residuals, as R ``cox.zph`` (survival 3).

    Parameters
    ----------
    time, event : array-like, shape (n,)
    X : array-like, shape (n, p)
        Design matrix of the fitted model.
    beta : array-like, shape (p,)
        Fitted coefficients (at the maximum of the partial likelihood).
    ties : {"efron", "breslow"}
        Tie method the model was fitted with.
    transform : {"km", "identity", "log", "rank"}
        Time scale ``g(t)``; R's default is ``"km"``.
    terms : dict of str to list of int, optional
        Term -> column indices (R ``assign``); default one term per column.
    names : list of str, optional
        Column names (default ``x0``, ``x1``, ...).

    Returns
    -------
    PHTestResult

    Raises
    ------
    ValueError
        On an unknown ``transform`` or ``ties``, or mismatched shapes.

    References
    ----------
    R ``cox.zph(fit, transform = "km", terms = TRUE)``.
    """
    if transform not in _TRANSFORMS:
        raise ValueError(f"transform must be one of {_TRANSFORMS}, got {transform!r}")
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    t = np.asarray(time, float)
    e = np.asarray(event, float)
    X = np.asarray(X, float).reshape(len(t), -1)
    beta = np.asarray(beta, float)
    n, p = X.shape
    if beta.shape != (p,):
        raise ValueError(f"beta has shape {beta.shape}, expected ({p},)")
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    terms = terms if terms is not None else {nm: [j] for j, nm in enumerate(names)}
    ttimes = _transform_time(t, e, transform)
    gt = ttimes - ttimes[e == 1].mean()
    Xc = X - X.mean(axis=0)
    risk = np.exp(X @ beta)
    order = np.argsort(t, kind="stable")
    n_event = int(e.sum())
    u = np.zeros(2 * p)
    imat = np.zeros((2 * p, 2 * p))
    schoen = np.zeros((n_event, p))
    a, cmat, denom = np.zeros(p), np.zeros((p, p)), 0.0
    row = n_event
    uniq = np.unique(t)
    for tt in uniq[::-1]:
        idx = order[t[order] == tt]
        dead = idx[e[idx] == 1]
        alive = idx[e[idx] == 0]
        r_alive = risk[alive]
        denom += r_alive.sum()
        a += r_alive @ Xc[alive]
        cmat += (Xc[alive] * r_alive[:, None]).T @ Xc[alive]
        d = len(dead)
        if d == 0:
            continue
        g = gt[dead[0]]
        xd = Xc[dead]
        r_dead = risk[dead]
        denom2, a2 = r_dead.sum(), r_dead @ xd
        cmat2 = (xd * r_dead[:, None]).T @ xd
        u[:p] += xd.sum(axis=0)
        u[p:] += g * xd.sum(axis=0)
        row -= d
        if ties == "breslow":
            denom += denom2
            a += a2
            cmat += cmat2
            mean = a / denom
            u[:p] -= d * mean
            u[p:] -= g * d * mean
            v = d * (cmat - np.outer(mean, a)) / denom
            imat += np.block([[v, g * v], [g * v, g * g * v]])
            schoen[row:row + d] = xd - mean
            continue
        fracs = np.arange(1, d + 1) / d
        tmean = np.mean([(a + a2 * f) / (denom + denom2 * f) for f in fracs], axis=0)
        schoen[row:row + d] = xd - tmean
        for _ in range(d):
            denom += denom2 / d
            a += a2 / d
            cmat += cmat2 / d
            mean = a / denom
            u[:p] -= mean
            u[p:] -= g * mean
            v = (cmat - np.outer(mean, a)) / denom
            imat += np.block([[v, g * v], [g * v, g * g * v]])
    rows = []
    base = list(range(p))
    for label, cols in terms.items():
        kk = base + [p + j for j in cols]
        uu = np.concatenate([np.zeros(p), u[[p + j for j in cols]]])
        stat = float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu))
        rows.append({"term": label, "chisq": stat, "df": len(cols), "p": float(stats.chi2.sf(stat, len(cols)))})
    uu = np.concatenate([np.zeros(p), u[p:]])
    stat = float(uu @ np.linalg.solve(imat, uu))
    rows.append({"term": "GLOBAL", "chisq": stat, "df": p, "p": float(stats.chi2.sf(stat, p))})
    # scaled Schoenfeld residuals: combine multi-column terms with coefficient weights, then rescale
    combine = np.zeros((p, len(terms)))
    centre = {}
    for i, (label, cols) in enumerate(terms.items()):
        if len(cols) == 1:
            combine[cols[0], i] = 1.0
            centre[label] = float(beta[cols[0]])
        else:
            combine[cols, i] = beta[cols]
            centre[label] = 1.0
    vmean = combine.T @ (imat[:p, :p] / n_event) @ combine
    scaled = np.linalg.solve(vmean, (schoen @ combine).T).T + np.array(list(centre.values()))
    ev_order = order[e[order] == 1]
    resid = pd.DataFrame(scaled, columns=list(terms))
    resid.insert(0, "x", ttimes[ev_order])
    resid.insert(0, "time", t[ev_order])
    return PHTestResult(pd.DataFrame(rows), resid, centre, transform)


def compute_ph_test(result: CoxResult, *, transform: str, terms: bool = True) -> PHTestResult:
    """Proportional-hazards score test for a fitted :class:`~sonimage_utils.survival.cox.CoxResult`.

    Parameters
    ----------
    result : CoxResult
        An Efron-ties fit from :func:`~sonimage_utils.survival.cox.fit_cox`.
    transform : {"km", "identity", "log", "rank"}
        Time scale of the test (the SAP's ``ph_transform``; R's ``cox.zph`` default is "km").
    terms : bool
        True (R default): one test per model term (a 3-level factor gets one 2-df test); False: one test
        per coefficient.

    Returns
    -------
    PHTestResult
        With an empty summary and a ``message`` when the model is not ``ok``.

    References
    ----------
    R ``cox.zph(fit)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sonimage_utils.survival.cox import fit_cox
    >>> d = pd.DataFrame({"pfs1_months": [1, 2, 3, 4, 5, 6, 7, 8], "pfs1_event": [1, 1, 1, 0, 1, 1, 0, 1],
    ...                   "arm": ["ET", "ET+CDK4/6i"] * 4})
    >>> list(compute_ph_test(fit_cox(d, "arm"), transform="km").summary["term"])
    ['arm', 'GLOBAL']
    """
    des = result.design
    if result.ok and ("_entry" in des or any(c.startswith("_stratum") for c in des)):
        raise ValueError("compute_ph_test handles one stratum without entry times; this model has strata or "
                         "(start, stop] rows")
    if not result.ok:
        empty = pd.DataFrame(columns=["term", "chisq", "df", "p"])
        return PHTestResult(empty, pd.DataFrame(), {}, transform,
                            f"PH test not computed: the model is {result.status}. {result.message}")
    names = list(result.summary["name"])
    if terms:
        term_idx = {lab: [names.index(c) for c in cols] for lab, cols in result.terms.items()}
    else:
        term_idx = {nm: [j] for j, nm in enumerate(names)}
    return compute_zph(des["_time"], des["_event"], des[names].to_numpy(float), result.summary["coef"].to_numpy(),
                       ties="efron", transform=transform, terms=term_idx, names=names)


def compute_zph_smooth(ph: PHTestResult, term: str, *, df: int, width: float = 2.0) -> pd.DataFrame:
    """Regression-spline smooth of a term's scaled Schoenfeld residuals with a pointwise band.

    As R ``plot.cox.zph``: a natural cubic spline with ``df`` degrees of freedom (intercept included) in the
    transformed time ``x`` of the test, drawn at +/- ``width`` pointwise standard errors. The spline is
    Harrell's restricted cubic spline (:func:`~sonimage_utils.survival.design.compute_rcs_basis`, ``df``
    knots at his default quantiles). The standard error is that of the least-squares fit with the residual
    variance estimated from the residuals themselves (R uses the model-based variance of the scaled
    residuals); the band is pointwise, about 95% for ``width`` 2, and shows where the estimated log hazard
    ratio could lie at each time, not a test.

    Parameters
    ----------
    ph : PHTestResult
    term : str
        A term of ``ph.residuals``.
    df : int
        Degrees of freedom of the spline (R's default 4), 3 to 6.
    width : float
        Band half-width in standard errors (R: 2).

    Returns
    -------
    pandas.DataFrame
        One row per event, by time: ``time``, ``x``, ``fit``, ``se``, ``lower``, ``upper``.

    Raises
    ------
    ValueError
        If ``term`` has no residuals, ``df`` is out of range or there are too few events for ``df``.
    """
    if term not in ph.residuals:
        raise ValueError(f"no scaled residuals for term {term!r}; terms: {list(ph.residuals.columns[2:])}")
    quantiles = {3: [0.1, 0.5, 0.9], 4: [0.05, 0.35, 0.65, 0.95], 5: [0.05, 0.275, 0.5, 0.725, 0.95],
                 6: [0.05, 0.23, 0.41, 0.59, 0.77, 0.95]}
    if df not in quantiles:
        raise ValueError(f"df must be 3 to 6, got {df!r}")
    r = ph.residuals.sort_values("time", kind="stable")
    x, y = r["x"].to_numpy(float), r[term].to_numpy(float)
    if len(y) <= df + 1:
        raise ValueError(f"{len(y)} events are too few for a spline with {df} degrees of freedom")
    knots = np.quantile(x, quantiles[df])
    B = np.column_stack([np.ones_like(x), compute_rcs_basis(x, knots)])
    coef, *_ = np.linalg.lstsq(B, y, rcond=None)
    fit = B @ coef
    sigma2 = float(np.sum((y - fit) ** 2) / (len(y) - B.shape[1]))
    xtx_inv = np.linalg.pinv(B.T @ B)
    se = np.sqrt(sigma2 * np.einsum("ij,jk,ik->i", B, xtx_inv, B))
    return pd.DataFrame({"time": r["time"].to_numpy(float), "x": x, "fit": fit, "se": se,
                         "lower": fit - width * se, "upper": fit + width * se})
