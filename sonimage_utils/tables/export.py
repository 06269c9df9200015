"""Tables leave the book as files: tidy numeric CSV, the formatted CSV, DOCX (python-docx) and LaTeX (booktabs).

The book's display tables hold text written by :mod:`sonimage_utils.tables.format` ("1.35 (0.85 to 2.14)",
"68% (57% to 82%)", "95 (95.0)", "64.6 [59.3,71.5]", "<0.001"). :func:`tidy_table` turns such a table back
into numbers, one value per cell, by the rules below; since every table is written in the one style, the rules
are few and each is tested.

The rules of the tidy CSV
-------------------------
- No index column: a meaningful index (row labels) becomes ordinary leading columns; a multi-level header
  becomes one header row (levels joined by ": ", empty and repeated levels left out).
- A column of text labels stays as it is.
- A column holding numbers becomes numeric. A cell "estimate (low to high)" gives three columns, ``<col>``,
  ``<col> ci_low`` and ``<col> ci_high``; "value [q1,q3]" gives ``<col>``, ``<col> q1``, ``<col> q3``;
  "value (second)" gives ``<col>`` and ``<col> (second)`` named after the header's parenthesis where it has
  one ("Power (MC SE)" -> ``Power``, ``MC SE``), else ``<col> (in parentheses)``. A header's "(95% CI)" is
  dropped from the estimate's name.
- A value printed with "%" becomes a proportion (0-1), as in the results registry; a number printed without
  "%" is kept as printed (the "(%)" of "n (%)" rows is a percentage).
- A value printed as a bound ("<0.001") is written as its bound (0.001) with ``<`` in ``<col> note``; a word
  for a value that does not exist ("not estimable", "not reached") is an empty number with the word in
  ``<col> note``. Any other text in a numeric column also goes to the note.
- Numbers parsed from text carry the precision the book displays. Numbers that were numbers (a frame of
  floats) are rounded to :data:`TIDY_SIGNIFICANT_DIGITS` significant digits; the registry
  (``results.json``) holds every stated number at full precision.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["TIDY_SIGNIFICANT_DIGITS", "SYNTHETIC_COLUMN", "SYNTHETIC_VALUE", "SYNTHETIC_PREFIX", "flatten_table",
           "tidy_table", "parse_cell", "write_tidy_csv", "write_formatted_csv", "write_docx", "write_latex",
           "format_latex"]

#: Significant digits of a float written into a tidy CSV (display precision for journals; full precision is
#: in results.json).
TIDY_SIGNIFICANT_DIGITS = 4
#: The column that marks every row of a tidy CSV of a synthetic build (readers of CSV tolerate a column, not
#: a comment line: ``pandas.read_csv`` and R's ``read.csv`` take a leading "#" line as the header).
SYNTHETIC_COLUMN = "data"
SYNTHETIC_VALUE = "SYNTHETIC"
#: The prefix of a table's title in DOCX and LaTeX of a synthetic build.
SYNTHETIC_PREFIX = "SYNTHETIC DATA - "

_NUM = r"-?\d+(?:\.\d+)?"
_VAL = rf"(?:{_NUM}%?|not reached|not estimable)"
_MISSING_WORDS = ("not estimable", "not reached", "not simulated", "not applicable", "NA", "n/a", "-", "—")
_INTERVAL = re.compile(rf"^({_VAL}) \(({_VAL}) to ({_VAL})\)$")
_BRACKET = re.compile(rf"^({_NUM}) \[\s*({_NUM}),\s*({_NUM})\s*\]$")
_PAREN = re.compile(rf"^({_NUM}%?) \(({_NUM}%?)\)$")
_BOUND = re.compile(rf"^([<>]=?)\s*({_NUM}%?)$")
_NUMBER = re.compile(rf"^{_NUM}%?$")
_RANGE = re.compile(rf"^({_VAL}) to ({_VAL})$")
_SECOND = re.compile(r"SE|SD|IQR|events|%")


def _number(text: str):
    """A printed number as a float ("25%" -> 0.25), or None for a word or an empty cell."""
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    if not text.endswith("%"):
        return float(text)
    decimals = len(text[:-1].split(".")[1]) if "." in text else 0
    return round(float(text[:-1]) / 100, decimals + 2)  # 1.4% -> 0.014, not 0.013999999999999999


def parse_cell(value) -> dict:
    """Parse one display cell into its numbers.

    Returns
    -------
    dict
        Keys among ``value``, ``ci_low``, ``ci_high``, ``q1``, ``q3``, ``second`` (numbers) and ``note``
        (text: a bound sign, a missing-value word, or text that is no number). Empty for an empty cell.

    Examples
    --------
    >>> parse_cell("1.35 (0.85 to 2.14)")
    {'value': 1.35, 'ci_low': 0.85, 'ci_high': 2.14}
    >>> parse_cell("68% (57% to 82%)")
    {'value': 0.68, 'ci_low': 0.57, 'ci_high': 0.82}
    >>> parse_cell("<0.001"), parse_cell("not reached"), parse_cell("95 (95.0)")
    ({'value': 0.001, 'note': '<'}, {'note': 'not reached'}, {'value': 95.0, 'second': 95.0})
    >>> parse_cell("17.0 (12.1 to not reached)")
    {'value': 17.0, 'ci_low': 12.1, 'note': 'upper limit not reached'}
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, (bool, np.bool_)):
        return {"value": float(value)}
    if isinstance(value, (int, float, np.integer, np.floating)):
        return {"value": float(value)}
    text = " ".join(str(value).split())
    if text == "":
        return {}
    number = _number(text)
    if number is not None:
        return {"value": number}
    if "; " in text:  # "100.00 [66.67, 100.00]; missing 2": the numbers, and the rest as a note
        head, tail = text.split("; ", 1)
        out = parse_cell(head)
        if any(k != "note" for k in out):
            out["note"] = "; ".join(x for x in (out.get("note"), tail) if x)
            return out
    if m := _RANGE.match(text):
        out = {k: _number(v) for k, v in zip(("ci_low", "ci_high"), m.groups()) if _number(v) is not None}
        if len(out) < 2:
            out["note"] = text
        return out
    if m := _INTERVAL.match(text):
        out, notes = {}, []
        for key, part, where in zip(("value", "ci_low", "ci_high"), m.groups(), ("", "lower limit ", "upper limit ")):
            x = _number(part)
            if x is None:
                notes.append(f"{where}{part}")
            else:
                out[key] = x
        if notes:
            out["note"] = "; ".join(notes)
        return out
    if m := _BRACKET.match(text):
        return {"value": float(m[1]), "q1": float(m[2]), "q3": float(m[3])}
    if m := _PAREN.match(text):
        return {"value": _number(m[1]), "second": _number(m[2])}
    if m := _BOUND.match(text):
        return {"value": _number(m[2]), "note": m[1]}
    return {"note": text}


