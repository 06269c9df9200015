"""The journal bundle BUILD/publication/ and the tidy CSV exports (issue 13 item 2, issue 11 item 4).

A small notebook that exports as the chapters do (save_table, the caption, show; save_figure in a figure cell)
is executed by a real kernel; the bundle is then built from it and checked file by file.
"""

import json
import math
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient
from PIL import Image

from sonimage_utils.pipeline.publication import build_publication, collect_exports, link_figures, zip_publication
from sonimage_utils.tables.export import (SYNTHETIC_COLUMN, SYNTHETIC_VALUE, TIDY_SIGNIFICANT_DIGITS, parse_cell,
                                          tidy_table)
from sonimage_utils.tables.format import format_estimate_ci, format_p

SETUP = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sonimage_utils.pipeline.report import save_figure, save_table, show, show_markdown, synthetic_notice
from sonimage_utils.tables.format import format_estimate_ci, format_p
build_dir = {build!r}
synthetic_notice(True)
"""

TABLE = """
cox = pd.DataFrame({"Variable": ["Heterogeneity group", "First-line arm"],
                    "HR (95% CI)": [format_estimate_ci(1.3512, 0.8523, 2.1404), format_estimate_ci(0.41, 0.25, 0.67)],
                    "p": [format_p(0.198), format_p(0.00002)]})
save_table(cox, "02_cox", build_dir)
show_markdown("**Table 02.1.** Cox model of PFS1, primary analysis set (n = 100, 75 events).")
show(cox.style.hide(axis="index"))
show_markdown("Exploratory; unadjusted for multiplicity.")
"""

NUMERIC = """
km = pd.DataFrame({"time": [6.0, 12.0], "auc": [0.49973368947397706, 0.6284034506085527], "n": [100, 90]})
save_table(km, "02_auc", build_dir)
show_markdown("**Table 02.2.** AUC(t), primary analysis set (n = 100).")
show(pd.DataFrame({"Months": ["6", "12"], "AUC": ["0.50", "0.63"]}))  # the display version of the saved frame
"""

LATER = """
flow = pd.DataFrame({"Step": ["Enrolled", "Analysed"], "n": [100, 98]})
save_table(flow, "02_flow", build_dir)
"""

LATER_SHOWN = """
show_markdown("**Table 02.3.** Patient flow (n = 100 enrolled).")
show(flow)
"""

FIGURE = """
fig, ax = plt.subplots(figsize=(8, 5))
ax.plot([0, 12, 24], [1, 0.7, 0.4])
save_table(pd.DataFrame({"months": [0, 12, 24], "pfs": [1.0, 0.7, 0.4]}), "02_km_data", build_dir)
save_figure(fig, "02_km", build_dir)
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    (build / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP.format(build=str(build))), nbformat.v4.new_code_cell(TABLE),
                nbformat.v4.new_code_cell(NUMERIC), nbformat.v4.new_code_cell(FIGURE),
                nbformat.v4.new_code_cell(LATER), nbformat.v4.new_code_cell(LATER_SHOWN)]
    nb.cells[3].metadata["mystnb"] = {"figure": {"caption": "PFS1, primary analysis set (n = 100).",
                                                  "name": "fig-02-km"}}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, build / "notebooks" / "02_test.ipynb")
    folder = build_publication(build, synthetic=True, version="0.0.0+test")
    return build, folder, nb, json.loads((folder / "manifest.json").read_text())


