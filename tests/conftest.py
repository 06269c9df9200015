"""Shared test set-up: a non-interactive matplotlib backend and small data folders."""

import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def valid_folder(tmp_path) -> Path:
    """A copy of the smallest valid data folder (tests/data/valid_min), safe to break."""
    target = tmp_path / "data"
    shutil.copytree(DATA / "valid_min", target)
    return target


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """(data folder, build folder) of one full demo build with its PDF (simulate, validate, build as version
    9.9.9-test with ``--pdf``), made once per session: tests/test_e2e.py checks the pipeline on it,
    tests/test_browser.py the HTML, tests/test_pdf.py the PDF."""
    import subprocess
    import sys

    from sonimage_utils.cli.main import main
    from test_e2e import fast_params

    root = tmp_path_factory.mktemp("e2e")
    data, build = root / "data", root / "build"
    assert main(["simulate", str(data), "--seed", "7", "--n-patients", "100"]) == 0
    assert main(["validate", str(data)]) == 0
    # a process of its own: a worker pool in this one can meet a multiprocessing resource tracker that an
    # earlier in-process build's reaper killed (a UserWarning, an error under filterwarnings=error)
    proc = subprocess.run([sys.executable, "-m", "sonimage_utils.cli", "build", "--data", str(data), "--build",
                           str(build), "--jobs", "2", "--version", "9.9.9-test", "--pdf", *fast_params()],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return data, build