def flatten_table(table: pd.DataFrame) -> pd.DataFrame:
    """The display table with its row labels as leading columns and a one-row header (no index column).

    A default integer index is dropped; any other index becomes columns named after its levels (``label``,
    ``label 2`` where a level has no name). Header levels are joined by ": ", leaving out empty levels and a
    level that repeats the one above.
    """
    table = getattr(table, "data", table) if not isinstance(table, pd.DataFrame) else table  # a Styler
    out = table.copy()
    if isinstance(out.columns, pd.MultiIndex):
        names = []
        for col in out.columns:
            parts = []
            for part in col:
                part = "" if part is None or (isinstance(part, float) and math.isnan(part)) else str(part).strip()
                if part and part not in parts:
                    parts.append(part)
            names.append(": ".join(parts))
        out.columns = names
    else:
        out.columns = [str(c) for c in out.columns]
    default = isinstance(out.index, pd.RangeIndex) or (
        out.index.nlevels == 1 and out.index.name is None and pd.api.types.is_integer_dtype(out.index)
        and list(out.index) == list(range(len(out))))
    if default:
        return out.reset_index(drop=True)
    names = [n if n else ("label" if i == 0 else f"label {i + 1}") for i, n in enumerate(out.index.names)]
    out.index = out.index.set_names(names)
    out = out.reset_index()
    for name in names:  # a blank repeated row label ("" under a MultiIndex level) stays blank, not "nan"
        out[name] = out[name].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
    return out


def _round(x, digits: int):
    if x is None or not isinstance(x, float) or not math.isfinite(x) or x == 0:
        return x
    return float(f"{x:.{digits}g}")


