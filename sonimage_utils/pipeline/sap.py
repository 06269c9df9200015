"""The frozen statistical analysis plan and the deviations of a build from it.

Trial practice signs the SAP before database lock. ``sonimage sap freeze`` writes a dated, hashed snapshot of
the plan into the repository, ``sap/frozen/sap-YYYY-MM-DD.json``; an amendment signed on a day that already
has a snapshot is ``sap-YYYY-MM-DD.2.json`` (``.3``, ...; ``sonimage sap freeze --amendment``). The text of
``analysis.yml`` and of the SAP pages (:data:`SAP_FILES`), the SHA-256 of each file and of the whole
(:func:`sap_hash`), the parameter values and the git commit it was frozen at. A snapshot is never overwritten.

Every run compares itself with the latest snapshot (:func:`latest_frozen_sap`) and lists its deviations
(:func:`compute_deviations`):

- ``parameter``: a parameter whose value differs from the frozen one (a ``--param`` override, or an edit of
  ``analysis.yml`` after the freeze), or that was added or removed since;
- ``plan``: a SAP page whose text changed since the freeze (an amendment);
- ``chapter``: a chapter left out of the run (``--only``);
- ``analysis``: whatever a notebook reported with :func:`sonimage_utils.pipeline.report.record_deviation` (a
  model that did not converge, quantile groups collapsed by ties, an analysis not estimable).

The run writes them to ``results/deviations.json`` and their number to the registry as ``sap_n_deviations``;
the book shows them on the page "Deviations from the SAP" (:func:`deviations_page`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from pathlib import Path

import nbformat
import yaml

from sonimage_utils.pipeline.params import project_root
from sonimage_utils.pipeline.report import DEVIATION_MIME

__all__ = ["SAP_FILES", "FROZEN_DIR", "FrozenSapExists", "sap_hash", "freeze_sap", "frozen_saps",
           "latest_frozen_sap", "gather_deviations", "compute_deviations", "deviation_count_result",
           "frozen_sap_statement", "deviations_page"]

#: The files that make the SAP, relative to the project root: the parameters and the plan's pages.
SAP_FILES = ("analysis.yml", "book/sap.md", "book/methods.md")
#: Where the frozen snapshots live, relative to the project root.
FROZEN_DIR = Path("sap") / "frozen"
_NAME = re.compile(r"^sap-(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.json$")


def _order(path: Path) -> tuple:
    """Sort key of a snapshot: its date, then its amendment number on that date (the first is 1)."""
    m = _NAME.match(path.name)
    return (m.group(1), int(m.group(2) or 1))


class FrozenSapExists(FileExistsError):
    """A snapshot for that date exists already; a frozen SAP is never overwritten."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sap_hash(file_hashes: dict) -> str:
    """The SHA-256 of the whole SAP: of the lines ``<path> <sha256>``, sorted by path, each ending in a newline.

    Examples
    --------
    >>> sap_hash({"b": "2", "a": "1"}) == hashlib.sha256(b"a 1\\nb 2\\n").hexdigest()
    True
    """
    return _sha256("".join(f"{p} {h}\n" for p, h in sorted(file_hashes.items())).encode("utf-8"))


def _git_commit(root: Path) -> tuple[str, bool]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *SAP_FILES],
                                    cwd=root, capture_output=True, text=True, check=True).stdout.strip())
        return commit, dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False


def _current(root: Path) -> dict:
    files = {}
    for rel in SAP_FILES:
        path = root / rel
        if not path.is_file():
            raise FileNotFoundError(f"the SAP file {rel} does not exist in {root}")
        files[rel] = path.read_text(encoding="utf-8")
    return files


def _parameters(text: str) -> dict:
    params = (yaml.safe_load(text) or {}).get("parameters") or {}
    return {name: entry["value"] for name, entry in params.items()}


