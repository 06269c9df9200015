"""Patient-level views of a RECIST assessment for objective 3: trajectories, swimmer data, BOR tables.

Data only (plots are in :mod:`sonimage_utils.plots.lesions`): :func:`derive_sod_trajectories` (spider plot),
:func:`derive_swimmer_data` (swimmer plot), :func:`tabulate_bor` (best overall response by group).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.data.load import DAYS_PER_MONTH
from sonimage_utils.recist.rules import CR, NE, NON_CR_NON_PD, PD, PR, SD

__all__ = ["BOR_ORDER", "derive_sod_trajectories", "derive_swimmer_data", "tabulate_bor", "derive_depth_and_nadir"]

#: Display order of best overall response.
BOR_ORDER = (CR, PR, SD, NON_CR_NON_PD, PD, NE)


def derive_sod_trajectories(assessment, *, through_progression: bool = True) -> pd.DataFrame:
    """Target-lesion sum-of-diameters trajectories from baseline to progression.

    Parameters
    ----------
    assessment : RecistAssessment
        From :func:`sonimage_utils.recist.assess`.
    through_progression : bool
        Keep the first-PD assessment (True, the registered "baseline CT to CT at progression") or stop
        before it.

    Returns
    -------
    pandas.DataFrame
        Patients with target disease only; one row per assessment with a complete sum (NE sums left out):
        ``patient_id``, ``assessment_date``, ``days_from_baseline``, ``months_from_baseline``,
        ``sum_diameters``, ``pct_change_baseline``, ``overall_response``, ``is_progression``.

    Examples
    --------
    >>> rec = pd.DataFrame({"patient_id": ["P"] * 3, "lesion_id": ["L"] * 3,
    ...     "assessment_date": ["2020-01-01", "2020-03-01", "2020-05-01"], "lesion_kind": ["target"] * 3,
    ...     "is_lymph_node": [False] * 3, "diameter_mm": [40.0, 20.0, 30.0], "status": [None] * 3})
    >>> from sonimage_utils.recist import assess
    >>> derive_sod_trajectories(assess(rec, None))["pct_change_baseline"].tolist()
    [0.0, -50.0, -25.0]
    """
    v = assessment.visits.merge(assessment.best[["patient_id", "progression_date", "has_target_disease"]],
                                on="patient_id", how="left")
    v = v[v["has_target_disease"].astype(bool) & v["sum_diameters"].notna()]
    prog = v["progression_date"]
    keep = prog.isna() | (v["assessment_date"] < prog)
    if through_progression:
        keep |= v["assessment_date"] == prog
    v = v[keep].copy()
    v["months_from_baseline"] = v["days_from_baseline"] / DAYS_PER_MONTH
    v["is_progression"] = (v["assessment_date"] == v["progression_date"]).to_numpy()
    cols = ["patient_id", "assessment_date", "days_from_baseline", "months_from_baseline", "sum_diameters",
            "pct_change_baseline", "overall_response", "is_progression"]
    return v[cols].reset_index(drop=True)


def derive_swimmer_data(assessment, patients: pd.DataFrame) -> pd.DataFrame:
    """One row per patient for a swimmer plot of time on first-line therapy.

    Time on first-line therapy is PFS1 (randomisation to ``pfs1_date``: a PFS1 event ends first-line
    therapy by definition, book/methods.md, section PFS1), in months.

    Parameters
    ----------
    assessment : RecistAssessment
    patients : pandas.DataFrame
        With ``patient_id``, ``randomization_date``, ``pfs1_date``, ``pfs1_event`` (other columns such as
        ``arm`` and ``het_group`` are kept).

    Returns
    -------
    pandas.DataFrame
        Patient columns plus ``months_on_therapy``, ``best_overall_response``, ``response_months`` (first
        CR/PR before PD, NaN if none), ``progression_months`` (first RECIST PD, NaN if none), ``ongoing``
        (censored: no PFS1 event).

    Raises
    ------
    ValueError
        If a needed patient column is missing.
    """
    need = {"patient_id", "randomization_date", "pfs1_date", "pfs1_event"}
    missing = need - set(patients.columns)
    if missing:
        raise ValueError(f"patients lacks column(s) {sorted(missing)}")
    p = patients.copy()
    p["patient_id"] = p["patient_id"].astype(str)
    rand = pd.to_datetime(p["randomization_date"])
    p["months_on_therapy"] = (pd.to_datetime(p["pfs1_date"]) - rand).dt.days / DAYS_PER_MONTH
    p["ongoing"] = pd.to_numeric(p["pfs1_event"]).to_numpy() == 0
    best = assessment.best[["patient_id", "best_overall_response", "progression_date"]]
    v = assessment.visits.merge(best[["patient_id", "progression_date"]], on="patient_id")
    before = v["progression_date"].isna() | (v["assessment_date"] < v["progression_date"])
    resp = v[before & v["overall_response"].isin([CR, PR])].groupby("patient_id")["assessment_date"].min()
    p = p.merge(best, on="patient_id", how="left")
    p["response_date"] = p["patient_id"].map(resp)
    rand = pd.to_datetime(p["randomization_date"])
    p["response_months"] = (p["response_date"] - rand).dt.days / DAYS_PER_MONTH
    p["progression_months"] = (p["progression_date"] - rand).dt.days / DAYS_PER_MONTH
    return p.drop(columns=["response_date"]).sort_values("months_on_therapy", ascending=False,
                                                        kind="mergesort").reset_index(drop=True)


def tabulate_bor(best: pd.DataFrame, group: str = "het_group", *, normalize: bool = False) -> pd.DataFrame:
    """Best overall response by group (rows = groups, columns = responses in :data:`BOR_ORDER`).

    Parameters
    ----------
    best : pandas.DataFrame
        One row per patient with ``best_overall_response`` and ``group``; rows with a missing group are left
        out.
    group : str
    normalize : bool
        Proportions within each group instead of counts.

    Returns
    -------
    pandas.DataFrame
        Every code of :data:`BOR_ORDER` as a column (zeros kept), plus ``n`` when counts.

    Examples
    --------
    >>> b = pd.DataFrame({"best_overall_response": ["PR", "SD", "PD"], "g": ["a", "a", "b"]})
    >>> tabulate_bor(b, "g").loc["a", ["PR", "SD", "n"]].tolist()
    [1, 1, 2]
    """
    if group not in best.columns or "best_overall_response" not in best.columns:
        raise ValueError(f"best needs columns 'best_overall_response' and {group!r}")
    b = best[best[group].notna()]
    tab = pd.crosstab(b[group], pd.Categorical(b["best_overall_response"], categories=BOR_ORDER),
                      dropna=False)
    tab = tab.reindex(columns=list(BOR_ORDER), fill_value=0)
    tab.columns = list(BOR_ORDER)
    tab.columns.name = None
    if normalize:
        return tab.div(tab.sum(axis=1).replace(0, np.nan), axis=0)
    tab["n"] = tab.sum(axis=1)
    return tab


def derive_depth_and_nadir(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Depth of response and time to nadir per patient, from the sum-of-diameters trajectories.

    Depth of response is the smallest % change from baseline of the target sum of diameters at any
    post-baseline CT up to and including the CT at first progression (negative = shrinkage). Time to nadir
    is the months from the baseline CT to the first CT with that smallest sum; it is defined only for
    patients whose sum ever fell below baseline (otherwise the nadir is the baseline itself: NaN).

    Parameters
    ----------
    trajectories : pandas.DataFrame
        From :func:`derive_sod_trajectories` (``patient_id``, ``months_from_baseline``,
        ``pct_change_baseline``).

    Returns
    -------
    pandas.DataFrame
        One row per patient with a post-baseline CT: ``patient_id``, ``depth_pct``, ``months_to_nadir``,
        ``n_ct``.

    Examples
    --------
    >>> t = pd.DataFrame({"patient_id": ["a"] * 4 + ["b"] * 2, "months_from_baseline": [0, 2, 4, 6, 0, 2],
    ...                   "pct_change_baseline": [0.0, -20.0, -35.0, -35.0, 0.0, 10.0]})
    >>> derive_depth_and_nadir(t).to_dict("list")
    {'patient_id': ['a', 'b'], 'depth_pct': [-35.0, 10.0], 'months_to_nadir': [4.0, nan], 'n_ct': [3, 1]}
    """
    post = trajectories[trajectories["months_from_baseline"] > 0]
    post = post.sort_values(["patient_id", "months_from_baseline"], kind="mergesort")
    first_min = post.loc[post.groupby("patient_id", sort=True)["pct_change_baseline"].idxmin()]
    out = pd.DataFrame({"patient_id": first_min["patient_id"].to_numpy(),
                        "depth_pct": first_min["pct_change_baseline"].to_numpy(float),
                        "months_to_nadir": np.where(first_min["pct_change_baseline"] < 0,
                                                    first_min["months_from_baseline"].astype(float), np.nan)})
    out["n_ct"] = post.groupby("patient_id", sort=True).size().reindex(out["patient_id"]).to_numpy()
    return out.reset_index(drop=True)
