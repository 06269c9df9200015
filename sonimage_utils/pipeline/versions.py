"""Versions of the book that are kept, compared and never overwritten.

A version is identified by its name *and* its inputs: the data (a SHA-256 of every input file), every
parameter value (``analysis.yml`` with the ``--param`` overrides applied), the scope (the notebooks run,
``--only``) and the code (git commit and whether the work tree was dirty). The default name is derived
from those inputs, ``<package version>+<commit>[.dirty].<8 hex of the inputs>``, so two builds with
different inputs get different names without anyone choosing; an explicit ``--version V`` whose inputs
differ from those recorded for ``V`` is refused (:class:`VersionConflict`), never replaced. A build with
the same name and the same inputs re-renders the version in place (its numbers are the same).

Each version is kept as ``BUILD/versions/<V>/``: the HTML book (``index.html`` at its top), its registry
``results/`` (``results.json``, ``run.json``, ``deviations.json``), its journal bundle ``publication/`` and its
PDF ``sonimage-sap-<V>.pdf`` when the build made them, and ``version.json`` (the inputs above and the
version it is compared with). ``BUILD/versions/versions.json`` lists the versions in the order they were
first built; ``switcher.json`` beside it feeds the theme's version switcher (over http, with ``BUILD``
as the served root) and ``index.html`` is a plain list that works from ``file://``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import json
import math
import shutil
from pathlib import Path

from sonimage_utils import __version__

__all__ = ["VersionConflict", "SWITCHER_JSON_URL", "SWITCHER_JS", "switcher_options", "version_inputs", "inputs_id", "default_version_name",
           "read_index", "check_version", "previous_version", "previous_kept", "load_version", "compare_versions",
           "changes_page", "versions_page", "format_changes_lines", "record_version", "KEPT_RESULTS"]

#: Where the switcher JSON is fetched from: root-relative, BUILD being the served root
#: (``python -m http.server --directory BUILD``).
SWITCHER_JSON_URL = "/versions/switcher.json"
#: The registry files kept with each version.
KEPT_RESULTS = ("results.json", "results.csv", "run.json", "deviations.json")


#: Staged as ``_static/sonimage-versions.js`` (after the theme's inline settings, before its deferred script):
#: a book opened from a file cannot fetch the switcher JSON, so there the switcher is left out (no failed
#: fetch in the console) and the page "Versions" lists the versions instead. ``DOCUMENTATION_OPTIONS`` is a
#: ``const``, not a property of ``window``.
SWITCHER_JS = """\
if (window.location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
  delete DOCUMENTATION_OPTIONS.theme_switcher_json_url;
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".version-switcher__container").forEach(function (e) { e.remove(); });
  });
}
"""


def switcher_options(version: str) -> dict:
    """``html_theme_options`` for pydata-sphinx-theme's version switcher, in the article header.

    The JSON is root-relative (:data:`SWITCHER_JSON_URL`) and not checked at build time (it is written when
    the version is kept, after rendering).
    """
    return {"switcher": {"json_url": SWITCHER_JSON_URL, "version_match": version}, "check_switcher": False,
            "article_header_end": ["version-switcher", "article-header-buttons.html"]}


class VersionConflict(ValueError):
    """A version of that name exists with different inputs; the message is one line."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def version_inputs(data_dir, values: dict, overrides: dict, notebooks, git: tuple, synthetic: bool) -> dict:
    """What a version is made from.

    Parameters
    ----------
    data_dir : path-like
        The build's copy of the data folder (``BUILD/.next/input``).
    values : dict
        Every parameter value used (overrides applied).
    overrides : dict
        The ``--param`` overrides.
    notebooks : list of str
        The notebooks run (``00_cohort``, ...).
    git : tuple
        ``(commit, dirty)`` of :func:`sonimage_utils.pipeline.book.git_state`.
    synthetic : bool

    Returns
    -------
    dict
        ``data_hash``, ``files`` (path -> SHA-256), ``parameters``, ``overrides``, ``scope``, ``git_commit``,
        ``git_dirty``, ``synthetic``.
    """
    from sonimage_utils.pipeline.execute import hash_files
    from sonimage_utils.pipeline.run import input_files

    root = Path(data_dir)
    files = input_files(root)
    return {"data_hash": hash_files(files, root=root), "files": {f.as_posix(): _sha256(root / f) for f in files},
            "parameters": {k: values[k] for k in sorted(values)}, "overrides": dict(sorted(overrides.items())),
            "scope": sorted(notebooks), "git_commit": git[0], "git_dirty": bool(git[1]), "synthetic": synthetic}


