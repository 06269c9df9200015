"""Display versions of result frames: every number written by its kind of statistic (no computation).

A statistics module returns frames of numbers (saved as CSV for authors); the book shows the same frame
with each column written through :data:`sonimage_utils.tables.format.FORMATS` and labelled through
:func:`sonimage_utils.tables.labels.label`.
"""

from __future__ import annotations

import pandas as pd

from sonimage_utils.tables.format import FORMATS, format_value
from sonimage_utils.tables.labels import label

__all__ = ["format_columns"]


def format_columns(frame: pd.DataFrame, kinds: dict, *, labels: dict | None = None, index: str | None = None,
                   relabel_values: tuple = ()) -> pd.DataFrame:
    """Write the columns in ``kinds`` as text by their kind of statistic; other columns are kept.

    Parameters
    ----------
    frame : pandas.DataFrame
    kinds : dict of str to str
        Column -> kind (a key of :data:`~sonimage_utils.tables.format.FORMATS`).
    labels : dict of str to str, optional
        Column -> display header (after formatting); columns not named keep their name.
    index : str, optional
        Column (by its display header) that becomes the index, so that no row number is shown.
    relabel_values : tuple of str
        Columns whose values are names to show through :func:`~sonimage_utils.tables.labels.label`.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        If a column is absent or a kind unknown.

    Examples
    --------
    >>> f = pd.DataFrame({"measure": ["harrell_c"], "value": [0.5312], "n": [75.0]})
    >>> format_columns(f, {"value": "estimate", "n": "count"}, relabel_values=("measure",),
    ...                index="measure").to_dict("index")
    {'Harrell C': {'value': '0.53', 'n': '75'}}
    """
    missing = [c for c in [*kinds, *relabel_values, *(labels or {})] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}")
    unknown = [k for k in kinds.values() if k not in FORMATS]
    if unknown:
        raise ValueError(f"unknown kind(s) {unknown}; one of {', '.join(FORMATS)}")
    out = frame.copy()
    for col, kind in kinds.items():
        out[col] = [format_value(v, kind) for v in frame[col]]
    for col in relabel_values:
        out[col] = [label(str(v)) for v in frame[col]]
    out = out.rename(columns=labels or {})
    if index is not None:
        out = out.set_index(index)
    return out
