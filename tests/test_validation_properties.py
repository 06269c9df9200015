"""Validation metrics recover known truth in simulated cohorts, and reject bad input clearly.

Simulation: hazard ``0.1 * exp(lp)``, ``lp ~ N(0, 1)``, independent uniform censoring on (0, 20), horizon 5.
A correct model's predicted risk is ``1 - exp(-0.5 exp(lp))``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.external_validation.decision_curve import compute_net_benefit
from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS, survival_performance
from sonimage_utils.tables.validation import format_performance_table
from sonimage_utils.external_validation.bootstrap import (bootstrap_auc_curve, bootstrap_calibration_curve,
                                                          bootstrap_performance)
from sonimage_utils.external_validation.calibration import compute_grouped_calibration, fit_recalibration
from sonimage_utils.external_validation.metrics import compute_brier, compute_calibration_slope, compute_uno_c

T = 5.0


def simulate(n, seed, cens_max=20.0, lam=0.1):
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=n)
    t_event = rng.exponential(1.0 / (lam * np.exp(lp)))
    t_cens = rng.uniform(0, cens_max, size=n) if cens_max else np.full(n, np.inf)
    time = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    risk = 1 - np.exp(-lam * T * np.exp(lp))
    return time, event, risk, lp, t_event


@pytest.fixture(scope="module")
def sim():
    return simulate(3000, seed=1)


def test_01_correct_model_is_calibrated(sim):
    time, event, risk, lp, _ = sim
    p = survival_performance(time, event, risk, lp, T)
    assert p["oe"] == pytest.approx(1.0, abs=0.06)
    assert p["calibration_slope"] == pytest.approx(1.0, abs=0.08)
    assert p["ici"] < 0.02 and p["e90"] < 0.04


def test_02_overprediction_shows_in_oe_and_ici(sim):
    # the model predicts with twice the true hazard: O/E = true risk / predicted risk, well below 1
    time, event, risk, lp, _ = sim
    risk2 = 1 - np.exp(-2 * 0.1 * T * np.exp(lp))
    p = survival_performance(time, event, risk2, lp + np.log(2), T)
    assert p["oe"] == pytest.approx(np.mean(risk) / np.mean(risk2), abs=0.06)
    assert p["ici"] > 0.08
    assert p["harrell_c"] == pytest.approx(survival_performance(time, event, risk, lp, T)["harrell_c"], abs=1e-12)


def test_03_calibration_slope_recovers_overfitting(sim):
    # predictions twice as extreme as the truth (lp doubled): slope 1/2
    time, event, _, lp, _ = sim
    assert compute_calibration_slope(time, event, 2 * lp)["slope"] == pytest.approx(0.5, abs=0.04)


def test_04_ipcw_discrimination_matches_uncensored_truth(sim):
    # independent censoring: Uno C and AUC(t) on censored data estimate the uncensored values
    time, event, risk, lp, t_event = sim
    full = survival_performance(t_event, np.ones_like(event), risk, lp, T)
    cens = survival_performance(time, event, risk, lp, T)
    assert cens["uno_c"] == pytest.approx(compute_uno_c(t_event, np.ones_like(event), lp, T), abs=0.02)
    assert cens["auc"] == pytest.approx(full["auc"], abs=0.02)


def test_05_ipcw_brier_matches_uncensored_brier_and_its_expectation(sim):
    time, event, risk, lp, t_event = sim
    y = (t_event <= T).astype(float)
    assert compute_brier(time, event, risk, T)["brier"] == pytest.approx(np.mean((y - risk) ** 2), abs=0.01)
    assert compute_brier(time, event, risk, T)["brier"] == pytest.approx(np.mean(risk * (1 - risk)), abs=0.01)
    assert survival_performance(time, event, risk, lp, T)["ipa"] > 0.05


def test_06_metrics_invariant_to_order_and_lp_shift(sim):
    time, event, risk, lp, _ = sim
    base = survival_performance(time, event, risk, lp, T)
    perm = np.random.default_rng(3).permutation(len(time))
    shifted = survival_performance(time[perm], event[perm], risk[perm], lp[perm] + 1.7, T)
    assert shifted == pytest.approx(base, abs=1e-9)


def test_07_recalibration_intercept_fixes_mean_and_slope_fixes_slope(sim):
    time, event, risk, lp, _ = sim
    risk2 = 1 - np.exp(-2 * 0.1 * T * np.exp(lp))
    rec = fit_recalibration(time, event, risk2, lp + np.log(2), T, method="intercept")
    assert rec.summary["baseline_ratio"].iloc[0] == pytest.approx(0.5, abs=0.06)
    assert np.mean(rec.risk) == pytest.approx(np.mean(risk), abs=0.02)
    rec_s = fit_recalibration(time, event, risk, 2 * lp, T, method="slope")
    assert rec_s.slope == pytest.approx(0.5, abs=0.04)
    assert compute_calibration_slope(time, event, rec_s.slope * 2 * lp)["slope"] == pytest.approx(1.0, abs=1e-6)


def test_08_grouped_calibration_tracks_the_diagonal(sim):
    time, event, risk, _, _ = sim
    g = compute_grouped_calibration(time, event, risk, T, n_groups=5)
    assert list(g.group) == [1, 2, 3, 4, 5] and g.n.sum() == len(time)
    assert g.observed.to_numpy() == pytest.approx(g.predicted.to_numpy(), abs=0.05)
    assert (g.ci_low <= g.observed).all() and (g.observed <= g.ci_high).all()


def test_09_net_benefit_edges():
    time, event, risk, _, _ = simulate(500, seed=5)
    nb = compute_net_benefit(time, event, risk, T, [0.0, 0.5, risk.max()])
    # threshold 0: everybody treated, model = treat all; threshold above every prediction: treat none
    assert nb.net_benefit_model.iloc[0] == pytest.approx(nb.net_benefit_all.iloc[0], abs=1e-12)
    assert nb.net_benefit_model.iloc[-1] == 0.0 and (nb.net_benefit_none == 0).all()
    assert nb.net_benefit_model.iloc[1] > max(nb.net_benefit_all.iloc[1], 0.0)


def test_10_bootstrap_is_reproducible_for_a_seed():
    time, event, risk, lp, _ = simulate(150, seed=2)
    a = bootstrap_performance(time, event, risk, lp, T, n_boot=8, seed=42)
    b = bootstrap_performance(time, event, risk, lp, T, n_boot=8, seed=42)
    c = bootstrap_performance(time, event, risk, lp, T, n_boot=8, seed=43)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not a.replicates.equals(c.replicates)
    assert list(a.summary.metric) == list(PERFORMANCE_METRICS)
    s = a.summary.set_index("metric")
    assert ((s.ci_low <= s.estimate + 0.05) & (s.estimate - 0.05 <= s.ci_high)).all()


@pytest.mark.slow
def test_10b_bootstrap_does_not_depend_on_n_jobs():
    # slow only because joblib starts worker processes
    time, event, risk, lp, _ = simulate(150, seed=2)
    a = bootstrap_performance(time, event, risk, lp, T, n_boot=6, seed=42)
    b = bootstrap_performance(time, event, risk, lp, T, n_boot=6, seed=42, n_jobs=2)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)


def test_10c_bootstrap_on_a_dask_cluster_is_bit_identical():
    # chapter 05's three bootstrap loops on a local dask cluster give what they give in this process, bit for
    # bit (the resample indices are drawn up front; each resample is the same computation wherever it runs)
    distributed = pytest.importorskip("dask.distributed")
    time, event, risk, lp, _ = simulate(120, seed=3)
    local = (bootstrap_performance(time, event, risk, lp, T, n_boot=5, seed=42),
             bootstrap_calibration_curve(time, event, risk, T, n_boot=5, n_grid=8, seed=1),
             bootstrap_auc_curve(time, event, lp, [2.0, 4.0, 6.0], n_boot=5, seed=2))
    # two worker threads: with one, joblib would run the tasks in this process without dask
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        on_dask = (bootstrap_performance(time, event, risk, lp, T, n_boot=5, seed=42, scheduler_address=address),
                   bootstrap_calibration_curve(time, event, risk, T, n_boot=5, n_grid=8, seed=1,
                                               scheduler_address=address),
                   bootstrap_auc_curve(time, event, lp, [2.0, 4.0, 6.0], n_boot=5, seed=2, scheduler_address=address))
        done_on_cluster = {k: v.state_counts["memory"] for k, v in cluster.scheduler.task_prefixes.items()}
    pd.testing.assert_frame_equal(local[0].replicates, on_dask[0].replicates, check_exact=True)
    pd.testing.assert_frame_equal(local[0].summary, on_dask[0].summary, check_exact=True)
    pd.testing.assert_frame_equal(local[1], on_dask[1], check_exact=True)
    pd.testing.assert_frame_equal(local[2], on_dask[2], check_exact=True)
    # the resamples did run on the cluster: chunks of _chunk calls reached memory on its worker
    assert sum(n for k, n in done_on_cluster.items() if "_chunk" in k) >= 3


def test_11_bootstrap_calibration_band_contains_curve():
    time, event, risk, _, _ = simulate(300, seed=4)
    band = bootstrap_calibration_curve(time, event, risk, T, n_boot=10, n_grid=10, seed=1)
    assert list(band.columns) == ["predicted", "observed", "ci_low", "ci_high"]
    assert (band.ci_low <= band.observed + 1e-9).mean() > 0.8


def test_12_performance_table_formats_each_metric():
    summary = pd.DataFrame({"metric": ["harrell_c", "brier"], "estimate": [0.7, 0.123456], "ci_low": [0.6, 0.1],
                            "ci_high": [0.8, 0.15], "cohort": ["A", "A"]})
    tab = format_performance_table(summary)
    assert tab.loc["Harrell C", "A"] == "0.70 (0.60 to 0.80)"
    assert tab.loc["Brier score at t (IPCW)", "A"] == "0.123 (0.100 to 0.150)"


@pytest.mark.parametrize("kwargs, message", [
    ({"event": [1, 0, 2, 1]}, "event must be coded"),
    ({"risk": [0.1, 0.2, np.nan, 0.4]}, "risk has missing"),
    ({"risk": [0.1, 0.2, 1.2, 0.4]}, "probability in"),
    ({"lp": [0.1, 0.2, 0.3]}, "lp has length 3"),
    ({"t": 10.0}, "inside the follow-up"),
    ({"event": [0, 0, 0, 0]}, "no event"),
])
def test_13_invalid_input_raises_clear_error(kwargs, message):
    args = {"time": [1.0, 2.0, 3.0, 4.0], "event": [1, 0, 1, 0], "risk": [0.1, 0.2, 0.3, 0.4],
            "lp": [0.1, 0.2, 0.3, 0.4], "t": 3.5}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        survival_performance(**args)


def test_14_tied_predictions_still_give_a_calibration_curve():
    # one binary predictor: two distinct predictions -> linear calibration model, ICI still defined;
    # a mass at one value plus a spread -> knots from the distinct values
    from sonimage_utils.external_validation.calibration import compute_smoothed_calibration

    time, event, _, lp, _ = simulate(400, seed=8)
    x = (lp > 0.5).astype(float)
    risk = 1 - np.exp(-0.1 * T * np.exp(x))
    cal = compute_smoothed_calibration(time, event, risk, T)
    assert cal.knots.size == 0 and np.isfinite(cal.values["ici"])
    z = np.where(lp > 0, lp, 0.0)
    cal2 = compute_smoothed_calibration(time, event, 1 - np.exp(-0.1 * T * np.exp(z)), T)
    assert cal2.knots.size == 3 and np.isfinite(cal2.values["ici"])
    with pytest.raises(ValueError, match="all predictions are equal"):
        compute_smoothed_calibration(time, event, np.full(400, 0.3), T)


def test_10d_one_auc_call_for_all_times_equals_one_call_per_time():
    # bootstrap_auc_curve asks scikit-survival once per resample for all times: each AUC(t) is the value of a
    # call for t alone, to the bit, and a time outside the resample's follow-up (or before any event) is NaN
    import warnings

    from sonimage_utils.external_validation.bootstrap import _auc_one, draw_bootstrap_indices
    from sonimage_utils.external_validation.metrics import compute_cd_auc

    rng = np.random.default_rng(1)
    n = 60
    time = np.round(rng.exponential(20, n))  # integer times: ties in time
    event = (rng.random(n) < 0.6).astype(int)
    marker = np.round(rng.normal(size=n), 1)  # ties in the marker
    times = np.array([0.5, 6, 12, 24, 12, 36, 500])
    for idx in draw_bootstrap_indices(n, 20, seed=3):
        expected = np.full(times.size, np.nan)
        for j, u in enumerate(times):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    expected[j] = compute_cd_auc(time[idx], event[idx], marker[idx], [u])[0]
                except ValueError:
                    pass
        np.testing.assert_array_equal(_auc_one(idx, time, event, marker, times), expected)


@pytest.mark.parametrize("resolution", [None, 0.25])
def test_the_bootstrap_path_measures_equal_the_public_functions_to_the_bit(resolution):
    # survival_performance validates and sorts once and skips the calibration frames; its slope and ICI/E50/E90
    # must be those of compute_calibration_slope and compute_smoothed_calibration, bit for bit
    from sonimage_utils.external_validation.calibration import compute_smoothed_calibration

    time, event, risk, lp, _ = simulate(150, seed=4)
    if resolution:
        time = np.round(time / resolution) * resolution + resolution  # heavy ties
    rng = np.random.default_rng(2)
    for _ in range(5):
        i = rng.integers(0, time.size, time.size)
        res = survival_performance(time[i], event[i], risk[i], lp[i], T)
        assert res["calibration_slope"] == compute_calibration_slope(time[i], event[i], lp[i])["slope"]
        cal = compute_smoothed_calibration(time[i], event[i], risk[i], T)
        assert [res[k] for k in ("ici", "e50", "e90")] == [cal.values[k] for k in ("ici", "e50", "e90")]
