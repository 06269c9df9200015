"""Speed of objective 5's external-validation metrics and their bootstrap.

Usage: ``python benchmarks/validation.py [--n-patients 200] [--n-boot 50] [--seed 1]`` (under a minute).

Prints, for a simulated cohort of the size of IMPACT-MBC (200) or ET-FES (147):
- the CPU time of one :func:`survival_performance` call (every metric, median of repeats) and of its parts;
- the wall and CPU time per bootstrap resample, sequential, and the projected time of the book's default
  (``validation_n_boot`` = 500 resamples, ``validation_n_boot_curves`` = 200 calibration-curve resamples)
  per cohort on one core.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sonimage_utils.external_validation.performance import survival_performance
from sonimage_utils.external_validation.bootstrap import bootstrap_calibration_curve, bootstrap_performance
from sonimage_utils.external_validation.calibration import compute_smoothed_calibration
from sonimage_utils.external_validation.metrics import compute_brier, compute_calibration_slope, compute_cd_auc, compute_uno_c


def simulate(n, seed, horizon=24.0):
    rng = np.random.default_rng(seed)
    lp = rng.normal(scale=0.6, size=n)
    t_event = rng.exponential(1.0 / (0.04 * np.exp(lp)))
    t_cens = rng.uniform(6, 60, size=n)
    time_ = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    risk = 1 - np.exp(-0.04 * horizon * np.exp(lp))
    return time_, event, risk, lp


def cpu(fn, repeats=5):
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return float(np.median(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-patients", type=int, default=200)
    ap.add_argument("--n-boot", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t, e, r, x = simulate(a.n_patients, a.seed)
    h = 24.0
    print(f"cohort: {a.n_patients} patients, {e.sum()} events, horizon {h:g}")
    parts = {
        "survival_performance (all metrics)": lambda: survival_performance(t, e, r, x, h),
        "  Uno C": lambda: compute_uno_c(t, e, x, h),
        "  AUC(t)": lambda: compute_cd_auc(t, e, x, [h]),
        "  calibration slope (Efron engine)": lambda: compute_calibration_slope(t, e, x),
        "  smoothed calibration (Efron engine on RCS)": lambda: compute_smoothed_calibration(t, e, r, h),
        "  Brier + IPA": lambda: compute_brier(t, e, r, h),
    }
    for name, fn in parts.items():
        print(f"{name:48s} {1000 * cpu(fn):8.1f} ms CPU")
    w0, c0 = time.perf_counter(), time.process_time()
    bootstrap_performance(t, e, r, x, h, n_boot=a.n_boot, seed=a.seed)
    wall, cput = time.perf_counter() - w0, time.process_time() - c0
    per = cput / a.n_boot
    print(f"bootstrap_performance: {a.n_boot} resamples, {wall:.1f} s wall, {cput:.1f} s CPU, "
          f"{1000 * per:.0f} ms CPU per resample")
    c1 = time.process_time()
    bootstrap_calibration_curve(t, e, r, h, n_boot=a.n_boot, seed=a.seed)
    per_curve = (time.process_time() - c1) / a.n_boot
    print(f"bootstrap_calibration_curve: {1000 * per_curve:.0f} ms CPU per resample")
    print(f"projected per cohort, one core: 500 metric resamples {500 * per:.0f} s + 200 curve resamples "
          f"{200 * per_curve:.0f} s")


if __name__ == "__main__":
    main()
