"""Wall time and peak memory of each chapter of a ``sonimage build`` (e.g. on a 10,000-patient cohort).

Usage::

    python benchmarks/build_memory.py --data /tmp/big --build /tmp/big_build [--jobs 2] [--interval 0.5] \
        [--param sonia_n_randomised=20000]

Runs ``sonimage build`` as a child process and samples its process tree every ``--interval`` seconds. Each
notebook kernel is named by the file its stderr goes to when that is ``BUILD/notebooks/<chapter>.kernel.log``
at the first sample that sees it (ipykernel soon replaces its fd 2 with a pipe, so the name is kept from then
on), otherwise by start order: the k-th kernel to start (``/proc/<pid>/stat`` start time) runs the k-th notebook the
build announces (``<chapter>: executing``; the pool takes them first in, first out). Its peak resident memory
is the kernel's own high-water mark
(``VmHWM`` in ``/proc/<pid>/status``, read until it exits, so a peak in its last ``--interval`` may be missed).
The peak of the whole tree (sum of the resident memory of all its processes at one sample) is printed too.
Wall seconds per chapter come from ``BUILD/notebooks/timings.json``. The per-chapter figures are written to
``BUILD/notebooks/peak_memory.json``. Linux only (``/proc``); a script that prints, never a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _kernel(pid: int) -> tuple[int, str | None] | None:
    """(start time, chapter from the stderr file or None) of a notebook kernel; None for another process."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        target = os.readlink(f"/proc/{pid}/fd/2")
        start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
    if b"ipykernel" not in cmd:
        return None
    return start, (Path(target).name[: -len(".kernel.log")] if target.endswith(".kernel.log") else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--build", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to sonimage build, e.g. sonia_n_randomised=20000 for a cohort larger than "
                             "SONIA's 1,050 (chapter 00 refuses more enrolled than randomised)")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "sonimage_utils.cli", "build", "--data", str(args.data), "--build",
           str(args.build), "--jobs", str(args.jobs), *[a for p in args.param for a in ("--param", p)]]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    announced: list[str] = []

    def echo():  # the build's progress lines, kept for the start order
        for line in proc.stdout:
            sys.stdout.write(line)
            if line.rstrip().endswith(": executing"):
                announced.append(line.strip().split(":")[0])

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    kernels: dict[int, list] = {}  # pid -> [start, name or None, peak kB]
    tree_peak = 0
    while proc.poll() is None:
        pids = _tree(proc.pid)
        tree_peak = max(tree_peak, sum(_status_kb(p, "VmRSS") for p in pids))
        for p in pids:
            k = kernels.get(p) or _kernel(p)
            if k is None:
                continue
            entry = kernels.setdefault(p, [k[0], k[1], 0])
            entry[2] = max(entry[2], _status_kb(p, "VmHWM"))
        time.sleep(args.interval)
    reader.join(timeout=5)
    wall = time.perf_counter() - t0
    peak_kb: dict[str, int] = {}
    for i, (_, name, kb) in enumerate(sorted(kernels.values(), key=lambda v: v[0])):
        name = name or (announced[i] if i < len(announced) else f"kernel {i + 1}")
        peak_kb[name] = max(peak_kb.get(name, 0), kb)
    timings_path = args.build / "notebooks" / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    print(f"sonimage build exit status {proc.returncode}; wall {wall / 60:.1f} min; "
          f"peak of the process tree {tree_peak / 2**20:.2f} GB")
    print(f"{'chapter':28s} {'wall s':>8s} {'peak GB':>8s}")
    for name in sorted(set(peak_kb) | set(timings)):
        print(f"{name:28s} {timings.get(name, float('nan')):8.1f} {peak_kb.get(name, 0) / 2**20:8.2f}")
    if (args.build / "notebooks").is_dir():
        (args.build / "notebooks" / "peak_memory.json").write_text(json.dumps(
            {"peak_rss_gb": {k: round(v / 2**20, 3) for k, v in sorted(peak_kb.items())},
             "tree_peak_rss_gb": round(tree_peak / 2**20, 3), "wall_seconds": round(wall, 1)}, indent=2) + "\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
