"""The PDF (``sonimage build --pdf``): what the print HTML is made of, and the PDF of the demo book read back.

The end-to-end test builds the demo book with ``--pdf`` (cheaper resampling, as in test_e2e.py) and reads the
PDF with pypdf: A4, a page count in range, no placeholder text, "SYNTHETIC DATA" on every page, every table
and figure number of the HTML book, vector figures, the frozen model attached. ``make test-pdf`` runs it alone.
"""

import json
import re
import sys

import pytest

from sonimage_utils.pipeline import pdf as pdfmod

needs_toolchain = pytest.mark.skipif(pdfmod.toolchain_problem() is not None,
                                     reason=str(pdfmod.toolchain_problem()))

PAGE = """<html><body><div class="bd-sidebar">nav</div><article class="bd-article">
<section id="intro"><h1>Intro<a class="headerlink" href="#intro">#</a></h1><p>Text.</p>
<section id="sub"><h2>Sub</h2><p>More.</p></section></section>
<section id="chapter-one"><h2>01 Chapter one</h2>
<div class="cell_input">code()</div>
<style>#T_a td {color: red}</style>
<table id="T_a"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>
<table><tr>{wide}</tr></table>
<figure id="fig-01-km"><img alt="_images/x.png" src="_images/x.png" style="width: 724px;"/>
<figcaption><p><span class="caption-number">Fig. 1 </span><span class="caption-text">Curves.</span></p></figcaption>
</figure>
<p><a href="../../models/benefit_model.json">models/benefit_model.json</a></p>
</section></article></body></html>
""".replace("{wide}", "<td>x</td>" * (pdfmod.WIDE_TABLE_COLUMNS + 1))


def _notebook(path, cells):
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_01_pdf_name():
    assert pdfmod.pdf_name("1.2.3+abc") == "sonimage-sap-1.2.3+abc.pdf"


def test_02_figure_files_map_figure_ids_to_the_saved_svg(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "01_km.svg").write_text("<svg/>")
    _notebook(tmp_path / "01_x.ipynb", [
        {"cell_type": "code", "metadata": {"mystnb": {"figure": {"name": "fig-01-km"}}},
         "source": 'save_figure(km.figures["km"], "01_km", build_dir)'},
        {"cell_type": "code", "metadata": {"mystnb": {"figure": {"name": "fig-01-missing"}}},
         "source": 'save_figure(f, "01_not_written", build_dir)'},
        {"cell_type": "code", "metadata": {}, "source": 'save_figure(f, "01_km", build_dir)'}])
    assert pdfmod.figure_files(tmp_path, tmp_path / "figures") == {"fig-01-km": tmp_path / "figures" / "01_km.svg"}


def test_03_print_html(tmp_path):
    page = tmp_path / "intro.html"
    page.write_text(PAGE)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "benefit_model.json").write_text("{}")
    svg = tmp_path / "01_km.svg"
    doc = pdfmod.print_html(page, version="1.0", synthetic=True, title="Book", built="2026-01-01 00:00",
                            figures={"fig-01-km": svg}, build=tmp_path)
    assert "bd-sidebar" not in doc and "code()" not in doc and "headerlink" not in doc
    assert svg.resolve().as_uri() in doc and 'alt="Fig. 1 Curves."' in doc
    assert "724px" not in doc  # the SVG at its own size, not at the width the book shows its PNG
    assert 'rel="attachment"' in doc and (tmp_path / "models" / "benefit_model.json").resolve().as_uri() in doc
    assert doc.count('id="watermark"') == 1 and 'data-mark="SYNTHETIC DATA"' in doc
    assert '<a href="#intro">Intro</a>' in doc and '<a href="#chapter-one">01 Chapter one</a>' in doc
    assert '<a href="#sub">' not in doc  # a section of a page is not in the contents
    assert doc.index("#T_a td") < doc.index("<body")  # the Styler's rules go to the head
    assert doc.count('class="wide"') == 1
    real = pdfmod.print_html(page, version="1.0", synthetic=False, title="Book", built="x", figures={},
                             build=tmp_path)
    assert "watermark" not in real and 'data-mark=""' in real and "SYNTHETIC" not in real


