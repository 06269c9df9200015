"""Speed of the interaction power simulation (vectorised batch Cox) and, for scale, lifelines.

Usage: ``python benchmarks/interaction_power.py [--n-sim 1000] [--seed 1]``

Prints the wall time of :func:`sonimage_utils.interaction_power.compute_interaction_power` for one
interaction size (``n_sim`` trials, two Cox fits each), the simulated type I error at ratio 1, and the
time lifelines needs for 20 of the same fits, extrapolated to ``n_sim``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from lifelines import CoxPHFitter

from sonimage_utils.survival.power import compute_interaction_power, simulate_interaction_trials


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sim", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    # a trial of 100 patients, half heterogeneous and half treated, SONIA's arm HR and median
    design = dict(n_patients=100, n_heterogeneous=50, n_treated=50, event_fraction=0.7, hr_group=1.8, hr_arm=0.59,
                  median_reference_months=16.1)
    res = compute_interaction_power([1.0], n_sim=args.n_sim, alpha=0.05, seed=args.seed, **design)
    batch = time.perf_counter() - start
    print(f"batch Cox: {args.n_sim} trials x 2 models in {batch:.2f} s; type I error {res['power'].item():.3f} "
          f"(MC SE {res['power_mc_se'].item():.3f})")
    t, e, X = simulate_interaction_trials(20, seed=args.seed, **design)
    start = time.perf_counter()
    for s in range(20):
        d = pd.DataFrame(X[s], columns=["g", "a", "ga"]).assign(T=t[s], E=e[s])
        CoxPHFitter().fit(d, "T", "E")
        CoxPHFitter().fit(d.drop(columns="ga"), "T", "E")
    per = (time.perf_counter() - start) / 20
    print(f"lifelines: {per * 1000:.0f} ms per trial -> about {per * args.n_sim:.0f} s for {args.n_sim} trials")


if __name__ == "__main__":
    main()
