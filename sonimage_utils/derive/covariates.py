"""Model covariates derived from the analysis set (frame -> frame): the scales the Cox models use."""

from __future__ import annotations

import pandas as pd

__all__ = ["derive_model_covariates"]


def derive_model_covariates(analysis: pd.DataFrame) -> pd.DataFrame:
    """Add the covariates of the objective-1 models to a copy of the analysis set.

    * ``hs10``: the heterogeneity score per 10 points (``hs / 10``), so that a hazard ratio is per 10 points
      more FES-positive lesions; missing where ``hs`` is.
    * ``who_ps_1plus``: WHO performance status 1 or more vs 0 (nullable boolean; missing where the status
      is). Status 2 is too rare in a cohort of this size to be estimated on its own.

    Parameters
    ----------
    analysis : pandas.DataFrame
        From :func:`sonimage_utils.derive.build_analysis_set`, with ``hs`` and ``who_performance_status``.

    Returns
    -------
    pandas.DataFrame
        A copy with the two columns added; ``attrs`` kept.

    Raises
    ------
    ValueError
        If ``hs`` or ``who_performance_status`` is missing.

    Examples
    --------
    >>> a = pd.DataFrame({"hs": [100.0, 50.0, None], "who_performance_status": [0, 2, None]})
    >>> out = derive_model_covariates(a)
    >>> out["hs10"].tolist()[:2], out["who_ps_1plus"].tolist()
    ([10.0, 5.0], [False, True, <NA>])
    """
    missing = {"hs", "who_performance_status"} - set(analysis.columns)
    if missing:
        raise ValueError(f"analysis set lacks {sorted(missing)}")
    out = analysis.copy()
    out["hs10"] = out["hs"] / 10
    status = out["who_performance_status"]
    out["who_ps_1plus"] = (status >= 1).astype("boolean").mask(status.isna())
    return out
