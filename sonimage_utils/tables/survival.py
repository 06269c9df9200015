"""Formatting layer for survival results: publication tables as DataFrames of text (no computation).

Each function takes a result object from :mod:`sonimage_utils.survival` (Kaplan-Meier, Cox, proportional
hazards, the interaction power simulation) and returns a DataFrame whose
cells are strings, ready for ``display`` or export. Missing values read "not reached" (a median or a
confidence limit the curve never reaches) or "not estimable" (hazard ratios), never "nan".
"""

from __future__ import annotations

import pandas as pd

from sonimage_utils.tables.format import (NOT_ESTIMABLE, NOT_REACHED, format_count, format_estimate_ci,
                                          format_number, format_p, format_percent)

__all__ = ["format_km_table", "format_cox_table", "format_ph_table", "format_hr_rows", "format_power_table",
           "describe_term", "format_piecewise_table", "format_rmst_table"]


def _est_ci(est, low, high, digits=1) -> str:
    return format_estimate_ci(est, low, high, digits, missing=NOT_REACHED, limit_missing=NOT_REACHED)


def _hr_ci(hr, low, high, digits) -> str:
    return format_estimate_ci(hr, low, high, digits, missing=NOT_ESTIMABLE)


def _pct_ci(est, low, high) -> str:
    return format_estimate_ci(est, low, high, 0, missing=f"{NOT_ESTIMABLE} (no follow-up)", percent=True,
                              limit_missing=NOT_ESTIMABLE)


def describe_term(name: str, reference: dict, labels: dict | None = None) -> str:
    """Readable comparison for a design column: ``het_group[heterogeneous]`` -> "heterogeneous vs homogeneous".

    Parameters
    ----------
    name : str
        Design column from :func:`~sonimage_utils.survival.design.build_design`.
    reference : dict
        Reference level per categorical variable (``CoxResult.reference``).
    labels : dict, optional
        Overrides: design column or variable -> text.

    Returns
    -------
    str

    Examples
    --------
    >>> describe_term("arm[ET+CDK4/6i]", {"arm": "ET"})
    'ET+CDK4/6i vs ET'
    """
    labels = labels or {}
    if name in labels:
        return labels[name]
    if ":" in name:
        return " x ".join(describe_term(part, reference, labels) for part in name.split(":"))
    if "[" in name and name.endswith("]"):
        var, level = name[:-1].split("[", 1)
        return f"{labels.get(level, level)} vs {labels.get(str(reference.get(var)), reference.get(var))}"
    return labels.get(name, name)


