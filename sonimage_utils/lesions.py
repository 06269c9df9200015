"""Objective 3: lesion-level response against lesion FES/FDG uptake, and per-patient response by group.

One job per function: :func:`build_lesion_response_set` joins each target lesion's best % change (from
:func:`sonimage_utils.recist.assess`) with its baseline FES/FDG uptake; :func:`fit_lesion_lmm` fits a linear
mixed model with a random intercept per patient (statsmodels ``MixedLM``, REML); :func:`fit_lesion_gee` fits a
logistic GEE with exchangeable working correlation and robust (sandwich) SEs for the binary lesion response;
:func:`compute_orr` gives the objective response rate per group with the exact (Clopper-Pearson) 95% CI and
:func:`compare_orr_fisher` Fisher's exact test between two groups. Checked against R (``lme4::lmer``,
``geepack::geeglm``, ``binom.test``, ``fisher.test``) in ``tests/reference/lesion_models/``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from sonimage_utils.derive.heterogeneity import derive_lesion_fes_status

__all__ = [
    "ORGAN_GROUPS",
    "LesionModelResult",
    "build_lesion_response_set",
    "derive_lesion_response_by_fes_status",
    "fit_lesion_lmm",
    "fit_lesion_gee",
    "compute_orr",
    "compare_orr_fisher",
    "FES_FORMS",
    "compute_rcs_basis",
    "derive_fes_form_terms",
    "compute_fes_form_selection",
    "fit_sod_slope_lmm",
    "compute_joint_wald",
    "fit_orr_logistic",
]

#: Organ -> organ group for the lesion models (bone is a RECIST target only as a lytic or mixed lesion with a soft-tissue
#: component of 10 mm or more); first group is the reference.
ORGAN_GROUPS = {"lymph_node": "lymph_node", "lung": "lung", "liver": "liver", "pleura": "other",
                "soft_tissue": "other", "breast": "other", "brain": "other", "other": "other", "bone": "other"}
_Z = stats.norm.ppf(0.975)


@dataclass
class LesionModelResult:
    """Fitted lesion model.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per fixed effect: ``term``, ``estimate``, ``std_error``, ``ci_low``, ``ci_high`` (Wald 95%),
        ``p_value``; the GEE adds ``odds_ratio``, ``or_ci_low``, ``or_ci_high``.
    n_obs, n_groups : int
        Lesions and patients used (complete cases).
    n_dropped : int
        Lesions left out for a missing outcome or covariate.
    method : str
    extra : dict
        Variance components (LMM: ``var_patient``, ``var_residual``, ``icc``) or the working correlation
        (GEE: ``alpha``); ``converged``; ``warnings`` (messages caught from statsmodels).
    """

    summary: pd.DataFrame
    n_obs: int
    n_groups: int
    n_dropped: int
    method: str
    extra: dict = field(default_factory=dict)

    def coef(self, term: str) -> pd.Series:
        """The summary row of ``term``."""
        return self.summary.set_index("term").loc[term]


def build_lesion_response_set(assessment, lesions: pd.DataFrame, patients: pd.DataFrame | None = None, *,
                              fes_threshold: float, fes_excluded_organs, response_threshold: float) -> pd.DataFrame:
    """One row per RECIST target lesion with its best % change and baseline FES/FDG uptake.

    Parameters
    ----------
    assessment : RecistAssessment
        From :func:`sonimage_utils.recist.assess`.
    lesions : pandas.DataFrame
        The contract's lesions.csv (``organ``, ``fes_suvmax``, ``fdg_suvmax``).
    patients : pandas.DataFrame, optional
        Patient table to merge in (e.g. ``arm``, ``het_group`` from ``build_analysis_set``).
    fes_threshold, fes_excluded_organs
        FES positivity (see :func:`sonimage_utils.derive.heterogeneity.derive_lesion_fes_status`).
    response_threshold : float
        Best % change at or below which a lesion responds (the SAP's ``lesion_response_threshold_pct``,
        the RECIST partial-response cut-off applied per lesion).

    Returns
    -------
    pandas.DataFrame
        ``assessment.lesions`` plus ``organ``, ``organ_group``, ``fes_suvmax``, ``fdg_suvmax``,
        ``fes_status``, ``fes_suvmax_assessable`` (NaN where FES is not assessable, e.g. liver),
        ``responding`` (float 1/0, NaN when the best % change is missing), dummies ``organ_<group>`` for the
        non-reference organ groups present, and the patient columns.

    Raises
    ------
    ValueError
        If a target lesion is missing from ``lesions``.
    """
    les = derive_lesion_fes_status(lesions, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs)
    les = les.assign(patient_id=les["patient_id"].astype(str), lesion_id=les["lesion_id"].astype(str))
    keep = ["patient_id", "lesion_id", "organ", "fes_suvmax", "fdg_suvmax", "fes_status", "fes_assessable"]
    base = assessment.lesions.drop(columns=[c for c in ("organ",) if c in assessment.lesions.columns])
    out = base.merge(les[keep], on=["patient_id", "lesion_id"], how="left", validate="one_to_one",
                     indicator=True)
    lost = out["_merge"] != "both"
    if lost.any():
        row = out[lost].iloc[0]
        raise ValueError(f"target lesion not in lesions (patient_id={row['patient_id']}, "
                         f"lesion_id={row['lesion_id']}, rule=foreign_key)")
    out = out.drop(columns="_merge")
    for col in ("fes_suvmax", "fdg_suvmax"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["fes_suvmax_assessable"] = out["fes_suvmax"].where(out["fes_assessable"].astype(bool))
    out["organ_group"] = out["organ"].map(ORGAN_GROUPS).fillna("other")
    groups = [g for g in dict.fromkeys(ORGAN_GROUPS.values()) if g in set(out["organ_group"])]
    for g in groups[1:]:
        out[f"organ_{g}"] = (out["organ_group"] == g).astype(float)
    out["responding"] = np.where(out["best_pct_change"].isna(), np.nan,
                                 (out["best_pct_change"] <= response_threshold + 1e-9).astype(float))
    if patients is not None:
        pat = patients.assign(patient_id=patients["patient_id"].astype(str))
        pat = pat.drop(columns=[c for c in pat.columns if c in out.columns and c != "patient_id"])
        out = out.merge(pat, on="patient_id", how="left", validate="many_to_one")
    return out


def derive_lesion_response_by_fes_status(lesions: pd.DataFrame) -> pd.DataFrame:
    """Target lesions with a best % change by FES status: lesions, patients, median best change, share responding.

    Parameters
    ----------
    lesions : pandas.DataFrame
        From :func:`build_lesion_response_set` (``fes_status``, ``lesion_id``, ``patient_id``,
        ``best_pct_change``, ``responding``).

    Returns
    -------
    pandas.DataFrame
        One row per FES status present, in the order positive, negative, not assessable: ``fes_status``,
        ``lesions``, ``patients``, ``median_best_pct_change``, ``responding`` (proportion).

    Raises
    ------
    ValueError
        If a column is missing.

    Examples
    --------
    >>> d = pd.DataFrame({"fes_status": ["positive", "positive", "negative"], "lesion_id": ["a", "b", "c"],
    ...                   "patient_id": ["1", "1", "2"], "best_pct_change": [-40.0, -10.0, 5.0],
    ...                   "responding": [1.0, 0.0, 0.0]})
    >>> derive_lesion_response_by_fes_status(d)[["fes_status", "lesions", "responding"]].to_dict("list")
    {'fes_status': ['positive', 'negative'], 'lesions': [2.0, 1.0], 'responding': [0.5, 0.0]}
    """
    need = {"fes_status", "lesion_id", "patient_id", "best_pct_change", "responding"}
    if need - set(lesions.columns):
        raise ValueError(f"lesions lacks column(s) {sorted(need - set(lesions.columns))}")
    return (lesions[lesions["best_pct_change"].notna()].groupby("fes_status")
            .agg(lesions=("lesion_id", "size"), patients=("patient_id", "nunique"),
                 median_best_pct_change=("best_pct_change", "median"), responding=("responding", "mean"))
            .reindex(["positive", "negative", "not_assessable"]).dropna(how="all").reset_index())


def _design(data: pd.DataFrame, outcome: str, covariates, group: str):
    cols = [outcome, *covariates, group]
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks column(s) {missing}")
    used = data[cols].dropna()
    X = used[list(covariates)].astype(float)
    X = X.loc[:, X.std(ddof=0) > 0].copy() if len(X) else X
    dropped = [c for c in covariates if c not in X.columns]
    X.insert(0, "Intercept", 1.0)
    if len(used) <= X.shape[1] or used[group].nunique() < 2:
        raise ValueError(f"too few complete lesions ({len(used)}) or patients ({used[group].nunique()}) to fit")
    return used, used[outcome].astype(float), X, dropped


def _wald(names, params, se) -> pd.DataFrame:
    params, se = np.asarray(params, float), np.asarray(se, float)
    z = params / se
    return pd.DataFrame({"term": list(names), "estimate": params, "std_error": se,
                         "ci_low": params - _Z * se, "ci_high": params + _Z * se,
                         "p_value": 2 * stats.norm.sf(np.abs(z))})


def _gls_cov(X: np.ndarray, groups: np.ndarray, var_u: float, var_e: float) -> np.ndarray:
    """(X' V^-1 X)^-1 for V = var_e I + var_u J within each group: the covariance of the fixed effects
    given the REML variance estimates (what ``vcov`` of lme4 reports; statsmodels' ``cov_params`` uses the
    joint Hessian with the variance parameters, which differs in finite samples)."""
    # V^-1 = (I - var_u / (var_e + m var_u) J) / var_e  (Sherman-Morrison), summed over groups at once:
    # X'V^-1X = (X'X - sum_g w_g s_g s_g') / var_e with s_g the column sums of group g: O(n), no loop.
    _, inv, m = np.unique(groups, return_inverse=True, return_counts=True)
    sums = np.zeros((len(m), X.shape[1]))
    np.add.at(sums, inv, X)
    w = var_u / (var_e + m * var_u)
    info = (X.T @ X - (sums * w[:, None]).T @ sums) / var_e
    return np.linalg.inv(info)


def fit_lesion_lmm(data: pd.DataFrame, outcome: str = "best_pct_change",
                   covariates=("fes_suvmax_assessable", "fdg_suvmax"), group: str = "patient_id", *,
                   reml: bool = True) -> LesionModelResult:
    """Linear mixed model of lesion % change with a random intercept per patient (REML, or ML).

    ``outcome ~ covariates + (1 | group)``, fitted by statsmodels ``MixedLM`` with REML, complete cases.
    Covariates without variation among the complete cases are left out (reported in ``extra``).

    Parameters
    ----------
    data : pandas.DataFrame
        From :func:`build_lesion_response_set`.
    outcome : str
    covariates : sequence of str
        Numeric columns (organ enters through the ``organ_<group>`` dummies).
    group : str
        Cluster (patient) column.
    reml : bool
        REML (True, the reported fits) or maximum likelihood (False: for comparing fixed-effect structures
        by AIC, :func:`compute_fes_form_selection`).

    Returns
    -------
    LesionModelResult
        Fixed-effect SEs from (X' V^-1 X)^-1 at the REML variance estimates (as ``lme4``), Wald 95% CIs
        (normal); ``extra`` holds ``var_patient``, ``var_residual``, ``icc``, ``converged``,
        ``dropped_covariates``, any statsmodels warnings, the log-likelihood (``reml_loglik`` for REML,
        ``ml_loglik`` for ML) and, for ML, ``aic`` (fixed effects + 2 variance parameters).

    Raises
    ------
    ValueError
        On missing columns or too few complete cases.

    References
    ----------
    Laird NM, Ware JH. Random-effects models for longitudinal data. Biometrics 1982;38:963-74.
    Bates D, et al. Fitting linear mixed-effects models using lme4. J Stat Softw 2015;67(1).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"patient_id": np.repeat(np.arange(30), 3), "x": rng.normal(size=90)})
    >>> d["y"] = 2 * d["x"] + np.repeat(rng.normal(size=30), 3) + rng.normal(size=90)
    >>> fit = fit_lesion_lmm(d, "y", ["x"])
    >>> bool(abs(fit.coef("x")["estimate"] - 2) < 0.3)
    True
    """
    used, y, X, dropped = _design(data, outcome, covariates, group)
    model = sm.MixedLM(y.to_numpy(), X, groups=used[group].astype(str).to_numpy())
    res, caught = None, []
    for method in ("bfgs", "powell", "nm"):  # the next optimiser only if one fails or does not converge
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", RuntimeWarning)
            try:
                res = model.fit(reml=reml, method=method)
            except np.linalg.LinAlgError as err:
                caught.append(f"{method}: {err}")
                continue
            caught += [f"{method}: {x.message}" for x in w]
        if res.converged:
            break
    if res is None:
        raise ValueError(f"the mixed model could not be fitted: {caught}")
    var_u, var_e = float(res.cov_re.iloc[0, 0]), float(res.scale)
    cov_fe = _gls_cov(X.to_numpy(), used[group].astype(str).to_numpy(), var_u, var_e)
    summary = _wald(X.columns, res.fe_params, np.sqrt(np.diag(cov_fe)))
    extra = {"var_patient": var_u, "var_residual": var_e, "icc": var_u / (var_u + var_e),
             "converged": bool(res.converged), "dropped_covariates": dropped, "warnings": caught,
             "cov": pd.DataFrame(cov_fe, index=X.columns, columns=X.columns),
             ("reml_loglik" if reml else "ml_loglik"): float(res.llf)}
    if not reml:
        extra["aic"] = -2 * float(res.llf) + 2 * (X.shape[1] + 2)
    return LesionModelResult(summary, len(used), used[group].nunique(), len(data) - len(used),
                             f"MixedLM, {'REML' if reml else 'ML'}, random intercept per patient", extra)


def fit_lesion_gee(data: pd.DataFrame, outcome: str = "responding",
                   covariates=("fes_suvmax_assessable", "fdg_suvmax"), group: str = "patient_id") -> LesionModelResult:
    """Logistic GEE for lesion response with exchangeable working correlation and robust SEs.

    The exchangeable correlation is estimated by moments with no degrees-of-freedom correction
    (``ddof_scale=0``), as ``geepack::geeglm`` does, so that both give the same estimates.

    Parameters
    ----------
    data : pandas.DataFrame
        From :func:`build_lesion_response_set` (``responding`` 1/0).
    outcome : str
    covariates : sequence of str
    group : str

    Returns
    -------
    LesionModelResult
        Log-odds ``estimate`` with robust (sandwich) SE and Wald 95% CI, plus ``odds_ratio``; ``extra`` holds
        the working correlation ``alpha``.

    Raises
    ------
    ValueError
        On missing columns, too few complete cases, or an outcome that is not 0/1.

    References
    ----------
    Liang KY, Zeger SL. Longitudinal data analysis using generalized linear models. Biometrika 1986;73:13-22.
    Halekoh U, Hojsgaard S, Yan J. The R package geepack. J Stat Softw 2006;15(2).
    """
    used, y, X, dropped = _design(data, outcome, covariates, group)
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError(f"{outcome} must be 0/1 for the logistic GEE")
    order = np.argsort(used[group].astype(str).to_numpy(), kind="stable")
    model = sm.GEE(y.to_numpy()[order], X.iloc[order], groups=used[group].astype(str).to_numpy()[order],
                   family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", ConvergenceWarning)
        res = model.fit(cov_type="robust", ddof_scale=0, maxiter=100, ctol=1e-10)
        caught = [str(x.message) for x in w]
    summary = _wald(X.columns, res.params, res.bse)
    summary["odds_ratio"] = np.exp(summary["estimate"])
    summary["or_ci_low"] = np.exp(summary["ci_low"])
    summary["or_ci_high"] = np.exp(summary["ci_high"])
    extra = {"alpha": float(np.asarray(model.cov_struct.dep_params).ravel()[0]),
             "converged": not any("converge" in c.lower() for c in caught), "dropped_covariates": dropped,
             "warnings": caught, "n_responding": int(y.sum())}
    return LesionModelResult(summary, len(used), used[group].nunique(), len(data) - len(used),
                             "GEE, logit link, exchangeable, robust SE", extra)


def compute_orr(best: pd.DataFrame, group: str | None = "het_group", *, responders=("CR", "PR"),
                alpha: float = 0.05) -> pd.DataFrame:
    """Objective response rate with the exact (Clopper-Pearson) confidence interval, per group.

    Parameters
    ----------
    best : pandas.DataFrame
        One row per patient with ``best_overall_response`` (and ``group``).
    group : str or None
        Grouping column; None for the whole table. Rows with a missing group are left out.
    responders : tuple of str
        Responses counted as objective response.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``n``, ``n_responders``, ``orr`` (proportion), ``ci_low``, ``ci_high``; categorical group
        order is kept.

    References
    ----------
    Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the binomial.
    Biometrika 1934;26:404-13.

    Examples
    --------
    >>> b = pd.DataFrame({"best_overall_response": ["PR", "SD", "CR", "PD"], "g": ["a", "a", "b", "b"]})
    >>> compute_orr(b, "g")[["group", "n", "n_responders", "orr"]].to_dict("list")
    {'group': ['a', 'b'], 'n': [2, 2], 'n_responders': [1, 1], 'orr': [0.5, 0.5]}
    """
    if "best_overall_response" not in best.columns:
        raise ValueError("best lacks column 'best_overall_response'")
    b = best.assign(_all="all") if group is None else best
    key = "_all" if group is None else group
    if key not in b.columns:
        raise ValueError(f"best lacks column {key!r}")
    b = b[b[key].notna()]
    rows = []
    levels = (list(b[key].cat.categories) if isinstance(b[key].dtype, pd.CategoricalDtype)
              else sorted(b[key].unique(), key=str))
    for lev in levels:
        sub = b[b[key] == lev]
        n = len(sub)
        r = int(sub["best_overall_response"].isin(responders).sum())
        low, high = proportion_confint(r, n, alpha=alpha, method="beta") if n else (np.nan, np.nan)
        rows.append({"group": lev, "n": n, "n_responders": r, "orr": r / n if n else np.nan,
                     "ci_low": float(low), "ci_high": float(high)})
    return pd.DataFrame(rows, columns=["group", "n", "n_responders", "orr", "ci_low", "ci_high"])


def compare_orr_fisher(orr: pd.DataFrame) -> dict:
    """Fisher's exact test of objective response between the two groups of :func:`compute_orr`.

    Parameters
    ----------
    orr : pandas.DataFrame
        Two rows (reference group first) with ``n`` and ``n_responders``.

    Returns
    -------
    dict
        ``p_value`` (two-sided), ``odds_ratio`` (conditional maximum likelihood, as R ``fisher.test``), its
        exact 95% ``ci_low``/``ci_high``, and ``table`` (2x2, rows = groups, columns = responders,
        non-responders). The odds ratio compares the second group with the first.

    Raises
    ------
    ValueError
        If ``orr`` does not have exactly two groups.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["a", "b"], "n": [20, 20], "n_responders": [10, 3]})
    >>> round(compare_orr_fisher(t)["p_value"], 4)
    0.0407
    """
    if len(orr) != 2:
        raise ValueError(f"Fisher's exact test needs two groups, got {len(orr)}")
    r = orr["n_responders"].to_numpy(int)
    n = orr["n"].to_numpy(int)
    table = np.array([[r[0], n[0] - r[0]], [r[1], n[1] - r[1]]])
    p = float(stats.fisher_exact(table, alternative="two-sided").pvalue)
    # odds ratio of responding in group 2 vs group 1
    swapped = np.array([[table[1, 0], table[1, 1]], [table[0, 0], table[0, 1]]])
    ores = stats.contingency.odds_ratio(swapped, kind="conditional")
    ci = ores.confidence_interval(0.95)
    return {"p_value": p, "odds_ratio": float(ores.statistic), "ci_low": float(ci.low), "ci_high": float(ci.high),
            "table": table}


#: The functional forms of lesion FES SUVmax that :func:`compute_fes_form_selection` compares.
FES_FORMS = ("linear", "log", "spline")
#: Knot quantiles of the 3-knot restricted cubic spline (Harrell's default placement for 3 knots).
_RCS_QUANTILES = (0.10, 0.50, 0.90)
#: |correlation| of random intercept and slope at which the 2x2 covariance is taken as singular (boundary).
_SINGULAR_CORR = 0.99


def compute_rcs_basis(x, knots) -> np.ndarray:
    """Non-linear terms of a restricted cubic spline (Harrell's parametrisation, as ``rms::rcs``).

    Parameters
    ----------
    x : array-like
        Values (NaN kept as NaN).
    knots : sequence of float
        At least 3 increasing knots.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(x), len(knots) - 2)``: the terms that enter beside ``x`` itself, each divided by
        ``(t_k - t_1)^2`` (``Hmisc::rcspline.eval(norm=2)``); linear beyond the outer knots.

    Raises
    ------
    ValueError
        With fewer than 3 knots or knots that do not increase.

    Examples
    --------
    >>> compute_rcs_basis([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0]).ravel().round(4).tolist()
    [0.0, 0.25, 1.5, 3.0]
    """
    t = np.asarray(knots, float)
    if len(t) < 3 or np.any(np.diff(t) <= 0):
        raise ValueError(f"a restricted cubic spline needs at least 3 increasing knots, got {list(knots)}")
    x = np.asarray(x, float)
    k = len(t)

    def cube(v):
        return np.where(np.isnan(v), np.nan, np.clip(v, 0, None) ** 3)

    cols = []
    for j in range(k - 2):
        cols.append((cube(x - t[j]) - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                     + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])) / (t[k - 1] - t[0]) ** 2)
    return np.column_stack(cols)


def derive_fes_form_terms(data: pd.DataFrame, form: str, *, column: str = "fes_suvmax_assessable",
                          knots=None, interact_with: str | None = None) -> tuple[pd.DataFrame, list, list]:
    """Add the columns of lesion FES SUVmax in one functional form (and its interaction) to a lesion frame.

    Parameters
    ----------
    data : pandas.DataFrame
    form : {"linear", "log", "spline"}
        ``linear``: the column itself; ``log``: ``log2_<column>`` (the effect per doubling); ``spline``: the
        column plus the 3-knot restricted cubic spline term ``<column>_rcs1``.
    column : str
    knots : sequence of float, optional
        Spline knots (required for ``spline``).
    interact_with : str, optional
        A 0/1 column (e.g. ``treated_cdk46i``): adds ``<term>:<interact_with>`` for each FES term.

    Returns
    -------
    (pandas.DataFrame, list of str, list of str)
        The frame with the new columns, the FES terms, the interaction terms.

    Examples
    --------
    >>> d = pd.DataFrame({"fes_suvmax_assessable": [1.0, 4.0], "treated_cdk46i": [0.0, 1.0]})
    >>> out, terms, inter = derive_fes_form_terms(d, "log", interact_with="treated_cdk46i")
    >>> terms, inter, out["log2_fes_suvmax_assessable:treated_cdk46i"].tolist()
    (['log2_fes_suvmax_assessable'], ['log2_fes_suvmax_assessable:treated_cdk46i'], [0.0, 2.0])
    """
    if form not in FES_FORMS:
        raise ValueError(f"form must be one of {FES_FORMS}, got {form!r}")
    out = data.copy()
    x = out[column].astype(float)
    if form == "linear":
        terms = [column]
    elif form == "log":
        if (x <= 0).any():
            raise ValueError(f"log form needs {column} > 0; smallest value {x.min()}")
        out[f"log2_{column}"] = np.log2(x)
        terms = [f"log2_{column}"]
    else:
        if knots is None:
            raise ValueError("the spline form needs its knots")
        out[f"{column}_rcs1"] = compute_rcs_basis(x, knots)[:, 0]
        terms = [column, f"{column}_rcs1"]
    inter = []
    if interact_with is not None:
        for t in terms:
            out[f"{t}:{interact_with}"] = out[t] * out[interact_with].astype(float)
            inter.append(f"{t}:{interact_with}")
    return out, terms, inter


def compute_fes_form_selection(data: pd.DataFrame, outcome: str, covariates, *, aic_margin: float,
                               column: str = "fes_suvmax_assessable", group: str = "patient_id") -> dict:
    """The SAP's rule for the functional form of lesion FES SUVmax in the lesion models.

    The mixed model ``outcome ~ FES form + covariates + (1 | group)`` is fitted by maximum likelihood on the
    lesions complete for all forms, with FES SUVmax linear, as log2, and as a 3-knot restricted cubic spline
    (knots at the 10th, 50th and 90th percentiles of the FES-assessable lesions). The forms are taken in order
    of departure from linear (linear, log, spline): a form replaces the one chosen so far only if it lowers the
    AIC by at least ``aic_margin``. The log form is a candidate only when every SUVmax is positive.

    Parameters
    ----------
    data : pandas.DataFrame
    outcome : str
    covariates : sequence of str
        The other fixed effects (FDG SUVmax, organ dummies, arm).
    aic_margin : float
        The SAP's AIC improvement a non-linear form needs (``lesion_fes_form_aic_margin``).
    column, group : str

    Returns
    -------
    dict
        ``form`` (chosen), ``aic`` (form -> ML AIC, NaN when not a candidate), ``delta_aic`` (form -> AIC
        minus the linear AIC), ``knots``, ``n_obs``, ``reason`` (one sentence, from the numbers).
    """
    used = data.dropna(subset=[outcome, column, *covariates])
    x = used[column].astype(float)
    knots = list(np.quantile(x, _RCS_QUANTILES))
    aic = {}
    for form in FES_FORMS:
        if (form == "log" and (x <= 0).any()) or (form == "spline" and np.any(np.diff(knots) <= 0)):
            aic[form] = float("nan")
            continue
        frame, terms, _ = derive_fes_form_terms(used, form, column=column, knots=knots)
        aic[form] = fit_lesion_lmm(frame, outcome, [*terms, *covariates], group, reml=False).extra["aic"]
    delta = {f: aic[f] - aic["linear"] for f in FES_FORMS}
    form, steps = "linear", []
    for cand in FES_FORMS[1:]:  # in order of departure from linear: log (1 term), then spline (2 terms)
        if not np.isfinite(aic[cand]):
            steps.append(f"the {cand} form was not a candidate")
            continue
        gain = aic[form] - aic[cand]
        if gain >= aic_margin:
            steps.append(f"the {cand} form lowered the AIC of the {form} form by {gain:.1f}")
            form = cand
        else:
            steps.append(f"the {cand} form changed the AIC of the {form} form by {-gain:+.1f}")
    reason = (f"{'; '.join(steps)} (a form replaces the one before it only if it lowers the AIC by at least "
              f"{aic_margin:g})")
    return {"form": form, "aic": aic, "delta_aic": delta, "knots": knots, "n_obs": len(used), "reason": reason}


def compute_joint_wald(fit: LesionModelResult, terms) -> dict:
    """Joint Wald chi-square test that the fixed effects ``terms`` of a fit are all zero.

    Parameters
    ----------
    fit : LesionModelResult
        With the fixed-effect covariance in ``extra["cov"]`` (a DataFrame indexed by term).
    terms : sequence of str

    Returns
    -------
    dict
        ``chi2``, ``df``, ``p_value``.
    """
    terms = list(terms)
    b = fit.summary.set_index("term").loc[terms, "estimate"].to_numpy(float)
    v = fit.extra["cov"].loc[terms, terms].to_numpy(float)
    chi2 = float(b @ np.linalg.solve(v, b))
    return {"chi2": chi2, "df": len(terms), "p_value": float(stats.chi2.sf(chi2, len(terms)))}


def fit_sod_slope_lmm(data: pd.DataFrame, *, time: str = "months_from_baseline",
                      outcome: str = "pct_change_baseline", covariates=("heterogeneous",),
                      time_interactions=("heterogeneous",), group: str = "patient_id") -> LesionModelResult:
    """Linear mixed model of the target sum-of-diameters trajectory: random intercept and slope per patient.

    ``outcome ~ time + covariates + time:interactions + (1 + time | group)``, REML (statsmodels ``MixedLM``,
    unstructured 2x2 random-effects covariance, L-BFGS). If that model does not converge or its random-effects
    covariance is singular (a variance at zero, or an intercept-slope correlation of 0.99 or more in absolute
    value: at the boundary, where ``lme4`` reports ``isSingular``), the random slope is dropped and
    ``(1 | group)`` is fitted instead; ``extra["random_effects"]`` says which was fitted and why.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per post-baseline assessment (from ``derive_sod_trajectories``) with the patient columns.
    time, outcome : str
    covariates : sequence of str
        0/1 or numeric patient columns (main effects).
    time_interactions : sequence of str
        Columns whose product with ``time`` enters: their coefficients are slope differences
        (outcome units per time unit).
    group : str

    Returns
    -------
    LesionModelResult
        Fixed effects with SEs from (sum X_i' V_i^-1 X_i)^-1 at the REML variance estimates (as
        ``vcov`` of ``lme4``), Wald 95% CIs; ``extra``: ``random_effects``, ``re_cov`` (2x2 or 1x1),
        ``var_residual``, ``converged``, ``warnings``, ``cov``, ``reml_loglik``.

    References
    ----------
    Laird NM, Ware JH. Random-effects models for longitudinal data. Biometrics 1982;38:963-74.
    """
    frame = data.copy()
    for c in time_interactions:
        frame[f"{time}:{c}"] = frame[time].astype(float) * frame[c].astype(float)
    cov_names = [time, *covariates, *[f"{time}:{c}" for c in time_interactions]]
    used, y, X, dropped = _design(frame, outcome, cov_names, group)
    groups = used[group].astype(str).to_numpy()
    t = used[time].astype(float).to_numpy()
    attempts = [("random intercept and slope", np.column_stack([np.ones(len(t)), t])),
                ("random intercept only", np.ones((len(t), 1)))]
    res, caught, label_re, why = None, [], None, ""
    for label_re, Z in attempts:
        model = sm.MixedLM(y.to_numpy(), X, groups=groups, exog_re=Z)
        res = None
        # one optimiser for the random-slope model (a non-converging 2x2 fit is slow, O(minutes) at 10,000
        # patients, and is replaced anyway); two for the random-intercept model
        for method in (("lbfgs",) if Z.shape[1] == 2 else ("lbfgs", "bfgs")):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always", ConvergenceWarning)
                warnings.simplefilter("always", RuntimeWarning)
                try:
                    cand = model.fit(reml=True, method=method)
                except (np.linalg.LinAlgError, ValueError) as err:
                    caught.append(f"{label_re}, {method}: {err}")
                    continue
                caught += [f"{label_re}, {method}: {x.message}" for x in w]
            if cand.converged:
                res = cand
                break
        if res is None:
            why = "did not converge"
            continue
        G = np.asarray(res.cov_re, float)
        sd = np.sqrt(np.clip(np.diag(G), 0, None))
        singular = bool(np.any(sd < 1e-6 * max(1.0, float(np.sqrt(res.scale)))))
        if G.shape[0] == 2 and not singular:
            corr = G[0, 1] / (sd[0] * sd[1])
            singular = abs(corr) >= _SINGULAR_CORR
        if singular and Z.shape[1] == 2:
            why = "had a singular random-effects covariance"
            continue
        break
    if res is None:
        raise ValueError(f"the trajectory model could not be fitted: {caught}")
    G, var_e = np.asarray(res.cov_re, float), float(res.scale)
    Xa = X.to_numpy(float)
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1], True])
    info = np.zeros((Xa.shape[1], Xa.shape[1]))
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = order[a:b]
        Zi = Z[idx]
        Vi = Zi @ G @ Zi.T + var_e * np.eye(len(idx))
        Xi = Xa[idx]
        info += Xi.T @ np.linalg.solve(Vi, Xi)
    cov = np.linalg.inv(info)
    summary = _wald(X.columns, res.fe_params, np.sqrt(np.diag(cov)))
    re_note = label_re if label_re == "random intercept and slope" else (
        f"random intercept only (the model with a random slope {why})")
    extra = {"random_effects": re_note, "re_cov": G, "var_residual": var_e, "converged": bool(res.converged),
             "warnings": caught, "dropped_covariates": dropped, "reml_loglik": float(res.llf),
             "cov": pd.DataFrame(cov, index=X.columns, columns=X.columns)}
    return LesionModelResult(summary, len(used), used[group].nunique(), len(data) - len(used),
                             f"MixedLM, REML, {re_note}", extra)


def fit_orr_logistic(best: pd.DataFrame, covariates, *, responders=("CR", "PR")) -> LesionModelResult:
    """Logistic regression of objective response (CR or PR) on patient covariates (e.g. group and arm).

    Chosen over a Mantel-Haenszel odds ratio because it gives the same common odds ratio adjusted for arm,
    with a Wald CI, and extends to further covariates; maximum likelihood (statsmodels ``GLM``, as R ``glm``).

    Parameters
    ----------
    best : pandas.DataFrame
        One row per patient with ``patient_id``, ``best_overall_response`` and the 0/1 ``covariates``.
    covariates : sequence of str
    responders : tuple of str

    Returns
    -------
    LesionModelResult
        Log-odds with Wald 95% CIs, ``odds_ratio``, ``or_ci_low``, ``or_ci_high``; ``extra``:
        ``n_responding``, ``converged``, ``separation`` (True when a 2x2 cell is empty: the odds ratio is then
        not estimable).

    Examples
    --------
    >>> b = pd.DataFrame({"patient_id": range(30), "best_overall_response": ["PR", "SD", "PD", "CR", "SD", "PR"] * 5,
    ...                   "g": [0, 0, 0, 1, 1, 1] * 5, "a": [0, 1] * 15})
    >>> round(float(fit_orr_logistic(b, ["g", "a"]).coef("g")["odds_ratio"]), 3)
    3.0
    """
    frame = best.assign(_responding=best["best_overall_response"].isin(responders).astype(float))
    used, y, X, dropped = _design(frame, "_responding", list(covariates), "patient_id")
    res = sm.GLM(y.to_numpy(), X, family=sm.families.Binomial()).fit()
    summary = _wald(X.columns, res.params, res.bse)
    summary["odds_ratio"] = np.exp(summary["estimate"])
    summary["or_ci_low"] = np.exp(summary["ci_low"])
    summary["or_ci_high"] = np.exp(summary["ci_high"])
    separation = any(pd.crosstab(used[c], y).min().min() == 0 for c in X.columns[1:])
    extra = {"n_responding": int(y.sum()), "converged": bool(res.converged), "separation": bool(separation),
             "dropped_covariates": dropped}
    return LesionModelResult(summary, len(used), len(used), len(best) - len(used), "logistic regression (ML)",
                             extra)
