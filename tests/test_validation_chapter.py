"""Chapter 05's module: cohort preparation with the frozen model, the ET-FES harmonisation, the sections.

One small synthetic data folder (all three cohorts) and one frozen model fitted on its development cohort
are shared by the module; bootstraps use a handful of resamples (the statistics are tested elsewhere,
here what the chapter assembles from them).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.benefit.artifact import compute_data_hash, freeze_model, write_model
from sonimage_utils.benefit.features import derive_model_features, derive_outcome
from sonimage_utils.benefit.procedure import fit_benefit_procedure
from sonimage_utils.chapters import Section
from sonimage_utils.chapters import external_validation as ev
from sonimage_utils.data.load import load_cohort
from sonimage_utils.external_validation.bootstrap import bootstrap_performance
from sonimage_utils.external_validation.metrics import compute_calibration_slope
from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS, survival_performance
from sonimage_utils.simulate.cohort import simulate_data_folder
from sonimage_utils.tables.format import FORMATS
from sonimage_utils.tables.validation import format_estimate_rows, format_median_iqr, format_metric_frame

FEATURES = ["hs", "log_mean_fes_suvmax", "visceral_disease", "who_performance_status"]
SETTINGS = {"fes_threshold": 1.5, "fes_excluded_organs": ["liver"]}
HET = {"fes_threshold": 1.5, "fes_excluded_organs": ["liver"]}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("ch5")
    data, build = root / "data", root / "build"
    simulate_data_folder(data, seed=7, n_patients=100, n_impact=120, n_et_fes=90)
    dev = load_cohort(data, "sonimage")
    frame = derive_model_features(dev.patients, dev.lesions, FEATURES, SETTINGS).join(derive_outcome(dev.patients))
    model = fit_benefit_procedure(frame, FEATURES, n_folds=5, seed=1)
    artifact = freeze_model(model, features=FEATURES, feature_settings=SETTINGS, horizon=12, rmst_horizon=24,
                            data_sha256=compute_data_hash(dev.patients, dev.lesions))
    write_model(artifact, build / "models" / "benefit_model.json")
    return data, build


@pytest.fixture(scope="module")
def prep(folders):
    data, build = folders
    return ev.prepare_chapter(data, build, horizon_months=None, **HET)


def test_01_missing_model_says_run_chapter_04(tmp_path):
    with pytest.raises(FileNotFoundError, match="chapter 04"):
        ev.load_frozen_model(tmp_path)


def test_02_prepare_cohort_one_row_per_patient_with_predictions(folders, prep):
    data, _ = folders
    model = prep.data["model"]
    c = ev.prepare_cohort(data, "impact_mbc", model, horizon=12.0, **HET)
    fr = c.frame
    assert len(fr) == len(c.data.patients) == fr["patient_id"].nunique()
    assert {"arm", "pfs1_months", "pfs1_event", "lp", "risk_t", "benefit_t", "n_imputed"} <= set(fr.columns)
    assert fr["risk_t"].between(0, 1).all() and fr["lp"].notna().all()
    # a later horizon predicts a higher risk for every patient (same linear predictor)
    later = ev.prepare_cohort(data, "impact_mbc", model, horizon=24.0, **HET).frame
    np.testing.assert_allclose(later["lp"], fr["lp"], rtol=0, atol=1e-12)
    assert (later["risk_t"] >= fr["risk_t"]).all() and (later["risk_t"] > fr["risk_t"]).any()


def test_03_prepare_chapter_uses_the_model_horizon_unless_given(folders, prep):
    data, build = folders
    assert prep.data["horizon"] == 12.0
    assert list(prep.data["cohorts"]) == ["sonimage", "impact_mbc", "et_fes"]
    assert prep.data["present"] == ["impact_mbc", "et_fes"] and prep.data["absent"] == []
    assert prep.text["absent"] == "" and "**12 months**" in prep.text["model"]
    other = ev.prepare_chapter(data, build, horizon_months=18, **HET)
    assert other.data["horizon"] == 18.0 and "**18 months**" in other.text["model"]


def test_04_absent_external_cohort_is_announced_not_failed(folders, tmp_path):
    data, build = folders
    partial = tmp_path / "data"
    shutil.copytree(data, partial)
    shutil.rmtree(partial / "et_fes")
    sec = ev.prepare_chapter(partial, build, horizon_months=None, **HET)
    assert sec.data["present"] == ["impact_mbc"] and sec.data["absent"] == ["et_fes"]
    assert "ET-FES" in sec.text["absent"] and "obj5_et_fes_*" in sec.text["absent"]
    assert "et_fes_threshold" not in ev.harmonisation_section(sec, top_n_lesions=3, fes_threshold=2.0).tables
    perf = ev.performance_section(sec, n_boot=2, seed=1, n_jobs=1, min_distinct=10)
    assert perf.results and not any(r.name.startswith("obj5_et_fes") for r in perf.results)
    assert list(perf.tables["performance"].columns) == ["SONImage (development)", "IMPACT-MBC"]
    dca = ev.decision_curve_section(sec)
    assert set(dca.data["recalibration"]) == {"impact_mbc"}
    assert {r.name for r in ev.model_updating_section(sec, dca.data["recalibration"]).results} == {
        "obj5_impact_mbc_recalibration_slope", "obj5_impact_mbc_recalibration_baseline_ratio"}
    shutil.rmtree(partial / "impact_mbc")  # the development cohort alone: nothing to validate, nothing fails
    dev_only = ev.prepare_chapter(partial, build, horizon_months=None, **HET)
    assert dev_only.data["present"] == [] and ev.calibration_section(dev_only, n_boot=2, seed=1, n_jobs=1,
                                                                      n_groups=3, min_distinct=10).figures == {}
    upd = ev.model_updating_section(dev_only, ev.decision_curve_section(dev_only).data["recalibration"])
    assert upd.results == [] and "updating" not in upd.tables and "nothing to update" in upd.text["summary"]


def test_05_harmonisation_variants_restrict_the_fes_measurement():
    v = ev.harmonisation_variants(3, 2.0)
    assert list(v.values()) == [None, {"top_n_lesions": 3}, {"top_n_lesions": 3, "fes_threshold": 2.0}]
    assert list(v)[2] == "... and threshold 2"
    assert list(ev.harmonisation_variants(2, 1.8))[2] == "... and threshold 1.8"


def test_06_harmonising_the_development_cohort(prep):
    prepare = prep.data["prepare"]
    frozen = prep.data["cohorts"]["sonimage"].frame
    # as many lesions as anybody has: the restriction changes nothing
    n_max = int(prep.data["cohorts"]["sonimage"].data.lesions.groupby("patient_id").size().max())
    same = prepare("sonimage", {"top_n_lesions": n_max}).frame
    np.testing.assert_allclose(same["lp"], frozen["lp"], rtol=0, atol=1e-12)
    # the largest lesion only: the FES predictors, and so the lp, change for patients with several lesions
    top1 = prepare("sonimage", {"top_n_lesions": 1}).frame
    assert not np.allclose(top1["lp"], frozen["lp"])
    tab = ev.compare_feature_settings(lambda s: prepare("sonimage", s), ev.harmonisation_variants(1, 2.0), 12.0,
                                      reference_lp=prep.data["cohorts"]["sonimage"].validation["lp"])
    assert list(tab.columns) == ["as frozen", "FES of the 1 largest lesions", "... and threshold 2"]
    v = prep.data["cohorts"]["sonimage"].validation  # therapy-specific prediction, as the chapter validates
    ref = survival_performance(v["pfs1_months"], v["pfs1_event"], v["risk_t"], v["lp"], 12.0)
    assert tab.loc["Harrell C", "as frozen"] == ref["harrell_c"]
    assert tab.loc["lp correlation with frozen", "as frozen"] == pytest.approx(1.0, abs=1e-12)
    assert tab.loc["lp correlation with frozen", "FES of the 1 largest lesions"] < 1 - 1e-6
    assert tab.index[0] == "Harrell C" and "harrell_c" not in tab.index


def test_07_et_fes_threshold_sensitivity(prep):
    sec = ev.harmonisation_section(prep, top_n_lesions=3, fes_threshold=2.0)
    assert list(sec.tables["measurement"].index) == FEATURES
    assert sec.tables["measurement"].loc["visceral_disease", "ET-FES"] == "as recorded"
    assert sec.tables["measurement"].loc["hs", "ET-FES"].startswith("3 largest lesions only (own threshold 2)")
    assert list(sec.tables["et_fes_threshold"].columns) == ["model threshold 1.5 (primary)", "ET-FES threshold 2"]
    assert sec.text["no_fes"] == ""


def test_08_performance_section_results_match_the_bootstrap(prep):
    sec = ev.performance_section(prep, n_boot=4, seed=3, n_jobs=1, min_distinct=10)
    names = [r.name for r in sec.results]
    assert len(names) == len(set(names)) == 2 * (6 + 3 * len(PERFORMANCE_METRICS) + 1)
    assert all(r.kind in FORMATS for r in sec.results)
    kinds = {r.name: r.kind for r in sec.results}
    assert kinds["obj5_et_fes_brier"] == "estimate3" and kinds["obj5_et_fes_oe"] == "ratio"
    assert kinds["obj5_et_fes_n_events"] == "count" and kinds["obj5_et_fes_citl"] == "ratio"
    c = prep.data["cohorts"]["impact_mbc"]
    fr = c.validation  # the primary validation set: ET alone or ET+CDK4/6i, therapy-specific prediction
    assert set(fr["arm"]) <= {"ET", "ET+CDK4/6i"} and len(fr) + len(c.other) == len(c.frame)
    assert sec.value("obj5_impact_mbc_n_validation_set") == len(fr)
    assert sec.value("obj5_impact_mbc_n_other_therapy") == len(c.other)
    smooth = sec.data["rule"]["impact_mbc"]["smooth"]
    b = bootstrap_performance(fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"], fr["lp"], 12.0, n_boot=4, seed=3,
                              smooth_calibration=smooth)
    s = b.summary.set_index("metric")
    for m in PERFORMANCE_METRICS:
        assert sec.value(f"obj5_impact_mbc_{m}") == s.loc[m, "estimate"]
        assert sec.value(f"obj5_impact_mbc_{m}_ci_low") == s.loc[m, "ci_low"]
    assert sec.value("obj5_impact_mbc_n_patients") == len(c.frame)
    tab = sec.tables["performance"]
    assert list(tab.columns) == ["SONImage (development)", "IMPACT-MBC", "ET-FES"]
    assert tab.index[-1].startswith("Calibration-in-the-large")
    assert not tab.apply(lambda col: col.str.contains(r"-0\.00\b(?!\d)")).any().any()
    assert "(" not in tab.loc["Harrell C", "SONImage (development)"]  # apparent: no interval
    assert sec.text["summary"].count("In **") == 2
    assert "Harrell's C" in sec.text["summary"] and "(0.5:" not in sec.text["summary"]  # no templated hints


def test_09_calibration_decision_curve_and_updating(prep):
    cal = ev.calibration_section(prep, n_boot=3, seed=1, n_jobs=1, n_groups=4, min_distinct=10)
    assert set(cal.tables) == set(cal.figures) == set(cal.text) == {"impact_mbc", "et_fes"}
    assert cal.tables["et_fes"]["n"].sum() == len(prep.data["cohorts"]["et_fes"].validation)
    for fig in cal.figures.values():  # the same axes on every calibration plot
        assert fig.axes[0].get_xlim() == fig.axes[0].get_ylim() == (0.0, 1.0)
    dca = ev.decision_curve_section(prep)
    assert dca.figures == {} and "No decision curve" in dca.text["omitted"]
    upd = ev.model_updating_section(prep, dca.data["recalibration"])
    fr = prep.data["cohorts"]["et_fes"].validation
    slope = compute_calibration_slope(fr["pfs1_months"], fr["pfs1_event"], fr["lp"])["slope"]
    assert upd.value("obj5_et_fes_recalibration_slope") == pytest.approx(slope, rel=1e-12)
    tab = upd.tables["updating"]
    assert tab.shape == (6, len(ev.UPDATING_METRICS))
    # recalibration keeps the ranking: Harrell's C is the frozen model's
    c = tab["Harrell C"].xs("ET-FES", level="cohort")
    assert c.max() - c.min() < 1e-12
    assert "times the frozen one" in upd.text["summary"]


def test_10_flow_auc_and_benefit_tables(prep):
    flow = ev.flow_section(prep)
    assert list(flow.tables["flow"].columns) == ["SONImage (development)", "IMPACT-MBC", "ET-FES"]
    assert flow.tables["flow"].loc["patients in patients.csv", "ET-FES"] == 90
    assert "PFS1 events by 12 months" in flow.tables["flow"].index
    assert "lp" in flow.figures and flow.tables["predictors"].shape == (len(FEATURES), 3)
    auc = ev.auc_section(prep, times=[6, 12, 600], n_boot=0, seed=1, n_jobs=1)
    assert set(auc.tables["auc_curve"]["time"]) == {6.0, 12.0}  # 600 months lies beyond the follow-up
    ben = ev.benefit_section(prep)
    assert ben.tables["benefit"].loc["randomised CDK4/6i"].tolist() == ["yes (SONIA)", "no", "no"]


def test_11_other_therapy_is_discrimination_only(prep):
    sec = ev.therapy_subgroup_section(prep, n_boot=5, seed=1, n_jobs=1)
    other = prep.data["cohorts"]["impact_mbc"].other
    assert not other.empty and set(other["arm"]).isdisjoint({"ET", "ET+CDK4/6i"})
    cols = sec.tables["by_therapy"].columns
    assert len(cols) == 1 and cols[0].startswith(f"IMPACT-MBC, chemotherapy/other (n = {len(other)}")
    assert list(sec.tables["by_therapy"].index) == ["Harrell C", "AUC at t"] or len(sec.tables["by_therapy"]) == 2
    assert "calibration is not assessed" in sec.text["caption"]
    assert ev.therapy_subgroup_section(Section(data={"cohorts": {}, "present": [], "horizon": 12.0}), n_boot=1,
                                       seed=1, n_jobs=1).tables == {}


def test_12_display_formatters_never_print_negative_zero():
    f = format_metric_frame(pd.DataFrame({"x": [-0.0004, 0.12345, np.nan]}, index=["a", "b", "c"]), 3)
    assert f["x"].tolist() == ["0.000", "0.123", "not estimable"]
    rows = format_estimate_rows({"O/E": {"A": (-0.001, -0.2, 0.1)}})
    assert rows.loc["O/E", "A"] == "0.00 (-0.20 to 0.10)"
    assert format_median_iqr([0.1, 0.2, 0.3, 0.4], 3) == "0.250 [0.175, 0.325]"
    with pytest.raises(ValueError, match="no value"):
        format_median_iqr([np.nan])


def test_13_precision_is_anticipated_from_n_and_event_risk(prep):
    from sonimage_utils.external_validation.metrics import compute_km_risk
    from sonimage_utils.external_validation.precision import compute_expected_precision

    sec = ev.precision_section(prep)
    fr = prep.data["cohorts"]["et_fes"].validation
    dev = prep.data["cohorts"]["sonimage"].validation
    from sonimage_utils.survival.measures import compute_harrell_c
    p = compute_expected_precision(len(fr), compute_km_risk(fr["pfs1_months"], fr["pfs1_event"], 12.0),
                                   compute_harrell_c(dev["pfs1_months"], dev["pfs1_event"], dev["lp"]))
    assert sec.value("obj5_et_fes_expected_c_ci_width") == pytest.approx(p["c_ci_width"], rel=1e-12)
    assert list(sec.tables["precision"].columns) == ["IMPACT-MBC", "ET-FES"]
    assert sec.text["summary"].count("anticipated 95% interval") == 2
