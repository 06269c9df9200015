"""Every number traceable: the results appendix and the glue -> registry mapping of the book's Sphinx extension."""

import json

import nbformat

from sonimage_utils.pipeline.pages import registry_trace, results_appendix_page
from sonimage_utils.pipeline.report import RESULT_MIME
from sonimage_utils.pipeline.sphinx_trace import anchor, registry_name


def _notebook(path, params):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": params, "version": "2"}
    title = nbformat.v4.new_markdown_cell("# Objective 1: PFS by heterogeneity\n\ntext")
    setup = nbformat.v4.new_code_cell("x = 1")
    rec = nbformat.v4.new_code_cell("record(...)")
    rec.outputs = [
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "1.35"},
                               metadata={"scrapbook": {"name": "obj1_hr", "mime_prefix": "application/papermill.record/"}}),
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "'1.35'"},
                               metadata={"scrapbook": {"name": "obj1_hr_text",
                                                       "mime_prefix": "application/papermill.record/"}}),
        nbformat.v4.new_output("display_data", data={RESULT_MIME: {"name": "obj1_hr", "value": 1.3512,
                                                                   "description": "HR, heterogeneous vs homogeneous"}}),
    ]
    nb.cells = [title, setup, rec]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    nbformat.write(nb, path)


def test_trace_names_chapter_cell_printed_text_and_the_chapters_parameters(tmp_path):
    _notebook(tmp_path / "01_pfs.ipynb", {"fes_threshold": 1.5, "data_dir": "input", "build_dir": ".",
                                          "synthetic": True})
    trace = registry_trace(tmp_path, ["01_pfs"], {"obj1_hr": 1.3512, "sap_n_deviations": 0})
    assert trace[0] == {"name": "obj1_hr", "value": 1.3512, "text": "1.35", "kind": None,
                        "description": "HR, heterogeneous vs homogeneous", "notebook": "01_pfs",
                        "title": "Objective 1: PFS by heterogeneity", "cell": "cell-002", "cell_index": 2,
                        "parameters": {"fes_threshold": 1.5}}
    assert trace[1]["name"] == "sap_n_deviations" and trace[1]["notebook"] is None and trace[1]["cell"] is None


def test_appendix_lists_every_entry_once_with_value_and_cell(tmp_path):
    _notebook(tmp_path / "01_pfs.ipynb", {"fes_threshold": 1.5})
    page = results_appendix_page(registry_trace(tmp_path, ["01_pfs"], {"obj1_hr": 1.3512, "sap_n_deviations": 2}))
    assert "holds 2 entries" in page
    assert "| `obj1_hr` | `1.3512` | 1.35 | HR, heterogeneous vs homogeneous | `cell-002` |" in page
    assert "`fes_threshold` = `1.5`" in page and "| `sap_n_deviations` | `2` |" in page
    assert page.count("| `obj1_hr` |") == 1


def test_glue_keys_map_to_registry_names_only_through_the_known_suffixes():
    names = {"obj1_hr", "obj3_lmm_fes_p"}
    assert registry_name("../notebooks/01_pfs.ipynb::obj1_hr_text:s", names) == "obj1_hr"
    assert registry_name("obj1_hr:.2f", names) == "obj1_hr"
    assert registry_name("obj3_lmm_fes_p_prose", names) == "obj3_lmm_fes_p"
    assert registry_name("obj4_data_sha256_short_text", names) is None
    assert registry_name("obj1_hr_ci", names) is None
    assert anchor("obj1_hr") == "reg-obj1_hr"
    assert json.dumps(anchor("a_b")) == '"reg-a_b"'
