"""Read and check the RECIST input tables (recist.csv, lesions.csv) for :func:`sonimage_utils.recist.assess`.

The tables may come straight from ``pandas.read_csv`` (dates as strings, booleans as ``true``/``false``)
or already typed by :func:`sonimage_utils.data.load_cohort`; both give the same result. Every problem raises
``ValueError`` naming the patient, the lesion and the data-dictionary rule it breaks (``rules.yml`` ids), so
that the message agrees with ``sonimage validate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.data.dictionary import load_dictionary

__all__ = ["parse_recist", "parse_lesions", "check_recist", "RECIST_COLUMNS"]

#: Columns of recist.csv that :func:`parse_recist` needs.
RECIST_COLUMNS = ("patient_id", "lesion_id", "assessment_date", "lesion_kind", "is_lymph_node",
                  "diameter_mm", "status")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
#: The engine's extension of the contract: a target row may say ``too_small`` (counted as 5 mm, RECIST 1.1);
#: the contract leaves the status of a target row empty. Every other code list and threshold the engine
#: checks is the validator's own, read from data_dictionary/ (recist.yml, rules.yml) by :func:`check_recist`.
_TOO_SMALL = "too_small"


def _lesion_kinds() -> tuple:
    """The lesion kinds recist.csv allows (``lesion_kind`` in data_dictionary/recist.yml)."""
    column = next(c for c in load_dictionary()["recist"].columns("sonimage") if c.name == "lesion_kind")
    return tuple(column.allowed)


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
    kinds = _lesion_kinds()
    bad = ~df["lesion_kind"].isin(kinds)
    if bad.any():
        i = bad.idxmax()
        _fail("recist_fields", df.at[i, "patient_id"], df.at[i, "lesion_id"],
              f"lesion_kind must be one of {list(kinds)}, got {df.at[i, 'lesion_kind']!r}")
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
    """Check the data contract's RECIST rules on typed tables: the very rules ``sonimage validate`` runs.

    The cross-table rules are those of :mod:`sonimage_utils.data.checks` with the parameters of
    ``data_dictionary/rules.yml`` (measurability, target limits, status codes; ids as there), applied to these
    frames, so the engine and the validator cannot disagree; the first error is raised. One check is
    the engine's own: every patient with RECIST rows needs lesions.csv rows (for the organ of each target).

    Parameters
    ----------
    rec : pandas.DataFrame
        Output of :func:`parse_recist`.
    les : pandas.DataFrame or None
        Output of :func:`parse_lesions`; None skips the checks against lesions.csv.

    Raises
    ------
    ValueError
        Naming patient, lesion and rule (``unique_keys``, ``recist_fields``, ``recist_lesions``,
        ``recist_baseline``, ``target_limits``, ``foreign_key``).
    """
    from sonimage_utils.data.checks import check_rules

    frame = rec.reset_index(drop=True).copy()
    # the engine's extension: a target row may say `too_small` (counts 5 mm); the contract leaves it empty
    frame["status"] = frame["status"].where(~(frame["lesion_kind"].eq("target") & frame["status"].eq(_TOO_SMALL)),
                                            None)
    tables = {"patients": None, "scans": None, "recist": frame,
              "lesions": None if les is None else les.reset_index(drop=True)}
    errors = [p for p in check_rules(tables, "sonimage") if p.level == "error"]
    if errors:
        first = errors[0]
        source = frame if first.file.endswith("recist.csv") else tables["lesions"]
        lesion_id = source.at[first.row - 2, "lesion_id"] if first.row >= 2 else None
        _fail(first.rule, first.patient_id, lesion_id, first.message)
    if les is not None:
        no_lesions = sorted(set(frame["patient_id"]) - set(les["patient_id"]))
        if no_lesions:
            _fail("foreign_key", no_lesions[0], None, "patient has RECIST rows but no row in lesions")
