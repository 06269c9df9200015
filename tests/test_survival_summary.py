"""Hazard-ratio collections: subgroup treatment HRs from the interaction model match R; sensitivity rows."""

import pytest

from sonimage_utils.survival.cox import fit_cox
from sonimage_utils.survival.hazard_ratios import compute_hr_rows, compute_subgroup_hrs
from survival_fixtures import FORMULAS, REFERENCE, cohort, fixtures


def test_01_subgroup_hrs_match_r_linear_combinations():
    # R: exp(L %*% coef(coxph(~ het_group * arm))) with L = c(0, 1, group == "heterogeneous")
    d = cohort()
    rows = compute_subgroup_hrs(fit_cox(d, FORMULAS["interaction"], reference=REFERENCE), d, "het_group")
    assert rows["label"].tolist() == ["homogeneous", "heterogeneous"]
    for _, r in rows.iterrows():
        ref = fixtures()["within_group_arm"][r["label"]]
        assert r["hr"] == pytest.approx(ref["hr"], rel=1e-6)
        assert r["hr_ci_low"] == pytest.approx(ref["ci_low"], rel=1e-6)
        assert r["hr_ci_high"] == pytest.approx(ref["ci_high"], rel=1e-6)
    assert rows["n"].sum() == len(d) and rows["n_events"].sum() == d["pfs1_event"].sum()


def test_02_hr_rows_one_per_reported_coefficient():
    d = cohort()
    rows, fits = compute_hr_rows([
        {"analysis": "primary", "data": d, "formula": FORMULAS["primary"],
         "report": {"het_group[heterogeneous]": "heterogeneous vs homogeneous"}},
        {"analysis": "3 levels", "data": d, "formula": FORMULAS["group3"],
         "report": {"het_group3[mixed]": "mixed", "het_group3[homogeneous_negative]": "negative"}},
    ], reference=REFERENCE)
    assert rows["analysis"].tolist() == ["primary", "3 levels", "3 levels"]
    assert rows.loc[0, "hr"] == pytest.approx(fixtures()["cox"]["primary"]["hr"][0], rel=1e-6)
    assert set(fits) == {"primary", "3 levels"}
    with pytest.raises(ValueError, match="lacks"):
        compute_hr_rows([{"analysis": "x", "data": d}])


def test_03_subgroup_hrs_need_an_interaction_model():
    d = cohort()
    with pytest.raises(ValueError, match="interaction|not a coefficient"):
        compute_subgroup_hrs(fit_cox(d, FORMULAS["primary"], reference=REFERENCE), d, "het_group")


def test_04_unfittable_interaction_gives_rows_with_reason():
    # ER-heterogeneous patients on ET have no events: the interaction is not estimable
    d = cohort()
    d.loc[(d["het_group"] == "heterogeneous") & (d["arm"] == "ET"), "pfs1_event"] = 0
    rows = compute_subgroup_hrs(fit_cox(d, FORMULAS["interaction"], reference=REFERENCE), d, "het_group")
    assert rows["label"].tolist() == ["homogeneous", "heterogeneous"]
    assert rows["hr"].isna().all() and (rows["status"] == "not_identifiable").all()
    assert "no events" in rows["message"].iloc[0]


def test_05_group_absent_at_a_threshold_gives_missing_hr_not_error():
    # every patient homogeneous: the heterogeneous column does not exist, the model says why
    d = cohort().assign(het_group="homogeneous")
    rows, _ = compute_hr_rows([{"analysis": "all homogeneous", "data": d, "formula": FORMULAS["primary"],
                                "report": {"het_group[heterogeneous]": "heterogeneous vs homogeneous"}}],
                              reference=REFERENCE)
    assert rows["hr"].isna().all() and "one value" in rows["message"].iloc[0]
