"""Load a validated cohort folder into typed tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sonimage_utils.data.dictionary import COHORTS, load_dictionary
from sonimage_utils.data.validate import cohort_path_problem, validate_cohort

__all__ = [
    "DAYS_PER_MONTH",
    "InvalidDataError",
    "Cohort",
    "available_cohorts",
    "load_cohort",
    "canonical_order",
]

#: Days per month for PFS in months (book/methods.md, section PFS1): 365.25 / 12.
DAYS_PER_MONTH = 30.4375


class InvalidDataError(ValueError):
    """A data folder that does not follow the data contract; ``problems`` lists every error."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = "\n".join(str(p) for p in self.problems[:20])
        more = f"\n... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} data problem(s); run `sonimage validate`:\n{lines}{more}")


@dataclass
class Cohort:
    """The typed tables of one cohort (None where a table is absent)."""

    name: str
    patients: pd.DataFrame
    lesions: pd.DataFrame
    scans: pd.DataFrame | None = None
    recist: pd.DataFrame | None = None


def available_cohorts(data_dir) -> list[str]:
    """Cohort folders present in ``data_dir``, in contract order.

    Raises
    ------
    InvalidDataError
        If a cohort's path is there but is no readable folder (a file, a dangling symbolic link, a link loop):
        such a cohort is reported, never dropped as if absent.
    """
    bad = [p for p in (cohort_path_problem(data_dir, c) for c in COHORTS) if p is not None]
    if bad:
        raise InvalidDataError(bad)
    return [c for c in COHORTS if (Path(data_dir) / c).is_dir()]


def canonical_order(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """``table`` sorted by its contract key (``primary_key`` in ``data_dictionary/NAME.yml``), index 0..n-1.

    The same data in any row order give the same frame, so results cannot depend on how a centre exported
    its rows. The key is unique in a valid table (a cross-table rule), so the order is total.

    Raises
    ------
    ValueError
        If ``name`` is not a table of the data dictionary or ``table`` lacks a key column.
    """
    specs = load_dictionary()
    if name not in specs:
        raise ValueError(f"unknown table {name!r}; expected one of {', '.join(specs)}")
    key = list(specs[name].primary_key)
    missing = [k for k in key if k not in table.columns]
    if missing:
        raise ValueError(f"{name}: key column(s) {', '.join(missing)} missing")
    return table.sort_values(key, kind="mergesort", na_position="last").reset_index(drop=True)


def load_cohort(data_dir, cohort: str = "sonimage") -> Cohort:
    """Validate and load one cohort folder.

    Parameters
    ----------
    data_dir : str or Path
        A data folder in the data-contract layout.
    cohort : {"sonimage", "impact_mbc", "et_fes"}

    Returns
    -------
    Cohort
        Every table in canonical row order (:func:`canonical_order`), whatever the order in the files.

    Raises
    ------
    InvalidDataError
        If the cohort's folder is absent or has any error (warnings are allowed).
    """
    bad = cohort_path_problem(data_dir, cohort)
    if bad is not None:
        raise InvalidDataError([bad])
    if not (Path(data_dir) / cohort).is_dir():
        raise InvalidDataError([f"{cohort}/: cohort folder is missing in {data_dir}"])
    tables, problems = validate_cohort(Path(data_dir), cohort)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        raise InvalidDataError(errors)
    # validation indexes rows by their CSV line; canonical_order sorts by the contract key and renumbers 0..n-1
    tables = {name: None if df is None else canonical_order(df, name) for name, df in tables.items()}
    return Cohort(cohort, tables["patients"], tables["lesions"], tables.get("scans"), tables.get("recist"))
