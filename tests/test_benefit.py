"""Objective 4 statistics: Riley sample size, c-for-benefit, calibration for benefit."""

import numpy as np
import pytest

from sonimage_utils.benefit.sample_size import riley_max_parameters, riley_sample_size
from sonimage_utils.benefit.metrics import c_for_benefit, c_for_benefit_pairs, compute_calibration_for_benefit, match_on_predicted_benefit


def test_01_riley_check_value_from_methods():
    # methods.md / Riley BMJ 2020 example; R: pmsampsize(type = "s", rsquared = 0.051, parameters = 25,
    # rate = 0.065, timepoint = 2, meanfup = 2.07) -> criteria 1: 4286, criteria 2: 875, EPP 23.07
    r = riley_sample_size(0.051, 25, 0.065, 2, 2.07, 0.9)
    assert r["n_criterion1"] == 4286
    assert r["n_criterion2"] == 875
    assert r["n_required"] == 4286
    assert r["events_per_parameter"] == pytest.approx(23.07, abs=0.005)
    assert r["max_r2_cs"] == pytest.approx(0.55)


def test_02_riley_without_pmsampsize_rounding():
    # unrounded max R2cs = 0.5546 and S2 = 0.6478 give 865.5 -> 866
    assert riley_sample_size(0.051, 25, 0.065, 2, 2.07, 0.9, pmsampsize_rounding=False)["n_criterion2"] == 866


def test_03_max_parameters_inverts_the_sample_size():
    for n, r2 in [(100, 0.15), (100, 0.3), (500, 0.1), (4286, 0.051)]:
        rate, fu = 0.02, 30.0
        p = riley_max_parameters(n, r2, rate, fu, 0.9)["max_parameters"]
        if p >= 1:
            assert riley_sample_size(r2, p, rate, 2, fu, 0.9)["n_required"] <= n
        assert riley_sample_size(r2, p + 1, rate, 2, fu, 0.9)["n_required"] > n


def test_04_riley_rejects_impossible_inputs():
    with pytest.raises(ValueError, match="maximum possible"):
        riley_sample_size(0.6, 5, 0.065, 2, 2.07, 0.9)
    with pytest.raises(ValueError, match="shrinkage"):
        riley_sample_size(0.2, 5, 0.065, 2, 2.07, shrinkage=0.1)


def test_05_c_for_benefit_pairs_hand_worked():
    # pairs of pairs with unequal observed benefit (i, j): obs, pred -> score
    # (0,1) +1 vs 0, 0.3 > 0.1 -> 1; (0,2) +1 vs -1, 0.3 > 0.2 -> 1; (0,3) equal obs -> not used;
    # (1,2) 0 vs -1, 0.1 < 0.2 -> 0; (1,3) 0 vs +1, 0.1 < 0.2 -> 1; (2,3) -1 vs +1, tie 0.2 = 0.2 -> 0.5
    # C = 3.5 / 5
    assert c_for_benefit_pairs([0.3, 0.1, 0.2, 0.2], [1, 0, -1, 1]) == pytest.approx(0.7)


def test_06_c_for_benefit_pairs_edge_cases():
    assert np.isnan(c_for_benefit_pairs([0.1, 0.2], [1, 1]))
    assert c_for_benefit_pairs([0.1, 0.2, 0.3], [-1, 0, 1]) == 1.0
    assert c_for_benefit_pairs([0.3, 0.2, 0.1], [-1, 0, 1]) == 0.0
    with pytest.raises(ValueError, match="equal length"):
        c_for_benefit_pairs([0.1], [1, 0])


def test_06b_c_for_benefit_pairs_counted_equals_all_pairs_listed_bit_for_bit():
    # the O(m log m) count against the definition (every pair of pairs listed), with ties in both
    def listed(pb, ob):
        i, j = np.triu_indices(len(pb), k=1)
        usable = ob[i] != ob[j]
        if not usable.any():
            return float("nan")
        d_obs, d_pred = np.sign(ob[i] - ob[j])[usable], np.sign(pb[i] - pb[j])[usable]
        return float(np.where(d_pred == 0, 0.5, (d_pred == d_obs).astype(float)).mean())

    rng = np.random.default_rng(15)
    for _ in range(300):
        m = int(rng.integers(1, 80))
        pb = np.round(rng.normal(size=m), int(rng.integers(0, 3)))
        ob = rng.integers(-1, 2, size=m).astype(float)
        a, b = listed(pb, ob), c_for_benefit_pairs(pb, ob)
        assert a == b or (np.isnan(a) and np.isnan(b))


def test_07_matching_sorts_each_arm_and_subsamples_larger():
    pb = [0.1, 0.3, 0.2, 0.25, 0.05, 0.15, 0.9]
    tr = [1, 1, 1, 0, 0, 0, 0]
    pairs = match_on_predicted_benefit(pb, tr, rng=0)
    assert len(pairs) == 3
    assert list(pairs["idx_treated"]) == [0, 2, 1]
    assert np.all(np.diff(np.asarray(pb)[pairs["idx_control"]]) > 0)


