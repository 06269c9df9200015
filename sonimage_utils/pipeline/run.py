"""``sonimage run``: demo data if none given, validate, execute the notebooks, write the results registry.

The build folder
----------------
A build owns its folder: an exclusive lock on ``BUILD/.lock`` (``fcntl.flock``, released by the kernel
when the process ends, so a killed build leaves no stale lock) refuses a second build into the same folder.
Everything a build makes is staged in ``BUILD/.next``: first a copy of the published outputs (so unchanged
notebooks need not run again), then the build's own copy of its input files (``.next/input``; notebooks
read the data through it, never through a path another build can move), the executed notebooks, tables,
figures, models, results and, for ``sonimage build``, the HTML book. Only when the whole build succeeded is
the stage swapped in: a journal ``BUILD/.commit`` is written, then each folder is renamed into place; a
build killed during the swap is finished by the next one, a build that fails or is killed before it leaves
the published book untouched (its stage is removed by the next build). A reaper process beside the build
kills, the moment the build ends or dies, every process that still carries the build's token in its
environment: pool workers, kernels, the joblib workers a kernel started, the renderer.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sonimage_utils.pipeline.params import parameter_values
from sonimage_utils.pipeline.execute import discover_notebooks, hash_files, run_notebooks, select_notebooks, write_results
from sonimage_utils.data.validate import validate_folder

__all__ = ["RunResult", "BuildFolderError", "BuildLocked", "build_session", "current_stage", "on_publish",
           "DEMO_SOURCES", "is_synthetic", "input_files", "demo_recipe", "ensure_demo_data", "run_analyses"]

#: What a build publishes in BUILD, swapped in together from the stage (``html`` and ``.book-key`` only
#: when the build rendered the book; ``*.pdf`` too with ``--pdf``).
PUBLISHED = ("input", "notebooks", "tables", "figures", "models", "results", "publication", "html", ".book-key")
#: Published folders copied into a new stage first: a notebook that is not re-executed keeps its outputs.
_CARRIED = ("notebooks", "tables", "figures", "models", "results", "publication")
NO_SPACE = "no space left on device, the previous book is untouched"


class BuildFolderError(RuntimeError):
    """The build folder cannot be used (locked, read-only, full); the message is one line for the user."""


class BuildLocked(BuildFolderError):
    """Another process is building into the same folder."""


def _folder_error(exc: BaseException, build: Path) -> BuildFolderError | None:
    """The one-line error for a full disk or a read-only folder behind ``exc``, else None."""
    text = f"{exc} {getattr(exc, 'detail', '')} {getattr(exc, 'log', '')}"
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in text or "[Errno 28]" in text:
        return BuildFolderError(NO_SPACE)
    if code == errno.EROFS or "Read-only file system" in text or "[Errno 30]" in text:
        return BuildFolderError(f"read-only build folder {build}")
    return None


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


#: Run beside a build: waits for the build to end (its pipe closes, also when the build is killed) and
#: then kills every process still carrying the build's token in its environment (pool workers, kernels,
#: the joblib workers a kernel started, a renderer): nothing of a build outlives it.
_REAPER = """
import os, signal, sys, time
parent, needle = int(sys.argv[1]), ("SONIMAGE_BUILD_TOKEN=" + sys.argv[2]).encode()
sys.stdin.buffer.read()
for _ in range(20):
    found = False
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), parent):
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                if needle in fh.read().split(b"\\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
                    found = True
        except OSError:
            pass
    if not found:
        break
    time.sleep(0.05)
"""


class _Session:
    """One build holding ``BUILD/.lock``, staging into ``BUILD/.next``."""

    def __init__(self, build: Path):
        self.build, self.stage = build, build / ".next"
        self.depth, self.fd, self.reaper, self.saved_token = 0, None, None, None
        self.after_commit = []  # callables run once the stage is published (versions list)

    def open(self) -> None:
        build = self.build
        try:
            build.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(build / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise BuildFolderError(f"read-only build folder {build}") from None
            raise
        import fcntl

        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self.fd)
            self.fd = None
            raise BuildLocked(f"another build is running in {build} (pid {owner})") from None
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
            if (build / ".commit").exists():  # a build killed while publishing: finish its swap
                self._publish()
            for stale in (self.stage, build / ".stage", build / ".old"):  # what killed builds left behind
                _remove(stale)
            self.stage.mkdir()
            for name in _CARRIED:
                if (build / name).is_dir():
                    shutil.copytree(build / name, self.stage / name, symlinks=True)
            self._start_reaper()
        except BaseException:
            self.discard()
            self.close()
            raise

    def commit(self) -> None:
        from sonimage_utils.pipeline.execute import write_atomic

        names = [n for n in PUBLISHED if (self.stage / n).exists() or (self.stage / n).is_symlink()]
        names += sorted(p.name for p in self.stage.glob("*.pdf"))  # sonimage build --pdf
        write_atomic(self.build / ".commit", (json.dumps(names) + "\n").encode())
        self._publish()
        for fn in self.after_commit:
            fn()

    def _publish(self) -> None:
        """Rename every staged output into place (idempotent: finishes a swap a killed build began)."""
        build, old = self.build, self.build / ".old"
        names = json.loads((build / ".commit").read_text())
        old.mkdir(exist_ok=True)
        for name in names:
            new, cur = self.stage / name, build / name
            if not (new.exists() or new.is_symlink()):
                continue  # already moved
            if cur.exists() or cur.is_symlink():
                _remove(old / name)
                os.rename(cur, old / name)
            os.rename(new, cur)
        (build / ".commit").unlink()
        _remove(old)
        _remove(self.stage)

    def discard(self) -> None:
        self._stop_reaper()  # nothing of this build may write into the stage while it goes
        try:
            _remove(self.stage)
        except OSError:  # pragma: no cover - removed by the next build
            pass

    def _start_reaper(self) -> None:
        if not Path("/proc/self/environ").exists():  # pragma: no cover - not Linux: workers watch their parent
            return
        import secrets
        import subprocess
        import sys

        # this process's own multiprocessing helper starts before the token is set, so that the reaper spares
        # it: killed, the next build in this process (a test, a notebook) would warn that it died
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        token = secrets.token_hex(8)
        self.saved_token = os.environ.get("SONIMAGE_BUILD_TOKEN")
        self.reaper = subprocess.Popen([sys.executable, "-c", _REAPER, str(os.getpid()), token],
                                       stdin=subprocess.PIPE, start_new_session=True)
        os.environ["SONIMAGE_BUILD_TOKEN"] = token  # inherited by every process the build starts

    def _stop_reaper(self) -> None:
        if self.reaper is None:
            return
        if self.saved_token is None:
            os.environ.pop("SONIMAGE_BUILD_TOKEN", None)
        else:
            os.environ["SONIMAGE_BUILD_TOKEN"] = self.saved_token
        self.reaper.stdin.close()  # the reaper ends what is left of this build, then exits
        self.reaper.wait()
        self.reaper = None

    def close(self) -> None:
        self._stop_reaper()
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None


_SESSIONS: dict = {}


def _keep_failed(session: _Session, exc: BaseException) -> None:
    """Keep the executed notebook of a failed notebook as ``BUILD/failed/NN_name.ipynb`` (the stage goes)."""
    stem = getattr(exc, "notebook", None)
    executed = session.stage / "notebooks" / f"{stem}.ipynb"
    if stem and executed.is_file():
        try:
            (session.build / "failed").mkdir(exist_ok=True)
            shutil.copy2(executed, session.build / "failed" / executed.name)
        except OSError:  # a full disk: the message says so, the copy is a convenience
            pass


@contextmanager
def build_session(build):
    """Hold ``BUILD/.lock`` for a whole build and publish its stage at the end, or nothing.

    Nested sessions on the same folder (``sonimage build`` opens one, :func:`run_analyses` and
    :func:`~sonimage_utils.pipeline.book.build_book` inside it) share the outer one: the stage is
    published when the outermost session ends without an error, and removed when it ends with one.

    Yields
    ------
    Path
        The stage folder, ``BUILD/.next``.

    Raises
    ------
    BuildLocked
        "another build is running in BUILD (pid N)".
    BuildFolderError
        For a read-only folder or a full disk (one line; the published book is untouched).
    """
    build = Path(build).resolve()
    session = _SESSIONS.get(build)
    if session is None:
        session = _Session(build)
        try:
            session.open()
        except OSError as exc:
            raise (_folder_error(exc, build) or exc) from None
        _SESSIONS[build] = session
    session.depth += 1
    try:
        yield session.stage
        if session.depth == 1:
            session.commit()
    except BaseException as exc:
        if session.depth == 1:
            _keep_failed(session, exc)
            session.discard()
            problem = _folder_error(exc, build)
            if problem is not None:
                raise problem from exc
        raise
    finally:
        session.depth -= 1
        if session.depth == 0:
            del _SESSIONS[build]
            session.close()


def current_stage(build) -> Path:
    """The stage folder of the build session open on ``build`` in this process.

    Raises
    ------
    ValueError
        If no session is open on ``build``.
    """
    session = _SESSIONS.get(Path(build).resolve())
    if session is None:
        raise ValueError(f"no build session is open on {build}")
    return session.stage


def on_publish(build, fn) -> None:
    """Call ``fn()`` once the open session on ``build`` has published its stage."""
    _SESSIONS[Path(build).resolve()].after_commit.append(fn)


def _snapshot_inputs(data_dir: Path, target: Path) -> None:
    """Copy every input file of ``data_dir`` to ``target``: the bytes this build reads, whatever happens
    to ``data_dir`` or to another build meanwhile."""
    target.mkdir()
    for rel in input_files(data_dir):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(data_dir / rel, target / rel)


@dataclass
class RunResult:
    """What a run did: where, from which data, with which values, and the results it gathered."""

    build: Path
    data_dir: Path
    synthetic: bool
    values: dict
    overrides: dict
    data_hash: str
    notebooks: list = field(default_factory=list)
    results_path: Path | None = None


def is_synthetic(data_dir) -> bool:
    """A data folder is synthetic when ``sonimage simulate`` made it (it carries ``truth.json``)."""
    return (Path(data_dir) / "truth.json").exists()


def input_files(data_dir) -> list[Path]:
    """Every CSV and JSON input file of a data folder, relative to it, sorted."""
    root = Path(data_dir)
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.suffix in (".csv", ".json"))


#: The subpackages whose source makes the demo data: the simulator and the imaging code (demo DICOM, extraction).
DEMO_SOURCES = ("simulate", "imaging")


def demo_recipe(seed: int, n_patients: int, package=None) -> str:
    """The recipe of the demo data folder: a hash of the source of :data:`DEMO_SOURCES`, the seed and the size.

    Parameters
    ----------
    seed, n_patients : int
        ``demo_seed`` and ``demo_n_patients`` of ``analysis.yml``.
    package : path-like, optional
        The package folder; default the installed ``sonimage_utils`` (tests pass a copy).
    """
    package = Path(__file__).resolve().parents[1] if package is None else Path(package)
    sources = [p.relative_to(package) for sub in DEMO_SOURCES for p in package.glob(f"{sub}/*.py")]
    return f"{hash_files(sources, root=package)}:{seed}:{n_patients}"


def ensure_demo_data(build: Path, seed: int, n_patients: int, log=print) -> Path:
    """The built-in synthetic demo cohort in ``build/demo_data``, regenerated when its recipe changed.

    The recipe is the simulator's and the imaging code's source, the seed and the size; the same recipe gives
    the same bytes. A few demo patients also get real PET DICOM (``build/demo_dicom``), extracted with
    ``sonimage extract``; its ``extraction_report.csv`` joins the data folder.
    """
    from sonimage_utils.simulate import cohort as simulate

    target = build / "demo_data"
    recipe = demo_recipe(seed, n_patients)
    stamp = target / ".recipe"
    if stamp.exists() and stamp.read_text() == recipe:
        return target
    log(f"generating the synthetic demo cohort (seed {seed}, {n_patients} patients) in {target}")
    if target.exists():
        shutil.rmtree(target)
    simulate.simulate_data_folder(target, seed=seed, n_patients=n_patients)
    _extract_demo_dicom(build, target, seed)
    stamp.write_text(recipe)
    return target


def _extract_demo_dicom(build: Path, data: Path, seed: int, n_patients: int = 4) -> None:
    """Real PET DICOM for a few demo patients, extracted as a study would: the extraction report joins the
    demo data folder so that chapter 00 shows scan quality from the headers."""
    import contextlib
    import io

    import pandas as pd

    from sonimage_utils.imaging.demo import write_demo_dicom
    from sonimage_utils.imaging.extract import run_extract

    folder = build / "demo_dicom"
    if folder.exists():
        shutil.rmtree(folder)
    lesions = pd.read_csv(data / "sonimage" / "lesions.csv", dtype={"patient_id": str, "lesion_id": str})
    scans = pd.read_csv(data / "sonimage" / "scans.csv", dtype={"patient_id": str})
    ids = sorted(set(scans.loc[scans["tracer"] == "FDG", "patient_id"]))[:n_patients]
    demo = write_demo_dicom(folder, seed, patient_ids=ids, lesions=lesions, scans=scans)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = run_extract(demo["dicom_dir"], demo["vois_csv"], demo["mapping_csv"], folder / "extracted")
    if status != 0:
        raise RuntimeError(f"demo DICOM extraction failed:\n{out.getvalue()}")
    shutil.copy2(folder / "extracted" / "extraction_report.csv", data / "sonimage" / "extraction_report.csv")


def _deviations(notebooks, notebooks_dir, values: dict, overrides: dict, stage: Path) -> dict:
    """Compare the run with the frozen SAP; write ``results/deviations.json``; return ``sap_n_deviations``."""
    from sonimage_utils.pipeline.execute import write_atomic
    from sonimage_utils.pipeline.sap import (compute_deviations, deviation_count_result, gather_deviations,
                                             latest_frozen_sap)

    ran = {nb.stem for nb in notebooks}
    left_out = [nb.stem for nb in discover_notebooks(notebooks_dir) if nb.stem not in ran]
    reported = {stem: found for stem in sorted(ran)
                if (found := gather_deviations(stage / "notebooks" / f"{stem}.ipynb"))}
    frozen = latest_frozen_sap()
    deviations = compute_deviations(frozen, values, overrides, left_out, reported)
    about = None if frozen is None else {k: frozen.get(k) for k in ("date", "amendment", "path", "sap_sha256",
                                                                     "git_commit", "git_dirty", "history")}
    (stage / "results").mkdir(parents=True, exist_ok=True)
    write_atomic(stage / "results" / "deviations.json", (json.dumps(
        {"frozen_sap": about, "deviations": deviations}, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return deviation_count_result(deviations)


def run_analyses(data_dir=None, build="_build", only=None, jobs=1, overrides=None, log=print,
                 notebooks_dir=None) -> RunResult:
    """Validate ``data_dir`` and execute the selected notebooks into ``build``.

    Parameters
    ----------
    data_dir : path, optional
        A data folder; default the built-in synthetic demo cohort (generated into ``build/demo_data``).
    build : path
    only : list of str, optional
        Notebook numbers to run (with what they need).
    jobs : int
    overrides : dict, optional
        Parameter values replacing those of ``analysis.yml``.
    log : callable
    notebooks_dir : path, optional
        Where the notebooks are; default the project's ``notebooks/``.

    Returns
    -------
    RunResult
        Its outputs are published in ``build`` when this call returns, or, inside an open
        :func:`build_session` on ``build``, when that session ends.

    Raises
    ------
    sonimage_utils.data.InvalidDataError
        If the data folder has errors (nothing is executed).
    sonimage_utils.pipeline.execute.NotebookFailed
        If a notebook fails (nothing is published).
    BuildFolderError
        If another build holds the folder, it is read-only or the disk is full (nothing is published).
    """
    from sonimage_utils.data.load import InvalidDataError
    from sonimage_utils.pipeline.execute import write_atomic
    from sonimage_utils.pipeline.publication import build_publication

    build = Path(build).resolve()
    values = parameter_values(overrides)
    notebooks = select_notebooks(discover_notebooks(notebooks_dir), only)
    with build_session(build) as stage:
        if data_dir is None:
            data_dir = ensure_demo_data(build, values["demo_seed"], values["demo_n_patients"], log=log)
        data_dir = Path(data_dir).resolve()
        inputs = stage / "input"
        _snapshot_inputs(data_dir, inputs)
        report = validate_folder(inputs)
        for problem in report.warnings:
            log(str(problem))
        if not report.ok:
            raise InvalidDataError(report.errors)
        data_hash = hash_files(input_files(inputs), root=inputs)
        synthetic = is_synthetic(inputs)
        results = run_notebooks(notebooks, values, inputs, stage, jobs=jobs, data_hash=data_hash,
                                synthetic=synthetic, log=log)
        results["sap"] = [_deviations(notebooks, notebooks_dir, values, overrides or {}, stage)]
        write_results(results, stage)
        build_publication(stage, synthetic=synthetic)  # BUILD/publication: the journal bundle
        write_atomic(stage / "results" / "run.json", (json.dumps({
            "data_dir": str(data_dir), "synthetic": synthetic, "data_hash": data_hash,
            "overrides": overrides or {}, "notebooks": [nb.stem for nb in notebooks]}, indent=2,
            sort_keys=True) + "\n").encode("utf-8"))
    return RunResult(build, data_dir, synthetic, values, overrides or {}, data_hash,
                     [nb.stem for nb in notebooks], build / "results" / "results.json")

