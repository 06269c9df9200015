"""Validate a data folder against the data dictionary and return typed tables.

Every problem is collected (never the first only) as a :class:`Problem` that prints as
``FILE:ROW: COLUMN: message (patient_id=...)``; ROW is the physical line number in the CSV file where the
row starts (the header is line 1; a quoted field holding a newline or a blank line does not shift the rows after
it), 0 for a problem with the whole file. The index of every table read here is that line minus 2 (so
:func:`~sonimage_utils.data.problems.line_of` gives the line back); it equals the 0-based data row when no
record spans lines and no line is blank. Only regular files are opened (a folder, a named pipe or a device in
place of a CSV is a problem, never a read), and each file is read once. Column rules come from the generated pandera schema
(:func:`sonimage_utils.data.dictionary.build_schema`); cross-table rules from :mod:`sonimage_utils.data.checks`
with the parameters of ``data_dictionary/rules.yml``.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sonimage_utils.data.dictionary import COHORTS, SIDE_FILES, ColumnSpec, TableSpec, build_schema, load_dictionary
from sonimage_utils.data.problems import Problem, line_of

__all__ = ["Problem", "ValidationReport", "read_table", "validate_cohort", "validate_folder", "line_of",
           "cohort_path_problem"]


@dataclass
class ValidationReport:
    """Problems of a whole data folder and the typed tables of each cohort that could be read."""

    problems: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)  # cohort -> {table name -> DataFrame or None}

    @property
    def errors(self) -> list:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def _pid(raw: pd.DataFrame, idx) -> str:
    if raw is not None and "patient_id" in raw.columns:
        value = raw.at[idx, "patient_id"]
        return value if value else "-"
    return "-"


def _reason(exc: OSError) -> str:
    """An OS error in words, without the path (the problem line names the file)."""
    return (exc.strerror or type(exc).__name__).lower()


def _is_dir(path: Path) -> bool:
    """Whether ``path`` is a folder (False, not an exception, when it cannot even be looked at)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def cohort_path_problem(data_dir, cohort: str) -> Problem | None:
    """A problem when ``DATA/cohort`` exists as something other than a readable folder, else None.

    A file, a dangling symbolic link or a symbolic-link loop in place of a cohort folder is an error (never
    skipped as if the cohort were absent); an absent path is not a problem here.
    """
    path = Path(data_dir) / cohort
    rel = f"{cohort}/"
    if not os.path.lexists(path):
        return None
    try:
        info = os.stat(path)
    except OSError as exc:
        if path.is_symlink():
            what = "a symbolic-link loop" if exc.errno == errno.ELOOP else "a symbolic link to nothing"
            return Problem(rel, 0, "-", f"is {what} ({os.readlink(path)}); a cohort must be a folder")
        return Problem(rel, 0, "-", f"cannot be read: {_reason(exc)}")
    if not stat.S_ISDIR(info.st_mode):
        return Problem(rel, 0, "-", "is a file; a cohort must be a folder")
    try:
        os.listdir(path)
    except OSError as exc:
        return Problem(rel, 0, "-", f"folder cannot be read: {_reason(exc)}")
    return None


def _decode(data: bytes, rel: str) -> tuple[str | None, list]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = f"file is not UTF-8 (byte {data[exc.start]:#04x} at byte offset {exc.start}); export the table as UTF-8 CSV"
        return None, [Problem(rel, line, "-", msg)]


def _unclosed_quote_line(text: str, start: int) -> int:
    """Physical line of the quote left open in the record that starts on line ``start``."""
    lines = text.splitlines(keepends=True)
    in_quote, at_field_start, opened = False, True, start
    for number, line in enumerate(lines[start - 1:], start):
        for i, ch in enumerate(line):
            if in_quote:
                if ch == '"':
                    if line[i + 1:i + 2] == '"':
                        continue  # first of a doubled quote; the second closes nothing either
                    in_quote = False
            elif ch == '"' and at_field_start:
                in_quote, opened = True, number
            at_field_start = not in_quote and ch in ",\r\n"
    return opened


