"""Figures leave the plots layer as files: the one place a Figure is written and released."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt

__all__ = ["MAX_VECTOR_MARKS", "write_figure", "close_figure", "JOURNAL_WIDTHS_MM", "PUBLICATION_DPI", "WATERMARK",
           "add_watermark", "write_publication_figure"]

#: Above this many bars, points or segments in one panel, a collection is rasterised in vector output (PDF,
#: SVG): tens of thousands of paths make a file no viewer opens quickly.
MAX_VECTOR_MARKS = 5000

#: Journal column widths (Nature, Lancet and most others): single column 89 mm, double column 183 mm.
JOURNAL_WIDTHS_MM = {"89mm": 89, "183mm": 183}
#: Resolution of the bundle's PNGs (journals ask for 300 dpi for halftones and line art with text).
PUBLICATION_DPI = 300
#: The text stamped across every figure of a synthetic build's bundle.
WATERMARK = "SYNTHETIC DATA"


def write_figure(fig, path, *, dpi: int) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) without a timestamp, so that the same figure gives
    the same bytes; return the path."""
    path = Path(path)
    if path.suffix == ".svg":  # vector copy (the PDF's figures): no date, fixed element ids
        with plt.rc_context({"svg.hashsalt": "sonimage"}):
            fig.savefig(path, bbox_inches="tight", metadata={"Date": None})
        return path
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path


def close_figure(fig) -> None:
    """Release ``fig`` from pyplot's registry (a figure left open is shown again by the notebook)."""
    plt.close(fig)


def add_watermark(fig) -> None:
    """Stamp :data:`WATERMARK` diagonally across ``fig``, light enough to read the data through it."""
    fig.text(0.5, 0.5, WATERMARK, rotation=30, ha="center", va="center", fontsize=36, color="0.5", alpha=0.25,
             fontweight="bold", zorder=1000, transform=fig.transFigure)


def _tight_bbox(fig, dpi: float):
    """The box, in inches, that ``savefig(bbox_inches="tight", dpi=dpi)`` crops ``fig`` to in a raster format:
    its tight bounding box at ``dpi`` (text extents depend on the dpi), padded by ``savefig.pad_inches``.

    Only a figure with a layout engine that places its axes at each draw (constrained or tight layout) is
    drawn first (without rendering), as savefig does; a figure laid out once (``fig.tight_layout()``) has its
    box without a draw, the same to the last bit (checked on the figures of chapters 00-03), at half the cost.
    """
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    original = fig.dpi
    fig.dpi = dpi  # as savefig does while it saves
    try:
        if not isinstance(fig.get_layout_engine(), (type(None), PlaceHolderLayoutEngine)):
            fig.draw_without_rendering()
        return fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    finally:
        fig.dpi = original


def _pngs_at_widths(fig, paths_mm: dict, dpi: int) -> None:
    """PNGs exactly ``width_mm`` wide at ``dpi`` for each ``path -> width_mm`` (layout kept, scaled; aspect kept).

    One render, to raw RGBA pixels, of the figure's tight box at the dpi that makes it exactly the widest PNG's
    pixel width (the box is measured at about that dpi: the widest PNG's pixels over the figure's width); each
    narrower PNG is resampled from it (Lanczos, e.g. 183 to 89 mm: twice the pixels needed, as good as
    rendering it oversampled). The raw pixels are encoded once per width, with no PNG encode and decode in
    between, and as RGB when the figure is opaque (it is, unless a transparent background was asked for): the
    same image in three channels instead of four.
    """
    from PIL import Image

    targets = {path: round(width_mm / 25.4 * dpi) for path, width_mm in paths_mm.items()}
    widest = max(targets.values())
    bbox = _tight_bbox(fig, widest / fig.get_figwidth())  # about the render dpi: the tight box is a bit narrower
    # Agg truncates the pixel size (int(inches * dpi)): half a pixel more makes it exactly ``widest``
    render_dpi = (widest + 0.5) / bbox.width
    size = (int(bbox.width * render_dpi), int(bbox.height * render_dpi))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba", dpi=render_dpi, bbox_inches=bbox)
    pixels = buffer.getbuffer()
    if len(pixels) != 4 * size[0] * size[1]:
        raise RuntimeError(f"matplotlib rendered {len(pixels)} bytes, not the {size[0]} x {size[1]} RGBA pixels "
                           "of the tight box")
    image = Image.frombuffer("RGBA", size, pixels, "raw", "RGBA", 0, 1)
    if image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
    for path, target in sorted(targets.items(), key=lambda kv: -kv[1]):
        out = image if image.width == target else image.resize(
            (target, round(image.height * target / image.width)), Image.LANCZOS)
        out.save(path, format="PNG", dpi=(dpi, dpi))


def write_publication_figure(fig, folder, name: str, *, synthetic: bool) -> dict:
    """Write ``fig`` for a journal: ``<name>.pdf`` and ``<name>.svg`` (vector) and ``<name>_89mm.png`` and
    ``<name>_183mm.png`` (300 dpi, exactly the column width, aspect kept); watermarked in a synthetic build.

    The figure keeps its layout and is scaled to the width (its text is scaled with it). The files carry no
    timestamp. ``fig`` is changed (the watermark is added): call this after the figure was shown.

    Returns
    -------
    dict
        Format ("pdf", "svg", "png_89mm", "png_183mm") to the path written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if synthetic:
        add_watermark(fig)
    files = {}
    with plt.rc_context({"svg.hashsalt": "sonimage", "pdf.compression": 6}):
        files["pdf"] = folder / f"{name}.pdf"
        fig.savefig(files["pdf"], bbox_inches="tight", metadata={"Creator": None, "Producer": None,
                                                                  "CreationDate": None})
        files["svg"] = folder / f"{name}.svg"
        fig.savefig(files["svg"], bbox_inches="tight", metadata={"Date": None, "Creator": None})
    pngs = {label: folder / f"{name}_{label}.png" for label in JOURNAL_WIDTHS_MM}
    _pngs_at_widths(fig, {pngs[label]: width for label, width in JOURNAL_WIDTHS_MM.items()}, PUBLICATION_DPI)
    files.update({f"png_{label}": path for label, path in pngs.items()})
    return files
