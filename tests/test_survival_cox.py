"""Cox fits (Efron ties), LR test and contrasts against R coxph; edge cases return a status, not an error."""

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.survival.cox import build_design, compute_lr_test, fit_cox
from survival_fixtures import FORMULAS, REFERENCE, cohort, fixtures

REL = 1e-6
R_NAMES = {"het_group[heterogeneous]": "het_groupheterogeneous", "arm[ET+CDK4/6i]": "armET+CDK4/6i",
           "het_group3[mixed]": "het_group3mixed", "het_group3[homogeneous_negative]": "het_group3homogeneous_negative",
           "fes_fdg_pattern[fdg_high_fes_homogeneous]": "fes_fdg_patternfdg_high_fes_homogeneous",
           "fes_fdg_pattern[fdg_high_fes_heterogeneous]": "fes_fdg_patternfdg_high_fes_heterogeneous",
           "hs10": "hs10", "mean_fes_suvmax": "mean_fes_suvmax", "visceral_disease": "visceral_diseaseTRUE",
           "de_novo_metastatic": "de_novo_metastaticTRUE", "prior_adjuvant_endocrine": "prior_adjuvant_endocrineTRUE",
           "ps[1]": "ps1", "ps[2]": "ps2",
           "het_group[heterogeneous]:arm[ET+CDK4/6i]": "het_groupheterogeneous:armET+CDK4/6i"}


@pytest.mark.parametrize("model", list(FORMULAS))
def test_01_cox_efron_matches_coxph(model):
    # R: coxph(Surv(pfs1_months, pfs1_event) ~ <formula>, data = d, control = coxph.control(eps = 1e-12))
    ref = fixtures()["cox"][model]
    res = fit_cox(cohort(), FORMULAS[model], reference=REFERENCE)
    assert res.status == "ok", res.message
    assert [R_NAMES[n] for n in res.summary["name"]] == ref["term"]
    for mine, theirs in [("coef", "coef"), ("se", "se"), ("z", "z"), ("p", "p"), ("hr", "hr"),
                         ("hr_ci_low", "ci_low"), ("hr_ci_high", "ci_high")]:
        assert res.summary[mine].to_numpy() == pytest.approx(np.array(ref[theirs]), rel=REL), mine
    assert res.vcov.to_numpy() == pytest.approx(np.array(ref["vcov"]), rel=REL)
    assert res.loglik == pytest.approx(ref["loglik"][1], rel=1e-9)
    assert (res.n, res.n_events) == (ref["n"], ref["nevent"])


def test_02_lr_test_of_interaction_matches_anova():
    # R: anova(coxph(~ het_group + arm), coxph(~ het_group * arm))
    ref = fixtures()["lr_interaction"]
    d = cohort()
    lr = compute_lr_test(fit_cox(d, FORMULAS["primary"], reference=REFERENCE),
                         fit_cox(d, FORMULAS["interaction"], reference=REFERENCE))
    assert lr["statistic"] == pytest.approx(ref["chisq"], rel=REL)
    assert lr["p"] == pytest.approx(ref["p"], rel=REL)
    assert lr["df"] == ref["df"]


@pytest.mark.parametrize("group", ["homogeneous", "heterogeneous"])
def test_03_within_group_arm_hr_matches_linear_combination(group):
    # R: L = c(0, 1, group == "heterogeneous"); est = L %*% coef(fit); se = sqrt(L %*% vcov(fit) %*% L)
    ref = fixtures()["within_group_arm"][group]
    res = fit_cox(cohort(), FORMULAS["interaction"], reference=REFERENCE)
    w = {"arm[ET+CDK4/6i]": 1.0}
    if group == "heterogeneous":
        w["het_group[heterogeneous]:arm[ET+CDK4/6i]"] = 1.0
    c = res.contrast(w)
    for mine, theirs in [("coef", "coef"), ("se", "se"), ("hr", "hr"), ("hr_ci_low", "ci_low"),
                         ("hr_ci_high", "ci_high"), ("p", "p")]:
        assert c[mine] == pytest.approx(ref[theirs], rel=REL), mine


def test_04_group_without_events_is_not_identifiable():
    d = cohort()
    d.loc[d["het_group"] == "heterogeneous", "pfs1_event"] = 0
    res = fit_cox(d, "het_group + arm", reference=REFERENCE)
    assert res.status == "not_identifiable"
    assert "no events" in res.message and "het_group[heterogeneous]" in res.message
    assert res.summary["hr"].isna().all()


def test_05_interaction_cell_without_events_is_not_identifiable():
    d = cohort()
    d.loc[(d["het_group"] == "heterogeneous") & (d["arm"] == "ET"), "pfs1_event"] = 0
    assert fit_cox(d, "het_group * arm", reference=REFERENCE).status == "not_identifiable"


def test_06_group_of_one_fits_with_a_warning_message():
    d = cohort()
    d["g"] = np.where(np.arange(len(d)) == 0, "tiny", "rest")
    d.loc[0, "pfs1_event"] = 1
    res = fit_cox(d, "g + arm", reference={"g": "rest", "arm": "ET"})
    assert res.status == "ok"
    assert "single patient" in res.message


def test_07_no_events_and_constant_columns():
    d = cohort().assign(pfs1_event=0)
    assert fit_cox(d, "arm").status == "no_events"
    d = cohort().assign(arm="ET")
    res = fit_cox(d, "het_group + arm", reference={"het_group": "homogeneous"})
    assert res.status == "not_identifiable" and "one value" in res.message


def test_08_non_convergence_is_reported():
    # a covariate that perfectly orders the event times: monotone likelihood, the MLE is infinite
    t = np.arange(1.0, 21.0)
    d = pd.DataFrame({"pfs1_months": t, "pfs1_event": 1, "x": -t * 10})
    res = fit_cox(d, "x", max_steps=5)
    assert res.status in ("not_converged", "not_identifiable")
    assert res.message
    assert np.isnan(res.summary["hr"]).all()


def test_09_missing_values_are_dropped_and_counted():
    d = cohort()
    d.loc[:4, "mean_fes_suvmax"] = np.nan
    res = fit_cox(d, "mean_fes_suvmax + arm", reference=REFERENCE)
    assert res.n == 95 and "5 patients with missing values" in res.message


def test_10_design_coding_and_errors():
    d = pd.DataFrame({"g": ["a", "b", "c", "a"], "arm": ["ET", "ET+CDK4/6i", "ET", "ET"]})
    design, terms, refs = build_design(d, "g * arm", {"g": "b", "arm": "ET"})
    assert refs == {"g": "b", "arm": "ET"}
    assert terms["g:arm"] == ["g[a]:arm[ET+CDK4/6i]", "g[c]:arm[ET+CDK4/6i]"]
    assert design["g[a]"].tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match="reference level"):
        build_design(d, "g", {"g": "z"})
    with pytest.raises(ValueError, match="not in the data"):
        fit_cox(d.assign(pfs1_months=1.0, pfs1_event=1), "nope")


def test_11_lr_test_refuses_non_nested_models():
    d = cohort()
    a = fit_cox(d, "het_group", reference=REFERENCE)
    b = fit_cox(d, "arm", reference=REFERENCE)
    with pytest.raises(ValueError, match="not nested"):
        compute_lr_test(a, b)
