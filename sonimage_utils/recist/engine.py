"""RECIST 1.1 response assessment of the SONImage CT follow-up (``book/methods.md``, section RECIST 1.1).

:func:`assess` turns the contract's recist.csv (one row per lesion per CT) into per-assessment target,
non-target and overall responses, each patient's best overall response (BOR) and date of first progression,
and each target lesion's percent change from baseline with its best (largest measurable) response before
progression. The decision rules live in :mod:`sonimage_utils.recist.rules`, input checks in
:mod:`sonimage_utils.recist.input`.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-47.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sonimage_utils.recist.input import check_recist, parse_lesions, parse_recist
from sonimage_utils.recist.rules import (
    PD,
    TOO_SMALL_MM,
    compute_best_overall_response,
    compute_non_target_response,
    compute_overall_response,
    compute_target_response,
)

__all__ = ["assess", "RecistAssessment"]

VISIT_COLUMNS = ["patient_id", "assessment_date", "visit", "days_from_baseline", "is_baseline",
                 "sum_diameters", "sum_measured", "nadir", "pct_change_baseline", "pct_change_nadir",
                 "target_response", "non_target_response", "new_lesion", "new_lesion_equivocal",
                 "pd_dated_back", "overall_response"]
BEST_COLUMNS = ["patient_id", "best_overall_response", "progression_date", "best_response_date",
                "baseline_date", "has_target_disease", "has_non_target_disease", "n_target_lesions",
                "n_followup_assessments", "baseline_sum_diameters"]
LESION_COLUMNS = ["patient_id", "lesion_id", "best_pct_change", "best_pct_change_through_pd",
                  "is_lymph_node", "baseline_diameter_mm", "n_assessments_before_pd", "best_assessment_date"]
LESION_VISIT_COLUMNS = ["patient_id", "lesion_id", "assessment_date", "days_from_baseline", "diameter_mm",
                        "diameter_used", "pct_change", "before_pd", "at_pd"]


@dataclass
class RecistAssessment:
    """Result of :func:`assess`.

    Attributes
    ----------
    visits : pandas.DataFrame
        One row per patient per assessment, baseline included (``is_baseline``, responses None there):
        ``sum_diameters`` (NaN when a target lesion was not assessed or there is no target disease),
        ``nadir`` (the smallest sum at the earlier assessments, baseline included: the reference for PD at
        this assessment), target / non-target / overall response (None where the patient has no such
        lesions), ``new_lesion`` (an unequivocal new lesion, or an equivocal one confirmed later) and
        ``pd_dated_back`` (PD here only because an equivocal new lesion was confirmed later).
    best : pandas.DataFrame
        One row per patient: ``best_overall_response`` and ``progression_date`` (first PD, NaT if none).
    lesions : pandas.DataFrame
        One row per target lesion: ``best_pct_change``, the smallest % change from the lesion's baseline
        diameter at an assessment before the patient's first PD (NaN when there is none), and
        ``best_pct_change_through_pd``, the same including the first-PD assessment (a sensitivity view
        that keeps lesions of patients progressing at the first CT).
    lesion_visits : pandas.DataFrame
        One row per target lesion per follow-up assessment with ``pct_change``.
    params : dict
        The arguments used.
    """

    visits: pd.DataFrame
    best: pd.DataFrame
    lesions: pd.DataFrame
    lesion_visits: pd.DataFrame
    params: dict = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Counts of best overall response (the tern-style one-table view)."""
        counts = self.best["best_overall_response"].value_counts()
        return counts.rename_axis("best_overall_response").reset_index(name="n_patients")


def _diameter_used(diam: float, is_node: bool, status) -> float:
    """Too small to measure counts 5 mm for a non-nodal target; a node keeps its short axis."""
    if status == "too_small":
        return TOO_SMALL_MM
    if np.isnan(diam) or is_node or diam == 0.0:
        return diam
    return max(diam, TOO_SMALL_MM)


