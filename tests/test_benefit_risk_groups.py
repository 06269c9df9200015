"""PATH risk modelling: risk groups and the treatment effect within them."""

import numpy as np
import pandas as pd
import pytest

from lifelines import KaplanMeierFitter

from sonimage_utils.benefit.risk_groups import assign_risk_groups, compute_risk_group_effects


def _cohort(n=400, seed=0):
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=n)
    arm = np.where(np.arange(n) % 2 == 1, "ET+CDK4/6i", "ET")
    hazard = 0.05 * np.exp(lp + np.log(0.6) * (arm == "ET+CDK4/6i"))
    t = rng.exponential(1 / hazard)
    c = rng.uniform(20, 50, size=n)
    return pd.DataFrame({"lp": lp, "arm": arm, "pfs1_months": np.minimum(t, c), "pfs1_event": (t <= c).astype(int)})


def test_01_groups_are_quantiles_and_keep_ties_together():
    g = assign_risk_groups(np.arange(12.0), 4)
    assert np.bincount(g)[1:].tolist() == [3, 3, 3, 3]
    tied = assign_risk_groups([0, 0, 0, 0, 0, 0, 1, 2, 3, 4.0], 4)
    # the tie block is one group, and the 4 groups asked for are still formed around it (issue 12, item 3)
    assert len(set(tied[:6])) == 1 and tied.max() == 4
    # fewer groups only when there are fewer distinct values than groups
    assert assign_risk_groups([0, 0, 0, 0, 0, 0, 1, 1, 2, 2.0], 4).max() == 3
    with pytest.raises(ValueError, match="n_groups"):
        assign_risk_groups([1.0, 2.0], 3)


def test_02_constant_hr_recovered_in_each_group_and_absolute_benefit_grows_with_risk():
    tab = compute_risk_group_effects(_cohort(), t=12.0, n_groups=3)
    assert tab["n"].sum() == 400 and (tab["hr_status"] == "ok").all()
    assert (tab["hr_ci_low"] < 0.6).all() and (0.6 < tab["hr_ci_high"]).all()
    assert tab["abs_benefit"].iloc[-1] > tab["abs_benefit"].iloc[0]  # higher baseline risk, larger gain
    assert tab.attrs["interaction_p"] > 0.01  # no arm x risk interaction was simulated


def test_03_absolute_effect_is_the_km_difference():
    df = _cohort(200, 1)
    tab = compute_risk_group_effects(df, t=12.0, n_groups=2)
    low = df[assign_risk_groups(df["lp"], 2) == 1]
    s = {a: KaplanMeierFitter().fit(low.loc[low.arm == a, "pfs1_months"], low.loc[low.arm == a, "pfs1_event"])
         .predict(12.0) for a in ("ET", "ET+CDK4/6i")}
    assert tab.loc[0, "abs_benefit"] == pytest.approx(s["ET+CDK4/6i"] - s["ET"], abs=1e-12)


def test_04_rejects_other_arms():
    df = _cohort(20, 2)
    df.loc[0, "arm"] = "chemotherapy"
    with pytest.raises(ValueError, match="arm"):
        compute_risk_group_effects(df, t=12.0, n_groups=4)
