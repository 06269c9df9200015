"""The frozen objective 4 model: one JSON file, read by objective 5 without refitting.

One job: write, read and apply the artifact. The file holds everything a prediction needs (feature
definitions and their lesion-derivation settings, imputation values, centres and scales, coefficients,
baseline cumulative hazards as step functions (Efron's rule at tied event times, as the fits), the horizons) plus provenance (parameter values,
the SHA-256 of the development data, package version). Writing is deterministic: the same model gives
byte-identical files (no timestamps, fixed key order, ``repr`` floats).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from sonimage_utils import __version__
from sonimage_utils.benefit.procedure import predict_from_features
from sonimage_utils.benefit.features import complete_feature_settings, derive_model_features

__all__ = ["SCHEMA_VERSION", "compute_data_hash", "compute_file_hashes", "freeze_model", "write_model", "load_model",
           "predict_model"]

SCHEMA_VERSION = 1
_REQUIRED_KEYS = ("schema_version", "features", "feature_settings", "horizon", "rmst_horizon", "model")


def _canonical_value(v):
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    s = str(v)
    return {"True": "true", "False": "false"}.get(s, s)


def compute_data_hash(*tables: pd.DataFrame) -> str:
    """SHA-256 of the development tables in a canonical text form.

    Columns are sorted by name, rows by their text, values written the same way whatever the dtype
    (booleans ``true``/``false``, dates ``YYYY-MM-DD``, integral floats as integers, missing empty), so
    the hash is the same for ``pandas.read_csv`` output and for the typed loader's frames.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2], "b": [True, False]})
    >>> b = pd.DataFrame({"b": ["true", "false"], "x": [1.0, 2.0]})
    >>> compute_data_hash(a) == compute_data_hash(b)
    True
    """
    h = hashlib.sha256()
    for table in tables:
        cols = sorted(table.columns)
        rows = sorted("\x1f".join(_canonical_value(v) for v in row)
                      for row in table[cols].itertuples(index=False, name=None))
        h.update(("\x1e".join(cols) + "\n").encode())
        h.update("\n".join(rows).encode())
        h.update(b"\x1d")
    return h.hexdigest()


def compute_file_hashes(folder, names) -> dict:
    """SHA-256 of the bytes of each file ``folder/name`` (provenance of the development data files).

    Raises
    ------
    FileNotFoundError
        If a file is absent.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "a.csv").write_bytes(b"x")
    ...     compute_file_hashes(d, ["a.csv"])["a.csv"][:12]
    '2d711642b726'
    """
    return {name: hashlib.sha256((Path(folder) / name).read_bytes()).hexdigest() for name in names}


def freeze_model(model: dict, *, features, feature_settings: dict, horizon: float, rmst_horizon: float,
                 parameters: dict | None = None, data_sha256: str = "") -> dict:
    """Assemble the artifact dict from a fitted procedure (see ``benefit_model.fit_benefit_procedure``).

    Parameters
    ----------
    model : dict
        Fitted procedure.
    features : list of str
        Predictor names in model order.
    feature_settings : dict
        Lesion-derivation settings (FES threshold, excluded organs, ...; see
        :func:`sonimage_utils.benefit.features.complete_feature_settings`).
    horizon, rmst_horizon : float
        Months.
    parameters : dict, optional
        The analysis parameters used (shown in the book, kept for provenance).
    data_sha256 : str
        From :func:`compute_data_hash`.

    Returns
    -------
    dict
        JSON-ready artifact.

    Raises
    ------
    ValueError
        If ``features`` disagree with the model's preprocessing spec.
    """
    names = [s["name"] for s in model["features"]]
    if list(features) != names:
        raise ValueError(f"features {list(features)} do not match the fitted model's {names}")
    settings = complete_feature_settings(feature_settings)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": "SONImage objective 4: PFS1 risk and predicted benefit of adding a CDK4/6 inhibitor",
        "software": f"sonimage_utils {__version__}",
        "time_unit": "months (days / 30.4375)",
        "arm_coding": {"treated": "ET+CDK4/6i", "control": "ET"},
        "horizon": float(horizon),
        "rmst_horizon": float(rmst_horizon),
        "features": names,
        "feature_settings": settings,
        "data_sha256": data_sha256,
        "parameters": _jsonable(parameters or {}),
        "model": _jsonable(model),
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_model(artifact: dict, path) -> Path:
    """Write the artifact as indented JSON (byte-identical for the same artifact); return the path.

    The file appears whole or not at all (written beside it, then renamed): chapter 05 may start reading it
    while chapter 04 is still running.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_jsonable(artifact), indent=1, allow_nan=False) + "\n"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def load_model(path) -> dict:
    """Read an artifact written by :func:`write_model`.

    Raises
    ------
    ValueError
        If the file is not a model artifact of a known schema version.

    Examples
    --------
    >>> load_model("/nonexistent.json")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FileNotFoundError: ...
    """
    artifact = json.loads(Path(path).read_text(encoding="utf-8"))
    missing = [k for k in _REQUIRED_KEYS if k not in artifact]
    if missing:
        raise ValueError(f"{path}: not a SONImage model artifact (missing {missing})")
    if artifact["schema_version"] != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema version {artifact['schema_version']}, expected {SCHEMA_VERSION}")
    return artifact


