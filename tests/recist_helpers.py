"""Build recist.csv / lesions.csv frames from the compact case format of tests/cases/recist_cases.yaml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import yaml

CASES_FILE = Path(__file__).parent / "cases" / "recist_cases.yaml"
BASELINE = dt.date(2021, 3, 1)


def load_cases():
    with open(CASES_FILE) as fh:
        return yaml.safe_load(fh)


def day_to_date(day) -> str:
    return (BASELINE + dt.timedelta(days=int(day))).isoformat()


def build_tables(case: dict, patient_id: str = "P01"):
    """Return (recist, lesions) as ``pandas.read_csv`` would give them: strings for dates and booleans."""
    spec = case["lesions"]
    rows = []
    for day, entries in case["visits"].items():
        for lid, value in entries.items():
            kind, node, _organ = spec[lid]
            diam, status = (value, None) if kind == "target" else (None, value)
            rows.append({"patient_id": patient_id, "lesion_id": lid, "assessment_date": day_to_date(day),
                         "lesion_kind": kind, "is_lymph_node": "true" if node else "false",
                         "diameter_mm": diam, "status": status})
    recist = pd.DataFrame(rows, columns=["patient_id", "lesion_id", "assessment_date", "lesion_kind",
                                         "is_lymph_node", "diameter_mm", "status"])
    recist["diameter_mm"] = recist["diameter_mm"].astype(float)
    les = [{"patient_id": patient_id, "lesion_id": lid, "organ": organ, "fes_suvmax": 2.0,
            "fdg_suvmax": 5.0, "ct_diameter_mm": None}
           for lid, (kind, _node, organ) in spec.items() if kind != "new"]
    lesions = pd.DataFrame(les, columns=["patient_id", "lesion_id", "organ", "fes_suvmax", "fdg_suvmax",
                                         "ct_diameter_mm"])
    return recist, lesions


def build_error_case_tables(case: dict):
    """The tables of a bad-input case: ``build_tables`` plus the case's breakage (duplicate row, diameter on
    a non-target, lesion dropped from lesions.csv, unparsable date)."""
    recist, lesions = build_tables(case)
    if case.get("duplicate_first_row"):
        recist = pd.concat([recist.iloc[[0]], recist], ignore_index=True)
    if "diameter_for" in case:
        recist.loc[recist["lesion_id"] == case["diameter_for"], "diameter_mm"] = 12.0
    if "drop_from_lesions" in case:
        lesions = lesions[lesions["lesion_id"] != case["drop_from_lesions"]].copy()
        lesions.loc[len(lesions)] = {"patient_id": "P01", "lesion_id": case["extra_lesion"], "organ": "bone"}
    if "bad_date" in case:
        recist["assessment_date"] = case["bad_date"]
    return recist, lesions
