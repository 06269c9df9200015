"""What hashes or globs the package by path still finds every file after the move into subpackages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sonimage_utils.data.dictionary import dictionary_dir
from sonimage_utils.pipeline.execute import package_hash
from sonimage_utils.pipeline.params import project_root
from sonimage_utils.pipeline.run import DEMO_SOURCES, demo_recipe

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sonimage_utils"


@pytest.fixture
def package_copy(tmp_path):
    copy = tmp_path / "sonimage_utils"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_01_package_hash_sees_every_subpackage_file(package_copy):
    before = package_hash(package_copy)
    assert package_hash(package_copy) == before                      # deterministic
    assert package_hash() == package_hash(PACKAGE)
    for rel in ("survival/km.py", "data/problems.py", "cli/run.py", "plots/imaging.py"):
        path = package_copy / rel
        text = path.read_text()
        path.write_text(text + "\n# changed\n")
        assert package_hash(package_copy) != before, rel
        path.write_text(text)
        assert package_hash(package_copy) == before, rel
    (package_copy / "tables" / "new_module.py").write_text("x = 1\n")
    assert package_hash(package_copy) != before                      # a new file counts too


def test_02_demo_recipe_covers_the_simulator_and_the_imaging_code(package_copy):
    assert set(DEMO_SOURCES) == {"simulate", "imaging"}
    before = demo_recipe(20191205, 100, package_copy)
    assert demo_recipe(20191205, 100) == demo_recipe(20191205, 100, PACKAGE)
    changed = sorted(package_copy.glob("simulate/*.py")) + sorted(package_copy.glob("imaging/*.py"))
    assert len(changed) >= 10
    for path in changed:
        text = path.read_text()
        path.write_text(text + "\n# changed\n")
        assert demo_recipe(20191205, 100, package_copy) != before, path.name
        path.write_text(text)
    assert demo_recipe(20191205, 100, package_copy) == before
    assert demo_recipe(20191206, 100, package_copy) != before        # the seed and size are in the recipe
    assert demo_recipe(20191205, 101, package_copy) != before
    table = package_copy / "tables" / "format.py"                    # not an ingredient of the demo data
    table.write_text(table.read_text() + "\n# changed\n")
    assert demo_recipe(20191205, 100, package_copy) == before


def test_03_project_paths_point_at_the_project():
    root = project_root()
    assert root == ROOT
    for name in ("analysis.yml", "_toc.yml", "notebooks", "data_dictionary", "pyproject.toml"):
        assert (root / name).exists(), name
    assert dictionary_dir() == ROOT / "data_dictionary"
    assert sorted(dictionary_dir().glob("*.yml"))
