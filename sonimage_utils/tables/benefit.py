"""Display tables of objective 4 (the benefit model): numbers to text, no computation.

Estimates with intervals in the one style, names through the one label table. The frames saved for
authors (CSV) keep their numbers; these are the versions the book shows.
"""

from __future__ import annotations

import pandas as pd

from sonimage_utils.tables.format import format_estimate_ci, format_number, format_value
from sonimage_utils.tables.frames import format_columns
from sonimage_utils.tables.labels import label

__all__ = ["format_riley_table", "format_predictor_table", "format_coefficient_table", "format_risk_group_table",
           "format_benefit_summary", "format_optimism_table", "format_calibration_for_benefit_table",
           "format_prediction_interval_table", "format_benefit_distribution_table"]

_OPTIMISM_KINDS = {c: "estimate3" for c in ("apparent", "optimism", "corrected", "optimism_median", "optimism_sd")}


def format_riley_table(*, n_patients: int, n_events: int, event_rate: float, mean_followup: float, r2_cs: float,
                       max_parameters: dict, n_candidates: int, n_required_all: int,
                       n_required_effect: int, criterion3: dict | None = None, horizon: float | None = None,
                       risk_margin: float | None = None) -> pd.DataFrame:
    """Riley's minimum sample size criteria for a cohort: quantity, value (the table saved and shown).

    Parameters
    ----------
    max_parameters : dict
        From :func:`sonimage_utils.benefit.riley_max_parameters`.
    criterion3, horizon, risk_margin : optional
        From :func:`sonimage_utils.benefit.riley_n_criterion3`, its time point and margin: adds the patients
        needed for criterion 3 (overall risk at ``horizon`` within ``risk_margin``).

    Examples
    --------
    >>> mp = {"max_r2_cs": 0.781, "max_parameters_criterion1": 1, "max_parameters_criterion2": 3}
    >>> t = format_riley_table(n_patients=100, n_events=75, event_rate=0.04123, mean_followup=18.19, r2_cs=0.15,
    ...                        max_parameters=mp, n_candidates=11, n_required_all=604, n_required_effect=1262)
    >>> t["value"].tolist()[:5]
    ['100 / 75', '0.0412', '18.2', '0.15', '0.78']
    """
    rows = [
        ("patients / events", f"{n_patients} / {n_events}"),
        ("event rate (per person-month)", format_number(event_rate, 4)),
        ("mean follow-up (months)", format_number(mean_followup, 1)),
        ("anticipated Cox-Snell R²", format_value(r2_cs, "parameter")),
        ("max Cox-Snell R²", format_number(max_parameters["max_r2_cs"], 2)),
        ("max parameters, criterion 1 (shrinkage)", max_parameters["max_parameters_criterion1"]),
        ("max parameters, criterion 2 (R² gap)", max_parameters["max_parameters_criterion2"]),
        (f"patients needed for all {n_candidates} candidates", n_required_all),
        ("patients needed for the full effect model", n_required_effect),
    ]
    if criterion3 is not None:
        rows.append((f"patients needed for criterion 3 (risk at {format_value(horizon, 'parameter')} m, "
                     f"{format_number(criterion3['risk_at_timepoint'], 2)}, within ±{format_value(risk_margin, 'parameter')})",
                     criterion3["n_criterion3"]))
    return pd.DataFrame([{"quantity": q, "value": v} for q, v in rows])


def format_predictor_table(table: pd.DataFrame) -> pd.DataFrame:
    """Candidate predictors (``predictor``, ``definition``, ``in model``, ``missing (n)``, ``mean``) for display.

    Examples
    --------
    >>> t = pd.DataFrame({"predictor": ["hs"], "definition": ["..."], "in model": ["yes"], "missing (n)": [0],
    ...                   "mean": [80.927]})
    >>> format_predictor_table(t).loc["Heterogeneity score", "mean"]
    '80.93'
    """
    return format_columns(table, {"mean": "estimate"}, relabel_values=("predictor",), index="predictor")


def format_coefficient_table(table: pd.DataFrame, *, name: str, kinds: dict) -> pd.DataFrame:
    """A table of model coefficients: the ``name`` column relabelled and made the index, numbers by ``kinds``.

    Examples
    --------
    >>> t = pd.DataFrame({"predictor": ["hs"], "HR per SD": [0.87372]})
    >>> format_coefficient_table(t, name="predictor", kinds={"HR per SD": "estimate3"}).to_dict("index")
    {'Heterogeneity score': {'HR per SD': '0.874'}}
    """
    return format_columns(table, kinds, relabel_values=(name,), index=name)


def format_risk_group_table(groups: pd.DataFrame, t: float) -> pd.DataFrame:
    """Effect of ET+CDK4/6i by risk group (``compute_risk_group_effects``): HR and PFS difference with CIs.

    Examples
    --------
    >>> g = pd.DataFrame({"risk_group": [1], "lp_min": [-0.09], "lp_max": [-0.08], "n": [58], "n_events": [40],
    ...     "hr": [0.381], "hr_ci_low": [0.197], "hr_ci_high": [0.737], "pfs_et": [0.157], "pfs_cdk": [0.591],
    ...     "abs_benefit": [0.435], "abs_ci_low": [0.208], "abs_ci_high": [0.662], "predicted_benefit": [0.342]})
    >>> format_risk_group_table(g, 24.0).iloc[0, -3:].tolist()
    ['0.59', '0.43 (0.21 to 0.66)', '0.34']
    """
    h = format_value(t, "parameter")
    out = pd.DataFrame({
        "risk group": groups["risk_group"].to_list(),
        "linear predictor": [f"{format_number(a)} to {format_number(b)}" for a, b in zip(groups["lp_min"], groups["lp_max"])],
        "n": groups["n"].to_list(), "events": groups["n_events"].to_list(),
        "HR (95% CI)": [format_estimate_ci(e, a, b) for e, a, b in zip(groups["hr"], groups["hr_ci_low"],
                                                                        groups["hr_ci_high"])],
        f"PFS at {h} m, ET": [format_number(v) for v in groups["pfs_et"]],
        f"PFS at {h} m, ET+CDK4/6i": [format_number(v) for v in groups["pfs_cdk"]],
        "PFS difference (95% CI)": [format_estimate_ci(e, a, b) for e, a, b in
                                    zip(groups["abs_benefit"], groups["abs_ci_low"], groups["abs_ci_high"])]})
    if "predicted_benefit" in groups.columns:
        out["predicted"] = [format_number(v) for v in groups["predicted_benefit"]]
    return out.set_index("risk group")


