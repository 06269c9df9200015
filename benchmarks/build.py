"""Build benchmark: cold build, rebuild with nothing changed, and the floor (start a kernel, import the stack).

Prints the figures and the targets of the backbone issue:
  rebuild with nothing changed <= 10% of the cold build;
  cold build <= 2 x (notebooks x floor / jobs + render time).
Usage: .venv/bin/python benchmarks/build.py [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sonimage_utils.pipeline.book import build_book, render_book, stage_book, default_version
from sonimage_utils.pipeline.execute import discover_notebooks
from sonimage_utils.pipeline.run import run_analyses

IMPORTS = ("import numpy, pandas, scipy, statsmodels.api, lifelines, sksurv.linear_model, matplotlib.pyplot, "
           "seaborn, tableone, joblib, myst_nb; import sonimage_utils.data, sonimage_utils.pipeline.report")


def floor_seconds() -> float:
    """Start one kernel, import the analysis stack, shut it down."""
    from jupyter_client.manager import start_new_kernel

    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.execute_interactive(IMPORTS, timeout=300)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"import failed: {reply['content']}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return time.perf_counter() - t0


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    quiet = lambda m: None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build"
        run, t_run = timed(run_analyses, None, build, jobs=args.jobs, log=quiet)
        per_notebook = json.loads((build / "notebooks" / "timings.json").read_text())
        _, t_render_cold = timed(build_book, run, log=quiet)
        cold = t_run + t_render_cold
        run2, t_run2 = timed(run_analyses, None, build, jobs=args.jobs, log=quiet)
        _, t_render2 = timed(build_book, run2, log=quiet)
        rebuild = t_run2 + t_render2
        src = stage_book(run2, default_version(), Path(tmp) / "stage")
        _, render = timed(render_book, src, Path(tmp) / "render")
        shutil.rmtree(Path(tmp) / "stage", ignore_errors=True)
    floor = floor_seconds()
    n = len(discover_notebooks())
    bound = 2 * (n * floor / args.jobs + render)
    print(f"notebooks: {n}, jobs: {args.jobs}")
    print(f"cold build:            {cold:7.1f} s  (run {t_run:.1f} s + render {t_render_cold:.1f} s)")
    for stem, seconds in sorted(per_notebook.items()):
        print(f"  {stem:28s} {seconds:6.1f} s  ({seconds - floor:5.1f} s beyond the floor)")
    print(f"rebuild, no change:    {rebuild:7.1f} s  = {100 * rebuild / cold:.1f}% of cold (target <= 10%)")
    print(f"floor (kernel+import): {floor:7.1f} s per notebook")
    print(f"render alone:          {render:7.1f} s")
    print(f"cold build bound:      {bound:7.1f} s  = 2 x ({n} x {floor:.1f} / {args.jobs} + {render:.1f}); "
          f"cold is {cold / bound:.2f} x the bound (target <= 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
