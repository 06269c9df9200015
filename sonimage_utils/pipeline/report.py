"""Record results from a notebook: glue for the book's prose, and the results registry.

A notebook calls :func:`record` for every number the book states. The value is glued (myst-nb) so that
prose can paste it, and tagged so that ``sonimage run`` gathers it into ``results.json``.
"""

from __future__ import annotations

import base64
import math
from numbers import Number
from pathlib import Path

import numpy as np
from IPython.display import HTML, Markdown, display


__all__ = ["record", "record_deviation", "DEVIATION_MIME", "EXPORT_MIME", "download_line", "save_figure", "save_table", "synthetic_notice", "show", "show_markdown", "glue_text", "record_section",
           "RESULT_MIME",
           "to_number"]

#: MIME type of the hidden output that carries a result's name, value and description.
RESULT_MIME = "application/vnd.sonimage.result+json"
#: MIME type of the hidden output that carries a deviation from the SAP a notebook reports.
DEVIATION_MIME = "application/vnd.sonimage.deviation+json"
#: MIME type of the hidden output that names a table or figure exported for the journal bundle
#: (:mod:`sonimage_utils.pipeline.publication` pairs it with its caption).
EXPORT_MIME = "application/vnd.sonimage.export+json"

#: Whether this kernel computes from synthetic data: set by :func:`synthetic_notice` (every notebook calls it),
#: read by the exports to mark their files.
_STATE = {"synthetic": None, "pending": []}


