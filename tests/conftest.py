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
    """(data folder, build folder) of one full demo build (simulate, validate, build as version 9.9.9-test),
    made once per session: tests/test_e2e.py checks the pipeline on it, tests/test_browser.py the HTML."""
    from sonimage_utils.cli.main import main
    from test_e2e import fast_params

    root = tmp_path_factory.mktemp("e2e")
    data, build = root / "data", root / "build"
    assert main(["simulate", str(data), "--seed", "7", "--n-patients", "100"]) == 0
    assert main(["validate", str(data)]) == 0
    assert main(["build", "--data", str(data), "--build", str(build), "--jobs", "2", "--version", "9.9.9-test",
                 *fast_params()]) == 0
    return data, build