def _assess_patient(pid, rows: list, sd_min_days: float, confirm: bool):
    """``rows``: this patient's (lesion_id, date, kind, is_node, diameter, status) tuples."""
    by_date: dict = {}
    for r in rows:
        by_date.setdefault(r[1], []).append(r)
    dates = sorted(by_date)
    base_date = dates[0]
    base = by_date[base_date]
    t_ids = [r[0] for r in base if r[2] == "target"]
    t_node = {r[0]: bool(r[3]) for r in base if r[2] == "target"}
    t_base = {r[0]: float(r[4]) for r in base if r[2] == "target"}
    nt_ids = [r[0] for r in base if r[2] == "non_target"]
    confirmed = {r[0] for r in rows if r[2] == "new" and r[5] == "unequivocal"}
    baseline_sum = float(sum(t_base.values())) if t_ids else np.nan

    visits, lesion_visits = [], []
    nadir = baseline_sum
    for k, d in enumerate(dates):
        g = by_date[d]
        day = int((d - base_date) / np.timedelta64(1, "D"))
        rec = {"patient_id": pid, "assessment_date": d, "visit": k, "days_from_baseline": day,
               "is_baseline": k == 0}
        tg = {r[0]: r for r in g if r[2] == "target"}
        used = []
        for lid in t_ids:
            raw = float(tg[lid][4]) if lid in tg else np.nan
            status = tg[lid][5] if lid in tg else None
            u = _diameter_used(raw, t_node[lid], status)
            used.append(u)
            if k > 0:
                lesion_visits.append({"patient_id": pid, "lesion_id": lid, "assessment_date": d,
                                      "days_from_baseline": day, "diameter_mm": raw, "diameter_used": u,
                                      "pct_change": 100.0 * (u - t_base[lid]) / t_base[lid]})
        if k == 0:
            sod = baseline_sum
            rec.update(sum_diameters=sod, sum_measured=sod, nadir=sod, target_response=None,
                       non_target_response=None, new_lesion=False, new_lesion_equivocal=False,
                       pd_dated_back=False, overall_response=None)
        else:
            if t_ids:
                t_resp, sod, measured = compute_target_response(used, [t_node[i] for i in t_ids],
                                                                baseline_sum, nadir)
            else:
                t_resp, sod, measured = None, np.nan, np.nan
            ntg = {r[0]: r[5] for r in g if r[2] == "non_target"}
            nt_resp = compute_non_target_response([ntg.get(i) for i in nt_ids])
            ng = [r for r in g if r[2] == "new"]
            unequivocal = any(r[5] == "unequivocal" for r in ng)
            dated_back = any(r[0] in confirmed for r in ng) and not unequivocal
            equivocal = any(r[5] == "equivocal" for r in ng)
            rec.update(sum_diameters=sod, sum_measured=measured, nadir=nadir, target_response=t_resp,
                       non_target_response=nt_resp, new_lesion=unequivocal or dated_back,
                       new_lesion_equivocal=equivocal, pd_dated_back=dated_back and t_resp != PD and nt_resp != PD,
                       overall_response=compute_overall_response(t_resp, nt_resp, unequivocal or dated_back))
            if t_ids and not np.isnan(sod):
                nadir = min(nadir, sod)
        sodv, nad = rec["sum_diameters"], rec["nadir"]
        rec["pct_change_baseline"] = 100.0 * (sodv - baseline_sum) / baseline_sum if t_ids else np.nan
        rec["pct_change_nadir"] = 100.0 * (sodv - nad) / nad if t_ids and nad > 0 else np.nan
        visits.append(rec)

    follow = visits[1:]
    days = [v["days_from_baseline"] for v in follow]
    resp = [v["overall_response"] for v in follow]
    bor, idx = compute_best_overall_response(days, resp, sd_min_days=sd_min_days, confirm=confirm,
                                             has_target=bool(t_ids))
    pd_dates = [v["assessment_date"] for v in follow if v["overall_response"] == PD]
    prog = pd_dates[0] if pd_dates else pd.NaT
    best = {"patient_id": pid, "best_overall_response": bor, "progression_date": prog,
            "best_response_date": follow[idx]["assessment_date"] if idx is not None else pd.NaT,
            "baseline_date": base_date, "has_target_disease": bool(t_ids), "has_non_target_disease": bool(nt_ids),
            "n_target_lesions": len(t_ids), "n_followup_assessments": len(follow),
            "baseline_sum_diameters": baseline_sum}
    for lv in lesion_visits:
        lv["before_pd"] = pd.isna(prog) or lv["assessment_date"] < prog
        lv["at_pd"] = (not pd.isna(prog)) and lv["assessment_date"] == prog
    lesions = []
    for lid in t_ids:
        mine = [lv for lv in lesion_visits if lv["lesion_id"] == lid and not np.isnan(lv["pct_change"])]
        before = [lv for lv in mine if lv["before_pd"]]
        through = [lv for lv in mine if lv["before_pd"] or lv["at_pd"]]
        b = min(before, key=lambda lv: lv["pct_change"]) if before else None
        t = min(through, key=lambda lv: lv["pct_change"]) if through else None
        lesions.append({"patient_id": pid, "lesion_id": lid,
                        "best_pct_change": b["pct_change"] if b else np.nan,
                        "best_pct_change_through_pd": t["pct_change"] if t else np.nan,
                        "is_lymph_node": t_node[lid], "baseline_diameter_mm": t_base[lid],
                        "n_assessments_before_pd": len(before),
                        "best_assessment_date": b["assessment_date"] if b else pd.NaT})
    return visits, best, lesions, lesion_visits


