"""The data dictionary: the YAML contract in ``data_dictionary/`` as specs and generated pandera schemas.

The column rules are written once, in YAML. This module reads them, resolves cohort-specific overrides
(``by_cohort``) and generates the pandera schema that ``sonimage validate`` runs. Cross-table rules are
listed in ``data_dictionary/rules.yml`` and implemented in :mod:`sonimage_utils.data.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandera.pandas as pa
import yaml

__all__ = [
    "COHORTS",
    "EXTERNAL_COHORTS",
    "SIDE_FILES",
    "TYPES",
    "ColumnSpec",
    "TableSpec",
    "dictionary_dir",
    "load_dictionary",
    "load_rules",
    "describe_rule",
    "build_schema",
]

#: Cohort folders of a data directory, development cohort first.
COHORTS = ("sonimage", "impact_mbc", "et_fes")
#: The validation cohorts; ``by_cohort: {external: ...}`` applies to these.
EXTERNAL_COHORTS = ("impact_mbc", "et_fes")
#: Files a cohort folder may hold beside the contract tables: name -> what writes them (not validated).
SIDE_FILES = {"extraction_report.csv": "`sonimage extract`: one row per PET series (vendor, units, decay "
                                       "correction, SUV factor, warnings); shown in chapter 00"}
#: Column types the dictionary may use.
TYPES = ("string", "int", "float", "bool", "date")

_PANDERA_DTYPE = {"string": object, "int": "Int64", "float": float, "bool": "boolean", "date": "datetime64[ns]"}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table, as resolved for one cohort."""

    name: str
    type: str
    description: str = ""
    unit: str | None = None
    required: bool = False
    allowed: tuple | None = None
    min: float | None = None
    max: float | None = None
    gt: float | None = None
    lt: float | None = None
    pattern: str | None = None
    unique: bool = False
    optional_column: bool = False

    def rule_text(self) -> str:
        """The column's rules in words, for messages and the appendix."""
        parts = []
        if self.allowed is not None:
            parts.append("one of " + ", ".join(f"`{a}`" for a in self.allowed))
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        if self.gt is not None:
            bounds.append(f"> {self.gt:g}")
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        if self.lt is not None:
            bounds.append(f"< {self.lt:g}")
        if bounds:
            parts.append(" and ".join(bounds))
        if self.pattern:
            parts.append(f"matches `{self.pattern}`")
        if self.unique:
            parts.append("unique")
        return "; ".join(parts)


@dataclass(frozen=True)
class TableSpec:
    """One input table: its file, where it is required, its key and its columns (unresolved)."""

    table: str
    file: str
    description: str
    required_in: tuple
    only_in: tuple | None
    primary_key: tuple
    raw_columns: tuple = field(repr=False)

    def columns(self, cohort: str) -> list[ColumnSpec]:
        """Column specs with the ``by_cohort`` overrides of ``cohort`` applied.

        Raises
        ------
        ValueError
            If ``cohort`` is not one of :data:`COHORTS`.
        """
        if cohort not in COHORTS:
            raise ValueError(f"unknown cohort {cohort!r}; expected one of {', '.join(COHORTS)}")
        group = "sonimage" if cohort == "sonimage" else "external"
        out = []
        for raw in self.raw_columns:
            base = {k: v for k, v in raw.items() if k != "by_cohort"}
            overrides = (raw.get("by_cohort") or {})
            merged = {**base, **overrides.get(group, {}), **overrides.get(cohort, {})}
            if "allowed" in merged and merged["allowed"] is not None:
                merged["allowed"] = tuple(merged["allowed"])
            out.append(ColumnSpec(**merged))
        return out

    def applies_to(self, cohort: str) -> bool:
        """Whether the table belongs in ``cohort`` at all."""
        return self.only_in is None or cohort in self.only_in


def dictionary_dir() -> Path:
    """The ``data_dictionary/`` folder of the project."""
    return Path(__file__).resolve().parents[2] / "data_dictionary"


