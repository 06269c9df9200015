"""Pipeline pieces: notebook discovery and selection, parameters, normalisation, the results registry."""

import json
import re

import nbformat
import pytest

from sonimage_utils.pipeline.params import load_parameters, parameter_values, parse_overrides, project_root
from sonimage_utils.pipeline.execute import (_normalise, discover_notebooks, select_notebooks, write_results,
                                     gather_results)
from sonimage_utils.pipeline.report import RESULT_MIME, to_number


def test_01_every_notebook_has_parameters_with_data_and_build_dir():
    notebooks = discover_notebooks()
    assert notebooks and notebooks[0].number == "00"
    for nb in notebooks:
        assert {"data_dir", "build_dir", "synthetic"} <= set(nb.parameters), nb.stem


def test_02_notebook_parameters_exist_in_analysis_yml():
    known = set(load_parameters()) | {"data_dir", "build_dir", "synthetic"}
    for nb in discover_notebooks():
        assert set(nb.parameters) <= known, (nb.stem, set(nb.parameters) - known)


def test_03_toc_lists_exactly_the_notebooks_and_pages_that_exist():
    import yaml

    toc = yaml.safe_load((project_root() / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    notebooks = {f"notebooks/{nb.stem}" for nb in discover_notebooks()}
    assert notebooks == {f for f in files if f.startswith("notebooks/")}
    for f in files:
        if not f.startswith("notebooks/"):
            assert (project_root() / f"{f}.md").exists(), f


def test_04_only_pulls_in_dependencies():
    from sonimage_utils.pipeline.execute import Notebook
    from pathlib import Path

    nbs = [Notebook(Path(f"{n}_x.py"), n, "x", [], deps) for n, deps in
           [("00", []), ("01", []), ("04", []), ("05", ["04"])]]
    assert [nb.number for nb in select_notebooks(nbs, ["5"])] == ["04", "05"]
    assert [nb.number for nb in select_notebooks(nbs, None)] == ["00", "01", "04", "05"]
    with pytest.raises(ValueError, match="--only 09: no notebook"):
        select_notebooks(nbs, ["09"])


def test_05_overrides_are_yaml_and_checked():
    known = set(load_parameters())
    assert parse_overrides(["fes_threshold=2"], known) == {"fes_threshold": 2}
    assert parameter_values({"fes_threshold": 2})["fes_threshold"] == 2
    with pytest.raises(ValueError, match="unknown parameter"):
        parse_overrides(["fes_treshold=2"], known)
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_overrides(["fes_threshold"], known)


def test_06_every_parameter_has_a_rationale():
    for name, entry in load_parameters().items():
        assert len(entry["rationale"]) > 20, name


def test_07_normalise_removes_timings_and_fixes_ids():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("x = 1")]
    nb.cells[0].metadata["papermill"] = {"start_time": "2026-01-01T00:00:00", "duration": 1.2}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026"}
    nb.cells[1].metadata["tags"] = ["injected-parameters"]
    nb.metadata["papermill"] = {"start_time": "x", "end_time": "y", "parameters": {"a": 1}, "version": "2"}
    _normalise(nb)
    assert [c["id"] for c in nb.cells] == ["cell-000", "cell-001"]
    assert "papermill" not in nb.cells[0].metadata and "execution" not in nb.cells[0].metadata
    assert nb.metadata["papermill"] == {"parameters": {"a": 1}, "version": "2"}
    assert "hide-input" in nb.cells[1].metadata["tags"]


def test_08_results_registry_is_sorted_and_rejects_duplicates(tmp_path):
    write_results({"00_a": [{"name": "b", "value": 1, "description": "B"}],
                   "01_b": [{"name": "a", "value": None, "description": "A"}]}, tmp_path)
    assert (tmp_path / "results" / "results.json").read_text() == '{\n  "a": null,\n  "b": 1\n}\n'
    assert (tmp_path / "results" / "results.csv").read_text().splitlines()[1] == "a,,01_b,A"
    registry = json.loads((tmp_path / "results" / "registry.json").read_text())
    assert registry["b"] == {"value": 1, "description": "B", "notebook": None, "cell": None}


def test_08b_registry_records_carry_notebook_and_cell(tmp_path):
    write_results({"01_b": [{"name": "a", "value": 0.5, "description": "A", "cell": "cell-006"}]}, tmp_path)
    registry = json.loads((tmp_path / "results" / "registry.json").read_text())
    assert registry == {"a": {"value": 0.5, "description": "A", "notebook": "01_b", "cell": "cell-006"}}
    with pytest.raises(ValueError, match="recorded twice"):
        write_results({"x": [{"name": "a", "value": 1, "description": ""}],
                       "y": [{"name": "a", "value": 2, "description": ""}]}, tmp_path)


def test_09_gather_reads_recorded_results(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={RESULT_MIME: {"name": "n", "value": 3,
                                                                              "description": "d"}})]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "x.ipynb")
    assert gather_results(tmp_path / "x.ipynb") == [{"name": "n", "value": 3, "description": "d",
                                                     "cell": nb.cells[0]["id"]}]


@pytest.mark.parametrize("value, expected", [(float("nan"), None), (float("inf"), None), (True, 1), (2, 2),
                                             (0.5, 0.5), (None, None)])
def test_10_results_are_plain_json_numbers(value, expected):
    assert json.dumps(to_number(value)) == json.dumps(expected)


def test_11_result_must_be_a_number():
    with pytest.raises(ValueError, match="must be a number"):
        to_number("0.5")


def test_12_notebook_defaults_equal_the_sap_values():
    """A notebook opened by hand (not through `sonimage run`) must compute with the SAP's values."""
    import ast

    import jupytext

    values = {k: v["value"] for k, v in load_parameters().items()}
    for nb in discover_notebooks():
        cell = next(c for c in jupytext.read(nb.path).cells if "parameters" in c.metadata.get("tags", []))
        for node in ast.parse(cell.source).body:
            name = node.targets[0].id
            if name in values:
                assert ast.literal_eval(node.value) == values[name], (nb.stem, name)


def test_13_normalise_removes_addresses_and_styler_ids():
    import pandas as pd

    html = pd.DataFrame({"a": [1]}).style._repr_html_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("df.style")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html,
                                                                 "text/plain": "<Styler at 0x7f3a9c0d2e10>"})]
    nb.cells = [cell]
    _normalise(nb)
    out = nb.cells[0].outputs[0]["data"]
    assert out["text/plain"] == "<Styler>"
    assert 'id="T_c000o0"' in out["text/html"]
    assert not re.search(r"T_[0-9a-f]{5}\b", out["text/html"])


def test_14_a_failed_notebook_crosses_process_boundaries_whole():
    """With --jobs > 1 a notebook fails in a worker process; its NotebookFailed must unpickle in the parent,
    so that `sonimage build` prints one line and exits 1 instead of a BrokenProcessPool traceback."""
    import pickle

    from sonimage_utils.pipeline.execute import NotebookFailed

    exc = pickle.loads(pickle.dumps(NotebookFailed("01_pfs_heterogeneity", "TypeError: boom")))
    assert isinstance(exc, NotebookFailed)
    assert (exc.notebook, exc.detail) == ("01_pfs_heterogeneity", "TypeError: boom")
    assert str(exc) == "notebook 01_pfs_heterogeneity failed: TypeError: boom"
