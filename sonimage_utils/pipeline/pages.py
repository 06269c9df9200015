"""Generated parts of the book's prose pages: the SAP parameter table, the data dictionary, provenance.

Each returns Markdown that :mod:`sonimage_utils.pipeline.book` pastes in place of a marker
(``<!-- sonimage:NAME -->``) in the staged copy of ``book/``.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

from sonimage_utils.data.dictionary import COHORTS, SIDE_FILES, load_dictionary, load_rules
from sonimage_utils.pipeline.params import describe_check, load_parameters
from sonimage_utils.tables.summary import format_results_summary

__all__ = ["KEY_PACKAGES", "parameter_table", "data_dictionary_page", "provenance_page", "summary_page", "md_cell"]

#: Packages whose versions the provenance page lists.
KEY_PACKAGES = ("sonimage-utils", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "scikit-survival",
                "scikit-learn", "matplotlib", "seaborn", "pandera", "pydicom", "joblib", "papermill", "jupytext",
                "myst-nb", "jupyter-book", "sphinx")


def md_cell(value) -> str:
    """Text safe for a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _value(v) -> str:
    return "`" + json.dumps(v) + "`"


def parameter_table(overrides=None) -> str:
    """The SAP parameters as a Markdown table: name, value, type and range, rationale (overrides marked)."""
    overrides = overrides or {}
    lines = ["| parameter | value | type and range | rationale |", "|---|---|---|---|"]
    for name, entry in load_parameters().items():
        value = _value(overrides.get(name, entry["value"]))
        if name in overrides:
            value += f" *overridden* (plan: {_value(entry['value'])})"
        lines.append(f"| `{name}` | {md_cell(value)} | {md_cell(describe_check(entry['check']))} | "
                     f"{md_cell(entry['rationale'])} |")
    return "\n".join(lines)


def _rule_cell(spec, name) -> str:
    texts = {}
    for cohort in COHORTS:
        col = next(c for c in spec.columns(cohort) if c.name == name)
        texts.setdefault(col.rule_text(), []).append(cohort)
    if len(texts) == 1:
        return next(iter(texts))
    return "; ".join(f"{', '.join(cs)}: {t or 'no constraint'}" for t, cs in texts.items())


def data_dictionary_page() -> str:
    """Every table and column of the data dictionary, then the cross-table rules with their parameters."""
    parts = []
    for spec in load_dictionary().values():
        where = ", ".join(spec.required_in) if spec.required_in else "none"
        optional = [c for c in COHORTS if spec.applies_to(c) and c not in spec.required_in]
        parts.append(f"## `{spec.file}`\n\n{spec.description} Required in: {where}"
                     + (f"; optional in: {', '.join(optional)}." if optional else ".")
                     + f" Key: {', '.join(spec.primary_key)}.\n")
        parts.append("| column | type | unit | required | rule | description |\n|---|---|---|---|---|---|")
        for col in spec.columns("sonimage"):
            required = "optional column" if col.optional_column else ("yes" if col.required else "may be missing")
            parts.append(f"| `{col.name}` | {col.type} | {md_cell(col.unit or '')} | {required} | "
                         f"{md_cell(_rule_cell(spec, col.name))} | {md_cell(col.description)} |")
        parts.append("")
    parts.append("## Other files\n")
    parts += [f"- `{name}`: written by {text}. Not validated." for name, text in SIDE_FILES.items()]
    parts.append("")
    parts.append("## Cross-table rules\n")
    parts.append("Checked across tables after the column rules, in this order; every problem line names its rule "
                 "id. The parameters are those of `data_dictionary/rules.yml`, the only place they are written "
                 "(the RECIST engine checks its input with the same rules).\n")
    parts.append("| rule | what it checks | parameters |\n|---|---|---|")
    for rule in load_rules().values():
        params = "; ".join(f"`{name}` = {value}" for name, value in rule.param_items()) or "none"
        parts.append(f"| `{rule.id}` | {md_cell(rule.text)} | {md_cell(params)} |")
    return "\n".join(parts) + "\n"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def provenance_page(info: dict) -> str:
    """Provenance of a build.

    Parameters
    ----------
    info : dict
        ``version``, ``build_date``, ``git_commit``, ``git_dirty``, ``synthetic``, ``data_dir`` (Path),
        ``files`` (paths relative to the data folder), ``values`` (parameter values), ``overrides``,
        ``notebooks``.
    """
    lines = ["| item | value |", "|---|---|",
             f"| book version | `{info['version']}` |",
             f"| build date (UTC) | {info['build_date']} |",
             f"| git commit | `{info['git_commit']}` |",
             f"| working tree | {'dirty (uncommitted changes)' if info['git_dirty'] else 'clean'} |",
             f"| data | {'**synthetic** (built-in simulated cohort)' if info['synthetic'] else 'study data'} "
             f"(folder `{md_cell(Path(info['data_dir']).name)}`) |",
             f"| Python | {platform.python_version()} |",
             f"| notebooks executed | {', '.join(info['notebooks'])} |", ""]
    lines += ["## Input files\n", "| file | SHA-256 |", "|---|---|"]
    lines += [f"| `{f.as_posix()}` | `{_sha256(Path(info['data_dir']) / f)}` |" for f in info["files"]]
    lines += ["", "## Software\n", "| package | version |", "|---|---|"]
    for pkg in KEY_PACKAGES:
        try:
            version = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            version = "not installed"
        lines.append(f"| {pkg} | {version} |")
    lines += ["", "## Parameter values\n", "| parameter | value |", "|---|---|"]
    lines += [f"| `{k}` | {md_cell(_value(v))}{' *overridden*' if k in info['overrides'] else ''} |"
              for k, v in sorted(info["values"].items())]
    return "\n".join(lines) + "\n"


def summary_page(registry: dict, notebooks: list) -> str:
    """The results summary: per objective, the primary estimate, its label and the sentence the numbers choose.

    Parameters
    ----------
    registry : dict
        The run's ``results.json``.
    notebooks : list of str
        Stems of the notebooks the run executed (a chapter not run says so).
    """
    table = format_results_summary(registry, ran=[stem[:2] for stem in notebooks])
    lines = ["| objective | primary analysis | label | estimate (95% CI) | p |", "|---|---|---|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {md_cell(r.objective)} | {md_cell(r[1])} | **{r.label}** | {md_cell(r[3])} | {md_cell(r.p)} |")
    lines += ["", "## Conclusions, as the numbers read", ""]
    lines += [f"- **{md_cell(r.objective)}** ({r.label}). {r.conclusion}" for r in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