def test_every_table_and_figure_number_of_the_book_is_in_the_manifest(bundle):
    build, folder, nb, manifest = bundle
    shown = set()
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            shown.update(re.findall(r"\*\*(Table \d\d\.\d+)\.\*\*", o.get("data", {}).get("text/markdown", "")))
    figure_cells = [c for c in nb.cells if "figure" in c.metadata.get("mystnb", {})]
    numbered = {t["number"] for t in manifest["tables"] if t["number"]}
    assert numbered == shown == {"Table 02.1", "Table 02.2", "Table 02.3"}  # 02.3: saved a cell before shown
    # the data behind a figure, saved but not shown, is exported unnumbered
    assert [t["name"] for t in manifest["tables"] if not t["number"]] == ["02_km_data"]
    assert [f["number"] for f in manifest["figures"]] == ["Figure 02.1"] and len(figure_cells) == 1
    assert manifest["figures"][0]["caption"] == "PFS1, primary analysis set (n = 100)."
    for path, entry in manifest["files"].items():  # every file maps to its number, caption and chapter
        assert (folder / path).is_file(), path
        assert entry["chapter"] == "02"
        assert (entry["number"] and entry["caption"]) or entry["name"] == "02_km_data"
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == set(manifest["files"]) | {"manifest.json"}


def test_the_tidy_csv_is_numeric_has_no_index_column_and_no_long_floats(bundle):
    build, folder, nb, manifest = bundle
    cox = pd.read_csv(folder / "tables" / "02_cox.csv")
    assert list(cox.columns) == [SYNTHETIC_COLUMN, "Variable", "HR", "HR ci_low", "HR ci_high", "p", "p note"]
    assert (cox[SYNTHETIC_COLUMN] == SYNTHETIC_VALUE).all()
    assert cox["HR"].tolist() == [1.35, 0.41] and cox["HR ci_high"].tolist() == [2.14, 0.67]
    assert cox["p"].tolist() == [0.198, 0.001] and cox["p note"].fillna("").tolist() == ["", "<"]
    auc = pd.read_csv(folder / "tables" / "02_auc.csv")
    assert auc["auc"].tolist() == [0.4997, 0.6284]  # TIDY_SIGNIFICANT_DIGITS = 4
    assert auc["n"].dtype.kind == "i"
    for path in (folder / "tables").glob("*.csv"):
        text = path.read_text()
        assert not text.startswith(",") and "Unnamed" not in text
        assert not re.search(r"\d\.\d{%d,}" % (TIDY_SIGNIFICANT_DIGITS + 2), text), path.name
        assert not re.search(r"\d \(-?\d[^)]* to ", text), path.name  # no "1.35 (0.85 to 2.14)" left
    assert pd.read_csv(build / "tables" / "02_auc_formatted.csv", dtype=str).columns.tolist() == ["Months", "AUC"]
    formatted = pd.read_csv(build / "tables" / "02_cox_formatted.csv", dtype=str)
    assert formatted["HR (95% CI)"].tolist()[0] == "1.35 (0.85 to 2.14)"  # the display version is kept


def test_docx_opens_with_python_docx_and_carries_number_title_synthetic_prefix_and_notes(bundle):
    import docx

    build, folder, nb, manifest = bundle
    document = docx.Document(str(folder / "tables" / "02_cox.docx"))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "SYNTHETIC DATA - Table 02.1. Cox model of PFS1, primary analysis set (n = 100, 75 events)."
    assert "Exploratory; unadjusted for multiplicity." in texts
    assert any(t.startswith("Abbreviations:") and "HR, hazard ratio" in t and "CI, confidence interval" in t
               for t in texts)
    grid = document.tables[0]
    assert [c.text for c in grid.rows[0].cells] == ["Variable", "HR (95% CI)", "p"]
    assert grid.rows[1].cells[1].text == "1.35 (0.85 to 2.14)" and len(grid.rows) == 3


