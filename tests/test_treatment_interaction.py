"""Chapter 02's new statistics against R: the interaction on the absolute scale (Kaplan-Meier at a horizon by
group x arm, Greenwood variance) and the exploratory Cox interactions (three-level groups, continuous score).

Fixtures: ``tests/reference/interaction`` (``survfit`` + ``summary(times = t)``; ``coxph`` with Efron ties).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sonimage_utils.chapters import treatment_interaction as chapter
from sonimage_utils.chapters.section import Section
from sonimage_utils.survival.km_difference import compute_km_cell_at, compute_km_interaction_at
from sonimage_utils.survival.power import compute_censoring_rate, simulate_interaction_trials
from sonimage_utils.tables.survival import format_km_difference_table

REF = Path(__file__).parent / "reference" / "interaction"
DEMO = pd.read_csv(REF / "data_demo.csv")
KM = pd.read_csv(REF / "ref_km_cells.csv")
COX = pd.read_csv(REF / "ref_cox.csv").set_index("what")
GROUPS, ARMS = ("homogeneous", "heterogeneous"), ("ET", "ET+CDK4/6i")
Z = stats.norm.ppf(0.975)


def _demo():
    d = DEMO.copy()
    d["het_group"] = pd.Categorical(d["het_group"], categories=list(GROUPS))
    d["het_group3"] = pd.Categorical(d["het_group3"], categories=list(chapter.GROUPS3))
    d["hs10"] = d["hs"] / 10
    return d


@pytest.mark.parametrize("t", sorted(KM["t"].unique()))
def test_km_cells_at_the_horizon_match_r_survfit_summary_times(t):
    ref = KM[KM["t"] == t]
    out = compute_km_interaction_at(_demo(), group="het_group", levels=GROUPS, arm="arm", arms=ARMS, t=float(t),
                                    min_at_risk=1)["cells"]
    merged = out.merge(ref, on=["group", "arm"], suffixes=("", "_r"))
    assert len(merged) == 4
    assert merged["n"].tolist() == merged["n_r"].tolist()
    assert merged["n_risk"].tolist() == merged["n_risk_r"].tolist()
    assert merged["surv"].to_numpy() == pytest.approx(merged["surv_r"].to_numpy(), abs=1e-8)
    assert merged["se"].to_numpy() == pytest.approx(merged["se_r"].to_numpy(), abs=1e-8)


def test_differences_and_interaction_are_built_from_r_cells_with_summed_greenwood_variances():
    ref = KM[KM["t"] == 24].set_index(["group", "arm"])
    res = compute_km_interaction_at(_demo(), group="het_group", levels=GROUPS, arm="arm", arms=ARMS, t=24.0,
                                    min_at_risk=1)["differences"].set_index("group")
    diff = {g: ref.loc[(g, ARMS[1]), "surv"] - ref.loc[(g, ARMS[0]), "surv"] for g in GROUPS}
    var = {g: ref.loc[(g, ARMS[1]), "se"] ** 2 + ref.loc[(g, ARMS[0]), "se"] ** 2 for g in GROUPS}
    for g in GROUPS:
        assert res.loc[g, "estimate"] == pytest.approx(diff[g], abs=1e-8)
        assert res.loc[g, "ci_low"] == pytest.approx(diff[g] - Z * np.sqrt(var[g]), abs=1e-8)
        assert res.loc[g, "ci_high"] == pytest.approx(diff[g] + Z * np.sqrt(var[g]), abs=1e-8)
    inter = diff["heterogeneous"] - diff["homogeneous"]
    se = np.sqrt(var["heterogeneous"] + var["homogeneous"])
    row = res.loc["interaction"]
    assert row["status"] == "ok"
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == pytest.approx((inter, inter - Z * se, inter + Z * se),
                                                                            abs=1e-8)


def test_a_cell_below_the_at_risk_rule_makes_its_differences_not_estimable_with_the_reason():
    # at 24 months the demo's ET cells have 4 (homogeneous) and 3 (heterogeneous) patients at risk (R n.risk)
    res = compute_km_interaction_at(_demo(), group="het_group", levels=GROUPS, arm="arm", arms=ARMS, t=24.0,
                                    min_at_risk=4)
    d = res["differences"].set_index("group")
    assert d.loc["homogeneous", "status"] == "ok"
    assert d.loc["heterogeneous", "status"] == "not_estimable"
    assert np.isnan(d.loc["heterogeneous", "estimate"]) and np.isnan(d.loc["interaction", "ci_low"])
    assert "heterogeneous, ET: 3 at risk at 24 months, fewer than the 4" in d.loc["heterogeneous", "reason"]
    assert d.loc["interaction", "status"] == "not_estimable"
    table = format_km_difference_table(res, horizon=24.0, labels={"heterogeneous": "ER-heterogeneous"})
    assert table["Note"].iloc[1].startswith("ER-heterogeneous, ET: 3 at risk at 24 months")
    assert table.iloc[1, -2] == "not estimable" and table.iloc[0, -2].endswith("%)")


def test_a_horizon_beyond_follow_up_is_not_estimable_rather_than_carried_flat():
    r = compute_km_cell_at([1.0, 2.0, 3.0], [1, 0, 0], 5.0, min_at_risk=1)
    assert np.isnan(r["surv"]) and not r["usable"] and r["n_risk"] == 0
    assert compute_km_cell_at([], [], 5.0, min_at_risk=1)["reason"] == "no patients"


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_the_at_risk_rule_must_be_a_positive_whole_number(bad):
    with pytest.raises(ValueError, match="min_at_risk"):
        compute_km_cell_at([1.0], [1], 1.0, min_at_risk=bad)


def test_three_level_and_score_interactions_match_r_coxph_efron():
    model = chapter.interaction_model(Section(data={"pfs": _demo()}))
    out = chapter.other_interactions(Section(data={"pfs": _demo()}), model)
    v = {r.name: r.value for r in out.results}
    rel = 1e-6
    assert v["obj2_group3_interaction_chisq"] == pytest.approx(COX.loc["group3_lr", "statistic"], rel=rel)
    assert v["obj2_group3_interaction_df"] == 2
    assert v["obj2_group3_interaction_p"] == pytest.approx(COX.loc["group3_lr", "p"], rel=rel)
    for g in chapter.GROUPS3:
        ref = COX.loc[f"group3_arm_hr_{g}"]
        assert v[f"obj2_group3_hr_arm_{g}"] == pytest.approx(ref["estimate"], rel=rel)
        assert v[f"obj2_group3_hr_arm_{g}_ci_low"] == pytest.approx(ref["ci_low"], rel=rel)
        assert v[f"obj2_group3_hr_arm_{g}_ci_high"] == pytest.approx(ref["ci_high"], rel=rel)
    ref = COX.loc["hs10_arm_interaction_hr"]
    assert v["obj2_hs10_interaction_hr"] == pytest.approx(ref["estimate"], rel=rel)
    assert v["obj2_hs10_interaction_hr_ci_low"] == pytest.approx(ref["ci_low"], rel=rel)
    assert v["obj2_hs10_interaction_hr_ci_high"] == pytest.approx(ref["ci_high"], rel=rel)
    assert v["obj2_hs10_interaction_chisq"] == pytest.approx(COX.loc["hs10_lr", "statistic"], rel=1e-5)
    assert v["obj2_hs10_interaction_p"] == pytest.approx(COX.loc["hs10_lr", "p"], rel=1e-6)
    assert out.tables["tests"]["df"].tolist() == ["1", "2", "1"]


def test_absolute_scale_section_records_the_interface_names_and_says_why_when_not_estimable():
    sec = chapter.absolute_scale(Section(data={"pfs": _demo()}), horizon=24.0, min_at_risk=5)
    names = {r.name for r in sec.results}
    for g in GROUPS:
        assert {f"obj2_pfs24_difference_{g}", f"obj2_pfs24_difference_{g}_ci_low",
                f"obj2_pfs24_difference_{g}_ci_high"} <= names
    assert {"obj2_pfs24_interaction", "obj2_pfs24_interaction_ci_low", "obj2_pfs24_interaction_ci_high"} <= names
    assert np.isnan(sec.value("obj2_pfs24_interaction"))
    assert "not estimable" in sec.text["reading"] and "ER-heterogeneous, ET: 3 at risk" in sec.text["reading"]
    ok = chapter.absolute_scale(Section(data={"pfs": _demo()}), horizon=24.0, min_at_risk=3)
    assert "95% CI" in ok.text["reading"] and "includes 0" in ok.text["reading"]


def test_censoring_rate_gives_the_expected_event_share_it_was_solved_for():
    design = dict(n_patients=20000, n_heterogeneous=8000, n_treated=10000, event_fraction=0.75, hr_group=1.5,
                  hr_arm=0.59, median_reference_months=16.1)
    c = compute_censoring_rate(hr_interaction=0.5, **design)
    _, e, _ = simulate_interaction_trials(1, hr_interaction=0.5, seed=11, **design)
    assert e.mean() == pytest.approx(0.75, abs=0.01)  # binomial SE about 0.003
    assert c > 0


def test_forest_plot_prints_the_interaction_test_from_the_recorded_p_value():
    from sonimage_utils.tables.format import format_p

    base = Section(data={"pfs": _demo()})
    model = chapter.interaction_model(base)
    within = chapter.within_groups(base, model)
    texts = [t.get_text() for t in within.figures["forest"].texts]
    p = format_p(model.value("obj2_interaction_p"))
    assert any(f"p = {p}" in t and "likelihood-ratio" in t for t in texts)
    assert "p" not in within.tables["by_group"].columns  # no per-group p-values


def test_power_section_states_its_censoring_model_in_text_caption_and_figure():
    base = Section(data={"pfs": _demo()})
    power = chapter.interaction_power(base, interaction_hrs=[1.0, 2.0], n_sim=20, alpha=0.05, seed=3, hr_arm=0.59,
                                      hr_group=1.5, median_reference_months=16.1)
    assert "exponential censoring" in power.text["caption"] and "median censoring time" in power.text["caption"]
    assert "independent of group, arm and PFS1" in power.text["censoring"]
    assert any("exponential censoring" in t.get_text() for t in power.figures["power"].texts)
    assert "Median censoring time, months" in power.tables["power"].columns


def _simulated_cells(rng, n, hazards, censor_max):
    """Four group x arm cells with exponential PFS1 (known hazards) and uniform censoring."""
    rows = []
    for (g, a), lam in hazards.items():
        t = rng.exponential(1 / lam, n)
        c = rng.uniform(0, censor_max, n)
        rows.append(pd.DataFrame({"pfs1_months": np.minimum(t, c), "pfs1_event": (t <= c).astype(int),
                                  "het_group": g, "arm": a}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.slow
def test_absolute_interaction_recovers_the_true_difference_of_differences_with_nominal_coverage():
    hazards = {("homogeneous", "ET"): np.log(2) / 16, ("homogeneous", "ET+CDK4/6i"): np.log(2) / 27,
               ("heterogeneous", "ET"): np.log(2) / 11, ("heterogeneous", "ET+CDK4/6i"): np.log(2) / 14}
    s = {k: np.exp(-lam * 24) for k, lam in hazards.items()}
    truth = ((s[("heterogeneous", "ET+CDK4/6i")] - s[("heterogeneous", "ET")])
             - (s[("homogeneous", "ET+CDK4/6i")] - s[("homogeneous", "ET")]))
    rng = np.random.default_rng(20261130)
    kw = dict(group="het_group", levels=GROUPS, arm="arm", arms=ARMS, t=24.0, min_at_risk=5)
    big = compute_km_interaction_at(_simulated_cells(rng, 20000, hazards, 60.0), **kw)["differences"]
    row = big.set_index("group").loc["interaction"]
    assert abs(row["estimate"] - truth) < 3 * row["se"]
    covered, n_rep = 0, 400
    for _ in range(n_rep):
        r = compute_km_interaction_at(_simulated_cells(rng, 100, hazards, 60.0), **kw)["differences"]
        r = r.set_index("group").loc["interaction"]
        covered += r["ci_low"] <= truth <= r["ci_high"]
    # 400 replicates: binomial SE of a 95% coverage about 1.1 points
    assert 0.92 <= covered / n_rep <= 0.98