def _frame(records, columns, dates=()):
    df = pd.DataFrame.from_records(records, columns=columns)
    for c in dates:
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def assess(recist: pd.DataFrame, lesions: pd.DataFrame | None, *, sd_min_days: float = 42,
           confirm: bool = False, confirm_min_days: float = 28) -> RecistAssessment:
    """Assess RECIST 1.1 response for every patient of recist.csv.

    Parameters
    ----------
    recist : pandas.DataFrame
        The contract's recist.csv (``pandas.read_csv`` output or typed by ``load_cohort``): patient_id,
        lesion_id, assessment_date, lesion_kind, is_lymph_node, diameter_mm, status. A patient's earliest
        assessment is the baseline. A non-nodal target recorded below 5 mm (but > 0) is read as too small to
        measure and counts 5 mm (the contract has no separate flag; status ``too_small`` is also accepted);
        0 mm is disappeared; a node keeps its short axis. A lesion without a row at an assessment is not
        assessed there.
    lesions : pandas.DataFrame or None
        The contract's lesions.csv; used to check that target and non-target lesions are baseline lesions and
        the 2-per-organ limit. None skips these checks.
    sd_min_days : float, default 42
        SD (and non-CR/non-PD) counts for the best response only at an assessment at least this many days after
        the baseline assessment.
    confirm : bool, default False
        Require confirmation of CR/PR (not needed in a randomised trial with PFS as endpoint).
    confirm_min_days : float, default 28
        Minimum interval for confirmation.

    Returns
    -------
    RecistAssessment
        ``.visits``, ``.best``, ``.lesions`` (and ``.lesion_visits``); see :class:`RecistAssessment`.

    Raises
    ------
    ValueError
        On bad input, naming patient_id, lesion_id and rule (see :func:`sonimage_utils.recist.input.check_recist`).

    References
    ----------
    Eisenhauer EA, et al. Eur J Cancer 2009;45:228-47 (RECIST 1.1).

    Examples
    --------
    >>> rec = pd.DataFrame({
    ...     "patient_id": ["P1"] * 4, "lesion_id": ["L1", "L2", "L1", "L2"],
    ...     "assessment_date": ["2020-01-01"] * 2 + ["2020-03-01"] * 2,
    ...     "lesion_kind": ["target", "non_target"] * 2, "is_lymph_node": ["false"] * 4,
    ...     "diameter_mm": [40, None, 20, None], "status": [None, "present", None, "present"]})
    >>> res = assess(rec, None)
    >>> res.best["best_overall_response"].tolist(), res.lesions["best_pct_change"].tolist()
    (['PR'], [-50.0])
    """
    if not (isinstance(sd_min_days, (int, float)) and sd_min_days >= 0):
        raise ValueError(f"sd_min_days must be a number >= 0, got {sd_min_days!r}")
    rec = parse_recist(recist)
    les = parse_lesions(lesions)
    check_recist(rec, les)
    visits, best, lesion_rows, lesion_visits = [], [], [], []
    per_patient: dict = {}
    for r in zip(rec["patient_id"], rec["lesion_id"], rec["assessment_date"], rec["lesion_kind"],
                 rec["is_lymph_node"], rec["diameter_mm"], rec["status"]):
        per_patient.setdefault(r[0], []).append(r[1:])
    for pid in sorted(per_patient):
        v, b, lrows, lv = _assess_patient(pid, per_patient[pid], sd_min_days, bool(confirm))
        visits += v
        best.append(b)
        lesion_rows += lrows
        lesion_visits += lv
    visits_df = _frame(visits, VISIT_COLUMNS, ["assessment_date"])
    for c in ("target_response", "non_target_response", "overall_response"):
        visits_df[c] = visits_df[c].astype(object).where(visits_df[c].notna(), None)
    for c in ("new_lesion", "new_lesion_equivocal", "pd_dated_back", "is_baseline"):
        visits_df[c] = visits_df[c].astype(bool)
    best_df = _frame(best, BEST_COLUMNS, ["progression_date", "best_response_date", "baseline_date"])
    lesion_df = _frame(lesion_rows, LESION_COLUMNS, ["best_assessment_date"])
    lv_df = _frame(lesion_visits, LESION_VISIT_COLUMNS, ["assessment_date"])
    if les is not None and "organ" in les.columns:
        lesion_df = lesion_df.merge(les[["patient_id", "lesion_id", "organ"]], on=["patient_id", "lesion_id"],
                                    how="left")
    params = {"sd_min_days": sd_min_days, "confirm": bool(confirm), "confirm_min_days": confirm_min_days}
    return RecistAssessment(visits_df, best_df, lesion_df, lv_df, params)