def test_latex_is_booktabs_with_number_and_synthetic_prefix(bundle):
    build, folder, nb, manifest = bundle
    tex = (folder / "tables" / "02_cox.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"{\bfseries SYNTHETIC DATA - Table 02.1.}" in tex
    assert r"First-line arm & 0.41 (0.25 to 0.67) & \textless{}0.001 \\" in tex


def test_figures_are_vector_and_300_dpi_png_at_the_journal_column_widths(bundle):
    build, folder, nb, manifest = bundle
    assert (folder / "figures" / "02_km.pdf").read_bytes().startswith(b"%PDF")
    svg = (folder / "figures" / "02_km.svg").read_text()
    assert "<svg" in svg and "SYNTHETIC DATA" in svg  # the watermark (its text is kept in a comment of the SVG)
    for label, mm in (("89mm", 89), ("183mm", 183)):
        with Image.open(folder / "figures" / f"02_km_{label}.png") as image:
            image.load()
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)  # PNG stores pixels per metre
        assert image.width == round(mm / 25.4 * 300)
        assert image.height / image.width == pytest.approx(5 / 8, rel=0.05)  # aspect kept (tight box)


def test_the_figure_cell_shows_the_saved_png_at_the_inline_size_and_names_the_export(bundle):
    import base64

    from sonimage_utils.pipeline.report import EXPORT_MIME

    build, folder, nb, manifest = bundle
    (output,) = nb.cells[3].outputs  # one output: myst-nb makes each output of a figure cell a figure
    saved = (build / "figures" / "02_km.png").read_bytes()
    assert base64.b64decode(output["data"]["image/png"]) == saved  # the very PNG of BUILD/figures, not a re-render
    assert output["metadata"][EXPORT_MIME] == {"kind": "figure", "name": "02_km"}
    with Image.open(build / "figures" / "02_km.png") as image:  # 200 dpi; shown at the figure's 100 dpi
        assert output["metadata"]["image/png"] == {"width": round(image.width / 2)}
        assert image.info["dpi"] == pytest.approx((200, 200), abs=0.01) and 0.7 * 8 * 200 < image.width <= 8 * 200


def test_journal_pngs_are_rgb_for_an_opaque_figure_and_keep_a_transparent_background(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sonimage_utils.plots.figure import write_publication_figure

    for transparent in (False, True):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [0, 1])
        if transparent:
            fig.patch.set_alpha(0)
            ax.patch.set_alpha(0)
        files = write_publication_figure(fig, tmp_path / str(transparent), "f", synthetic=False)
        plt.close(fig)
        for label, mm in (("89mm", 89), ("183mm", 183)):
            with Image.open(files[f"png_{label}"]) as image:
                image.load()
            assert image.width == round(mm / 25.4 * 300)
            assert image.height / image.width == pytest.approx(3 / 4, rel=0.05)
            assert image.mode == ("RGBA" if transparent else "RGB")
            if transparent:
                assert image.getchannel("A").getextrema()[0] == 0  # the background stays see-through


def test_the_download_line_follows_each_table_and_figure(bundle):
    build, folder, nb, manifest = bundle
    outputs = nb.cells[1].outputs
    html = [o.get("data", {}).get("text/html", "") for o in outputs]
    line = next(i for i, t in enumerate(html) if "Download:" in t)
    assert "<table" in html[line - 1]  # right under the table
    assert '<a href="../publication/tables/02_cox.docx">DOCX</a>' in html[line]
    assert len(nb.cells[3].outputs) == 1  # a figure cell shows the figure only (myst-nb makes each output a figure)
    page = build / "html" / "notebooks" / "02_test.html"
    page.parent.mkdir(parents=True)
    page.write_text('<p>x</p><figure class="align-default" id="fig-02-km"><img/></figure><p>y</p>')
    assert link_figures(build / "html", manifest) == 1
    assert re.search(r'</figure>\n<p class="sonimage-download">.*"../publication/figures/02_km_183mm.png"',
                     page.read_text())


