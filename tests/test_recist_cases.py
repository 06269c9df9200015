"""Table-driven RECIST 1.1 cases: one patient history per rule of spec/recist.md (tests/cases/recist_cases.yaml).

Each case is named after the rule it checks (``rNN_...``); bad-input cases (``eNN_...``) check that
``assess`` raises ValueError naming the patient, lesion and data-dictionary rule.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.recist.engine import assess
from recist_helpers import BASELINE, build_error_case_tables, build_tables, day_to_date, load_cases

CASES = load_cases()
VISIT_KEYS = {"sum_diameters": "sum_diameters", "nadir": "nadir", "target": "target_response",
              "non_target": "non_target_response", "new_lesion": "new_lesion", "overall": "overall_response"}


def _same(got, want) -> bool:
    if want is None:
        return got is None
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return got == pytest.approx(want, abs=1e-6)
    return got == want


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_recist_case(case):
    recist, lesions = build_tables(case)
    res = assess(recist, lesions, **case.get("params", {}))
    exp = case["expect"]
    visits = res.visits
    assert list(visits["patient_id"].unique()) == ["P01"]
    assert len(visits) == len(case["visits"])
    for key, column in VISIT_KEYS.items():
        if key in exp:
            got = [None if (v is None) else (float(v) if isinstance(v, (np.floating, float, int, np.integer))
                                            and not isinstance(v, (bool, np.bool_)) else
                                            (bool(v) if isinstance(v, np.bool_) else v))
                   for v in visits[column].tolist()]
            assert all(_same(g, w) for g, w in zip(got, exp[key], strict=True)), (key, got, exp[key])
    best = res.best.iloc[0]
    if "best" in exp:
        assert best["best_overall_response"] == exp["best"]
    if "progression_day" in exp:
        if exp["progression_day"] is None:
            assert pd.isna(best["progression_date"])
        else:
            assert best["progression_date"] == pd.Timestamp(day_to_date(exp["progression_day"]))
    for key, column in (("lesion_best", "best_pct_change"), ("lesion_best_through_pd", "best_pct_change_through_pd")):
        for lid, want in exp.get(key, {}).items():
            got = res.lesions.set_index("lesion_id").at[lid, column]
            assert _same(float(got), float(want)), (lid, got, want)


@pytest.mark.parametrize("case", CASES["errors"], ids=[c["name"] for c in CASES["errors"]])
def test_recist_bad_input(case):
    recist, lesions = build_error_case_tables(case)
    with pytest.raises(ValueError, match=case["match"]) as info:
        assess(recist, lesions)
    assert "patient_id=P01" in str(info.value)


def test_01_read_csv_and_typed_input_agree():
    """Strings from read_csv and already-typed frames (datetime64, boolean, Float64) give the same result."""
    case = next(c for c in CASES["cases"] if c["name"].startswith("r23_"))
    recist, lesions = build_tables(case)
    text = io.StringIO()
    recist.to_csv(text, index=False)
    text.seek(0)
    from_csv = pd.read_csv(text)
    typed = recist.copy()
    typed["assessment_date"] = pd.to_datetime(typed["assessment_date"])
    typed["is_lymph_node"] = typed["is_lymph_node"].eq("true").astype("boolean")
    typed["diameter_mm"] = typed["diameter_mm"].astype("Float64")
    a, b = assess(from_csv, lesions), assess(typed, lesions)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    pd.testing.assert_frame_equal(a.best, b.best)
    pd.testing.assert_frame_equal(a.lesions, b.lesions)


def test_02_output_columns_follow_interface():
    case = CASES["cases"][0]
    res = assess(*build_tables(case))
    assert {"patient_id", "assessment_date", "sum_diameters", "nadir", "target_response", "non_target_response",
            "new_lesion", "overall_response"} <= set(res.visits.columns)
    assert {"patient_id", "best_overall_response", "progression_date"} <= set(res.best.columns)
    assert {"patient_id", "lesion_id", "best_pct_change"} <= set(res.lesions.columns)
    assert res.visits["assessment_date"].dtype == "datetime64[ns]"
    assert res.best["progression_date"].dtype == "datetime64[ns]"
    assert res.visits["assessment_date"].min() == pd.Timestamp(BASELINE)


def test_03_several_patients_are_assessed_independently():
    tables = [build_tables(c, patient_id=f"P{i:02d}") for i, c in enumerate(CASES["cases"][:6])]
    recist = pd.concat([t[0] for t in tables], ignore_index=True).sample(frac=1.0, random_state=1)
    lesions = pd.concat([t[1] for t in tables], ignore_index=True)
    res = assess(recist, lesions)
    for i, c in enumerate(CASES["cases"][:6]):
        alone = assess(*build_tables(c, patient_id=f"P{i:02d}"))
        row = res.best.set_index("patient_id").loc[f"P{i:02d}"]
        assert row["best_overall_response"] == alone.best.iloc[0]["best_overall_response"]


def test_04_lesions_none_skips_cross_table_checks():
    case = CASES["cases"][0]
    recist, _ = build_tables(case)
    res = assess(recist, None)
    assert res.best.iloc[0]["best_overall_response"] == case["expect"]["best"]


def test_05_bad_sd_min_days_is_rejected():
    recist, lesions = build_tables(CASES["cases"][0])
    with pytest.raises(ValueError, match="sd_min_days"):
        assess(recist, lesions, sd_min_days=-1)


def test_06_missing_column_is_named():
    recist, lesions = build_tables(CASES["cases"][0])
    with pytest.raises(ValueError, match="status"):
        assess(recist.drop(columns="status"), lesions)


def test_07_simulated_cohort_progression_agrees_with_pfs1():
    """On the synthetic cohort, RECIST PD falls exactly on pfs1_date for progression events and nowhere before
    pfs1_date otherwise (the simulator's construction), and every lesion's best change lies in [-100, 60]."""
    from sonimage_utils.simulate.cohort import simulate_cohort

    t = simulate_cohort("sonimage", n_patients=60, seed=3)
    res = assess(t["recist"], t["lesions"])
    m = res.best.merge(t["patients"], on="patient_id")
    prog = m["pfs1_event_type"] == "progression"
    assert (m.loc[prog, "progression_date"] == m.loc[prog, "pfs1_date"]).all()
    other = m.loc[~prog]
    assert (other["progression_date"].isna() | (other["progression_date"] > other["pfs1_date"])).all()
    best = res.lesions["best_pct_change"].dropna()
    assert best.between(-100, 60).all()
    assert set(res.best["patient_id"]) == set(t["patients"]["patient_id"])
