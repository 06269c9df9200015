"""FES/FDG heterogeneity, lesion -> patient (``book/methods.md``, section Heterogeneity).

The book fixes one direction for the heterogeneity score: the share of FES-*positive* lesions among
FES-assessable lesions (Boers et al. 2020), so HS = 100 is ER-homogeneous.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "HET_LEVELS",
    "HET3_LEVELS",
    "PATTERN_LEVELS",
    "derive_lesion_fes_status",
    "derive_patient_heterogeneity",
]

#: Primary grouping, reference level first.
HET_LEVELS = ("homogeneous", "heterogeneous")
#: Secondary grouping, reference level first.
HET3_LEVELS = ("homogeneous_positive", "mixed", "homogeneous_negative")
#: Combined FES/FDG pattern after Kurland et al. 2017, reference level first.
PATTERN_LEVELS = ("fdg_low", "fdg_high_fes_homogeneous", "fdg_high_fes_heterogeneous")


def derive_lesion_fes_status(lesions: pd.DataFrame, *, fes_threshold: float, fes_excluded_organs) -> pd.DataFrame:
    """Add FES assessability and positivity to each lesion.

    A lesion is FES-assessable when its organ is not excluded and ``fes_suvmax`` is not missing; it is
    FES-positive when ``fes_suvmax >= fes_threshold``.

    Parameters
    ----------
    lesions : DataFrame
        The contract's lesions table (``organ``, ``fes_suvmax``).
    fes_threshold : float
        SUVmax at or above which a lesion is FES-positive (``fes_threshold`` of analysis.yml).
    fes_excluded_organs : sequence of str
        Organs where FES is not assessable (``fes_excluded_organs`` of analysis.yml).

    Returns
    -------
    DataFrame
        A copy with ``fes_assessable`` (bool), ``fes_positive`` (boolean, NA when not assessable) and
        ``fes_status`` (``positive``, ``negative``, ``not_assessable``).

    Raises
    ------
    ValueError
        If the threshold is not positive or a needed column is missing.

    Examples
    --------
    >>> les = pd.DataFrame({"organ": ["bone", "liver", "bone"], "fes_suvmax": [2.0, 3.0, 1.0]})
    >>> derive_lesion_fes_status(les, fes_threshold=1.5, fes_excluded_organs=["liver"])["fes_status"].tolist()
    ['positive', 'not_assessable', 'negative']
    """
    if not np.isfinite(fes_threshold) or fes_threshold <= 0:
        raise ValueError(f"fes_threshold must be a positive number, got {fes_threshold!r}")
    missing = {"organ", "fes_suvmax"} - set(lesions.columns)
    if missing:
        raise ValueError(f"lesions lacks column(s) {sorted(missing)}")
    out = lesions.copy()
    suv = pd.to_numeric(out["fes_suvmax"], errors="coerce")
    assessable = ~out["organ"].isin(list(fes_excluded_organs)) & suv.notna()
    out["fes_assessable"] = assessable.astype(bool)
    out["fes_positive"] = pd.array(np.where(assessable, suv >= fes_threshold, False), dtype="boolean")
    out.loc[~assessable, "fes_positive"] = pd.NA
    out["fes_status"] = np.select([~assessable, suv >= fes_threshold], ["not_assessable", "positive"], "negative")
    return out


def derive_patient_heterogeneity(lesions: pd.DataFrame, *, fes_threshold: float, fes_excluded_organs,
                                 fdg_threshold: float | None) -> pd.DataFrame:
    """Summarise lesions per patient: heterogeneity score, groups, FDG uptake and the FES/FDG pattern.

    Parameters
    ----------
    lesions : DataFrame
        The contract's lesions table.
    fes_threshold, fes_excluded_organs
        See :func:`derive_lesion_fes_status`.
    fdg_threshold : float or None
        Patient FDG SUVmax at or above which FDG uptake is high; None: the cohort median of patient FDG
        SUVmax (``fdg_threshold`` of analysis.yml).

    Returns
    -------
    DataFrame
        One row per patient_id: ``n_lesions``, ``n_fes_assessable``, ``n_fes_positive``, ``hs``
        (0-100; NaN without assessable lesions), ``het_group`` and ``het_group3`` (ordered categoricals,
        reference first, NA when ``hs`` is NaN), ``mean_fes_suvmax`` and ``min_fes_suvmax`` (assessable lesions),
        ``fdg_suvmax`` (patient max; NaN without FDG), ``fdg_high`` (boolean), ``fes_fdg_pattern``
        (categorical) and ``fdg_threshold`` (the value used). ``attrs["fdg_threshold"]`` holds it too.

    References
    ----------
    Boers J et al. Eur J Cancer 2020;126:11-20. Kurland BF et al. Clin Cancer Res 2017;23:407-15.

    Examples
    --------
    >>> les = pd.DataFrame({"patient_id": ["a", "a", "b"], "organ": ["bone", "bone", "liver"],
    ...                     "fes_suvmax": [2.0, 1.0, None], "fdg_suvmax": [4.0, 6.0, 5.0]})
    >>> out = derive_patient_heterogeneity(les, fes_threshold=1.5, fes_excluded_organs=["liver"], fdg_threshold=None)
    >>> out[["patient_id", "hs", "het_group"]].to_dict("list")
    {'patient_id': ['a', 'b'], 'hs': [50.0, nan], 'het_group': ['heterogeneous', nan]}
    """
    les = derive_lesion_fes_status(lesions, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs)
    les["_pos"] = les["fes_positive"].fillna(False).astype(bool)
    les["_suv_assessable"] = pd.to_numeric(les["fes_suvmax"], errors="coerce").where(les["fes_assessable"])
    les["_fdg"] = pd.to_numeric(les.get("fdg_suvmax"), errors="coerce")
    g = les.groupby("patient_id", sort=True)
    out = pd.DataFrame({
        "n_lesions": g.size(),
        "n_fes_assessable": g["fes_assessable"].sum().astype(int),
        "n_fes_positive": g["_pos"].sum().astype(int),
        "mean_fes_suvmax": g["_suv_assessable"].mean(),
        "min_fes_suvmax": g["_suv_assessable"].min(),
        "fdg_suvmax": g["_fdg"].max(),
    }).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        hs = 100.0 * out["n_fes_positive"] / out["n_fes_assessable"].where(out["n_fes_assessable"] > 0)
    out["hs"] = hs
    out["het_group"] = pd.Categorical(np.where(hs.isna(), None, np.where(hs >= 100, HET_LEVELS[0], HET_LEVELS[1])),
                                      categories=HET_LEVELS, ordered=True)
    level3 = np.select([hs >= 100, hs <= 0], [HET3_LEVELS[0], HET3_LEVELS[2]], HET3_LEVELS[1])
    out["het_group3"] = pd.Categorical(np.where(hs.isna(), None, level3), categories=HET3_LEVELS, ordered=True)
    if fdg_threshold is None:
        fdg_threshold = float(out["fdg_suvmax"].median()) if out["fdg_suvmax"].notna().any() else np.nan
    high = out["fdg_suvmax"] >= fdg_threshold
    out["fdg_high"] = pd.array(np.where(out["fdg_suvmax"].isna(), None, high), dtype="boolean")
    pattern = np.select([~high, out["het_group"].eq(HET_LEVELS[0])], [PATTERN_LEVELS[0], PATTERN_LEVELS[1]],
                        PATTERN_LEVELS[2])
    unknown = out["fdg_suvmax"].isna() | (high & hs.isna())
    out["fes_fdg_pattern"] = pd.Categorical(np.where(unknown, None, pattern), categories=PATTERN_LEVELS, ordered=True)
    out["fdg_threshold"] = fdg_threshold
    out.attrs["fdg_threshold"] = fdg_threshold
    return out[["patient_id", "n_lesions", "n_fes_assessable", "n_fes_positive", "hs", "het_group", "het_group3",
                "mean_fes_suvmax", "min_fes_suvmax", "fdg_suvmax", "fdg_high", "fes_fdg_pattern", "fdg_threshold"]]
