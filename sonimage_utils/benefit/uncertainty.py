"""Uncertainty of individual predicted benefit: bootstrap percentile intervals per patient, and of the
distribution of benefit across patients (issue 12 item 5).

One job: summarise the per-patient predictions that the internal-validation bootstrap keeps
(:func:`sonimage_utils.benefit.procedure.bootstrap_benefit_procedure` with ``keep_predictions=True``: in every
resample the whole procedure, penalty choice included, is refitted and predicts for the original patients).
No resampling happens here, so the intervals cost no second bootstrap.

* :func:`compute_prediction_intervals`: for each patient, the 2.5% and 97.5% quantiles (R ``quantile``,
  type 7) of that patient's predicted benefit over the resamples: the percentile interval of an individual
  prediction, which carries the uncertainty of the whole modelling procedure (not of the patient's outcome).
* :func:`compute_benefit_distribution`: percentiles of predicted benefit across the patients, each with the
  percentile interval of the same percentile over the resamples.
* :func:`summarise_prediction_intervals`: widths, and how many intervals exclude 0 or straddle a threshold.

References
----------
Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall 1993, ch. 13 (percentile interval).
Steyerberg EW. Clinical Prediction Models, 2nd ed. Springer 2019, ch. 17.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compute_prediction_intervals", "compute_benefit_distribution", "summarise_prediction_intervals"]


def _check(estimate, boot):
    est = np.asarray(estimate, dtype=float).ravel()
    b = np.asarray(boot, dtype=float)
    if b.ndim != 2 or b.shape[1] != est.size:
        raise ValueError(f"boot must have shape (n_boot, {est.size}), got {b.shape}")
    ok = np.all(np.isfinite(b), axis=1)  # failed resamples are rows of NaN
    if not ok.any():
        raise ValueError("no resample has predictions: no bootstrap interval")
    return est, b[ok]


def compute_prediction_intervals(estimate, boot, *, level: float = 0.95, index=None) -> pd.DataFrame:
    """Per-patient bootstrap percentile intervals of a prediction.

    Parameters
    ----------
    estimate : array-like, shape (n,)
        Prediction of the model fitted on the original data.
    boot : array-like, shape (n_boot, n)
        Predictions of each resample's refitted model for the same patients (rows of NaN = failed resamples,
        left out).
    level : float
        Coverage of the interval (0.95: the 2.5% and 97.5% quantiles).
    index : array-like, optional
        Patient identifiers.

    Returns
    -------
    DataFrame
        ``estimate``, ``ci_low``, ``ci_high``, ``width``, ``n_boot`` (resamples used), one row per patient.

    Raises
    ------
    ValueError
        On a shape mismatch, a level outside (0, 1) or no usable resample.

    Examples
    --------
    >>> boot = np.column_stack([np.linspace(0, 1, 101), np.full(101, 0.2)])
    >>> compute_prediction_intervals([0.5, 0.2], boot).round(3)[["ci_low", "ci_high", "width"]].values.tolist()
    [[0.025, 0.975, 0.95], [0.2, 0.2, 0.0]]
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    est, b = _check(estimate, boot)
    lo, hi = np.quantile(b, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return pd.DataFrame({"estimate": est, "ci_low": lo, "ci_high": hi, "width": hi - lo, "n_boot": b.shape[0]},
                        index=index)


def compute_benefit_distribution(estimate, boot, percentiles, *, level: float = 0.95) -> pd.DataFrame:
    """Percentiles of predicted benefit across patients, with bootstrap percentile intervals.

    For each requested percentile ``q``: the ``q``-th percentile of ``estimate`` across patients, and the
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles over the resamples of the ``q``-th percentile of each
    resample's predictions (same patients, refitted model).

    Parameters
    ----------
    estimate : array-like, shape (n,)
    boot : array-like, shape (n_boot, n)
    percentiles : sequence of float
        In [0, 100] (the SAP's ``benefit_distribution_percentiles``).
    level : float

    Returns
    -------
    DataFrame
        ``percentile``, ``estimate``, ``ci_low``, ``ci_high``.

    Raises
    ------
    ValueError
        On a percentile outside [0, 100], a shape mismatch or no usable resample.

    Examples
    --------
    >>> boot = np.array([[0.0, 1.0], [0.0, 3.0], [2.0, 3.0]])
    >>> compute_benefit_distribution([1.0, 2.0], boot, [50]).values.round(3).tolist()
    [[50.0, 1.5, 0.55, 2.45]]
    """
    q = np.asarray(percentiles, dtype=float).ravel()
    if q.size == 0 or np.any((q < 0) | (q > 100)):
        raise ValueError(f"percentiles must be in [0, 100], got {list(percentiles)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    est, b = _check(estimate, boot)
    per_resample = np.percentile(b, q, axis=1)  # (len(q), n_boot)
    lo, hi = np.quantile(per_resample, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return pd.DataFrame({"percentile": q, "estimate": np.percentile(est, q), "ci_low": lo, "ci_high": hi})


def summarise_prediction_intervals(intervals: pd.DataFrame, *, threshold: float | None = None) -> dict:
    """How informative per-patient intervals are: widths, and how many exclude 0 or straddle ``threshold``.

    Parameters
    ----------
    intervals : DataFrame
        From :func:`compute_prediction_intervals`.
    threshold : float, optional
        A clinically meaningful benefit (the SAP's ``benefit_threshold``).

    Returns
    -------
    dict
        ``n``, ``median_width``, ``min_width``, ``max_width``, ``n_above_zero`` and ``n_below_zero`` (interval
        entirely above / below 0), ``n_excludes_zero``; with ``threshold`` also ``n_straddle_threshold``
        (``ci_low < threshold <= ci_high``: the interval allows both a benefit below the threshold and one at
        or above it), ``n_above_threshold`` (``ci_low >= threshold``) and ``n_below_threshold``
        (``ci_high < threshold``).

    Examples
    --------
    >>> t = pd.DataFrame({"ci_low": [-0.1, 0.02, 0.06], "ci_high": [0.1, 0.08, 0.2], "width": [0.2, 0.06, 0.14]})
    >>> r = summarise_prediction_intervals(t, threshold=0.05)
    >>> r["n_excludes_zero"], r["n_straddle_threshold"], r["n_above_threshold"], round(r["median_width"], 2)
    (2, 2, 1, 0.14)
    """
    lo, hi, w = (intervals[c].to_numpy(dtype=float) for c in ("ci_low", "ci_high", "width"))
    out = {"n": int(lo.size), "median_width": float(np.median(w)), "min_width": float(np.min(w)),
           "max_width": float(np.max(w)), "n_above_zero": int(np.sum(lo > 0)), "n_below_zero": int(np.sum(hi < 0))}
    out["n_excludes_zero"] = out["n_above_zero"] + out["n_below_zero"]
    if threshold is not None:
        out["n_straddle_threshold"] = int(np.sum((lo < threshold) & (hi >= threshold)))
        out["n_above_threshold"] = int(np.sum(lo >= threshold))
        out["n_below_threshold"] = int(np.sum(hi < threshold))
    return out
