"""Record results from a notebook: glue for the book's prose, and the results registry.

A notebook calls :func:`record` for every number the book states. The value is glued (myst-nb) so that
prose can paste it, and tagged so that ``sonimage run`` gathers it into ``results.json``.
"""

from __future__ import annotations

import math
from numbers import Number
from pathlib import Path

import numpy as np
from IPython.display import Markdown, display

from sonimage_utils.tables.format import format_value

__all__ = ["record", "record_deviation", "DEVIATION_MIME", "save_figure", "save_table", "synthetic_notice", "show", "show_markdown", "glue_text", "record_section",
           "RESULT_MIME",
           "to_number"]

#: MIME type of the hidden output that carries a result's name, value and description.
RESULT_MIME = "application/vnd.sonimage.result+json"
#: MIME type of the hidden output that carries a deviation from the SAP a notebook reports.
DEVIATION_MIME = "application/vnd.sonimage.deviation+json"


def to_number(value):
    """Return ``value`` as a plain JSON number, or None where it does not exist.

    Parameters
    ----------
    value : number, numpy scalar, bool or None
        NaN and infinities become None (e.g. a median not reached).

    Returns
    -------
    int, float or None

    Raises
    ------
    ValueError
        If ``value`` is not a number.

    Examples
    --------
    >>> to_number(np.float64(0.25)), to_number(float("nan")), to_number(np.int64(3))
    (0.25, None, 3)
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float, Number)):
        value = float(value)
        return None if not math.isfinite(value) else value
    raise ValueError(f"result must be a number or None, got {type(value).__name__}: {value!r}")


def record(name: str, value, description: str, *, kind: str, missing: str | None = None) -> None:
    """Glue ``value`` under ``name`` and register it for ``results.json``.

    Two glue keys are made: ``name`` (the number itself, for ``{glue:text}`name:.2f```) and
    ``name_text`` (the number written as its kind of statistic is written everywhere, or the kind's word
    for a missing value), for prose that must say "not reached" rather than "nan".

    Parameters
    ----------
    name : str
        Registry name, ``objN_...`` or ``cohort_...`` (listed in the results appendix of the book).
    value : number or None
    description : str
        One line, shown in ``results.csv``.
    kind : str
        The kind of statistic, a key of :data:`sonimage_utils.tables.format.FORMATS` (``count``,
        ``percent``, ``p_value``, ``ratio``, ``months``, ``median_months``, ``estimate``, ...): it sets the
        format of the ``name_text`` glue and the word for a missing value.
    missing : str, optional
        The text for a missing value where the kind's word ("not estimable", "not reached") does not say
        why, e.g. "not simulated".

    Returns
    -------
    None
        Nothing, so that a cell ending in ``record(...)`` shows no stray output.
    """
    from myst_nb import glue

    number = to_number(value)
    text = format_value(number, kind, missing)
    glue(name, number if number is not None else text, display=False)
    glue(f"{name}_text", text, display=False)
    display({RESULT_MIME: {"name": name, "value": number, "description": description}}, raw=True)


def record_deviation(text: str) -> None:
    """Report that an analysis was realised differently from the plan, in one line.

    The run gathers every reported deviation onto the book's page "Deviations from the SAP" and counts it in
    ``sap_n_deviations`` (see :mod:`sonimage_utils.pipeline.sap`). Report, for instance, a model that did not
    converge or was not estimable, quantile groups collapsed by ties, an analysis set smaller than planned.
    Nothing is shown in the chapter.

    Parameters
    ----------
    text : str
        One sentence naming the analysis and what happened, with its numbers, e.g. "HS quartiles: ties left
        3 groups instead of 4". Markdown allowed.

    Raises
    ------
    ValueError
        If ``text`` is empty.
    """
    text = " ".join(str(text).split())
    if not text:
        raise ValueError("record_deviation needs a sentence saying what differs from the plan, got an empty text")
    display({DEVIATION_MIME: {"text": text}}, raw=True)


def save_figure(fig, name: str, build_dir, *, dpi: int = 200):
    """Save ``fig`` as ``BUILD/figures/<name>.png`` (for authors), show it once, close it.

    The PNG carries no timestamp, so the same figure gives the same bytes.
    """
    from sonimage_utils.plots.figure import close_figure, write_figure

    folder = Path(build_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    write_figure(fig, folder / f"{name}.png", dpi=dpi)
    display(fig)
    close_figure(fig)


def save_table(table, name: str, build_dir) -> Path:
    """Save a table as ``BUILD/tables/<name>.csv`` for authors; return the path."""
    folder = Path(build_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    table.to_csv(path, lineterminator="\n")
    return path


def synthetic_notice(synthetic: bool) -> None:
    """Show a warning on a chapter built from synthetic data (shows nothing for study data)."""
    if synthetic:
        display(Markdown(":::{warning}\n**Synthetic data.** This chapter was computed from the built-in simulated "
                         "cohort, not from SONImage study data. Its numbers illustrate the analysis only.\n:::"))


def show(obj) -> None:
    """Show a table, figure or object in the notebook (the one door to IPython's display for notebooks).

    A DataFrame is shown whole: no cell text cut to "..." (pandas' ``display.max_colwidth``), no column or
    row left out.
    """
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None, "display.max_rows", None,
                               "display.width", None):
            display(obj)
        return
    display(obj)


def show_markdown(text: str) -> None:
    """Show ``text`` as Markdown in the notebook (generated prose: sentences chosen from the numbers)."""
    display(Markdown(text))


def glue_text(name: str, text: str) -> None:
    """Glue a piece of text that is not a number (a hash, a list of names) for the prose; not a registry entry."""
    from myst_nb import glue

    glue(name, text, display=False)


def record_section(section) -> None:
    """Record every result of a chapter section (:class:`sonimage_utils.chapters.Section`)."""
    for r in section.results:
        record(r.name, r.value, r.description, kind=r.kind, missing=r.missing)