def _read_rows(text: str, rel: str) -> tuple[pd.DataFrame | None, list]:
    """Parse CSV text once into a frame of strings, as ``read_csv`` would with ``dtype=str`` and no NA parsing,
    but reporting rows with the wrong number of fields (pandas pads short rows silently), a quote left open
    (at the line where it opens) and repeated header names (renamed ``name.1``, ... and reported).

    The index of the frame is the physical line where each row starts, minus 2 (see the module docstring).

    Text without quotes, carriage returns or NUL bytes, whose every non-blank line has the header's number of fields and
    whose header names are distinct, is read by pandas' C parser (one record per physical line, so the same
    frame and index); anything else goes through :mod:`csv`, row by row, to report what is wrong."""
    fast = _read_plain_rows(text)
    if fast is not None:
        return fast, []
    reader = csv.reader(io.StringIO(text), strict=True)
    rows, index, problems = [], [], []
    start = 1
    try:
        header = next(reader, [])
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not row:
                continue  # a blank line, skipped as pandas does
            if len(row) != len(header):
                pid = row[0] if header and header[0] == "patient_id" and row[0] else "-"
                problems.append(Problem(rel, start, "-", f"row has {len(row)} fields, the header has {len(header)}",
                                        pid))
            else:
                rows.append(row)
                index.append(start - 2)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            line = _unclosed_quote_line(text, start)
            return None, [Problem(rel, line, "-", "a quote opened on this line is never closed")]
        return None, [Problem(rel, start, "-", f"cannot be read as CSV: {exc}")]
    if problems:
        return None, problems
    names, seen = [], {}
    for name in (h.strip() for h in header):
        if name in seen:
            seen[name] += 1
            problems.append(Problem(rel, 1, name, "column appears more than once in the header"))
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return pd.DataFrame(rows, columns=names, index=pd.Index(index, dtype="int64"), dtype=object), problems


def _read_plain_rows(text: str) -> pd.DataFrame | None:
    """The frame of :func:`_read_rows` for plain CSV text (see there), or None when the text is not plain."""
    if '"' in text or "\r" in text or "\x00" in text:
        return None
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if not len(ends) or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))                             # a last line without its newline
    starts = np.concatenate(([0], ends[:-1] + 1))
    # commas on each physical line (an empty line starts at its own newline, which adds 0)
    per_line = np.add.reduceat((data == ord(",")).view(np.uint8), np.minimum(starts, len(data) - 1), dtype=np.int64)
    header = text[: ends[0]].split(",")
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        return None
    record = (ends - starts > 0)
    record[0] = False                                                 # the header
    if np.any(per_line[record] != len(header) - 1):
        return None
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                        skip_blank_lines=True, engine="c")
    frame.columns = names
    frame.index = pd.Index(np.flatnonzero(record) - 1, dtype="int64")  # physical line (1-based) - 2
    return frame


#: A decimal number as written in a CSV (what ``float()`` reads, without ``nan``, ``inf`` or ``_``).
_NUMBER = r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*"
#: Whole numbers beyond this size lose digits as floats (2**53) and are refused.
_LARGEST_INT = 2 ** 53


