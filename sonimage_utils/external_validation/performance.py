"""External validation of a frozen survival prediction model: every performance metric at one horizon.

:func:`survival_performance` is the contract named in ``interface.md``; it gathers the metrics computed by
:mod:`sonimage_utils.validation_metrics` (discrimination, mean and weak calibration, Brier/IPA) and
:mod:`sonimage_utils.validation_calibration` (smoothed calibration, ICI/E50/E90). Confidence intervals come
from :mod:`sonimage_utils.validation_bootstrap`, the decision curve from
:mod:`sonimage_utils.decision_curve`, figures from :mod:`sonimage_utils.validation_plots`.

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

from sonimage_utils.external_validation.calibration import compute_smoothed_calibration
from sonimage_utils.external_validation.metrics import (
    check_survival_inputs,
    compute_brier,
    compute_calibration_slope,
    compute_cd_auc,
    compute_harrell_c,
    compute_observed_expected,
    compute_uno_c,
)

__all__ = ["PERFORMANCE_METRICS", "METRIC_LABELS", "survival_performance", "format_performance_table",
           "format_estimate_ci", "summarise_predictors"]

#: Keys returned by :func:`survival_performance`, in display order.
PERFORMANCE_METRICS = ("harrell_c", "uno_c", "auc", "oe", "calibration_slope", "ici", "e50", "e90", "brier",
                       "ipa")

#: Reader-facing labels of the metrics.
METRIC_LABELS = {
    "harrell_c": "Harrell C",
    "uno_c": "Uno C (truncated at t)",
    "auc": "Cumulative/dynamic AUC(t)",
    "oe": "Observed/expected at t",
    "calibration_slope": "Calibration slope",
    "ici": "ICI at t",
    "e50": "E50 at t",
    "e90": "E90 at t",
    "brier": "Brier score at t (IPCW)",
    "ipa": "IPA (scaled Brier) at t",
}


def survival_performance(time, event, risk, lp, t: float, *, calibration_knots=None) -> dict:
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
    out = {"harrell_c": compute_harrell_c(tt, e, x), "uno_c": compute_uno_c(tt, e, x, t),
           "auc": float(compute_cd_auc(tt, e, x, [t])[0]), "oe": compute_observed_expected(tt, e, r, t)["oe"],
           "calibration_slope": _or_nan(lambda: compute_calibration_slope(tt, e, x)["slope"])}
    try:
        cal = compute_smoothed_calibration(tt, e, r, t, knots=calibration_knots)
        out.update({k: cal.values[k] for k in ("ici", "e50", "e90")})
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        out.update({"ici": np.nan, "e50": np.nan, "e90": np.nan})
    b = compute_brier(tt, e, r, t)
    out.update({"brier": b["brier"], "ipa": b["ipa"]})
    return {k: float(out[k]) for k in PERFORMANCE_METRICS}


def _or_nan(fn):
    try:
        return fn()
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return np.nan


def format_estimate_ci(est, low, high, digits: int = 2) -> str:
    """``estimate (low to high)``; the estimate alone when there is no interval; ``NA`` when missing.

    "to" rather than a dash, because validation metrics such as the IPA can be negative.

    Examples
    --------
    >>> format_estimate_ci(-0.04, -0.12, 0.01), format_estimate_ci(0.7, float("nan"), float("nan"))
    ('-0.04 (-0.12 to 0.01)', '0.70')
    """
    from sonimage_utils.tables.format import fmt_num

    if est is None or not np.isfinite(est):
        return "NA"
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return fmt_num(est, digits)
    return f"{fmt_num(est, digits)} ({fmt_num(low, digits)} to {fmt_num(high, digits)})"


def format_performance_table(summary: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Reader-facing table of metrics with their intervals (formatting layer).

    Parameters
    ----------
    summary : pandas.DataFrame
        Columns ``metric``, ``estimate``, ``ci_low``, ``ci_high`` (as
        :attr:`sonimage_utils.validation_bootstrap.BootstrapPerformance.summary`), optionally ``cohort``.
    digits : int

    Returns
    -------
    pandas.DataFrame
        One row per metric (label), one column per cohort (or ``Estimate (95% CI)``).
    """
    df = summary.copy()
    df["text"] = [format_estimate_ci(a, b, c, digits=3 if m == "brier" else digits)
                  for m, a, b, c in zip(df["metric"], df["estimate"], df["ci_low"], df["ci_high"])]
    df["Metric"] = df["metric"].map(METRIC_LABELS).fillna(df["metric"])
    order = {m: i for i, m in enumerate(PERFORMANCE_METRICS)}
    df["_o"] = df["metric"].map(order).fillna(len(order))
    if "cohort" in df.columns:
        out = df.pivot_table(index=["_o", "Metric"], columns="cohort", values="text", aggfunc="first",
                             sort=False)
        out = out.sort_index().droplevel(0)
        out.columns.name = None
        return out
    return df.sort_values("_o").set_index("Metric")[["text"]].rename(columns={"text": "Estimate (95% CI)"})


def summarise_predictors(raw_by_cohort: dict, labels: dict | None = None) -> pd.DataFrame:
    """Distribution of each model predictor per cohort, before imputation (formatting layer).

    Parameters
    ----------
    raw_by_cohort : dict of str to pandas.DataFrame
        Cohort name -> raw predictor values (one column per predictor, one row per patient).
    labels : dict, optional
        Predictor name -> label for the rows.

    Returns
    -------
    pandas.DataFrame
        Rows: predictors; columns: cohorts; cells ``median [Q1, Q3]`` (``n (%)`` with value 1 for 0/1
        predictors), with the number missing in brackets when any.

    Examples
    --------
    >>> summarise_predictors({"A": pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan]})}).loc["x", "A"]
    '2.00 [1.50, 2.50]; missing 1'
    """
    out = {}
    for name, raw in raw_by_cohort.items():
        col = {}
        for feat in raw.columns:
            v = pd.to_numeric(raw[feat], errors="coerce").astype(float)
            obs = v.dropna()
            if obs.empty:
                text = "not available"
            elif set(obs.unique()) <= {0.0, 1.0}:
                text = f"{int(obs.sum())} ({100 * obs.mean():.0f}%)"
            else:
                q1, q2, q3 = np.quantile(obs, [0.25, 0.5, 0.75])
                text = f"{q2:.2f} [{q1:.2f}, {q3:.2f}]"
            n_miss = int(v.isna().sum())
            col[(labels or {}).get(feat, feat)] = text + (f"; missing {n_miss}" if n_miss else "")
        out[name] = col
    return pd.DataFrame(out)