#: The parts of :func:`version_inputs` that identify a version.
_IDENTITY = ("data_hash", "parameters", "scope", "git_commit", "git_dirty")


def inputs_id(inputs: dict) -> str:
    """SHA-256 of the identifying inputs: data hash, parameter values, scope and code state."""
    return hashlib.sha256(json.dumps({k: inputs[k] for k in _IDENTITY}, sort_keys=True,
                                     default=str).encode()).hexdigest()


def default_version_name(inputs: dict) -> str:
    """``<package version>+<commit>[.dirty].<first 8 hex of inputs_id>``, e.g. ``0.1.0+f9d08d0.3fa9c1d2``.

    >>> inputs = {"data_hash": "d", "parameters": {"a": 1}, "scope": ["00_cohort"], "git_commit": "abc1234",
    ...           "git_dirty": False}
    >>> name = default_version_name(inputs)
    >>> name.split("+")[1].startswith("abc1234.") and name != default_version_name({**inputs, "scope": ["01_x"]})
    True
    """
    dirty = ".dirty" if inputs["git_dirty"] else ""
    return f"{__version__}+{inputs['git_commit']}{dirty}.{inputs_id(inputs)[:8]}"


def read_index(build) -> list:
    """The entries of ``BUILD/versions/versions.json`` (first built first); [] when there is none."""
    path = Path(build) / "versions" / "versions.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _describe_difference(old: dict, new: dict) -> str:
    """A short phrase naming which identifying inputs differ."""
    parts = []
    if old.get("data_hash") != new["data_hash"]:
        parts.append("data")
    params = sorted(k for k in set(old.get("parameters", {})) | set(new["parameters"])
                    if old.get("parameters", {}).get(k) != new["parameters"].get(k))
    if params:
        parts.append("parameters " + ", ".join(params[:5]) + (" ..." if len(params) > 5 else ""))
    if old.get("scope") != new["scope"]:
        parts.append("scope " + " ".join(s[:2] for s in old.get("scope", [])) + " -> "
                     + " ".join(s[:2] for s in new["scope"]))
    if (old.get("git_commit"), old.get("git_dirty")) != (new["git_commit"], new["git_dirty"]):
        parts.append("code")
    return "; ".join(parts) or "inputs"


def check_version(build, version: str, inputs: dict) -> bool:
    """Whether ``version`` exists in ``BUILD/versions`` with the same inputs (it is then re-rendered).

    Raises
    ------
    VersionConflict
        When it exists with different inputs, or was kept before versions recorded their inputs.
    """
    entry = next((e for e in read_index(build) if e["version"] == version), None)
    if entry is None:
        return False
    if entry.get("inputs_id") == inputs_id(inputs):
        return True
    if "inputs_id" not in entry:
        raise VersionConflict(f"version {version} exists in {Path(build) / 'versions'} without a record of its "
                              "inputs; it is not replaced: give another --version, or omit --version for a name "
                              "derived from the inputs")
    try:
        recorded = load_version(build, version)["inputs"]
    except KeyError:  # listed, but its folder is gone: still not replaced
        recorded = {}
    raise VersionConflict(f"version {version} exists in {Path(build) / 'versions'} with different inputs "
                          f"({_describe_difference(recorded, inputs)}); it is not replaced: give another "
                          "--version, or omit --version for a name derived from the inputs")


def previous_version(build, version: str) -> str | None:
    """The version ``version`` is compared with: the one listed before it, or the last one if it is new."""
    names = [e["version"] for e in read_index(build)]
    if version in names:
        i = names.index(version)
        return names[i - 1] if i > 0 else None
    return names[-1] if names else None


def previous_kept(build, version: str) -> dict | None:
    """:func:`load_version` of :func:`previous_version`, or None when there is none (or its folder is gone)."""
    previous = previous_version(build, version)
    try:
        return None if previous is None else load_version(build, previous)
    except KeyError:
        return None


def load_version(build, version: str) -> dict:
    """A kept version: ``{"version", "results", "inputs"}`` (inputs {} for a version kept without them).

    Raises
    ------
    KeyError
        When ``BUILD/versions`` has no version of that name (the message lists those it has).
    """
    build = Path(build)
    names = [e["version"] for e in read_index(build)]
    folder = build / "versions" / version
    if version not in names or not folder.is_dir():
        raise KeyError(f"no version {version} in {build / 'versions'} (versions: {', '.join(names) or 'none'})")
    meta = folder / "version.json"
    results = folder / "results" / "results.json"
    return {"version": version,
            "results": json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {},
            "inputs": json.loads(meta.read_text(encoding="utf-8"))["inputs"] if meta.is_file() else {}}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v))