def _check_column(table: str, raw: dict) -> None:
    if raw.get("type") not in TYPES:
        raise ValueError(f"data_dictionary/{table}.yml: column {raw.get('name')!r}: type must be one of {TYPES}")
    known = set(ColumnSpec.__dataclass_fields__) | {"by_cohort"}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"data_dictionary/{table}.yml: column {raw['name']!r}: unknown keys {sorted(unknown)}")


@lru_cache(maxsize=4)
def load_dictionary(path: str | None = None) -> dict[str, TableSpec]:
    """Read every table YAML of the data dictionary.

    Parameters
    ----------
    path : str, optional
        Folder of the dictionary; default :func:`dictionary_dir`.

    Returns
    -------
    dict
        Table name -> :class:`TableSpec`, in contract order (patients, lesions, scans, recist).

    Raises
    ------
    ValueError
        If a YAML file uses an unknown type or key.
    """
    folder = Path(path) if path else dictionary_dir()
    tables = {}
    for name in ("patients", "lesions", "scans", "recist"):
        doc = yaml.safe_load((folder / f"{name}.yml").read_text(encoding="utf-8"))
        for raw in doc["columns"]:
            _check_column(name, raw)
        tables[name] = TableSpec(
            table=doc["table"],
            file=doc["file"],
            description=doc["description"],
            required_in=tuple(doc.get("required_in", ())),
            only_in=tuple(doc["only_in"]) if doc.get("only_in") else None,
            primary_key=tuple(doc.get("primary_key", ("patient_id",))),
            raw_columns=tuple(doc["columns"]),
        )
    return tables


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> dict[str, str]:
    """Cross-table rule id -> text, from ``rules.yml``."""
    folder = Path(path) if path else dictionary_dir()
    doc = yaml.safe_load((folder / "rules.yml").read_text(encoding="utf-8"))
    return {r["id"]: r["text"] for r in doc["rules"]}


def describe_rule(rule_id: str) -> str:
    """Text of a cross-table rule; raises ValueError for an id the dictionary does not list."""
    rules = load_rules()
    if rule_id not in rules:
        raise ValueError(f"rule {rule_id!r} is not listed in data_dictionary/rules.yml")
    return rules[rule_id]


def _checks(col: ColumnSpec) -> list[pa.Check]:
    checks = []
    if col.allowed is not None:
        allowed = list(col.allowed)
        checks.append(pa.Check.isin(allowed, error="must be one of " + ", ".join(map(str, allowed))))
    if col.min is not None:
        checks.append(pa.Check.ge(col.min, error=f"must be >= {col.min:g}"))
    if col.max is not None:
        checks.append(pa.Check.le(col.max, error=f"must be <= {col.max:g}"))
    if col.gt is not None:
        checks.append(pa.Check.gt(col.gt, error=f"must be > {col.gt:g}"))
    if col.lt is not None:
        checks.append(pa.Check.lt(col.lt, error=f"must be < {col.lt:g}"))
    if col.pattern:
        checks.append(pa.Check.str_matches(col.pattern, error=f"must match {col.pattern}"))
    return checks


def build_schema(spec: TableSpec, cohort: str, present: set[str] | None = None) -> pa.DataFrameSchema:
    """Generate the pandera schema of ``spec`` for ``cohort``.

    Parameters
    ----------
    spec : TableSpec
    cohort : str
    present : set of str, optional
        Columns present in the file; optional columns that are absent are left out of the schema.

    Returns
    -------
    pandera.DataFrameSchema
        Typed columns (already parsed), nullability from ``required``, value checks, uniqueness;
        unknown columns are allowed (the caller warns about them).
    """
    columns = {}
    for col in spec.columns(cohort):
        if col.optional_column and present is not None and col.name not in present:
            continue
        columns[col.name] = pa.Column(
            _PANDERA_DTYPE[col.type],
            checks=_checks(col),
            nullable=not col.required,
            unique=col.unique,
            required=not col.optional_column,
            name=col.name,
        )
    return pa.DataFrameSchema(columns, strict=False, name=f"{cohort}/{spec.file}")