@needs_toolchain
def test_04_every_page_is_a4_and_marked(tmp_path):
    from pypdf import PdfReader

    body = "".join(f"<h2 class='chapter-title'>Part {i}</h2><p>{'Words. ' * 400}</p>" for i in range(3))
    doc = (f"<html><body class='synthetic-build'><div id='pdf-meta' data-title='T' data-version='Version 1'"
           f" data-mark='{pdfmod.WATERMARK}'></div><div id='watermark'>{pdfmod.WATERMARK}</div>{body}</body></html>")
    out = pdfmod.write_pdf(doc, tmp_path, tmp_path / "x.pdf")
    reader = PdfReader(out)
    assert len(reader.pages) >= 3
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
        text = page.extract_text()
        assert pdfmod.WATERMARK in text and "Version 1" in text
        assert re.search(r"Page \d+ of \d+", text)


def test_05_a_missing_toolchain_stops_the_build_before_any_notebook_runs(tmp_path, monkeypatch, capsys):
    from sonimage_utils.cli.main import main

    monkeypatch.setattr(pdfmod, "toolchain_problem", lambda: "--pdf needs WeasyPrint: pip install -e '.[pdf]'")
    assert main(["build", "--build", str(tmp_path / "build"), "--pdf"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install -e '.[pdf]'" in err
    build = tmp_path / "build"  # the build folder is locked for the command, but nothing was made in it
    assert not [p.name for p in build.iterdir() if p.name in ("notebooks", "demo_data", "results", "html")]


#: Cheaper resampling for the test build (as tests/test_e2e.py; analysis.yml has the SAP values).
@pytest.fixture(scope="module")
def demo_pdf(demo_build):
    """The PDF of the session's demo build (conftest.py: built with --pdf, shared with the e2e and browser tests)."""
    if pdfmod.toolchain_problem():
        pytest.fail(pdfmod.toolchain_problem())  # CI installs it from the lock: missing is a failure
    _, build = demo_build
    return build, build / pdfmod.pdf_name("9.9.9-test")


@pytest.mark.e2e
@pytest.mark.pdf
def test_06_the_demo_book_pdf(demo_pdf):
    from pypdf import PdfReader

    build, path = demo_pdf
    assert path.is_file()
    reader = PdfReader(path)
    pages = [p.extract_text() for p in reader.pages]
    assert 40 <= len(pages) <= 160, len(pages)
    for i, (page, text) in enumerate(zip(reader.pages, pages), start=1):
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842), i
        assert pdfmod.WATERMARK in text, f"page {i} lacks the synthetic marking"
        assert "9.9.9-test" in text, f"page {i} lacks the version"
    text = "\n".join(pages)
    for placeholder in ("<pandas.io", "Styler object", "{glue", "glue:text"):
        assert placeholder not in text, placeholder
    html = "\n".join(p.read_text(encoding="utf-8") for p in (build / "html").rglob("*.html"))
    html_tables = set(re.findall(r"Table \d\d\.\d+\b", html))
    html_figures = set(re.findall(r"Figure \d\d\.\d+\b", html))  # one numbering: the book's own, per chapter
    assert len(html_tables) >= 30 and len(html_figures) >= 15
    flat = re.sub(r"\s+", " ", text)
    assert html_tables - set(re.findall(r"Table \d\d\.\d+\b", flat)) == set()
    assert html_figures - set(re.findall(r"Figure \d\d\.\d+\b", flat)) == set()
    assert not re.search(r"\bFig\. \d+", flat)  # no second, Sphinx numbering
    assert "benefit_model.json" in reader.attachments


@pytest.mark.e2e
@pytest.mark.pdf
def test_07_figures_are_vector(demo_pdf):
    from pypdf import PdfReader

    build, path = demo_pdf
    assert len(list((build / "figures").glob("*.svg"))) == len(list((build / "figures").glob("*.png")))
    images = 0
    for page in PdfReader(path).pages:
        xobjects = page.get("/Resources", {}).get("/XObject", {}) or {}
        images += sum(1 for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image")
    assert images == 0  # every figure drawn from its SVG, none as a bitmap
