"""The data dictionary: the YAML contract in ``data_dictionary/`` as specs and generated pandera schemas.

The column rules are written once, in YAML. This module reads them, resolves cohort-specific overrides
(``by_cohort``) and generates the pandera schema that ``sonimage validate`` runs. Cross-table rules are
listed in ``data_dictionary/rules.yml`` with their parameters (thresholds, windows, code lists), read here as
:class:`RuleSpec` objects and run by the kinds of :mod:`sonimage_utils.data.checks`.
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
    "RULE_KINDS",
    "RuleParam",
    "RuleSpec",
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
#: The contract's tables, in contract order (one YAML file each).
_TABLES = ("patients", "lesions", "scans", "recist")
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
    for name in _TABLES:
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


@dataclass(frozen=True)
class RuleParam:
    """What one parameter of a cross-table rule kind must be.

    ``type`` is one of ``int`` (a whole number), ``number``, ``str``, ``list`` (a non-empty list of strings),
    ``number_map`` and ``list_map`` (a mapping to numbers or to lists of strings); ``keys`` are the keys a map
    must have (None: any), ``choices`` the values a string or list item may take (None: any), ``min`` the
    smallest value a number may take.
    """

    type: str
    keys: tuple | None = None
    choices: tuple | None = None
    min: float | None = None


#: Cross-table rule kinds (implemented in :mod:`sonimage_utils.data.checks`) -> their parameters.
#: ``rules.yml`` must give every parameter of an entry's kind and no other.
RULE_KINDS = {
    "foreign_key": {"tables": RuleParam("list", choices=_TABLES[1:])},
    "unique_keys": {"tables": RuleParam("list", choices=_TABLES[1:])},
    "pfs_dates": {},
    "event_type": {"censored_event": RuleParam("int", min=0), "censored_type": RuleParam("str")},
    "scan_window": {"days_before": RuleParam("int", min=0), "days_after": RuleParam("int", min=0)},
    "glucose_fdg_only": {"glucose_tracer": RuleParam("str"), "no_glucose_tracers": RuleParam("list")},
    "baseline_window": {"days_after": RuleParam("int", min=0)},
    "recist_lesions": {"tracked_kinds": RuleParam("list"), "new_kind": RuleParam("str")},
    "recist_baseline": {"measurable_mm": RuleParam("number_map", keys=("lesion", "lymph_node"), min=0),
                        "non_target_baseline_status": RuleParam("str")},
    "target_limits": {"max_per_patient": RuleParam("int", min=1), "max_per_organ": RuleParam("int", min=1)},
    "recist_fields": {"status": RuleParam("list_map")},
    "has_lesions": {"cohorts": RuleParam("list", choices=COHORTS)},
    "case_duplicates": {"tables": RuleParam("list", choices=_TABLES)},
    "future_dates": {"columns": RuleParam("list_map")},
    "assessment_after_death": {"death_type": RuleParam("str")},
    "implausible_diameter": {"max_mm": RuleParam("number", min=0), "columns": RuleParam("list_map")},
    "has_recist": {"cohorts": RuleParam("list", choices=COHORTS)},
}


class _Words(str):
    """A list shown in a rule's text: ``a, b, c``."""


@dataclass(frozen=True)
class RuleSpec:
    """One cross-table rule of ``rules.yml``: its id, its kind, its parameters and its text."""

    id: str
    kind: str
    template: str
    params: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The rule in words, with its parameters filled in."""
        def show(v):
            if isinstance(v, tuple):
                return _Words(", ".join(map(str, v)))
            if isinstance(v, dict):
                return {k: show(x) for k, x in v.items()}
            return v
        return self.template.format(**{k: show(v) for k, v in self.params.items()})

    def param_items(self) -> list[tuple[str, str]]:
        """The parameters as (name, value in words) pairs; a map's entries are named ``name.key``."""
        def show(v):
            return ", ".join(map(str, v)) if isinstance(v, tuple) else f"{v:g}" if isinstance(v, float) else str(v)
        pairs = []
        for name, value in self.params.items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            pairs += [(f"{name}{'' if key is None else '.' + key}", show(v)) for key, v in items]
        return pairs

    def describe_params(self) -> str:
        """The parameters as ``name = value`` separated by ``; `` (empty for a rule without parameters)."""
        return "; ".join(f"{name} = {value}" for name, value in self.param_items())


def _rule_error(rule_id, text: str) -> ValueError:
    return ValueError(f"data_dictionary/rules.yml: rule {rule_id!r}: {text}")


