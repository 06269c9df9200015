"""The one formatting layer: numbers to text for tables and prose (no computation here).

One style for every estimate with its interval, ``estimate (low to high)`` ("to", never a dash, because
metrics such as the IPA and differences can be negative); one p-value rule; one word for a statistic that
does not exist (:data:`NOT_ESTIMABLE`) and one for a median or quantile that the curve never reaches
(:data:`NOT_REACHED`). Negative zero is never printed.

:data:`FORMATS` is the one table of formats by kind of statistic (after tern's default formats): the
results registry (``record``), the tables and the prose all take their format from it.

Shared arguments
----------------
digits : int
    Decimals after the point.
missing : str
    Text for a value that does not exist (None, NaN or an infinity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["NOT_ESTIMABLE", "NOT_REACHED", "Format", "FORMATS", "format_value", "format_number", "format_p",
           "format_ci", "format_estimate_ci", "format_percent", "format_count", "is_missing", "format_p_prose"]

#: The one word for a statistic that cannot be estimated from the data (the reason is given beside it).
NOT_ESTIMABLE = "not estimable"
#: The one word for a survival quantile (a median, a confidence limit) that the curve never reaches.
NOT_REACHED = "not reached"


def is_missing(x) -> bool:
    """True for None, NaN and infinities (a value that does not exist).

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0.0)
    (True, True, False)
    """
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _fixed(x: float, digits: int) -> str:
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_number(x, digits: int = 2, missing: str = NOT_ESTIMABLE) -> str:
    """A number with fixed ``digits``; ``missing`` where it does not exist; never "-0.00".

    Examples
    --------
    >>> format_number(0.5912), format_number(-0.0004), format_number(float("nan"))
    ('0.59', '0.00', 'not estimable')
    """
    return missing if is_missing(x) else _fixed(float(x), digits)


def format_count(x, missing: str = NOT_ESTIMABLE) -> str:
    """A whole number.

    Examples
    --------
    >>> format_count(75.0)
    '75'
    """
    return format_number(x, 0, missing)


def format_percent(x, digits: int = 0, missing: str = NOT_ESTIMABLE) -> str:
    """A proportion (0-1) as a percentage.

    Examples
    --------
    >>> format_percent(0.253), format_percent(0.2534, 1)
    ('25%', '25.3%')
    """
    return missing if is_missing(x) else f"{_fixed(100 * float(x), digits)}%"


def format_p(p, missing: str = NOT_ESTIMABLE) -> str:
    """The one p-value rule: three decimals, ``<0.001`` below that.

    Examples
    --------
    >>> format_p(0.04321), format_p(0.00001), format_p(1.0)
    ('0.043', '<0.001', '1.000')
    """
    if is_missing(p):
        return missing
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_p_prose(p, missing: str = NOT_ESTIMABLE) -> str:
    """A p-value for running text after "p": ``= 0.043``, or ``<0.001`` (the rule of :func:`format_p`).

    Examples
    --------
    >>> "p " + format_p_prose(0.04321), "p " + format_p_prose(0.00001), format_p_prose(None)
    ('p = 0.043', 'p <0.001', 'not estimable')
    """
    text = format_p(p, missing)
    return text if is_missing(p) or text.startswith("<") else f"= {text}"


def format_ci(low, high, digits: int = 2, *, percent: bool = False, limit_missing: str = NOT_REACHED) -> str:
    """A confidence interval, ``low to high``; a limit that does not exist reads ``limit_missing``.

    Examples
    --------
    >>> format_ci(0.41, 0.86), format_ci(-0.12, 0.01), format_ci(0.57, 0.823, 0, percent=True)
    ('0.41 to 0.86', '-0.12 to 0.01', '57% to 82%')
    """
    def one(x):
        if is_missing(x):
            return limit_missing
        return format_percent(x, digits) if percent else format_number(x, digits)

    return f"{one(low)} to {one(high)}"


def format_estimate_ci(est, low, high, digits: int = 2, missing: str = NOT_ESTIMABLE, *, percent: bool = False,
                       limit_missing: str = NOT_REACHED) -> str:
    """The one estimate-with-interval style: ``estimate (low to high)``.

    The estimate alone when neither limit exists (a statistic reported without an interval);
    ``missing`` when the estimate does not exist; a single missing limit reads ``limit_missing``.

    Examples
    --------
    >>> format_estimate_ci(1.3512, 0.85, 2.14)
    '1.35 (0.85 to 2.14)'
    >>> format_estimate_ci(-0.04, -0.12, 0.01), format_estimate_ci(0.7, None, None)
    ('-0.04 (-0.12 to 0.01)', '0.70')
    >>> format_estimate_ci(17.0, 12.1, float("nan"), 1), format_estimate_ci(0.7, 0.57, 0.82, 0, percent=True)
    ('17.0 (12.1 to not reached)', '70% (57% to 82%)')
    """
    if is_missing(est):
        return missing
    head = format_percent(est, digits) if percent else format_number(est, digits)
    if is_missing(low) and is_missing(high):
        return head
    return f"{head} ({format_ci(low, high, digits, percent=percent, limit_missing=limit_missing)})"


@dataclass(frozen=True)
class Format:
    """How one kind of statistic is written: decimals, percent or not, and the word when it is missing."""

    digits: int
    percent: bool = False
    missing: str = NOT_ESTIMABLE
    p_value: bool = False
    general: bool = False

    def format(self, value) -> str:
        """Text for ``value`` (the interface of ``str.format``, so a Format stands where a format string did)."""
        if self.p_value:
            return format_p(value, self.missing)
        if self.general:
            return self.missing if is_missing(value) else f"{float(value):g}"
        if self.percent:
            return format_percent(value, self.digits, self.missing)
        return format_number(value, self.digits, self.missing)


#: The one table of formats, by kind of statistic. ``record(name, value, description, kind=...)``
#: and the table formatters read it; a new kind of statistic gets a row here, not a format string.
FORMATS: dict[str, Format] = {
    "count": Format(0),
    "percent": Format(0, percent=True),
    "percent1": Format(1, percent=True),
    "p_value": Format(3, p_value=True),
    "ratio": Format(2),                        # hazard ratios, odds ratios, O/E
    "months": Format(1),                       # follow-up, restricted means, differences in months
    "median_months": Format(1, missing=NOT_REACHED),
    "estimate": Format(2),                     # coefficients, C statistics, slopes, metrics
    "estimate3": Format(3),                    # small metrics (ICI, Brier) and sensitivity values
    "parameter": Format(0, general=True),      # values echoed from the SAP (thresholds, horizons): 1.5, 24
}


def format_value(value, kind: str, missing: str | None = None) -> str:
    """Format ``value`` by the kind of statistic it is (a key of :data:`FORMATS`).

    Raises
    ------
    ValueError
        If ``kind`` is not in :data:`FORMATS`.

    Examples
    --------
    >>> format_value(0.4123, "percent"), format_value(None, "median_months"), format_value(3e-5, "p_value")
    ('41%', 'not reached', '<0.001')
    >>> format_value(1.5, "parameter"), format_value(24.0, "parameter")
    ('1.5', '24')
    """
    if kind not in FORMATS:
        raise ValueError(f"unknown kind of statistic {kind!r}; one of {', '.join(FORMATS)}")
    fmt = FORMATS[kind]
    if missing is not None:
        fmt = Format(fmt.digits, fmt.percent, missing, fmt.p_value, fmt.general)
    return fmt.format(value)


def format_noun(n, singular: str, plural: str | None = None) -> str:
    """The noun that agrees with the count ``n`` (never a templated "predictor(s)").

    Examples
    --------
    >>> format_noun(1, "candidate parameter"), format_noun(3, "candidate parameter"), format_noun(0, "analysis", "analyses")
    ('candidate parameter', 'candidate parameters', 'analyses')
    """
    return singular if n == 1 else (plural or singular + "s")