def freeze_sap(date: str | None = None, root=None, amendment: bool = False) -> Path:
    """Write the snapshot ``sap/frozen/sap-DATE.json`` of the SAP as it is now in ``root``.

    Parameters
    ----------
    date : str, optional
        ``YYYY-MM-DD``, the date the SAP is signed; default today (UTC).
    root : path, optional
        The project folder; default the one this package lives in.
    amendment : bool, default False
        When ``date`` has a snapshot already, write the next amendment of that day, ``sap-DATE.N.json``
        (N = 2, 3, ...), instead of refusing. Earlier snapshots are never touched.

    Returns
    -------
    Path
        The snapshot written.

    Raises
    ------
    FrozenSapExists
        If a snapshot for ``date`` exists and ``amendment`` is false (it is never overwritten).
    ValueError
        If ``date`` is not a calendar date written ``YYYY-MM-DD``.
    """
    root = Path(root) if root else project_root()
    date = date or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    try:
        if dt.date.fromisoformat(date).isoformat() != date:
            raise ValueError
    except ValueError:
        raise ValueError(f"--date must be a date written YYYY-MM-DD, got {date!r}") from None
    target = root / FROZEN_DIR / f"sap-{date}.json"
    if target.exists() and not amendment:
        raise FrozenSapExists(f"{target.relative_to(root)} exists; a frozen SAP is never overwritten "
                              "(freeze an amendment with --amendment, or under a later --date)")
    number = 1
    while target.exists():
        number += 1
        target = root / FROZEN_DIR / f"sap-{date}.{number}.json"
    texts = _current(root)
    hashes = {rel: _sha256(text.encode("utf-8")) for rel, text in texts.items()}
    commit, dirty = _git_commit(root)
    snapshot = {"date": date, "amendment": number, "git_commit": commit, "git_dirty": dirty,
                "sap_sha256": sap_hash(hashes),
                "files": {rel: {"sha256": hashes[rel], "text": texts[rel]} for rel in SAP_FILES},
                "parameters": _parameters(texts["analysis.yml"])}
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8") as fh:  # "x": never overwrite, even if another freeze raced us
        fh.write(json.dumps(snapshot, indent=2, sort_keys=True) + "\n")
    return target


def frozen_saps(root=None) -> list[Path]:
    """The snapshots in ``sap/frozen/``, oldest first."""
    folder = (Path(root) if root else project_root()) / FROZEN_DIR
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.glob("sap-*.json") if _NAME.match(p.name)), key=_order)


def latest_frozen_sap(root=None) -> dict | None:
    """The latest snapshot (its JSON plus ``path``, relative to the root), or None when there is none.

    Raises
    ------
    ValueError
        If the snapshot's recorded hashes do not match its own text (a hand-edited snapshot).
    """
    root = Path(root) if root else project_root()
    paths = frozen_saps(root)
    if not paths:
        return None
    snap = json.loads(paths[-1].read_text(encoding="utf-8"))
    hashes = {rel: _sha256(f["text"].encode("utf-8")) for rel, f in snap["files"].items()}
    if any(hashes[rel] != f["sha256"] for rel, f in snap["files"].items()) or sap_hash(hashes) != snap["sap_sha256"]:
        raise ValueError(f"{paths[-1].relative_to(root)}: its hashes do not match its text; a frozen SAP is "
                         "never edited")
    snap["path"] = paths[-1].relative_to(root).as_posix()
    snap.setdefault("amendment", 1)
    snap["history"] = [_history_entry(p, root) for p in paths]
    return snap


def _history_entry(path: Path, root: Path) -> dict:
    snap = json.loads(path.read_text(encoding="utf-8"))
    return {"path": path.relative_to(root).as_posix(), "date": snap["date"], "amendment": snap.get("amendment", 1),
            "sap_sha256": snap["sap_sha256"], "git_commit": snap["git_commit"]}


def gather_deviations(path) -> list[dict]:
    """The deviations an executed notebook reported (:func:`~sonimage_utils.pipeline.report.record_deviation`)."""
    nb = nbformat.read(path, as_version=4)
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            item = output.get("data", {}).get(DEVIATION_MIME)
            if item is not None:
                found.append(dict(item))
    return found


def _show(value) -> str:
    return json.dumps(value)


