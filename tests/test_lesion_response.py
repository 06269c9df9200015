"""Objective 3 statistics (sonimage_utils.lesion_response) against R fixtures and simulated truth.

Fixtures: tests/reference/lesion_models/ (fit_lesion_models.R: lme4::lmer REML, geepack::geeglm exchangeable,
binom.test, fisher.test on lesions.csv / fixed counts).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.lesions import (
    build_lesion_response_set,
    compare_orr_fisher,
    compute_orr,
    fit_lesion_gee,
    fit_lesion_lmm,
)
from sonimage_utils.recist.engine import assess

REF = Path(__file__).parent / "reference" / "lesion_models"
COVARIATES = ["fes_suvmax_assessable", "fdg_suvmax", "organ_lung", "organ_other"]
#: The study settings (analysis.yml), passed explicitly: the package has no default for them.
LESION_SETTINGS = {"fes_threshold": 1.5, "fes_excluded_organs": ["liver"], "response_threshold": -30.0}


@pytest.fixture(scope="module")
def ref_data():
    return pd.read_csv(REF / "lesions.csv")


@pytest.fixture(scope="module")
def ref_json():
    return json.loads((REF / "models.json").read_text())


def _tol(se):
    return {"rel": 1e-4, "abs": 1e-4 * se}


def test_01_lmm_fixed_effects_match_lme4(ref_data, ref_json):
    fit = fit_lesion_lmm(ref_data, "best_pct_change", COVARIATES)
    ref = pd.read_csv(REF / "lmm.csv")
    assert fit.n_obs == ref_json["lmm"]["n_obs"] == 104
    for got, want in zip(fit.summary.itertuples(), ref.itertuples(), strict=True):
        assert got.term == want.term
        # R: fixef(lmer(best_pct_change ~ ... + (1 | patient_id), REML = TRUE))
        assert got.estimate == pytest.approx(want.estimate, **_tol(want.std_error))
        # R: sqrt(diag(vcov(lmm)))
        assert got.std_error == pytest.approx(want.std_error, rel=1e-4)


def test_02_lmm_variance_components_and_reml_criterion_match_lme4(ref_data, ref_json):
    fit = fit_lesion_lmm(ref_data, "best_pct_change", COVARIATES)
    # R: as.data.frame(VarCorr(lmm))$vcov ; REMLcrit(lmm)
    assert fit.extra["var_patient"] == pytest.approx(ref_json["lmm"]["var_patient"], rel=1e-4)
    assert fit.extra["var_residual"] == pytest.approx(ref_json["lmm"]["var_residual"], rel=1e-4)
    assert -2 * fit.extra["reml_loglik"] == pytest.approx(ref_json["lmm"]["reml_criterion"], rel=1e-6)
    assert fit.extra["converged"]


def test_03_gee_coefficients_and_robust_se_match_geepack(ref_data, ref_json):
    fit = fit_lesion_gee(ref_data, "responding", COVARIATES)
    ref = pd.read_csv(REF / "gee.csv")
    for got, want in zip(fit.summary.itertuples(), ref.itertuples(), strict=True):
        assert got.term == want.term
        # R: coef(geeglm(responding ~ ..., id = patient_id, family = binomial, corstr = "exchangeable"))
        assert got.estimate == pytest.approx(want.estimate, **_tol(want.std_error))
        # R: summary(gee)$coefficients[, "Std.err"] (sandwich)
        assert got.std_error == pytest.approx(want.std_error, rel=1e-4)
    # R: gee$geese$alpha
    assert fit.extra["alpha"] == pytest.approx(ref_json["gee"]["alpha"], rel=1e-4)
    assert fit.summary["odds_ratio"].to_numpy() == pytest.approx(np.exp(fit.summary["estimate"].to_numpy()))


def test_04_orr_exact_ci_matches_binom_test(ref_json):
    for case in ref_json["orr"]:
        best = pd.DataFrame({"best_overall_response": ["PR"] * case["x"] + ["SD"] * (case["n"] - case["x"])})
        out = compute_orr(best, None).iloc[0]
        # R: binom.test(x, n)$conf.int
        assert out["orr"] == pytest.approx(case["x"] / case["n"])
        assert out["ci_low"] == pytest.approx(case["ci_low"], rel=1e-6, abs=1e-12)
        assert out["ci_high"] == pytest.approx(case["ci_high"], rel=1e-6, abs=1e-12)


def test_05_fisher_exact_test_matches_r(ref_json):
    for case in ref_json["fisher"]:
        orr = pd.DataFrame({"group": ["g1", "g2"], "n": [case["n1"], case["n2"]],
                            "n_responders": [case["r1"], case["r2"]]})
        out = compare_orr_fisher(orr)
        # R: fisher.test(matrix(c(r2, r1, n2 - r2, n1 - r1), 2))
        assert out["p_value"] == pytest.approx(case["p_value"], rel=1e-6)
        assert out["odds_ratio"] == pytest.approx(case["odds_ratio"], rel=1e-4)
        # exact CI by root finding: R's uniroot stops at its default tolerance, hence 1e-3
        assert out["ci_low"] == pytest.approx(case["ci_low"], rel=1e-3)
        assert out["ci_high"] == pytest.approx(case["ci_high"], rel=1e-3)


def test_06_orr_counts_cr_and_pr_per_group_in_category_order():
    best = pd.DataFrame({"best_overall_response": ["CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"],
                         "het_group": pd.Categorical(["heterogeneous", "homogeneous", "homogeneous",
                                                      "heterogeneous", None, "homogeneous"],
                                                     categories=["homogeneous", "heterogeneous"])})
    out = compute_orr(best)
    assert out["group"].tolist() == ["homogeneous", "heterogeneous"]
    assert out["n"].tolist() == [3, 2]
    assert out["n_responders"].tolist() == [1, 1]
    with pytest.raises(ValueError, match="two groups"):
        compare_orr_fisher(out.iloc[:1])


def _simulated_lesions(seed, n_patients=150, slope=-4.0, sd_u=8.0, sd_e=10.0):
    rng = np.random.default_rng(seed)
    m = rng.integers(1, 5, n_patients)
    pid = np.repeat(np.arange(n_patients), m)
    fes = rng.gamma(3.0, 1.2, pid.size)
    y = -10 + slope * fes + rng.normal(0, sd_u, n_patients)[pid] + rng.normal(0, sd_e, pid.size)
    return pd.DataFrame({"patient_id": pid.astype(str), "fes": fes, "y": y}), (slope, sd_u**2, sd_e**2)


def test_07_lmm_recovers_known_slope_and_variances_on_simulated_lesions():
    est, cover = [], 0
    for seed in range(20):
        d, (slope, vu, ve) = _simulated_lesions(seed)
        fit = fit_lesion_lmm(d, "y", ["fes"])
        row = fit.coef("fes")
        est.append((row["estimate"], fit.extra["var_patient"], fit.extra["var_residual"]))
        cover += row["ci_low"] <= slope <= row["ci_high"]
    est = np.array(est)
    assert est[:, 0].mean() == pytest.approx(-4.0, abs=0.15)
    assert est[:, 1].mean() == pytest.approx(64.0, rel=0.2)
    assert est[:, 2].mean() == pytest.approx(100.0, rel=0.1)
    assert cover >= 16  # 95% CIs: >= 16 of 20 cover (binomial 5th percentile is 17)


def test_08_gee_recovers_known_log_odds_ratio():
    rng = np.random.default_rng(3)
    n = 400
    m = rng.integers(1, 4, n)
    pid = np.repeat(np.arange(n), m)
    x = rng.normal(size=pid.size)
    u = rng.normal(0, 0.5, n)[pid]
    p = 1 / (1 + np.exp(-(-0.5 + 0.8 * x + u)))
    d = pd.DataFrame({"patient_id": pid, "x": x, "r": (rng.uniform(size=pid.size) < p).astype(float)})
    fit = fit_lesion_gee(d, "r", ["x"])
    row = fit.coef("x")
    # marginal slope is attenuated from 0.8 by about 1/sqrt(1 + 0.346 * 0.25) = 0.96
    assert row["ci_low"] <= 0.8 * 0.96 <= row["ci_high"]
    assert 0 < fit.extra["alpha"] < 0.3


def test_09_lesion_set_marks_liver_not_assessable_and_response_at_minus_30():
    recist = pd.DataFrame({
        "patient_id": ["P1"] * 6, "lesion_id": ["L1", "L2", "L3"] * 2,
        "assessment_date": ["2021-01-01"] * 3 + ["2021-03-01"] * 3,
        "lesion_kind": ["target"] * 6, "is_lymph_node": [False, False, True] * 2,
        "diameter_mm": [20.0, 30.0, 20.0, 14.0, 24.0, 15.0], "status": [None] * 6})
    lesions = pd.DataFrame({"patient_id": ["P1"] * 4, "lesion_id": ["L1", "L2", "L3", "B1"],
                            "organ": ["liver", "lung", "lymph_node", "bone"],
                            "fes_suvmax": [4.0, 1.0, 3.0, 2.0], "fdg_suvmax": [5.0, 6.0, np.nan, 3.0],
                            "ct_diameter_mm": [20.0, 30.0, 20.0, np.nan]})
    out = build_lesion_response_set(assess(recist, lesions), lesions, **LESION_SETTINGS).set_index("lesion_id")
    assert out.loc["L1", "fes_status"] == "not_assessable" and np.isnan(out.loc["L1", "fes_suvmax_assessable"])
    assert out.loc["L2", "fes_status"] == "negative"
    assert out.loc["L3", "fes_status"] == "positive"
    assert out["best_pct_change"].tolist() == pytest.approx([-30.0, -20.0, -25.0])
    assert out["responding"].tolist() == [1.0, 0.0, 0.0]  # exactly -30% responds
    assert out["organ_group"].tolist() == ["liver", "lung", "lymph_node"]
    with pytest.raises(ValueError, match="lesion_id=L2.*foreign_key"):
        build_lesion_response_set(assess(recist, None), lesions[lesions["lesion_id"] != "L2"], **LESION_SETTINGS)


def test_10_models_reject_too_few_complete_cases():
    d = pd.DataFrame({"patient_id": ["a", "a"], "y": [1.0, np.nan], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="too few"):
        fit_lesion_lmm(d, "y", ["x"])
    with pytest.raises(ValueError, match="lacks"):
        fit_lesion_gee(d, "r", ["x"])
