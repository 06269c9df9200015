"""Read and check the RECIST input tables (recist.csv, lesions.csv) for :func:`sonimage_utils.recist.assess`.

The tables may come straight from ``pandas.read_csv`` (dates as strings, booleans as ``true``/``false``)
or already typed by :func:`sonimage_utils.data.load_cohort`; both give the same result. Every problem raises
``ValueError`` naming the patient, the lesion and the data-dictionary rule it breaks (``rules.yml`` ids), so
that the message agrees with ``sonimage validate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["parse_recist", "parse_lesions", "check_recist", "RECIST_COLUMNS"]

#: Columns of recist.csv that :func:`parse_recist` needs.
RECIST_COLUMNS = ("patient_id", "lesion_id", "assessment_date", "lesion_kind", "is_lymph_node",
                  "diameter_mm", "status")
_KINDS = ("target", "non_target", "new")
_STATUS = {
    "target": ("too_small",),  # extension: empty is the contract's value; too_small forces 5 mm
    "non_target": ("present", "absent", "unequivocal_progression", "not_assessed"),
    "new": ("equivocal", "unequivocal"),
}
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
_MEASURABLE_MM = {False: 10.0, True: 15.0}


def _fail(rule: str, patient_id, lesion_id, message: str):
    raise ValueError(f"recist: {message} (patient_id={patient_id}, lesion_id={lesion_id}, rule={rule})")


def _text(series: pd.Series) -> pd.Series:
    """Strings stripped and lower-cased where wanted; missing and empty strings become None."""
    out = series.astype(object).where(series.notna(), None)
    out = out.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())
    return out


def _bool(series: pd.Series, table: pd.DataFrame, column: str) -> pd.Series:
    def one(v):
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (int, np.integer, float)) and v in (0, 1):
            return bool(v)
        s = str(v).strip().lower()
        return True if s in _TRUE else False if s in _FALSE else "bad"

    values = series.map(one)
    bad = values.map(lambda v: v is None or v == "bad")
    if bad.any():
        i = bad.idxmax()
        _fail("recist_fields", table.at[i, "patient_id"], table.at[i, "lesion_id"],
              f"{column} must be true/false, got {series[i]!r}")
    return values.astype(bool)


def parse_recist(recist: pd.DataFrame) -> pd.DataFrame:
    """Type recist.csv: ids as str, dates as datetime64, ``is_lymph_node`` bool, diameters float.

    Parameters
    ----------
    recist : pandas.DataFrame
        The contract's recist.csv, as read by ``pandas.read_csv`` or typed.

    Returns
    -------
    pandas.DataFrame
        A typed copy with the columns of :data:`RECIST_COLUMNS`, sorted by patient, date and lesion.

    Raises
    ------
    ValueError
        On a missing column, an unparsable date, diameter or boolean, or an unknown lesion kind or status.
    """
    if not isinstance(recist, pd.DataFrame):
        raise ValueError(f"recist must be a pandas DataFrame, got {type(recist).__name__}")
    missing = [c for c in RECIST_COLUMNS if c not in recist.columns]
    if missing:
        raise ValueError(f"recist: missing column(s) {missing} (rule=columns)")
    df = recist.loc[:, list(RECIST_COLUMNS)].copy().reset_index(drop=True)
    df["patient_id"] = _text(df["patient_id"])
    df["lesion_id"] = _text(df["lesion_id"])
    for col in ("patient_id", "lesion_id"):
        if df[col].isna().any():
            i = df[col].isna().idxmax()
            _fail("recist_fields", df.at[i, "patient_id"], df.at[i, "lesion_id"], f"{col} is missing")
    dates = pd.to_datetime(df["assessment_date"], errors="coerce", format="mixed") \
        if not pd.api.types.is_datetime64_any_dtype(df["assessment_date"]) else df["assessment_date"]
    if dates.isna().any():
        i = dates.isna().idxmax()
        _fail("recist_fields", df.at[i, "patient_id"], df.at[i, "lesion_id"],
              f"assessment_date {df.at[i, 'assessment_date']!r} is not a date")
    df["assessment_date"] = dates.astype("datetime64[ns]").dt.normalize()
    df["lesion_kind"] = _text(df["lesion_kind"]).map(lambda v: v.lower() if v else v)
    bad = ~df["lesion_kind"].isin(_KINDS)
    if bad.any():
        i = bad.idxmax()
        _fail("recist_fields", df.at[i, "patient_id"], df.at[i, "lesion_id"],
              f"lesion_kind must be one of {list(_KINDS)}, got {df.at[i, 'lesion_kind']!r}")
    df["status"] = _text(df["status"]).map(lambda v: v.lower() if v else v)
    df["is_lymph_node"] = _bool(df["is_lymph_node"], df, "is_lymph_node")
    diam = pd.to_numeric(df["diameter_mm"], errors="coerce").astype(float)
    bad = diam.isna() & df["diameter_mm"].notna() & (df["diameter_mm"].astype(str).str.strip() != "")
    bad |= diam < 0
    if bad.any():
        i = bad.idxmax()
        _fail("recist_fields", df.at[i, "patient_id"], df.at[i, "lesion_id"],
              f"diameter_mm must be a number >= 0, got {df.at[i, 'diameter_mm']!r}")
    df["diameter_mm"] = diam
    return df.sort_values(["patient_id", "assessment_date", "lesion_id"], kind="mergesort").reset_index(drop=True)


def parse_lesions(lesions: pd.DataFrame | None) -> pd.DataFrame | None:
    """Type the columns of lesions.csv that RECIST needs (``patient_id``, ``lesion_id``, ``organ``).

    Parameters
    ----------
    lesions : pandas.DataFrame or None

    Returns
    -------
    pandas.DataFrame or None
        All columns kept; ids as str.

    Raises
    ------
    ValueError
        On a missing ``patient_id``/``lesion_id`` column or a duplicated lesion.
    """
    if lesions is None:
        return None
    if not isinstance(lesions, pd.DataFrame):
        raise ValueError(f"lesions must be a pandas DataFrame or None, got {type(lesions).__name__}")
    missing = [c for c in ("patient_id", "lesion_id") if c not in lesions.columns]
    if missing:
        raise ValueError(f"lesions: missing column(s) {missing} (rule=columns)")
    df = lesions.copy().reset_index(drop=True)
    df["patient_id"] = _text(df["patient_id"])
    df["lesion_id"] = _text(df["lesion_id"])
    dup = df.duplicated(["patient_id", "lesion_id"])
    if dup.any():
        i = dup.idxmax()
        _fail("unique_keys", df.at[i, "patient_id"], df.at[i, "lesion_id"], "lesion listed twice in lesions")
    if "organ" in df.columns:
        df["organ"] = _text(df["organ"])
    return df


def check_recist(rec: pd.DataFrame, les: pd.DataFrame | None) -> None:
    """Check the RECIST rules of the data contract on typed tables.

    Parameters
    ----------
    rec : pandas.DataFrame
        Output of :func:`parse_recist`.
    les : pandas.DataFrame or None
        Output of :func:`parse_lesions`; None skips the cross-table checks.

    Raises
    ------
    ValueError
        Naming patient, lesion and rule: duplicated (patient, lesion, date) (``unique_keys``, e.g. two
        baseline rows); status or diameter not of the lesion's kind, a target lesion without a baseline
        diameter > 0 (``recist_fields``); a baseline target below the measurable size (10 mm, nodes 15 mm),
        a non-target lesion not ``present`` at baseline or a node flag that changes (``recist_baseline``);
        a target or non-target lesion not at baseline, a new lesion at baseline, a lesion changing kind, a
        target or non-target lesion not in lesions.csv, a new lesion reusing a baseline id (``recist_lesions``); more than 5 targets or 2 per organ (``target_limits``); a patient with RECIST
        rows but none in lesions.csv (``foreign_key``).
    """
    dup = rec.duplicated(["patient_id", "lesion_id", "assessment_date"])
    if dup.any():
        i = dup.idxmax()
        _fail("unique_keys", rec.at[i, "patient_id"], rec.at[i, "lesion_id"],
              f"two rows for the same lesion on {rec.at[i, 'assessment_date'].date()}")
    for i, row in enumerate(rec.itertuples(index=False)):
        allowed = _STATUS[row.lesion_kind]
        if row.status is not None and row.status not in allowed:
            _fail("recist_fields", row.patient_id, row.lesion_id,
                  f"status {row.status!r} not allowed for a {row.lesion_kind} lesion (allowed: {list(allowed)})")
        if row.lesion_kind != "target" and not np.isnan(row.diameter_mm):
            _fail("recist_fields", row.patient_id, row.lesion_id,
                  f"a {row.lesion_kind} lesion carries no diameter_mm (got {row.diameter_mm})")
        if row.lesion_kind != "target" and row.status is None:
            _fail("recist_fields", row.patient_id, row.lesion_id, f"a {row.lesion_kind} lesion needs a status")
    known = None
    if les is not None:
        known = set(zip(les["patient_id"], les["lesion_id"]))
        organ = dict(zip(zip(les["patient_id"], les["lesion_id"]), les["organ"])) if "organ" in les else {}
        no_lesions = set(rec["patient_id"]) - set(les["patient_id"])
        if no_lesions:
            pid = sorted(no_lesions)[0]
            _fail("foreign_key", pid, None, "patient has RECIST rows but no row in lesions")
    firsts = rec.groupby("patient_id", sort=False)["assessment_date"].transform("min")
    lesion_first = rec.groupby(["patient_id", "lesion_id"], sort=False)["assessment_date"].transform("min")
    n_kinds = rec.groupby(["patient_id", "lesion_id"], sort=False)["lesion_kind"].transform("nunique")
    n_node = rec.groupby(["patient_id", "lesion_id"], sort=False)["is_lymph_node"].transform("nunique")
    for i in np.flatnonzero((n_kinds > 1).to_numpy()):
        _fail("recist_lesions", rec.at[i, "patient_id"], rec.at[i, "lesion_id"], "lesion changes kind over time")
    for i in np.flatnonzero((n_node > 1).to_numpy()):
        _fail("recist_baseline", rec.at[i, "patient_id"], rec.at[i, "lesion_id"], "is_lymph_node changes over time")
    tracked = rec["lesion_kind"].isin(["target", "non_target"]).to_numpy()
    late = (lesion_first != firsts).to_numpy()
    for i in np.flatnonzero(tracked & late):
        _fail("recist_lesions", rec.at[i, "patient_id"], rec.at[i, "lesion_id"],
              f"{rec.at[i, 'lesion_kind']} lesion missing at the baseline assessment ({firsts[i].date()}); "
              f"first seen {lesion_first[i].date()}")
    at_base = (rec["assessment_date"] == firsts).to_numpy()
    for i in np.flatnonzero(~tracked & at_base):
        _fail("recist_lesions", rec.at[i, "patient_id"], rec.at[i, "lesion_id"],
              "a new lesion cannot be recorded at the baseline assessment")
    if known is not None:
        in_known = np.array([k in known for k in zip(rec["patient_id"], rec["lesion_id"])], dtype=bool)
        for i in np.flatnonzero(tracked & ~in_known):
            _fail("recist_lesions", rec.at[i, "patient_id"], rec.at[i, "lesion_id"],
                  f"{rec.at[i, 'lesion_kind']} lesion not found in lesions")
        for i in np.flatnonzero(~tracked & in_known):
            _fail("recist_lesions", rec.at[i, "patient_id"], rec.at[i, "lesion_id"],
                  "a new lesion reuses the id of a baseline lesion")
    for pid, base in rec[at_base].groupby("patient_id", sort=False):
        targets = base[base["lesion_kind"] == "target"]
        for row in targets.itertuples(index=False):
            d = row.diameter_mm
            if np.isnan(d) or d <= 0:
                _fail("recist_fields", pid, row.lesion_id, f"target lesion needs a baseline diameter > 0 (got {d})")
            need = _MEASURABLE_MM[bool(row.is_lymph_node)]
            if d < need:
                what = "short axis of a nodal" if row.is_lymph_node else "longest diameter of a non-nodal"
                _fail("recist_baseline", pid, row.lesion_id,
                      f"{what} target lesion must be >= {need:g} mm at baseline (got {d:g})")
        nontarget = base[base["lesion_kind"] == "non_target"]
        for row in nontarget.itertuples(index=False):
            if row.status not in ("present",):
                _fail("recist_baseline", pid, row.lesion_id,
                      f"non-target lesion must be 'present' at baseline (got {row.status!r})")
        if len(targets) > 5:
            _fail("target_limits", pid, targets["lesion_id"].iloc[5], f"{len(targets)} target lesions (at most 5)")
        if les is not None and organ:
            per_organ = targets["lesion_id"].map(lambda lid: organ.get((pid, lid)))
            counts = per_organ.value_counts()
            if (counts > 2).any():
                org = counts.index[counts > 2][0]
                lid = targets["lesion_id"][per_organ == org].iloc[2]
                _fail("target_limits", pid, lid, f"{counts[org]} target lesions in {org} (at most 2 per organ)")