def compare_versions(old: dict, new: dict) -> dict:
    """Every difference between two versions (dicts of :func:`load_version`).

    Returns
    -------
    dict
        ``changed`` [(name, old, new, new - old or None)], ``added`` [(name, new)], ``removed`` [(name, old)]
        for the registry; ``parameters`` [(name, old, new)] (a missing side is None); ``files``
        [(path, old SHA-256 or None, new SHA-256 or None)]; ``scope`` (old list, new list) or None; ``code``
        (old, new) commit strings or None. Values are compared exactly, as stored in ``results.json``.

    >>> a = {"results": {"x": 1.5, "y": None, "z": 2}, "inputs": {}}
    >>> b = {"results": {"x": 1.25, "y": 3.0, "w": 1}, "inputs": {}}
    >>> c = compare_versions(a, b)
    >>> c["changed"], c["added"], c["removed"]
    ([('x', 1.5, 1.25, -0.25), ('y', None, 3.0, None)], [('w', 1)], [('z', 2)])
    """
    r0, r1 = old["results"], new["results"]
    changed = [(k, r0[k], r1[k], r1[k] - r0[k] if _is_number(r0[k]) and _is_number(r1[k]) else None)
               for k in sorted(set(r0) & set(r1)) if r0[k] != r1[k] or type(r0[k]) is not type(r1[k])]
    i0, i1 = old.get("inputs") or {}, new.get("inputs") or {}
    p0, p1 = i0.get("parameters", {}), i1.get("parameters", {})
    f0, f1 = i0.get("files", {}), i1.get("files", {})
    code0 = f"{i0.get('git_commit')}{' (dirty)' if i0.get('git_dirty') else ''}" if i0 else None
    code1 = f"{i1.get('git_commit')}{' (dirty)' if i1.get('git_dirty') else ''}" if i1 else None
    return {
        "changed": changed,
        "added": [(k, r1[k]) for k in sorted(set(r1) - set(r0))],
        "removed": [(k, r0[k]) for k in sorted(set(r0) - set(r1))],
        "parameters": [(k, p0.get(k), p1.get(k)) for k in sorted(set(p0) | set(p1)) if p0.get(k) != p1.get(k)],
        "files": [(k, f0.get(k), f1.get(k)) for k in sorted(set(f0) | set(f1)) if f0.get(k) != f1.get(k)],
        "scope": (i0.get("scope"), i1.get("scope")) if i0.get("scope") != i1.get("scope") else None,
        "code": (code0, code1) if code0 != code1 else None,
    }


def _num(v) -> str:
    """A registry value as stored (``null`` for a value that does not exist)."""
    return "null" if v is None else json.dumps(v)


def _diff(d) -> str:
    return "" if d is None else f"{d:+.6g}"


def _hash(h) -> str:
    return "(absent)" if h is None else h[:12]


def format_changes_lines(changes: dict, old: str, new: str) -> list:
    """The differences as text lines, one changed registry name (or parameter, or file) per line.

    Each line starts with its kind (``changed``, ``added``, ``removed``, ``parameter``, ``data``,
    ``scope``, ``code``), then the name, then old -> new and, for numbers, the difference.
    """
    c = changes
    lines = [f"{old} -> {new}: {len(c['changed'])} registry value(s) changed, {len(c['added'])} added, "
             f"{len(c['removed'])} removed; {len(c['parameters'])} parameter(s) and {len(c['files'])} data file(s) "
             "changed"]
    lines += [f"changed\t{k}\t{_num(a)} -> {_num(b)}" + (f"\t{_diff(d)}" if d is not None else "")
              for k, a, b, d in c["changed"]]
    lines += [f"added\t{k}\t{_num(v)}" for k, v in c["added"]]
    lines += [f"removed\t{k}\t{_num(v)}" for k, v in c["removed"]]
    lines += [f"parameter\t{k}\t{_num(a)} -> {_num(b)}" for k, a, b in c["parameters"]]
    lines += [f"data\t{k}\t{_hash(a)} -> {_hash(b)}" for k, a, b in c["files"]]
    if c["scope"]:
        lines.append(f"scope\t{' '.join(c['scope'][0] or [])} -> {' '.join(c['scope'][1] or [])}")
    if c["code"]:
        lines.append(f"code\t{c['code'][0]} -> {c['code'][1]}")
    return lines


