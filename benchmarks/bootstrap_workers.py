"""Bootstrap workers: forked copies of the process (joblib "multiprocessing") against loky's fresh interpreters.

A notebook's bootstrap pays its workers' start once: loky starts new interpreters that import the analysis
stack again; forked workers start with it imported. Each backend runs in a fresh process (as a notebook
kernel would) on the chapter-05 bootstrap of one demo-sized cohort; the script prints wall time and the CPU of
the process and of its workers (reaped before the count), and checks that both backends give the same numbers.

Usage: .venv/bin/python benchmarks/bootstrap_workers.py [--n 100] [--n-boot 200] [--jobs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
from sonimage_utils.external_validation import bootstrap as bs
n, n_boot, jobs, backend = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(1)
lp = rng.normal(size=n)
t_event = rng.exponential(1 / (0.05 * np.exp(lp)))
t_cens = rng.uniform(0, 40, size=n)
time_, event = np.minimum(t_event, t_cens), (t_event <= t_cens).astype(int)
risk = 1 - np.exp(-0.05 * 12 * np.exp(lp))
if backend == "loky":  # the previous dispatch: loky, one task per resample
    from joblib import Parallel, delayed
    bs._map_resamples = lambda fn, idx, args, n_jobs, scheduler_address: Parallel(n_jobs=n_jobs)(
        delayed(fn)(i, *args) for i in idx)
c0 = time.perf_counter()
res = bs.bootstrap_performance(time_, event, risk, lp, 12.0, n_boot=n_boot, seed=3, n_jobs=jobs)
wall = time.perf_counter() - c0
if backend == "loky":
    from joblib.externals.loky import get_reusable_executor
    get_reusable_executor().shutdown(wait=True)
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu_self": me.ru_utime + me.ru_stime, "cpu_workers": kids.ru_utime + kids.ru_stime,
                  "summary": res.summary[["estimate", "ci_low", "ci_high"]].to_numpy().tolist()}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = {"loky": [], "multiprocessing": []}
    for _ in range(args.repeats):  # alternate, so that load on the machine hits both alike
        for backend in runs:
            out = subprocess.run([sys.executable, "-c", CHILD, str(args.n), str(args.n_boot), str(args.jobs), backend],
                                 capture_output=True, text=True, check=True)
            runs[backend].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"chapter-05 bootstrap, n = {args.n}, B = {args.n_boot}, {args.jobs} jobs, {args.repeats} repeats "
          "(median; CPU = the process and its workers)")
    for backend, rs in runs.items():
        med = lambda key: sorted(r[key] for r in rs)[len(rs) // 2]  # noqa: E731
        print(f"  {backend:16s} wall {med('wall'):6.2f} s   CPU {med('cpu_self') + med('cpu_workers'):6.2f} s "
              f"(workers {med('cpu_workers'):6.2f} s)")
    same = all(r["summary"] == runs["loky"][0]["summary"] for rs in runs.values() for r in rs)
    print(f"  same estimates and intervals with both backends: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
