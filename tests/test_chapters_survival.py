"""Chapter modules 00-02: the covariate derivation, the sensitivity specifications, and sections that
hand the notebook named results with a kind, display tables in the one format, and figures released from pyplot."""

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sonimage_utils.chapters import cohort as ch00
from sonimage_utils.chapters import pfs_heterogeneity as ch01
from sonimage_utils.chapters import treatment_interaction as ch02
from sonimage_utils.derive import derive_model_covariates
from sonimage_utils.plots.survival import plot_forest
from sonimage_utils.survival.cox import extract_hr, fit_cox
from sonimage_utils.survival.hazard_ratios import compute_hr_rows
from sonimage_utils.tables.format import FORMATS
from survival_fixtures import REFERENCE, cohort

HET = dict(fes_threshold=1.5, fes_excluded_organs=["liver"], fdg_threshold=None)


def test_01_model_covariates():
    a = pd.DataFrame({"hs": [100.0, 55.0, np.nan, 0.0],
                      "who_performance_status": pd.array([0, 1, 2, pd.NA], dtype="Int64")})
    out = derive_model_covariates(a)
    assert out["hs10"].iloc[:2].tolist() == [10.0, 5.5] and math.isnan(out["hs10"].iloc[2])
    assert out["who_ps_1plus"].iloc[:3].tolist() == [False, True, True] and out["who_ps_1plus"].isna().iloc[3]
    assert "hs10" not in a  # a copy
    # a float column keeps a missing status missing too (NaN >= 1 is False)
    f = derive_model_covariates(pd.DataFrame({"hs": [1.0], "who_performance_status": [np.nan]}))
    assert f["who_ps_1plus"].isna().all()
    with pytest.raises(ValueError, match="who_performance_status"):
        derive_model_covariates(pd.DataFrame({"hs": [1.0]}))


def test_02_sensitivity_specs_are_the_registered_list():
    d = derive_model_covariates(cohort().assign(hs=lambda x: np.where(x["het_group"] == "homogeneous", 100.0, 50.0),
                                                who_performance_status=0))
    specs = ch01.sensitivity_specs(d, d, {1.8: d, 2.0: d}, fdg_threshold_fixed=5.0)
    names = [s["analysis"] for s in specs]
    assert names == ["Primary (2 groups)", "Stratified by centre", "3 groups", "FES/FDG pattern (FDG at median)",
                     "FES/FDG pattern (FDG >= 5)", "Primary model, patients with FDG-PET",
                     "Primary model, patients without FDG-PET", "Heterogeneity score", "Mean FES SUVmax",
                     "FES threshold 1.8",
                     "FES threshold 2", "Adjusted for clinical factors"]
    assert all({"analysis", "data", "formula", "report", "set"} <= set(s) for s in specs)
    assert specs[1]["strata"] == ["center"] and specs[1]["formula"] == specs[0]["formula"]
    # the FDG-missingness analysis (SAP): the primary formula in the two parts of the set, which make the whole
    with_fdg, without_fdg = specs[5]["data"], specs[6]["data"]
    assert specs[5]["formula"] == specs[6]["formula"] == specs[0]["formula"]
    assert len(with_fdg) + len(without_fdg) == len(d) and not set(with_fdg.index) & set(without_fdg.index)
    # complete-case sets are named with their n
    assert re.search(r"complete cases of the clinical factors \(\d+ of \d+\)", specs[-1]["set"])
    assert all(s["formula"].split(" + ")[1] == "arm" for s in specs)  # every model adjusted for the arm
    assert specs[-1]["formula"] == ("het_group + arm + visceral_disease + de_novo_metastatic + "
                                    "prior_adjuvant_endocrine + who_ps_1plus")
    # the primary row of the specifications is the primary model
    rows, _ = compute_hr_rows(specs[:1], reference=ch01.REFERENCE)
    direct = extract_hr(fit_cox(d, "het_group + arm", reference=REFERENCE), "het_group[heterogeneous]")
    assert rows["hr"].item() == pytest.approx(direct["hr"], rel=1e-12)


def _kinds_known(section):
    assert section.results and all(r.kind in FORMATS for r in section.results)


