"""Truth recovery of fit_cox on simulated cohorts with known hazard ratios, and 95% CI coverage (slow)."""

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.survival.power import simulate_interaction_trials
from sonimage_utils.survival.cox import fit_cox

TRUTH = {"het_group[heterogeneous]": np.log(1.8), "arm[ET+CDK4/6i]": np.log(0.59)}


def _cohorts(n_sim, n_patients, seed):
    t, e, X = simulate_interaction_trials(n_sim, n_patients=n_patients, n_heterogeneous=n_patients // 2,
                                          n_treated=n_patients // 2, hr_group=1.8, hr_arm=0.59,
                                          hr_interaction=1.0, event_fraction=0.75,
                                          median_reference_months=16.1, seed=seed)
    for s in range(n_sim):
        yield pd.DataFrame({"pfs1_months": t[s], "pfs1_event": e[s],
                            "het_group": np.where(X[s, :, 0] == 1, "heterogeneous", "homogeneous"),
                            "arm": np.where(X[s, :, 1] == 1, "ET+CDK4/6i", "ET")})


REF = {"het_group": "homogeneous", "arm": "ET"}


def test_01_large_cohort_recovers_hazard_ratios():
    d = next(_cohorts(1, 4000, seed=21))
    res = fit_cox(d, "het_group + arm", reference=REF).summary.set_index("name")
    for name, truth in TRUTH.items():
        assert abs(res.loc[name, "coef"] - truth) < 3 * res.loc[name, "se"]
        assert res.loc[name, "se"] < 0.05


@pytest.mark.slow
def test_02_wald_ci_coverage_close_to_95_percent():
    # 1,000 cohorts of 100 patients: Monte Carlo SE of a 95% coverage is 0.7%. Wald CIs of a Cox model run
    # slightly below nominal at n = 100 (benchmarks/coverage.py: 93.4% and 94.4%); accept 92.5-97.5%
    hits = {k: [] for k in TRUTH}
    for d in _cohorts(1000, 100, seed=22):
        s = fit_cox(d, "het_group + arm", reference=REF).summary.set_index("name")
        for name, truth in TRUTH.items():
            hits[name].append(s.loc[name, "hr_ci_low"] <= np.exp(truth) <= s.loc[name, "hr_ci_high"])
    for name, h in hits.items():
        assert 0.925 <= np.mean(h) <= 0.975, (name, np.mean(h))
