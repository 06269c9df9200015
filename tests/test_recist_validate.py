"""Consistency of the RECIST engine with ``sonimage validate``: every history that validate accepts, assess
accepts; every bad-input case that a validate rule covers is reported by validate too.

Each case of tests/cases/recist_cases.yaml is written as a one-patient data folder (patient P01, randomised on
the baseline CT date) and validated with :func:`sonimage_utils.validate.validate_cohort`.
"""

from __future__ import annotations

import pandas as pd
import pytest
from recist_helpers import BASELINE, build_error_case_tables, build_tables, load_cases

from sonimage_utils.recist.engine import assess
from sonimage_utils.data.validate import validate_cohort

CASES = load_cases()
# Bad-input cases whose rule validate implements (the others are RECIST-only checks of assess:
# measurable size at baseline, a non-target lesion 'present' at baseline, an unparsable date is a
# column-type error of validate and is covered there).
VALIDATE_COVERS = {"e01", "e02", "e03", "e04", "e06", "e07", "e08", "e09", "e10"}


def _write_folder(root, recist: pd.DataFrame, lesions: pd.DataFrame):
    folder = root / "sonimage"
    folder.mkdir(parents=True)
    pd.DataFrame([{
        "patient_id": "P01", "center": "UMCG", "arm": "ET", "randomization_date": BASELINE.isoformat(),
        "pfs1_date": "2023-06-01", "pfs1_event": 0, "pfs1_event_type": "censored", "age_years": 60.0,
        "menopausal_status": "post", "who_performance_status": 0, "visceral_disease": "true",
        "bone_only_disease": "false", "de_novo_metastatic": "false", "prior_adjuvant_endocrine": "true",
        "histology": "ductal", "er_percent": 90.0, "fdg_pet_done": "true"}]).to_csv(folder / "patients.csv",
                                                                                   index=False)
    pd.DataFrame([{"patient_id": "P01", "tracer": "FES", "scan_date": "2021-02-20", "injected_activity_mbq": 200,
                   "uptake_time_min": 60, "weight_kg": 70, "blood_glucose_mmol_l": None},
                  {"patient_id": "P01", "tracer": "FDG", "scan_date": "2021-02-22", "injected_activity_mbq": 200,
                   "uptake_time_min": 60, "weight_kg": 70, "blood_glucose_mmol_l": 5.5}]).to_csv(
        folder / "scans.csv", index=False)
    lesions.to_csv(folder / "lesions.csv", index=False)
    recist.to_csv(folder / "recist.csv", index=False)
    return root


def _case_tables(case):
    recist, lesions = build_error_case_tables({k: v for k, v in case.items() if k != "bad_date"})
    lesions["ct_diameter_mm"] = lesions["ct_diameter_mm"].astype(float)
    return recist, lesions


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_01_validate_accepts_every_rule_case_and_so_does_assess(case, tmp_path):
    recist, lesions = _case_tables(case)
    tables, problems = validate_cohort(_write_folder(tmp_path, recist, lesions), "sonimage")
    errors = [str(p) for p in problems if p.level == "error"]
    assert errors == []
    assess(tables["recist"], tables["lesions"])  # the typed tables of validate/load_cohort


@pytest.mark.parametrize("case", [c for c in CASES["errors"] if c["name"][:3] in VALIDATE_COVERS],
                         ids=[c["name"] for c in CASES["errors"] if c["name"][:3] in VALIDATE_COVERS])
def test_02_validate_reports_the_bad_input_that_assess_rejects(case, tmp_path):
    recist, lesions = _case_tables(case)
    with pytest.raises(ValueError):
        assess(recist, lesions)
    _, problems = validate_cohort(_write_folder(tmp_path, recist, lesions), "sonimage")
    errors = [p for p in problems if p.level == "error"]
    assert any(p.file.endswith("recist.csv") and p.patient_id == "P01" for p in errors), [str(p) for p in problems]
