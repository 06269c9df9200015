"""The demo book in a real browser: every page, served over http://localhost, in headless Chromium.

Checks, page by page, at 1400 px and at 400 px wide: no console error or uncaught exception, no failed request,
no broken image, no image whose alt text is a file path, no broken internal link or anchor, no literal
``{glue`` or unfilled placeholder, the synthetic banner and the book version shown, glued numbers linked to
the results appendix, and tables that are never cut off (a table wider than the text sits in a container that
scrolls) with real cell padding.

The book is the e2e demo build (``demo_build`` in conftest.py, built once per session and shared with
tests/test_e2e.py), or an existing ``html/`` folder named by ``SONIMAGE_BROWSER_BOOK`` (with its version in
``SONIMAGE_BROWSER_VERSION``) for a quick local run. Without Chromium the test is skipped, unless
``SONIMAGE_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs Chromium), where it fails.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from browser import chromium, find_chromium, problems_in_events, serve

pytestmark = pytest.mark.e2e

#: Viewport widths: a desktop (tables readable) and a phone (tables usable: they scroll).
WIDTHS = (1400, 400)

#: Literal text that must never reach a reader (in the page's text).
PLACEHOLDERS = ("{glue", "<pandas.io.formats.style.Styler", "Styler object at 0x", "{doc}`", "{ref}`", "{cite}`",
                "{numref}`", "*(chapter")
#: Markers of generated parts that must be filled (in the page's HTML, where a left-over comment would hide).
MARKERS = ("<!-- sonimage:",)

#: What the page reports about itself (run in the page after load).
PAGE_CHECK = r"""
(() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const text = document.body.innerText;
  const banner = document.querySelector('.bd-header-announcement');
  const footer = document.querySelector('.sonimage-version');
  const visible = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const images = [...document.images].map(i => ({src: i.currentSrc || i.src, alt: i.getAttribute('alt') || '',
                                                  ok: i.complete && i.naturalWidth > 0}));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const scrolls = el => { const s = getComputedStyle(el).overflowX; return s === 'auto' || s === 'scroll'; };
  const aRect = article.getBoundingClientRect();
  const tables = [...article.querySelectorAll('table')].map((t, k) => {
    const r = t.getBoundingClientRect();
    let box = t.parentElement, scroller = null, clipper = null;
    while (box && box !== article.parentElement) {
      const s = getComputedStyle(box).overflowX;
      if (!scroller && (s === 'auto' || s === 'scroll')) scroller = box;
      if (!clipper && !scroller && (s === 'hidden' || s === 'clip') && t.scrollWidth > box.clientWidth + 1) clipper = box;
      box = box.parentElement;
    }
    const cells = [...t.querySelectorAll('td, th')].filter(c => c.innerText.trim() !== '');
    const tight = cells.filter(c => { const s = getComputedStyle(c);
      return parseFloat(s.paddingLeft) + parseFloat(s.paddingRight) < 8; }).length;
    const truncated = cells.filter(c => /\.\.\.$|\u2026$/.test(c.innerText.trim())).map(c => c.innerText.trim());
    const caption = (t.closest('.cell_output, .pst-scrollable-table-container, .table-wrapper, div') || t)
      .previousElementSibling;
    return {index: k, width: Math.round(r.width), right: Math.round(r.right), columns: t.rows.length ? Math.max(...[...t.rows].map(x => x.cells.length)) : 0,
            fits: r.right <= aRect.right + 1 && r.left >= aRect.left - 1,
            scrollable: !!scroller, clipped: !!clipper, tight_cells: tight, truncated: truncated.slice(0, 3),
            label: (caption && caption.innerText || '').slice(0, 60)};
  });
  const glue = [...document.querySelectorAll('.pasted-text')].map(e => ({linked: !!e.closest('a.sonimage-glue'),
                                                                           text: e.innerText}));
  const glueLinks = [...document.querySelectorAll('a.sonimage-glue')].map(a => ({href: a.href, title: a.title}));
  const source = document.documentElement.outerHTML;
  return {text_has: %PLACEHOLDERS%.filter(p => text.includes(p)).concat(%MARKERS%.filter(m => source.includes(m))),
          banner: banner ? banner.innerText : null, banner_visible: visible(banner),
          footer: footer ? footer.innerText : null, footer_visible: visible(footer),
          images, links, ids, tables, glue, glueLinks,
          page_overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth};
})()
"""


#: A pasted text that is no registry value: a (short) hex hash.
_HASH = re.compile(r"[0-9a-f]{7,64}")


def _book():
    """(html folder, version, synthetic) of the book under test, or None when the session's build is needed."""
    folder = os.environ.get("SONIMAGE_BROWSER_BOOK")
    if folder:
        return Path(folder), os.environ.get("SONIMAGE_BROWSER_VERSION", ""), True
    return None


