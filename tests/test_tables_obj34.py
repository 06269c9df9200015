"""Display tables and helpers of chapters 03 and 04: one formatting style, labels, no study value as default."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.benefit.artifact import compute_file_hashes, freeze_model
from sonimage_utils.benefit.features import complete_feature_settings, derive_model_features
from sonimage_utils.benefit.metrics import c_for_benefit, compute_calibration_for_benefit
from sonimage_utils.benefit.procedure import (compute_risk_grid, derive_penalty_cv_table, fit_benefit_procedure,
                                              fit_for_bootstrap)
from sonimage_utils.benefit.risk_groups import assign_risk_groups, compute_risk_group_effects
from sonimage_utils.benefit.sample_size import riley_max_parameters, riley_sample_size, select_model_features
from sonimage_utils.lesions import build_lesion_response_set, derive_lesion_response_by_fes_status
from sonimage_utils.tables.benefit import (format_calibration_for_benefit_table, format_optimism_table,
                                          format_riley_table, format_risk_group_table)
from sonimage_utils.tables.format import format_p, format_p_prose
from sonimage_utils.tables.frames import format_columns
from sonimage_utils.tables.lesions import (format_bor_no_measurable, format_lesion_model_table, format_lmm_sensitivity,
                                          format_orr_table, format_recist_settings)


def test_01_p_prose_follows_the_one_p_rule():
    for p in (0.5, 0.04321, 0.001, 0.00099, 1e-12):
        prose = format_p_prose(p)
        assert prose.replace("= ", "") == format_p(p)
        assert prose.startswith("<") == (p < 0.001)
    assert format_p_prose(float("nan")) == "not estimable"


def test_02_format_columns_formats_labels_and_checks():
    f = pd.DataFrame({"measure": ["calibration_slope", "ipa"], "v": [1.4478, -0.0004], "p": [0.2, 1e-5]})
    out = format_columns(f, {"v": "estimate", "p": "p_value"}, relabel_values=("measure",), index="measure")
    assert out.to_dict("index") == {"Calibration slope": {"v": "1.45", "p": "0.200"},
                                    "IPA (scaled Brier) at t": {"v": "0.00", "p": "<0.001"}}
    with pytest.raises(ValueError, match="lacks"):
        format_columns(f, {"nope": "estimate"})
    with pytest.raises(ValueError, match="unknown kind"):
        format_columns(f, {"v": "two decimals"})


def _lesion_summary():
    return pd.DataFrame({"term": ["Intercept", "fes_suvmax_assessable", "organ_lung"],
                         "estimate": [0.1, 0.312, np.nan], "std_error": [0.6, 0.0983, np.nan],
                         "ci_low": [-1.0, 0.119, np.nan], "ci_high": [1.2, 0.504, np.nan],
                         "p_value": [0.9, 0.0015, np.nan]})


def test_03_lesion_model_table_one_interval_style_and_labels():
    s = _lesion_summary()
    s = s.assign(odds_ratio=np.exp(s["estimate"]), or_ci_low=np.exp(s["ci_low"]), or_ci_high=np.exp(s["ci_high"]))
    coef, odds = format_lesion_model_table(s), format_lesion_model_table(s, odds=True)
    assert list(coef.index) == ["Intercept", "FES SUVmax (FES-assessable lesions)", "Organ group: lung"]
    assert coef.iloc[1, 0] == "0.31 (0.12 to 0.50)" and coef.iloc[1]["p"] == "0.002"
    assert odds.iloc[1, 0] == "1.37 (1.13 to 1.66)"
    assert coef.iloc[2].tolist() == ["not estimable"] * 3  # never "nan" or "NA"


def test_04_orr_and_bor_tables():
    orr = pd.DataFrame({"group": ["homogeneous", "heterogeneous"], "n": [39, 31], "n_responders": [16, 8],
                        "orr": [16 / 39, 8 / 31], "ci_low": [0.2557, 0.1186], "ci_high": [0.5790, 0.4461]})
    t = format_orr_table(orr)
    assert t["ORR (95% CI)"].tolist() == ["41% (26% to 58%)", "26% (12% to 45%)"]
    assert list(t.index) == ["ER-homogeneous", "ER-heterogeneous"]
    best = pd.DataFrame({"best_overall_response": ["NON_CR_NON_PD", "PD", "NE", "NON_CR_NON_PD"],
                         "het_group": ["homogeneous", "heterogeneous", None, "homogeneous"]})
    tab = format_bor_no_measurable(best)
    assert tab.loc["all", "all"] == 4 and tab.loc["non-CR/non-PD", "ER-homogeneous"] == 2
    assert tab.loc["NE", "not assessable"] == 1


def test_05_sensitivity_and_settings_tables():
    class Fit:
        n_obs, n_groups = 107, 52

        def coef(self, term):
            return pd.Series({"estimate": -3.2885, "ci_low": -4.5078, "ci_high": -2.0693, "p_value": 1.2e-7})

    t = format_lmm_sensitivity({"primary": Fit()})
    assert t.iloc[0].tolist() == ["primary", 107, 52, "-3.29", "-4.51 to -2.07", "<0.001"]
    s = format_recist_settings(confirm=True, sd_min_days=56, response_threshold=-50.0, fes_threshold=2.0)
    assert s["value"].tolist() == ["yes", "56", "-50", "2"]


def test_06_benefit_tables():
    mp = {"max_r2_cs": 0.7812, "max_parameters_criterion1": 1, "max_parameters_criterion2": 2}
    r = format_riley_table(n_patients=100, n_events=75, event_rate=0.04123, mean_followup=18.19, r2_cs=0.15,
                           max_parameters=mp, n_candidates=11, n_required_all=604, n_required_effect=1262)
    assert r["value"].tolist() == ["100 / 75", "0.0412", "18.2", "0.15", "0.78", 1, 2, 604, 1262]
    assert r["quantity"].iloc[7] == "patients needed for all 11 candidates"
    g = pd.DataFrame({"risk_group": [1, 2], "lp_min": [-0.1, 0.2], "lp_max": [0.1, 0.4], "n": [50, 50],
                      "n_events": [30, 40], "hr": [0.5, np.nan], "hr_ci_low": [0.3, np.nan], "hr_ci_high": [0.8, np.nan],
                      "pfs_et": [0.2, 0.1], "pfs_cdk": [0.5, 0.3], "abs_benefit": [0.3, 0.2],
                      "abs_ci_low": [0.1, -0.05], "abs_ci_high": [0.5, 0.45]})
    t = format_risk_group_table(g, 24.0)
    assert t["HR (95% CI)"].tolist() == ["0.50 (0.30 to 0.80)", "not estimable"]
    assert "PFS at 24 m, ET" in t.columns and t.loc[2, "PFS difference (95% CI)"] == "0.20 (-0.05 to 0.45)"
    o = pd.DataFrame({"measure": ["c", "slope"], "apparent": [0.534, 1.4478], "optimism": [0.007, -4.17],
                      "corrected": [0.527, 5.6227], "optimism_median": [0.0035, 0.0656], "optimism_sd": [0.034, 76.76]})
    assert format_optimism_table(o, index="measure").loc["Calibration slope", "corrected"] == "5.623"
    c = pd.DataFrame({"group": [1], "n": [13], "n_treated": [5], "n_control": [8], "predicted": [0.3437],
                      "observed": [0.15], "ci_low": [-0.3739], "ci_high": [0.6739]})
    assert format_calibration_for_benefit_table(c).loc[1, "observed (95% CI)"] == "0.150 (-0.374 to 0.674)"


def test_07_lesion_response_by_fes_status_counts_and_rates():
    d = pd.DataFrame({"fes_status": ["positive"] * 3 + ["negative", "not_assessable", "negative"],
                      "lesion_id": list("abcdef"), "patient_id": ["1", "1", "2", "3", "3", "4"],
                      "best_pct_change": [-40.0, -10.0, -35.0, 5.0, -50.0, np.nan],
                      "responding": [1.0, 0.0, 1.0, 0.0, 1.0, np.nan]})
    t = derive_lesion_response_by_fes_status(d)
    assert t["fes_status"].tolist() == ["positive", "negative", "not_assessable"]
    assert t["lesions"].tolist() == [3, 1, 1] and t["patients"].tolist() == [2, 1, 1]
    assert t["responding"].tolist() == pytest.approx([2 / 3, 0.0, 1.0])
    assert t["median_best_pct_change"].tolist() == pytest.approx([-35.0, 5.0, -50.0])


def test_08_model_size_rule():
    cand = ["hs", "log_fdg_suvmax", "visceral_disease"]
    assert select_model_features(cand, 0, None) == ["hs"]  # at least one predictor
    assert select_model_features(cand, 2, None) == ["hs", "log_fdg_suvmax"]
    assert select_model_features(cand, 10, None) == cand
    assert select_model_features(cand, 1, 2) == ["hs", "log_fdg_suvmax"]  # the SAP's size wins
    with pytest.raises(ValueError):
        select_model_features(cand, 1, 0)
    with pytest.raises(ValueError):
        select_model_features([], 1, None)


def test_09_feature_settings_need_the_study_values_and_keep_the_artifact_order():
    with pytest.raises(ValueError, match="fes_threshold"):
        complete_feature_settings({"fes_excluded_organs": ["liver"]})
    pts = pd.DataFrame({"patient_id": ["a"]})
    les = pd.DataFrame({"patient_id": ["a"], "organ": ["bone"], "fes_suvmax": [2.0], "fdg_suvmax": [3.0]})
    with pytest.raises(ValueError, match="fes_threshold"):
        derive_model_features(pts, les, ["hs"], {})
    s = complete_feature_settings({"top_n_lesions": 3, "fes_excluded_organs": ("liver",), "fes_threshold": 2.0})
    assert list(s) == ["fes_threshold", "fes_excluded_organs", "suv_floor", "top_n_lesions"]
    assert s["top_n_lesions"] == 3 and s["fes_excluded_organs"] == ["liver"]


def test_10_file_hashes_and_risk_grid(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"patient_id\nP1\n")
    h = compute_file_hashes(tmp_path, ["a.csv"])
    assert len(h["a.csv"]) == 64 and h == compute_file_hashes(tmp_path, ["a.csv"])
    (tmp_path / "a.csv").write_bytes(b"patient_id\nP2\n")
    assert compute_file_hashes(tmp_path, ["a.csv"]) != h
    grid = compute_risk_grid(np.arange(101) / 100)
    assert len(grid) == 19 and grid[0] == pytest.approx(0.05) and grid[-1] == pytest.approx(0.95)
    assert np.all(np.diff(grid) > 0)


def test_11_penalty_cv_table_marks_the_chosen_penalty():
    t = derive_penalty_cv_table({"cv": {"penalties": [1.0, 10.0, 100.0], "cvpl": [-9.0, -8.0, -8.5]},
                                 "penalty": 10.0}, n_folds=5, seed=1)
    assert t["selected"].tolist() == [False, True, False]
    assert t.loc[t["selected"], "cvpl"].item() == t["cvpl"].max()


@pytest.mark.parametrize("fn, names", [
    (build_lesion_response_set, ["fes_threshold", "fes_excluded_organs", "response_threshold"]),
    (fit_benefit_procedure, ["n_folds", "seed"]), (fit_for_bootstrap, ["n_folds"]),
    (c_for_benefit, ["n_boot", "seed"]), (compute_calibration_for_benefit, ["n_groups"]),
    (assign_risk_groups, ["n_groups"]), (compute_risk_group_effects, ["n_groups"]),
    (riley_sample_size, ["shrinkage"]), (riley_max_parameters, ["shrinkage"]),
    (derive_model_features, ["settings"]), (freeze_model, ["feature_settings"]),
])
def test_12_no_study_value_as_default(fn, names):
    params = inspect.signature(fn).parameters
    for name in names:
        assert params[name].default is inspect.Parameter.empty, f"{fn.__name__}({name}=...) has a default"
