"""Display tables of the cohort chapter (00): Table 1, the case mix of the cohorts, lesions by organ, scan quality.

Labels come from the one label table (:mod:`sonimage_utils.tables.labels`), numbers in text from the one
formatting layer (:mod:`sonimage_utils.tables.format`); the counting is in :mod:`sonimage_utils.descriptive`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.descriptive import compute_median_follow_up
from sonimage_utils.tables.format import format_count, format_number, format_percent
from sonimage_utils.tables.labels import label

__all__ = ["TABLE1_VARIABLES", "format_table1", "format_case_mix", "format_lesions_by_organ", "format_scan_quality",
           "format_patient_flow", "format_event_types", "format_scan_timing"]

#: Baseline characteristics in Table 1, in order (labels from :func:`sonimage_utils.tables.labels.label`).
TABLE1_VARIABLES = ("age_years", "menopausal_status", "who_performance_status", "visceral_disease",
                    "bone_only_disease", "de_novo_metastatic", "prior_adjuvant_endocrine", "histology", "er_percent",
                    "fdg_pet_done", "n_lesions", "hs")


_CATEGORICAL = {"arm", "center", "menopausal_status", "who_performance_status", "visceral_disease", "bone_only_disease",
                "de_novo_metastatic", "prior_adjuvant_endocrine", "histology", "fdg_pet_done"}


def format_table1(analysis: pd.DataFrame, by: str, variables=TABLE1_VARIABLES) -> pd.DataFrame:
    """Table 1: baseline characteristics by ``by`` and overall, with tableone.

    Median [Q1, Q3] for continuous variables, n (%) for categorical ones, and a column of missing counts.
    Patients with ``by`` missing form their own group ("not assessable"), never dropped. Variables, the
    grouping and its levels are shown by their labels.

    Parameters
    ----------
    analysis : DataFrame
        From :func:`sonimage_utils.derive.analysis_sets.build_analysis_set`.
    by : str
        Grouping column (e.g. ``arm`` or ``het_group``).
    variables : sequence of str
        Columns to describe, in order (those present in ``analysis``); default :data:`TABLE1_VARIABLES`.

    Returns
    -------
    DataFrame
        The ``tableone`` table.

    References
    ----------
    Pollard TJ et al. tableone: an open source Python package for producing summary statistics for research
    papers. JAMIA Open 2018;1:26-31.
    """
    import warnings

    from tableone import TableOne

    if by not in analysis.columns:
        raise ValueError(f"column {by!r} not in the analysis set")
    columns = {k: label(k) for k in variables if k in analysis.columns}
    not_assessable = label("not_assessable")
    data = analysis[list(columns)].copy()
    for col in set(columns) & _CATEGORICAL:  # plain labels ("yes"/"no"); missing stays NaN
        values = data[col].astype(object)
        data[col] = values.map(lambda v: {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool)
                               else label(v) if isinstance(v, str) else v)  # levels by their labels too
    group = label(by)
    data[group] = analysis[by].astype(object).map(lambda v: label(str(v)), na_action="ignore")
    data[group] = data[group].where(analysis[by].notna(), not_assessable)
    levels = analysis[by].cat.categories if hasattr(analysis[by], "cat") else sorted(analysis[by].dropna().unique())
    order = [label(str(g)) for g in levels if label(str(g)) in set(data[group])]
    if not_assessable in set(data[group]):
        order.append(not_assessable)
    with warnings.catch_warnings():
        # tableone computes a standard deviation for every group; a group of one warns (ddof), harmlessly.
        warnings.filterwarnings("ignore", message="Degrees of freedom <= 0", category=RuntimeWarning)
        # ... and the "not assessable" group has no heterogeneity score by definition (all NaN).
        warnings.filterwarnings("ignore", message="All-NaN slice encountered", category=RuntimeWarning)
        table = TableOne(data, columns=list(columns), categorical=sorted(set(columns) & _CATEGORICAL),
                         nonnormal=sorted(set(columns) - _CATEGORICAL), groupby=group, order={group: order},
                         rename=columns, missing=True, include_null=False, overall=True, pval=False)
    return table.tableone


def format_case_mix(analyses: dict) -> pd.DataFrame:
    """Case mix of each cohort side by side: size, events, follow-up, therapy, disease and FES features.

    Parameters
    ----------
    analyses : dict
        Cohort name -> analysis set.
    """
    def pct(mask):
        return format_percent(mask.mean())

    rows = {}
    for name, a in analyses.items():
        rows[name] = {
            "patients": format_count(len(a)),
            "PFS1 events": f"{format_count(a['pfs1_event'].sum())} ({pct(a['pfs1_event'] == 1)})",
            "median follow-up, months (reverse Kaplan-Meier)": format_number(compute_median_follow_up(a["pfs1_months"], a["pfs1_event"]), 1),
            "first-line ET+CDK4/6i": pct(a["arm"] == "ET+CDK4/6i"),
            "first-line ET alone": pct(a["arm"] == "ET"),
            "first-line chemotherapy/other": pct(a["arm"].isin(["chemotherapy", "other"])),
            "age, median": format_count(a["age_years"].median()),
            "visceral disease": pct(a["visceral_disease"].fillna(False).astype(bool)),
            "bone-only disease": pct(a["bone_only_disease"].fillna(False).astype(bool)),
            "lesions per patient, median": format_count(a["n_lesions"].median()),
            "FES-assessable lesions per patient, median": format_count(a["n_fes_assessable"].median()),
            "heterogeneous (>= 1 FES-negative lesion)": pct(a["het_group"].eq("heterogeneous")),
            "no FES-assessable lesion": pct(a["hs"].isna()),
        }
    return pd.DataFrame(rows)


def format_lesions_by_organ(by_organ: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`compute_lesions_by_organ`: labelled columns and organs, shares as percentages.

    A share or median that does not exist (no assessable lesion in an organ) reads "not estimable".

    Parameters
    ----------
    by_organ : DataFrame
        From :func:`compute_lesions_by_organ`.

    Returns
    -------
    DataFrame of str
    """
    out = pd.DataFrame({"organ": [label(o) for o in by_organ["organ"]]})
    for col in ("lesions", "share", "fes_assessable", "fes_positive", "share_fes_positive", "median_fes_suvmax",
                "median_fdg_suvmax"):
        fmt = (format_percent if col.startswith("share") else format_count if col in ("lesions", "fes_assessable",
                                                                                      "fes_positive")
               else format_number)
        out[col] = [fmt(x) for x in by_organ[col]]
    return out.rename(columns=label)


