"""Per-fit time of the calibration slope at n = 200: lifelines CoxPHFitter (the code before issue 10) vs
the Efron engine (sonimage_utils.survival.compute_calibration_slope). Same data, same estimate.

Run: PYTHONPATH=. python benchmarks/calibration_slope.py
"""

import timeit

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter

from sonimage_utils.survival import compute_calibration_slope

rng = np.random.default_rng(1)
n = 200
lp = rng.normal(size=n)
time = np.ceil(rng.exponential(12 / np.exp(0.8 * lp)))  # whole months: tied event times
cens = np.ceil(rng.uniform(6, 48, size=n))
event = (time <= cens).astype(int)
time = np.minimum(time, cens)


def lifelines_slope():
    df = pd.DataFrame({"time": time, "event": event, "lp": lp})
    return float(CoxPHFitter().fit(df, "time", "event").params_["lp"])


def engine_slope():
    return compute_calibration_slope(time, event, lp)["slope"]


if __name__ == "__main__":
    print(f"n = {n}, events = {event.sum()}, distinct event times = {np.unique(time[event == 1]).size}")
    print(f"slope: lifelines {lifelines_slope():.10f}, engine {engine_slope():.10f}")
    for name, fn in [("lifelines CoxPHFitter", lifelines_slope), ("Efron engine", engine_slope)]:
        reps = 20 if name.startswith("lifelines") else 500
        best = min(timeit.repeat(fn, number=reps, repeat=5)) / reps
        print(f"{name:>22}: {best * 1e3:8.3f} ms per fit")