def test_the_zip_holds_the_bundle_and_is_reproducible(bundle, tmp_path):
    build, folder, nb, manifest = bundle
    a, b = zip_publication(folder, tmp_path / "a.zip"), zip_publication(folder, tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()


def test_collect_exports_pairs_each_table_with_the_nearest_caption_of_its_cell(bundle):
    build, folder, nb, manifest = bundle
    items = collect_exports(build / "notebooks" / "02_test.ipynb")
    assert [(i["name"], i["number"]) for i in items] == [("02_cox", "Table 02.1"), ("02_auc", "Table 02.2"),
                                                         ("02_km", "Figure 02.1"), ("02_flow", "Table 02.3")]


@pytest.mark.parametrize("est,low,high,percent", [(1.3512, 0.85, 2.14, False), (-0.04, -0.12, 0.01, False),
                                                   (0.7, 0.57, 0.82, True), (17.0, 12.1, float("nan"), False)])
def test_parse_cell_reads_back_the_one_estimate_with_ci_style(est, low, high, percent):
    digits = 0 if percent else 2
    cell = parse_cell(format_estimate_ci(est, low, high, digits, percent=percent))
    scale = 100 if percent else 1
    assert cell["value"] == pytest.approx(round(est * scale, digits) / scale)
    assert cell["ci_low"] == pytest.approx(round(low * scale, digits) / scale)
    if math.isnan(high):
        assert "ci_high" not in cell and cell["note"] == "upper limit not reached"
    else:
        assert cell["ci_high"] == pytest.approx(round(high * scale, digits) / scale)


def test_a_percentage_becomes_a_proportion_without_float_noise():
    assert parse_cell("1.4%") == {"value": 0.014} and parse_cell("80.7% (1.2%)") == {"value": 0.807, "second": 0.012}


def test_tidy_table_flattens_a_multi_level_table_one_into_label_columns():
    columns = pd.MultiIndex.from_tuples([("Grouped by arm", "Overall"), ("Grouped by arm", "ET")])
    index = pd.MultiIndex.from_tuples([("Age, median [Q1,Q3]", ""), ("Post-menopausal, n (%)", "yes")])
    table = pd.DataFrame([["64.6 [59.3,71.5]", "67.3 [60.7,71.5]"], ["95 (95.0)", "47 (94.0)"]], index=index,
                         columns=columns)
    tidy = tidy_table(table)
    assert list(tidy.columns[:4]) == ["label", "label 2", "Grouped by arm: Overall", "Grouped by arm: Overall q1"]
    assert tidy["Grouped by arm: ET"].tolist() == [67.3, 47.0]
    assert tidy["Grouped by arm: Overall (in parentheses)"].tolist()[1] == 95.0
    assert all(tidy[c].dtype.kind == "f" for c in tidy.columns[2:])
    assert format_p(0.2)  # the formatting layer is the one this parses
    assert np.isnan(tidy["Grouped by arm: ET q1"][1])


def test_a_table_longer_than_max_typeset_rows_is_exported_as_csv_only(tmp_path):
    from sonimage_utils.pipeline.report import MAX_TYPESET_ROWS, download_line

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "tables").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "notebooks" / "03_x.ipynb")
    long = pd.DataFrame({"patient": range(MAX_TYPESET_ROWS + 1), "sod_mm": 1.5})
    short = long.head(MAX_TYPESET_ROWS)
    for name, frame in (("03_long", long), ("03_short", short)):
        frame.to_csv(tmp_path / "tables" / f"{name}.csv", index=False)
        frame.to_csv(tmp_path / "tables" / f"{name}_formatted.csv", index=False)
    folder = build_publication(tmp_path, synthetic=True, version="0.0.0+test")
    manifest = json.loads((folder / "manifest.json").read_text())
    tables = {t["name"]: t for t in manifest["tables"]}
    assert (folder / "tables" / "03_long.csv").exists()
    assert not (folder / "tables" / "03_long.docx").exists() and not (folder / "tables" / "03_long.tex").exists()
    assert str(MAX_TYPESET_ROWS + 1) in tables["03_long"]["csv_only"]
    assert (folder / "tables" / "03_short.docx").exists() and "csv_only" not in tables["03_short"]
    assert "DOCX" not in download_line("table", "03_long", MAX_TYPESET_ROWS + 1)
    assert "DOCX" in download_line("table", "03_short", MAX_TYPESET_ROWS)
