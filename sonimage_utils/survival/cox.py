"""Cox proportional hazards models (Efron ties) with explicit status instead of deep library errors.

Statistics layer: :func:`fit_cox` builds a treatment-coded design from a small formula, checks that every
coefficient is identifiable (a group without events has no finite hazard ratio), fits with lifelines
:class:`~lifelines.CoxPHFitter` (Efron ties) and returns a :class:`CoxResult` whose ``.summary`` has Wald
95% CIs and two-sided p-values computed as R ``summary.coxph`` does. Nested models are compared with
:func:`compute_lr_test`; linear combinations (e.g. the treatment effect within a subgroup of an interaction
model) with :meth:`CoxResult.contrast`.

The fit wraps lifelines rather than re-implementing it; what is added by hand is the design matrix
(R-style treatment coding with chosen reference levels, so term names and reference levels are explicit)
and the pre-fit checks, which lifelines does not make (it warns about convergence after the fact).

References
----------
Efron B. The efficiency of Cox's likelihood function for censored data. JASA 1977;72:557-565.
Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model. Springer 2000.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from scipy import stats

from sonimage_utils.survival.design import _parse, build_design

__all__ = ["CoxResult", "build_design", "fit_cox", "compute_lr_test", "extract_hr"]

_MAX_ABS_COEF = 15.0  # |log HR| beyond this signals a monotone likelihood (HR -> 0 or infinity)


@dataclass
class CoxResult:
    """A fitted (or not fittable) Cox model.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per coefficient: ``term`` (model term), ``name`` (column, e.g. ``arm[ET+CDK4/6i]``),
        ``coef``, ``se``, ``hr``, ``hr_ci_low``, ``hr_ci_high``, ``z``, ``p``; NaN where not estimable.
    status : str
        ``"ok"``, ``"not_identifiable"``, ``"not_converged"`` or ``"no_events"``.
    messages : list of str
        Why the status is not ``"ok"``, and warnings (e.g. a group of one patient).
    formula : str
    n, n_events : int
    loglik : float
        Maximised log partial likelihood (NaN when not fitted).
    vcov : pandas.DataFrame
        Variance-covariance matrix of the coefficients.
    terms : dict of str to list of str
        Model term -> its design columns (R ``assign``).
    design : pandas.DataFrame
        Design matrix with the time and event columns ``_time`` and ``_event``.
    reference : dict
        Reference level of every categorical variable.
    conf_level : float
    """

    summary: pd.DataFrame
    status: str
    messages: list = field(default_factory=list)
    formula: str = ""
    n: int = 0
    n_events: int = 0
    loglik: float = float("nan")
    vcov: pd.DataFrame | None = None
    terms: dict = field(default_factory=dict)
    design: pd.DataFrame | None = None
    reference: dict = field(default_factory=dict)
    conf_level: float = 0.95

    @property
    def ok(self) -> bool:
        """True when the model was fitted and every coefficient is estimable."""
        return self.status == "ok"

    @property
    def message(self) -> str:
        """All messages as one sentence (empty when there are none)."""
        return " ".join(self.messages)

    def contrast(self, weights: dict) -> dict:
        """Estimate a linear combination of coefficients, e.g. arm + arm:group for a subgroup HR.

        Parameters
        ----------
        weights : dict of str to float
            Design column name -> weight; absent columns weigh 0.

        Returns
        -------
        dict
            ``coef``, ``se``, ``hr``, ``hr_ci_low``, ``hr_ci_high``, ``z``, ``p`` (NaN when not fitted).

        Raises
        ------
        ValueError
            If a name is not a design column.
        """
        names = list(self.summary["name"])
        unknown = [k for k in weights if k not in names]
        if unknown:
            raise ValueError(f"not coefficients of this model: {unknown}; known: {names}")
        w = np.array([float(weights.get(k, 0.0)) for k in names])
        if not self.ok:
            return _wald(np.nan, np.nan, self.conf_level)
        est = float(w @ self.summary["coef"].to_numpy())
        se = float(np.sqrt(w @ self.vcov.to_numpy() @ w))
        return _wald(est, se, self.conf_level)


def _wald(coef: float, se: float, conf_level: float) -> dict:
    z_crit = stats.norm.ppf(0.5 + conf_level / 2)
    z = coef / se if se and np.isfinite(se) else np.nan
    return {"coef": coef, "se": se, "hr": np.exp(coef), "hr_ci_low": np.exp(coef - z_crit * se),
            "hr_ci_high": np.exp(coef + z_crit * se), "z": z,
            "p": 2 * stats.norm.sf(abs(z)) if np.isfinite(z) else np.nan}


def _identifiability(design: pd.DataFrame, event: np.ndarray) -> tuple[list, list]:
    """Problems that make a coefficient infinite or undefined, and warnings (tiny groups)."""
    problems, notes = [], []
    for name in design.columns:
        x = design[name].to_numpy()
        if np.all(x == x[0]):
            problems.append(f"'{name}' takes one value only in these data, so its effect cannot be estimated.")
            continue
        if np.isin(x, [0.0, 1.0]).all():
            for val, label in ((1.0, f"'{name}'"), (0.0, f"The comparison group of '{name}'")):
                n_in, ev_in = int((x == val).sum()), int(event[x == val].sum())
                if ev_in == 0:
                    problems.append(f"{label} ({n_in} patients) has no events, so the hazard ratio is not "
                                    "estimable (its estimate tends to zero or infinity).")
                elif n_in == 1:
                    notes.append(f"{label} has a single patient; its hazard ratio rests on one observation.")
    if not problems and np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        problems.append("The design columns are collinear (a level combination is empty or redundant).")
    return problems, notes


def _empty_cells(data: pd.DataFrame, event: str, interactions: list) -> list:
    """Combinations of categorical levels in an interaction without events (their coefficient is infinite)."""
    problems = []
    for t in interactions:
        counts = data.groupby(list(t), observed=True)[event].agg(["size", "sum"])
        for cell, row in counts.iterrows():
            if row["sum"] == 0:
                cell = cell if isinstance(cell, tuple) else (cell,)
                label = ", ".join(f"{v} = {c}" for v, c in zip(t, cell))
                problems.append(f"The subgroup {label} ({int(row['size'])} patients) has no events, so the "
                                "interaction is not estimable.")
    return problems


def fit_cox(df: pd.DataFrame, formula: str, *, time: str = "pfs1_months", event: str = "pfs1_event",
            reference: dict | None = None, conf_level: float = 0.95, max_steps: int = 50,
            strata: str | list | None = None, entry: str | None = None) -> CoxResult:
    """Fit a Cox model with Efron ties; never raises for data problems, reports them in ``status``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient; rows with missing values in the used columns are left out (counted in
        ``messages``).
    formula : str
        Right-hand side, e.g. ``"het_group + arm"``, ``"het_group * arm"`` (see :func:`build_design`).
    time, event : str
        Time (months) and event (1/0) columns.
    reference : dict, optional
        Reference level per categorical variable, e.g. ``{"het_group": "homogeneous", "arm": "ET"}``.
    conf_level : float
        Level of the Wald confidence intervals.
    max_steps : int
        Newton-Raphson iterations before the fit is declared not converged.
    strata : str or list of str, optional
        Stratification column(s): a separate baseline hazard per stratum, common coefficients (R
        ``+ strata(centre)``). A stratum without events contributes nothing and does not stop the fit.
    entry : str, optional
        Entry-time column for counting-process ``(entry, time]`` rows (R ``Surv(tstart, tstop, event)``),
        e.g. the episodes of :func:`~sonimage_utils.survival.piecewise.derive_episodes`; ``n`` then counts
        rows, not patients.

    Returns
    -------
    CoxResult

    Raises
    ------
    ValueError
        For programming errors only: unknown columns, unknown reference level, bad ``conf_level``.

    References
    ----------
    R ``coxph(Surv(time, event) ~ formula, ties = "efron")`` (the default); fixtures in
    ``tests/reference/survival``.

    Examples
    --------
    >>> d = pd.DataFrame({"pfs1_months": [1, 2, 3, 4, 5, 6], "pfs1_event": [1, 1, 1, 1, 0, 1],
    ...                   "arm": ["ET", "ET+CDK4/6i"] * 3})
    >>> fit_cox(d, "arm", reference={"arm": "ET"}).status
    'ok'
    """
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must lie between 0 and 1")
    variables = sorted({v for t in _parse(formula) for v in t})
    strata = [strata] if isinstance(strata, str) else list(strata or [])
    extra = ([entry] if entry is not None else []) + [c for c in strata if c not in variables]
    for c in [time, event, *variables, *extra]:
        if c not in df.columns:
            raise ValueError(f"column {c!r} is not in the data")
    data = df[[time, event, *variables, *extra]].dropna()
    messages = []
    if len(data) < len(df):
        messages.append(f"{len(df) - len(data)} patients with missing values were left out.")
    design, terms, refs = build_design(data, formula, reference)
    problems = [f"'{v}' takes one value only in these data ({refs[v]!r}), so its effect cannot be estimated."
                for v in refs if data[v].nunique() < 2]
    problems += _empty_cells(data, event, [t for t in _parse(formula) if len(t) > 1 and all(v in refs for v in t)])
    t = data[time].to_numpy(float)
    e = data[event].to_numpy(float)
    names = list(design.columns)
    empty = pd.DataFrame({"term": [lab for lab, cs in terms.items() for _ in cs], "name": names,
                          **{k: np.nan for k in ["coef", "se", "hr", "hr_ci_low", "hr_ci_high", "z", "p"]}})
    frame = design.assign(_time=t, _event=e)
    fit_args = {}
    if entry is not None:
        frame["_entry"] = data[entry].to_numpy(float)
        fit_args["entry_col"] = "_entry"
    if strata:
        for j, c in enumerate(strata):
            frame[f"_stratum{j}"] = data[c].astype(str).to_numpy()
        fit_args["strata"] = [f"_stratum{j}" for j in range(len(strata))]
    base = dict(formula=formula, n=len(data), n_events=int(e.sum()), terms=terms, design=frame, reference=refs,
                conf_level=conf_level)
    if e.sum() == 0:
        return CoxResult(empty, "no_events", messages + ["There are no events: no model can be fitted."], **base)
    more, notes = _identifiability(design, e)
    problems += more
    messages += notes
    if problems:
        return CoxResult(empty, "not_identifiable", messages + problems, **base)
    cph = CoxPHFitter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph.fit(frame, duration_col="_time", event_col="_event", **fit_args,
                    fit_options={"precision": 1e-20, "r_precision": 1e-15, "max_steps": max_steps})
        except (ConvergenceError, np.linalg.LinAlgError) as err:
            return CoxResult(empty, "not_converged", messages + [f"The model did not converge: {err}".split("\n")[0]],
                             **base)
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    coef = cph.params_.reindex(names).to_numpy(float)
    vcov = cph.variance_matrix_.reindex(index=names, columns=names)
    se = np.sqrt(np.diag(vcov.to_numpy()))
    rows = [{"term": lab, "name": nm, **_wald(c, s, conf_level)}
            for (lab, nm), c, s in zip(empty[["term", "name"]].itertuples(index=False), coef, se)]
    summary = pd.DataFrame(rows)
    status = "ok"
    if np.any(np.abs(coef) > _MAX_ABS_COEF) or not np.all(np.isfinite(se)):
        status = "not_identifiable"
        messages.append("A coefficient diverged (monotone likelihood): the hazard ratio is not estimable.")
    for w in convergence:
        text = re.sub(r"\s+", " ", str(w.message)).split(". ")[0].rstrip(".")
        if "failed to converge" in text.lower():
            status = "not_converged"
            messages.append(f"The model did not converge in {max_steps} Newton-Raphson steps (lifelines: {text}).")
        else:
            messages.append(f"lifelines: {text}.")
    if status != "ok":
        summary.loc[:, ["coef", "se", "hr", "hr_ci_low", "hr_ci_high", "z", "p"]] = np.nan
    return CoxResult(summary, status, messages, loglik=float(cph.log_likelihood_), vcov=vcov, **base)


def compute_lr_test(reduced: CoxResult, full: CoxResult) -> dict:
    """Likelihood-ratio test of nested Cox models (R ``anova(reduced, full)``).

    Parameters
    ----------
    reduced, full : CoxResult
        Fitted on the same patients; ``reduced``'s columns a subset of ``full``'s.

    Returns
    -------
    dict
        ``statistic`` (2 x difference in log partial likelihood), ``df``, ``p``, ``message``; NaN values
        with a message when either model is not ``ok``.

    Raises
    ------
    ValueError
        If the models are not nested or were fitted on different patients.
    """
    extra = [c for c in full.summary["name"] if c not in set(reduced.summary["name"])]
    if set(reduced.summary["name"]) - set(full.summary["name"]):
        raise ValueError("the reduced model has coefficients the full model lacks: not nested")
    if reduced.n != full.n:
        raise ValueError(f"models fitted on different numbers of patients ({reduced.n} vs {full.n})")
    if not (reduced.ok and full.ok):
        bad = reduced if not reduced.ok else full
        return {"statistic": np.nan, "df": len(extra), "p": np.nan,
                "message": f"LR test not computed: model {bad.formula!r} is {bad.status}. {bad.message}"}
    stat = max(2.0 * (full.loglik - reduced.loglik), 0.0)
    return {"statistic": stat, "df": len(extra), "p": float(stats.chi2.sf(stat, len(extra))), "message": ""}


def extract_hr(result: CoxResult, name: str, label: str | None = None) -> dict:
    """One coefficient of a fit as a flat row, for sensitivity and forest tables.

    Parameters
    ----------
    result : CoxResult
    name : str
        Design column, e.g. ``"het_group[heterogeneous]"``.
    label : str, optional
        Row label (default ``name``).

    Returns
    -------
    dict
        ``label``, ``n``, ``n_events``, ``hr``, ``hr_ci_low``, ``hr_ci_high``, ``p``, ``status``, ``message``;
        NaN estimates when the model is not ``ok``.

    Raises
    ------
    ValueError
        If ``name`` is not a coefficient of a fitted (``ok``) model. For a model that is not ``ok`` a missing
        coefficient (e.g. a level absent from the data) gives NaN estimates and the model's message.
    """
    names = list(result.summary["name"])
    if name not in names:
        if result.ok:
            raise ValueError(f"{name!r} is not a coefficient of {result.formula!r}; coefficients: {names}")
        # a level absent from the data has no column; the model already says why it is not estimable
        row = pd.Series({"hr": np.nan, "hr_ci_low": np.nan, "hr_ci_high": np.nan, "p": np.nan})
    else:
        row = result.summary.set_index("name").loc[name]
    return {"label": label or name, "n": result.n, "n_events": result.n_events, "hr": row["hr"],
            "hr_ci_low": row["hr_ci_low"], "hr_ci_high": row["hr_ci_high"], "p": row["p"], "status": result.status,
            "message": result.message}
