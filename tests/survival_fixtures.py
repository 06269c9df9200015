"""Shared loaders for the R survival reference fixtures (tests/reference/survival)."""

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

REF = Path(__file__).parent / "reference" / "survival"
REFERENCE = {"het_group": "homogeneous", "arm": "ET",
             "het_group3": ["homogeneous_positive", "mixed", "homogeneous_negative"],
             "fes_fdg_pattern": ["fdg_low", "fdg_high_fes_homogeneous", "fdg_high_fes_heterogeneous"]}
FORMULAS = {
    "primary": "het_group + arm",
    "group3": "het_group3 + arm",
    "pattern": "fes_fdg_pattern + arm",
    "hs10": "hs10 + arm",
    "mean_fes": "mean_fes_suvmax + arm",
    "clinical": "het_group + arm + visceral_disease + de_novo_metastatic + prior_adjuvant_endocrine + ps",
    "interaction": "het_group * arm",
}


@lru_cache(maxsize=1)
def fixtures() -> dict:
    with open(REF / "fixtures.json", encoding="utf-8") as fh:
        return json.load(fh)


def cohort() -> pd.DataFrame:
    d = pd.read_csv(REF / "cohort.csv")
    d["hs10"] = d["hs"] / 10
    d["ps"] = d["who_performance_status"].astype(str)
    d["het_group"] = pd.Categorical(d["het_group"], ["homogeneous", "heterogeneous"])
    return d


def km_edge() -> pd.DataFrame:
    e = pd.read_csv(REF / "km_edge.csv")
    e["group"] = pd.Categorical(e["group"], e["group"].unique())
    return e
