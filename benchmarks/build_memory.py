"""Wall time and peak memory of each chapter of a ``sonimage build`` (e.g. on a 10,000-patient cohort).

Usage::

    python benchmarks/build_memory.py --data /tmp/big --build /tmp/big_build [--jobs 2] [--interval 0.5]

Runs ``sonimage build`` as a child process and samples its process tree every ``--interval`` seconds. Each
notebook kernel is named by the file its stderr goes to (the build sends a kernel's stderr to
``BUILD/notebooks/<chapter>.kernel.log``); its peak resident memory is the kernel's own high-water mark
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


def _chapter(pid: int) -> str | None:
    try:
        target = os.readlink(f"/proc/{pid}/fd/2")
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if b"ipykernel" not in cmd or not target.endswith(".kernel.log"):
        return None
    return Path(target).name[: -len(".kernel.log")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--build", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "sonimage_utils.cli", "build", "--data", str(args.data), "--build",
           str(args.build), "--jobs", str(args.jobs)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak_kb: dict[str, int] = {}
    tree_peak = 0
    while proc.poll() is None:
        pids = _tree(proc.pid)
        tree_peak = max(tree_peak, sum(_status_kb(p, "VmRSS") for p in pids))
        for p in pids:
            name = _chapter(p)
            if name:
                peak_kb[name] = max(peak_kb.get(name, 0), _status_kb(p, "VmHWM"))
        time.sleep(args.interval)
    wall = time.perf_counter() - t0
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
