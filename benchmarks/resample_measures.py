"""Speed of the measures of one bootstrap resample: ``survival_performance`` (chapter 05) and
``evaluate_benefit_model`` (chapter 04), now and at any git revision.

Usage: ``python benchmarks/resample_measures.py [--sizes 100 1000] [--before main] [--rounds 3]`` (a few minutes).

Prints the shortest wall time of one call at each cohort size. With ``--before REF`` the package as it is at git
revision ``REF`` (its ``sonimage_utils`` extracted with ``git archive``) is timed too; the two are timed in
alternating subprocesses, ``--rounds`` times each, and the shortest of all their repeats is kept: the machine is
shared, and the shortest is the run least disturbed by other work. The data: chapter 05 as
``benchmarks/horizon_measures.py`` (resamples of a simulated cohort with day-resolution ties); chapter 04 a
cohort of ``benchmarks/benefit_procedure.py`` with 11 predictors, the procedure fitted once (effect model
included), then measured on resamples with the c-for-benefit (as the chapter's bootstrap, which calls it twice
per resample: on the resample and on the original data). Figures only, never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from horizon_measures import extract_package  # noqa: E402  (the package at a git revision, as that benchmark)


def _shortest(fn, calls, budget):
    """Shortest wall time of one call over the ``calls`` (each a different resample), cycling until ``budget`` s."""
    for c in calls[:3]:
        fn(c)
    out = []
    start = time.perf_counter()
    while len(out) < len(calls) or time.perf_counter() - start < budget:
        c = calls[len(out) % len(calls)]
        t0 = time.perf_counter()
        fn(c)
        out.append(time.perf_counter() - t0)
    return float(np.min(out))


def measure(sizes, seed):
    """Seconds per call of the two measures at each size, for the ``sonimage_utils`` imported."""
    import warnings

    from benefit_procedure import _cohort
    from horizon_measures import HORIZON, simulate

    from sonimage_utils.benefit.procedure import evaluate_benefit_model, fit_benefit_procedure
    from sonimage_utils.external_validation.performance import survival_performance

    warnings.simplefilter("ignore")
    res = {}
    for n in sizes:
        rng = np.random.default_rng(seed)
        t, e, r, x = simulate(n, seed)
        idx = [rng.integers(0, n, n) for _ in range(20)]
        frame = _cohort(n, 11, seed)
        feats = [f"x{j}" for j in range(11)]
        model = fit_benefit_procedure(frame, feats, n_folds=10, seed=seed, fit_effect=True)
        grid = np.linspace(0.2, 0.8, 19)
        frames = [frame.iloc[i] for i in idx]
        budget = 1.5 if n < 5000 else 5.0
        res[str(n)] = {
            "survival_performance": _shortest(lambda i: survival_performance(t[i], e[i], r[i], x[i], HORIZON),
                                              idx, budget),
            "evaluate_benefit_model": _shortest(lambda f: evaluate_benefit_model(
                model, f, horizon=24.0, rmst_horizon=36.0, risk_grid=grid, benefit_threshold=0.05, cfb_seed=seed),
                frames, budget),
        }
    return res


def _run(pythonpath, sizes, seed):
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    out = subprocess.run([sys.executable, __file__, "--json", "--seed", str(seed), "--sizes", *map(str, sizes)],
                         env=env, check=True, capture_output=True, text=True, cwd=str(pythonpath))
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--before", help="git revision to compare with (e.g. main)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.json:
        print(json.dumps(measure(a.sizes, a.seed)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if a.before:
            extract_package(a.before, tmp)
        runs = {"after": [], "before": []}
        for _ in range(a.rounds):  # alternate: both see the same spells of load on a shared machine
            runs["after"].append(_run(ROOT, a.sizes, a.seed))
            if a.before:
                runs["before"].append(_run(tmp, a.sizes, a.seed))
    best = {k: {n: {m: min(r[n][m] for r in v) for m in v[0][n]} for n in v[0]} for k, v in runs.items() if v}
    for n in map(str, a.sizes):
        print(f"n = {int(n):,}")
        for m, v in best["after"][n].items():
            if a.before:
                b = best["before"][n][m]
                print(f"  {m:24s} before {1000 * b:8.2f} ms   after {1000 * v:8.2f} ms   x{b / v:5.2f}")
            else:
                print(f"  {m:24s} {1000 * v:8.2f} ms")


if __name__ == "__main__":
    main()
