"""A build never publishes a book with the wrong numbers (issue 16, item 1).

The build folder is exercised with two tiny notebooks (a kernel start each, no statistics) so that these
tests stay fast: a build killed at several points, two builds into one folder, a full disk (a small
tmpfs) and a read-only folder. Mounting needs root; those tests are skipped, with the reason, elsewhere.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sonimage_utils.pipeline.run import BuildLocked, build_session, run_analyses

ROOT = Path(__file__).resolve().parents[1]

#: Notebook NN: reads the patients of the data folder, writes a table, sleeps, records the count.
NOTEBOOK = '''# %% tags=["parameters"]
data_dir = "demo_data"
build_dir = "."
synthetic = True

# %%
import time
from pathlib import Path

import pandas as pd

from sonimage_utils.pipeline.report import record, save_table

patients = pd.read_csv(Path(data_dir) / "sonimage" / "patients.csv")
save_table(patients[["patient_id"]].head(3), "{nn}_head", build_dir)
time.sleep({sleep})
record("t{nn}_n_patients", len(patients), "patients read", kind="count")
'''

#: Added to the second notebook: a detached grandchild, as joblib's workers are (not a descendant once the
#: kernel is gone); the build's reaper must end it.
SLEEPER = '''
# %%
import subprocess

_ = subprocess.Popen(["sleep", "97"], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''


def sleepers(root: Path) -> list:
    """Living ``sleep 97`` processes started by a build under ``root`` (their working folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() == b"sleep\x0097\x00" and alive(int(cmdline.parent.name)) and \
                    os.readlink(cmdline.parent / "cwd").startswith(str(root)):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


#: Driver run as a separate process: ``sonimage run`` with the tiny notebooks (the CLI's main() path).
DRIVER = '''
import sys

if __name__ == "__main__":  # the spawned pool workers import this file too
    from sonimage_utils.cli import main
    from sonimage_utils.pipeline import run as run_module

    real = run_module.run_analyses
    run_module.run_analyses = lambda *a, **k: real(*a, **k, notebooks_dir=sys.argv[1])
    sys.exit(main(sys.argv[2:]))
'''


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from sonimage_utils.simulate.cohort import simulate_data_folder

    root = tmp_path_factory.mktemp("safety")
    for name, n in (("A", 20), ("B", 24)):
        simulate_data_folder(root / name, seed=n, n_patients=n)
    nbs = root / "notebooks"
    nbs.mkdir()
    (nbs / "00_first.py").write_text(NOTEBOOK.replace("{nn}", "00").replace("{sleep}", "0"))
    parameters, body = NOTEBOOK.split("\n\n", 1)
    (nbs / "01_second.py").write_text(parameters + "\n" + SLEEPER + "\n" + body.replace("{nn}", "01")
                                      .replace("{sleep}", "2"))
    boom = root / "failing"
    boom.mkdir()
    (boom / "00_boom.py").write_text(NOTEBOOK.replace("{nn}", "00").replace("{sleep}", "0")
                                     + 'raise ValueError("boom")\n')
    (root / "driver.py").write_text(DRIVER)
    first = sonimage(root, "--data", root / "A", "--build", root / "published")
    assert first.returncode == 0, first.stderr
    assert not sleepers(root.parent)  # a build that ends leaves nothing running either
    return root


@pytest.fixture
def build(world, tmp_path):
    """A build folder holding the published outputs of data A."""
    target = tmp_path / "build"
    shutil.copytree(world / "published", target, symlinks=True)
    return target


@pytest.fixture
def mounted(tmp_path):
    """A mount point with a 2 MB tmpfs (skipped where mounting is not permitted)."""
    point = tmp_path / "mnt"
    point.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(point)], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root, as in CI): {exc}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=True)


