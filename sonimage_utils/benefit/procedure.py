"""The objective 4 modelling procedure (PATH risk and effect modelling) and its predictions.

One job: from a development frame (raw predictors, PFS1 time in months, event, CDK4/6i indicator) fit

1. the **prognostic (risk) model**: ridge Cox (Efron ties) on the standardised predictors, blinded to arm (both arms
   pooled), penalty chosen by cross-validated partial likelihood;
2. the **risk-based benefit model**: Cox of PFS1 (Efron ties) on the CDK4/6i indicator with the shrunk
   prognostic linear predictor as an offset (coefficient fixed at 1, so the ridge shrinkage survives): a
   constant relative effect applied to each patient's baseline risk (PATH risk modelling);
3. the **effect model** (secondary): ridge Cox (Efron ties) with the arm, the predictors and arm x predictor
   interactions, the arm term unpenalised, penalty chosen by cross-validated partial likelihood;

and return a plain, JSON-ready dict (the content of the frozen artifact). Predictions from that dict
(survival at the horizon under each arm, their difference, restricted mean PFS) are computed here too,
so the artifact and the bootstrap use one implementation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import functools

from sonimage_utils.benefit.internal_validation import _observed_risk_curve, bootstrap_optimism
from sonimage_utils.benefit.features import apply_preprocessing, fit_preprocessing
from sonimage_utils.benefit.metrics import c_for_benefit
from sonimage_utils.survival.baseline import check_survival_inputs, compute_baseline_cumhaz
from sonimage_utils.survival.efron import _SortedOutcome, fit_cox_efron
from sonimage_utils.survival.measures import (_calibration_slope_on, _concordance_counts,
                                              compute_harrell_c_from_counts)
from sonimage_utils.survival.ridge_cox import (DEFAULT_PENALTIES, PenaltyCVResult, _SortedCoxData, cv_ridge_penalty,
                                              fit_ridge_cox)

__all__ = ["fit_benefit_procedure", "predict_from_features", "compute_survival_at", "compute_rmst",
           "fit_for_bootstrap", "evaluate_benefit_model", "predict_benefit_columns", "compute_risk_grid", "bootstrap_benefit_procedure",
           "derive_penalty_cv_table"]


def _baseline(X, time, event, coef):
    # Efron's rule at tied event times, as the fits (R survfit of an Efron coxph): one tie method everywhere
    t, h = compute_baseline_cumhaz(time, event, np.asarray(X, dtype=float) @ np.asarray(coef, dtype=float), ties="efron")
    return {"time": [float(v) for v in t], "cumhaz": [float(v) for v in h]}


def _check_frame(frame, features):
    missing = [c for c in list(features) + ["time", "event", "treated"] if c not in frame.columns]
    if missing:
        raise ValueError(f"development frame lacks column(s) {missing}")
    if frame["treated"].isna().any():
        raise ValueError("every development patient needs arm ET+CDK4/6i or ET (treated 1/0)")
    if frame["event"].sum() < 2:
        raise ValueError("fewer than 2 events: no model can be fitted")


def fit_benefit_procedure(frame: pd.DataFrame, features, *, penalties=DEFAULT_PENALTIES, n_folds, seed,
                          fit_effect=True) -> dict:
    """Fit the whole objective 4 procedure (preprocessing, penalty choice, three Cox models).

    Parameters
    ----------
    frame : DataFrame
        One row per patient: the raw ``features`` columns, ``time`` (months), ``event`` (0/1) and
        ``treated`` (1 ET+CDK4/6i, 0 ET).
    features : list of str
        Predictors, in the pre-specified order.
    penalties : sequence of float
        Grid of ridge penalties searched by cross-validation.
    n_folds : int
        Folds of the cross-validated partial likelihood.
    seed : int
        Seed of the fold assignment.
    fit_effect : bool
        Also fit the effect model (the internal-validation bootstrap of the risk model may skip it).

    Returns
    -------
    dict
        ``features`` (preprocessing spec), ``prognostic``, ``risk_benefit`` and (optionally) ``effect``
        models, each with ``coefficients`` (name -> value), ``baseline`` (cumulative hazard, Efron's rule at tied times, at the
        distinct event times, at standardised predictors 0 and treated 0) and, when penalised,
        ``penalty`` and the cross-validation curve; ``n_patients`` and ``n_events``.

    Raises
    ------
    ValueError
        If columns are missing, an arm is not ET+CDK4/6i/ET, or there are fewer than 2 events.

    References
    ----------
    Kent DM, et al. The Predictive Approaches to Treatment heterogeneity (PATH) statement.
    Ann Intern Med 2020;172:35-45.
    """
    features = list(features)
    _check_frame(frame, features)
    time = frame["time"].to_numpy(dtype=float)
    event = frame["event"].to_numpy(dtype=float)
    treated = frame["treated"].to_numpy(dtype=float)
    spec = fit_preprocessing(frame[features])
    Z = apply_preprocessing(frame[features], spec)

    data = _SortedCoxData(Z, time, event)
    cv = cv_ridge_penalty(data, None, None, penalties, n_folds=n_folds, seed=seed)
    prog = fit_ridge_cox(data, None, None, cv.best_penalty)
    lp = Z @ prog.coef
    model = {
        "n_patients": int(frame.shape[0]),
        "n_events": int(event.sum()),
        "features": spec,
        "prognostic": {
            "coefficients": {f: float(b) for f, b in zip(features, prog.coef)},
            "penalty": cv.best_penalty,
            "cv": {"penalties": cv.penalties.tolist(), "cvpl": cv.cvpl.tolist()},
            "ties": "efron",
            "converged": bool(prog.converged),
            "baseline": _baseline(Z, time, event, prog.coef),
        },
    }
    # the shrunk prognostic linear predictor enters as an offset (coefficient fixed at 1): refitting its slope
    # on the development data would undo the ridge shrinkage the cross-validation chose (issue 12, item 2)
    rb = fit_cox_efron(treated[:, None], time, event, offset=lp)
    coef_rb = np.array([float(rb.coef[0]), 1.0])
    model["risk_benefit"] = {
        "coefficients": {"treated": float(rb.coef[0]), "lp": 1.0},
        "offset": ["lp"],
        "ties": "efron",
        "converged": bool(rb.converged),
        "baseline": _baseline(np.column_stack([treated, lp]), time, event, coef_rb),
    }
    if fit_effect:
        Xe = np.column_stack([treated, Z, treated[:, None] * Z])
        names = ["treated"] + features + [f"treated:{f}" for f in features]
        factor = np.r_[0.0, np.ones(2 * len(features))]
        cve = cv_ridge_penalty(Xe, time, event, penalties, factor, n_folds=n_folds, seed=seed)
        eff = fit_ridge_cox(Xe, time, event, cve.best_penalty, factor)
        model["effect"] = {
            "coefficients": {n: float(b) for n, b in zip(names, eff.coef)},
            "penalty": cve.best_penalty,
            "unpenalised": ["treated"],
            "cv": {"penalties": cve.penalties.tolist(), "cvpl": cve.cvpl.tolist()},
            "ties": "efron",
            "converged": bool(eff.converged),
            "baseline": _baseline(Xe, time, event, eff.coef),
        }
    return model


def compute_survival_at(baseline: dict, lp, t: float) -> np.ndarray:
    """Survival at time ``t`` for linear predictors ``lp``: ``exp(-H0(t) exp(lp))``.

    ``H0`` is the stored step function (0 before the first event time, flat after the last).

    Examples
    --------
    >>> compute_survival_at({"time": [1.0, 2.0], "cumhaz": [0.5, 1.5]}, [0.0], 1.5).round(4).tolist()
    [0.6065]
    """
    times = np.asarray(baseline["time"], dtype=float)
    cumhaz = np.asarray(baseline["cumhaz"], dtype=float)
    k = np.searchsorted(times, t, side="right")
    h0 = 0.0 if k == 0 else cumhaz[k - 1]
    return np.exp(-h0 * np.exp(np.asarray(lp, dtype=float)))


def compute_rmst(baseline: dict, lp, tau: float) -> np.ndarray:
    """Restricted mean survival time up to ``tau``: the area under the step survival curve.

    Examples
    --------
    >>> compute_rmst({"time": [1.0, 2.0], "cumhaz": [0.5, 1.5]}, [0.0], 2.0).round(4).tolist()
    [1.6065]
    """
    times = np.asarray(baseline["time"], dtype=float)
    cumhaz = np.asarray(baseline["cumhaz"], dtype=float)
    keep = times < tau
    knots = np.r_[0.0, times[keep], tau]
    h = np.r_[0.0, cumhaz[keep]]
    widths = np.diff(knots)
    risk = np.exp(np.asarray(lp, dtype=float))
    # patients in blocks of about 2**20 cells: each row's sum is the same computation as on the whole
    # n x knots matrix (same bits), without a matrix of hundreds of MB at 10,000 patients
    out = np.empty(risk.shape[0])
    step = max(1, (1 << 20) // max(1, h.size))
    for i in range(0, risk.shape[0], step):
        r = risk[i:i + step, None]
        out[i:i + step] = (np.exp(-h[None, :] * r) * widths[None, :]).sum(axis=1)
    return out


def predict_from_features(model: dict, raw: pd.DataFrame, *, horizon: float, rmst_horizon: float) -> pd.DataFrame:
    """Predictions of a fitted procedure for patients with raw predictor values ``raw``.

    Parameters
    ----------
    model : dict
        Output of :func:`fit_benefit_procedure` (or the ``model`` part of a loaded artifact).
    raw : DataFrame
        Raw predictor values (NaN imputed with the stored development mean), index = patient_id.
    horizon : float
        Time (months) of predicted PFS and of the predicted benefit.
    rmst_horizon : float or None
        Restriction time (months) of the restricted mean PFS; None leaves the RMST columns out (a caller that
        reads only the survival at the horizon, e.g. the bootstrap's measures, skips their n x event-times cost).

    Returns
    -------
    DataFrame
        Index patient_id. ``lp`` (prognostic linear predictor, higher = higher risk), ``surv_t`` and
        ``risk_t`` (prognostic, arms pooled); ``surv_t_et``, ``surv_t_cdk``, ``benefit_t`` (=
        ``surv_t_cdk - surv_t_et``), ``rmst_et``, ``rmst_cdk``, ``benefit_rmst`` from the risk-based
        benefit model; the same with prefix ``effect_`` from the effect model when it was fitted.
    """
    return pd.DataFrame(_predict_from_z(model, apply_preprocessing(raw, model["features"]), horizon=horizon,
                                        rmst_horizon=rmst_horizon), index=raw.index)


def _predict_from_z(model: dict, Z, *, horizon: float, rmst_horizon) -> dict:
    """The columns of :func:`predict_from_features` (name -> array) from the preprocessed predictors ``Z``
    (:func:`~sonimage_utils.benefit.features.apply_preprocessing`), without the frame."""
    spec = model["features"]
    prog = model["prognostic"]
    beta = np.array([prog["coefficients"][s["name"]] for s in spec])
    lp = Z @ beta
    out = {"lp": np.asarray(lp, dtype=float)}  # columns collected, one frame at the end (no per-column insert)
    out["surv_t"] = compute_survival_at(prog["baseline"], lp, horizon)
    out["risk_t"] = 1 - out["surv_t"]
    rb = model["risk_benefit"]
    lp_et = rb["coefficients"]["lp"] * lp
    lp_cdk = lp_et + rb["coefficients"]["treated"]
    _add_arm_predictions(out, "", rb["baseline"], lp_et, lp_cdk, horizon, rmst_horizon)
    if "effect" in model:
        eff = model["effect"]["coefficients"]
        main = np.array([eff[s["name"]] for s in spec])
        inter = np.array([eff[f"treated:{s['name']}"] for s in spec])
        e_et = Z @ main
        e_cdk = e_et + eff["treated"] + Z @ inter
        _add_arm_predictions(out, "effect_", model["effect"]["baseline"], e_et, e_cdk, horizon, rmst_horizon)
    return out


def _add_arm_predictions(out, prefix, baseline, lp_et, lp_cdk, horizon, rmst_horizon):
    out[f"{prefix}surv_t_et"] = compute_survival_at(baseline, lp_et, horizon)
    out[f"{prefix}surv_t_cdk"] = compute_survival_at(baseline, lp_cdk, horizon)
    out[f"{prefix}benefit_t"] = out[f"{prefix}surv_t_cdk"] - out[f"{prefix}surv_t_et"]
    if rmst_horizon is None:
        return
    out[f"{prefix}rmst_et"] = compute_rmst(baseline, lp_et, rmst_horizon)
    out[f"{prefix}rmst_cdk"] = compute_rmst(baseline, lp_cdk, rmst_horizon)
    out[f"{prefix}benefit_rmst"] = out[f"{prefix}rmst_cdk"] - out[f"{prefix}rmst_et"]


def fit_for_bootstrap(frame, seed, *, features, n_folds, penalties=DEFAULT_PENALTIES, fit_effect=False):
    """:func:`fit_benefit_procedure` with the fold seed as second argument (the bootstrap's ``fit_fn``)."""
    return fit_benefit_procedure(frame, features, penalties=penalties, n_folds=n_folds, seed=seed,
                                 fit_effect=fit_effect)


def evaluate_benefit_model(model, frame, *, horizon, rmst_horizon, risk_grid, benefit_threshold,
                           cfb_seed=None) -> dict:
    """Measures of a fitted procedure on ``frame`` (the bootstrap's ``metric_fn``).

    Returns
    -------
    dict
        ``c`` (Harrell's C of the prognostic linear predictor), ``slope`` (calibration slope),
        ``calibration`` (smoothed observed risk by ``horizon`` at the predicted risks ``risk_grid``),
        ``share_below`` (share of patients whose risk-based predicted benefit at the horizon is below
        ``benefit_threshold``) and ``mean_benefit``. With ``cfb_seed`` (the seed of the 1:1 matching) also
        ``c_for_benefit`` (risk-based model) and, when the effect model was fitted, ``c_for_benefit_effect``
        (:func:`~sonimage_utils.benefit.metrics.c_for_benefit`, point estimate only).
    """
    spec = model["features"]
    Z = apply_preprocessing(frame, spec)  # reads the spec's columns only: no copy of them first
    lp = Z @ np.array([model["prognostic"]["coefficients"][s["name"]] for s in spec])
    risk = 1 - compute_survival_at(model["prognostic"]["baseline"], lp, horizon)
    rb = model["risk_benefit"]
    lp_et = rb["coefficients"]["lp"] * lp
    benefit = (compute_survival_at(rb["baseline"], lp_et + rb["coefficients"]["treated"], horizon)
               - compute_survival_at(rb["baseline"], lp_et, horizon))
    time = frame["time"].to_numpy(dtype=float)
    event = frame["event"].to_numpy(dtype=float)
    # validated once and sorted once by decreasing time: the calibration slope and the calibration curve's Cox
    # fit and baseline share that sort (same numbers as compute_harrell_c, compute_calibration_slope and
    # compute_observed_risk_curve each validating and sorting again)
    t_ok, e_ok, lp_ok = check_survival_inputs(time, event, lp, names=["lp"])
    outcome = _SortedOutcome(t_ok, e_ok)
    out = {
        "c": compute_harrell_c_from_counts(_concordance_counts(t_ok, e_ok, lp_ok)),
        "slope": _slope_or_nan(outcome, lp_ok),
        "calibration": _observed_risk_curve(time, event, risk, horizon, risk_grid, outcome),
        "share_below": float(np.mean(benefit < benefit_threshold)),
        "mean_benefit": float(np.mean(benefit)),
    }
    if cfb_seed is not None:
        treated = frame["treated"].to_numpy(dtype=float)
        out["c_for_benefit"] = c_for_benefit(benefit, treated, time, event, horizon, n_boot=0, seed=cfb_seed).c
        if "effect" in model:
            # only the benefit at the horizon is read here: no RMST columns (predictions no one reads)
            eff = _predict_from_z(model, Z, horizon=horizon, rmst_horizon=None)["effect_benefit_t"]
            out["c_for_benefit_effect"] = c_for_benefit(eff, treated, time, event, horizon, n_boot=0,
                                                        seed=cfb_seed).c
    return out


#: The per-patient predicted benefits whose bootstrap distribution gives individual intervals (issue 12 item 5).
BENEFIT_COLUMNS = ("benefit_t", "benefit_rmst", "effect_benefit_t", "effect_benefit_rmst")


def predict_benefit_columns(model, frame, *, horizon, rmst_horizon) -> dict:
    """The predicted benefits of a fitted procedure for the patients of ``frame`` (the bootstrap's ``predict_fn``).

    Returns
    -------
    dict
        Name -> array, for the names of :data:`BENEFIT_COLUMNS` that the model has (the effect model's only
        when it was fitted), from :func:`predict_from_features`.
    """
    names = [s["name"] for s in model["features"]]
    pred = predict_from_features(model, frame[names], horizon=horizon, rmst_horizon=rmst_horizon)
    return {c: pred[c].to_numpy(dtype=float) for c in BENEFIT_COLUMNS if c in pred.columns}


def _slope_or_nan(outcome, lp):
    """Calibration slope (:func:`~sonimage_utils.survival.measures.compute_calibration_slope` on the sorted
    ``outcome``), NaN when ``lp`` is constant (a model shrunk to nothing has no slope)."""
    try:
        return _calibration_slope_on(outcome, lp)["slope"]
    except ValueError:
        return float("nan")


def compute_risk_grid(predicted_risk, n_points: int = 19) -> np.ndarray:
    """Predicted risks at which calibration curves are evaluated: the 5th to 95th percentiles, evenly spaced.

    Examples
    --------
    >>> compute_risk_grid(np.linspace(0, 1, 101), 3).round(2).tolist()
    [0.05, 0.5, 0.95]
    """
    return np.quantile(np.asarray(predicted_risk, dtype=float), np.linspace(0.05, 0.95, n_points))


def bootstrap_benefit_procedure(frame: pd.DataFrame, features, *, n_folds: int, horizon: float, rmst_horizon: float,
                                risk_grid, benefit_threshold: float, n_boot: int, seed: int, n_jobs: int = 1,
                                scheduler_address=None, with_benefit_discrimination: bool = False,
                                keep_predictions: bool = False):
    """Harrell's bootstrap optimism correction of the whole procedure (:func:`fit_for_bootstrap`).

    The procedure (preprocessing, penalty by ``n_folds``-fold cross-validation, prognostic and risk-based
    benefit models) is refitted in each of ``n_boot`` resamples; the apparent fit and the resamples' folds
    use ``seed``, as do the resamples themselves. Measures: :func:`evaluate_benefit_model`.

    Parameters
    ----------
    frame : DataFrame
        Development frame (raw ``features``, ``time``, ``event``, ``treated``).
    features : list of str
    n_folds, horizon, rmst_horizon, risk_grid, benefit_threshold
        As :func:`fit_for_bootstrap` and :func:`evaluate_benefit_model`.
    n_boot, seed, n_jobs, scheduler_address
        As :func:`sonimage_utils.benefit.internal_validation.bootstrap_optimism`.
    with_benefit_discrimination : bool
        Also refit the effect model in each resample and measure the c-for-benefit of both benefit models
        (matching seeded by ``seed``), so that they are optimism-corrected by the same bootstrap.
    keep_predictions : bool
        Keep every resample model's predicted benefits for the original patients
        (:func:`predict_benefit_columns`, in ``OptimismResult.predictions``): bootstrap intervals of
        individual benefit from the same resamples and refits.

    Returns
    -------
    OptimismResult
    """
    fit_fn = functools.partial(fit_for_bootstrap, features=list(features), n_folds=n_folds,
                               fit_effect=with_benefit_discrimination)
    metric_fn = functools.partial(evaluate_benefit_model, horizon=horizon, rmst_horizon=rmst_horizon,
                                  risk_grid=risk_grid, benefit_threshold=benefit_threshold,
                                  cfb_seed=seed if with_benefit_discrimination else None)
    predict_fn = (functools.partial(predict_benefit_columns, horizon=horizon, rmst_horizon=rmst_horizon)
                  if keep_predictions else None)
    return bootstrap_optimism(frame, fit_fn, metric_fn, n_boot=n_boot, seed=seed, fit_seed=seed, n_jobs=n_jobs,
                              scheduler_address=scheduler_address, predict_fn=predict_fn)


def derive_penalty_cv_table(part: dict, *, n_folds: int, seed: int) -> pd.DataFrame:
    """The cross-validation curve stored in a fitted model part (``model["prognostic"]``): penalty, cvpl, selected.

    Examples
    --------
    >>> part = {"cv": {"penalties": [1.0, 10.0], "cvpl": [-5.0, -4.0]}, "penalty": 10.0}
    >>> derive_penalty_cv_table(part, n_folds=10, seed=1)["selected"].tolist()
    [False, True]
    """
    cv = part["cv"]
    return PenaltyCVResult(np.array(cv["penalties"]), np.array(cv["cvpl"]), part["penalty"], n_folds, seed).summary
