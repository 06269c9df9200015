"""PATH risk modelling: the relative and absolute effect of adding a CDK4/6 inhibitor across risk groups.

One job: split patients by quantiles of the prognostic linear predictor (a model blinded to arm) and
estimate, in each group, the hazard ratio of ET+CDK4/6i vs ET (Cox, Efron ties, via
``survival_cox.fit_cox``) and the absolute difference in Kaplan-Meier PFS at the horizon (Greenwood CI);
plus a likelihood-ratio test of arm x linear predictor (is the relative effect constant over risk?).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sonimage_utils.benefit.metrics import assign_quantile_groups
from sonimage_utils.survival.baseline import compute_km_at
from sonimage_utils.survival.cox import compute_lr_test, fit_cox

__all__ = ["assign_risk_groups", "compute_risk_group_effects"]


def assign_risk_groups(lp, n_groups) -> np.ndarray:
    """Risk group (1 = lowest predicted risk) of each linear predictor value, ties kept together.

    See :func:`sonimage_utils.benefit.assign_quantile_groups`; at least 2 groups are asked for.

    Raises
    ------
    ValueError
        If ``n_groups`` < 2 or exceeds the number of patients.

    Examples
    --------
    >>> assign_risk_groups([0.3, -1.0, 2.0, 0.0], 2).tolist()
    [2, 1, 2, 1]
    """
    if n_groups < 2:
        raise ValueError(f"n_groups must be between 2 and the number of patients, got {n_groups}")
    return assign_quantile_groups(lp, n_groups)


def compute_risk_group_effects(frame: pd.DataFrame, *, t: float, n_groups: int, lp: str = "lp",
                               time: str = "pfs1_months", event: str = "pfs1_event", arm: str = "arm",
                               predicted: str | None = None, conf_level: float = 0.95) -> pd.DataFrame:
    """Relative (HR) and absolute (KM difference at ``t``) effect of ET+CDK4/6i within risk groups.

    Parameters
    ----------
    frame : DataFrame
        One row per patient with the prognostic linear predictor, PFS1 time and event, and arm
        (``ET+CDK4/6i`` / ``ET``).
    t : float
        Horizon (months) of the absolute effect.
    n_groups : int
        Quantile groups of ``lp`` (thirds or quarters); fewer when predictions tie (see
        :func:`assign_risk_groups`).
    lp, time, event, arm : str
        Column names.
    predicted : str, optional
        Column of model-predicted benefit at ``t``; its group mean is added as ``predicted_benefit``.
    conf_level : float

    Returns
    -------
    DataFrame
        One row per group: ``risk_group``, ``lp_min``, ``lp_max``, ``n``, ``n_events``, ``hr``,
        ``hr_ci_low``, ``hr_ci_high``, ``hr_status`` (``fit_cox`` status), ``pfs_et``, ``pfs_cdk``,
        ``abs_benefit``, ``abs_ci_low``, ``abs_ci_high`` (and ``predicted_benefit``).
        ``attrs["interaction_p"]``: LR test of ``lp x arm`` against ``lp + arm``.

    Raises
    ------
    ValueError
        If columns are missing or an arm is not ET+CDK4/6i/ET.

    References
    ----------
    Kent DM, et al. The PATH statement. Ann Intern Med 2020;172:35-45.
    """
    missing = [c for c in (lp, time, event, arm) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}")
    if not frame[arm].isin(["ET+CDK4/6i", "ET"]).all():
        raise ValueError("arm must be ET+CDK4/6i or ET for every patient")
    df = pd.DataFrame({"lp": frame[lp].to_numpy(float), "pfs1_months": frame[time].to_numpy(float),
                       "pfs1_event": frame[event].to_numpy(int), "arm": frame[arm].to_numpy()})
    df["risk_group"] = assign_risk_groups(df["lp"], n_groups)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    rows = []
    for g, sub in df.groupby("risk_group"):
        cox = fit_cox(sub, "arm", reference={"arm": "ET"}, conf_level=conf_level)
        row = cox.summary.iloc[0]
        km = {a: compute_km_at(sub.loc[sub["arm"] == a, "pfs1_months"].to_numpy(),
                        sub.loc[sub["arm"] == a, "pfs1_event"].to_numpy(), t) for a in ("ET", "ET+CDK4/6i")}
        diff = km["ET+CDK4/6i"][0] - km["ET"][0]
        se = float(np.sqrt(km["ET+CDK4/6i"][1] + km["ET"][1]))
        out = {"risk_group": int(g), "lp_min": sub["lp"].min(), "lp_max": sub["lp"].max(), "n": len(sub),
               "n_events": int(sub["pfs1_event"].sum()), "hr": row["hr"], "hr_ci_low": row["hr_ci_low"],
               "hr_ci_high": row["hr_ci_high"], "hr_status": cox.status, "pfs_et": km["ET"][0],
               "pfs_cdk": km["ET+CDK4/6i"][0], "abs_benefit": diff, "abs_ci_low": diff - z * se,
               "abs_ci_high": diff + z * se}
        if predicted is not None:
            out["predicted_benefit"] = float(frame[predicted].to_numpy()[df["risk_group"] == g].mean())
        rows.append(out)
    table = pd.DataFrame(rows)
    reduced = fit_cox(df, "lp + arm", reference={"arm": "ET"})
    full = fit_cox(df, "lp * arm", reference={"arm": "ET"})
    table.attrs["interaction_p"] = float(compute_lr_test(reduced, full)["p"]) if reduced.ok and full.ok else np.nan
    return table
