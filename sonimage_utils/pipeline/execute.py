"""Execute the notebooks with papermill, skip unchanged ones, gather the results registry.

A notebook is re-executed only when its cache key changes: the hash of its source, the parameters it
receives, the input data, the package sources and the keys of the notebooks it depends on. Executed
notebooks are normalised (fixed cell ids, no timings) so that the same inputs give byte-identical files.

A notebook is trusted from the cache only when its entry in ``.cache.json`` holds both the key and the
SHA-256 of the executed file, and the file on disk still has that hash. Before a notebook executes, its
entry is removed on disk; the executed notebook is written to a temporary file and renamed into place, and
only then is its entry written (again by rename), so a build killed at any point never leaves an entry
that vouches for a missing, partial or foreign notebook. Pool workers die with the process that started
them (Linux: ``PR_SET_PDEATHSIG``; elsewhere a thread watching the parent), and their kernels follow
(ipykernel exits when its parent process goes).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
import multiprocessing as mp
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

from sonimage_utils import __version__
from sonimage_utils.pipeline.params import project_root
from sonimage_utils.pipeline.report import RESULT_MIME

__all__ = [
    "Notebook",
    "NotebookFailed",
    "discover_notebooks",
    "select_notebooks",
    "hash_files",
    "package_hash",
    "run_notebooks",
    "write_atomic",
    "file_sha256",
    "gather_results",
    "write_results",
]

CACHE_FILE = ".cache.json"


class NotebookFailed(RuntimeError):
    """A notebook raised during execution; ``notebook`` names it, ``detail`` holds the error."""

    def __init__(self, notebook: str, detail: str):
        self.notebook, self.detail = notebook, detail
        super().__init__(f"notebook {notebook} failed: {detail}")

    def __reduce__(self):
        # raised in a worker process with --jobs > 1: it must cross back whole, not as a pickling TypeError
        return (type(self), (self.notebook, self.detail))


@dataclass
class Notebook:
    """A notebook source ``notebooks/NN_name.py``: its number, parameters and dependencies.

    ``needs`` maps a dependency to the only files of the build (paths relative to it) that this notebook reads
    from it: the notebook may start as soon as that dependency has written them, before it ends (chapter 05
    needs only the model file that chapter 04 writes early, not its bootstrap). A dependency not in ``needs``
    must end first.
    """

    path: Path
    number: str
    name: str
    parameters: list = field(default_factory=list)
    depends_on: list = field(default_factory=list)
    needs: dict = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return self.path.stem


def _parameter_names(nb) -> list:
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(t, ast.Name)]
    raise ValueError("no cell tagged `parameters`")


def discover_notebooks(folder=None) -> list[Notebook]:
    """The notebooks ``NN_name.py`` in ``folder`` (default ``notebooks/``), in number order."""
    folder = Path(folder) if folder else project_root() / "notebooks"
    out = []
    for path in sorted(folder.glob("[0-9][0-9]_*.py")):
        nb = jupytext.read(path)
        try:
            names = _parameter_names(nb)
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from None
        meta = nb.metadata.get("sonimage", {})
        deps = [str(d) for d in meta.get("depends_on", [])]
        needs = {str(d): [str(f) for f in files] for d, files in meta.get("needs", {}).items()}
        if set(needs) - set(deps):
            raise ValueError(f"{path.name}: `needs` names {sorted(set(needs) - set(deps))}, which are not in "
                             "`depends_on`")
        out.append(Notebook(path, path.name[:2], path.stem[3:], names, deps, needs))
    return out


def select_notebooks(notebooks: list[Notebook], only=None) -> list[Notebook]:
    """``only`` (numbers such as "01") and everything they need, in number order.

    Raises
    ------
    ValueError
        For a number that matches no notebook.
    """
    if not only:
        return notebooks
    by_number = {nb.number: nb for nb in notebooks}
    wanted, todo = set(), [str(o).zfill(2) for o in only]
    while todo:
        number = todo.pop()
        if number not in by_number:
            raise ValueError(f"--only {number}: no notebook notebooks/{number}_*.py")
        if number not in wanted:
            wanted.add(number)
            todo.extend(by_number[number].depends_on)
    return [nb for nb in notebooks if nb.number in wanted]


def hash_files(paths, root=None) -> str:
    """SHA-256 over the names and bytes of ``paths`` (sorted), read relative to ``root`` when given."""
    h = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        h.update(path.as_posix().encode())
        h.update(hashlib.sha256((Path(root) / path if root else path).read_bytes()).digest())
    return h.hexdigest()


def package_hash(root=None) -> str:
    """Hash of the package version and every source file of ``sonimage_utils``, subpackages included.

    Parameters
    ----------
    root : path-like, optional
        The package folder; default the installed ``sonimage_utils`` (tests pass a copy).
    """
    root = Path(__file__).resolve().parents[1] if root is None else Path(root)
    files = [p.relative_to(root) for p in root.rglob("*.py") if "__pycache__" not in p.parts]
    return hashlib.sha256(f"{__version__}:{hash_files(files, root=root)}".encode()).hexdigest()


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")
_STYLER_ID = re.compile(r'<table id="T_([0-9a-f]{5})"')


def _stabilise(output, tag: str) -> None:
    """Remove what changes every run from an output: memory addresses in plain-text reprs
    (``<Styler at 0x7f...>``) and the random table ids of pandas Stylers (replaced by ``tag``)."""

    def restyle(html: str) -> str:
        for uuid in set(_STYLER_ID.findall(html)):
            html = html.replace(f"T_{uuid}", f"T_{tag}")
        return html

    data = output.get("data", {})
    for mime, fix in (("text/plain", lambda text: _ADDRESS.sub(">", text)), ("text/html", restyle)):
        if mime in data:
            data[mime] = fix(data[mime] if isinstance(data[mime], str) else "".join(data[mime]))


def _normalise(nb) -> None:
    """Make an executed notebook byte-reproducible: fixed ids, no timings, addresses or absolute paths."""
    for i, cell in enumerate(nb.cells):
        for k, output in enumerate(cell.get("outputs", [])):
            _stabilise(output, f"c{i:03d}o{k}")
        cell["id"] = f"cell-{i:03d}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            cell.metadata["tags"] = [*tags, "hide-input"]
    meta = nb.metadata.get("papermill", {})
    nb.metadata["papermill"] = {"parameters": meta.get("parameters", {}), "version": meta.get("version")}
    nb.metadata.pop("widgets", None)


def _prepare_source(nb_src: Notebook, work: Path) -> Path:
    nb = jupytext.read(nb_src.path)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    path = work / f"{nb_src.stem}.ipynb"
    nbformat.write(nb, path)
    return path


@contextmanager
def _stderr_to(path: Path):
    """Send this process's stderr (file descriptor 2, inherited by the kernel) to ``path`` for a while."""
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(fd)
        os.close(saved)


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temporary file beside it, flushed to disk, renamed.

    A crash or a full disk leaves either the previous file or the new one, never a truncated file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _execute(src: str, out: str, params: dict, cwd: str) -> float:
    """Execute ``src`` into ``out``: papermill writes a temporary file, normalised, then renamed to ``out``."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    log = Path(out).with_suffix(".kernel.log")  # the kernel's own log lines, kept out of the console
    partial = Path(out).with_name(f".{Path(out).stem}.running.ipynb")
    start = time.perf_counter()
    try:
        with _stderr_to(log):
            pm.execute_notebook(src, str(partial), parameters=params, cwd=cwd, progress_bar=False,
                                log_output=False, kernel_name="python3", request_save_on_cell_execute=False)
    except PapermillExecutionError as exc:
        if partial.exists():  # the failed notebook is kept where the user looks, with its error
            os.replace(partial, out)
        raise NotebookFailed(Path(src).stem, f"{exc.ename}: {exc.evalue}") from None
    nb = nbformat.read(partial, as_version=4)
    _normalise(nb)
    text = nbformat.writes(nb)  # as nbformat.write would, but whole or not at all
    write_atomic(out, (text if text.endswith("\n") else text + "\n").encode("utf-8"))
    partial.unlink()
    return time.perf_counter() - start


PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Pool worker initialiser: end this worker when the process that started it ends.

    On Linux the kernel sends SIGKILL at the parent's death (``prctl(PR_SET_PDEATHSIG)``); a watch thread
    polling the parent id covers other systems and the instant before the ``prctl`` call.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watch thread alone
            pass
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="sonimage-parent-watch", daemon=True).start()


def _run_inline(fn, *args) -> Future:
    """Run ``fn`` now and wrap the outcome in a Future, like a pool would."""
    fut = Future()
    try:
        fut.set_result(fn(*args))
    except Exception as exc:  # noqa: BLE001 - re-raised by fut.result()
        fut.set_exception(exc)
    return fut


def _read_cache(path: Path, log) -> dict:
    """The cache entries (stem -> {"key", "sha256"}); an unreadable cache counts as empty, with a note."""
    if not path.exists():
        return {}
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        cache = None
    if not isinstance(cache, dict):
        log(f"  {path.name} is unreadable (an interrupted build?); every notebook is re-executed")
        return {}
    return {stem: entry for stem, entry in cache.items()
            if isinstance(entry, dict) and set(entry) == {"key", "sha256"}}


def _write_cache(path: Path, cache: dict) -> None:
    write_atomic(path, (json.dumps(cache, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _trusted(entry, key: str, target: Path) -> bool:
    """A cache entry vouches for ``target`` when its key matches and the file is the one it recorded."""
    return (entry is not None and entry["key"] == key and target.is_file()
            and file_sha256(target) == entry["sha256"])


def gather_results(path) -> list[dict]:
    """The results a notebook recorded (``report.record``), in order: name, value, description, and the
    ``cell`` that recorded it (its id in the executed notebook, e.g. ``cell-006``)."""
    nb = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            item = output.get("data", {}).get(RESULT_MIME)
            if item is not None:
                found.append({**item, "cell": cell.get("id") or f"cell-{index:03d}"})
    return found


def run_notebooks(notebooks: list[Notebook], values: dict, data_dir: Path, build: Path, *, jobs: int = 1,
                  data_hash: str, synthetic: bool, log=print) -> dict:
    """Execute ``notebooks`` (dependencies first) into ``build/notebooks``.

    Parameters
    ----------
    notebooks : list of Notebook
        As from :func:`select_notebooks`; dependencies are assumed included.
    values : dict
        Parameter values (``analysis.yml`` with overrides); each notebook receives those it declares
        plus ``data_dir``, ``build_dir`` (relative to ``build``) and ``synthetic``.
    data_dir, build : Path
    jobs : int
        Notebooks whose dependencies are done run in parallel, up to ``jobs`` at a time.
    data_hash : str
        Hash of the input data (part of the cache key).
    synthetic : bool

    Returns
    -------
    dict
        Notebook stem -> list of recorded results.

    Raises
    ------
    NotebookFailed
        If a notebook raises; notebooks not yet started are not run.
    """
    out_dir = build / "notebooks"
    work = out_dir / ".src"
    work.mkdir(parents=True, exist_ok=True)
    cache_path = out_dir / CACHE_FILE
    cache = _read_cache(cache_path, log)
    data_dir = Path(data_dir).resolve()
    try:  # notebooks see the data as `input`, wherever it lives: same bytes everywhere
        data_param = data_dir.relative_to(Path(build).resolve()).as_posix()
    except ValueError:
        raise ValueError(f"data_dir {data_dir} must lie inside the build folder {build} "
                         "(run_analyses gives each build its own copy, BUILD/input)") from None
    base = {"data_dir": data_param, "build_dir": ".", "synthetic": synthetic}
    pkg = package_hash()
    selected = {nb.number for nb in notebooks}
    # critical path first: a notebook others wait for (04) starts before the independent ones, and one that
    # waited for others (05, the rest of that path) takes the next free worker before them; a notebook goes to
    # a worker only when one is free, so that this order holds when a worker frees
    waiting_on = {n: sum(n in nb.depends_on for nb in notebooks) for n in selected}
    keys, done, started, running, timings = {}, set(), set(), {}, {}
    pending = sorted(notebooks, key=lambda nb: (-waiting_on[nb.number], -len(nb.depends_on), nb.number))
    # files a running notebook writes for a dependent that may start before it ends (Notebook.needs)
    released = {}
    for nb in notebooks:
        for dep, files in nb.needs.items():
            released.setdefault(dep, set()).update(files)

    def may_start(nb) -> bool:
        for d in nb.depends_on:
            if d in done or d not in selected:
                continue
            # a dependency still running has released what this notebook needs once its files exist: they
            # were removed before it started (a previous build's copies never count), and are written whole
            if not (d in started and d in nb.needs and all((build / f).is_file() for f in nb.needs[d])):
                return False
        return True

    def start(nb, params, target) -> None:
        log(f"  {nb.stem}: executing")
        if cache.pop(nb.stem, None) is not None:  # on disk before the notebook starts to change
            _write_cache(cache_path, cache)
        target.unlink(missing_ok=True)
        for f in sorted(released.get(nb.number, ())):  # a dependent starts on this run's copies only
            (build / f).unlink(missing_ok=True)
        started.add(nb.number)
        args = (str(_prepare_source(nb, work)), str(target), params, str(build))
        running[pool.submit(_execute, *args) if pool else _run_inline(_execute, *args)] = nb

    # spawn, not fork: the caller may hold threads (zmq, pytest) that a forked child would inherit broken
    # workers die with this process (a killed build leaves no worker writing into the folder)
    pool_cm = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_die_with_parent,
                                  initargs=(os.getpid(),)) if jobs > 1 else nullcontext()
    with pool_cm as pool:
        while pending or running:
            cached_one = True
            while cached_one:  # a notebook found unchanged may make its dependents ready at once
                cached_one = False
                for nb in [nb for nb in pending if may_start(nb)]:
                    params = {k: v for k, v in {**values, **base}.items() if k in nb.parameters}
                    upstream = [keys[d] for d in sorted(nb.depends_on) if d in keys]
                    keys[nb.number] = hashlib.sha256(json.dumps(
                        [nb.path.read_text(encoding="utf-8"), params, data_hash, pkg, upstream], sort_keys=True,
                        default=str).encode()).hexdigest()
                    target = out_dir / f"{nb.stem}.ipynb"
                    if _trusted(cache.get(nb.stem), keys[nb.number], target):
                        log(f"  {nb.stem}: unchanged, not re-executed")
                        pending.remove(nb)
                        done.add(nb.number)
                        cached_one = True
                        continue
                    if pool is not None and len(running) >= jobs:
                        continue  # waits for a free worker, in its turn
                    pending.remove(nb)
                    start(nb, params, target)
            if not running:
                continue
            # a pending notebook that may start before a dependency ends: look for its files every 0.2 s
            early = any(nb.needs and not may_start(nb) for nb in pending)
            finished, _ = wait(running, timeout=0.2 if early else None, return_when=FIRST_COMPLETED)
            for fut in finished:
                nb = running.pop(fut)
                if fut.exception() is not None:
                    raise fut.exception()
                timings[nb.stem] = round(fut.result(), 2)
                target = out_dir / f"{nb.stem}.ipynb"
                nbformat.validate(nbformat.read(target, as_version=4))  # complete and readable, then vouched for
                cache[nb.stem] = {"key": keys[nb.number], "sha256": file_sha256(target)}
                done.add(nb.number)
                _write_cache(cache_path, cache)
    if timings:  # wall seconds per executed notebook, for benchmarks; not part of the reproducible outputs
        write_atomic(out_dir / "timings.json", (json.dumps(timings, indent=2, sort_keys=True) + "\n").encode())
    results = {}
    for nb in notebooks:
        results[nb.stem] = gather_results(out_dir / f"{nb.stem}.ipynb")
    return results


def write_results(results: dict, build: Path) -> Path:
    """Write ``results/results.json`` (name -> value, sorted), ``results/results.csv`` and
    ``results/registry.json`` (name -> value, description, notebook and cell id: where each entry was computed;
    notebook and cell are null for an entry the run records itself).

    Raises
    ------
    ValueError
        If two notebooks record the same name.
    """
    import csv
    import io

    folder = build / "results"
    folder.mkdir(parents=True, exist_ok=True)
    flat, rows, records = {}, [], {}
    for stem, items in results.items():
        for item in items:
            if item["name"] in flat:
                raise ValueError(f"result {item['name']!r} recorded twice (again in {stem})")
            flat[item["name"]] = item["value"]
            rows.append((item["name"], item["value"], stem, item["description"]))
            records[item["name"]] = {"value": item["value"], "description": item["description"],
                                     "notebook": stem if item.get("cell") else None, "cell": item.get("cell")}
    path = folder / "results.json"
    write_atomic(path, (json.dumps(flat, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    write_atomic(folder / "registry.json", (json.dumps(records, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    table = io.StringIO(newline="")
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["name", "value", "notebook", "description"])
    writer.writerows(sorted(rows, key=lambda r: r[0]))
    write_atomic(folder / "results.csv", table.getvalue().encode("utf-8"))
    return path
