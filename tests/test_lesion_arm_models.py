"""Chapter 03's lesion models with arm, the SAP rule for the form of FES SUVmax, the FES x arm interaction, the
trajectory mixed model of the sum of diameters, depth of response and ORR adjusted for arm.

Fixtures: tests/reference/lesion_arm_models/ (fit_lesion_arm_models.R: lme4::lmer REML and ML, geepack::geeglm,
Hmisc::rcspline.eval, glm; inputs written by export_data.py from the demo cohort). Tolerances: fixed effects within
1e-4 relative (or 1e-4 of their SE absolute) and SEs within 1e-4 relative, as for the existing lesion models
(statsmodels and lme4 reach the same REML optimum through different optimisers); ML AICs and REML criteria within
1e-6 relative; spline basis values within 1e-9 relative.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.lesions import (compute_fes_form_selection, compute_joint_wald, compute_rcs_basis,
                                    derive_fes_form_terms, fit_lesion_gee, fit_lesion_lmm, fit_orr_logistic,
                                    fit_sod_slope_lmm)
from sonimage_utils.recist.summary import derive_depth_and_nadir

REF = Path(__file__).parent / "reference" / "lesion_arm_models"
OTHER = ["fdg_suvmax", "organ_lung", "organ_liver", "organ_other", "treated_cdk46i"]


@pytest.fixture(scope="module")
def les():
    return pd.read_csv(REF / "lesions.csv")


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "models.json").read_text())


def _tol(se):
    return {"rel": 1e-4, "abs": 1e-4 * se}


def _compare(summary, csv, names):
    want = pd.read_csv(REF / csv)
    want["term"] = [names.get(t, t) for t in want["term"]]
    got = summary.set_index("term")
    assert sorted(got.index) == sorted(want["term"])
    for row in want.itertuples():
        assert got.loc[row.term, "estimate"] == pytest.approx(row.estimate, **_tol(row.std_error)), row.term
        assert got.loc[row.term, "std_error"] == pytest.approx(row.std_error, rel=1e-4), row.term


def test_01_rcs_basis_matches_hmisc_rcspline_eval(les, ref):
    x = np.array(ref["form"]["fes_first"])
    got = compute_rcs_basis(x, ref["form"]["knots"])[:, 0]
    assert got == pytest.approx(ref["form"]["rcs1_first"], rel=1e-9)
    with pytest.raises(ValueError, match="3 increasing knots"):
        compute_rcs_basis(x, [1.0, 1.0, 2.0])


def test_02_form_rule_aics_match_lme4_ml_and_choose_log_on_the_demo_data(les, ref):
    sel = compute_fes_form_selection(les, "best_pct_change", OTHER, aic_margin=2.0)
    assert sel["n_obs"] == ref["form"]["n_obs"] == 107
    assert sel["knots"] == pytest.approx(ref["form"]["knots"], rel=1e-12)
    for form in ("linear", "log", "spline"):
        # R: AIC(lmer(..., REML = FALSE))
        assert sel["aic"][form] == pytest.approx(ref["form"]["aic"][form], rel=1e-6), form
    # log beats linear by 19.0 >= 2; the spline beats log by only 1.0 < 2: log is kept
    assert sel["form"] == "log"
    assert "lowered the AIC of the linear form by 19.0" in sel["reason"]


def test_03_form_rule_keeps_linear_unless_the_margin_is_met(les):
    sel = compute_fes_form_selection(les, "best_pct_change", OTHER, aic_margin=25.0)
    assert sel["form"] == "linear"
    sel = compute_fes_form_selection(les, "best_pct_change", OTHER, aic_margin=0.5)
    assert sel["form"] == "spline"  # spline beats log by 1.0 >= 0.5


def test_04_primary_lesion_lmm_with_arm_matches_lme4(les, ref):
    frame, terms, _ = derive_fes_form_terms(les, "log")
    fit = fit_lesion_lmm(frame, "best_pct_change", [*terms, *OTHER])
    assert (fit.n_obs, fit.n_groups) == (ref["primary"]["n_obs"], ref["primary"]["n_patients"])
    assert fit.extra["dropped_covariates"] == ["organ_liver"]
    _compare(fit.summary, "lmm_primary.csv", {"(Intercept)": "Intercept", "log2_fes": terms[0]})
    assert fit.extra["var_patient"] == pytest.approx(ref["primary"]["var_patient"], rel=1e-4)
    assert fit.extra["var_residual"] == pytest.approx(ref["primary"]["var_residual"], rel=1e-4)
    assert -2 * fit.extra["reml_loglik"] == pytest.approx(ref["primary"]["reml_criterion"], rel=1e-6)


def test_05_fes_arm_interaction_matches_lme4_wald(les, ref):
    frame, terms, inter = derive_fes_form_terms(les, "log", interact_with="treated_cdk46i")
    fit = fit_lesion_lmm(frame, "best_pct_change", [*terms, *OTHER, *inter])
    _compare(fit.summary, "lmm_interaction.csv",
             {"(Intercept)": "Intercept", "log2_fes": terms[0], "log2_fes_x_arm": inter[0]})
    wald = compute_joint_wald(fit, inter)
    assert wald["df"] == 1
    assert wald["p_value"] == pytest.approx(ref["interaction"]["p_value"], rel=1e-4)
    assert wald["p_value"] == pytest.approx(fit.coef(inter[0])["p_value"], rel=1e-9)


def test_06_gee_with_arm_matches_geepack(les, ref):
    frame, terms, _ = derive_fes_form_terms(les, "log")
    fit = fit_lesion_gee(frame, "responding", [*terms, *OTHER])
    _compare(fit.summary, "gee.csv", {"(Intercept)": "Intercept", "log2_fes": terms[0]})
    assert fit.extra["alpha"] == pytest.approx(ref["gee"]["alpha"], rel=1e-4)


def test_07_trajectory_model_drops_a_singular_random_slope_as_lme4_and_matches_it(ref):
    tr = pd.read_csv(REF / "trajectories.csv")
    fit = fit_sod_slope_lmm(tr, covariates=["heterogeneous", "treated_cdk46i"],
                            time_interactions=["heterogeneous", "treated_cdk46i"])
    # R: isSingular(lmer(... + (1 + months | patient_id))) is TRUE (correlation 1): random intercept only
    assert ref["sod"]["slope_model_singular"] is True
    assert fit.extra["random_effects"].startswith("random intercept only")
    assert (fit.n_obs, fit.n_groups) == (ref["sod"]["n_obs"], ref["sod"]["n_patients"])
    _compare(fit.summary, "sod_lmm.csv", {"(Intercept)": "Intercept", "months_x_het": "months_from_baseline:heterogeneous",
                                          "months_x_arm": "months_from_baseline:treated_cdk46i"})
    assert fit.extra["re_cov"][0, 0] == pytest.approx(ref["sod"]["intercept_var_patient"], rel=1e-4)
    assert fit.extra["var_residual"] == pytest.approx(ref["sod"]["intercept_var_residual"], rel=1e-4)
    assert -2 * fit.extra["reml_loglik"] == pytest.approx(ref["sod"]["intercept_reml_criterion"], rel=1e-6)


def test_08_orr_logistic_regression_matches_glm(ref):
    best = pd.read_csv(REF / "best.csv")
    fit = fit_orr_logistic(best, ["heterogeneous", "treated_cdk46i"])
    assert (fit.n_obs, fit.extra["n_responding"]) == (ref["orr"]["n"], ref["orr"]["n_responding"])
    want = pd.read_csv(REF / "orr_logistic.csv")
    got = fit.summary.set_index("term")
    for row in want.itertuples():
        term = "Intercept" if row.term == "(Intercept)" else row.term
        assert got.loc[term, "estimate"] == pytest.approx(row.estimate, rel=1e-6)
        assert got.loc[term, "std_error"] == pytest.approx(row.std_error, rel=1e-5)
    assert got.loc["heterogeneous", "odds_ratio"] == pytest.approx(np.exp(got.loc["heterogeneous", "estimate"]))


def test_09_trajectory_model_recovers_known_slope_difference_with_random_slopes():
    rng = np.random.default_rng(7)
    n, times = 120, np.array([2.0, 4.0, 6.0, 9.0, 12.0])
    het = (np.arange(n) % 2).astype(float)
    b0 = rng.normal(0, 8, n)
    b1 = rng.normal(0, 1.0, n)
    rows = [{"patient_id": f"P{i}", "months_from_baseline": t, "heterogeneous": het[i],
             "pct_change_baseline": -5 + b0[i] + (-2.0 + 1.5 * het[i] + b1[i]) * t + rng.normal(0, 4)}
            for i in range(n) for t in times]
    fit = fit_sod_slope_lmm(pd.DataFrame(rows), covariates=["heterogeneous"], time_interactions=["heterogeneous"])
    assert fit.extra["random_effects"] == "random intercept and slope"
    c = fit.coef("months_from_baseline:heterogeneous")
    assert c["ci_low"] < 1.5 < c["ci_high"]
    assert c["estimate"] == pytest.approx(1.5, abs=0.5)
    assert fit.extra["re_cov"][1, 1] == pytest.approx(1.0, rel=0.5)


def test_10_depth_of_response_and_time_to_nadir_take_the_first_smallest_sum():
    t = pd.DataFrame({"patient_id": ["a"] * 4 + ["b"] * 3, "months_from_baseline": [0, 2, 4, 6, 0, 2, 4],
                      "pct_change_baseline": [0.0, -20.0, -35.0, -35.0, 0.0, 10.0, 25.0]})
    out = derive_depth_and_nadir(t).set_index("patient_id")
    assert out.loc["a", "depth_pct"] == -35.0 and out.loc["a", "months_to_nadir"] == 4.0
    assert out.loc["b", "depth_pct"] == 10.0 and np.isnan(out.loc["b", "months_to_nadir"])
    assert out["n_ct"].tolist() == [3, 2]
