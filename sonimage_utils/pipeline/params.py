"""The SAP parameter file ``analysis.yml``: read it, apply ``--param`` overrides, show it."""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["project_root", "load_parameters", "parse_overrides", "parameter_values"]


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
    return params


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


def parameter_values(overrides=None, path=None) -> dict:
    """Name -> value from ``analysis.yml`` with ``overrides`` applied."""
    values = {k: v["value"] for k, v in load_parameters(path).items()}
    values.update(overrides or {})
    return values
