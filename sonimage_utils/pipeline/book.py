"""``sonimage build``: render the executed notebooks and the prose pages into a versioned HTML book.

The book is staged in the build's stage (``BUILD/.next/.book``, see :mod:`sonimage_utils.pipeline.run`)
and rendered there with Sphinx warnings as errors; the HTML joins the stage, and only a build that
succeeded whole publishes it together with its notebooks, tables, figures and results, so a failed build
leaves the previous book untouched. Each published book is also kept as ``BUILD/versions/<version>/`` and
listed in ``BUILD/versions/versions.json``.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from sonimage_utils import __version__
from sonimage_utils.pipeline.pages import (data_dictionary_page, parameter_table, provenance_page, registry_trace,
                                           results_appendix_page, summary_page)
from sonimage_utils.pipeline import versions
from sonimage_utils.pipeline.params import project_root
from sonimage_utils.pipeline.sap import deviations_page, frozen_sap_statement
from sonimage_utils.pipeline.run import RunResult, build_session, input_files, on_publish
from sonimage_utils.pipeline.sphinx_trace import TRACE_FILE

__all__ = ["BuildFailed", "git_state", "default_version", "build_inputs", "stage_book", "render_book", "book_key", "build_book"]


class BuildFailed(RuntimeError):
    """Rendering failed; ``log`` holds the renderer's output."""

    def __init__(self, message: str, log: str = ""):
        self.log = log
        super().__init__(message)


def git_state(root=None) -> tuple[str, bool]:
    """(short commit hash or "unknown", whether the work tree has uncommitted changes)."""
    root = Path(root or project_root())
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, check=True).stdout.strip())
        return commit, dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False


def default_version(inputs: dict | None = None) -> str:
    """The default book version: with a build's ``inputs`` (:func:`~sonimage_utils.pipeline.versions.version_inputs`)
    the package version, git short hash and a hash of the inputs, e.g. ``0.1.0+3f2a1bc.9e41d07a``
    (:func:`~sonimage_utils.pipeline.versions.default_version_name`), so that builds from different data,
    parameters or scope never share a name; without, package version plus git short hash."""
    if inputs is not None:
        return versions.default_version_name(inputs)
    commit, _ = git_state()
    return f"{__version__}+{commit}"


def build_inputs(run: RunResult, outputs: Path | None = None) -> dict:
    """The inputs that identify a version of the book built from ``run`` (``outputs``: the folder holding the
    run's ``input/`` copy of the data, default ``run.build``)."""
    outputs = Path(outputs) if outputs else run.build
    data = outputs / "input" if (outputs / "input").is_dir() else Path(run.data_dir)
    return versions.version_inputs(data, run.values, run.overrides, run.notebooks, git_state(), run.synthetic)


def _banner(version: str, synthetic: bool) -> str:
    if synthetic:
        return (f"<strong>SYNTHETIC DATA</strong>: this book was built from the simulated demo cohort, not from "
                f"study data. Book version {version}.")
    return f"SONImage statistical analysis report, version {version}."


def _page_requires(page: Path) -> list:
    """Notebook numbers a prose page links into (front matter ``sonimage_requires``); [] when none."""
    text = page.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return []
    front = yaml.safe_load(text.split("---\n", 2)[1]) or {}
    return [str(n).zfill(2) for n in front.get("sonimage_requires", [])]


