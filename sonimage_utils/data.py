"""Load a validated cohort and derive the patient-level analysis set (PFS1 and heterogeneity)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dictionary import COHORTS
from .heterogeneity import derive_patient_heterogeneity
from .validate import validate_cohort

__all__ = [
    "DAYS_PER_MONTH",
    "InvalidDataError",
    "Cohort",
    "available_cohorts",
    "load_cohort",
    "derive_pfs_months",
    "build_analysis_set",
]

#: Days per month for PFS in months (data-contract.md): 365.25 / 12.
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
    """Cohort folders present in ``data_dir``, in contract order."""
    return [c for c in COHORTS if (Path(data_dir) / c).is_dir()]


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

    Raises
    ------
    InvalidDataError
        If the cohort's folder is absent or has any error (warnings are allowed).
    """
    if not (Path(data_dir) / cohort).is_dir():
        raise InvalidDataError([f"{cohort}/: cohort folder is missing in {data_dir}"])
    tables, problems = validate_cohort(Path(data_dir), cohort)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        raise InvalidDataError(errors)
    return Cohort(cohort, tables["patients"], tables["lesions"], tables.get("scans"), tables.get("recist"))


def derive_pfs_months(patients: pd.DataFrame) -> pd.Series:
    """PFS1 in months: (pfs1_date - randomization_date) in days / 30.4375.

    Examples
    --------
    >>> p = pd.DataFrame({"randomization_date": pd.to_datetime(["2020-01-01"]),
    ...                   "pfs1_date": pd.to_datetime(["2021-01-01"])})
    >>> round(float(derive_pfs_months(p).iloc[0]), 4)
    12.0246
    """
    days = (patients["pfs1_date"] - patients["randomization_date"]).dt.days.astype(float)
    if (days < 0).any():
        raise ValueError("pfs1_date before randomization_date; validate the data folder first")
    return days / DAYS_PER_MONTH


def build_analysis_set(cohort: Cohort, *, fes_threshold: float = 1.5, fes_excluded_organs=("liver",),
                       fdg_threshold=None) -> pd.DataFrame:
    """One row per patient: the patients table, ``pfs1_months`` and the heterogeneity columns.

    No patient is dropped: a patient without an FES-assessable lesion keeps ``hs`` and the groups
    missing. ``attrs["exclusions"]`` counts, per reason, the patients an analysis of the primary
    heterogeneity group has to leave out, and ``attrs["fdg_threshold"]`` the FDG threshold used.

    Parameters
    ----------
    cohort : Cohort
    fes_threshold, fes_excluded_organs, fdg_threshold
        See :func:`sonimage_utils.heterogeneity.derive_patient_heterogeneity`.

    Returns
    -------
    DataFrame
    """
    het = derive_patient_heterogeneity(cohort.lesions, fes_threshold, fes_excluded_organs, fdg_threshold)
    out = cohort.patients.merge(het, on="patient_id", how="left", validate="one_to_one")
    out["n_lesions"] = out["n_lesions"].fillna(0).astype(int)
    out["pfs1_months"] = derive_pfs_months(out)
    out["pfs1_event"] = out["pfs1_event"].astype(int)
    out["treated_cdk46i"] = (out["arm"] == "ET+CDK4/6i").astype(int)
    no_lesion = int((out["n_lesions"] == 0).sum())
    no_assessable = int(((out["n_lesions"] > 0) & out["hs"].isna()).sum())
    out.attrs["exclusions"] = {"no lesion row": no_lesion, "no FES-assessable lesion": no_assessable}
    out.attrs["fdg_threshold"] = het.attrs.get("fdg_threshold", np.nan)
    return out