def _split_header(header: str) -> tuple[str, str]:
    """"Power (MC SE)" -> ("Power", "MC SE"); "HR (95% CI)" -> ("HR", "95% CI"); "n" -> ("n", "")."""
    m = re.match(r"^(.*\S)\s*\(([^()]*)\)$", header)
    return (m[1], m[2]) if m else (header, "")


def tidy_table(table, *, digits: int = TIDY_SIGNIFICANT_DIGITS, synthetic: bool = False) -> pd.DataFrame:
    """The tidy numeric version of a display table (rules in the module docstring).

    Parameters
    ----------
    table : pandas.DataFrame or Styler
    digits : int
        Significant digits of floats that were floats in ``table``.
    synthetic : bool
        Add the column :data:`SYNTHETIC_COLUMN` = :data:`SYNTHETIC_VALUE` first.

    Examples
    --------
    >>> t = pd.DataFrame({"Group": ["A", "B"], "HR (95% CI)": ["1.35 (0.85 to 2.14)", "1.00"],
    ...                   "p": ["<0.001", "0.2"]})
    >>> tidy_table(t).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'Group': ['A', 'B'], 'HR': [1.35, 1.0], 'HR ci_low': [0.85, nan], 'HR ci_high': [2.14, nan],
     'p': [0.001, 0.2], 'p note': ['<', '']}
    """
    flat = flatten_table(table)
    columns: dict[str, list] = {}
    n = len(flat)
    for header in flat.columns:
        raw = flat[header]
        if len(flat.columns[flat.columns == header]) > 1:
            raise ValueError(f"a table to export has the column {header!r} twice; name the columns uniquely")
        floats = pd.api.types.is_float_dtype(raw)
        cells = [parse_cell(v) for v in raw]
        numeric = [c for c in cells if any(k != "note" for k in c)]
        text_only = [c for c in cells if c and set(c) == {"note"}]
        words = [c for c in text_only if c["note"] not in _MISSING_WORDS]
        if not numeric or len(words) > len(numeric):
            columns[header] = ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in raw]
            continue
        base, paren = _split_header(header)
        keys = [k for k in ("value", "ci_low", "ci_high", "q1", "q3", "second") if any(k in c for c in cells)]
        if "second" in keys and paren and _SECOND.search(paren):
            name_value, name_second = base, paren
        else:
            name_value = base if {"ci_low", "ci_high"} & set(keys) and "CI" in paren else header
            name_second = f"{header} (in parentheses)"

        names = {"value": name_value, "ci_low": f"{name_value} ci_low", "ci_high": f"{name_value} ci_high",
                 "q1": f"{name_value} q1", "q3": f"{name_value} q3", "second": name_second}
        if "value" not in keys:
            names.update(ci_low=f"{header} low", ci_high=f"{header} high")
        for key in keys:
            values = [c.get(key, np.nan) for c in cells]
            if floats and key == "value":
                values = [_round(v, digits) for v in values]
            present = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
            whole = present and all(float(v).is_integer() for v in present)
            if whole and (pd.api.types.is_integer_dtype(raw) or (
                    raw.dtype == object and not any("." in str(v) for v in raw if isinstance(v, str)))):
                values = pd.array([None if isinstance(v, float) and math.isnan(v) else int(v) for v in values],
                                  dtype="Int64")  # counts stay whole numbers (an empty cell where none)
            columns[names[key]] = values
        if any("note" in c for c in cells):
            columns[f"{name_value} note"] = [c.get("note", "") for c in cells]
    out = pd.DataFrame(columns, index=range(n))
    if synthetic:
        out.insert(0, SYNTHETIC_COLUMN, SYNTHETIC_VALUE)
    return out


def write_tidy_csv(table, path, *, synthetic: bool, digits: int = TIDY_SIGNIFICANT_DIGITS) -> Path:
    """Write :func:`tidy_table` of ``table`` to ``path`` (UTF-8, no index column); return the path."""
    path = Path(path)
    tidy_table(table, digits=digits, synthetic=synthetic).to_csv(path, index=False, lineterminator="\n")
    return path


def write_formatted_csv(table, path) -> Path:
    """Write the display table as the book shows it (text cells; row labels as columns, no index column)."""
    path = Path(path)
    flatten_table(table).to_csv(path, index=False, lineterminator="\n")
    return path


