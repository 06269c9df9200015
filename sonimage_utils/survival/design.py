"""Design matrices for Cox models from a small R-like formula (``a + b``, ``a * b``, ``a:b``).

Treatment coding with explicit reference levels, and column names that say which level they compare
(``het_group[heterogeneous]``), so tables and contrasts need no guessing. Written by hand because
lifelines' formula support (formulaic) names columns ``C(var)[T.level]`` and picks reference levels
alphabetically; the coding here matches R's ``contr.treatment`` with the levels in the stated order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["build_design", "compute_rcs_basis"]


def _parse(formula: str) -> list[tuple[str, ...]]:
    """``"a * b + c"`` -> [(a,), (b,), (a, b), (c,)] (R formula semantics for +, * and :)."""
    terms: list[tuple[str, ...]] = []
    for part in formula.split("+"):
        part = part.strip()
        if not part:
            raise ValueError(f"empty term in formula {formula!r}")
        if "*" in part:
            a, b = (s.strip() for s in part.split("*", 1))
            new = [(a,), (b,), (a, b)]
        elif ":" in part:
            new = [tuple(s.strip() for s in part.split(":"))]
        else:
            new = [(part,)]
        terms += [t for t in new if t not in terms]
    return terms


def _is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s)


def _levels(s: pd.Series, ref) -> list:
    present = set(s.dropna().unique().tolist())
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = [c for c in s.cat.categories if c in present]
    else:
        levels = sorted(present, key=str)
    if isinstance(ref, (list, tuple)):
        extra = [lv for lv in levels if lv not in ref]
        if extra:
            raise ValueError(f"levels of {s.name!r} not in the given order {list(ref)}: {extra}")
        return [lv for lv in ref if lv in present]
    if ref is not None:
        if ref not in levels:
            raise ValueError(f"reference level {ref!r} not found in {s.name!r} (levels: {levels})")
        levels = [ref] + [lv for lv in levels if lv != ref]
    return levels


def build_design(df: pd.DataFrame, formula: str, reference: dict | None = None):
    """Treatment-coded design matrix for a formula of column names joined by ``+``, ``*`` and ``:``.

    Categorical (string/categorical) columns get one indicator per non-reference level, named
    ``var[level]``; boolean columns become 0/1 named ``var``; numeric columns are used as they are.

    Parameters
    ----------
    df : pandas.DataFrame
        Complete cases only (drop missing values first).
    formula : str
        E.g. ``"het_group + arm"`` or ``"het_group * arm"``.
    reference : dict, optional
        Variable -> reference level, or a list giving the full level order (first = reference); default
        the first category (categorical dtype) or the first in sorted order. Levels absent from the data
        are skipped.

    Returns
    -------
    design : pandas.DataFrame
    terms : dict of str to list of str
        Term label (``a`` or ``a:b``) -> design columns.
    refs : dict
        Reference level used for every categorical variable.

    Raises
    ------
    ValueError
        If a column is missing or a reference level does not exist.

    Examples
    --------
    >>> d = pd.DataFrame({"g": ["a", "b", "b"], "x": [1.0, 2.0, 3.0]})
    >>> list(build_design(d, "g * x")[0].columns)
    ['g[b]', 'x', 'g[b]:x']
    """
    reference = dict(reference or {})
    terms = _parse(formula)
    variables = sorted({v for t in terms for v in t})
    missing = [v for v in variables if v not in df.columns]
    if missing:
        raise ValueError(f"formula {formula!r} uses columns not in the data: {missing}")
    blocks, refs = {}, {}
    for v in variables:
        s = df[v]
        if _is_categorical(s):
            levels = _levels(s, reference.get(v))
            refs[v] = levels[0]
            blocks[v] = pd.DataFrame({f"{v}[{lv}]": (s == lv).astype(float) for lv in levels[1:]}, index=df.index)
        else:
            blocks[v] = pd.DataFrame({v: s.astype(float)}, index=df.index)
    cols, term_cols = {}, {}
    for t in terms:
        label = ":".join(t)
        if len(t) == 1:
            block = blocks[t[0]]
        else:
            block = blocks[t[0]]
            for other in t[1:]:
                block = pd.DataFrame({f"{a}:{b}": block[a] * blocks[other][b] for a in block for b in blocks[other]},
                                     index=df.index)
        term_cols[label] = list(block.columns)
        cols.update(block.to_dict("series"))
    return pd.DataFrame(cols, index=df.index), term_cols, refs


def compute_rcs_basis(x, knots) -> np.ndarray:
    """Harrell's restricted cubic spline basis (R ``Hmisc::rcspline.eval(x, knots, inclx = TRUE)``).

    Parameters
    ----------
    x : array-like of float
    knots : array-like of float
        At least 3 increasing knots.

    Returns
    -------
    numpy.ndarray, shape (n, len(knots) - 1)
        ``x`` itself, then the ``len(knots) - 2`` non-linear terms (``norm = 2`` scaling).

    Raises
    ------
    ValueError
        With fewer than 3 distinct knots.

    Examples
    --------
    >>> compute_rcs_basis([0.0, 1.0, 9.0, 12.0], [0, 1, 9]).round(4)[:, 1]
    array([0.    , 0.0123, 1.8889, 2.8889])
    """
    x = np.asarray(x, dtype=float).ravel()
    k = np.unique(np.asarray(knots, dtype=float))
    if k.size < 3:
        raise ValueError(f"need at least 3 distinct knots, got {k.size}")
    kd = (k[-1] - k[0]) ** (2.0 / 3.0)
    cols = [x]
    for j in range(k.size - 2):
        term = (np.maximum((x - k[j]) / kd, 0) ** 3
                + ((k[-2] - k[j]) * np.maximum((x - k[-1]) / kd, 0) ** 3
                   - (k[-1] - k[j]) * np.maximum((x - k[-2]) / kd, 0) ** 3) / (k[-1] - k[-2]))
        cols.append(term)
    return np.column_stack(cols)