def _parse(col: ColumnSpec, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse strings of one column to its type; return (typed values, mask of unparsable cells)."""
    empty = values == ""
    if col.type == "string":
        return values.where(~empty, None).astype(object), pd.Series(False, index=values.index)
    if col.type in ("int", "float"):
        pattern = r"[+-]?\d+" if col.type == "int" else _NUMBER
        bad = ~empty & values.str.fullmatch(pattern).eq(False)
        num = pd.to_numeric(values.where(~(empty | bad), None), errors="coerce").astype(float)
        bad |= ~empty & ~np.isfinite(num)
        if col.type == "int":
            bad |= ~empty & (num.abs() >= _LARGEST_INT)
            num = num.where(~bad)
            return num.round().astype("Int64").where(~(empty | bad), pd.NA), bad
        return num.where(~bad), bad
    if col.type == "bool":
        low = values.str.strip().str.lower()
        parsed = low.map({"true": True, "false": False}).astype("boolean")
        return parsed, ~empty & parsed.isna()
    if col.type == "date":
        parsed = pd.to_datetime(values.where(~empty, None), format="%Y-%m-%d", errors="coerce")
        return parsed, ~empty & parsed.isna()
    raise ValueError(f"unknown column type {col.type!r}")  # pragma: no cover - dictionary checks types


def _not_parsed(col: ColumnSpec, value: str) -> str:
    """Why ``value`` is not a value of ``col``."""
    if "\x00" in value:
        return f"{value!r} contains a NUL byte (\\x00); the export is damaged"
    if col.type == "int" and re.fullmatch(r"[+-]?\d+", value):
        return f"{value!r} is out of range for a whole number"
    return f"{value!r} is not {_TYPE_WORDS[col.type]}"


_TYPE_WORDS = {"int": "a whole number", "float": "a number", "bool": "`true` or `false`", "date": "a date YYYY-MM-DD"}


def read_table(path: Path, spec: TableSpec, cohort: str, rel: str) -> tuple[pd.DataFrame | None, list]:
    """Read one CSV file, parse its columns and run the generated column checks.

    Parameters
    ----------
    path : Path
        The CSV file.
    spec : TableSpec
    cohort : str
    rel : str
        The file's name relative to the data folder, used in messages.

    Returns
    -------
    (DataFrame or None, list of Problem)
        The typed table (index = line of the row - 2, see the module docstring) or None when the file cannot
        be read at all, or is required and has a header but no rows.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        return None, [Problem(rel, 0, "-", f"cannot be read: {_reason(exc)}")]
    if stat.S_ISDIR(info.st_mode):
        return None, [Problem(rel, 0, "-", f"is a folder; {spec.file} must be a CSV file")]
    if not stat.S_ISREG(info.st_mode):
        return None, [Problem(rel, 0, "-", "is not a regular file (a named pipe, socket or device); "
                                           "only regular CSV files are read")]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(rel, 0, "-", f"cannot be read: {_reason(exc)}")]
    if not data.strip():
        return None, [Problem(rel, 0, "-", "file is empty (no header row)")]
    text, problems = _decode(data, rel)
    if text is None:
        return None, problems
    raw, found = _read_rows(text, rel)
    problems += found
    if raw is None:
        return None, problems
    no_rows = raw.empty and cohort in spec.required_in
    if no_rows:
        # an error once; the cross-table rules then skip the table instead of failing every other row
        problems.append(Problem(rel, 0, "-", f"file has a header but no data rows ({spec.file} is required "
                                             f"in {cohort})"))

    specs = spec.columns(cohort)
    known = {c.name for c in specs}
    for extra in sorted(set(raw.columns) - known):
        problems.append(Problem(rel, 1, extra, "unknown column, kept and ignored", level="warning"))
    typed = pd.DataFrame(index=raw.index)
    unparsable = {}
    has_nul = "\x00" in text
    for col in specs:
        if col.name not in raw.columns:
            if not col.optional_column:
                problems.append(Problem(rel, 1, col.name, "required column is missing from the header"))
            continue
        typed[col.name], bad = _parse(col, raw[col.name])
        nul = raw[col.name].str.contains("\x00", regex=False) if has_nul else None
        if nul is not None and nul.any():
            bad = bad | nul
            typed.loc[nul, col.name] = None
        unparsable[col.name] = set(raw.index[bad])
        for idx in raw.index[bad]:
            problems.append(Problem(rel, line_of(idx), col.name, _not_parsed(col, raw.at[idx, col.name]),
                                    _pid(raw, idx)))
    for extra in sorted(set(raw.columns) - known):
        typed[extra] = raw[extra]

    schema = build_schema(spec, cohort, present=set(raw.columns))
    schema = schema.remove_columns([c for c in schema.columns if c not in typed.columns])
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems.extend(_schema_problems(exc.failure_cases, raw, rel, unparsable))
    return (None if no_rows else typed), problems