def predict_model(model: dict, patients_df: pd.DataFrame, lesions_df: pd.DataFrame, *, horizon=None,
                  rmst_horizon=None, feature_settings=None, arm=None, treated=None) -> pd.DataFrame:
    """Apply a frozen model to new patients (contract tables), deriving its predictors the stored way.

    Parameters
    ----------
    model : dict
        A loaded artifact (:func:`load_model`).
    patients_df, lesions_df : DataFrame
        ``patients.csv`` and ``lesions.csv`` of any cohort (arm may be chemotherapy/other: the prognostic
        predictions do not use it; the per-arm predictions are counterfactual for every patient).
    horizon, rmst_horizon : float, optional
        Override the stored horizons (months), e.g. to validate at another time point.
    feature_settings : dict, optional
        Override lesion-derivation settings (a harmonisation, e.g. ``{"top_n_lesions": 3}``); by
        default the stored ones. Say so where you use it: the model is then no longer applied unchanged.
    arm : str or array-like of str, optional
        Therapy-specific prediction: one arm for every patient (``"ET"`` or ``"ET+CDK4/6i"``, the artifact's
        ``arm_coding``), ``"observed"`` for each patient's own ``arm`` column, or one arm per patient (in the
        order of ``patients_df``). A patient whose arm is neither (chemotherapy, other) has no therapy-specific
        prediction (NaN). Adds the ``*_arm`` columns below.
    treated : array-like of bool, optional
        Alternative to ``arm``: per patient, True for ET+CDK4/6i, False for ET (no missing values).

    Returns
    -------
    DataFrame
        Columns ``patient_id``, ``lp``, ``risk_t`` (probability of a PFS1 event by the horizon),
        ``surv_t``, ``surv_t_et``, ``surv_t_cdk``, ``benefit_t``, ``rmst_et``, ``rmst_cdk``,
        ``benefit_rmst`` (risk-based benefit model) and the ``effect_*`` columns of the effect model,
        plus ``n_imputed`` (predictors imputed with the development mean for that patient). With ``arm`` or
        ``treated``, also ``arm_predicted`` (the arm predicted for, missing when none), ``lp_arm`` (linear
        predictor of the risk-based benefit model for that arm: its slope times ``lp``, plus its treatment
        coefficient on ET+CDK4/6i), ``surv_t_arm`` and ``risk_t_arm`` (``1 - surv_t_et`` or ``1 - surv_t_cdk``).

    Raises
    ------
    ValueError
        If a predictor cannot be derived from the tables.

    Examples
    --------
    >>> # pred = predict_model(load_model("BUILD/models/benefit_model.json"), patients, lesions)
    """
    settings = {**model["feature_settings"], **(feature_settings or {})}
    raw = derive_model_features(patients_df, lesions_df, model["features"], settings)
    pred = predict_from_features(model["model"], raw,
                                 horizon=model["horizon"] if horizon is None else float(horizon),
                                 rmst_horizon=model["rmst_horizon"] if rmst_horizon is None else float(rmst_horizon))
    pred["n_imputed"] = raw.isna().sum(axis=1).astype(int)
    pred = pred.reset_index()
    if arm is not None or treated is not None:
        arms = _arms_to_predict(model, patients_df, pred["patient_id"], arm, treated)
        coding = model.get("arm_coding", {"treated": "ET+CDK4/6i", "control": "ET"})
        rb = model["model"]["risk_benefit"]["coefficients"]
        is_cdk, is_et = (arms == coding["treated"]).to_numpy(), (arms == coding["control"]).to_numpy()
        pred["arm_predicted"] = arms.where(is_cdk | is_et).to_numpy()
        lp_et = float(rb.get("lp", 1.0)) * pred["lp"]
        pred["lp_arm"] = np.where(is_cdk, lp_et + float(rb["treated"]), np.where(is_et, lp_et, np.nan))
        pred["surv_t_arm"] = np.where(is_cdk, pred["surv_t_cdk"], np.where(is_et, pred["surv_t_et"], np.nan))
        pred["risk_t_arm"] = 1.0 - pred["surv_t_arm"]
    return pred


def _arms_to_predict(model, patients_df, patient_ids, arm, treated) -> pd.Series:
    """The arm to predict for, per patient of ``patient_ids`` (a Series aligned with them)."""
    coding = model.get("arm_coding", {"treated": "ET+CDK4/6i", "control": "ET"})
    if arm is not None and treated is not None:
        raise ValueError("give arm or treated, not both")
    ids = patients_df["patient_id"].to_numpy()
    if treated is not None:
        tr = pd.Series(treated)
        if len(tr) != len(ids) or tr.isna().any():
            raise ValueError(f"treated must have one non-missing value per patient ({len(ids)}), got {len(tr)}")
        per_patient = np.where(tr.astype(bool).to_numpy(), coding["treated"], coding["control"])
    elif isinstance(arm, str) and arm == "observed":
        if "arm" not in patients_df.columns:
            raise ValueError("arm='observed' needs an 'arm' column in patients_df")
        per_patient = patients_df["arm"].astype(object).to_numpy()
    elif isinstance(arm, str):
        if arm not in (coding["treated"], coding["control"]):
            raise ValueError(f"arm must be {coding['control']!r}, {coding['treated']!r} or 'observed', got {arm!r}")
        per_patient = np.full(len(ids), arm, dtype=object)
    else:
        per_patient = np.asarray(arm, dtype=object)
        if per_patient.shape != (len(ids),):
            raise ValueError(f"arm must have one value per patient ({len(ids)}), got shape {per_patient.shape}")
    lookup = dict(zip(ids, per_patient))
    return pd.Series([lookup.get(p) for p in patient_ids], dtype=object)