def stage_book(run: RunResult, version: str, stage: Path, notebooks: Path | None = None, pdf: bool = False) -> Path:
    """Copy config, prose pages and executed notebooks (from ``notebooks``, default ``BUILD/notebooks``)
    into ``stage`` with generated parts filled in (``pdf``: the front page links the PDF)."""
    from sonimage_utils.pipeline.publication import publication_links

    notebooks = Path(notebooks) if notebooks else run.build / "notebooks"
    root = project_root()
    if stage.exists():
        shutil.rmtree(stage)
    src = stage / "src"
    shutil.copytree(root / "book", src / "book")
    if (root / "book" / "_static").is_dir():  # Jupyter Book links every CSS and JS file of <source>/_static
        shutil.copytree(root / "book" / "_static", src / "_static")
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    ran = {f"notebooks/{stem}" for stem in run.notebooks}
    numbers = {stem[:2] for stem in run.notebooks}
    for part in toc["parts"]:  # a partial run (--only) renders a partial book
        part["chapters"] = [c for c in part["chapters"] if c["file"] in ran or (
            not c["file"].startswith("notebooks/") and set(_page_requires(root / f"{c['file']}.md")) <= numbers)]
    toc["parts"] = [p for p in toc["parts"] if p["chapters"]]
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config['title']} ({version})"
    config.setdefault("sphinx", {}).setdefault("config", {}).setdefault("html_theme_options", {})
    config["sphinx"]["config"]["html_theme_options"]["announcement"] = _banner(version, run.synthetic)
    # the theme options of sphinx.config replace those Jupyter Book derives from html.extra_footer: set it here
    footer = f"<p class=\"sonimage-version\">Book version {version}.</p>"
    config["sphinx"]["config"]["html_theme_options"]["extra_footer"] = footer
    config.setdefault("html", {})["extra_footer"] = footer
    extensions = config["sphinx"].setdefault("extra_extensions", [])
    if _EXTENSION not in extensions:
        extensions.append(_EXTENSION)
    config["sphinx"]["config"]["html_theme_options"].update(versions.switcher_options(version))
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (src / "_static").mkdir(exist_ok=True)
    models = notebooks.parent / "models"  # the frozen model, linked from its chapter: the book carries a copy
    if models.is_dir():
        shutil.copytree(models, src / "_static" / "models", dirs_exist_ok=True)
    (src / "_static" / "sonimage-versions.js").write_text(versions.SWITCHER_JS, encoding="utf-8")
    (src / "notebooks").mkdir()
    for stem in run.notebooks:
        shutil.copy2(notebooks / f"{stem}.ipynb", src / "notebooks" / f"{stem}.ipynb")
    commit, dirty = git_state()
    info = {"version": version, "build_date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "git_commit": commit, "git_dirty": dirty, "synthetic": run.synthetic, "data_dir": run.data_dir,
            "files": input_files(run.data_dir), "values": run.values, "overrides": run.overrides,
            "notebooks": run.notebooks}
    results = notebooks.parent / "results"
    sap = _read_json(results / "deviations.json", {"frozen_sap": None, "deviations": []})
    registry = _read_json(results / "results.json", {})
    statement = frozen_sap_statement(sap["frozen_sap"])
    inputs = build_inputs(run, notebooks.parent)
    current = {"version": version, "results": registry, "inputs": inputs}
    trace = registry_trace(notebooks, run.notebooks, registry)
    (src / TRACE_FILE).write_text(json.dumps({"names": {e["name"]: {"value": e["value"], "description": e["description"]}
                                                        for e in trace}}, indent=1, sort_keys=True), encoding="utf-8")
    fills = [("book/sap.md", "parameters", parameter_table(run.overrides)),
             ("book/sap.md", "frozen-sap", statement),
             ("book/deviations.md", "deviations", deviations_page(sap["frozen_sap"], sap["deviations"])),
             ("book/summary.md", "summary", summary_page(registry, run.notebooks)),
             ("book/data_dictionary.md", "data-dictionary", data_dictionary_page()),
             ("book/provenance.md", "frozen-sap", statement + f" Deviations listed: {len(sap['deviations'])} "
              "(see {doc}`deviations`)."),
             ("book/provenance.md", "provenance", provenance_page(info)),
             ("book/versions.md", "versions", versions.versions_page(run.build, version, inputs)),
             ("book/changes.md", "changes", versions.changes_page(versions.previous_kept(run.build, version),
                                                                 current)),
             ("book/intro.md", "downloads", publication_links(version, pdf)),
             ("book/results_registry.md", "results-registry", results_appendix_page(trace))]
    for page in (src / "book").glob("*.md"):  # a page may glue from a chapter left out (--only): say so instead
        body = page.read_text(encoding="utf-8")
        cut = _ABSENT_GLUE.sub(lambda m: m.group(0) if m.group(1) in numbers else
                               f"*(chapter {m.group(1)} not in this build)*", body)
        if cut != body:
            page.write_text(cut, encoding="utf-8")
    for page, marker, text in fills:
        path = src / page
        if not path.exists():  # a page left out of _toc.yml is not filled
            continue
        body = path.read_text(encoding="utf-8")
        tag = f"<!-- sonimage:{marker} -->"
        if tag not in body:
            raise BuildFailed(f"{page} lacks the marker {tag}")
        path.write_text(body.replace(tag, text), encoding="utf-8")
    return src


#: The book's local Sphinx extension (glue linked to the results appendix, alt text, one thebe script).
_EXTENSION = "sonimage_utils.pipeline.sphinx_trace"

#: A glue from a chapter's notebook in a prose page: ``{glue:text}`../notebooks/NN_name.ipynb::key```.
_ABSENT_GLUE = re.compile(r"\{glue:text\}`\.\./notebooks/(\d\d)_[^`:]*\.ipynb::[^`]*`")


def _read_json(path: Path, default):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def render_book(src: Path, out: Path, builder: str = "html") -> Path:
    """Run Jupyter Book on ``src`` with warnings as errors (``-W -n``); return the output folder.

    Raises
    ------
    BuildFailed
        With the renderer's log when Sphinx reports an error or a warning.
    """
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe), "build", str(src), "--path-output", str(out), "--builder", builder, "-W", "-n",
           "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildFailed(f"the book did not render (jupyter-book exit {proc.returncode})",
                          proc.stdout[-6000:] + proc.stderr[-6000:])
    return out / "_build" / (builder if builder in ("html", "singlehtml") else "latex")


def _record_version(build: Path, version: str, html: Path, inputs: dict, log=print) -> None:
    """Keep the published book, its registry, bundle and PDF as ``BUILD/versions/<version>/``."""
    versions.record_version(build, version, html, inputs, pdf=build / f"sonimage-sap-{version}.pdf",
                            publication=build / "publication", log=log)


