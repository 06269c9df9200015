"""Write the committed input data for the R survival reference fixtures (run once; output is committed).

Usage: ``python tests/reference/survival/make_data.py`` (from the repository root). Deterministic (seed 20261121).
Times are multiples of 0.25 months so that ties occur (Efron vs Breslow matters) and the CSV is exact.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def make_cohort(seed: int = 20261121, n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "ET+CDK4/6i", "ET")
    hs = np.where(rng.random(n) < 0.55, 100.0, np.round(rng.uniform(0, 95, n)))
    hs[rng.random(n) < 0.08] = 0.0
    het = np.where(hs == 100, "homogeneous", "heterogeneous")
    het3 = np.select([hs == 100, hs == 0], ["homogeneous_positive", "homogeneous_negative"], "mixed")
    fdg = np.round(rng.lognormal(np.log(8), 0.5, n), 2)
    fdg_high = fdg >= np.median(fdg)
    pattern = np.where(~fdg_high, "fdg_low", np.where(het == "homogeneous", "fdg_high_fes_homogeneous",
                                                      "fdg_high_fes_heterogeneous"))
    mean_fes = np.round(np.where(hs == 100, rng.lognormal(np.log(4), 0.4, n), rng.lognormal(np.log(2), 0.5, n)), 2)
    visceral = rng.random(n) < 0.45
    de_novo = rng.random(n) < 0.35
    prior_adj = (~de_novo) & (rng.random(n) < 0.6)
    ps = rng.choice([0, 1, 2], n, p=[0.6, 0.35, 0.05])
    lp = (np.log(1.8) * (het == "heterogeneous") + np.log(0.6) * (arm == "ET+CDK4/6i")
          + np.log(1.3) * visceral + 0.2 * ps)
    t_event = rng.exponential(16.0 / np.log(2) * np.exp(-lp))
    t_cens = rng.uniform(12, 48, n)
    time = np.minimum(t_event, t_cens)
    time = np.maximum(np.ceil(time * 4) / 4, 0.25)
    event = (t_event <= t_cens).astype(int)
    return pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(1, n + 1)], "pfs1_months": time, "pfs1_event": event,
        "arm": arm, "het_group": het, "het_group3": het3, "fes_fdg_pattern": pattern, "hs": hs,
        "mean_fes_suvmax": mean_fes, "visceral_disease": visceral, "de_novo_metastatic": de_novo,
        "prior_adjuvant_endocrine": prior_adj, "who_performance_status": ps,
    })


def make_km_edge() -> pd.DataFrame:
    """Small groups that exercise the quantile rules of R ``quantile.survfit``."""
    rows = []
    # S drops to exactly 0.5 at t=2 and stays until t=5: median = (2 + 5) / 2
    rows += [("plateau", t, e) for t, e in [(1, 1), (2, 1), (3, 0), (5, 1)]]
    # last observation is an event: S reaches 0 (log CI undefined at S = 0)
    rows += [("to_zero", t, e) for t, e in [(1, 1), (2, 1), (2, 1), (4, 0), (5, 1), (8, 1)]]
    # median not reached
    rows += [("not_reached", t, e) for t, e in [(1, 1), (3, 0), (4, 0), (6, 1), (9, 0), (12, 0), (15, 0)]]
    # S = 0.5 exactly at the last time point
    rows += [("last_half", t, e) for t, e in [(1, 1), (2, 1), (3, 0), (4, 0)]]
    # a larger group with an upper confidence limit for the median
    rows += [("wide", t, e) for t, e in [(1, 1), (2, 1), (3, 1), (4, 0), (5, 1), (6, 1), (7, 1), (8, 1), (9, 0),
                                          (10, 1), (11, 1), (12, 1), (13, 0), (14, 1), (15, 1), (16, 0)]]
    # one patient only
    rows += [("single", 3.0, 1)]
    return pd.DataFrame(rows, columns=["group", "time", "event"])


if __name__ == "__main__":
    make_cohort().to_csv(HERE / "cohort.csv", index=False)
    make_km_edge().to_csv(HERE / "km_edge.csv", index=False)
