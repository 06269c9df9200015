"""Speed of objective 4's bootstrap internal validation: per-resample overhead and parallel speed-up.

Usage: ``python benchmarks/bootstrap.py [--n-boot 100] [--n-patients 100] [--n-features 4] [--seed 1]``
(about a minute on 2 shared cores).

Prints
- the time of one full fit of the procedure (preprocessing, 10-fold CV of the ridge penalty over the
  default grid, prognostic and risk-based benefit models), median of repeated fits;
- the time per bootstrap resample (resampling + the same fit + measuring apparent and test performance),
  sequential, and its overhead over one fit (target: at most 20%), in CPU time (robust to other load on
  the machine) and in wall time;
- wall time of the same B resamples with 1 and with 2 joblib (loky) jobs and the speed-up (target >= 1.6x);
- the projected time of the book's default B = 500 on one core.
On a machine shared with other work the speed-up is bounded by the free cores: the figures printed are
what this machine gave at this moment.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np

from sonimage_utils.benefit_model import evaluate_benefit_model, fit_for_bootstrap, predict_from_features
from sonimage_utils.benefit_simulation import simulate_benefit_cohort
from sonimage_utils.internal_validation import bootstrap_optimism
from sonimage_utils.model_features import derive_model_features, derive_outcome

FEATURES = ["hs", "log_fdg_suvmax", "visceral_disease", "who_performance_status", "log_mean_fes_suvmax",
            "log_n_lesions", "bone_only_disease", "de_novo_metastatic", "prior_adjuvant_endocrine", "age_years",
            "log_min_fes_suvmax"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--n-patients", type=int, default=100)
    ap.add_argument("--n-features", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    features = FEATURES[: args.n_features]
    patients, lesions = simulate_benefit_cohort(args.n_patients, seed=args.seed)
    frame = derive_model_features(patients, lesions, features).join(derive_outcome(patients))
    fit = functools.partial(fit_for_bootstrap, features=features)
    model = fit(frame, 0)
    grid = np.quantile(predict_from_features(model, frame[features], horizon=24, rmst_horizon=36)["risk_t"],
                       np.linspace(0.05, 0.95, 19))
    metric = functools.partial(evaluate_benefit_model, horizon=24, rmst_horizon=36, risk_grid=grid,
                               benefit_threshold=0.05)

    fits, cpu_fits = [], []
    for i in range(15):
        t0, c0 = time.perf_counter(), time.process_time()
        fit(frame, i)
        fits.append(time.perf_counter() - t0)
        cpu_fits.append(time.process_time() - c0)
    t_fit, cpu_fit = float(np.median(fits)), float(np.median(cpu_fits))
    # the same fit on bootstrap resamples (duplicated patients make the Newton steps and the penalty path
    # differ): what a resample costs without the resampling and measuring machinery
    rng = np.random.default_rng(args.seed)
    cpu_boot_fits = []
    for i in range(15):
        boot = frame.iloc[rng.integers(0, len(frame), len(frame))]
        c0 = time.process_time()
        fit(boot, i)
        cpu_boot_fits.append(time.process_time() - c0)
    cpu_boot_fit = float(np.mean(cpu_boot_fits))

    t0, c0 = time.perf_counter(), time.process_time()
    bootstrap_optimism(frame, fit, metric, n_boot=args.n_boot, seed=args.seed, n_jobs=1)
    wall1, cpu1 = time.perf_counter() - t0, time.process_time() - c0
    per_resample = (wall1 - t_fit) / args.n_boot  # the fit on the original data is done once
    cpu_per_resample = (cpu1 - cpu_fit) / args.n_boot

    # warm the (reused) loky worker pool first: process start-up and imports are paid once per session
    bootstrap_optimism(frame, fit, metric, n_boot=8, seed=args.seed, n_jobs=2, backend="loky")
    t0 = time.perf_counter()
    bootstrap_optimism(frame, fit, metric, n_boot=args.n_boot, seed=args.seed, n_jobs=2, backend="loky")
    wall2 = time.perf_counter() - t0

    print(f"cohort: {args.n_patients} patients, {int(frame['event'].sum())} events, {len(features)} predictors; "
          f"B = {args.n_boot}")
    print(f"one full fit (median of 15):        {1000 * t_fit:8.1f} ms wall, {1000 * cpu_fit:8.1f} ms CPU")
    print(f"per bootstrap resample (1 job):     {1000 * per_resample:8.1f} ms wall, {1000 * cpu_per_resample:8.1f} ms CPU")
    print(f"overhead per resample over a fit:   {100 * (cpu_per_resample / cpu_fit - 1):8.1f} % CPU, "
          f"{100 * (per_resample / t_fit - 1):.1f} % wall   (target <= 20%)")
    print(f"  the same fit on a resample (mean): {1000 * cpu_boot_fit:8.1f} ms CPU; machinery overhead "
          f"{100 * (cpu_per_resample / cpu_boot_fit - 1):.1f} %")
    print(f"wall time, 1 job:                   {wall1:8.2f} s")
    print(f"wall time, 2 jobs (loky):           {wall2:8.2f} s")
    print(f"speed-up 1 -> 2 jobs:               {wall1 / wall2:8.2f} x   (target >= 1.6x)")
    print(f"load average (1 min) at the end:    {os.getloadavg()[0]:8.2f}   on {os.cpu_count()} cores")
    print(f"projected B = 500 on 1 core:        {500 * per_resample + t_fit:8.1f} s")


if __name__ == "__main__":
    main()
