"""The journal bundle ``BUILD/publication/``: every table and figure of the book as files an author can submit.

While a notebook runs, :func:`~sonimage_utils.pipeline.report.save_table` writes the tidy and the formatted CSV
of a table and :func:`~sonimage_utils.pipeline.report.save_figure` the PDF, SVG and 300 dpi PNGs of a figure;
the output that shows the table or figure names it in its metadata
(:data:`~sonimage_utils.pipeline.report.EXPORT_MIME`). A table saved but never shown (the data behind a
figure) is exported unnumbered. After the
run, :func:`build_publication` reads the executed notebooks, pairs each export with its number and caption as
the book shows them, writes each table's DOCX and LaTeX, and the ``manifest.json`` that maps every file to its
number, caption and chapter.

Layout::

    publication/
      manifest.json
      tables/<name>.csv        tidy numeric (rules: sonimage_utils.tables.export)
      tables/<name>.docx       formatted, "Table NN.k. caption", footnotes and abbreviations
      tables/<name>.tex        formatted, booktabs (both only for tables of at most MAX_TYPESET_ROWS rows)
      figures/<name>.pdf|.svg  vector
      figures/<name>_89mm.png, <name>_183mm.png   300 dpi, single and double journal column

In a synthetic build every file is marked: a ``data`` column = ``SYNTHETIC`` in each CSV, the title prefix
"SYNTHETIC DATA - " in each DOCX and LaTeX table, a watermark on each figure, ``"synthetic": true`` in the
manifest.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pandas as pd

from sonimage_utils.pipeline.report import EXPORT_MIME, MAX_TYPESET_ROWS, download_line
from sonimage_utils.tables.export import (SYNTHETIC_PREFIX, TIDY_SIGNIFICANT_DIGITS, write_docx, write_latex)

__all__ = ["ABBREVIATIONS", "CSV_RULES", "collect_exports", "build_publication", "zip_publication",
           "publication_links", "link_figures"]

#: Abbreviations explained under a table or figure that uses them (matched as whole words).
ABBREVIATIONS = {
    "AUC": "area under the ROC curve", "BOR": "best overall response", "C": "concordance index",
    "CDK4/6i": "cyclin-dependent kinase 4/6 inhibitor", "CI": "confidence interval", "CR": "complete response",
    "ET": "endocrine therapy", "FDG": "18F-fluorodeoxyglucose", "FES": "16α-18F-fluoro-17β-estradiol",
    "GEE": "generalised estimating equations", "HR": "hazard ratio", "HS": "heterogeneity score",
    "ICI": "integrated calibration index", "IPA": "index of prediction accuracy", "IPCW": "inverse probability of "
    "censoring weighting", "LMM": "linear mixed model", "MC": "Monte Carlo", "NE": "not evaluable",
    "ORR": "objective response rate", "PD": "progressive disease", "PET": "positron emission tomography",
    "PFS1": "progression-free survival on first-line therapy", "PR": "partial response",
    "Q1": "first quartile", "Q3": "third quartile", "RMST": "restricted mean survival time",
    "SD": "stable disease or standard deviation (as the row says)", "SE": "standard error",
    "SUV": "standardised uptake value", "SUVmax": "maximum standardised uptake value",
}

#: The one sentence stating how the tidy CSVs are written (in the manifest and under every DOCX/LaTeX table).
CSV_RULES = ("CSV: one row per table row, no index column; an estimate with its interval as three number columns "
             "(<col>, <col> ci_low, <col> ci_high); percentages as proportions (0-1); a bound such as <0.001 as "
             "its number with the sign in '<col> note'; values parsed from the display carry its precision, "
             f"other floats {TIDY_SIGNIFICANT_DIGITS} significant digits; full precision in results/results.json.")

_TABLE_CAPTION = re.compile(r"^\s*\*\*Table (\d\d\.\d+)\.\*\*\s*(.*)", re.S)


def _markdown(output) -> str | None:
    data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
    return data.get("text/markdown")


def _export(output) -> dict | None:
    """The export named in the metadata of the output that shows a table or figure."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return None
    return output.get("data", {}).get(EXPORT_MIME) or output.get("metadata", {}).get(EXPORT_MIME)


