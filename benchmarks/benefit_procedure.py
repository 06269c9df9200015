"""CPU of one objective-4 modelling procedure and of one bootstrap resample, at growing n.

The chapter-04 bootstrap refits the whole procedure (penalty by 10-fold cross-validated partial likelihood over
21 penalties, the prognostic ridge Cox, the risk-based benefit model and the effect model with 2p + 1 terms) in
each of B resamples, so at 10,000 patients its cost is B x the last column (CPU of one process, one BLAS
thread). A script that prints, never a timed test.

Usage: .venv/bin/python benchmarks/benefit_procedure.py [--n 1000 10000] [--p 11] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from sonimage_utils.benefit.procedure import bootstrap_benefit_procedure, fit_benefit_procedure


def _cohort(n: int, p: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    treated = rng.integers(0, 2, n)
    # PFS in months at day resolution (ties, as in the study data), uniform censoring over 5 years
    t = np.round(rng.exponential(np.exp(-(0.3 * X[:, 0] - 0.5 * treated)) * 20) * 30.4375) / 30.4375
    c = rng.uniform(0, 60, n)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    frame["time"], frame["event"], frame["treated"] = np.minimum(t, c), (t <= c).astype(float), treated.astype(float)
    return frame


def _cpu(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--p", type=int, default=11)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    threadpool_limits(1)  # one BLAS thread, as in each bootstrap worker (joblib's loky limits them so)
    print(f"{'n':>7} {'prognostic (s)':>15} {'+ effect (s)':>13} {'one resample (s)':>17}")
    for n in args.n:
        frame = _cohort(n, args.p)
        feats = [f"x{j}" for j in range(args.p)]
        prog = _cpu(lambda: fit_benefit_procedure(frame, feats, n_folds=10, seed=1, fit_effect=False), args.repeat)
        both = _cpu(lambda: fit_benefit_procedure(frame, feats, n_folds=10, seed=1, fit_effect=True), args.repeat)
        # B = 2 minus B = 1: one resample's refit, measures on it and on the original, kept predictions
        boot = {b: _cpu(lambda b=b: bootstrap_benefit_procedure(
            frame, feats, n_folds=10, horizon=24.0, rmst_horizon=36.0, risk_grid=np.linspace(0.2, 0.8, 19),
            benefit_threshold=0.05, n_boot=b, seed=1, n_jobs=1, with_benefit_discrimination=True,
            keep_predictions=True), 1) for b in (1, 3)}
        print(f"{n:>7} {prog:>15.3f} {both:>13.3f} {(boot[3] - boot[1]) / 2:>17.3f}")


if __name__ == "__main__":
    main()
