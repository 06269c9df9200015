"""A local Sphinx extension of the book: every glued number traceable, and a clean page.

Loaded by the staged ``_config.yml`` (``sphinx.extra_extensions``, see
:func:`sonimage_utils.pipeline.book.stage_book`). It

- wraps what the ``{glue:text}`` role pastes (in notebooks and in ``book/*.md`` pages, local or
  ``path::key`` glue alike) so that, in HTML, a glued number whose key is a registry name (or the
  registry name plus ``_text``) is a link to its row of the results appendix, with the registry name, value
  and description on hover;
- gives each row of the results appendix the anchor ``reg-<name>``;
- takes an image's alt text from its figure's caption, never the file path;
- switches Sphinx's figure numbering off (the captions carry the book's own "Figure 01.k");
- drops the duplicated sphinx-thebe configuration script (``Identifier 'THEBE_JS_URL' has already been
  declared``: sphinx-thebe adds it on every ``env-before-read-docs``).

The registry the links point to is read from ``_sonimage_trace.json`` in the book's source folder, which
:func:`~sonimage_utils.pipeline.book.stage_book` writes; without it glue is left as myst-nb renders it.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from myst_nb.ext.glue.roles import PasteTextRole

__all__ = ["TRACE_FILE", "APPENDIX_DOC", "GLUE_SUFFIXES", "anchor", "registry_name", "setup"]

#: The file in the book's source folder that lists the registry: ``{"names": {name: {"value", "description"}}}``.
TRACE_FILE = "_sonimage_trace.json"
#: The docname of the results appendix.
APPENDIX_DOC = "book/results_registry"

#: Suffixes of a glue key that pastes a registry value in another wording.
GLUE_SUFFIXES = ("_text", "_prose")

_TRACE: dict = {}


def anchor(name: str) -> str:
    """The HTML id of a registry entry's row in the results appendix.

    >>> anchor("obj1_hr_heterogeneous")
    'reg-obj1_hr_heterogeneous'
    """
    return f"reg-{name}"


def registry_name(role_text: str, names) -> str | None:
    """The registry name a ``{glue:text}`` role pastes, or None when the key is no registry entry.

    The role text is ``[path::]key[:format]``; the key is a registry name, or a registry name plus one of
    :data:`GLUE_SUFFIXES` (:func:`sonimage_utils.pipeline.report.record` glues ``name`` and ``name_text``; a
    chapter glues its own wording of a registry value as ``name_prose``, e.g. a p-value "<0.001").

    >>> registry_name("../notebooks/01_x.ipynb::obj1_hr_text:s", {"obj1_hr"})
    'obj1_hr'
    >>> registry_name("obj1_hr:.2f", {"obj1_hr"}), registry_name("model_sha256", {"obj1_hr"})
    ('obj1_hr', None)
    >>> registry_name("obj3_lmm_fes_p_prose", {"obj3_lmm_fes_p"})
    'obj3_lmm_fes_p'
    """
    key = role_text.split("::")[-1].split(":")[0].strip()
    if key in names:
        return key
    for suffix in GLUE_SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in names:
            return key[: -len(suffix)]
    return None


def _names(srcdir) -> dict:
    path = Path(srcdir) / TRACE_FILE
    key = str(path)
    if key not in _TRACE:
        _TRACE[key] = json.loads(path.read_text(encoding="utf-8"))["names"] if path.is_file() else {}
    return _TRACE[key]


class TracedPasteTextRole(PasteTextRole):
    """``{glue:text}``, with the pasted nodes wrapped in an inline that carries the registry name."""

    def run(self):
        pasted, messages = super().run()
        name = registry_name(self.text, _names(self.document.settings.env.srcdir))
        if not pasted:
            return pasted, messages
        if name is not None:
            key, target = "sonimage_name", name
        else:
            # a sentence a chapter generated from its registry values (e.g. which form a rule chose, and by how
            # much): it links to the chapter's section of the appendix, where those values are listed
            key, target = "sonimage_chapter", chapter_of(self.text, self.document.settings.env.docname)
            if target is None or not any(ch.isdigit() for n in pasted for ch in n.astext()):
                return pasted, messages
        wrapper = nodes.inline("", "", *pasted, classes=["sonimage-glue"])
        wrapper[key] = target
        return [wrapper], messages


def chapter_of(role_text: str, docname: str) -> str | None:
    """The two-digit chapter whose notebook a ``{glue:text}`` pastes from: the notebook of the role's path,
    else the page's own notebook; None on a page that is no chapter.

    >>> chapter_of("../notebooks/03_lesion_response.ipynb::obj3_fes_form_reason", "book/sap")
    '03'
    >>> chapter_of("obj3_fes_form_reason", "notebooks/03_lesion_response"), chapter_of("x", "book/sap")
    ('03', None)
    """
    source = role_text.split("::")[0] if "::" in role_text else docname
    stem = Path(source).name
    return stem[:2] if stem[:2].isdigit() and stem[2:3] == "_" else None


def _hover(name: str, entry: dict) -> str:
    value = json.dumps(entry.get("value"))
    return f"{name} = {value}: {entry.get('description', '')} (results appendix)"


def _link_glue(app, doctree, docname) -> None:
    """In HTML, each traced glue becomes a link to its appendix row, titled with the registry entry."""
    names = _names(app.srcdir)
    html = app.builder.format == "html"
    for node in list(doctree.findall(nodes.inline)):
        name, chapter = node.get("sonimage_name"), node.get("sonimage_chapter")
        if not (name or chapter) or not html or not node.astext():
            continue
        if name:
            uri = app.builder.get_relative_uri(docname, APPENDIX_DOC) + "#" + anchor(name)
            title = _hover(name, names.get(name, {}))
        else:
            uri = app.builder.get_relative_uri(docname, APPENDIX_DOC) + f"#results-chapter-{chapter}"
            title = (f"text generated from the registry values of chapter {chapter} (results appendix, "
                     f"chapter {chapter})")
        link = nodes.reference("", "", *node.children, internal=True, refuri=uri, reftitle=title,
                               classes=["sonimage-glue"])
        node.children = []
        node += link
    if docname == APPENDIX_DOC:  # anchors on the appendix rows: the first cell is the registry name
        for row in doctree.findall(nodes.row):
            entries = [c for c in row.children if isinstance(c, nodes.entry)]
            if entries and entries[0].astext().strip() in names:
                row["ids"].append(anchor(entries[0].astext().strip()))


def _alt_from_caption(app, doctree, docname) -> None:
    """An image in a figure takes the caption as alt text where its alt is missing or a file path."""
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            alt = image.get("alt", "")
            if not alt or alt == image.get("uri") or "/" in alt or alt.endswith((".png", ".svg", ".jpg")):
                image["alt"] = text


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated identical scripts: sphinx-thebe and sphinx-togglebutton register their inline
    configuration twice (once with filename None, once with ""), and two ``const`` declarations of the same
    name are a SyntaxError in the browser."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        filename = getattr(script, "filename", script) or ""  # an inline script is registered as None or ""
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))  # attributes hold the body
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept  # in place: Sphinx and the theme add to this very list (a new list would drop their scripts)


def _one_numbering(app, config) -> None:
    """No Sphinx "Fig. N" beside the book's own "Figure 01.k": numfig off, whatever set it on.

    sphinx-jupyterbook-latex switches ``numfig`` on in its ``config-inited`` handler for every builder; this
    handler runs after it (priority 900).
    """
    config["numfig"] = False


def setup(app):
    """Register the traced glue role, the link and alt-text passes and the script de-duplication."""
    app.setup_extension("myst_nb")
    app.add_role_to_domain("glue", "text", TracedPasteTextRole(), override=True)
    app.connect("config-inited", _one_numbering, priority=900)
    app.connect("doctree-resolved", _link_glue)
    app.connect("doctree-resolved", _alt_from_caption)
    app.connect("html-page-context", _dedupe_scripts, priority=999)  # last, after the theme added its scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}