def collect_exports(notebook_path) -> list[dict]:
    """The tables and figures a notebook exported, in order, with their number and caption.

    A table's caption is the "**Table NN.k.** ..." Markdown output of the same cell nearest to its export;
    other Markdown outputs of a cell with one table are its footnotes. A figure's caption and label come from
    the cell's ``mystnb.figure`` metadata, its number "Figure NN.k" from its order in the chapter.

    Returns
    -------
    list of dict
        ``kind``, ``name``, ``chapter``, ``notebook``, ``number`` (None for a table the book does not
        number), ``caption``, ``notes``, ``label`` (figures).
    """
    path = Path(notebook_path)
    nb = nbformat.read(path, as_version=4)
    chapter = path.stem[:2]
    out, n_figures = [], 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        exports = [(i, _export(o)) for i, o in enumerate(outputs) if _export(o)]
        if not exports:
            continue
        captions = [(i, _TABLE_CAPTION.match(_markdown(o))) for i, o in enumerate(outputs)
                    if _markdown(o) and _TABLE_CAPTION.match(_markdown(o))]
        others = [_markdown(o).strip() for o in outputs if _markdown(o) and not _TABLE_CAPTION.match(_markdown(o))
                  ]
        tables = [e for e in exports if e[1]["kind"] == "table"]
        claimed = set()
        for i, export in exports:
            item = {"kind": export["kind"], "name": export["name"], "chapter": chapter, "notebook": path.stem,
                    "number": None, "caption": None, "notes": [], "label": None}
            if export["kind"] == "figure":
                n_figures += 1
                meta = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
                item.update(number=f"Figure {chapter}.{n_figures}", caption=meta.get("caption"),
                            label=meta.get("name"))
            else:
                free = [(abs(j - i) + (0.5 if j < i else 0), j, m) for j, m in captions if j not in claimed]
                if free:
                    _, j, m = min(free)
                    claimed.add(j)
                    item.update(number=f"Table {m[1]}", caption=" ".join(m[2].split()))
                if len(tables) == 1:
                    item["notes"] = [" ".join(t.split()) for t in others]
            out.append(item)
    return out


def _abbreviations(text: str) -> str:
    used = [k for k in ABBREVIATIONS if re.search(rf"(?<![\w/]){re.escape(k)}(?![\w/])", text)]
    return ("Abbreviations: " + "; ".join(f"{k}, {ABBREVIATIONS[k]}" for k in used) + ".") if used else ""


