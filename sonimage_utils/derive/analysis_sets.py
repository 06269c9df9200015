"""The patient-level analysis set: PFS1 in months and the heterogeneity columns, one row per patient."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.data.load import DAYS_PER_MONTH, Cohort
from sonimage_utils.derive.heterogeneity import derive_patient_heterogeneity

__all__ = ["derive_pfs_months", "build_analysis_set"]


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


def build_analysis_set(cohort: Cohort, *, fes_threshold: float, fes_excluded_organs,
                       fdg_threshold: float | None) -> pd.DataFrame:
    """One row per patient: the patients table, ``pfs1_months`` and the heterogeneity columns.

    No patient is dropped: a patient without an FES-assessable lesion keeps ``hs`` and the groups
    missing. ``attrs["exclusions"]`` counts, per reason, the patients an analysis of the primary
    heterogeneity group has to leave out, and ``attrs["fdg_threshold"]`` the FDG threshold used.

    Parameters
    ----------
    cohort : Cohort
    fes_threshold, fes_excluded_organs, fdg_threshold
        The SAP values of analysis.yml; see
        :func:`sonimage_utils.derive.heterogeneity.derive_patient_heterogeneity`.

    Returns
    -------
    DataFrame
    """
    het = derive_patient_heterogeneity(cohort.lesions, fes_threshold=fes_threshold,
                                       fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg_threshold)
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
