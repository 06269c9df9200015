"""Restricted mean survival time, piecewise (episode-split) and stratified Cox models against R fixtures.

Fixtures: ``tests/reference/rmst`` (``survfit`` + ``summary(fit, rmean = tau)``) and
``tests/reference/cox_split_strata`` (``survSplit`` + ``coxph``, ``coxph(... + strata(center))``).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.survival.cox import fit_cox
from sonimage_utils.survival.piecewise import derive_episodes, fit_piecewise_cox
from sonimage_utils.survival.rmst import compute_rmst_difference, compute_rmst_km

REF = Path(__file__).parent / "reference"
DEMO = pd.read_csv(REF / "rmst" / "data_demo.csv")
LEVELS = ("homogeneous", "heterogeneous")
REFERENCE = {"het_group": "homogeneous", "arm": "ET"}


def _data(name):
    if name == "demo":
        return DEMO.rename(columns={"pfs1_months": "time", "pfs1_event": "event", "het_group": "g"})
    d = pd.read_csv(REF / "estimators" / f"data_{name}.csv")
    return d.rename(columns={"sex": "g"}) if "sex" in d else d


@pytest.mark.parametrize("row", pd.read_csv(REF / "rmst" / "ref_rmst.csv").to_dict("records"))
def test_rmst_and_se_match_r_survfit_rmean(row):
    d = _data(row["data"])
    if row["group"] != "all":
        d = d[d["g"].astype(str) == str(row["group"])]
    r = compute_rmst_km(d["time"], d["event"], row["tau"])
    assert r["rmst"] == pytest.approx(row["rmean"], rel=1e-12)
    assert r["se"] == pytest.approx(row["se"], rel=1e-10)


def test_rmst_beyond_last_follow_up_is_flagged_as_extended():
    d = _data("demo")
    assert compute_rmst_km(d["time"], d["event"], 50.0)["extended"]
    assert not compute_rmst_km(d["time"], d["event"], 36.0)["extended"]


def test_rmst_difference_is_comparison_minus_reference_with_independent_variances():
    ref = pd.read_csv(REF / "rmst" / "ref_rmst.csv").query("data == 'demo' and tau == 36").set_index("group")
    out = compute_rmst_difference(DEMO, "het_group", LEVELS, 36.0).set_index("group")
    diff = ref.loc["heterogeneous", "rmean"] - ref.loc["homogeneous", "rmean"]
    se = np.hypot(ref.loc["heterogeneous", "se"], ref.loc["homogeneous", "se"])
    assert out.loc["difference", "rmst"] == pytest.approx(diff, rel=1e-12)
    assert out.loc["difference", "ci_low"] == pytest.approx(diff - 1.959963984540054 * se, rel=1e-10)
    assert out.loc["difference", "ci_high"] == pytest.approx(diff + 1.959963984540054 * se, rel=1e-10)


def test_rmst_rejects_a_non_positive_horizon():
    with pytest.raises(ValueError, match="tau must be positive"):
        compute_rmst_km([1.0], [1], 0.0)


def test_episodes_keep_each_patients_time_at_risk_and_event_once():
    ep = derive_episodes(DEMO, [12, 24])
    per = ep.groupby("_row").apply(lambda g: (g["pfs1_months"] - g["_start"]).sum(), include_groups=False)
    assert per.to_numpy() == pytest.approx(DEMO["pfs1_months"].to_numpy(), abs=1e-12)
    assert ep.groupby("_row")["pfs1_event"].sum().to_numpy().tolist() == DEMO["pfs1_event"].tolist()


def _ref_cox(model):
    return pd.read_csv(REF / "cox_split_strata" / "ref_cox.csv").query("model == @model")


@pytest.mark.parametrize("cuts", [[12], [12, 24]])
def test_piecewise_hazard_ratios_match_r_survsplit_coxph(cuts):
    ref = _ref_cox("piecewise_" + "_".join(map(str, cuts)))
    res = fit_piecewise_cox(DEMO, "het_group", LEVELS, cuts, adjust=["arm"], reference=REFERENCE)
    assert res.fit.ok and res.fit.n == ref["n"].iloc[0] and res.fit.n_events == ref["n_events"].iloc[0]
    got = res.fit.summary
    assert got["coef"].to_numpy() == pytest.approx(ref["coef"].to_numpy(), rel=1e-6)
    assert got["se"].to_numpy() == pytest.approx(ref["se"].to_numpy(), rel=1e-6)
    assert res.summary["n_events_reference"].sum() + res.summary["n_events_comparison"].sum() == 75


@pytest.mark.parametrize("model,extra", [("strata_center", False), ("strata_center_empty_stratum", True)])
def test_cox_stratified_by_centre_matches_r_and_survives_a_stratum_without_events(model, extra):
    ref = _ref_cox(model)
    d = pd.concat([DEMO, pd.read_csv(REF / "cox_split_strata" / "data_empty_stratum.csv")]) if extra else DEMO
    fit = fit_cox(d, "het_group + arm", reference=REFERENCE, strata="center")
    assert fit.ok and fit.n == ref["n"].iloc[0]
    assert fit.summary["coef"].to_numpy() == pytest.approx(ref["coef"].to_numpy(), rel=1e-6)
    assert fit.summary["se"].to_numpy() == pytest.approx(ref["se"].to_numpy(), rel=1e-6)


@pytest.mark.parametrize("term", ["het_group", "arm"])
def test_schoenfeld_band_is_r_lm_natural_spline_fit_and_se(term):
    from sonimage_utils.survival.ph import compute_ph_test, compute_zph_smooth
    ph = compute_ph_test(fit_cox(DEMO, "het_group + arm", reference=REFERENCE), transform="km")
    ref = pd.read_csv(REF / "zph_band" / "ref_band.csv").query("term == @term")
    got = compute_zph_smooth(ph, term, df=4)
    assert got["fit"].to_numpy() == pytest.approx(ref["fit"].to_numpy(), rel=1e-9, abs=1e-12)
    assert got["se"].to_numpy() == pytest.approx(ref["se"].to_numpy(), rel=1e-9)
    assert (got["upper"] - got["fit"]).to_numpy() == pytest.approx(2 * got["se"].to_numpy())