@pytest.fixture(scope="module")
def book(request):
    given = _book()
    if given:
        return given
    _, build = request.getfixturevalue("demo_build")
    return build / "html", "9.9.9-test", True


@pytest.fixture(scope="module")
def browser_exe():
    exe = find_chromium()
    if exe is None:
        if os.environ.get("SONIMAGE_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium found, and SONIMAGE_REQUIRE_BROWSER=1 (apt-get install chromium)")
        pytest.skip("no chromium (apt-get install chromium, or run .ci/run, which installs it)")
    return exe


def _pages(html: Path) -> list[str]:
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts)


async def _visit_all(exe: str, html: Path, base: str) -> dict:
    reports = {}
    async with chromium(exe) as page:
        for rel in _pages(html):
            for width in WIDTHS:
                events = await page.open(base + rel, width=width)
                check = await page.evaluate(PAGE_CHECK.replace("%PLACEHOLDERS%", json.dumps(PLACEHOLDERS))
                                            .replace("%MARKERS%", json.dumps(MARKERS)))
                check["errors"] = problems_in_events(events)
                check["url"] = await page.evaluate("location.href")
                reports[(rel, width)] = check
    return reports


@pytest.fixture(scope="module")
def visited(book, browser_exe):
    """Every page at every width, with the book still served (the link test asks the server)."""
    html, version, synthetic = book
    assert (html / "index.html").is_file(), f"no book at {html}"
    # the build folder is the server's root, as the README says to serve it: the version switcher reads
    # /versions/switcher.json and the versions page links the kept copies in versions/
    with serve(html.parent) as root:
        base = f"{root}{html.name}/"
        start = time.monotonic()
        reports = asyncio.run(_visit_all(browser_exe, html, base))
        print(f"browser: {len(reports)} page loads in {time.monotonic() - start:.1f} s ({base})")
        yield {"html": html, "version": version, "synthetic": synthetic, "base": base, "reports": reports}
    gc.collect()
    import socket

    left = [o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() != -1
            and o.type == socket.SOCK_STREAM and _peer(o)]
    assert not left, f"the browser session left sockets open: {left}"  # else they warn in a later test


def _peer(sock):
    try:
        return sock.getpeername()
    except OSError:
        return None


def _content_pages(visited):
    """Reports of the pages a reader reads (the root index.html only redirects)."""
    return {k: r for k, r in visited["reports"].items() if r["url"].rstrip("/") != visited["base"].rstrip("/")
            and not k[0] == "index.html"}


def test_every_page_loads_without_console_error_or_failed_request(visited):
    bad = {f"{rel} @{w}px": r["errors"] for (rel, w), r in visited["reports"].items() if r["errors"]}
    assert not bad, json.dumps(bad, indent=1)


def test_no_literal_glue_or_placeholder_on_any_page(visited):
    bad = {rel: r["text_has"] for (rel, w), r in visited["reports"].items() if r["text_has"]}
    assert not bad, bad


def test_every_page_shows_the_synthetic_banner_and_the_version(visited):
    pages = _content_pages(visited)
    assert len(pages) >= 2 * 10
    for (rel, width), r in pages.items():
        if visited["synthetic"]:
            assert r["banner_visible"] and "SYNTHETIC DATA" in r["banner"], (rel, width, r["banner"])
        assert r["footer_visible"] and visited["version"] in r["footer"], (rel, width, r["footer"])
        if visited["synthetic"]:
            assert visited["version"] in r["banner"], (rel, width, r["banner"])


