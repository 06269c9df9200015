"""Harrell bootstrap optimism correction and its fast measures (C, slope, calibration at t)."""

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.benefit.procedure import (evaluate_benefit_model, fit_for_bootstrap, predict_from_features)
from sonimage_utils.simulate.benefit import simulate_benefit_cohort
from sonimage_utils.benefit.internal_validation import bootstrap_optimism, compute_observed_risk_curve
from sonimage_utils.survival import compute_calibration_slope, compute_harrell_c
from sonimage_utils.benefit.features import FEATURE_DEFINITIONS, derive_model_features, derive_outcome

REF_DIR = Path(__file__).parent / "reference" / "penalized_cox"
REF = json.loads((REF_DIR / "reference.json").read_text())
DATA = pd.read_csv(REF_DIR / "data.csv")
LP = 0.6 * DATA["x1"] - 0.4 * DATA["x2"] + 0.5 * DATA["x3"]
ALL_FEATURES = list(FEATURE_DEFINITIONS)


def _frame(n, seed, features):
    patients, lesions = simulate_benefit_cohort(n, seed=seed)
    settings = {"fes_threshold": 1.5, "fes_excluded_organs": ["liver"]}
    return derive_model_features(patients, lesions, features, settings).join(derive_outcome(patients))


def _procedure(features, frame, horizon=24.0):
    fit = functools.partial(fit_for_bootstrap, features=features, n_folds=5)
    model = fit(frame, 0)
    risk = predict_from_features(model, frame[features], horizon=horizon, rmst_horizon=36)["risk_t"]
    grid = np.quantile(risk, [0.1, 0.5, 0.9])
    metric = functools.partial(evaluate_benefit_model, horizon=horizon, rmst_horizon=36, risk_grid=grid,
                               benefit_threshold=0.05)
    return fit, metric


def test_01_harrell_c_matches_survival_concordance():
    # R: concordance(Surv(time, event) ~ lp, reverse = TRUE)$concordance
    assert compute_harrell_c(DATA["time"], DATA["event"], LP) == pytest.approx(REF["harrell_c"], abs=1e-12)


def test_02_harrell_c_matches_lifelines_with_ties():
    from lifelines.utils import concordance_index

    rng = np.random.default_rng(0)
    t = rng.integers(1, 15, size=80).astype(float)  # many tied times
    e = rng.integers(0, 2, size=80)
    lp = rng.integers(0, 4, size=80).astype(float)  # many tied scores
    assert compute_harrell_c(t, e, lp) == pytest.approx(concordance_index(t, -lp, e), abs=1e-12)


def test_03_calibration_slope_matches_coxph():
    # R: coef(coxph(Surv(time, event) ~ lp)), R's default Efron ties (tests/reference/estimators,
    # ref_measures.csv). This pin was the Breslow slope (REF["calibration_slope"], 1.10350) while chapter 05
    # used Efron for the same quantity; the one calibration slope of the book is Efron's (1.10427).
    ref = pd.read_csv(REF_DIR.parent / "estimators" / "ref_measures.csv").set_index(["dataset", "measure"])["value"]
    slope = compute_calibration_slope(DATA["time"], DATA["event"], LP)["slope"]
    assert slope == pytest.approx(ref["penalized_cox", "calibration_slope_efron"], rel=1e-6)
    with pytest.raises(ValueError, match="constant"):
        compute_calibration_slope(DATA["time"], DATA["event"], np.zeros(len(DATA)))
    # a model shrunk to nothing gives NaN in the bootstrap measures rather than stopping the bootstrap
    # (the bootstrap's slope reads the resample's outcome sorted once, shared with the calibration curve's fit)
    from sonimage_utils.benefit.procedure import _slope_or_nan
    from sonimage_utils.survival.efron import _SortedOutcome

    outcome = _SortedOutcome(DATA["time"].to_numpy(dtype=float), DATA["event"].to_numpy() == 1)
    assert np.isnan(_slope_or_nan(outcome, np.zeros(len(DATA))))


def test_04_observed_risk_curve_recovers_a_calibrated_model():
    rng = np.random.default_rng(1)
    n = 4000
    lp = rng.normal(size=n)
    t = rng.exponential(1 / (0.05 * np.exp(lp)))
    c = rng.uniform(5, 40, size=n)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    true_risk = 1 - np.exp(-0.05 * 12 * np.exp(lp))
    grid = np.quantile(true_risk, [0.1, 0.3, 0.5, 0.7, 0.9])
    observed = compute_observed_risk_curve(time, event, true_risk, 12.0, grid)
    np.testing.assert_allclose(observed, grid, atol=0.03)
    # a model predicting twice the hazard is seen as over-predicting
    over = 1 - np.exp(-0.1 * 12 * np.exp(lp))
    obs_over = compute_observed_risk_curve(time, event, over, 12.0, np.quantile(over, [0.5]))
    assert obs_over[0] < np.quantile(over, 0.5) - 0.1