def compute_deviations(frozen: dict | None, values: dict, overrides: dict, left_out: list, reported: dict,
                       root=None) -> list[dict]:
    """Every way this run differs from the frozen SAP.

    Parameters
    ----------
    frozen : dict or None
        :func:`latest_frozen_sap`; None when no SAP was frozen (then only the run's own deviations are
        listed: overrides, chapters left out, reported deviations).
    values : dict
        The parameter values of the run (``analysis.yml`` with overrides).
    overrides : dict
        The ``--param`` overrides.
    left_out : list of str
        Stems of the notebooks not run (``--only``).
    reported : dict
        Notebook stem -> deviations it reported (:func:`gather_deviations`).
    root : path, optional
        The project folder (for the SAP pages' current text).

    Returns
    -------
    list of dict
        ``kind``, ``source`` (a parameter, a file, a notebook) and ``text``, in the order parameter, plan,
        chapter, analysis.
    """
    root = Path(root) if root else project_root()
    out = []
    planned = frozen["parameters"] if frozen else {}
    for name in sorted(set(values) | set(planned)):
        how = " (`--param` override)" if name in overrides else ""
        if frozen is not None and name not in planned:
            out.append({"kind": "parameter", "source": name,
                        "text": f"`{name}` = `{_show(values[name])}` is not in the frozen SAP (added since){how}"})
        elif name not in values:
            out.append({"kind": "parameter", "source": name,
                        "text": f"`{name}` (frozen `{_show(planned[name])}`) was removed since the freeze"})
        elif frozen is not None and values[name] != planned[name]:
            out.append({"kind": "parameter", "source": name,
                        "text": f"`{name}` = `{_show(values[name])}`, frozen SAP `{_show(planned[name])}`{how}"})
        elif frozen is None and name in overrides:
            out.append({"kind": "parameter", "source": name,
                        "text": f"`{name}` = `{_show(values[name])}` (`--param` override)"})
    if frozen is not None:
        for rel, entry in frozen["files"].items():
            path = root / rel
            now = _sha256(path.read_bytes()) if path.is_file() else None
            if now is None:
                out.append({"kind": "plan", "source": rel, "text": f"`{rel}` was removed since the freeze"})
            elif rel != "analysis.yml" and now != entry["sha256"]:  # parameter edits are listed one by one
                out.append({"kind": "plan", "source": rel,
                            "text": f"`{rel}` changed since the freeze (an amendment of the plan's text)"})
    for stem in left_out:
        out.append({"kind": "chapter", "source": stem, "text": f"chapter {stem[:2]} (`{stem}`) was not run "
                    "(`--only`): its analyses are missing from this build"})
    for stem in sorted(reported):
        for item in reported[stem]:
            out.append({"kind": "analysis", "source": stem, "text": f"chapter {stem[:2]}: {item['text']}"})
    return out


def deviation_count_result(deviations: list) -> dict:
    """The registry entry ``sap_n_deviations`` (name, value, description) for ``results.json``."""
    return {"name": "sap_n_deviations", "value": len(deviations),
            "description": "number of deviations from the frozen SAP listed by the build (parameters, plan "
                           "amendments, chapters left out, analyses reported by the notebooks)"}


def frozen_sap_statement(frozen: dict | None) -> str:
    """One sentence: which frozen SAP the build was checked against, or that there is none."""
    if frozen is None:
        return ("**No frozen SAP.** This build was not checked against a signed analysis plan: no snapshot exists "
                "in `sap/frozen/` (make one with `sonimage sap freeze`). Only the build's own deviations (parameter "
                "overrides, chapters left out, analyses reported by the notebooks) are listed.")
    short = frozen["git_commit"][:12]
    number = frozen.get("amendment") or 1
    which = f"{frozen['date']}, amendment {number}" if number > 1 else frozen["date"]
    return (f"This build was checked against the **frozen SAP of {which}** (`{frozen['path']}`, SHA-256 "
            f"`{frozen['sap_sha256'][:16]}…`, frozen at commit `{short}`"
            f"{', with uncommitted SAP edits' if frozen.get('git_dirty') else ''}).")


_HEADINGS = {"parameter": "Parameters that differ from the frozen SAP",
             "plan": "Plan pages amended since the freeze",
             "chapter": "Chapters left out of this build",
             "analysis": "Analyses whose realised form differs from the plan"}


def deviations_page(frozen: dict | None, deviations: list) -> str:
    """The generated body of the page "Deviations from the SAP"."""
    n = len(deviations)
    lines = [frozen_sap_statement(frozen), ""]
    history = (frozen or {}).get("history") or []
    if len(history) > 1:
        lines += ["The plan was frozen, then amended, in these snapshots (each kept unchanged in the repository; "
                  "the last is the one this build was checked against):", "",
                  "| Snapshot | Date | Amendment | SAP SHA-256 (first 16 hex digits) | Commit |", "|---|---|---|---|---|"]
        lines += [f"| `{h['path']}` | {h['date']} | {h['amendment']} | `{h['sap_sha256'][:16]}` | "
                  f"`{h['git_commit'][:12]}` |" for h in history]
        lines.append("")
    if n == 0:
        lines.append("This build lists **no deviation** from the plan.")
        return "\n".join(lines) + "\n"
    lines.append(f"This build lists **{n} deviation{'s' if n != 1 else ''}** (`sap_n_deviations` in the results "
                 "registry).")
    for kind, heading in _HEADINGS.items():
        items = [d for d in deviations if d["kind"] == kind]
        if items:
            lines += ["", f"## {heading}", ""] + [f"- {d['text']}" for d in items]
    return "\n".join(lines) + "\n"