def test_no_broken_image_and_alt_text_is_never_a_file_path(visited):
    for (rel, width), r in visited["reports"].items():
        for image in r["images"]:
            assert image["ok"], (rel, image["src"])
            alt = image["alt"]
            assert alt and "_images/" not in alt and not alt.lower().endswith((".png", ".svg", ".jpg")), (rel, image)


def test_no_broken_internal_link_or_anchor(visited):
    base = visited["base"]
    ids = {urllib.parse.urlsplit(r["url"]).path: set(r["ids"]) for r in visited["reports"].values()}
    checked, bad = {}, []
    # the server's root is the build folder: a link to a kept version (versions/) is internal too
    server = urllib.parse.urlunsplit(urllib.parse.urlsplit(base)[:2] + ("/", "", ""))
    for (rel, width), r in visited["reports"].items():
        if width != WIDTHS[0]:
            continue
        for href in r["links"]:
            parts = urllib.parse.urlsplit(href)
            if parts.scheme in ("mailto", "javascript"):
                continue
            if not href.startswith(server):
                assert parts.scheme == "https", (rel, href)  # external: only well-formed https (CI is offline)
                continue
            target = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            if target not in checked:
                try:
                    with urllib.request.urlopen(target, timeout=10) as resp:
                        checked[target] = resp.status
                except urllib.error.HTTPError as e:
                    checked[target] = e.code
                    e.close()
            if checked[target] != 200:
                bad.append((rel, href, checked[target]))
            elif parts.fragment and parts.path in ids and urllib.parse.unquote(parts.fragment) not in ids[parts.path]:
                bad.append((rel, href, "no such anchor"))
    assert not bad, bad[:20]


def test_every_glued_number_links_to_its_row_of_the_results_appendix(visited):
    html = visited["html"]
    registry = None
    results = html.parent / "results" / "results.json"
    if results.is_file():
        registry = json.loads(results.read_text())
    n_linked, chapters = 0, set()
    for (rel, width), r in visited["reports"].items():
        if width != WIDTHS[0]:
            continue
        for link in r["glueLinks"]:
            if "#results-chapter-" in link["href"]:  # a generated sentence: to its chapter's registry section
                assert "results_registry.html#results-chapter-" in link["href"], link
                assert link["title"].startswith("text generated from the registry values of chapter"), link
                chapters.add(link["href"].split("#", 1)[1])
                continue
            name = link["href"].split("#reg-", 1)[1]
            assert "results_registry.html#reg-" in link["href"] and link["title"].startswith(name + " = "), link
            if registry is not None:
                assert name in registry, name
            n_linked += 1
        # a pasted number that is no registry entry (a hash, a list of names) may stay unlinked; numbers may not
        for g in r["glue"]:
            if not g["linked"]:
                assert not any(ch.isdigit() for ch in g["text"]) or _HASH.fullmatch(g["text"].strip()), (rel, g)
    assert n_linked >= 50
    records = html.parent / "results" / "registry.json"
    if registry is not None:  # the registry records where each entry was computed
        where = json.loads(records.read_text())
        assert set(where) == set(registry)
        assert all(re.fullmatch(r"cell-\d{3}", w["cell"]) and re.fullmatch(r"\d\d_\w+", w["notebook"])
                   for name, w in where.items() if name != "sap_n_deviations")
    appendix = [r for (rel, w), r in visited["reports"].items() if rel.endswith("results_registry.html")]
    assert appendix
    if registry is not None:
        assert {f"reg-{n}" for n in registry} <= set(appendix[0]["ids"])
    assert chapters <= set(appendix[0]["ids"]), chapters - set(appendix[0]["ids"])


def test_tables_are_never_cut_off_and_have_real_cell_padding(visited):
    bad = []
    for (rel, width), r in visited["reports"].items():
        for t in r["tables"]:
            if t["clipped"] or (not t["fits"] and not t["scrollable"]):
                bad.append((rel, width, "cut off", t))
            if t["truncated"]:
                bad.append((rel, width, "truncated cell text", t))
            if t["tight_cells"]:
                bad.append((rel, width, "cells without padding", t))
        if width == WIDTHS[0] and r["page_overflow"] > 1:
            bad.append((rel, width, "the page scrolls sideways", r["page_overflow"]))
    assert not bad, json.dumps(bad[:10], indent=1)
