"""Figures leave the plots layer as files: the one place a Figure is written and released."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

__all__ = ["write_figure", "close_figure"]


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