def _cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def changes_page(previous: dict | None, current: dict) -> str:
    """Markdown for the page "What changed": every difference from ``previous`` (None for a first version)."""
    name = current["version"]
    if previous is None:
        return (f"Version `{name}` is the first version kept in this build folder: there is nothing to compare "
                "it with.")
    c = compare_versions(previous, current)
    old = previous["version"]
    out = [f"Version `{name}` compared with the version kept before it, `{old}` (`sonimage diff {old} {name}` "
           "prints the same). Registry values are compared exactly as stored in `results.json`; a value that does "
           "not exist (a median not reached, a statistic not estimable) is `null`.", "",
           f"- registry values changed: {len(c['changed'])}; added: {len(c['added'])}; removed: {len(c['removed'])}",
           f"- parameters changed: {len(c['parameters'])}; data files changed: {len(c['files'])}",
           f"- scope (notebooks run): {'changed' if c['scope'] else 'unchanged'}; "
           f"code: {'changed' if c['code'] else 'unchanged'}", ""]
    if c["changed"]:
        out += ["## Registry values that changed", "", "| name | old | new | difference |", "|---|---|---|---|"]
        out += [f"| `{k}` | {_num(a)} | {_num(b)} | {_diff(d) or 'not a number'} |" for k, a, b, d in c["changed"]]
        out.append("")
    if c["added"] or c["removed"]:
        out += ["## Registry names added or removed", "", "| name | change | value |", "|---|---|---|"]
        out += [f"| `{k}` | added | {_num(v)} |" for k, v in c["added"]]
        out += [f"| `{k}` | removed | {_num(v)} (in `{old}`) |" for k, v in c["removed"]]
        out.append("")
    if c["parameters"]:
        out += ["## Parameters that changed", "", "| parameter | old | new |", "|---|---|---|"]
        out += [f"| `{k}` | `{_cell(_num(a))}` | `{_cell(_num(b))}` |" for k, a, b in c["parameters"]]
        out.append("")
    if c["files"]:
        out += ["## Data files that changed", "", "| file | old SHA-256 | new SHA-256 |", "|---|---|---|"]
        out += [f"| `{k}` | `{_hash(a)}` | `{_hash(b)}` |" for k, a, b in c["files"]]
        out.append("")
    if c["scope"]:
        out += ["## Scope", "", f"Notebooks run: {', '.join(c['scope'][0] or ['(not recorded)'])} in `{old}`; "
                f"{', '.join(c['scope'][1])} in `{name}`.", ""]
    if c["code"]:
        out += ["## Code", "", f"Git commit: `{c['code'][0]}` in `{old}`; `{c['code'][1]}` in `{name}`.", ""]
    if not any(c[k] for k in ("changed", "added", "removed", "parameters", "files", "scope", "code")):
        out.append(f"Nothing changed: every registry value, parameter, data file, the scope and the code are those "
                   f"of `{old}`.")
    return "\n".join(out)


def _entry_cells(e: dict) -> list:
    scope = " ".join(s[:2] for s in e.get("scope", [])) or "(not recorded)"
    overrides = ", ".join(f"{k}={json.dumps(v)}" for k, v in (e.get("overrides") or {}).items()) or "none"
    return [e["version"], e.get("built", ""), scope, overrides, (e.get("data_hash") or "")[:12] or "(not recorded)"]


_HEAD = ["version", "built (UTC)", "notebooks", "overrides", "data SHA-256"]


