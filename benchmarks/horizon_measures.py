"""Speed of one bootstrap resample of chapter 05: one ``survival_performance`` call and one ``_auc_one`` call.

Usage: ``python benchmarks/horizon_measures.py [--sizes 100 1000 10000] [--before main]`` (a few minutes).

Prints the shortest wall time of one call (over repeats) at each cohort size, for the code on the path and, with
``--before REF``, for the package as it is at git revision ``REF`` (its ``sonimage_utils`` is extracted with
``git archive`` into a temporary folder and timed in a subprocess, same data, same script). Also the parts
that changed: Uno's C, AUC(t), Brier + IPA and O/E, each as one call with raw arrays. Figures only, never a
test: ``survival_performance`` at n = 10,000 spends most of its time in the two Cox fits (calibration slope,
smoothed calibration), which this change does not touch.
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
AUC_TIMES = np.array([6.0, 12.0, 18.0, 24.0, 30.0, 36.0])  # analysis.yml auc_times_months
HORIZON = 24.0


def simulate(n, seed):
    """Months; exponential events (hazard 0.04 at lp = 0), uniform censoring 6-60, times rounded to days."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(scale=0.6, size=n)
    t_event = rng.exponential(1.0 / (0.04 * np.exp(lp)))
    t_cens = rng.uniform(6, 60, size=n)
    time_ = np.round(np.minimum(t_event, t_cens) * 30.4375) / 30.4375  # integer days: ties in time
    event = (t_event <= t_cens).astype(int)
    risk = 1 - np.exp(-0.04 * HORIZON * np.exp(lp))
    return time_, event, risk, lp


def wall(fn, budget=2.0, max_repeats=200):
    """Shortest wall time of ``fn`` over repeats (at least 3, up to ``budget`` seconds): the least disturbed
    by other work on the machine."""
    fn()
    out = []
    start = time.perf_counter()
    while len(out) < 3 or (len(out) < max_repeats and time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return float(np.min(out))


def measure(sizes, seed):
    """Seconds per call of each measured function at each size, for the ``sonimage_utils`` imported."""
    import warnings

    from sonimage_utils.external_validation.bootstrap import _auc_one
    from sonimage_utils.external_validation.metrics import (compute_brier, compute_cd_auc,
                                                            compute_observed_expected, compute_uno_c)
    from sonimage_utils.external_validation.performance import survival_performance

    res = {}
    for n in sizes:
        t, e, r, x = simulate(n, seed)
        idx = np.arange(n)
        parts = {
            "survival_performance": lambda: survival_performance(t, e, r, x, HORIZON),
            "_auc_one (6 times)": lambda: _auc_one(idx, t, e, x, AUC_TIMES),
            "  Uno C": lambda: compute_uno_c(t, e, x, HORIZON),
            "  AUC(t), 1 time": lambda: compute_cd_auc(t, e, x, [HORIZON]),
            "  Brier + IPA": lambda: compute_brier(t, e, r, HORIZON),
            "  O/E": lambda: compute_observed_expected(t, e, r, HORIZON),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res[str(n)] = {k: wall(f, budget=2.0 if n < 10_000 else 6.0) for k, f in parts.items()}
    return res


def extract_package(ref, folder) -> None:
    """``sonimage_utils`` as it is at git revision ``ref``, extracted into ``folder`` (to time it from there)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "sonimage_utils"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)


def measure_at(ref, sizes, seed):
    """:func:`measure` for the package at git revision ``ref``, in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        extract_package(ref, tmp)
        env = dict(os.environ, PYTHONPATH=tmp)
        out = subprocess.run([sys.executable, __file__, "--json", "--seed", str(seed), "--sizes",
                              *map(str, sizes)], env=env, check=True, capture_output=True, text=True, cwd=tmp)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--before", help="git revision to compare with (e.g. main)")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    now = measure(a.sizes, a.seed)
    if a.json:
        print(json.dumps(now))
        return
    before = measure_at(a.before, a.sizes, a.seed) if a.before else None
    for n in a.sizes:
        t, e, _, _ = simulate(n, a.seed)
        print(f"n = {n:,}: {int(e.sum())} events, {np.unique(t).size} distinct times, horizon {HORIZON:g} months")
        for k, v in now[str(n)].items():
            if before:
                b = before[str(n)][k]
                print(f"  {k:24s} before {1000 * b:9.2f} ms   after {1000 * v:9.2f} ms   x{b / v:5.1f}")
            else:
                print(f"  {k:24s} {1000 * v:9.2f} ms")


if __name__ == "__main__":
    main()