def _cell_text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{TIDY_SIGNIFICANT_DIGITS}g}"
    return str(v)


def _plain(text: str) -> str:
    """Caption Markdown to plain text: no ** or `."""
    return re.sub(r"[*`]", "", text or "").strip()


def write_docx(table, path, *, number: str, title: str, notes: list[str] | None = None,
               synthetic: bool) -> Path:
    """Write the display table as a Word document: "Table NN.k. Title" above, footnotes below.

    Parameters
    ----------
    table : pandas.DataFrame or Styler
    number : str
        "Table 02.3".
    title : str
        The caption as the book shows it (Markdown emphasis removed), naming the analysis set and n.
    notes : list of str, optional
        Footnotes and abbreviations, one paragraph each.
    synthetic : bool
        Prefix the title with :data:`SYNTHETIC_PREFIX`.
    """
    import docx
    from docx.shared import Pt

    flat = flatten_table(table)
    document = docx.Document()
    heading = document.add_paragraph()
    run = heading.add_run(f"{SYNTHETIC_PREFIX if synthetic else ''}{number}. ")
    run.bold = True
    heading.add_run(_plain(title))
    grid = document.add_table(rows=1, cols=len(flat.columns))
    grid.style = "Table Grid"
    for cell, header in zip(grid.rows[0].cells, flat.columns):
        cell.text = str(header)
        for r in cell.paragraphs[0].runs:
            r.bold = True
    for row in flat.itertuples(index=False):
        cells = grid.add_row().cells
        for cell, v in zip(cells, row):
            cell.text = _cell_text(v)
    for paragraph in [p for row in grid.rows for c in row.cells for p in c.paragraphs]:
        for r in paragraph.runs:
            r.font.size = Pt(8)
    for note in notes or []:
        p = document.add_paragraph(_plain(note))
        for r in p.runs:
            r.font.size = Pt(8)
    document.core_properties.title = f"{SYNTHETIC_PREFIX if synthetic else ''}{number}"
    document.save(str(path))
    return Path(path)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "≥": r"$\geq$", "≤": r"$\leq$", "²": r"\textsuperscript{2}",
                  "×": r"$\times$", "−": "-", "–": "--", "—": "---"}


def _tex(text) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in _cell_text(text))


def format_latex(table, *, number: str, title: str, notes: list[str] | None = None, synthetic: bool) -> str:
    """The display table as a LaTeX ``table`` float with booktabs rules (needs ``booktabs``; no other package).

    Examples
    --------
    >>> print(format_latex(pd.DataFrame({"a": ["1 (0 to 2)"]}), number="Table 01.1", title="T.",
    ...                    synthetic=True))  # doctest: +NORMALIZE_WHITESPACE
    % Table 01.1 (requires \\usepackage{booktabs})
    \\begin{table}[htbp]
    \\centering
    {\\bfseries SYNTHETIC DATA - Table 01.1.} T.\\par\\smallskip
    \\begin{tabular}{l}
    \\toprule
    a \\\\
    \\midrule
    1 (0 to 2) \\\\
    \\bottomrule
    \\end{tabular}
    \\end{table}
    """
    flat = flatten_table(table)
    align = "".join("l" if i == 0 else "r" for i in range(len(flat.columns)))
    lines = [f"% {number} (requires \\usepackage{{booktabs}})", r"\begin{table}[htbp]", r"\centering",
             rf"{{\bfseries {SYNTHETIC_PREFIX if synthetic else ''}{number}.}} {_tex(_plain(title))}\par\smallskip",
             rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_tex(c) for c in flat.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex(v) for v in row) + r" \\" for row in flat.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if notes:
        lines += [r"\par\smallskip", r"{\footnotesize"] + [_tex(_plain(n)) + r"\par" for n in notes] + ["}"]
    lines.append(r"\end{table}")
    return "\n".join(lines)


def write_latex(table, path, *, number: str, title: str, notes: list[str] | None = None,
                synthetic: bool) -> Path:
    """Write :func:`format_latex` to ``path``; return the path."""
    path = Path(path)
    path.write_text(format_latex(table, number=number, title=title, notes=notes, synthetic=synthetic) + "\n",
                    encoding="utf-8")
    return path
