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
