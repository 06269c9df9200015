"""Proportional-hazards score test and scaled Schoenfeld residuals against R cox.zph (survival 3.5)."""

import numpy as np
import pytest

from sonimage_utils.survival.cox import fit_cox
from sonimage_utils.survival.ph import compute_ph_test, compute_zph
from survival_fixtures import FORMULAS, REFERENCE, cohort, fixtures

REL = 1e-6


@pytest.mark.parametrize("model,transform", [("primary", "km"), ("group3", "km"), ("clinical", "km"),
                                             ("primary_identity", "identity")])
def test_01_zph_score_test_matches_cox_zph(model, transform):
    # R: cox.zph(fit, transform = transform, terms = TRUE); multi-column terms (3-level factors) get one test
    ref = fixtures()["zph"][model]
    fit = fit_cox(cohort(), FORMULAS[model.replace("_identity", "")], reference=REFERENCE)
    z = compute_ph_test(fit, transform=transform)
    assert list(z.summary["term"]) == ref["term"]
    assert z.summary["chisq"].to_numpy() == pytest.approx(np.array(ref["chisq"]), rel=REL)
    assert z.summary["p"].to_numpy() == pytest.approx(np.array(ref["p"]), rel=REL)
    assert z.summary["df"].tolist() == ref["df"]


@pytest.mark.parametrize("model", ["primary", "group3", "clinical"])
def test_02_scaled_schoenfeld_residuals_match_cox_zph(model):
    # R: cox.zph(fit)$y, $x, $time
    ref = fixtures()["zph"][model]
    fit = fit_cox(cohort(), FORMULAS[model], reference=REFERENCE)
    z = compute_ph_test(fit, transform="km")
    assert z.residuals["time"].to_numpy() == pytest.approx(np.array(ref["time"]))
    assert z.residuals["x"].to_numpy() == pytest.approx(np.array(ref["x"]), rel=REL)
    assert z.residuals[list(fit.terms)].to_numpy() == pytest.approx(np.array(ref["y"]), rel=REL, abs=1e-9)


def test_03_breslow_ties_path_matches_cox_zph():
    # R: cox.zph(coxph(..., ties = "breslow")); evaluated at R's Breslow coefficients
    ref = fixtures()["zph"]["primary_breslow"]
    fit = fit_cox(cohort(), FORMULAS["primary"], reference=REFERENCE)
    names = list(fit.summary["name"])
    z = compute_zph(fit.design["_time"], fit.design["_event"], fit.design[names].to_numpy(),
                    np.array(fixtures()["cox"]["primary_breslow"]["coef"]), ties="breslow", names=names)
    assert z.summary["chisq"].to_numpy() == pytest.approx(np.array(ref["chisq"]), rel=REL)


def test_04_ph_test_of_unfitted_model_gives_message():
    d = cohort()
    d.loc[d["het_group"] == "heterogeneous", "pfs1_event"] = 0
    z = compute_ph_test(fit_cox(d, "het_group + arm", reference=REFERENCE), transform="km")
    assert z.summary.empty and "not_identifiable" in z.message


def test_05_bad_transform_raises():
    with pytest.raises(ValueError, match="transform"):
        compute_zph([1, 2], [1, 1], [[0], [1]], [0.0], transform="spline")