def test_08_c_for_benefit_hand_worked_with_matching_and_censoring():
    # treated 0,1,2 (pred .1 .3 .2) + 6 (.4, censored at 4 < t); control 3,4,5 (.25 .05 .15) + 7 (.35)
    # pairs by rank: (0,4) (2,5) (1,3) (6,7); status at t = 10 (1 event by t, 0 event-free):
    # 0: event 5 -> 1, 4: 20 -> 0  => obs 0 - 1 = -1, pred .075
    # 2: cens 15 -> 0, 5: event 3 -> 1 => obs +1, pred .175
    # 1: event 9 -> 1, 3: event 8 -> 1 => obs 0, pred .275
    # (6,7): 6 censored before t -> pair left out
    # pairs of pairs: (-1,+1) pred .075<.175 -> 1; (-1,0) .075<.275 -> 1; (+1,0) .175<.275 -> 0 => 2/3
    pb = np.array([0.1, 0.3, 0.2, 0.25, 0.05, 0.15, 0.4, 0.35])
    tr = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    time = np.array([5, 9, 15, 8, 20, 3, 4, 30.0])
    event = np.array([1, 1, 0, 1, 0, 1, 0, 0])
    res = c_for_benefit(pb, tr, time, event, 10.0, n_boot=50, seed=1)
    assert res.c == pytest.approx(2 / 3)
    assert res.n_pairs == 3
    assert res.summary.shape == (1, 5)


def test_09_c_for_benefit_detects_true_heterogeneity():
    rng = np.random.default_rng(7)
    n = 600
    x = rng.normal(size=n)
    tr = np.arange(n) % 2
    log_hr = -1.0 * x * tr  # benefit grows with x
    time = rng.exponential(10 / np.exp(0.3 + log_hr))
    event = np.ones(n)
    true_benefit = np.exp(-12 / 10 * np.exp(0.3 - x)) - np.exp(-12 / 10 * np.exp(0.3))
    good = c_for_benefit(true_benefit, tr, time, event, 12.0, n_boot=100, seed=2)
    noise = c_for_benefit(rng.normal(size=n), tr, time, event, 12.0, n_boot=100, seed=2)
    assert good.c > 0.55 and good.ci_low > 0.5
    assert noise.ci_low < 0.5 < noise.ci_high
    again = c_for_benefit(true_benefit, tr, time, event, 12.0, n_boot=100, seed=2)
    assert again.c == good.c and again.ci_low == good.ci_low  # seeded


def test_10_calibration_for_benefit_uses_km_difference():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    n = 400
    tr = np.arange(n) % 2
    time = rng.exponential(np.where(tr == 1, 20.0, 12.0))
    event = (rng.random(n) < 0.8).astype(int)
    pb = rng.random(n)
    tab = compute_calibration_for_benefit(pb, tr, time, event, 12.0, n_groups=4)
    assert tab["n"].sum() == n and len(tab) == 4
    g1 = np.argsort(np.argsort(pb, kind="stable"), kind="stable") < n / 4
    km = [KaplanMeierFitter().fit(time[g1 & (tr == a)], event[g1 & (tr == a)]).predict(12.0) for a in (1, 0)]
    assert tab.loc[0, "observed"] == pytest.approx(km[0] - km[1], abs=1e-12)
    assert (tab["ci_low"] < tab["observed"]).all() and (tab["observed"] < tab["ci_high"]).all()
    # true benefit at 12 months: exp(-12/20) - exp(-1) = 0.181; every group's CI should be near it
    true = np.exp(-12 / 20) - np.exp(-1)
    assert abs(tab["observed"].mean() - true) < 0.1


def test_the_bootstrap_measures_equal_the_public_functions_to_the_bit():
    # evaluate_benefit_model validates and sorts each data set once (shared by the slope and the calibration
    # curve's fit) and predicts without frames; its numbers must be those of the public functions, bit for bit
    import pandas as pd

    from sonimage_utils.benefit.internal_validation import compute_observed_risk_curve
    from sonimage_utils.benefit.procedure import (compute_survival_at, evaluate_benefit_model,
                                                  fit_benefit_procedure, predict_from_features)
    from sonimage_utils.survival.measures import compute_calibration_slope, compute_harrell_c

    rng = np.random.default_rng(3)
    n, p = 80, 4
    X = rng.normal(size=(n, p))
    treated = rng.integers(0, 2, n)
    t = np.round(rng.exponential(np.exp(-(0.4 * X[:, 0] - 0.5 * treated)) * 20))  # whole months: ties
    c = rng.uniform(0, 60, n)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    frame["time"], frame["event"], frame["treated"] = np.minimum(t, c), (t <= c).astype(float), treated.astype(float)
    feats = [f"x{j}" for j in range(p)]
    model = fit_benefit_procedure(frame, feats, n_folds=5, seed=1, fit_effect=True)
    grid = np.linspace(0.2, 0.8, 7)
    for _ in range(3):
        f = frame.iloc[rng.integers(0, n, n)]
        res = evaluate_benefit_model(model, f, horizon=24.0, rmst_horizon=36.0, risk_grid=grid,
                                     benefit_threshold=0.05, cfb_seed=7)
        pred = predict_from_features(model, f[feats], horizon=24.0, rmst_horizon=None)
        time, event, lp = f["time"].to_numpy(), f["event"].to_numpy(), pred["lp"].to_numpy()
        risk = 1 - compute_survival_at(model["prognostic"]["baseline"], lp, 24.0)
        assert res["c"] == compute_harrell_c(time, event, lp)
        assert res["slope"] == compute_calibration_slope(time, event, lp)["slope"]
        assert res["calibration"].tobytes() == compute_observed_risk_curve(time, event, risk, 24.0, grid).tobytes()
        tr = f["treated"].to_numpy()
        assert res["c_for_benefit"] == c_for_benefit(pred["benefit_t"].to_numpy(), tr, time, event, 24.0,
                                                     n_boot=0, seed=7).c
        assert res["c_for_benefit_effect"] == c_for_benefit(pred["effect_benefit_t"].to_numpy(), tr, time, event,
                                                            24.0, n_boot=0, seed=7).c