def _cell() -> int | None:
    """The execution count of the cell running now (tables saved and shown in one cell belong together)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return None if shell is None else shell.execution_count
    except ImportError:  # pragma: no cover
        return None


def _is_synthetic(build_dir) -> bool:
    if _STATE["synthetic"] is not None:
        return bool(_STATE["synthetic"])
    return (Path(build_dir) / "input" / "truth.json").exists()  # a data folder with truth.json is synthetic


#: A table longer than this is data (e.g. one row per patient and visit), not a journal table: the bundle has its
#: CSV, and no DOCX or LaTeX (python-docx takes minutes on 100,000 rows, and no journal typesets them); the
#: bundle's manifest says so for each such table (``csv_only``) and its download line links the CSV only.
MAX_TYPESET_ROWS = 1000


def download_line(kind: str, name: str, n_rows: int | None = None) -> str:
    """The HTML line under a table or figure linking its files in the bundle (``BUILD/html/publication``,
    relative to a chapter page ``html/notebooks/NN_name.html``).

    Examples
    --------
    >>> download_line("table", "02_cox").split(" · ")[0]
    '<p class="sonimage-download"><small>Download: <a href="../publication/tables/02_cox.csv">CSV</a>'
    """
    if kind == "table":
        files = [("CSV", f"tables/{name}.csv")]
        if n_rows is None or n_rows <= MAX_TYPESET_ROWS:
            files += [("DOCX", f"tables/{name}.docx"), ("LaTeX", f"tables/{name}.tex")]
    elif kind == "figure":
        files = [("PDF", f"figures/{name}.pdf"), ("SVG", f"figures/{name}.svg"),
                 ("PNG 89 mm", f"figures/{name}_89mm.png"), ("PNG 183 mm", f"figures/{name}_183mm.png")]
    else:
        raise ValueError(f"download_line: kind must be 'table' or 'figure', got {kind!r}")
    links = " · ".join(f'<a href="../publication/{path}">{label}</a>' for label, path in files)
    return f'<p class="sonimage-download"><small>Download: {links}</small></p>'


def _show_download(kind: str, name: str, n_rows: int | None = None) -> None:
    display(HTML(download_line(kind, name, n_rows)))


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

    # imported here: the notebook runner processes import this module for its MIME types and need none of the
    # tables (whose package imports lifelines and statsmodels, 2.4 s per runner)
    from sonimage_utils.tables.format import format_value

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
    """Save ``fig`` as ``BUILD/figures/<name>.png`` (for authors) and ``<name>.svg`` (vector, for the PDF), show
    it once, write its journal files (``BUILD/publication/figures/``: PDF, SVG, 300 dpi PNGs at 89 and 183 mm,
    watermarked in a synthetic build), close it. The book links the files under the figure
    (:func:`sonimage_utils.pipeline.publication.link_figures`).

    The files carry no timestamp, so the same figure gives the same bytes. The notebook shows the PNG just
    written (no second render by IPython's inline backend), at the size the inline backend would show it:
    ``fig.dpi`` pixels per inch of the figure, so a ``dpi`` PNG at ``fig.dpi / dpi`` of its pixel width
    (sharp on high-density screens).
    """
    from PIL import Image

    from sonimage_utils.plots.figure import close_figure, write_figure, write_publication_figure

    folder = Path(build_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    png = write_figure(fig, folder / f"{name}.png", dpi=dpi)
    write_figure(fig, folder / f"{name}.svg", dpi=dpi)  # vector, for the PDF (sonimage build --pdf)
    with Image.open(png) as image:  # reads the header only
        width = round(image.width * fig.dpi / dpi)
    # the export is named in the figure output's metadata: any second output of a figure cell, even a hidden
    # one, becomes a second figure; the book adds the download line under the rendered figure
    display({"image/png": base64.b64encode(png.read_bytes()).decode("ascii"), "text/plain": repr(fig)}, raw=True,
            metadata={"image/png": {"width": width}, EXPORT_MIME: {"kind": "figure", "name": name}})
    write_publication_figure(fig, Path(build_dir) / "publication" / "figures", name,
                             synthetic=_is_synthetic(build_dir))
    close_figure(fig)


def save_table(table, name: str, build_dir) -> Path:
    """Save a table for authors; return the path of the tidy CSV.

    ``BUILD/tables/<name>.csv`` is tidy and numeric (no index column; "1.35 (0.85 to 2.14)" as three number
    columns; rules in :mod:`sonimage_utils.tables.export`), marked by a column ``data = SYNTHETIC`` in a
    synthetic build; ``BUILD/tables/<name>_formatted.csv`` is the table as the book shows it. The next
    :func:`show` of a table names it for the bundle and adds the line linking its files (DOCX and LaTeX by
    :func:`sonimage_utils.pipeline.publication.build_publication` once the caption is known).
    """
    from sonimage_utils.tables.export import write_formatted_csv, write_tidy_csv

    folder = Path(build_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_tidy_csv(table, folder / f"{name}.csv", synthetic=_is_synthetic(build_dir))
    write_formatted_csv(table, folder / f"{name}_formatted.csv")
    # nothing is shown here (in a figure cell any output becomes a figure): the next show() of this table names
    # the export in its output's metadata and adds the download line
    _STATE["pending"].append((_cell(), name, build_dir, getattr(table, "data", table)))
    return path


def synthetic_notice(synthetic: bool) -> None:
    """Show a warning on a chapter built from synthetic data (shows nothing for study data); the exports of
    this kernel are marked synthetic from here on."""
    _STATE["synthetic"] = bool(synthetic)
    if synthetic:
        display(Markdown(":::{warning}\n**Synthetic data.** This chapter was computed from the built-in simulated "
                         "cohort, not from SONImage study data. Its numbers illustrate the analysis only.\n:::"))


def show(obj) -> None:
    """Show a table, figure or object in the notebook (the one door to IPython's display for notebooks).

    The first table shown after :func:`save_table` in the same cell is that table as the book displays it
    (the saved frame or its display version), and so is the very frame saved in an earlier cell: it is named
    for the bundle, its formatted CSV is what is shown, and the line linking its files goes under it.
    A DataFrame is shown whole: no cell text cut to "..." (pandas' ``display.max_colwidth``), no column or
    row left out.
    """
    import pandas as pd

    def whole():
        return pd.option_context("display.max_colwidth", None, "display.max_columns", None, "display.max_rows", None,
                                 "display.width", None)

    shown = getattr(obj, "data", obj)  # a Styler shows its DataFrame
    # the first table saved in this cell and not yet shown (as saved or as its display version), or a table
    # saved in an earlier cell and shown now as saved
    pending = [p for p in _STATE["pending"] if p[0] == _cell()] + [p for p in _STATE["pending"] if p[3] is shown]
    if pending and (hasattr(obj, "to_html") or hasattr(obj, "data")):  # a DataFrame or a Styler
        _, name, build_dir, _ = pending[0]
        _STATE["pending"].remove(pending[0])
        from sonimage_utils.tables.export import write_formatted_csv

        write_formatted_csv(obj, Path(build_dir) / "tables" / f"{name}_formatted.csv")  # as displayed
        with whole():
            display(obj, metadata={EXPORT_MIME: {"kind": "table", "name": name}})
        _show_download("table", name, len(shown))
    else:
        with whole():
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
