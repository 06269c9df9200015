"""Validate a data folder against the data dictionary and return typed tables.

Every problem is collected (never the first only) as a :class:`Problem` that prints as
``FILE:ROW: COLUMN: message (patient_id=...)``; ROW is the line number in the CSV file (the header is
line 1), 0 for a problem with the whole file. Column rules come from the generated pandera schema
(:func:`sonimage_utils.data.dictionary.build_schema`); cross-table rules from :mod:`sonimage_utils.data.checks`
with the parameters of ``data_dictionary/rules.yml``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sonimage_utils.data.dictionary import COHORTS, SIDE_FILES, ColumnSpec, TableSpec, build_schema, load_dictionary
from sonimage_utils.data.problems import Problem, line_of

__all__ = ["Problem", "ValidationReport", "read_table", "validate_cohort", "validate_folder", "line_of"]


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


def _decode(data: bytes, rel: str) -> tuple[str | None, list]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = f"file is not UTF-8 (byte {data[exc.start]:#04x} at byte offset {exc.start}); export the table as UTF-8 CSV"
        return None, [Problem(rel, line, "-", msg)]


def _read_rows(text: str, rel: str) -> tuple[pd.DataFrame | None, list]:
    """Parse CSV text once into a frame of strings (index = 0-based data row), as ``read_csv`` would with
    ``dtype=str`` and no NA parsing, but reporting rows with the wrong number of fields (pandas pads short
    rows silently) and repeated header names (renamed ``name.1``, ... and reported)."""
    try:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, [])
        rows, problems = [], []
        for row in reader:
            if not row:
                continue  # a blank line, skipped as pandas does
            if len(row) != len(header):
                pid = row[0] if header and header[0] == "patient_id" and row[0] else "-"
                problems.append(Problem(rel, reader.line_num, "-",
                                        f"row has {len(row)} fields, the header has {len(header)}", pid))
            else:
                rows.append(row)
    except csv.Error as exc:
        return None, [Problem(rel, 0, "-", f"cannot be read as CSV: {exc}")]
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
    return pd.DataFrame(rows, columns=names, dtype=object), problems


def _parse(col: ColumnSpec, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse strings of one column to its type; return (typed values, mask of unparsable cells)."""
    empty = values == ""
    if col.type == "string":
        return values.where(~empty, None).astype(object), pd.Series(False, index=values.index)
    if col.type in ("int", "float"):
        num = pd.to_numeric(values.where(~empty, None), errors="coerce").astype(float)
        bad = ~empty & ~np.isfinite(num)
        if col.type == "int":
            bad |= ~empty & values.str.fullmatch(r"[+-]?\d+").eq(False)
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
        The typed table (index = 0-based data row) or None when the file cannot be read at all.
    """
    data = path.read_bytes()
    if not data.strip():
        return None, [Problem(rel, 0, "-", "file is empty (no header row)")]
    text, problems = _decode(data, rel)
    if text is None:
        return None, problems
    raw, found = _read_rows(text, rel)
    problems += found
    if raw is None:
        return None, problems
    if raw.empty and spec.table == "patients":
        problems.append(Problem(rel, 0, "-", "file has a header but no data rows"))

    specs = spec.columns(cohort)
    known = {c.name for c in specs}
    for extra in sorted(set(raw.columns) - known):
        problems.append(Problem(rel, 1, extra, "unknown column, kept and ignored", level="warning"))
    typed = pd.DataFrame(index=raw.index)
    unparsable = {}
    for col in specs:
        if col.name not in raw.columns:
            if not col.optional_column:
                problems.append(Problem(rel, 1, col.name, "required column is missing from the header"))
            continue
        typed[col.name], bad = _parse(col, raw[col.name])
        unparsable[col.name] = set(raw.index[bad])
        for idx in raw.index[bad]:
            problems.append(Problem(rel, line_of(idx), col.name,
                                    f"{raw.at[idx, col.name]!r} is not {_TYPE_WORDS[col.type]}", _pid(raw, idx)))
    for extra in sorted(set(raw.columns) - known):
        typed[extra] = raw[extra]

    schema = build_schema(spec, cohort, present=set(raw.columns))
    schema = schema.remove_columns([c for c in schema.columns if c not in typed.columns])
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems.extend(_schema_problems(exc.failure_cases, raw, rel, unparsable))
    return typed, problems


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
    tables, problems = {}, []
    for name, spec in load_dictionary().items():
        rel = f"{cohort}/{spec.file}"
        path = folder / spec.file
        tables[name] = None
        if not spec.applies_to(cohort):
            if path.exists():
                problems.append(Problem(rel, 0, "-", f"{spec.file} is not used for {cohort}; ignored", level="warning"))
            continue
        if not path.exists():
            if cohort in spec.required_in:
                problems.append(Problem(rel, 0, "-", "required file is missing"))
            continue
        tables[name], found = read_table(path, spec, cohort, rel)
        problems.extend(found)
    known_files = {s.file for s in load_dictionary().values()} | set(SIDE_FILES)
    for other in sorted(p.name for p in folder.glob("*.csv") if p.name not in known_files):
        problems.append(Problem(f"{cohort}/{other}", 0, "-", "unknown file, ignored", level="warning"))
    problems.extend(check_rules(tables, cohort))
    return tables, problems


def validate_folder(data_dir) -> ValidationReport:
    """Validate a whole data folder (see ``README.md``, section Interfaces, for its layout).

    ``sonimage/`` is required; an absent external cohort folder is skipped; a present one is validated whole.

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
    for cohort in COHORTS:
        if not (data_dir / cohort).is_dir():
            if cohort == "sonimage":
                report.problems.append(Problem("sonimage/", 0, "-", "development cohort folder is missing"))
            continue
        report.tables[cohort], found = validate_cohort(data_dir, cohort)
        report.problems.extend(found)
    for other in sorted(p.name for p in data_dir.iterdir() if p.is_dir() and p.name not in COHORTS):
        report.problems.append(Problem(f"{other}/", 0, "-", "unknown cohort folder, ignored", level="warning"))
    report.problems.sort(key=lambda p: (p.level != "error", p.file, p.row, p.column, p.message))
    return report