def _param_value(rule_id: str, key: str, spec: RuleParam, value):
    """Check and convert one parameter value (lists become tuples, numbers floats)."""
    def fail(what):
        return _rule_error(rule_id, f"parameter {key!r} must be {what}, got {value!r}")

    def number(v, whole):
        ok = isinstance(v, int) if whole else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok or v != v:
            return None
        if spec.min is not None and v < spec.min:
            return None
        return int(v) if whole else float(v)

    def words(v):
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
            return None
        if spec.choices is not None and not set(v) <= set(spec.choices):
            return None
        return tuple(v)

    bound = f" >= {spec.min:g}" if spec.min is not None else ""
    if spec.type == "int":
        out = number(value, whole=True)
        if out is None:
            raise fail(f"a whole number{bound}")
        return out
    if spec.type == "number":
        out = number(value, whole=False)
        if out is None:
            raise fail(f"a number{bound}")
        return out
    if spec.type == "str":
        if not isinstance(value, str) or not value:
            raise fail("a non-empty string")
        return value
    if spec.type == "list":
        out = words(value)
        if out is None:
            among = f" among {', '.join(spec.choices)}" if spec.choices else ""
            raise fail(f"a non-empty list of strings{among}")
        return out
    if spec.type in ("number_map", "list_map"):
        what = "numbers" + bound if spec.type == "number_map" else "non-empty lists of strings"
        keys = f" with keys {', '.join(spec.keys)}" if spec.keys else ""
        if not isinstance(value, dict) or not value or (spec.keys and set(value) != set(spec.keys)):
            raise fail(f"a mapping{keys} to {what}")
        out = {}
        for k, v in value.items():
            x = number(v, whole=False) if spec.type == "number_map" else words(v)
            if x is None or not isinstance(k, str):
                raise fail(f"a mapping{keys} to {what}")
            out[k] = x
        return out
    raise ValueError(f"unknown rule parameter type {spec.type!r}")  # pragma: no cover - RULE_KINDS is fixed


def _rule_spec(raw) -> RuleSpec:
    if not isinstance(raw, dict):
        raise ValueError(f"data_dictionary/rules.yml: every rule must be a mapping, got {raw!r}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise ValueError(f"data_dictionary/rules.yml: a rule has no 'id' (got {raw!r})")
    unknown = set(raw) - {"id", "kind", "params", "text"}
    if unknown:
        raise _rule_error(rule_id, f"unknown key(s) {sorted(unknown)}")
    for key in ("kind", "params", "text"):
        if key not in raw:
            raise _rule_error(rule_id, f"key {key!r} is missing")
    kind = raw["kind"]
    if kind not in RULE_KINDS:
        raise _rule_error(rule_id, f"key 'kind': unknown kind {kind!r}; expected one of {', '.join(RULE_KINDS)}")
    if not isinstance(raw["text"], str) or not raw["text"].strip():
        raise _rule_error(rule_id, "key 'text' must be a non-empty string")
    given = raw["params"]
    if given is None or not isinstance(given, dict):
        raise _rule_error(rule_id, f"key 'params' must be a mapping (write {{}} for none), got {given!r}")
    wanted = RULE_KINDS[kind]
    for key in wanted:
        if key not in given:
            raise _rule_error(rule_id, f"parameter {key!r} is missing (kind {kind!r} needs "
                                       f"{', '.join(wanted)})")
    extra = [k for k in given if k not in wanted]
    if extra:
        raise _rule_error(rule_id, f"parameter {extra[0]!r} is not one of kind {kind!r} "
                                   f"(which takes {', '.join(wanted) or 'none'})")
    params = {key: _param_value(rule_id, key, spec, given[key]) for key, spec in wanted.items()}
    spec = RuleSpec(rule_id, kind, " ".join(raw["text"].split()), params)
    try:
        spec.text
    except (KeyError, IndexError, ValueError) as exc:
        raise _rule_error(rule_id, f"key 'text' names {exc} which is not a parameter of the rule") from None
    return spec


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> dict[str, RuleSpec]:
    """Read the cross-table rules of ``rules.yml``, checking each one's parameters against its kind.

    Parameters
    ----------
    path : str, optional
        Folder of the dictionary; default :func:`dictionary_dir`.

    Returns
    -------
    dict
        Rule id -> :class:`RuleSpec`, in the file's order (the order the rules run in).

    Raises
    ------
    ValueError
        Naming the rule id and the key, when a rule lacks ``kind``, ``params`` or ``text``, has an unknown
        kind, lacks a parameter its kind needs, gives one it does not take or one of the wrong type, or when
        an id appears twice.
    """
    folder = Path(path) if path else dictionary_dir()
    doc = yaml.safe_load((folder / "rules.yml").read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise ValueError("data_dictionary/rules.yml: must hold a list under the key 'rules'")
    rules = {}
    for raw in doc["rules"]:
        spec = _rule_spec(raw)
        if spec.id in rules:
            raise _rule_error(spec.id, "the id appears more than once")
        rules[spec.id] = spec
    return rules


def describe_rule(rule_id: str) -> str:
    """Text of a cross-table rule; raises ValueError for an id the dictionary does not list."""
    rules = load_rules()
    if rule_id not in rules:
        raise ValueError(f"rule {rule_id!r} is not listed in data_dictionary/rules.yml")
    return rules[rule_id].text


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

