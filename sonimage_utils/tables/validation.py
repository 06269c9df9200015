"""Display tables of objective 5: performance metrics with intervals, predictor distributions by cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS
from sonimage_utils.tables.format import format_estimate_ci
from sonimage_utils.tables.labels import LABELS

__all__ = ["format_performance_table", "format_predictor_summary"]


def format_performance_table(summary: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Reader-facing table of metrics with their intervals (formatting layer).

    Parameters
    ----------
    summary : pandas.DataFrame
        Columns ``metric``, ``estimate``, ``ci_low``, ``ci_high`` (as
        :attr:`sonimage_utils.external_validation.bootstrap.BootstrapPerformance.summary`), optionally ``cohort``.
    digits : int

    Returns
    -------
    pandas.DataFrame
        One row per metric (label), one column per cohort (or ``Estimate (95% CI)``).
    """
    df = summary.copy()
    df["text"] = [format_estimate_ci(a, b, c, digits=3 if m == "brier" else digits)
                  for m, a, b, c in zip(df["metric"], df["estimate"], df["ci_low"], df["ci_high"])]
    df["Metric"] = df["metric"].map(LABELS).fillna(df["metric"])
    order = {m: i for i, m in enumerate(PERFORMANCE_METRICS)}
    df["_o"] = df["metric"].map(order).fillna(len(order))
    if "cohort" in df.columns:
        out = df.pivot_table(index=["_o", "Metric"], columns="cohort", values="text", aggfunc="first",
                             sort=False)
        out = out.sort_index().droplevel(0)
        out.columns.name = None
        return out
    return df.sort_values("_o").set_index("Metric")[["text"]].rename(columns={"text": "Estimate (95% CI)"})


def format_predictor_summary(raw_by_cohort: dict, labels: dict | None = None) -> pd.DataFrame:
    """Distribution of each model predictor per cohort, before imputation.

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
    >>> format_predictor_summary({"A": pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan]})}).loc["x", "A"]
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
