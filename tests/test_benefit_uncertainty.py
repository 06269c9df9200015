"""Bootstrap intervals of individual predicted benefit and of its distribution (issue 12 item 5).

R reference: tests/reference/benefit_intervals/ (make_reference.R -> estimate.csv, boot.csv, reference.csv; R
``quantile(type = 7)``, the percentile interval over the usable resamples, a failed resample left out).
Tolerance 1e-12 (the same linear interpolation on both sides).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.benefit.internal_validation import bootstrap_optimism
from sonimage_utils.benefit.uncertainty import (compute_benefit_distribution, compute_prediction_intervals,
                                                summarise_prediction_intervals)
from sonimage_utils.survival.efron import fit_cox_efron

REF_DIR = Path(__file__).parent / "reference" / "benefit_intervals"
EST = pd.read_csv(REF_DIR / "estimate.csv")["estimate"].to_numpy()
BOOT = pd.read_csv(REF_DIR / "boot.csv").to_numpy(dtype=float)
REF = pd.read_csv(REF_DIR / "reference.csv")


def test_01_per_patient_percentile_intervals_match_r_quantile():
    iv = compute_prediction_intervals(EST, BOOT)
    ref = REF[REF["kind"] == "patient"]
    np.testing.assert_allclose(iv["ci_low"], ref["ci_low"], atol=1e-12)
    np.testing.assert_allclose(iv["ci_high"], ref["ci_high"], atol=1e-12)
    assert (iv["n_boot"] == BOOT.shape[0] - 1).all()  # the failed resample (a row of NaN) is left out


def test_02_distribution_percentiles_and_their_intervals_match_r():
    dist = compute_benefit_distribution(EST, BOOT, [10, 25, 50, 75, 90])
    ref = REF[REF["kind"] == "percentile"]
    for col in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(dist[col], ref[col], atol=1e-12)


def test_03_summary_counts_intervals_excluding_zero_and_straddling_threshold():
    iv = pd.DataFrame({"ci_low": [-0.02, 0.01, 0.06, -0.3], "ci_high": [0.04, 0.07, 0.09, -0.1]})
    iv["width"] = iv["ci_high"] - iv["ci_low"]
    r = summarise_prediction_intervals(iv, threshold=0.05)
    assert (r["n_above_zero"], r["n_below_zero"], r["n_excludes_zero"]) == (2, 1, 3)
    assert (r["n_straddle_threshold"], r["n_above_threshold"], r["n_below_threshold"]) == (1, 1, 2)
    assert r["median_width"] == pytest.approx(0.06)


def test_04_bad_inputs_are_named():
    with pytest.raises(ValueError, match="shape"):
        compute_prediction_intervals(EST, BOOT[:, :5])
    with pytest.raises(ValueError, match="percentiles"):
        compute_benefit_distribution(EST, BOOT, [110])
    with pytest.raises(ValueError, match="no resample"):
        compute_prediction_intervals([0.1], np.full((3, 1), np.nan))


def _fit(frame, seed):
    return fit_cox_efron(frame[["x"]].to_numpy(), frame["time"].to_numpy(), frame["event"].to_numpy()).coef


def _metric(coef, frame):
    return {"b": float(coef[0])}


def _predict(coef, frame):
    return {"lp": frame["x"].to_numpy() * coef[0]}


def test_05_bootstrap_keeps_predictions_without_changing_other_results():
    rng = np.random.default_rng(4)
    x = rng.normal(size=60)
    frame = pd.DataFrame({"x": x, "time": rng.exponential(np.exp(-0.5 * x)), "event": rng.integers(0, 2, 60)})
    plain = bootstrap_optimism(frame, _fit, _metric, n_boot=20, seed=7, fit_seed=7)
    kept = bootstrap_optimism(frame, _fit, _metric, n_boot=20, seed=7, fit_seed=7, predict_fn=_predict)
    pd.testing.assert_frame_equal(plain.resamples, kept.resamples)
    assert plain.predictions == {} and kept.predictions["lp"].shape == (20, 60)
    # each resample's prediction is its own refitted coefficient times the original x
    np.testing.assert_allclose(kept.predictions["lp"], np.outer(kept.resamples["app_b"], x), rtol=1e-12)
    np.testing.assert_allclose(kept.apparent_predictions["lp"], kept.apparent["b"] * x, rtol=1e-12)
    par = bootstrap_optimism(frame, _fit, _metric, n_boot=20, seed=7, fit_seed=7, predict_fn=_predict, n_jobs=2,
                             backend="threading")
    np.testing.assert_array_equal(par.predictions["lp"], kept.predictions["lp"])


def _table(width, straddle, above_thr, excl):
    row = {"n": 100, "median_width": width, "min_width": width / 2, "max_width": 2 * width, "n_excludes_zero": excl,
           "n_above_zero": excl, "n_below_zero": 0, "n_straddle_threshold": straddle, "n_above_threshold": above_thr,
           "n_below_threshold": 100 - straddle - above_thr}
    return pd.DataFrame([{**row, "model": "risk-based"}, {**row, "model": "risk-based"},
                         {**row, "model": "effect"}, {**row, "model": "effect"}])


def test_06_sentence_on_individual_uncertainty_follows_the_numbers():
    from sonimage_utils.chapters import benefit_model as bm
    from sonimage_utils.pipeline.params import parameter_values

    p = bm.BenefitSettings.from_parameters(parameter_values())
    model = {"risk_benefit": {"coefficients": {"treated": float(np.log(0.6))}}}
    dist = pd.DataFrame({"model": "risk-based", "percentile": [10.0, 90.0], "estimate": [0.10, 0.30]})
    wide = bm._describe_individual_uncertainty(_table(0.35, 70, 30, 100), dist, model, p)
    assert "cannot rank individual patients" in wide and "For 70 of 100 patients" in wide
    assert "restates the overall treatment effect" in wide and "cannot tell one patient's benefit" in wide
    narrow = bm._describe_individual_uncertainty(_table(0.05, 0, 100, 40), dist, model, p)
    assert "differences between patients exceed the typical interval width" in narrow
    assert "Every patient's interval lies at or above" in narrow and "40 of 100 intervals exclude 0" in narrow
    assert "narrower than the differences between patients" in narrow
