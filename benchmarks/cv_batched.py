"""The ridge-penalty cross-validation with the folds solved together, against one fold at a time.

Usage: ``python benchmarks/cv_batched.py [--n 100 300 1000 3000] [--p 1 3 11 23] [--reps 10] [--seed 1]``

:func:`sonimage_utils.survival.ridge_cox.cv_ridge_penalty` has two paths over the same 10 folds x 21 penalties
(warm starts down the grid): ``_cv_path_per_fold`` fits each fold's training data in turn,
``_cv_path_together`` stacks the folds (every fold on the full data sorted once, weight 0 for its held-out rows,
:func:`sonimage_utils.survival.efron._efron_folds`), each fold keeping its own Newton path, step halving and
convergence test. The package takes the second where ``_solve_folds_together(n, p)`` holds.

Printed per size, on bootstrap-like resamples (duplicated rows, so tied times): CPU of each path (one BLAS
thread), the speed-up, the largest relative difference of the cross-validated partial likelihood over the grid,
and in how many resamples the chosen penalty differs. A script that prints, never a timed test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sonimage_utils.survival.ridge_cox import (DEFAULT_PENALTIES, _check_penalty, _cv_path_per_fold,
                                               _cv_path_together, _solve_folds_together, _SortedCoxData, make_folds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100, 300, 1000, 3000])
    ap.add_argument("--p", type=int, nargs="+", default=[1, 3, 11, 23])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    threadpool_limits(1)
    grid = np.sort(np.asarray(DEFAULT_PENALTIES))[::-1]
    print(f"{'n':>6} {'p':>3} {'per fold (s)':>13} {'together (s)':>13} {'speed-up':>9} {'max rel diff':>13} "
          f"{'penalty differs':>16} {'package uses':>13}")
    for n in args.n:
        for p in args.p:
            rng = np.random.default_rng(args.seed)
            cpu = {"per": 0.0, "tog": 0.0}
            worst, differs = 0.0, 0
            for rep in range(args.reps):
                X = rng.normal(size=(n, p))
                t = np.round(rng.exponential(np.exp(-0.5 * X[:, 0]) * 20) * 30.4375) / 30.4375
                idx = rng.integers(0, n, n)
                data = _SortedCoxData(X[idx], t[idx], (rng.random(n) < 0.7).astype(float))
                f = _check_penalty(float(grid[0]), None, p)
                folds = make_folds(data.event, 10, rep)
                out = {}
                for key, fn in (("per", _cv_path_per_fold), ("tog", _cv_path_together)):
                    t0 = time.process_time()
                    out[key] = fn(data, folds, 10, grid, f)
                    cpu[key] += time.process_time() - t0
                worst = max(worst, float(np.max(np.abs(out["per"] - out["tog"]) / np.abs(out["per"]))))
                differs += int(np.argmax(out["per"]) != np.argmax(out["tog"]))
            used = "together" if _solve_folds_together(n, p) else "per fold"
            print(f"{n:>6} {p:>3} {cpu['per']:>13.3f} {cpu['tog']:>13.3f} {cpu['per'] / cpu['tog']:>9.2f} "
                  f"{worst:>13.1e} {differs:>9d} of {args.reps:<3d} {used:>13}")


if __name__ == "__main__":
    main()
