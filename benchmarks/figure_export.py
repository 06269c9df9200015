"""Benchmark: CPU seconds to export one figure as a chapter does (``save_figure``), step by step.

The figures are those of chapters 00-03 of the demo build, made by running the code of
``notebooks/0[0-3]_*.py`` with ``save_figure`` replaced by a collector (a few seconds). Each figure is then
exported by the real :func:`sonimage_utils.pipeline.report.save_figure` inside an IPython shell with the
inline backend, as in a kernel, so that ``display(fig)`` costs what it costs in a build. Steps are timed by
wrapping matplotlib's ``print_figure`` (one line per format and dpi) and ``display``; "other" is the rest
(PIL decode, resize and encode of the journal PNGs, file writes).

Times are CPU seconds of this process (``time.process_time``), the best of ``--repeats`` exports of a fresh
export of each figure (the figures are not pickled: some hold lambdas). Run it on another checkout for the "before" column, e.g.
``PYTHONPATH=/path/to/main python benchmarks/figure_export.py --input BUILD/input``.

Measured (2 cores, shared machine), mean of the 16 figures: 0.99 s before, 0.64 s after; journal PNGs one
raw RGBA render encoded as RGB (PNG render 0.18 + PIL 0.30 -> RGBA render 0.09 + PIL 0.15), the notebook shows
the saved 200-dpi PNG instead of the inline backend's render (0.10 -> 0.00); book PNG, book and journal SVG
and PDF unchanged (0.14, 0.17, 0.09).

Usage: ``python benchmarks/figure_export.py --input BUILD/input [--repeats 2] [--only 01_km_heterogeneity]``
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import re
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def collect_figures(input_dir: Path, chapters: str = "0[0-3]") -> dict:
    """name -> Figure, for every ``save_figure`` of the chapter notebooks matching ``chapters``."""
    import sonimage_utils.pipeline.report as report

    figures = {}
    real = report.save_figure
    report.save_figure = lambda fig, name, build_dir, **kw: figures.__setitem__(name, fig)
    try:
        with tempfile.TemporaryDirectory() as build:
            for nb in sorted(NOTEBOOKS.glob(f"{chapters}_*.py")):
                namespace = {}
                for block in re.split(r"^(?=# %%)", nb.read_text(encoding="utf-8"), flags=re.M):
                    if not block.startswith("# %%") or "[markdown]" in block.splitlines()[0]:
                        continue
                    source = (block.replace('data_dir = "demo_data"', f"data_dir = {str(input_dir)!r}")
                              .replace('build_dir = "."', f"build_dir = {build!r}"))
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(source, str(nb), "exec"), namespace)
    finally:
        report.save_figure = real
    return figures


def kernel_like_shell():
    """An IPython shell with the inline backend whose display outputs are captured (not printed)."""
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.enable_gui = lambda gui=None: None  # no event loop: a kernel has none for the inline backend either
    shell.enable_matplotlib("inline")
    shell.display_pub = CapturingDisplayPublisher()
    return shell


def timed_export(fig, name: str, build: Path) -> collections.Counter:
    """Export ``fig`` with ``save_figure``, then take its watermark off again; CPU seconds per step."""
    from matplotlib.backend_bases import FigureCanvasBase

    import sonimage_utils.pipeline.report as report

    steps = collections.Counter()
    real_print, real_display = FigureCanvasBase.print_figure, report.display
    where = []

    def print_figure(self, filename, *args, **kwargs):
        fmt = kwargs.get("format") or Path(str(getattr(filename, "name", filename))).suffix.lstrip(".") or "?"
        dpi = kwargs.get("dpi")
        # the journal PNGs are rendered at a dpi fitted to the figure's width: one line for all of them
        resolution = ("" if not isinstance(dpi, (int, float)) else f" {dpi:.0f} dpi" if float(dpi).is_integer()
                      else " journal dpi")
        label = f"{'display ' if where else ''}savefig {fmt}{resolution}"
        t = time.process_time()
        try:
            return real_print(self, filename, *args, **kwargs)
        finally:
            steps[label] += time.process_time() - t

    def display(*args, **kwargs):
        where.append(1)
        t = time.process_time()
        try:
            return real_display(*args, **kwargs)
        finally:
            where.pop()
            steps["display (all)"] += time.process_time() - t

    n_texts = len(fig.texts)
    FigureCanvasBase.print_figure, report.display = print_figure, display
    try:
        t = time.process_time()
        report.save_figure(fig, name, build)
        steps["total"] = time.process_time() - t
    finally:
        FigureCanvasBase.print_figure, report.display = real_print, real_display
        for text in fig.texts[n_texts:]:  # the watermark: the next export starts from the same figure
            text.remove()
    steps["other (PIL, files)"] = steps["total"] - sum(v for k, v in steps.items()
                                                        if k.startswith("savefig") or k == "display (all)")
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="the input folder of a demo build")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", default=None, help="one figure name")
    args = parser.parse_args()

    t = time.perf_counter()
    figures = collect_figures(args.input)
    print(f"{len(figures)} figures of chapters 00-03 made in {time.perf_counter() - t:.1f} s")
    if args.only:
        figures = {args.only: figures[args.only]}
    shell = kernel_like_shell()
    best = {}
    with tempfile.TemporaryDirectory() as build:
        for name, fig in figures.items():
            runs = [timed_export(fig, name, Path(build)) for _ in range(args.repeats)]
            best[name] = min(runs, key=lambda s: s["total"])
            shell.display_pub.outputs.clear()
    labels = sorted({k for s in best.values() for k in s} - {"total"}, key=lambda k: (k.startswith("other"), k))
    width = max(len(k) for k in labels + ["total"])
    print(f"\nCPU seconds per figure (best of {args.repeats}), mean over {len(best)} figures:")
    for label in labels + ["total"]:
        print(f"  {label:<{width}}  {sum(s[label] for s in best.values()) / len(best):6.3f}")
    print(f"\nper figure, total: " + ", ".join(f"{n} {s['total']:.2f}" for n, s in best.items()))
    print(f"all {len(best)} figures: {sum(s['total'] for s in best.values()):.1f} s CPU")


if __name__ == "__main__":
    main()
