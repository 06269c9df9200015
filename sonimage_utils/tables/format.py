"""Formatting layer: numbers to text for tables and prose (no computation here)."""

from __future__ import annotations

import math

__all__ = ["fmt_num", "fmt_p", "fmt_ci", "fmt_est_ci", "fmt_pct"]


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def fmt_num(x, digits: int = 2, missing: str = "NA") -> str:
    """Format a number with fixed ``digits``; ``missing`` for None/NaN.

    Examples
    --------
    >>> fmt_num(0.5912), fmt_num(float("nan"))
    ('0.59', 'NA')
    """
    return missing if _missing(x) else f"{x:.{digits}f}"


def fmt_p(p, missing: str = "NA") -> str:
    """Format a p-value: three decimals, ``<0.001`` below that.

    Examples
    --------
    >>> fmt_p(0.04321), fmt_p(0.00001)
    ('0.043', '<0.001')
    """
    if _missing(p):
        return missing
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_ci(low, high, digits: int = 2, missing: str = "NA") -> str:
    """Format a confidence interval as ``low-high``.

    Examples
    --------
    >>> fmt_ci(0.41, 0.86)
    '0.41-0.86'
    """
    if _missing(low) or _missing(high):
        return missing
    return f"{low:.{digits}f}-{high:.{digits}f}"


def fmt_est_ci(est, low, high, digits: int = 2, missing: str = "NA") -> str:
    """Format ``estimate (low-high)``.

    Examples
    --------
    >>> fmt_est_ci(0.59, 0.41, 0.86)
    '0.59 (0.41-0.86)'
    """
    if _missing(est):
        return missing
    return f"{fmt_num(est, digits)} ({fmt_ci(low, high, digits, missing)})"


def fmt_pct(x, digits: int = 0, missing: str = "NA") -> str:
    """Format a proportion (0-1) as a percentage.

    Examples
    --------
    >>> fmt_pct(0.253)
    '25%'
    """
    return missing if _missing(x) else f"{100 * x:.{digits}f}%"
