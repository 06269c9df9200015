"""Display tables of objective 5: performance metrics with intervals, predictor distributions by cohort.

Every number is written by :mod:`sonimage_utils.tables.format` (one estimate-with-interval style, never
"-0.00") and every metric and cohort is named by :mod:`sonimage_utils.tables.labels`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS
from sonimage_utils.tables.format import format_estimate_ci, format_number, format_percent
from sonimage_utils.tables.labels import LABELS

__all__ = ["format_performance_table", "format_estimate_rows", "format_metric_frame", "format_median_iqr",
           "format_predictor_summary"]


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
                text = f"{int(obs.sum())} ({format_percent(obs.mean())})"
            else:
                text = format_median_iqr(obs, 2)
            n_miss = int(v.isna().sum())
            col[(labels or {}).get(feat, feat)] = text + (f"; missing {n_miss}" if n_miss else "")
        out[name] = col
    return pd.DataFrame(out)


def format_estimate_rows(rows: dict, digits: int = 2) -> pd.DataFrame:
    """Rows of ``estimate (low to high)`` cells, e.g. a statistic added below a performance table.

    Parameters
    ----------
    rows : dict of str to dict
        Row label -> {column label -> (estimate, ci_low, ci_high)}.
    digits : int

    Returns
    -------
    pandas.DataFrame
        One row per entry of ``rows``, one column per column label.

    Examples
    --------
    >>> format_estimate_rows({"O/E": {"A": (1.3, 1.12, 1.52), "B": (-0.004, -0.1, 0.2)}}).loc["O/E"].tolist()
    ['1.30 (1.12 to 1.52)', '0.00 (-0.10 to 0.20)']
    """
    return pd.DataFrame({row: {col: format_estimate_ci(*v, digits=digits) for col, v in cells.items()}
                         for row, cells in rows.items()}).T


def format_metric_frame(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A table of metric values as text with ``digits`` decimals (for display; the CSV keeps the numbers).

    Parameters
    ----------
    frame : pandas.DataFrame
        Numbers (rows: metrics or models; columns: versions or metrics).
    digits : int

    Returns
    -------
    pandas.DataFrame
        The same shape and labels; each cell written by :func:`~sonimage_utils.tables.format.format_number`
        ("not estimable" for a missing value, never "-0.000").

    Examples
    --------
    >>> format_metric_frame(pd.DataFrame({"a": [0.12345, -0.0001, np.nan]})).a.tolist()
    ['0.123', '0.000', 'not estimable']
    """
    return frame.apply(lambda col: col.map(lambda x: format_number(x, digits)))


def format_median_iqr(values, digits: int = 2) -> str:
    """``median [Q1, Q3]`` of ``values`` (missing values ignored).

    Raises
    ------
    ValueError
        If no value is present.

    Examples
    --------
    >>> format_median_iqr([1.0, 2.0, 3.0, np.nan]), format_median_iqr([0.3391, 0.342, 0.342], 3)
    ('2.00 [1.50, 2.50]', '0.342 [0.341, 0.342]')
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no value to summarise")
    q1, q2, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return f"{format_number(q2, digits)} [{format_number(q1, digits)}, {format_number(q3, digits)}]"