def _schema_problems(cases: pd.DataFrame, raw: pd.DataFrame, rel: str, unparsable: dict) -> list:
    problems = []
    for case in cases.itertuples(index=False):
        column, idx = case.column, case.index
        if idx is None or (isinstance(idx, float) and np.isnan(idx)):
            problems.append(Problem(rel, 0, str(column or "-"), f"{case.check}"))
            continue
        if idx in unparsable.get(column, ()):
            continue
        if case.check == "not_nullable":
            message = "value is missing (required)"
        elif case.check == "field_uniqueness":
            message = f"duplicate value {raw.at[idx, column]!r}"
        else:
            message = f"{raw.at[idx, column]!r} {case.check}"
        problems.append(Problem(rel, line_of(idx), column, message, _pid(raw, idx)))
    return problems


def validate_cohort(data_dir: Path, cohort: str) -> tuple[dict, list]:
    """Validate one cohort folder whole: every table, then the cross-table rules.

    Returns
    -------
    (dict, list of Problem)
        Table name -> typed DataFrame (None when absent or unreadable), and the problems.
    """
    from sonimage_utils.data.checks import check_rules

    folder = Path(data_dir) / cohort
    tables = {name: None for name in load_dictionary()}
    bad_folder = cohort_path_problem(data_dir, cohort)
    if bad_folder is not None or not _is_dir(folder):
        return tables, [bad_folder or Problem(f"{cohort}/", 0, "-", "cohort folder is missing")]
    names = set(os.listdir(folder))
    problems = []
    for name, spec in load_dictionary().items():
        rel = f"{cohort}/{spec.file}"
        path = folder / spec.file
        if not spec.applies_to(cohort):
            if spec.file in names:
                problems.append(Problem(rel, 0, "-", f"{spec.file} is not used for {cohort}; ignored", level="warning"))
            continue
        if spec.file not in names:
            if cohort in spec.required_in:
                problems.append(Problem(rel, 0, "-", "required file is missing"))
            continue
        if path.is_symlink() and not os.path.exists(path):
            problems.append(Problem(rel, 0, "-", f"is a symbolic link to nothing or a loop ({os.readlink(path)})"))
            continue
        tables[name], found = read_table(path, spec, cohort, rel)
        problems.extend(found)
    known_files = {s.file for s in load_dictionary().values()} | set(SIDE_FILES)
    for other in sorted(n for n in names if n.endswith(".csv") and n not in known_files):
        problems.append(Problem(f"{cohort}/{other}", 0, "-", "unknown file, ignored", level="warning"))
    problems.extend(check_rules(tables, cohort))
    return tables, problems


def validate_folder(data_dir) -> ValidationReport:
    """Validate a whole data folder (see ``README.md``, section Interfaces, for its layout).

    ``sonimage/`` is required; an absent external cohort folder is skipped; a present one is validated whole;
    a cohort path that is a file, a dangling symbolic link, a link loop or an unreadable folder is an error.

    Parameters
    ----------
    data_dir : str or Path

    Returns
    -------
    ValidationReport
    """
    data_dir = Path(data_dir)
    report = ValidationReport()
    if not data_dir.is_dir():
        report.problems.append(Problem(str(data_dir), 0, "-", "data folder does not exist"))
        return report
    try:
        entries = os.listdir(data_dir)
    except OSError as exc:
        report.problems.append(Problem(str(data_dir), 0, "-", f"data folder cannot be read: {_reason(exc)}"))
        return report
    for cohort in COHORTS:
        bad_path = cohort_path_problem(data_dir, cohort)
        if bad_path is not None:
            report.problems.append(bad_path)
            continue
        if not _is_dir(data_dir / cohort):
            if cohort == "sonimage":
                report.problems.append(Problem("sonimage/", 0, "-", "development cohort folder is missing"))
            continue
        report.tables[cohort], found = validate_cohort(data_dir, cohort)
        report.problems.extend(found)
    for other in sorted(n for n in entries if n not in COHORTS and _is_dir(data_dir / n)):
        report.problems.append(Problem(f"{other}/", 0, "-", "unknown cohort folder, ignored", level="warning"))
    report.problems.sort(key=lambda p: (p.level != "error", p.file, p.row, p.column, p.message))
    return report