@pytest.mark.parametrize("backend", ["threading", "multiprocessing"])
def test_05_bootstrap_is_seeded_and_independent_of_jobs_and_backend(backend):
    # "multiprocessing" (forked workers) is the default of the chapters
    features = ["hs", "log_fdg_suvmax", "visceral_disease"]
    frame = _frame(60, 2, features)
    fit, metric = _procedure(features, frame)
    one = bootstrap_optimism(frame, fit, metric, n_boot=6, seed=4, fit_seed=0, n_jobs=1)
    two = bootstrap_optimism(frame, fit, metric, n_boot=6, seed=4, fit_seed=0, n_jobs=2, backend=backend)
    pd.testing.assert_frame_equal(one.resamples, two.resamples)
    assert one.summary.equals(two.summary)
    np.testing.assert_array_equal(one.corrected["calibration"], two.corrected["calibration"])


def _where_fit(frame, seed):
    from distributed import get_worker

    try:
        get_worker()
        return 1.0
    except ValueError:  # not inside a dask task
        return 0.0


def _where_metric(model, frame):
    return {"on_dask_worker": model}


def test_06_bootstrap_runs_on_a_local_dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    features = ["hs", "visceral_disease"]
    frame = _frame(50, 3, features)
    fit, metric = _procedure(features, frame)
    local = bootstrap_optimism(frame, fit, metric, n_boot=4, seed=5, fit_seed=0, n_jobs=1)
    # two worker threads: with one, joblib would run the tasks in this process without dask
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        on_dask = bootstrap_optimism(frame, fit, metric, n_boot=4, seed=5, fit_seed=0,
                                     scheduler_address=cluster.scheduler_address)
        probe = bootstrap_optimism(frame, _where_fit, _where_metric, n_boot=4, seed=5, fit_seed=0,
                                   scheduler_address=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local.resamples, on_dask.resamples)
    assert (probe.resamples["app_on_dask_worker"] == 1.0).all()


def test_07_corrected_values_are_apparent_minus_optimism():
    features = ["hs", "log_fdg_suvmax"]
    frame = _frame(60, 6, features)
    fit, metric = _procedure(features, frame)
    res = bootstrap_optimism(frame, fit, metric, n_boot=5, seed=1, fit_seed=0)
    rs = res.resamples
    assert res.optimism["c"] == pytest.approx(np.mean(rs["app_c"] - rs["test_c"]))
    assert res.corrected["c"] == pytest.approx(res.apparent["c"] - res.optimism["c"])
    row = res.summary.set_index("measure").loc["c"]
    assert row["optimism_median"] == pytest.approx(np.median(rs["app_c"] - rs["test_c"]))
    assert row["optimism_sd"] == pytest.approx(np.std(rs["app_c"] - rs["test_c"], ddof=1))
    assert res.n_failed == 0 and len(rs) == 5


def _sometimes_failing_fit(frame, seed):
    if seed % 3 == 0:
        raise ValueError("simulated failure")
    return float(frame["x"].mean())


def _mean_metric(model, frame):
    return {"m": model}


def test_08_failed_resamples_are_counted_and_left_out():
    frame = pd.DataFrame({"x": np.arange(20.0)})
    res = bootstrap_optimism(frame, _sometimes_failing_fit, _mean_metric, n_boot=30, seed=0, fit_seed=1)
    assert 0 < res.n_failed < 30
    assert res.resamples["app_m"].isna().sum() == res.n_failed


def _curve_metric(model, frame):
    # a 2-point "curve" that is not finite when the resample holds x = 0 more than twice (and the original is fine)
    bad = (frame["x"] == 0).sum() > 2
    return {"m": float(frame["x"].mean()), "curve": np.array([np.nan if bad else 1.0, 2.0])}


def test_08b_resamples_with_a_non_finite_measure_are_counted_and_left_out_of_its_optimism():
    frame = pd.DataFrame({"x": np.arange(6.0)})
    res = bootstrap_optimism(frame, lambda f, s: None, _curve_metric, n_boot=200, seed=3, fit_seed=1)
    assert res.n_failed == 0
    assert 0 < res.n_not_finite["curve"] < 200
    assert res.n_not_finite["m"] == 0
    # the optimism of the curve's first point averages only the finite resamples: apparent 1 - test 1 = 0
    assert res.optimism["curve"][0] == 0.0 and np.isfinite(res.corrected["curve"]).all()


@pytest.mark.slow
def test_09_optimism_correction_moves_c_toward_independent_test_c():
    # simulated cohorts with known truth: 100 patients, all 12 candidate predictors (most are noise); a
    # 5000-patient independent cohort from the same model gives the C each fitted model really has.
    # One cohort's apparent C is noisy (SD about 0.03 at n = 100, the size of the optimism), so the
    # property is checked on average over 12 development cohorts: mean(apparent - test) is the optimism,
    # mean(corrected - test) should be near 0 and smaller in absolute value.
    test = _frame(5000, 999, ALL_FEATURES)
    rows = []
    for rep in range(12):
        frame = _frame(100, 100 + rep, ALL_FEATURES)
        fit, metric = _procedure(ALL_FEATURES, frame)
        res = bootstrap_optimism(frame, fit, metric, n_boot=25, seed=rep, fit_seed=0)
        c_test = metric(fit(frame, 0), test)["c"]
        rows.append((res.apparent["c"], res.corrected["c"], c_test))
    app, cor, tst = np.array(rows).T
    print(f"mean apparent C {app.mean():.3f}, corrected {cor.mean():.3f}, independent test {tst.mean():.3f}")
    assert app.mean() - tst.mean() > 0.01
    assert abs(cor.mean() - tst.mean()) < abs(app.mean() - tst.mean())
