"""The SAP parameter file ``analysis.yml``: read it, check each value against its declared type and range, apply
``--param`` overrides, show it.

Each parameter has a ``check``: its ``type`` (:data:`CHECK_TYPES`) and its range (``min``/``max``, ``choices``
or ``pattern``; ``nullable: true`` when null is allowed). Values are checked when they are read, before any notebook
runs, so a bad ``--param`` value fails at once, naming the parameter, instead of minutes later in a notebook.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

__all__ = ["CHECK_TYPES", "project_root", "load_parameters", "parse_overrides", "parameter_values",
           "check_value", "check_parameters", "describe_check"]

#: Types a parameter may declare in its ``check``.
CHECK_TYPES = ("int", "number", "bool", "str", "list[int]", "list[number]", "list[str]", "window", "map[number]")
_CHECK_KEYS = {"type", "min", "max", "choices", "pattern", "nullable", "keys"}


def project_root() -> Path:
    """The project folder (where ``analysis.yml``, ``_toc.yml`` and ``notebooks/`` live)."""
    return Path(__file__).resolve().parents[2]


def load_parameters(path=None) -> dict:
    """Read ``analysis.yml``: name -> {"value": ..., "rationale": ...}.

    Raises
    ------
    ValueError
        If an entry lacks a value or a rationale.
    """
    path = Path(path) if path else project_root() / "analysis.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    params = doc.get("parameters") or {}
    for name, entry in params.items():
        if not isinstance(entry, dict) or "value" not in entry or not entry.get("rationale"):
            raise ValueError(f"{path.name}: parameter {name!r} needs a `value` and a one-line `rationale`")
        _check_spec(path.name, name, entry.get("check"))
        problem = check_value(name, entry["check"], entry["value"])
        if problem:
            raise ValueError(f"{path.name}: {problem}")
    return params


def _check_spec(file: str, name: str, check) -> None:
    """Raise ValueError unless ``check`` is a well-formed type-and-range declaration."""
    def fail(what):
        return ValueError(f"{file}: parameter {name!r}: `check` {what}")
    if not isinstance(check, dict):
        raise fail("is missing; declare the type and range, e.g. {type: number, min: 0, max: 1}")
    unknown = set(check) - _CHECK_KEYS
    if unknown:
        raise fail(f"has unknown key(s) {sorted(unknown)}")
    if check.get("type") not in CHECK_TYPES:
        raise fail(f"type must be one of {', '.join(CHECK_TYPES)}, got {check.get('type')!r}")
    numeric = check["type"] in ("int", "number", "list[int]", "list[number]", "window", "map[number]")
    if not numeric and ("min" in check or "max" in check):
        raise fail(f"min/max apply to numbers, not to {check['type']}")
    if "choices" in check and check["type"] not in ("str", "list[str]"):
        raise fail(f"choices apply to str and list[str], not to {check['type']}")
    if (check["type"] == "map[number]") != ("keys" in check):
        raise fail("keys (the mapping's names) go with map[number], and map[number] needs them")
    if "pattern" in check and check["type"] != "str":
        raise fail("pattern applies to str only")
    if numeric and not ("min" in check and "max" in check):
        raise fail("needs both `min` and `max` for a number")
    if check["type"] in ("str", "list[str]") and not ("choices" in check or "pattern" in check):
        raise fail("needs `choices` or `pattern` for a string")


def _between(check) -> str:
    return f"between {check['min']:g} and {check['max']:g}"


def describe_check(check: dict) -> str:
    """A parameter's type and range in words (the SAP page and the error messages).

    Examples
    --------
    >>> describe_check({"type": "number", "min": 0.5, "max": 10})
    'a number between 0.5 and 10'
    >>> describe_check({"type": "list[str]", "choices": ["liver", "bone"]})
    'a list of items from: liver, bone'
    >>> describe_check({"type": "int", "nullable": True, "min": 1, "max": 100})
    'a whole number between 1 and 100, or null'
    >>> describe_check({"type": "map[number]", "keys": ["c", "slope"], "min": 0, "max": 5})
    'a mapping of c, slope to numbers between 0 and 5'
    """
    kind = check["type"]
    if kind == "int":
        text = f"a whole number {_between(check)}"
    elif kind == "number":
        text = f"a number {_between(check)}"
    elif kind == "bool":
        text = "true or false"
    elif kind == "window":
        text = f"a window [low, high], low <= high, {_between(check)}"
    elif kind in ("list[int]", "list[number]"):
        text = f"a list of {'whole ' if kind == 'list[int]' else ''}numbers {_between(check)}"
    elif kind == "map[number]":
        text = f"a mapping of {', '.join(check['keys'])} to numbers {_between(check)}"
    elif "choices" in check:
        text = ("one of: " if kind == "str" else "a list of items from: ") + ", ".join(map(str, check["choices"]))
    else:
        text = f"{'a string' if kind == 'str' else 'a list of strings'} matching {check['pattern']}"
    return text + (", or null" if check.get("nullable") else "")


def _ok_number(v, whole: bool, check: dict) -> bool:
    if isinstance(v, bool) or not isinstance(v, int if whole else (int, float)):
        return False
    return math.isfinite(v) and check["min"] <= v <= check["max"]


def _ok_str(v, check: dict) -> bool:
    if not isinstance(v, str):
        return False
    if "choices" in check:
        return v in check["choices"]
    return re.fullmatch(check["pattern"], v) is not None


def check_value(name: str, check: dict, value) -> str | None:
    """Why ``value`` is not a value of parameter ``name`` (one line naming it), or None when it is.

    Examples
    --------
    >>> check_value("fes_threshold", {"type": "number", "min": 0.5, "max": 10}, "abc")
    "fes_threshold must be a number between 0.5 and 10, got 'abc'"
    >>> check_value("fes_threshold", {"type": "number", "min": 0.5, "max": 10}, 1.8) is None
    True
    """
    kind = check["type"]
    if value is None:
        ok = bool(check.get("nullable"))
    elif kind in ("int", "number"):
        ok = _ok_number(value, kind == "int", check)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "str":
        ok = _ok_str(value, check)
    elif kind == "window":
        ok = (isinstance(value, list) and len(value) == 2 and all(_ok_number(v, False, check) for v in value)
              and value[0] <= value[1])
    elif kind == "map[number]":
        ok = (isinstance(value, dict) and sorted(value) == sorted(check["keys"])
              and all(_ok_number(v, False, check) for v in value.values()))
    else:
        item = kind[5:-1]
        ok = isinstance(value, list) and all(
            _ok_str(v, check) if item == "str" else _ok_number(v, item == "int", check) for v in value)
    return None if ok else f"{name} must be {describe_check(check)}, got {value!r}"


def check_parameters(values: dict, path=None) -> None:
    """Check every value of ``values`` against the ``check`` of its parameter in ``analysis.yml``.

    Raises
    ------
    ValueError
        At the first value outside its type or range, one line naming the parameter; for a name that is not a
        parameter.
    """
    params = load_parameters(path)
    for name, value in values.items():
        if name not in params:
            raise ValueError(f"{name}: unknown parameter")
        problem = check_value(name, params[name]["check"], value)
        if problem:
            raise ValueError(problem)


def parse_overrides(items, known) -> dict:
    """Parse ``KEY=VALUE`` strings (VALUE as YAML) into a dict.

    Parameters
    ----------
    items : iterable of str
    known : collection of str
        Parameter names that exist; others are an error.

    Raises
    ------
    ValueError
        For a malformed item or an unknown key.

    Examples
    --------
    >>> parse_overrides(["fes_threshold=1.8", "fes_excluded_organs=[liver, brain]"], {"fes_threshold", "fes_excluded_organs"})
    {'fes_threshold': 1.8, 'fes_excluded_organs': ['liver', 'brain']}
    """
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--param needs KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key not in known:
            raise ValueError(f"--param {key}: unknown parameter; known: {', '.join(sorted(known))}")
        try:
            out[key] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ValueError(f"--param {key}: cannot read {raw!r} as a value ({exc.problem})") from None
    return out


def _overrides_checked(overrides: dict, path=None) -> None:
    try:
        check_parameters(overrides, path)
    except ValueError as exc:
        raise ValueError(f"--param {exc}") from None


def parameter_values(overrides=None, path=None) -> dict:
    """Name -> value from ``analysis.yml`` with ``overrides`` applied, every value checked.

    Raises
    ------
    ValueError
        When a value of ``analysis.yml`` or an override is outside its parameter's type or range (one line
        naming the parameter; ``--param`` first for an override).
    """
    values = {k: v["value"] for k, v in load_parameters(path).items()}
    _overrides_checked(overrides or {}, path)
    values.update(overrides or {})
    return values
