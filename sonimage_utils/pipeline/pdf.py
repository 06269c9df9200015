"""``sonimage build --pdf``: the book as one A4 PDF, ``BUILD/sonimage-sap-<version>.pdf``.

Route: Jupyter Book's one-page HTML build (``singlehtml``, the same Sphinx sources, numbering and tables
as the HTML book) is reduced to its article, given a title page, a table of contents and the print
stylesheet ``pdf.css``, and typeset by WeasyPrint (a pip package on top of Pango, no LaTeX):

- tables are the HTML tables themselves (pandas Stylers included), typeset as tables;
- figures are the vector copies ``BUILD/figures/<name>.svg`` that
  :func:`sonimage_utils.pipeline.report.save_figure` writes beside the PNG, found through the figure's
  cell (its ``mystnb.figure.name`` is the HTML figure's id, its ``save_figure(..., "<name>", ...)`` call
  the file); a figure without one keeps its PNG, and the build log says how many;
- the captions and their numbers are the HTML's (the same Sphinx numbering);
- a synthetic build carries "SYNTHETIC DATA" in the header of every page and across every page;
- files the book links for software (the frozen model ``models/*.json``) are attached to the PDF, and the
  link opens the attachment, instead of being printed.

The toolchain is checked by :func:`toolchain_problem` before any notebook runs.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import time
from pathlib import Path

__all__ = ["PDF_CSS", "WATERMARK", "pdf_name", "toolchain_problem", "figure_files", "print_html", "write_pdf",
           "build_pdf"]

#: The print stylesheet.
PDF_CSS = Path(__file__).with_name("pdf.css")
#: The marking of a synthetic build, on every page.
WATERMARK = "SYNTHETIC DATA"
#: Tables with more columns than this are set in a smaller type (class ``wide`` of the print stylesheet).
WIDE_TABLE_COLUMNS = 7
#: One line saying what to install, for a machine without the PDF toolchain.
INSTALL_HINT = ("--pdf needs WeasyPrint: pip install -e '.[pdf]' (or `make pdf`); it uses the system's Pango "
                "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)")


def pdf_name(version: str) -> str:
    """File name of the PDF of book version ``version``.

    >>> pdf_name("0.1.0+3f2a1bc")
    'sonimage-sap-0.1.0+3f2a1bc.pdf'
    """
    return f"sonimage-sap-{version}.pdf"


def toolchain_problem() -> str | None:
    """None when the PDF can be made here; else one line saying what to install."""
    try:
        import weasyprint  # noqa: F401  (imports Pango through cffi: a missing library fails here)
    except ImportError:
        return INSTALL_HINT
    except OSError as exc:  # WeasyPrint is installed but Pango is not
        return f"{INSTALL_HINT} ({str(exc).splitlines()[0]})"
    return None


_SAVED = re.compile(r"save_figure\(\s*[^,]+,\s*[\"']([^\"']+)[\"']")


def figure_files(notebooks: Path, figures: Path, suffix: str = ".svg") -> dict:
    """HTML figure id -> ``figures/<name><suffix>``, for every figure cell of the executed notebooks whose
    file exists.

    A figure cell carries ``metadata.mystnb.figure.name`` (the id of the HTML ``<figure>``) and calls
    ``save_figure(fig, "<name>", build_dir)`` once.
    """
    found = {}
    for nb in sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
            source = "".join(cell.get("source", ""))
            saved = _SAVED.findall(source)
            if name and len(saved) == 1 and (Path(figures) / f"{saved[0]}{suffix}").is_file():
                found[name] = Path(figures) / f"{saved[0]}{suffix}"
    return found


def _front_matter(soup, title: str, version: str, synthetic: bool, built: str, contents: list):
    """Title page and contents, as bs4 elements."""
    from bs4 import BeautifulSoup

    statement = (f'<div class="synthetic-statement">{WATERMARK}: this book was built from the simulated demo '
                 'cohort, not from study data. Its numbers illustrate the analysis only.</div>' if synthetic else "")
    items = "".join(f'<li><a href="#{html_lib.escape(i)}">{html_lib.escape(t)}</a></li>' for i, t in contents)
    front = (f'<div class="title-page"><h1>{html_lib.escape(title)}</h1>'
             f'<p class="subtitle">Version {html_lib.escape(version)}</p>'
             f'<p>Built {html_lib.escape(built)} UTC. The HTML book of the same version has the same content, '
             f'tables and figure numbers.</p>{statement}</div>'
             f'<nav class="contents"><h1>Contents</h1><ol>{items}</ol></nav>')
    return BeautifulSoup(front, "html.parser")


def print_html(page: Path, *, version: str, synthetic: bool, title: str, built: str, figures: dict,
               build: Path) -> str:
    """The printable HTML of the one-page build ``page``: its article with a title page and contents, vector
    figures from ``figures`` (id -> SVG), links to ``BUILD/models/*.json`` turned into attachments.

    Returns
    -------
    str
        HTML whose relative links resolve against ``page``'s folder.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article", class_="bd-article") or soup.body
    for tag in article.select("script, .headerlink, .cell_input, button, .toggle-hidden, .copybtn"):
        tag.decompose()
    for fig in article.find_all("figure"):
        svg = figures.get(fig.get("id", ""))
        img = fig.find("img")
        caption = fig.find("figcaption")
        if img is not None and caption is not None:
            img["alt"] = caption.get_text(" ", strip=True)
        if img is not None and svg is not None:
            img["src"] = Path(svg).resolve().as_uri()
            for size in ("style", "width", "height"):  # the book's PNG is shown at a set width; the SVG at its own
                img.attrs.pop(size, None)
    for a in article.find_all("a", href=True):
        target = re.search(r"(?:^|/)models/([^/#?]+\.json)$", a["href"])
        if target and (Path(build) / "models" / target.group(1)).is_file():
            a["href"] = (Path(build) / "models" / target.group(1)).resolve().as_uri()
            a["rel"] = "attachment"
            a["class"] = a.get("class", []) + ["pdf-attachment"]
            a.append(" (attached to this PDF)")
    contents = []  # one entry per page of the HTML book: the one-page build demotes their titles below the first
    for heading in article.find_all(["h1", "h2"]):
        section = heading.parent
        if section.name == "section" and section.get("id") and (
                heading.name == "h1" or section.parent.name != "section"):
            heading["class"] = heading.get("class", []) + ["chapter-title"]
            contents.append((section["id"], heading.get_text(" ", strip=True)))
    styles = "".join(str(s.extract()) for s in article.find_all("style"))  # the pandas Stylers' cell rules
    for table in article.find_all("table"):  # many columns: a smaller type
        header = table.find("tr")
        if header is not None and len(header.find_all(["th", "td"])) > WIDE_TABLE_COLUMNS:
            table["class"] = table.get("class", []) + ["wide"]
    body = soup.new_tag("body")
    if synthetic:
        body["class"] = "synthetic-build"
    meta = soup.new_tag("div", id="pdf-meta")
    meta["data-title"], meta["data-version"] = title, f"Version {version}"
    meta["data-mark"] = WATERMARK if synthetic else ""
    body.append(meta)
    if synthetic:
        mark = soup.new_tag("div", id="watermark")
        mark.string = WATERMARK
        body.append(mark)
    body.append(_front_matter(soup, title, version, synthetic, built, contents))
    for child in list(article.children):
        body.append(child.extract())
    head = (f'<meta charset="utf-8"><title>{html_lib.escape(title)} {html_lib.escape(version)}</title>'
            f'<meta name="generator" content="sonimage build --pdf">{styles}')
    return f"<!DOCTYPE html>\n<html lang=\"en\"><head>{head}</head>{body}</html>\n"


def write_pdf(document: str, base_url: Path, out: Path, attachments=()) -> Path:
    """Typeset ``document`` (HTML) with the print stylesheet into ``out``; attach ``attachments`` (paths)."""
    from weasyprint import CSS, HTML, Attachment

    HTML(string=document, base_url=str(base_url) + "/").write_pdf(
        out, stylesheets=[CSS(filename=str(PDF_CSS))],
        attachments=[Attachment(filename=str(p)) for p in attachments], pdf_identifier=None)
    return out


def build_pdf(singlehtml: Path, build: Path, out: Path, *, version: str, synthetic: bool, title: str,
              notebooks: Path, log=print) -> Path:
    """Make ``out`` (the PDF) from the one-page HTML build folder ``singlehtml``.

    Parameters
    ----------
    singlehtml : Path
        Jupyter Book's ``_build/singlehtml`` folder of the staged book.
    build : Path
        The folder holding ``figures/`` and ``models/`` (the build's stage).
    notebooks : Path
        The executed notebooks (figure cells name their figure files).
    """
    import datetime as dt

    start = time.monotonic()
    pages = sorted(Path(singlehtml).rglob("*.html"), key=lambda p: p.stat().st_size)
    page = pages[-1]  # the one page (index.html only redirects to it)
    figures = figure_files(notebooks, Path(build) / "figures")
    built = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    document = print_html(page, version=version, synthetic=synthetic, title=title, built=built,
                          figures=figures, build=build)
    n_figures = document.count("<figure")
    attachments = sorted((Path(build) / "models").glob("*.json"))
    write_pdf(document, Path(singlehtml), out, attachments=attachments)  # its links are relative to the root
    log(f"PDF {out.name}: {n_figures} figures ({len(figures)} vector), {len(attachments)} attached file(s), "
        f"{time.monotonic() - start:.0f} s")
    return out