def build_publication(build_dir, *, synthetic: bool, version: str | None = None) -> Path:
    """Write ``BUILD/publication/`` from the executed notebooks in ``BUILD/notebooks`` (see the module).

    Files of tables and figures no longer exported by any notebook are removed.

    Parameters
    ----------
    build_dir : path
        The build (or its stage) holding ``notebooks/``, ``tables/`` and ``publication/figures/``.
    synthetic : bool
        Mark every file as synthetic (the CSV column and figure watermark were written by the notebook).
    version : str, optional
        Recorded in the manifest.

    Returns
    -------
    Path
        ``BUILD/publication``.

    Raises
    ------
    ValueError
        If two exports share a name, or an exported table's CSV is missing.
    """
    build = Path(build_dir)
    folder = build / "publication"
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    notebooks = sorted((build / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    items = [e for nb in notebooks for e in collect_exports(nb)]
    shown = {e["name"] for e in items if e["kind"] == "table"}
    by_chapter = {nb.stem[:2]: nb.stem for nb in notebooks}
    for formatted in sorted((build / "tables").glob("[0-9][0-9]_*_formatted.csv")):  # saved, never shown
        name = formatted.name[:-len("_formatted.csv")]
        if name not in shown and name[:2] in by_chapter:
            items.append({"kind": "table", "name": name, "chapter": name[:2], "notebook": by_chapter[name[:2]],
                          "number": None, "caption": None, "notes": [], "label": None})
    seen = {}
    for item in items:
        key = (item["kind"], item["name"])
        if key in seen:
            raise ValueError(f"{item['kind']} {item['name']!r} is exported twice ({seen[key]} and "
                             f"{item['notebook']}); give each export its own name")
        seen[key] = item["notebook"]
    files, keep = {}, {folder / "manifest.json"}
    for item in items:
        name, title = item["name"], item["caption"] or item["name"]
        number = item["number"] or f"Table {item['chapter']} ({name}, not numbered in the book)"
        if item["kind"] == "table":
            tidy, formatted = build / "tables" / f"{name}.csv", build / "tables" / f"{name}_formatted.csv"
            if not tidy.exists() or not formatted.exists():
                raise ValueError(f"table {name!r} of {item['notebook']} was exported but {tidy} or {formatted} "
                                 "is missing; re-run the notebook")
            display = pd.read_csv(formatted, dtype=str, keep_default_na=False)
            text = " ".join([title, *display.columns, *display.astype(str).to_numpy().ravel()])
            notes = list(item["notes"])
            if abbreviations := _abbreviations(text):
                notes.append(abbreviations)
            if synthetic:
                notes.append("SYNTHETIC DATA: computed from the simulated demo cohort, not from SONImage study "
                             "data; the numbers illustrate the analysis only.")
            paths = {"csv": folder / "tables" / f"{name}.csv"}
            shutil.copyfile(tidy, paths["csv"])
            if len(display) <= MAX_TYPESET_ROWS:
                paths.update({"docx": folder / "tables" / f"{name}.docx", "tex": folder / "tables" / f"{name}.tex"})
                write_docx(display, paths["docx"], number=number, title=title, notes=notes, synthetic=synthetic)
                write_latex(display, paths["tex"], number=number, title=title, notes=notes, synthetic=synthetic)
            else:
                item["csv_only"] = (f"{len(display)} rows, more than {MAX_TYPESET_ROWS}: data for a supplement, not a "
                                    "typeset table; the CSV only")
            item["notes"] = notes
        else:
            paths = {fmt: folder / "figures" / f"{name}{suffix}" for fmt, suffix in
                     (("pdf", ".pdf"), ("svg", ".svg"), ("png_89mm", "_89mm.png"), ("png_183mm", "_183mm.png"))}
            missing = [str(p.name) for p in paths.values() if not p.exists()]
            if missing:
                raise ValueError(f"figure {name!r} of {item['notebook']} was exported but {', '.join(missing)} "
                                 "is missing; re-run the notebook")
        item["files"] = {fmt: str(p.relative_to(folder)) for fmt, p in paths.items()}
        keep.update(paths.values())
        for fmt, p in paths.items():
            files[str(p.relative_to(folder))] = {"kind": item["kind"], "format": fmt, "number": item["number"],
                                                 "caption": item["caption"], "chapter": item["chapter"],
                                                 "name": name}
    for stale in [p for p in folder.rglob("*") if p.is_file() and p not in keep]:
        stale.unlink()
    manifest = {"synthetic": synthetic, "version": version, "csv_rules": CSV_RULES,
                "max_typeset_rows": MAX_TYPESET_ROWS,
                "synthetic_marking": ("CSV: a first column data = SYNTHETIC; DOCX and LaTeX: title prefix "
                                      f"'{SYNTHETIC_PREFIX.strip(' -')}'; figures: a diagonal watermark")
                if synthetic else None,
                "tables": [i for i in items if i["kind"] == "table"],
                "figures": [i for i in items if i["kind"] == "figure"], "files": dict(sorted(files.items()))}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    return folder


def zip_publication(folder, target) -> Path:
    """Zip ``folder`` (the bundle) into ``target`` with fixed timestamps, so the same files give the same zip."""
    folder, target = Path(folder), Path(target)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"publication/{path.relative_to(folder).as_posix()}", (2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    return target


def publication_links(version: str, pdf: bool) -> str:
    """The front page's Markdown (raw HTML links, relative to ``html/book/intro.html``) to the bundle and PDF."""
    links = ['<a href="../publication.zip">the journal bundle (publication.zip)</a>: every table as tidy CSV, '
             'DOCX and LaTeX and every figure as PDF, SVG and 300 dpi PNG, with <code>manifest.json</code>']
    if pdf:
        links.append(f'<a href="../sonimage-sap-{version}.pdf">the book as PDF (sonimage-sap-{version}.pdf)</a>')
    return "**Downloads:** " + "; ".join(links) + "."


def link_figures(html_dir, manifest) -> int:
    """Add the download line under each rendered figure of the bundle (found by its label, the ``id`` of its
    ``<figure>`` in ``html/notebooks/<notebook>.html``); return how many figures were linked.

    A figure cell shows only the figure (myst-nb makes every visible output of a figure cell a figure), so
    its line is added here, from the manifest, instead of by the notebook.
    """
    html_dir, linked = Path(html_dir), 0
    by_page = {}
    for figure in manifest.get("figures", []):
        if figure.get("label"):
            by_page.setdefault(figure["notebook"], []).append(figure)
    for notebook, figures in by_page.items():
        page = html_dir / "notebooks" / f"{notebook}.html"
        if not page.exists():
            continue
        text = page.read_text(encoding="utf-8")
        for figure in figures:
            m = re.search(rf'<figure[^>]*\bid="{re.escape(figure["label"])}"[^>]*>.*?</figure>', text, re.S)
            if m:
                text = text[:m.end()] + "\n" + download_line("figure", figure["name"]) + text[m.end():]
                linked += 1
        page.write_text(text, encoding="utf-8")
    return linked