def format_scan_quality(quality: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`compute_scan_quality`: labelled columns, medians with one decimal.

    Parameters
    ----------
    quality : DataFrame
        From :func:`compute_scan_quality`.

    Returns
    -------
    DataFrame of str
    """
    out = pd.DataFrame({"tracer": quality["tracer"].astype(str)})
    for col in ("scans", "uptake_median_min", "uptake_outside_window", "activity_median_mbq",
                "activity_outside_window"):
        one = (lambda x: format_number(x, 1)) if col.endswith(("_min", "_mbq")) else format_count
        out[col] = [one(x) for x in quality[col]]
    return out.rename(columns=label)


def format_patient_flow(flow: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`~sonimage_utils.descriptive.compute_patient_flow`: each set with its patients,
    the set it comes from, and how many of those leave at that step and why.

    Parameters
    ----------
    flow : DataFrame
        From :func:`~sonimage_utils.descriptive.compute_patient_flow`.

    Returns
    -------
    DataFrame of str
        ``Analysis set``, ``Patients``, ``From``, ``Left out at this step``, ``Reason``.
    """
    names = dict(zip(flow["step"], flow["set"]))
    return pd.DataFrame({
        "Analysis set": flow["set"].astype(str),
        label("patients"): [format_count(x) for x in flow["patients"]],
        "From": [names.get(p, "") for p in flow["parent"]],
        label("left_out"): ["" if not p else format_count(x) for x, p in zip(flow["left_out"], flow["parent"])],
        label("reason"): flow["reason"].astype(str),
    })


def format_event_types(counts: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`~sonimage_utils.descriptive.compute_event_types`: n (% of the column's patients)
    per event type, then all events, patients and the median follow-up (reverse Kaplan-Meier).

    Parameters
    ----------
    counts : DataFrame
        From :func:`~sonimage_utils.descriptive.compute_event_types`.

    Returns
    -------
    DataFrame of str
        ``PFS1 event type`` and one column per arm and overall (by label, with the patients as ``n = ...``).
    """
    columns = [c for c in counts.columns if c != "event_type"]
    total = counts.set_index("event_type").loc["patients"]
    body = counts[counts["event_type"] != "patients"]
    out = pd.DataFrame({label("pfs1_event_type"): [label(t) for t in body["event_type"]]})
    for col in columns:
        n = int(total[col])
        out[f"{label(col)} (n = {format_count(n)})"] = [
            f"{format_count(x)} ({format_percent(x / n if n else np.nan)})" for x in body[col]]
    follow_up = counts.attrs.get("median_follow_up", {})
    out.loc[len(out)] = ["Median follow-up, months (reverse Kaplan-Meier)",
                         *[format_number(follow_up.get(col, np.nan), 1) for col in columns]]
    return out


def format_scan_timing(timing: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """The baseline scans outside the window, one row per scan, by patient and tracer.

    Parameters
    ----------
    timing : DataFrame
        From :func:`~sonimage_utils.derive.scan_timing.derive_baseline_scan_timing`.
    window_days : int
        The window it was derived with, for the reason text.

    Returns
    -------
    DataFrame of str
        ``Patient``, ``Tracer``, ``Days from randomisation`` and ``Reason`` (no calendar dates: they identify
        a patient more than the book needs) (after randomisation, or more than ``window_days`` days before it).
    """
    flagged = timing[timing["outside_window"]]
    return pd.DataFrame({
        label("patient_id"): flagged["patient_id"].astype(str),
        label("tracer"): flagged["tracer"].astype(str),
        label("days_from_randomization"): [f"{d:+d}" for d in flagged["days_from_randomization"]],
        label("reason"): ["after randomisation" if a else f"more than {window_days} days before randomisation"
                          for a in flagged["after_randomization"]],
    }).reset_index(drop=True)