def _html_table(entries: list, href) -> str:
    rows = "".join("<tr>" + "".join(
        f"<td><a href=\"{html_lib.escape(href(e['version']))}\">{html_lib.escape(c)}</a></td>" if i == 0
        else f"<td>{html_lib.escape(c)}</td>" for i, c in enumerate(_entry_cells(e))) + "</tr>\n" for e in entries)
    head = "".join(f"<th>{h}</th>" for h in _HEAD)
    # in a scrolling container, like the book's other tables: on a narrow screen it scrolls, never cut off
    return (f"<div class=\"pst-scrollable-table-container\" style=\"overflow-x: auto\">\n<table class=\"table\">\n"
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n</div>")


def _index_entry(version: str, inputs: dict, built: str) -> dict:
    return {"version": version, "path": version, "git_commit": inputs["git_commit"], "git_dirty": inputs["git_dirty"],
            "synthetic": inputs["synthetic"], "built": built, "inputs_id": inputs_id(inputs),
            "data_hash": inputs["data_hash"], "scope": inputs["scope"], "overrides": inputs["overrides"]}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


#: In the book's "Versions" page, links lead from ``BUILD/html/book/`` to ``BUILD/versions/<V>/``; the kept
#: copy (``BUILD/versions/<V>/book/``) has them rewritten to ``../../<W>/``.
_LINK_FROM_BOOK = "../../versions/"


def versions_page(build, version: str, inputs: dict) -> str:
    """Markdown for the page "Versions": every version kept in ``BUILD/versions`` when this one was built,
    this one included, as plain links that work from ``file://``."""
    entries = [e for e in read_index(build) if e["version"] != version]
    entries.append(_index_entry(version, inputs, "(this build)"))
    table = _html_table(entries, lambda v: f"{_LINK_FROM_BOOK}{v}/index.html")
    md = ["| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    md += ["| " + " | ".join(f"`{_cell(c)}`" if i == 0 else _cell(c) for i, c in enumerate(_entry_cells(e))) + " |"
           for e in entries]
    return "\n".join([
        f"This is version `{version}`. The versions kept in this build folder when it was built, first built first "
        f"(each in `versions/<version>/` of the build folder, with its `results/results.json`, and its "
        f"`publication/` bundle and PDF when they were made). Served over http with the build folder as the root, "
        f"the version menu at the top of each page switches between them; the list below also works from a file. "
        f"A version built later is listed in `versions/index.html` of the build folder.", "",
        "````{only} html", "```{raw} html", table, "```", "````", "", "````{only} latex", *md, "````"])


def _write_index_files(build: Path, index: list) -> None:
    from sonimage_utils.pipeline.execute import write_atomic

    versions = build / "versions"
    write_atomic(versions / "versions.json", (json.dumps(index, indent=2) + "\n").encode())
    switcher = [{"name": e["version"], "version": e["version"], "url": f"/versions/{e['version']}/"}
                for e in reversed(index)]
    write_atomic(versions / "switcher.json", (json.dumps(switcher, indent=2) + "\n").encode())
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SONImage book versions</title>"
            "</head>\n<body>\n<h1>SONImage statistical analysis report: versions</h1>\n"
            "<p>First built first; each version's page \"What changed\" compares it with the one above it.</p>\n"
            f"{_html_table(index, lambda v: f'{v}/index.html')}\n</body></html>\n")
    write_atomic(versions / "index.html", page.encode("utf-8"))


def record_version(build, version: str, html, inputs: dict, pdf=None, publication=None, log=print) -> Path:
    """Keep the published book as ``BUILD/versions/<version>/`` with its registry, bundle and PDF.

    Parameters
    ----------
    build : path-like
    version : str
    html : path-like
        The published HTML (``BUILD/html``).
    inputs : dict
        :func:`version_inputs` of the build.
    pdf, publication : path-like, optional
        The PDF and the ``publication/`` folder of this build, kept when they exist.

    Raises
    ------
    VersionConflict
        When ``version`` exists with different inputs (nothing is changed).
    """
    build = Path(build)
    same = check_version(build, version, inputs)
    versions = build / "versions"
    versions.mkdir(exist_ok=True)
    index = read_index(build)
    previous = previous_version(build, version)
    tmp = versions / f".{version}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(html, tmp)
    page = tmp / "book" / "versions.html"
    if page.is_file():  # the links of the kept copy lead to its siblings
        page.write_text(page.read_text(encoding="utf-8").replace(_LINK_FROM_BOOK, "../../"), encoding="utf-8")
    (tmp / "results").mkdir()
    for name in KEPT_RESULTS:
        if (build / "results" / name).is_file():
            shutil.copy2(build / "results" / name, tmp / "results" / name)
    if publication is not None and Path(publication).is_dir():
        manifest = Path(publication) / "manifest.json"
        made_for = json.loads(manifest.read_text(encoding="utf-8")).get("version") if manifest.is_file() else None
        if (tmp / "publication").is_dir():  # the book carries the bundle it links (html/publication)
            pass
        elif made_for in (None, version):
            shutil.copytree(publication, tmp / "publication")
        else:  # a bundle left by an earlier build is not this version's
            log(f"publication/ was made for version {made_for}: not kept with {version}")
    if pdf is not None and Path(pdf).is_file() and not (tmp / Path(pdf).name).exists():
        shutil.copy2(pdf, tmp / Path(pdf).name)
    built = _now()
    (tmp / "version.json").write_text(json.dumps({"version": version, "built": built, "compared_with": previous,
                                                  "inputs": inputs}, indent=2, sort_keys=True) + "\n",
                                      encoding="utf-8")
    target = versions / version
    if same:
        log(f"version {version} rebuilt from the same inputs: its kept copy is refreshed")
        old = versions / f".{version}.old"
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if target.exists():  # a folder left without an index entry (an interrupted build): never listed, set aside
            target.rename(versions / f".{version}.orphan-{built.replace(':', '')}")
        tmp.rename(target)
    entry = _index_entry(version, inputs, built)
    index = [entry if e["version"] == version else e for e in index]
    if not same:
        index.append(entry)
    _write_index_files(build, index)
    return target
