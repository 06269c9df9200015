"""Every Markdown file the package's docstrings and comments cite is in the repository, and so is the section.

A reference is a path from the repository root (``book/methods.md``, ``README.md``); "``book/methods.md``,
section Kaplan-Meier" also needs a heading "Kaplan-Meier" in that file. String constants count too: the
simulator writes some of these references into ``truth.json``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sonimage_utils"
MD = re.compile(r"(?<![\w./-])(?P<path>[\w./-]*\w\.md)\b(?:``)?(?:[,;:]?\s*\(?section\s+(?P<section>[^\n]*))?")


def _texts(path: Path):
    """(line, text) of every docstring, string constant and comment of a module."""
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string


def _headings(md: Path) -> list[str]:
    return [line.lstrip("#").strip() for line in md.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")]


def references():
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in _texts(path):
            for m in MD.finditer(" ".join(text.split())):
                out.append((f"{path.relative_to(ROOT)}:{line}", m.group("path"), m.group("section")))
    return out


def test_01_references_are_found():
    """The scanner sees the references the package makes (a scanner that finds nothing checks nothing)."""
    cited = {p for _, p, _ in references()}
    assert {"book/methods.md", "README.md"} <= cited


REFERENCES = references()


@pytest.mark.parametrize("where, md, section", REFERENCES, ids=[f"{w}:{md}" for w, md, _ in REFERENCES])
def test_02_cited_markdown_exists(where, md, section):
    target = ROOT / md
    assert target.is_file(), f"{where} cites {md}, which is not in the repository (paths are from its root)"
    if section:
        titles = _headings(target)
        assert any(section.startswith(t) for t in titles), \
            f"{where} cites {md}, section {section!r}; its headings are {titles}"


def test_03_the_methods_page_is_in_the_book():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    assert "book/methods" in [c["file"] for part in toc["parts"] for c in part["chapters"]]


DOTTED = re.compile(r"(?<![\w.])sonimage_utils(?:\.[A-Za-z_]\w*)+")


def _resolves(name: str) -> bool:
    import dataclasses
    import importlib

    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
            if attr in fields:
                return True
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_04_dotted_names_in_the_package_resolve():
    """``sonimage_utils.x.y`` in a docstring or comment names a module or object that exists (no name from
    before the move into subpackages)."""
    stale = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in _texts(path):
            stale += [f"{path.relative_to(ROOT)}:{line}: {m.group(0)}" for m in DOTTED.finditer(text)
                      if not _resolves(m.group(0))]
    assert not stale, "\n".join(stale)
