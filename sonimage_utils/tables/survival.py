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
           "describe_term", "format_piecewise_table", "format_rmst_table", "format_km_difference_table",
           "format_lr_tests", "format_km_difference_note"]


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
        ``Mean events``, ``Median censoring time, months`` (the exponential censoring model's median), ``Power (MC SE)``.
    """
    return pd.DataFrame({
        "Ratio of arm HRs (interaction)": [format_number(x) for x in power["hr_interaction"]],
        "HR arm, homogeneous": [format_number(x) for x in power["hr_arm_homogeneous"]],
        "HR arm, heterogeneous": [format_number(x) for x in power["hr_arm_heterogeneous"]],
        "Mean events": [format_number(x, 1) for x in power["mean_events"]],
        "Median censoring time, months": [format_number(x, 1, missing="no censoring")
                                          for x in power["censoring_median_months"]],
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


def format_km_difference_table(result: dict, *, horizon: float, labels: dict | None = None) -> pd.DataFrame:
    """Kaplan-Meier survival at a horizon by subgroup and arm, the arm difference within each subgroup and the
    difference of the differences (:func:`~sonimage_utils.survival.km_difference.compute_km_interaction_at`).

    Parameters
    ----------
    result : dict
        ``cells`` and ``differences`` from ``compute_km_interaction_at``; two arms per subgroup, control first.
    horizon : float
        The horizon, months (for the column names).
    labels : dict, optional
        Level -> display label (subgroups and arms).

    Returns
    -------
    pandas.DataFrame
        One row per subgroup, then the interaction row: ``Subgroup``, ``Patients (events by the horizon)`` and
        ``At risk at the horizon`` per arm (``control / treated``), ``PFS1 at the horizon (SE)`` per arm,
        ``Difference, treated minus control (95% CI)`` and ``Note`` (why a difference is not estimable).
    """
    names = labels or {}
    cells, diffs = result["cells"], result["differences"]
    arms = list(dict.fromkeys(cells["arm"]))
    ctrl, trt = (names.get(a, a) for a in arms)
    h = f"{horizon:g} months"
    rows = []
    for _, d in diffs.iterrows():
        pair = cells[cells["group"] == d["group"]]
        row = {"Subgroup": names.get(d["group"], d["group"])}
        if len(pair):
            c = [pair[pair["arm"] == a].iloc[0] for a in arms]
            row[f"Patients (events by {h}), {ctrl} / {trt}"] = " / ".join(
                f"{format_count(x['n'])} ({format_count(x['n_events'])})" for x in c)
            row[f"At risk at {h}, {ctrl} / {trt}"] = " / ".join(format_count(x["n_risk"]) for x in c)
            for x, a in zip(c, (ctrl, trt)):
                row[f"PFS1 at {h}, {a} (SE)"] = (f"{format_percent(x['surv'])} ({format_percent(x['se'])})"
                                                 if x["se"] == x["se"] else format_percent(x["surv"]))
        else:
            row["Subgroup"] = f"Difference of the differences, {names.get(diffs['group'].iat[1], diffs['group'].iat[1])} " \
                              f"minus {names.get(diffs['group'].iat[0], diffs['group'].iat[0])}"
        row[f"Difference, {trt} minus {ctrl} (95% CI)"] = format_estimate_ci(
            d["estimate"], d["ci_low"], d["ci_high"], 0, missing=NOT_ESTIMABLE, percent=True)
        used = cells if len(pair) == 0 else pair
        row["Note"] = "" if d["status"] == "ok" else format_km_difference_note(used, labels=names)
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def format_km_difference_note(cells: pd.DataFrame, labels: dict | None = None) -> str:
    """Why a Kaplan-Meier difference is not estimable: each unusable cell, labelled, with its reason.

    Parameters
    ----------
    cells : pandas.DataFrame
        Rows of ``compute_km_interaction_at(...)["cells"]`` (``group``, ``arm``, ``usable``, ``reason``).
    labels : dict, optional
        Level -> display label.

    Returns
    -------
    str
        ``"ER-homogeneous, ET: 4 at risk at 24 months, ..."``, cells joined by "; "; empty when all are usable.

    Examples
    --------
    >>> c = pd.DataFrame({"group": ["g"], "arm": ["a"], "usable": [False], "reason": ["no patients"]})
    >>> format_km_difference_note(c, {"g": "Group G"})
    'Group G, a: no patients'
    """
    names = labels or {}
    return "; ".join(f"{names.get(r['group'], r['group'])}, {names.get(r['arm'], r['arm'])}: {r['reason']}"
                     for _, r in cells.iterrows() if not r["usable"])


def format_lr_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """Likelihood-ratio tests (e.g. of interaction terms), one row each.

    Parameters
    ----------
    tests : pandas.DataFrame
        ``test`` (row label), ``role`` (confirmatory, secondary or exploratory), ``n``, ``n_events``,
        ``statistic``, ``df``, ``p``, ``message`` (why a test was not computed, or empty).

    Returns
    -------
    pandas.DataFrame
        ``Test``, ``Type``, ``Patients``, ``Events``, ``Chi-square``, ``df``, ``p``, ``Note``.

    Examples
    --------
    >>> t = pd.DataFrame({"test": ["a"], "role": ["exploratory"], "n": [10], "n_events": [5], "statistic": [1.0],
    ...                   "df": [2], "p": [0.607], "message": [""]})
    >>> format_lr_tests(t).iloc[0].tolist()
    ['a', 'exploratory', '10', '5', '1.00', '2', '0.607', '']
    """
    return pd.DataFrame({
        "Test": tests["test"].astype(str), "Type": tests["role"].astype(str),
        "Patients": [format_count(x) for x in tests["n"]], "Events": [format_count(x) for x in tests["n_events"]],
        "Chi-square": [format_number(x) for x in tests["statistic"]], "df": [format_count(x) for x in tests["df"]],
        "p": [format_p(x) for x in tests["p"]], "Note": tests["message"].astype(str)}).reset_index(drop=True)
