"""Tests of the synthetic data generator (sonimage_utils.simulate*).

The generator is checked on what analyses rely on: determinism, the data contract, internal consistency
(lesions <-> patients <-> RECIST), and that estimators recover the generating truth (truth.json).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from sonimage_utils.simulate.cohort import COLUMNS, simulate_cohort, simulate_data_folder
from sonimage_utils.simulate.lesions import derive_simulated_heterogeneity
from sonimage_utils.simulate.truth import DEFAULT_TRUTH, build_truth, mixture_median_months

#: The generator's heterogeneity rule (its truth), passed explicitly: the function has no default threshold.
HET_TRUTH = {key: DEFAULT_TRUTH[key] for key in ("fes_threshold", "fes_excluded_organs")}

FILES = {
    "sonimage": ["patients", "lesions", "scans", "recist"],
    "impact_mbc": ["patients", "lesions", "scans"],
    "et_fes": ["patients", "lesions"],
}
ORGANS = {"bone", "lymph_node", "liver", "lung", "pleura", "soft_tissue", "breast", "brain", "other"}
EVENT_TYPES = {"progression", "symptomatic_deterioration", "new_therapy", "death", "progression_during_break"}
MONTH = 30.4375


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    truth = simulate_data_folder(out, seed=11, n_patients=120, n_impact=80, n_et_fes=60)
    return out, truth


@pytest.fixture(scope="module")
def tables(folder):
    out, _ = folder
    return {c: {t: pd.read_csv(out / c / f"{t}.csv", keep_default_na=False, na_values=[""]) for t in ts}
            for c, ts in FILES.items()}


@pytest.fixture(scope="module")
def big():
    """A large development cohort with latent columns, for truth recovery."""
    return simulate_cohort("sonimage", n_patients=4000, seed=7, latent=True)


def _months(p):
    return (pd.to_datetime(p["pfs1_date"]) - pd.to_datetime(p["randomization_date"])).dt.days / MONTH


def _cox(p, het, formula_cols=("het", "cdk")):
    d = pd.DataFrame({"T": _months(p), "E": p["pfs1_event"].astype(int), "het": het,
                      "cdk": (p["arm"] == "ET+CDK4/6i").astype(int)})
    d["het_x_cdk"] = d["het"] * d["cdk"]
    d = d[["T", "E", *formula_cols]].dropna()
    return CoxPHFitter().fit(d, "T", "E")


def _files(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- determinism and layout

def test_01_same_seed_gives_byte_identical_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    simulate_data_folder(a, seed=5, n_patients=40, n_impact=20, n_et_fes=20)
    simulate_data_folder(b, seed=5, n_patients=40, n_impact=20, n_et_fes=20)
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb)
    assert all(fa[k] == fb[k] for k in fa)


def test_02_different_seed_gives_different_files(tmp_path):
    simulate_data_folder(tmp_path / "a", seed=5, n_patients=40, n_impact=20, n_et_fes=20)
    simulate_data_folder(tmp_path / "b", seed=6, n_patients=40, n_impact=20, n_et_fes=20)
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert all(fa[k] != fb[k] for k in fa if k.endswith(".csv"))


def test_03_layout_and_contract_columns(folder, tables):
    out, _ = folder
    written = {p.relative_to(out).as_posix() for p in out.rglob("*.csv")}
    assert written == {f"{c}/{t}.csv" for c, ts in FILES.items() for t in ts}
    for c, ts in FILES.items():
        for t in ts:
            assert list(tables[c][t].columns) == COLUMNS[t], (c, t)
    text = (out / "sonimage" / "patients.csv").read_text(encoding="utf-8")
    assert "\r" not in text and text.endswith("\n")


def test_04_truth_json_is_sorted_and_equals_returned_truth(folder):
    out, truth = folder
    text = (out / "truth.json").read_text()
    assert text == json.dumps(truth, sort_keys=True, indent=2) + "\n"
    assert json.loads(text)["pfs"]["hr_heterogeneous"] == DEFAULT_TRUTH["pfs"]["hr_heterogeneous"]
    assert truth["n_patients"] == {"sonimage": 120, "impact_mbc": 80, "et_fes": 60}


def test_05_truth_overrides_are_applied_and_unknown_ones_refused():
    t = build_truth(seed=1, n_patients={"sonimage": 10}, overrides={"pfs": {"hr_interaction": 0.5}})
    assert t["pfs"]["hr_interaction"] == 0.5
    with pytest.raises(ValueError, match="unknown truth parameter 'pfs.hr_typo'"):
        build_truth(seed=1, n_patients={"sonimage": 10}, overrides={"pfs": {"hr_typo": 1}})
    with pytest.raises(ValueError, match="arms outside the contract"):
        build_truth(seed=1, n_patients={"sonimage": 10},
                    overrides={"cohorts": {"sonimage": {"arm_probs": {"ET": 0.5, "chemotherapy": 0.5}}}})
    f = simulate_cohort("impact_mbc", n_patients=40, seed=1, truth_overrides={
        "cohorts": {"impact_mbc": {"arm_probs": {"ET": 0.5, "other": 0.5}, "hr_by_arm": {"ET": 1.0, "other": 2.0}}}})
    assert set(f["patients"]["arm"]) == {"ET", "other"}
    with pytest.raises(ValueError, match="n_patients"):
        simulate_cohort("sonimage", n_patients=0, seed=1)
    with pytest.raises(ValueError, match="cohort"):
        simulate_cohort("sonia", n_patients=5, seed=1)


# ---------------------------------------------------------------- contract values

def test_06_patients_follow_the_contract(tables):
    for c in FILES:
        p = tables[c]["patients"]
        assert p["patient_id"].is_unique
        assert p["patient_id"].str.fullmatch(r"[A-Za-z0-9_-]{1,32}").all()
        assert (pd.to_datetime(p["pfs1_date"]) >= pd.to_datetime(p["randomization_date"])).all()
        assert set(p["pfs1_event"]) <= {0, 1}
        assert ((p["pfs1_event"] == 0) == (p["pfs1_event_type"] == "censored")).all()
        assert set(p.loc[p["pfs1_event"] == 1, "pfs1_event_type"]) <= EVENT_TYPES
        assert p["age_years"].dropna().between(18, 110).all()
        assert set(p["menopausal_status"]) <= {"pre", "post"}
        assert set(p["histology"].dropna()) <= {"ductal", "lobular", "other"}
        for col in ("visceral_disease", "bone_only_disease", "de_novo_metastatic", "prior_adjuvant_endocrine",
                    "fdg_pet_done"):
            assert p[col].dtype == bool, col
        for col in ("patient_id", "center", "arm", "randomization_date", "pfs1_date", "pfs1_event"):
            assert p[col].notna().all(), col
    son = tables["sonimage"]["patients"]
    assert set(son["arm"]) == {"ET+CDK4/6i", "ET"}
    assert set(son["center"]) == {"UMCG", "VUmc"}
    assert set(son["who_performance_status"]) <= {0, 1, 2}
    assert (son["er_percent"].dropna() > 10).all()
    assert abs((son["arm"] == "ET").sum() - (son["arm"] != "ET").sum()) <= 1
    assert set(tables["et_fes"]["patients"]["arm"]) == {"ET"}
    assert set(tables["impact_mbc"]["patients"]["arm"]) <= {"ET+CDK4/6i", "ET", "chemotherapy", "other"}


def test_07_lesions_follow_the_contract_and_patient_flags(tables):
    for c in FILES:
        p, les = tables[c]["patients"], tables[c]["lesions"]
        assert set(les["patient_id"]) == set(p["patient_id"])  # every patient has a lesion
        assert not les.duplicated(["patient_id", "lesion_id"]).any()
        assert set(les["organ"]) <= ORGANS
        assert les["fes_suvmax"].dropna().between(0.5, 14.0).all()
        assert les.loc[les["organ"] == "liver", "fes_suvmax"].isna().all()
        assert les.loc[les["organ"] == "bone", "ct_diameter_mm"].isna().all()
        assert les.loc[les["organ"] != "bone", "ct_diameter_mm"].between(10, 80).all()
        flags = les.groupby("patient_id")["organ"].agg(
            bone_only=lambda o: (o == "bone").all(),
            visceral=lambda o: o.isin(["liver", "lung", "pleura"]).any())
        pp = p.set_index("patient_id").loc[flags.index]
        assert (pp["bone_only_disease"] == flags["bone_only"]).all()
        assert (pp["visceral_disease"] == flags["visceral"]).all()
        no_fdg = les["patient_id"].map(p.set_index("patient_id")["fdg_pet_done"]) == False  # noqa: E712
        assert les.loc[no_fdg, "fdg_suvmax"].isna().all()
        assert les.loc[~no_fdg, "fdg_suvmax"].notna().all()


def test_08_scans_one_fes_per_patient_fdg_where_done_within_window(tables):
    for c in ("sonimage", "impact_mbc"):
        p, s = tables[c]["patients"].set_index("patient_id"), tables[c]["scans"]
        assert not s.duplicated(["patient_id", "tracer"]).any()
        assert set(s.loc[s["tracer"] == "FES", "patient_id"]) == set(p.index)
        assert set(s.loc[s["tracer"] == "FDG", "patient_id"]) == set(p.index[p["fdg_pet_done"]])
        lag = (pd.to_datetime(s["scan_date"]) - pd.to_datetime(s["patient_id"].map(p["randomization_date"]))).dt.days
        assert lag.between(-42, 7).all()
        assert s["injected_activity_mbq"].between(50, 500).all()
        assert s["uptake_time_min"].between(20, 180).all()
        assert s["weight_kg"].between(25, 250).all()
        assert s.loc[s["tracer"] == "FES", "blood_glucose_mmol_l"].isna().all()
        assert s.loc[s["tracer"] == "FDG", "blood_glucose_mmol_l"].between(2, 30).all()


def test_09_recist_rows_follow_the_contract(tables):
    p = tables["sonimage"]["patients"].set_index("patient_id")
    les = tables["sonimage"]["lesions"]
    r = tables["sonimage"]["recist"].copy()
    r["assessment_date"] = pd.to_datetime(r["assessment_date"])
    assert not r.duplicated(["patient_id", "lesion_id", "assessment_date"]).any()
    base = r.groupby("patient_id")["assessment_date"].transform("min")
    assert (r.groupby("patient_id")["assessment_date"].min()
            <= pd.to_datetime(p["randomization_date"]) + pd.Timedelta(days=7)).all()
    t, nt, new = (r["lesion_kind"] == k for k in ("target", "non_target", "new"))
    assert r.loc[t, "diameter_mm"].notna().all() and r.loc[t, "status"].isna().all()
    assert (r.loc[t, "diameter_mm"] >= 0).all()
    assert set(r.loc[nt, "status"]) <= {"present", "absent", "unequivocal_progression", "not_assessed"}
    assert set(r.loc[new, "status"]) <= {"equivocal", "unequivocal"} and r.loc[new | nt, "diameter_mm"].isna().all()
    assert not (new & (r["assessment_date"] == base)).any()  # new lesions are not seen at baseline
    assert (r.groupby(["patient_id", "lesion_id"])["lesion_kind"].nunique() == 1).all()
    # every baseline lesion is at the baseline assessment, with its lesion_id and node flag
    b = r[r["assessment_date"] == base].merge(les, on=["patient_id", "lesion_id"], how="outer", indicator=True)
    assert (b["_merge"] == "both").all()
    assert (b["is_lymph_node"] == (b["organ"] == "lymph_node")).all()
    tb = b[b["lesion_kind"] == "target"]
    assert (tb.groupby("patient_id").size() <= 5).all()
    assert (tb.groupby(["patient_id", "organ"]).size() <= 2).all()
    assert (tb["organ"] != "bone").all()
    assert (tb["diameter_mm"] == tb["ct_diameter_mm"]).all()
    node = tb["organ"] == "lymph_node"
    assert (tb.loc[node, "ct_diameter_mm"] >= 15).all() and (tb.loc[~node, "ct_diameter_mm"] >= 10).all()
    bone_only = p.index[p["bone_only_disease"]]
    assert not r.loc[r["patient_id"].isin(bone_only), "lesion_kind"].eq("target").any()


def _first_pd_dates(recist):
    """Independent minimal RECIST 1.1 PD detector: target SOD vs nadir, non-target and new lesions."""
    r = recist.copy()
    r["assessment_date"] = pd.to_datetime(r["assessment_date"])
    sod = r[r["lesion_kind"] == "target"].groupby(["patient_id", "assessment_date"])["diameter_mm"].sum()
    nadir = sod.groupby(level=0).cummin().groupby(level=0).shift(1)
    target_pd = ((sod >= 1.2 * nadir) & (sod - nadir >= 5)).rename("pd")
    other_pd = r.assign(pd=r["status"].isin(["unequivocal_progression", "unequivocal"])).groupby(
        ["patient_id", "assessment_date"])["pd"].any()
    anypd = other_pd | target_pd.reindex(other_pd.index, fill_value=False)
    return anypd[anypd].reset_index().groupby("patient_id")["assessment_date"].min()


def test_10_recist_shows_pd_exactly_at_pfs1_date_of_progression_patients(tables):
    p = tables["sonimage"]["patients"].set_index("patient_id")
    first_pd = _first_pd_dates(tables["sonimage"]["recist"])
    prog = p.index[p["pfs1_event_type"] == "progression"]
    assert set(first_pd.index) == set(prog)
    assert (first_pd.loc[prog] == pd.to_datetime(p.loc[prog, "pfs1_date"])).all()


def test_11_recist_pd_rule_holds_in_a_large_cohort(big):
    p = big["patients"].set_index("patient_id")
    first_pd = _first_pd_dates(big["recist"])
    prog = p.index[p["pfs1_event_type"] == "progression"]
    assert set(first_pd.index) == set(prog)
    assert (first_pd.loc[prog] == p.loc[prog, "pfs1_date"]).all()


# ---------------------------------------------------------------- cohort-specific rules

def test_12_et_fes_records_fes_only_for_three_largest_lesions(tables):
    les = tables["et_fes"]["lesions"]
    assert (les.groupby("patient_id")["fes_suvmax"].count() <= 3).all()
    non_liver = les[les["organ"] != "liver"].groupby("patient_id").size()
    measured = les.groupby("patient_id")["fes_suvmax"].count()
    assert (measured == non_liver.clip(upper=3).reindex(measured.index, fill_value=0)).all()
    # among non-bone lesions, a measured lesion is never smaller than an unmeasured one of the same patient
    nb = les[~les["organ"].isin(["bone", "liver"])]
    smallest_measured = nb[nb["fes_suvmax"].notna()].groupby("patient_id")["ct_diameter_mm"].min()
    largest_unmeasured = nb[nb["fes_suvmax"].isna()].groupby("patient_id")["ct_diameter_mm"].max()
    common = smallest_measured.index.intersection(largest_unmeasured.index)
    assert (smallest_measured[common] >= largest_unmeasured[common]).all()


def test_13_heterogeneity_of_the_hazard_is_the_one_derived_from_lesions_csv(folder, tables):
    # rounding to 2 decimals never moves a lesion across the 1.5 threshold: re-derive from the CSV and compare
    # with the group the generator used (latent)
    out, _ = folder
    lat = simulate_cohort("sonimage", n_patients=120, seed=11, latent=True)
    les = tables["sonimage"]["lesions"]
    het = derive_simulated_heterogeneity(les, tables["sonimage"]["patients"]["patient_id"], **HET_TRUTH)
    assert np.array_equal(het.to_numpy(), lat["patients"]["_het"].to_numpy(), equal_nan=True)


def test_14_heterogeneity_agrees_with_the_book_module(big):
    from sonimage_utils.derive import heterogeneity

    les = big["lesions"][COLUMNS["lesions"]]
    ph = heterogeneity.derive_patient_heterogeneity(les, fes_threshold=1.5, fes_excluded_organs=("liver",),
                                                    fdg_threshold=None).set_index("patient_id")
    mine = big["patients"].set_index("patient_id")["_het"]
    theirs = ph["het_group"].map({"homogeneous": 0.0, "heterogeneous": 1.0}).reindex(mine.index)
    assert np.array_equal(theirs.to_numpy(dtype=float), mine.to_numpy(), equal_nan=True)


# ---------------------------------------------------------------- the cohort looks like the study

def test_15_lesion_mix_and_counts_look_like_nienhuis_2018(big):
    les, p = big["lesions"], big["patients"]
    share = les["organ"].value_counts(normalize=True)
    assert share["bone"] == pytest.approx(0.78, abs=0.03)
    assert share["lymph_node"] == pytest.approx(0.15, abs=0.03)
    assert share["lung"] == pytest.approx(0.04, abs=0.015)
    assert share["liver"] == pytest.approx(0.02, abs=0.01)
    n = les.groupby("patient_id").size()
    assert n.median() == pytest.approx(8, abs=1) and n.min() >= 1 and n.max() <= 60
    assert p["_het"].mean() == pytest.approx(0.40, abs=0.03)
    assert p["bone_only_disease"].mean() == pytest.approx(0.25, abs=0.03)
    assert p["visceral_disease"].mean() == pytest.approx(0.50, abs=0.03)
    # about 1% have no FES-assessable lesion (liver only): HS missing, to be reported, not dropped silently
    none = p.loc[p["_het"].isna(), "patient_id"]
    assert len(none) / len(p) == pytest.approx(0.01, abs=0.006)
    assert (les.loc[les["patient_id"].isin(none), "organ"] == "liver").all()


def test_16_follow_up_and_event_fraction_look_like_sonia(big):
    p = big["patients"]
    kmf = KaplanMeierFitter().fit(_months(p), 1 - p["pfs1_event"])  # reverse KM
    assert kmf.median_survival_time_ == pytest.approx(37.3, abs=2.0)
    assert 0.6 <= p["pfs1_event"].mean() <= 0.75
    assert (p.loc[p["pfs1_event"] == 1, "pfs1_event_type"] == "progression").mean() > 0.7


def test_17_median_pfs1_by_arm_near_sonia(big):
    # population medians from the model equal the SONIA values (calibration) ...
    truth = build_truth(seed=7, n_patients={"sonimage": 4000})
    assert mixture_median_months(truth, "sonimage", "ET") == pytest.approx(16.1, abs=1e-6)
    assert mixture_median_months(truth, "sonimage", "ET+CDK4/6i") == pytest.approx(24.7, abs=0.5)
    # ... and Kaplan-Meier on 4000 simulated patients lands near them (SE of a median here is about 0.7 month)
    p = big["patients"]
    for arm, target in (("ET", 16.1), ("ET+CDK4/6i", 24.7)):
        s = p["arm"] == arm
        km = KaplanMeierFitter().fit(_months(p)[s], p["pfs1_event"][s])
        assert km.median_survival_time_ == pytest.approx(target, abs=2.0), arm


def test_18_cox_recovers_log_hr_of_arm_and_heterogeneity_n4000(big):
    # PFS1 ~ het_group + arm, with het_group derived from the contract lesion columns
    het = derive_simulated_heterogeneity(big["lesions"], big["patients"]["patient_id"], **HET_TRUTH).to_numpy()
    cox = _cox(big["patients"], het)
    assert cox.params_["het"] == pytest.approx(math.log(1.8), abs=0.1)
    assert cox.params_["cdk"] == pytest.approx(math.log(0.59), abs=0.1)


def test_19_cox_recovers_log_hrs_medium_cohort():
    f = simulate_cohort("sonimage", n_patients=800, seed=3, latent=True)
    het = derive_simulated_heterogeneity(f["lesions"], f["patients"]["patient_id"], **HET_TRUTH).to_numpy()
    cox = _cox(f["patients"], het)
    assert cox.params_["het"] == pytest.approx(math.log(1.8), abs=0.25)
    assert cox.params_["cdk"] == pytest.approx(math.log(0.59), abs=0.25)


def test_20_interaction_truth_is_recovered():
    f = simulate_cohort("sonimage", n_patients=4000, seed=9, latent=True,
                        truth_overrides={"pfs": {"hr_interaction": 0.5}})
    cox = _cox(f["patients"], f["patients"]["_het"].to_numpy(), ("het", "cdk", "het_x_cdk"))
    assert cox.params_["het_x_cdk"] == pytest.approx(math.log(0.5), abs=0.2)
    assert cox.params_["cdk"] == pytest.approx(math.log(0.59), abs=0.15)


def test_21_lesion_shrinkage_depends_on_fes_as_the_truth_says(big):
    # per-lesion best % change (before PD) of target lesions regressed on ln FES SUVmax; the visit noise and
    # the -100% floor attenuate the slope a little, so the tolerance is 25% of the truth
    r, les, p = big["recist"], big["lesions"], big["patients"].set_index("patient_id")
    t = r[r["lesion_kind"] == "target"].copy()
    t["date"] = pd.to_datetime(t["assessment_date"])
    first = t.groupby("patient_id")["date"].transform("min")
    base = t[t["date"] == first].set_index(["patient_id", "lesion_id"])["diameter_mm"]
    t = t[(t["date"] > first) & (t["date"] < t["patient_id"].map(p["pfs1_date"]))]
    t["pct"] = 100 * (t["diameter_mm"] / base.reindex(pd.MultiIndex.from_frame(t[["patient_id", "lesion_id"]]))
                      .to_numpy() - 1)
    best = t.groupby(["patient_id", "lesion_id"])["pct"].min().reset_index().merge(les, on=["patient_id", "lesion_id"])
    best = best[best["fes_suvmax"].notna()]
    x = np.column_stack([np.ones(len(best)), np.log(best["fes_suvmax"]),
                         (best["patient_id"].map(p["arm"]) == "ET+CDK4/6i").astype(float)])
    coef = np.linalg.lstsq(x, best["pct"].to_numpy(), rcond=None)[0]
    truth = DEFAULT_TRUTH["response"]
    assert coef[1] == pytest.approx(truth["fes_coef_per_log_suv"], rel=0.25)
    assert coef[2] == pytest.approx(truth["arm_effect_pct"], abs=4)


# ---------------------------------------------------------------- scale

@pytest.mark.slow
def test_22_ten_thousand_patients_folder(tmp_path):
    truth = simulate_data_folder(tmp_path, seed=20191205, n_patients=10000)
    assert truth["realized"]["sonimage"]["n_patients"] == 10000
    p = pd.read_csv(tmp_path / "sonimage" / "patients.csv")
    assert len(p) == 10000 and p["patient_id"].is_unique


@pytest.mark.slow
def test_23_cohort_of_ten_thousand_patients():
    f = simulate_cohort("sonimage", n_patients=10000, seed=2)
    assert len(f["patients"]) == 10000
    assert f["lesions"]["patient_id"].nunique() == 10000


def test_24_size_is_a_parameter_not_tied_to_100():
    for n in (1, 7, 2500):
        f = simulate_cohort("sonimage", n_patients=n, seed=2)
        assert len(f["patients"]) == n == f["lesions"]["patient_id"].nunique()
        assert set(f["recist"]["patient_id"]) == set(f["patients"]["patient_id"])


# ---------------------------------------------------------------- the book's own readers accept the data

def test_25_simulated_folder_validates_without_problems(folder):
    from sonimage_utils.data import validate
    report = validate.validate_folder(folder[0])
    assert [str(p) for p in report.problems] == []


@pytest.mark.slow
def test_26_book_recist_engine_dates_pd_at_pfs1_date(folder, tables):
    from sonimage_utils import recist
    a = recist.assess(tables["sonimage"]["recist"], tables["sonimage"]["lesions"])
    b = a.best.merge(tables["sonimage"]["patients"], on="patient_id")
    prog = b["pfs1_event_type"] == "progression"
    assert (pd.to_datetime(b.loc[prog, "progression_date"]) == pd.to_datetime(b.loc[prog, "pfs1_date"])).all()
    assert b.loc[~prog, "progression_date"].isna().all()
