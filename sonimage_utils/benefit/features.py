"""Patient-level predictors of the objective 4 model, derived from ``patients.csv`` and ``lesions.csv``.

One job: turn the contract's tables (development or external cohort) into one row per patient with the
raw value of every pre-specified predictor. Each predictor has a name that the frozen model stores, so the
same derivation runs unchanged on new data (objective 5). Imputation and standardisation are fitted on
the development data and stored with the model (see :func:`fit_preprocessing`).

The FES summaries come from :func:`sonimage_utils.derive.heterogeneity.derive_patient_heterogeneity`, the one
definition the whole book uses; the frozen model stores the settings it was derived with (threshold,
excluded organs, the N-largest-lesions harmonisation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.data.load import DAYS_PER_MONTH
from sonimage_utils.derive.heterogeneity import derive_patient_heterogeneity

__all__ = [
    "FEATURE_DEFINITIONS",
    "SUV_FLOOR",
    "complete_feature_settings",
    "derive_model_features",
    "derive_outcome",
    "fit_preprocessing",
    "apply_preprocessing",
]

#: Every predictor the model can use: name -> how it is derived (shown in the book and the artifact).
FEATURE_DEFINITIONS = {
    "hs": "FES heterogeneity score: 100 x FES-positive / FES-assessable lesions",
    "fes_heterogeneous": "1 when at least one assessable lesion is FES-negative (HS < 100), else 0",
    "log_mean_fes_suvmax": "natural log of the mean FES SUVmax of the assessable lesions",
    "log_min_fes_suvmax": "natural log of the lowest FES SUVmax of the assessable lesions",
    "log_fdg_suvmax": "natural log of the patient's highest lesion FDG SUVmax",
    "log_n_lesions": "natural log of the number of baseline lesions",
    "visceral_disease": "visceral disease at baseline (1 yes, 0 no)",
    "bone_only_disease": "bone-only disease (1 yes, 0 no)",
    "de_novo_metastatic": "de novo metastatic disease (1 yes, 0 no)",
    "prior_adjuvant_endocrine": "prior adjuvant endocrine therapy (1 yes, 0 no)",
    "who_performance_status": "WHO performance status (0, 1, 2, ...) as a number",
    "age_years": "age at randomisation in years",
}

#: SUVmax floor before the log (a method constant: keeps log finite for a lesion read as 0).
SUV_FLOOR = 0.1


def complete_feature_settings(settings: dict) -> dict:
    """The lesion-derivation settings in the order the frozen model stores them.

    ``fes_threshold`` and ``fes_excluded_organs`` are study values and must be given (from
    ``analysis.yml``); ``suv_floor`` (:data:`SUV_FLOOR`) and ``top_n_lesions`` (None: every lesion; an
    integer harmonises with a cohort that measured FES in the N largest lesions only) are method settings
    filled in when absent.

    Raises
    ------
    ValueError
        If ``fes_threshold`` or ``fes_excluded_organs`` is missing.

    Examples
    --------
    >>> complete_feature_settings({"fes_excluded_organs": ("liver",), "fes_threshold": 1.5})
    {'fes_threshold': 1.5, 'fes_excluded_organs': ['liver'], 'suv_floor': 0.1, 'top_n_lesions': None}
    """
    missing = [k for k in ("fes_threshold", "fes_excluded_organs") if k not in (settings or {})]
    if missing:
        raise ValueError(f"feature settings lack {missing} (study values, from analysis.yml)")
    out = {"fes_threshold": settings["fes_threshold"], "fes_excluded_organs": list(settings["fes_excluded_organs"]),
           "suv_floor": settings.get("suv_floor", SUV_FLOOR), "top_n_lesions": settings.get("top_n_lesions")}
    out.update({k: v for k, v in settings.items() if k not in out})
    return out

_PATIENT_BOOL = ("visceral_disease", "bone_only_disease", "de_novo_metastatic", "prior_adjuvant_endocrine")


def _to_float(series):
    if series.dtype == object:
        mapped = series.map(lambda v: {"true": 1.0, "false": 0.0}.get(str(v).strip().lower(), v))
        return pd.to_numeric(mapped, errors="coerce").astype(float)
    return pd.to_numeric(series.astype("Float64") if series.dtype == "boolean" else series,
                         errors="coerce").astype(float)


def _lesion_summaries(lesions, settings):
    les = lesions.assign(patient_id=lesions["patient_id"].astype(str), fes_suvmax=_to_float(lesions["fes_suvmax"]),
                         fdg_suvmax=_to_float(lesions["fdg_suvmax"]))
    top_n = settings.get("top_n_lesions")
    if top_n is not None:
        # harmonisation with cohorts that measured FES in the N largest lesions only (ET-FES: 3);
        # size = CT diameter, lesions without one (bone) rank last, lesion_id breaks ties
        les["_size"] = _to_float(les["ct_diameter_mm"]).fillna(-1.0)
        les = les.sort_values(["patient_id", "_size", "lesion_id"], ascending=[True, False, True])
        rank = les.groupby("patient_id").cumcount()
        les.loc[rank >= int(top_n), "fes_suvmax"] = np.nan
    het = derive_patient_heterogeneity(les, fes_threshold=float(settings["fes_threshold"]),
                                       fes_excluded_organs=list(settings["fes_excluded_organs"]),
                                       fdg_threshold=None).set_index("patient_id")  # fdg_high is no feature
    floor = float(settings["suv_floor"])
    out = pd.DataFrame({"hs": het["hs"]})
    out["fes_heterogeneous"] = np.where(out["hs"].notna(), (out["hs"] < 100).astype(float), np.nan)
    out["log_mean_fes_suvmax"] = np.log(het["mean_fes_suvmax"].clip(lower=floor))
    out["log_min_fes_suvmax"] = np.log(het["min_fes_suvmax"].clip(lower=floor))
    out["log_fdg_suvmax"] = np.log(het["fdg_suvmax"].clip(lower=floor))
    out["log_n_lesions"] = np.log(het["n_lesions"].astype(float))
    return out


def derive_model_features(patients, lesions, features, settings) -> pd.DataFrame:
    """Raw value of each predictor, one row per patient (missing stays NaN).

    Parameters
    ----------
    patients, lesions : DataFrame
        Contract tables (as read by ``pandas.read_csv`` or the typed loader).
    features : list of str
        Names from :data:`FEATURE_DEFINITIONS`.
    settings : dict
        Lesion-derivation settings, at least ``fes_threshold`` and ``fes_excluded_organs`` (see
        :func:`complete_feature_settings`).

    Returns
    -------
    DataFrame
        Indexed by ``patient_id`` in the order of ``patients``, one float column per feature.

    Raises
    ------
    ValueError
        If a feature name is unknown, a needed column is absent or a study setting is missing.

    Examples
    --------
    >>> pts = pd.DataFrame({"patient_id": ["a"], "age_years": [60.0]})
    >>> les = pd.DataFrame({"patient_id": ["a", "a"], "lesion_id": ["1", "2"], "organ": ["bone", "liver"],
    ...                     "fes_suvmax": [2.0, np.nan], "fdg_suvmax": [4.0, 6.0], "ct_diameter_mm": [np.nan, 20]})
    >>> settings = {"fes_threshold": 1.5, "fes_excluded_organs": ["liver"]}
    >>> derive_model_features(pts, les, ["hs", "log_n_lesions", "age_years"], settings).round(3).to_dict("records")
    [{'hs': 100.0, 'log_n_lesions': 0.693, 'age_years': 60.0}]
    """
    unknown = [f for f in features if f not in FEATURE_DEFINITIONS]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; known: {sorted(FEATURE_DEFINITIONS)}")
    settings = complete_feature_settings(settings)
    ids = patients["patient_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError("patient_id must be unique in patients")
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="patient_id"))
    lesion_features = [f for f in features if f not in _PATIENT_BOOL + ("who_performance_status", "age_years")]
    if lesion_features:
        needed = {"patient_id", "organ", "fes_suvmax", "fdg_suvmax"} | (
            {"ct_diameter_mm", "lesion_id"} if settings.get("top_n_lesions") is not None else set())
        missing = needed - set(lesions.columns)
        if missing:
            raise ValueError(f"lesions lacks column(s) {sorted(missing)}")
        summ = _lesion_summaries(lesions, settings).reindex(out.index)
    for f in features:
        if f in lesion_features:
            out[f] = summ[f].to_numpy(dtype=float)
        else:
            if f not in patients.columns:
                raise ValueError(f"patients lacks column {f!r} needed by feature {f!r}")
            out[f] = _to_float(patients[f]).to_numpy()
    return out


def derive_outcome(patients) -> pd.DataFrame:
    """PFS1 time in months, event (0/1) and the CDK4/6i indicator, indexed by ``patient_id``.

    Uses ``pfs1_months`` when present, else ``(pfs1_date - randomization_date)`` days / 30.4375.
    ``treated`` is 1 for ``ET+CDK4/6i``, 0 for ``ET`` and NaN for other first-line therapies.

    Raises
    ------
    ValueError
        If the columns needed are absent or times are negative.

    Examples
    --------
    >>> pts = pd.DataFrame({"patient_id": ["a"], "arm": ["ET"], "pfs1_event": [1],
    ...                     "randomization_date": ["2020-01-01"], "pfs1_date": ["2020-01-31"]})
    >>> derive_outcome(pts).round(4).to_dict("records")
    [{'time': 0.9856, 'event': 1.0, 'treated': 0.0}]
    """
    if "pfs1_months" in patients.columns:
        time = _to_float(patients["pfs1_months"]).to_numpy()
    elif {"pfs1_date", "randomization_date"} <= set(patients.columns):
        days = (pd.to_datetime(patients["pfs1_date"]) - pd.to_datetime(patients["randomization_date"])).dt.days
        time = days.to_numpy(dtype=float) / DAYS_PER_MONTH
    else:
        raise ValueError("patients needs pfs1_months or pfs1_date and randomization_date")
    if np.any(time < 0):
        raise ValueError("PFS1 time is negative for some patient (pfs1_date before randomization_date)")
    arm = patients["arm"].astype(str) if "arm" in patients.columns else pd.Series("", index=patients.index)
    treated = np.where(arm == "ET+CDK4/6i", 1.0, np.where(arm == "ET", 0.0, np.nan))
    return pd.DataFrame({"time": time, "event": _to_float(patients["pfs1_event"]).to_numpy(), "treated": treated},
                        index=pd.Index(patients["patient_id"].astype(str).to_numpy(), name="patient_id"))


def fit_preprocessing(raw: pd.DataFrame) -> list:
    """Imputation value (development mean), centre and scale of each column of ``raw``.

    Returns
    -------
    list of dict
        ``{"name", "definition", "impute_value", "center", "scale", "n_missing"}`` per feature; the scale
        is the SD (ddof=1) after imputation, 1 when that is 0.

    Raises
    ------
    ValueError
        If a column is entirely missing.
    """
    spec = []
    for name in raw.columns:
        x = raw[name].to_numpy(dtype=float)
        if np.all(np.isnan(x)):
            raise ValueError(f"feature {name!r} is missing for every patient")
        fill = float(np.nanmean(x))
        filled = np.where(np.isnan(x), fill, x)
        sd = float(np.std(filled, ddof=1)) if filled.size > 1 else 0.0
        spec.append({"name": name, "definition": FEATURE_DEFINITIONS.get(name, ""), "impute_value": fill,
                     "center": float(np.mean(filled)), "scale": sd if sd > 0 else 1.0,
                     "n_missing": int(np.isnan(x).sum())})
    return spec


def apply_preprocessing(raw: pd.DataFrame, spec: list) -> np.ndarray:
    """Impute and standardise ``raw`` with a stored ``spec`` (from :func:`fit_preprocessing`).

    Raises
    ------
    ValueError
        If ``raw`` lacks a feature of the spec.
    """
    missing = [s["name"] for s in spec if s["name"] not in raw.columns]
    if missing:
        raise ValueError(f"data lack feature(s) {missing}")
    cols = []
    for s in spec:
        x = raw[s["name"]].to_numpy(dtype=float)
        x = np.where(np.isnan(x), s["impute_value"], x)
        cols.append((x - s["center"]) / s["scale"])
    return np.column_stack(cols) if cols else np.zeros((raw.shape[0], 0))
