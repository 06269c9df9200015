"""The frozen objective 4 model: JSON round trip, determinism, application to external-like data."""

import json

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.benefit.procedure import compute_rmst, compute_survival_at, fit_benefit_procedure
from sonimage_utils.simulate.benefit import simulate_benefit_cohort
from sonimage_utils.benefit.artifact import (compute_data_hash, freeze_model, load_model, predict_model,
                                           write_model)
from sonimage_utils.benefit.features import derive_model_features, derive_outcome

FEATURES = ["hs", "log_fdg_suvmax", "visceral_disease", "who_performance_status"]
#: The study settings (analysis.yml), passed explicitly: the package has no default for them.
SETTINGS = {"fes_threshold": 1.5, "fes_excluded_organs": ["liver"]}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    patients, lesions = simulate_benefit_cohort(100, seed=11)
    frame = derive_model_features(patients, lesions, FEATURES, SETTINGS).join(derive_outcome(patients))
    model = fit_benefit_procedure(frame, FEATURES, n_folds=5, seed=1)
    artifact = freeze_model(model, features=FEATURES, feature_settings=SETTINGS, horizon=24, rmst_horizon=36,
                            parameters={"seed": 1}, data_sha256=compute_data_hash(patients, lesions))
    path = write_model(artifact, tmp_path_factory.mktemp("models") / "benefit_model.json")
    return patients, lesions, model, artifact, path


