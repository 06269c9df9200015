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

__all__ = ["KEY_PACKAGES", "parameter_table", "data_dictionary_page", "provenance_page", "summary_page", "md_cell",
           "registry_trace", "results_appendix_page", "RUN_ONLY_PARAMETERS"]

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


#: Parameters every notebook receives that are paths and switches of the run, not SAP parameters.
RUN_ONLY_PARAMETERS = ("data_dir", "build_dir", "synthetic")

_RESULT_MIME = "application/vnd.sonimage.result+json"  # as pipeline.report.RESULT_MIME (no IPython import here)
_GLUE_PREFIX = "application/papermill.record/"


def _chapter_title(nb: dict, stem: str) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return stem


def registry_trace(notebooks, stems: list, registry: dict) -> list[dict]:
    """Where each entry of the results registry was computed, read from the executed notebooks.

    Parameters
    ----------
    notebooks : path
        The folder of the executed notebooks (``BUILD/notebooks``).
    stems : list of str
        The notebooks of the run, in book order.
    registry : dict
        The run's ``results.json`` (name -> value).

    Returns
    -------
    list of dict
        One per registry entry, in book order then recording order: ``name``, ``value`` (as in
        ``results.json``), ``text`` (as the prose prints it: the ``name_text`` glue, or None), ``description``,
        ``kind`` (None in notebooks executed before ``record`` carried it), ``notebook`` (stem, None for an
        entry the run itself records, ``sap_n_deviations``), ``title`` (the chapter's heading), ``cell``
        (the cell id in ``BUILD/notebooks/<stem>.ipynb``, e.g. ``cell-006``), ``cell_index`` (0-based) and
        ``parameters`` (the SAP parameters of the chapter's parameters cell as executed: the honest
        granularity is the chapter, a result may depend on fewer of them).
    """
    notebooks = Path(notebooks)
    out, seen = [], set()
    for stem in stems:
        path = notebooks / f"{stem}.ipynb"
        if not path.is_file():
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        params = {k: v for k, v in nb.get("metadata", {}).get("papermill", {}).get("parameters", {}).items()
                  if k not in RUN_ONLY_PARAMETERS}
        title = _chapter_title(nb, stem)
        texts, found = {}, []
        for index, cell in enumerate(nb.get("cells", [])):
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                glued = output.get("metadata", {}).get("scrapbook", {}).get("name")
                if glued and glued.endswith("_text") and f"{_GLUE_PREFIX}text/plain" in data:
                    texts[glued[: -len("_text")]] = _plain(data[f"{_GLUE_PREFIX}text/plain"])
                item = data.get(_RESULT_MIME)
                if item is not None and item["name"] in registry and item["name"] not in seen:
                    seen.add(item["name"])
                    found.append({"name": item["name"], "value": registry[item["name"]],
                                  "description": item.get("description", ""), "kind": item.get("kind"),
                                  "notebook": stem, "title": title, "cell": cell.get("id", f"cell-{index:03d}"),
                                  "cell_index": index, "parameters": params})
        for entry in found:
            entry["text"] = texts.get(entry["name"])
        out += found
    for name in sorted(set(registry) - seen):  # recorded by the run itself (sap_n_deviations)
        out.append({"name": name, "value": registry[name], "text": None, "kind": None, "notebook": None,
                    "title": "The build (deviations from the SAP)", "cell": None, "cell_index": None,
                    "description": "recorded by `sonimage run` from the comparison with the frozen SAP",
                    "parameters": None})
    return out


def _plain(text) -> str:
    import ast

    text = "".join(text) if isinstance(text, list) else str(text)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def results_appendix_page(trace: list[dict]) -> str:
    """The results appendix: every registry entry with its value, description, chapter, cell and parameters.

    One section per chapter: the notebook, the parameters of its parameters cell (listed once per chapter:
    every entry of the chapter is computed under all of them, though an entry may depend on fewer), then a
    table, one row per entry. The first cell of a row is the registry name, which the book's Sphinx extension
    (:mod:`sonimage_utils.pipeline.sphinx_trace`) turns into the row's anchor ``reg-<name>``.
    """
    lines = [f"The registry of this build holds {len(trace)} entries."]
    groups: dict = {}
    for entry in trace:
        groups.setdefault((entry["notebook"], entry["title"]), []).append(entry)
    for (stem, title), entries in groups.items():
        target = [f"(results-chapter-{stem[:2]})=", ""] if stem else []  # the link target of the chapter's text
        lines += ["", *target, f"## {md_cell(title)}", ""]
        if stem is None:
            lines.append("Recorded by the run, not by a notebook: the count of deviations listed on {doc}`deviations`.")
        else:
            params = entries[0]["parameters"] or {}
            listed = "; ".join(f"`{k}` = {md_cell(_value(v))}" for k, v in sorted(params.items())) or "none"
            lines.append(f"Computed in `notebooks/{stem}.ipynb` of the build (the executed notebook; cell ids as "
                         f"there). Parameters of its parameters cell, as executed: {listed}.")
        lines += ["", "| registry name | value in results.json | as printed | description | cell |",
                  "|---|---|---|---|---|"]
        for e in entries:
            printed = md_cell(e["text"]) if e["text"] is not None else ""
            cell = f"`{e['cell']}`" if e["cell"] else "the run"
            lines.append(f"| `{e['name']}` | {md_cell(_value(e['value']))} | {printed} | {md_cell(e['description'])} "
                         f"| {cell} |")
    return "\n".join(lines) + "\n"