def sonimage(world, *args, wait=True, notebooks="notebooks"):
    cmd = [sys.executable, str(world / "driver.py"), str(world / notebooks), "run", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def published(build: Path) -> dict:
    """Every published file's bytes (what a reader of the build folder sees)."""
    return {p.relative_to(build).as_posix(): p.read_bytes() for p in sorted(build.rglob("*"))
            if p.is_file() and p.relative_to(build).parts[0] in ("notebooks", "tables", "results", "input")}


def descendants(pid: int) -> set:
    """Pids of every living descendant of ``pid`` (from /proc; psutil is not a dependency)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def results(build: Path) -> dict:
    """The notebooks' results (without ``sap_n_deviations``, which the pipeline adds to every run)."""
    values = json.loads((build / "results" / "results.json").read_text())
    return {k: v for k, v in values.items() if k != "sap_n_deviations"}


def test_01_kill_concurrent_and_recovery(world, build, tmp_path):
    assert results(build) == {"t00_n_patients": 20, "t01_n_patients": 20}
    before = published(build)
    # kill points: while the first notebook runs, and after it finished while the second runs
    for stage_file in (".next/notebooks/.src/00_first.ipynb", ".next/notebooks/00_first.ipynb"):
        proc = sonimage(world, "--data", world / "B", "--build", build, "--jobs", "2", wait=False)
        assert wait_for(lambda: (build / stage_file).exists() or proc.poll() is not None), stage_file
        assert proc.poll() is None, proc.communicate()
        if stage_file.endswith("00_first.ipynb") and ".src" in stage_file:
            # a second build into the same folder is refused, naming the holder
            second = sonimage(world, "--data", world / "A", "--build", build)
            assert second.returncode == 1
            assert second.stderr.strip() == \
                f"sonimage run: another build is running in {build.resolve()} (pid {proc.pid})"
        workers = descendants(proc.pid)
        assert workers, "the build started no worker"
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        # workers and their kernels die with the build (they used to write on for minutes)
        assert wait_for(lambda: not any(alive(p) for p in workers), timeout=10), \
            [Path(f"/proc/{p}/cmdline").read_bytes() for p in workers if alive(p)]
        assert wait_for(lambda: not sleepers(tmp_path.parent.parent), timeout=10)
        assert published(build) == before, stage_file  # nothing of B was published
    # the next build is not blocked by the dead one's lock, discards its stage and trusts no entry of B
    again = sonimage(world, "--data", world / "A", "--build", build)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("unchanged, not re-executed") == 2
    assert results(build) == {"t00_n_patients": 20, "t01_n_patients": 20}
    assert published(build) == before
    assert not (build / ".next").exists()
    # and B, run to its end, is published whole
    other = sonimage(world, "--data", world / "B", "--build", build)
    assert other.returncode == 0, other.stderr
    assert results(build) == {"t00_n_patients": 24, "t01_n_patients": 24}
    assert b"SON-024" in (build / "input" / "sonimage" / "patients.csv").read_bytes()


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(filler, "wb", buffering=0) as fh:
        try:
            fh.write(b"\0" * max(free - leave, 0))
            while not leave:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


@pytest.mark.parametrize("leave_kb", [0, 340])  # full at once; room for the stage but not the notebooks
def test_02_full_disk_leaves_the_previous_book(world, build, mounted, leave_kb):
    target = mounted / "build"
    shutil.copytree(build, target, symlinks=True)
    before = published(target)
    filler = fill(mounted, leave_kb * 1024)
    failed = sonimage(world, "--data", world / "B", "--build", target)
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.strip().splitlines()[-1] == \
        "sonimage run: no space left on device, the previous book is untouched"
    assert "Traceback" not in failed.stderr
    assert published(target) == before
    assert not (target / ".next").exists()
    filler.unlink()
    again = sonimage(world, "--data", world / "A", "--build", target)  # no JSONDecodeError, nothing to redo
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("unchanged, not re-executed") == 2
    assert published(target) == before


def test_03_read_only_build_folder(world, build, mounted):
    target = mounted / "build"
    shutil.copytree(build, target, symlinks=True)
    subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
    failed = sonimage(world, "--data", world / "B", "--build", target)
    assert failed.returncode == 1
    assert failed.stderr.strip() == f"sonimage run: read-only build folder {target.resolve()}"
    assert results(target) == {"t00_n_patients": 20, "t01_n_patients": 20}


def test_04_unreadable_cache_is_rebuilt_not_a_traceback(world, build):
    (build / "notebooks" / ".cache.json").write_bytes(b"")  # what a full disk used to leave
    again = sonimage(world, "--data", world / "A", "--build", build, "--only", "00")
    assert again.returncode == 0, again.stderr
    assert ".cache.json is unreadable" in again.stderr and "00_first: executing" in again.stderr
    cache = json.loads((build / "notebooks" / ".cache.json").read_text())
    assert set(cache) == {"00_first"} and set(cache["00_first"]) == {"key", "sha256"}


def test_05_cache_entry_must_match_the_notebook_bytes(build):
    from sonimage_utils.pipeline.execute import _trusted

    nb = build / "notebooks" / "00_first.ipynb"
    entry = json.loads((build / "notebooks" / ".cache.json").read_text())["00_first"]
    assert _trusted(entry, entry["key"], nb)
    assert not _trusted(entry, "another key", nb)
    nb.write_bytes(nb.read_bytes().replace(b"t00_n_patients", b"t00_n_patientz"))  # a foreign notebook
    assert not _trusted(entry, entry["key"], nb)
    nb.unlink()
    assert not _trusted(entry, entry["key"], nb)
    assert not _trusted(None, entry["key"], nb)


def test_06_failed_render_publishes_nothing(world, build, monkeypatch):
    from sonimage_utils.pipeline import book

    def broken(src, out, builder="html"):
        raise book.BuildFailed("the book did not render (jupyter-book exit 2)")

    monkeypatch.setattr(book, "render_book", broken)
    before = published(build)
    with pytest.raises(book.BuildFailed):
        with build_session(build):
            run = run_analyses(world / "B", build, only=["00"], log=lambda m: None,
                               notebooks_dir=world / "notebooks")
            book.build_book(run, version="0.0.0-test", log=lambda m: None)
    assert published(build) == before
    assert not (build / ".next").exists() and not (build / "html").exists()


def test_07_an_interrupted_publish_is_finished_by_the_next_build(tmp_path):
    build = tmp_path / "build"
    for name, text in (("results", "old"), ("tables", "old")):
        (build / name).mkdir(parents=True)
        (build / name / "x.txt").write_text(text)
    for name in ("results", "tables"):
        (build / ".next" / name).mkdir(parents=True)
        (build / ".next" / name / "x.txt").write_text("new")
    (build / ".commit").write_text(json.dumps(["results", "tables"]))
    (build / ".old").mkdir()
    os.rename(build / "results", build / ".old" / "results")  # killed between the two renames of `results`
    with build_session(build) as stage:
        assert not (stage / "results" / "x.txt").exists() or (stage / "results" / "x.txt").read_text() == "new"
    assert (build / "results" / "x.txt").read_text() == "new"
    assert (build / "tables" / "x.txt").read_text() == "new"
    assert not (build / ".commit").exists() and not (build / ".old").exists() and not (build / ".next").exists()


def test_08_lock_is_refused_in_process_and_released(tmp_path):
    build = tmp_path / "build"
    code = ("import sys, time; from sonimage_utils.pipeline.run import build_session\n"
            "with build_session(sys.argv[1]):\n    print('held', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(build)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BuildLocked, match=rf"another build is running in .* \(pid {holder.pid}\)"):
            with build_session(build):
                pass
    finally:
        holder.kill()
        holder.communicate()
    with build_session(build):  # a dead holder's lock does not block
        assert (build / ".lock").read_text().strip() == str(os.getpid())


def test_09_failed_notebook_in_a_worker_is_one_line_and_publishes_nothing(world, build):
    before = published(build)
    failed = sonimage(world, "--data", world / "B", "--build", build, "--jobs", "2", notebooks="failing")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        "sonimage run: notebook 00_boom failed: ValueError: boom; see the executed notebook in "
        f"{build / 'failed' / '00_boom.ipynb'}")
    assert "Traceback" not in failed.stderr and "BrokenProcessPool" not in failed.stderr
    assert b"ValueError" in (build / "failed" / "00_boom.ipynb").read_bytes()
    assert published(build) == before and not (build / ".next").exists()