def test_01_round_trip_predictions_equal_in_memory(fitted):
    patients, lesions, model, artifact, path = fitted
    loaded = load_model(path)
    pred = predict_model(loaded, patients, lesions)
    assert list(pred.columns[:4]) == ["patient_id", "lp", "surv_t", "risk_t"]
    raw = derive_model_features(patients, lesions, FEATURES, SETTINGS)
    from sonimage_utils.benefit.procedure import predict_from_features
    direct = predict_from_features(model, raw, horizon=24, rmst_horizon=36)
    np.testing.assert_allclose(pred["lp"], direct["lp"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(pred["benefit_t"], direct["benefit_t"].to_numpy(), atol=1e-12)


def test_02_write_is_byte_identical(fitted, tmp_path):
    _, _, _, artifact, path = fitted
    again = write_model(artifact, tmp_path / "again.json")
    assert again.read_bytes() == path.read_bytes()


def test_03_artifact_holds_everything_a_prediction_needs(fitted):
    _, _, _, _, path = fitted
    art = json.loads(path.read_text())
    assert art["features"] == FEATURES
    assert len(art["data_sha256"]) == 64
    for part in ("prognostic", "risk_benefit", "effect"):
        base = art["model"][part]["baseline"]
        assert len(base["time"]) == len(base["cumhaz"]) > 0
        assert np.all(np.diff(base["cumhaz"]) > 0)
    assert {s["name"] for s in art["model"]["features"]} == set(FEATURES)


def test_04_lp_is_centred_and_risk_is_probability(fitted):
    patients, lesions, _, artifact, _ = fitted
    pred = predict_model(artifact, patients, lesions)
    assert pred["lp"].mean() == pytest.approx(0.0, abs=1e-10)  # centred at the development means
    assert pred["risk_t"].between(0, 1).all()
    assert np.allclose(pred["surv_t"] + pred["risk_t"], 1)
    assert np.allclose(pred["benefit_t"], pred["surv_t_cdk"] - pred["surv_t_et"])


def test_05_external_cohort_with_other_arms_and_missing_fdg(fitted):
    _, _, _, artifact, _ = fitted
    patients, lesions = simulate_benefit_cohort(30, seed=99)
    patients["arm"] = np.where(np.arange(30) % 3 == 0, "chemotherapy", "ET")
    lesions.loc[lesions["patient_id"] == "S0001", "fdg_suvmax"] = np.nan  # no FDG-PET for one patient
    pred = predict_model(artifact, patients, lesions)
    assert pred.shape[0] == 30 and pred["lp"].notna().all()
    assert pred.loc[pred["patient_id"] == "S0001", "n_imputed"].item() == 1


def test_06_top_n_harmonisation_changes_only_fes_features():
    patients, lesions = simulate_benefit_cohort(20, seed=3)
    full = derive_model_features(patients, lesions, ["hs", "log_fdg_suvmax"], SETTINGS)
    top3 = derive_model_features(patients, lesions, ["hs", "log_fdg_suvmax"], {**SETTINGS, "top_n_lesions": 3})
    assert np.allclose(full["log_fdg_suvmax"], top3["log_fdg_suvmax"])
    assert not np.allclose(full["hs"].fillna(-1), top3["hs"].fillna(-1))


def test_07_hash_ignores_dtype_and_order_but_not_values():
    patients, lesions = simulate_benefit_cohort(10, seed=4)
    as_text = patients.astype({"visceral_disease": str}).iloc[::-1]
    as_text["visceral_disease"] = as_text["visceral_disease"].str.lower()
    assert compute_data_hash(patients, lesions) == compute_data_hash(as_text, lesions)
    changed = patients.copy()
    changed.loc[0, "age_years"] += 1
    assert compute_data_hash(changed, lesions) != compute_data_hash(patients, lesions)


def test_08_load_rejects_other_json(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="not a SONImage model artifact"):
        load_model(bad)


def test_09_step_function_survival_and_rmst_by_hand():
    base = {"time": [1.0, 2.0], "cumhaz": [0.5, 1.5]}
    # S(t) = 1 on [0,1), exp(-0.5) on [1,2), exp(-1.5) after; RMST(3) = 1 + exp(-0.5) + exp(-1.5)
    assert compute_survival_at(base, [0.0], 0.5)[0] == pytest.approx(1.0)
    assert compute_survival_at(base, [np.log(2)], 1.0)[0] == pytest.approx(np.exp(-1.0))
    assert compute_rmst(base, [0.0], 3.0)[0] == pytest.approx(1 + np.exp(-0.5) + np.exp(-1.5))


def test_10_feature_derivation_by_hand():
    pts = pd.DataFrame({"patient_id": ["a", "b"], "visceral_disease": ["true", "false"]})
    les = pd.DataFrame({"patient_id": ["a", "a", "a", "b"], "lesion_id": ["1", "2", "3", "1"],
                        "organ": ["bone", "lymph_node", "liver", "liver"],
                        "fes_suvmax": [2.0, 1.0, 5.0, 4.0], "fdg_suvmax": [3.0, np.nan, 8.0, 2.0],
                        "ct_diameter_mm": [np.nan, 12.0, 30.0, 20.0]})
    out = derive_model_features(pts, les, ["hs", "log_mean_fes_suvmax", "log_fdg_suvmax", "visceral_disease",
                                           "fes_heterogeneous"], SETTINGS)
    assert out.loc["a", "hs"] == pytest.approx(50.0)  # liver lesion is not assessable
    assert np.isnan(out.loc["b", "hs"])  # no assessable lesion -> missing, never dropped
    assert out.loc["a", "log_mean_fes_suvmax"] == pytest.approx(np.log(1.5))
    assert out.loc["a", "log_fdg_suvmax"] == pytest.approx(np.log(8.0))
    assert out["visceral_disease"].tolist() == [1.0, 0.0]
    assert out.loc["a", "fes_heterogeneous"] == 1.0
    with pytest.raises(ValueError, match="unknown feature"):
        derive_model_features(pts, les, ["nonsense"], SETTINGS)


def test_11_features_agree_with_the_books_heterogeneity_derivation():
    from sonimage_utils.derive.heterogeneity import derive_patient_heterogeneity
    from sonimage_utils.simulate.cohort import simulate_cohort

    tables = simulate_cohort("sonimage", n_patients=40, seed=5)
    ours = derive_model_features(tables["patients"], tables["lesions"], ["hs", "log_mean_fes_suvmax", "log_n_lesions"],
                                 SETTINGS)
    book = derive_patient_heterogeneity(tables["lesions"], fes_threshold=1.5, fes_excluded_organs=("liver",),
                                        fdg_threshold=None).set_index("patient_id").reindex(ours.index)
    np.testing.assert_allclose(ours["hs"], book["hs"], equal_nan=True)
    np.testing.assert_allclose(ours["log_mean_fes_suvmax"], np.log(book["mean_fes_suvmax"].clip(lower=0.1)),
                               equal_nan=True)
    np.testing.assert_allclose(ours["log_n_lesions"], np.log(book["n_lesions"]))


def test_12_applies_to_the_simulated_external_cohorts(fitted):
    from sonimage_utils.simulate.cohort import simulate_cohort

    _, _, _, artifact, _ = fitted
    for cohort in ("impact_mbc", "et_fes"):
        tables = simulate_cohort(cohort, n_patients=30, seed=6)
        pred = predict_model(artifact, tables["patients"], tables["lesions"])
        assert len(pred) == 30 and pred["risk_t"].between(0, 1).all()


def test_13_predict_by_arm_is_the_risk_based_benefit_models_prediction(fitted):
    _, _, _, artifact, _ = fitted
    patients, lesions = simulate_benefit_cohort(30, seed=99)
    patients["arm"] = np.array(["ET", "ET+CDK4/6i", "chemotherapy"] * 10)
    old = predict_model(artifact, patients, lesions)
    pred = predict_model(artifact, patients, lesions, arm="observed")
    assert old.columns.tolist() == pred.columns.tolist()[:len(old.columns)]  # old calls unchanged
    pd.testing.assert_frame_equal(old, pred[old.columns])
    rb = artifact["model"]["risk_benefit"]["coefficients"]
    et, cdk, other = (pred["arm_predicted"] == "ET"), (pred["arm_predicted"] == "ET+CDK4/6i"), pred["arm_predicted"].isna()
    assert (et.sum(), cdk.sum(), other.sum()) == (10, 10, 10)
    assert np.allclose(pred.loc[et, "risk_t_arm"], 1 - pred.loc[et, "surv_t_et"])
    assert np.allclose(pred.loc[cdk, "risk_t_arm"], 1 - pred.loc[cdk, "surv_t_cdk"])
    assert np.allclose(pred.loc[cdk, "lp_arm"], rb["lp"] * pred.loc[cdk, "lp"] + rb["treated"])
    assert pred.loc[other, ["lp_arm", "risk_t_arm"]].isna().all().all()
    tr = predict_model(artifact, patients, lesions, treated=np.arange(30) % 2 == 1)
    assert np.allclose(tr["risk_t_arm"], np.where(np.arange(30) % 2 == 1, 1 - tr["surv_t_cdk"], 1 - tr["surv_t_et"]))
    one = predict_model(artifact, patients, lesions, arm="ET")
    assert np.allclose(one["risk_t_arm"], 1 - one["surv_t_et"])