def format_km_table(km, labels: dict | None = None, digits: int = 1) -> pd.DataFrame:
    """Median PFS1 with 95% CI and PFS1 at the landmark times, one row per group.

    Parameters
    ----------
    km : KaplanMeierResult
    labels : dict, optional
        Group -> display label.
    digits : int
        Decimals for months.

    Returns
    -------
    pandas.DataFrame
        Columns ``Group``, ``Patients``, ``Events``, ``Median PFS1, months (95% CI)`` and one
        ``PFS1 at T months (95% CI)`` per landmark.
    """
    labels = labels or {}
    rows = []
    for _, r in km.summary.iterrows():
        row = {"Group": labels.get(r["group"], r["group"]), "Patients": format_count(r["n"]),
               "Events": format_count(r["n_events"]),
               "Median PFS1, months (95% CI)": _est_ci(r["median"], r["median_ci_low"], r["median_ci_high"], digits)}
        for _, lm in km.landmarks[km.landmarks["group"] == r["group"]].iterrows():
            row[f"PFS1 at {lm['time']:g} months (95% CI)"] = _pct_ci(lm["surv"], lm["ci_low"], lm["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows)


def format_cox_table(result, labels: dict | None = None, variable_labels: dict | None = None,
                     digits: int = 2) -> pd.DataFrame:
    """Hazard ratios of a Cox model with reference rows, one row per coefficient.

    Parameters
    ----------
    result : CoxResult
    labels : dict, optional
        Design column or level -> text (see :func:`describe_term`).
    variable_labels : dict, optional
        Model term -> text for the ``Variable`` column.
    digits : int

    Returns
    -------
    pandas.DataFrame
        Columns ``Variable``, ``Comparison``, ``HR (95% CI)``, ``p``. A model that is not ``ok`` shows
        "not estimable" in every HR cell (the reason is in ``result.message``).
    """
    variable_labels = variable_labels or {}
    rows = []
    for term, cols in result.terms.items():
        var = variable_labels.get(term, term)
        for name in cols:
            r = result.summary.set_index("name").loc[name]
            hr = _hr_ci(r["hr"], r["hr_ci_low"], r["hr_ci_high"], digits)
            rows.append({"Variable": var, "Comparison": describe_term(name, result.reference, labels),
                         "HR (95% CI)": hr, "p": format_p(r["p"], missing="")})
            var = ""
    return pd.DataFrame(rows, columns=["Variable", "Comparison", "HR (95% CI)", "p"])


def format_ph_table(ph, labels: dict | None = None) -> pd.DataFrame:
    """Proportional-hazards score test per term and global.

    Parameters
    ----------
    ph : PHTestResult
    labels : dict, optional
        Term -> text.

    Returns
    -------
    pandas.DataFrame
        Columns ``Term``, ``Chi-square``, ``df``, ``p``.
    """
    labels = labels or {}
    return pd.DataFrame({"Term": [labels.get(t, t) for t in ph.summary["term"]],
                         "Chi-square": [format_number(x) for x in ph.summary["chisq"]],
                         "df": [format_count(x) for x in ph.summary["df"]],
                         "p": [format_p(x) for x in ph.summary["p"]]})


def format_hr_rows(rows: pd.DataFrame, digits: int = 2, group_labels: dict | None = None) -> pd.DataFrame:
    """Format rows from :func:`~sonimage_utils.survival.cox.extract_hr` (sensitivity analyses, subgroups).

    Parameters
    ----------
    rows : pandas.DataFrame
        Columns ``label``, ``n``, ``n_events``, ``hr``, ``hr_ci_low``, ``hr_ci_high``, ``p``, ``status``,
        ``message``; optional ``analysis``, ``comparison``, ``group_counts`` (list of ``(level, patients,
        events)``, from :func:`~sonimage_utils.survival.compute_hr_rows`), ``role`` (confirmatory or
        exploratory) and ``set`` (the analysis set).
    digits : int
    group_labels : dict, optional
        Level -> display label for ``group_counts``.

    Returns
    -------
    pandas.DataFrame
        Text columns ``Analysis``, ``Type`` and ``Analysis set`` (when given), ``Comparison``, ``Patients``, ``Events``,
        ``Patients (events) by group`` (when counts are given), ``HR (95% CI)``, ``p``, ``Note``.
    """
    out = pd.DataFrame()
    if "analysis" in rows:
        out["Analysis"] = rows["analysis"].astype(str)
    if "role" in rows:
        out["Type"] = rows["role"].astype(str)
    if "set" in rows:
        out["Analysis set"] = rows["set"].astype(str)
    out["Comparison"] = rows["comparison"] if "comparison" in rows else rows["label"]
    out["Patients"] = [format_count(x) for x in rows["n"]]
    out["Events"] = [format_count(x) for x in rows["n_events"]]
    if "group_counts" in rows and any(len(c) for c in rows["group_counts"]):
        names = group_labels or {}
        out["Patients (events) by group"] = ["; ".join(f"{names.get(lv, lv)} {format_count(n)} ({format_count(e)})"
                                                       for lv, n, e in c) for c in rows["group_counts"]]
    out["HR (95% CI)"] = [_hr_ci(h, lo, hi, digits) for h, lo, hi in zip(rows["hr"], rows["hr_ci_low"],
                                                                           rows["hr_ci_high"])]
    out["p"] = [format_p(p, missing="") for p in rows["p"]]
    out["Note"] = ["" if s == "ok" else f"{s.replace('_', ' ')}: {m}"
                   for s, m in zip(rows["status"], rows["message"])]
    return out.reset_index(drop=True)


def format_power_table(power: pd.DataFrame) -> pd.DataFrame:
    """Format :func:`~sonimage_utils.survival.power.compute_interaction_power` output.

    Parameters
    ----------
    power : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        Columns ``Ratio of arm HRs (interaction)``, ``HR arm, homogeneous``, ``HR arm, heterogeneous``,
        ``Mean events``, ``Power (MC SE)``.
    """
    return pd.DataFrame({
        "Ratio of arm HRs (interaction)": [format_number(x) for x in power["hr_interaction"]],
        "HR arm, homogeneous": [format_number(x) for x in power["hr_arm_homogeneous"]],
        "HR arm, heterogeneous": [format_number(x) for x in power["hr_arm_heterogeneous"]],
        "Mean events": [format_number(x, 1) for x in power["mean_events"]],
        "Power (MC SE)": [f"{format_percent(p, 1)} ({format_percent(s, 1)})"
                          for p, s in zip(power["power"], power["power_mc_se"])],
    })


def format_piecewise_table(summary: pd.DataFrame, labels: tuple, digits: int = 2) -> pd.DataFrame:
    """Hazard ratio per follow-up interval (:func:`~sonimage_utils.survival.fit_piecewise_cox`).

    Parameters
    ----------
    summary : pandas.DataFrame
        ``PiecewiseHRResult.summary``.
    labels : tuple of str
        Display labels of the (reference, comparison) groups.
    digits : int

    Returns
    -------
    pandas.DataFrame
        ``Months since randomisation``, ``At risk at start`` and ``Events in interval`` (each "reference /
        comparison"), ``HR (95% CI)``, ``p``.
    """
    ref, comp = labels
    return pd.DataFrame({
        "Months since randomisation": [str(x) for x in summary["interval"]],
        f"At risk at start ({ref} / {comp})": [f"{format_count(a)} / {format_count(b)}" for a, b in
                                              zip(summary["n_at_risk_reference"], summary["n_at_risk_comparison"])],
        f"Events in interval ({ref} / {comp})": [f"{format_count(a)} / {format_count(b)}" for a, b in
                                                zip(summary["n_events_reference"], summary["n_events_comparison"])],
        "HR (95% CI)": [_hr_ci(h, lo, hi, digits) for h, lo, hi in
                        zip(summary["hr"], summary["hr_ci_low"], summary["hr_ci_high"])],
        "p": [format_p(p, missing="") for p in summary["p"]],
    })


def format_rmst_table(rmst: pd.DataFrame, labels: dict | None = None, digits: int = 1) -> pd.DataFrame:
    """Restricted mean PFS per group and their difference (:func:`~sonimage_utils.survival.compute_rmst_difference`).

    Parameters
    ----------
    rmst : pandas.DataFrame
    labels : dict, optional
        Group -> display label (``difference`` included).
    digits : int

    Returns
    -------
    pandas.DataFrame
        ``Group``, ``Patients``, ``Events to the horizon``, ``Restricted mean, months (95% CI)``, ``p``.
    """
    labels = labels or {}
    return pd.DataFrame({
        "Group": [labels.get(g, g) for g in rmst["group"]],
        "Patients": [format_count(x) for x in rmst["n"]],
        "Events to the horizon": [format_count(x) for x in rmst["n_events"]],
        "Restricted mean, months (95% CI)": [format_estimate_ci(m, lo, hi, digits) for m, lo, hi in
                                             zip(rmst["rmst"], rmst["ci_low"], rmst["ci_high"])],
        "p": [format_p(p, missing="") for p in rmst["p"]],
    })