def test_03_chapter_01_and_02_sections(valid_folder):
    base = ch01.load(valid_folder, **HET)
    _kinds_known(ch01.who_is_analysed(base))
    km = ch01.kaplan_meier(base, landmark_months=[12, 24])
    _kinds_known(km)
    cells = km.tables["km"].drop(columns=["Group", "Patients", "Events"]).to_numpy().ravel()
    assert not any(re.search(r"\bN[RA]\b|\d-\d|%-", c) for c in cells)  # one style: "a (b to c)"
    assert any("to not reached" in c for c in cells)
    assert not plt.get_fignums()  # the figure is the notebook's to show
    base2 = ch02.load(valid_folder, **HET)
    assert base2.data["pfs"]["patient_id"].tolist() == base.data["pfs"]["patient_id"].tolist()
    model = ch02.interaction_model(base2)
    assert {r.name for r in model.results} >= {"obj2_interaction_p", "obj2_hr_interaction"}
    p = model.value("obj2_interaction_p")
    # three patients cannot estimate an interaction: the value is missing and the section says why
    assert (math.isnan(p) and model.text["warning"]) or 0 <= p <= 1


def test_04_chapter_00_sections(valid_folder):
    base = ch00.load(valid_folder, **HET)
    flow = ch00.patient_flow(base, n_randomised=1050, window_days=28)
    _kinds_known(flow)
    assert flow.value("cohort_n_patients") == len(base.data["analysis"])
    assert "flow" in flow.figures and not plt.get_fignums()
    for section in (ch00.event_types(base), ch00.scan_timing(base, window_days=28)):
        _kinds_known(section)
    assert ch00.scan_timing(base, window_days=28).value("cohort_n_baseline_scans_outside_window") == 0
    base.data["cohort"].scans = None  # a folder without scans.csv: the count exists and is missing, with a note
    none = ch00.scan_timing(base, window_days=28)
    assert none.value("cohort_n_baseline_scans_outside_window") is None and "note" in none.text
    mix = ch00.case_mix(base)
    assert "SONImage (development)" in mix.tables["case_mix"].columns
    assert "Absent from this data folder" in mix.text["caption"]
    les = ch00.lesions(base)
    assert set(les.figures) == {"suv", "hs"} and not plt.get_fignums()


def test_05_forest_writes_the_one_interval_style():
    rows = pd.DataFrame([{"label": "All", "n": 10, "n_events": 5, "hr": 0.5, "hr_ci_low": 0.25, "hr_ci_high": 1.0}])
    fig = plot_forest(rows)
    assert "0.50 (0.25 to 1.00)" in [t.get_text() for t in fig.axes[0].texts]
    assert not plt.get_fignums()


def test_05_chapter_01_never_reads_a_non_significant_ph_test_as_evidence_and_explains_discordance():
    from pathlib import Path
    from sonimage_utils.chapters.section import Section
    demo = pd.read_csv(Path(__file__).parent / "reference" / "rmst" / "data_demo.csv")
    base = Section(data={"pfs": demo})
    primary = ch01.primary_cox(base)
    ph = ch01.proportional_hazards(primary, transform="km", alpha=0.05)
    reading = ph.text["reading"]
    assert "not evidence that the hazards are proportional" in reading and "75 events" in reading
    km = ch01.kaplan_meier(base, landmark_months=[12, 24])
    tv = ch01.time_varying(base, km, primary, cutpoints=[12], horizon=36.0)
    # demo: medians 18.2 (heterogeneous) vs 17.0 months with HR 1.35: the text says why
    assert tv.text["explanation"].startswith("The medians point the other way from the hazard ratio")
    assert "-2.5 months" in tv.text["explanation"]
    assert tv.value("obj1_rmst_difference") == pytest.approx(17.7145734865881757 - 20.2112552129991485, rel=1e-12)
    assert {r.name for r in tv.results} >= {"obj1_rmst_difference_ci_low", "obj1_rmst_difference_ci_high",
                                            "obj1_piecewise_hr_0_12", "obj1_piecewise_hr_12plus"}
    _kinds_known(tv)
    assert not plt.get_fignums()
