"""The layers of the package and the thinness of the notebooks, checked.

The import contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are run here with
import-linter's ``lint-imports``; a broken contract fails the test with import-linter's report (which names
the importing module, the imported one and the line). Two third-party libraries that the package never imports
at all (seaborn, nbclient) cannot be named in an import-linter contract (it refuses a module absent from the
graph), so :func:`test_03_third_party_owners` checks their owners from the source as well. CONTRIBUTING.md
explains the layers.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sonimage_utils"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))

#: Most lines of code a chapter notebook may hold (non-blank, non-comment lines of its code cells).
MAX_NOTEBOOK_CODE_LINES = 120

#: Third-party library -> the only subpackages of sonimage_utils that may import it.
OWNERS = {
    "matplotlib": {"plots"},
    "seaborn": {"plots"},
    **{lib: {"pipeline", "cli"} for lib in ("papermill", "jupytext", "nbformat", "nbclient", "IPython", "myst_nb")},
}


def _lint_imports() -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "NO_COLOR": "1", "COLUMNS": "120"}
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "pyproject.toml", "--no-cache"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def lint_report():
    if importlib.util.find_spec("importlinter") is None:
        pytest.fail("import-linter is not installed; `make install` installs it from requirements.lock")
    return _lint_imports()


def test_01_import_contracts_are_kept(lint_report):
    """Every contract in pyproject.toml: layers, pure statistics, owners of matplotlib and of the notebook
    machinery, an independent simulator, no cycles."""
    assert lint_report.returncode == 0, f"import contracts broken:\n{lint_report.stdout}\n{lint_report.stderr}"
    assert "0 broken" in lint_report.stdout


def test_02_every_contract_was_checked(lint_report):
    """The contracts named in the test are the ones import-linter ran (none silently dropped)."""
    for name in ("Layers:", "Statistics never import", "Only sonimage_utils.plots imports matplotlib",
                 "Only sonimage_utils.pipeline", "The simulator never imports", "No import cycles"):
        assert name in lint_report.stdout, f"contract {name!r} did not run:\n{lint_report.stdout}"


def _imports(path: Path):
    """(top-level module name, line) of every import in a source file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield "sonimage_utils", node.lineno
            else:
                yield node.module, node.lineno


def test_03_third_party_owners():
    """matplotlib and seaborn only in plots; papermill, jupytext, nbformat, nbclient, IPython, myst_nb only in
    pipeline and cli (read from the source, including imports inside functions)."""
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        subpackage = rel.parts[0].removesuffix(".py")
        for module, line in _imports(path):
            top = module.split(".")[0]
            if top in OWNERS and subpackage not in OWNERS[top]:
                offences.append(f"sonimage_utils/{rel}:{line} imports {module} (only {sorted(OWNERS[top])} may)")
    assert not offences, "\n".join(offences)


def _code_cells(path: Path):
    notebook = jupytext.read(path, fmt="py:percent")
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _code_lines(source: str) -> list[str]:
    return [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_04_notebook_code_lines_are_counted_from_code_cells_only(tmp_path):
    """The counter behind test_06: markdown cells, the jupytext header, blank and comment lines do not count."""
    nb = tmp_path / "99_x.py"
    nb.write_text("# ---\n# jupyter:\n#   jupytext:\n#     formats: py:percent\n# ---\n\n"
                  "# %% [markdown]\n# # Title\n# text\n\n"
                  "# %%\nx = 1\n\n# a comment\ny = [\n    2,\n]\n", encoding="utf-8")
    assert sum(len(_code_lines(c.source)) for c in _code_cells(nb)) == 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_05_notebooks_import_only_from_the_package(path):
    """A notebook loads, calls, shows and records: every import is from sonimage_utils."""
    outside = []
    for cell in _code_cells(path):
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            outside += [n for n in names if n != "sonimage_utils" and not n.startswith("sonimage_utils.")]
    assert not outside, f"{path.name} imports from outside sonimage_utils: {sorted(set(outside))}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_06_notebooks_are_thin(path):
    """At most MAX_NOTEBOOK_CODE_LINES lines of code per notebook: the computing lives in the package."""
    n = sum(len(_code_lines(cell.source)) for cell in _code_cells(path))
    assert n <= MAX_NOTEBOOK_CODE_LINES, f"{path.name} has {n} lines of code (at most {MAX_NOTEBOOK_CODE_LINES})"


def test_07_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6
