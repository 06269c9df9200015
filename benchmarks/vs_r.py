"""CPU time of the project against R on the same chapter 04 and chapter 05 work, at growing n.

Usage: ``python benchmarks/vs_r.py [--sizes 100 400 1600 6400] [--n-boot 20] [--repeats 3] [--seed 1]``

For each n a cohort is simulated (one predictor ``hs``, exponential times, uniform censoring, about 60%
events) and written to a CSV; then, alternating project and R ``--repeats`` times, each runs

* chapter 04: B resamples of the whole procedure -- ridge Cox with the penalty chosen by 10-fold
  cross-validation (project: :func:`sonimage_utils.benefit.procedure.fit_for_bootstrap`; R: ``glmnet``
  ``cv.glmnet(family = "cox", alpha = 0)``, ``benchmarks/r/ch04_bootstrap.R``), measured by Harrell's C and the
  calibration slope on the resample and on the original data;
* chapter 05: B resamples of the validation metrics of a frozen linear predictor (project:
  :func:`sonimage_utils.external_validation.performance.survival_performance`, which also computes the AUC(t)
  and the smoothed calibration; R: the lean ``coxph`` + ``basehaz`` script ``benchmarks/r/ch05_bootstrap.R``).

CPU time is measured inside each process around the loop only (Python ``time.process_time``, R
``proc.time`` user + system), so start-up and imports are excluded. Printed: medians over the repeats,
the project/R ratio at each n, and the cost exponent ``log(cpu(n2)/cpu(n1)) / log(n2/n1)`` between the
two largest sizes. R is skipped with a message when ``Rscript`` (or glmnet for chapter 04) is absent.
This is a script that prints, never a timed test; on a shared machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sonimage_utils.benefit.internal_validation import _one_resample
from sonimage_utils.benefit.procedure import evaluate_benefit_model, fit_for_bootstrap
from sonimage_utils.external_validation.performance import survival_performance

HERE = Path(__file__).resolve().parent
HORIZON = 12.0


def _cohort(n, seed):
    rng = np.random.default_rng(seed)
    hs = rng.normal(size=n)
    t_event = rng.exponential(20 * np.exp(-0.4 * hs))
    t_cens = rng.uniform(0, 60, n)
    frame = pd.DataFrame({"hs": hs, "time": np.round(np.minimum(t_event, t_cens), 3) + 0.001,
                          "event": (t_event <= t_cens).astype(float),
                          "treated": rng.integers(0, 2, n).astype(float)})
    frame["lp"] = 0.4 * frame["hs"]
    frame["risk"] = 1 - np.exp(-(HORIZON / 20) * np.exp(frame["lp"]))
    return frame


def _project_ch04(frame, n_boot, seed):
    import functools
    fit_fn = functools.partial(fit_for_bootstrap, features=["hs"], n_folds=10)
    grid = np.linspace(0.2, 0.8, 19)
    metric_fn = functools.partial(evaluate_benefit_model, horizon=HORIZON, rmst_horizon=24.0, risk_grid=grid,
                                  benefit_threshold=0.05)
    seeds = np.random.SeedSequence(seed).spawn(n_boot)
    t0 = time.process_time()
    for s in seeds:
        _one_resample(frame, fit_fn, metric_fn, s)
    return time.process_time() - t0


def _project_ch05(frame, n_boot, seed):
    rng = np.random.default_rng(seed)
    t, e, r, x = (frame[c].to_numpy() for c in ("time", "event", "risk", "lp"))
    t0 = time.process_time()
    for _ in range(n_boot):
        i = rng.integers(0, t.size, t.size)
        try:
            survival_performance(t[i], e[i], r[i], x[i], HORIZON)
        except ValueError:
            pass
    return time.process_time() - t0


def _r(script, csv, n_boot, seed, *extra):
    out = subprocess.run(["Rscript", str(HERE / "r" / script), str(csv), str(n_boot), str(seed), *extra],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split("CPU")[-1])


def _has_glmnet():
    res = subprocess.run(["Rscript", "-e", "cat(requireNamespace('glmnet', quietly = TRUE))"],
                         capture_output=True, text=True)
    return res.stdout.strip() == "TRUE"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1600, 6400])
    p.add_argument("--n-boot", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    have_r = shutil.which("Rscript") is not None
    glmnet = have_r and _has_glmnet()
    if not have_r:
        print("Rscript not found: R is skipped, project CPU only")
    elif not glmnet:
        print("R package glmnet not found: chapter 04 in R is skipped")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            frame = _cohort(n, args.seed)
            csv = Path(tmp) / f"cohort_{n}.csv"
            frame.to_csv(csv, index=False)
            cpu = {k: [] for k in ("py04", "r04", "py05", "r05")}
            for rep in range(args.repeats):  # alternate project and R so both see the same machine load
                cpu["py04"].append(_project_ch04(frame, args.n_boot, args.seed + rep))
                if glmnet:
                    cpu["r04"].append(_r("ch04_bootstrap.R", csv, args.n_boot, args.seed + rep))
                cpu["py05"].append(_project_ch05(frame, args.n_boot, args.seed + rep))
                if have_r:
                    cpu["r05"].append(_r("ch05_bootstrap.R", csv, args.n_boot, args.seed + rep, str(HORIZON)))
            med = {k: float(np.median(v)) if v else np.nan for k, v in cpu.items()}
            rows.append({"n": n, **med, "ratio04": med["py04"] / med["r04"], "ratio05": med["py05"] / med["r05"]})
            r = rows[-1]
            print(f"n={n:>6}  ch04 project {r['py04']:.3f}s R {r['r04']:.3f}s ratio {r['ratio04']:.2f}  |  "
                  f"ch05 project {r['py05']:.3f}s R {r['r05']:.3f}s ratio {r['ratio05']:.2f}", flush=True)
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        k = np.log(b["n"] / a["n"])
        for ch in ("04", "05"):
            print(f"chapter {ch} cost exponent n {a['n']} -> {b['n']}: project "
                  f"{np.log(b['py' + ch] / a['py' + ch]) / k:.2f}, R {np.log(b['r' + ch] / a['r' + ch]) / k:.2f}")
    print(f"(medians of {args.repeats} alternating repeats, B = {args.n_boot}, CPU seconds)")


if __name__ == "__main__":
    main()