def _complete_redirect(index: Path, version: str, synthetic: bool) -> None:
    """Give Jupyter Book's root ``index.html`` (a bare redirect to the first page) a document, a title, the
    book's icon (without an icon link a browser asks the server for /favicon.ico and logs a 404), the version
    and, for a synthetic build, the synthetic marking, like every other page."""
    if not index.is_file():
        return
    text = index.read_text(encoding="utf-8")
    if "<html" in text:
        return
    mark = "SYNTHETIC DATA: built from the simulated demo cohort, not from study data. " if synthetic else ""
    body = html_lib.escape(f"{mark}SONImage statistical analysis report, version {version}.")
    index.write_text("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n" + text.strip() + "\n"
                     "<link rel=\"icon\" href=\"_static/favicon.svg\">\n<title>SONImage statistical analysis "
                     f"report {html_lib.escape(version)}</title></head><body><p>{body}</p>"
                     "<p><a href=\"book/intro.html\">The book starts here.</a></p></body></html>\n",
                     encoding="utf-8")


def book_key(run: RunResult, version: str, outputs: Path | None = None) -> str:
    """Hash of everything a rendered book depends on: version, code state, pages, notebooks, data, values.

    ``outputs`` is the folder holding the run's ``notebooks/`` (default ``run.build``).
    """
    import hashlib

    from sonimage_utils.pipeline.execute import hash_files, package_hash

    root = project_root()
    pages = [p.relative_to(root) for p in (root / "_config.yml", root / "_toc.yml", *(root / "book").rglob("*"))
             if p.is_file()]
    outputs = Path(outputs) if outputs else run.build
    notebooks = [p.relative_to(outputs) for p in (outputs / "notebooks").glob("[0-9][0-9]_*.ipynb")]
    # the generated pages read the registry and the deviations (which depend on the frozen SAP in sap/)
    notebooks += [p.relative_to(outputs) for p in (outputs / "results").glob("*.json") if p.name != "run.json"]
    return hashlib.sha256(json.dumps([version, git_state(), package_hash(), run.data_hash, run.values, run.overrides,
                                      run.synthetic, hash_files(pages, root=root),
                                      hash_files(notebooks, root=outputs), run.notebooks],
                                     sort_keys=True, default=str).encode()).hexdigest()


def build_book(run: RunResult, version: str | None = None, pdf: bool = False, log=print) -> Path:
    """Stage and render the book; publish ``BUILD/html`` with the run's outputs; keep the version;
    optionally render the PDF ``BUILD/sonimage-sap-<version>.pdf`` (:mod:`sonimage_utils.pipeline.pdf`).

    Inside an open :func:`~sonimage_utils.pipeline.run.build_session` (``sonimage build``) the book is
    published with the run's notebooks and results when the session ends; otherwise when this returns.

    Returns
    -------
    Path
        ``BUILD/html``.

    Raises
    ------
    BuildFailed
        If the book does not render (nothing is published).
    """
    build = run.build
    html = build / "html"
    if pdf:
        from sonimage_utils.pipeline.pdf import toolchain_problem

        if problem := toolchain_problem():
            raise BuildFailed(problem)
    with build_session(build) as stage:
        inputs = build_inputs(run, stage)
        version = version or default_version(inputs)
        versions.check_version(build, version, inputs)  # a name taken by other inputs: refused, nothing published
        key = book_key(run, version, outputs=stage)
        key_file = build / ".book-key"
        if not pdf and html.exists() and key_file.exists() and key_file.read_text() == key:
            log("book unchanged (same notebooks, pages, data, parameters and version): not re-rendered")
            return html
        work = stage / ".book"
        src = stage_book(run, version, work, notebooks=stage / "notebooks", pdf=pdf)
        log("rendering the book")
        render_book(src, work / "out").rename(stage / "html")
        _complete_redirect(stage / "html" / "index.html", version, run.synthetic)
        if (stage / "publication").is_dir():  # the bundle beside the pages that link it, and as one zip
            from sonimage_utils.pipeline.publication import link_figures, zip_publication

            shutil.copytree(stage / "publication", stage / "html" / "publication")
            link_figures(stage / "html", json.loads((stage / "publication" / "manifest.json").read_text()))
            zip_publication(stage / "publication", stage / "html" / "publication.zip")
        (stage / ".book-key").write_text(key)
        on_publish(build, lambda: _record_version(build, version, html, inputs, log=log))
        if pdf:  # BUILD/sonimage-sap-<version>.pdf, published with the rest
            from sonimage_utils.pipeline.pdf import build_pdf, pdf_name

            log("rendering the PDF")
            title = yaml.safe_load((project_root() / "_config.yml").read_text(encoding="utf-8"))["title"]
            build_pdf(render_book(src, work / "pdf", builder="singlehtml"), stage, stage / pdf_name(version),
                      version=version, synthetic=run.synthetic, title=title, notebooks=stage / "notebooks", log=log)
        for pdf_file in stage.glob("sonimage-sap-*.pdf"):  # linked from the front page
            shutil.copy2(pdf_file, stage / "html" / pdf_file.name)
        shutil.rmtree(work, ignore_errors=True)
    return html