def format_benefit_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Summary of predicted individual benefit (model, quantity, mean, min, median, max) for display."""
    return format_columns(summary, {c: "estimate3" for c in ("mean", "min", "median", "max")})


def format_optimism_table(table: pd.DataFrame, *, index: str | None = None) -> pd.DataFrame:
    """Apparent, optimism (mean, median, SD) and corrected performance, three decimals; measures labelled.

    Examples
    --------
    >>> t = pd.DataFrame({"measure": ["c"], "apparent": [0.534], "optimism": [0.0071], "corrected": [0.527],
    ...                   "optimism_median": [0.0035], "optimism_sd": [0.034]})
    >>> format_optimism_table(t, index="measure").loc["Harrell C", "corrected"]
    '0.527'
    """
    t = table.assign(measure=[{"c": "harrell_c", "slope": "calibration_slope"}.get(m, m) for m in table["measure"]])
    t = t.drop(columns=[c for c in ("threshold", "stable") if c in t.columns])
    kinds = {c: k for c, k in {**_OPTIMISM_KINDS, "reported": "estimate3"}.items() if c in t.columns}
    out = format_columns(t, kinds, relabel_values=("measure",), index=index)
    if "reason" in out.columns:
        out["reason"] = out["reason"].replace("", "stable")
    return out


def format_calibration_for_benefit_table(table: pd.DataFrame) -> pd.DataFrame:
    """Calibration for benefit by group: n, predicted, observed (95% CI).

    Examples
    --------
    >>> t = pd.DataFrame({"group": [1], "n": [87], "n_treated": [45], "n_control": [42], "predicted": [0.3298],
    ...                   "observed": [0.4559], "ci_low": [0.2737], "ci_high": [0.638]})
    >>> format_calibration_for_benefit_table(t).loc[1, "observed (95% CI)"]
    '0.456 (0.274 to 0.638)'
    """
    return pd.DataFrame({
        "group": table["group"].to_list(), "n": table["n"].to_list(), "ET+CDK4/6i": table["n_treated"].to_list(),
        "ET": table["n_control"].to_list(), "predicted": [format_number(v, 3) for v in table["predicted"]],
        "observed (95% CI)": [format_estimate_ci(o, a, b, 3) for o, a, b in
                              zip(table["observed"], table["ci_low"], table["ci_high"])]}).set_index("group")


def format_prediction_interval_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per-patient bootstrap intervals summarised by model and quantity (widths three decimals, counts whole).

    Parameters
    ----------
    table : DataFrame
        One row per model and quantity: ``model``, ``quantity``, ``n``, ``median_width``, ``min_width``,
        ``max_width``, ``n_excludes_zero`` and ``n_straddle_threshold`` (NaN where no threshold applies).

    Examples
    --------
    >>> t = pd.DataFrame({"model": ["risk-based"], "quantity": ["PFS difference at 24 m"], "n": [100],
    ...                   "median_width": [0.1234], "min_width": [0.05], "max_width": [0.2], "n_excludes_zero": [3],
    ...                   "n_straddle_threshold": [80]})
    >>> format_prediction_interval_table(t).iloc[0].tolist()
    ['100', '0.123', '0.050 to 0.200', '3', '80']
    """
    out = pd.DataFrame({
        "patients": [format_value(v, "count") for v in table["n"]],
        "median width": [format_number(v, 3) for v in table["median_width"]],
        "width range": [f"{format_number(a, 3)} to {format_number(b, 3)}" for a, b in
                         zip(table["min_width"], table["max_width"])],
        "interval excludes 0 (n)": [format_value(v, "count") for v in table["n_excludes_zero"]],
        "interval straddles the threshold (n)": [format_value(v, "count", missing="—")
                                                 for v in table["n_straddle_threshold"]]},
        index=pd.MultiIndex.from_arrays([table["model"], table["quantity"]], names=["model", "quantity"]))
    return out


def format_benefit_distribution_table(table: pd.DataFrame, *, digits: int = 3) -> pd.DataFrame:
    """Percentiles of predicted benefit across patients with their bootstrap 95% intervals.

    Examples
    --------
    >>> t = pd.DataFrame({"percentile": [10.0], "estimate": [0.0512], "ci_low": [0.01], "ci_high": [0.09]})
    >>> format_benefit_distribution_table(t).loc["10th", "predicted benefit (95% bootstrap CI)"]
    '0.051 (0.010 to 0.090)'
    """
    names = [f"{format_value(q, 'parameter')}th" for q in table["percentile"]]
    return pd.DataFrame({"predicted benefit (95% bootstrap CI)": [
        format_estimate_ci(e, a, b, digits) for e, a, b in zip(table["estimate"], table["ci_low"], table["ci_high"])]},
        index=pd.Index(names, name="percentile across patients"))
