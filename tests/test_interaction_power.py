"""Simulation of interaction power: the batch Cox fit equals lifelines, the type I error is alpha, truth is recovered."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from sonimage_utils.survival.power import compute_interaction_power, fit_cox_batch, simulate_interaction_trials

#: A trial of 100 patients, half heterogeneous and half treated, 70% with an event, SONIA's arm HR and median.
DESIGN = dict(n_patients=100, n_heterogeneous=50, n_treated=50, event_fraction=0.7, hr_group=1.8, hr_arm=0.59,
              median_reference_months=16.1)


def test_01_batch_cox_equals_lifelines_on_untied_data():
    # continuous simulated times have no ties, so Breslow (batch) = Efron (lifelines)
    t, e, X = simulate_interaction_trials(4, seed=11, hr_interaction=0.5, **DESIGN)
    fit = fit_cox_batch(t, e, X)
    for s in range(4):
        d = pd.DataFrame(X[s], columns=["g", "a", "ga"]).assign(T=t[s], E=e[s])
        ref = CoxPHFitter().fit(d, "T", "E", fit_options={"precision": 1e-20, "r_precision": 1e-15})
        assert fit["coef"][s] == pytest.approx(ref.params_.to_numpy(), abs=1e-8)
        assert fit["vcov"][s] == pytest.approx(ref.variance_matrix_.to_numpy(), abs=1e-9)
        assert fit["loglik"][s] == pytest.approx(ref.log_likelihood_, rel=1e-10)
    assert fit["converged"].all()


def test_02_type_one_error_is_alpha_without_interaction():
    # 2,000 trials: Monte Carlo SE of a 5% rejection rate is 0.49%; allow 3 SE
    res = compute_interaction_power([1.0], n_sim=2000, alpha=0.05, seed=7, **DESIGN)
    assert res["power"].item() == pytest.approx(0.05, abs=0.015)


def test_03_power_grows_with_interaction_size():
    res = compute_interaction_power([1.0, 0.7, 0.5, 0.3], n_sim=400, alpha=0.05, seed=3, **DESIGN)
    assert np.all(np.diff(res["power"]) > 0)
    assert res["power"].iloc[-1] > 0.5


def test_04_event_fraction_matches_target():
    t, e, X = simulate_interaction_trials(2000, seed=5, **{**DESIGN, "event_fraction": 0.6})
    assert e.mean() == pytest.approx(0.6, abs=0.01)
    assert X[..., 0].sum(axis=1).tolist() == [50] * 2000  # exact group split


def test_05_estimates_recover_true_hazard_ratios():
    # mean log-HR over 500 trials of 100 patients is within 3 Monte Carlo SE of the truth (small-sample
    # bias of the Cox MLE is ~1% of the coefficient here)
    truth = np.log([1.8, 0.59, 0.5])
    t, e, X = simulate_interaction_trials(500, hr_interaction=0.5, seed=9, **DESIGN)
    coef = fit_cox_batch(t, e, X)["coef"]
    mc_se = coef.std(axis=0) / np.sqrt(len(coef))
    assert np.all(np.abs(coef.mean(axis=0) - truth) < 3 * mc_se + 0.02)


def test_06_same_seed_same_result():
    a = compute_interaction_power([0.5], n_sim=50, alpha=0.05, seed=1, **DESIGN)
    b = compute_interaction_power([0.5], n_sim=50, alpha=0.05, seed=1, **DESIGN)
    pd.testing.assert_frame_equal(a, b)


def test_07_subgroup_without_events_is_flagged_not_converged():
    t, e, X = simulate_interaction_trials(2, seed=2, **DESIGN)
    e[0, (X[0, :, 0] == 1) & (X[0, :, 1] == 1)] = 0  # no events in heterogeneous x treated
    fit = fit_cox_batch(t, e, X)
    assert not fit["converged"][0] and fit["converged"][1]


def test_08_bad_design_raises():
    with pytest.raises(ValueError, match="at least one patient"):
        simulate_interaction_trials(2, seed=2, **{**DESIGN, "n_heterogeneous": 0})
    with pytest.raises(ValueError, match="positive"):
        simulate_interaction_trials(2, seed=2, **{**DESIGN, "hr_arm": 0})


def test_09_chunks_of_trials_give_the_same_fits(monkeypatch):
    # trials are independent: cutting the batch into chunks (as a 10,000-patient cohort is) changes no bit
    import sonimage_utils.survival.power as power
    t, e, X = simulate_interaction_trials(30, seed=4, hr_interaction=0.5, **DESIGN)
    whole = fit_cox_batch(t, e, X)
    monkeypatch.setattr(power, "MAX_BATCH_ROWS", 7 * DESIGN["n_patients"])  # chunks of 7 trials
    chunked = fit_cox_batch(t, e, X)
    for key in whole:
        np.testing.assert_array_equal(whole[key], chunked[key])


def test_10_pattern_sums_equal_patient_sums_with_duplicate_patterns():
    # the reduced model's patterns repeat (4 cells, 2 columns distinguish only 4 - the same sums either way):
    # fitting X[..., :2] directly and through the full model's 4 patterns gives the same fit
    t, e, X = simulate_interaction_trials(5, seed=6, hr_interaction=0.5, **DESIGN)
    direct = fit_cox_batch(t, e, X[..., :2])
    d = pd.DataFrame(X[0, :, :2], columns=["g", "a"]).assign(T=t[0], E=e[0])
    ref = CoxPHFitter().fit(d, "T", "E", fit_options={"precision": 1e-20, "r_precision": 1e-15})
    assert direct["coef"][0] == pytest.approx(ref.params_.to_numpy(), abs=1e-8)


def test_11_continuous_covariate_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="distinct covariate rows"):
        fit_cox_batch(rng.random((2, 100)), np.ones((2, 100)), rng.random((2, 100, 1)))
