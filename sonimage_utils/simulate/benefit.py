"""A small generator of development-like cohorts with known truth, for checking objective 4's methods.

One job: simulate ``patients`` and ``lesions`` tables (contract columns that objective 4 uses) where
PFS1 follows a known proportional-hazards model, so that tests and benchmarks can check that the
procedure recovers what generated the data (and compare the optimism-corrected C with the C on a large
independent cohort). The project-wide synthetic data (``sonimage simulate``) serve the book; this one
exists because those checks need many cohorts of any size from one documented truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonimage_utils.data.load import DAYS_PER_MONTH

__all__ = ["TRUE_LOG_HR", "simulate_benefit_cohort"]

#: True log hazard ratios of the generating model (per unit of each raw predictor).
TRUE_LOG_HR = {
    "treated": np.log(0.59),
    "fes_heterogeneous": 0.7,
    "log_fdg_suvmax": 0.5,
    "visceral_disease": 0.3,
    "who_performance_status": 0.3,
    "treated:fes_heterogeneous": 0.3,
}


def simulate_benefit_cohort(n_patients: int, seed: int, *, baseline_hazard=0.014, followup_months=(30.0, 60.0),
                            true_log_hr=None):
    """Simulate ``(patients, lesions)`` with PFS1 from a known exponential PH model.

    Parameters
    ----------
    n_patients : int
    seed : int
        No default: the caller passes it (the analyses' ``seed`` parameter, or a test's own).
    baseline_hazard : float
        Monthly hazard of a reference patient (homogeneous FES, FDG SUVmax 1, ET alone).
    followup_months : tuple of float
        Administrative censoring uniform between these (staggered entry).
    true_log_hr : dict, optional
        Override :data:`TRUE_LOG_HR`.

    Returns
    -------
    patients, lesions : DataFrame

    Raises
    ------
    ValueError
        If ``n_patients`` < 2.

    Examples
    --------
    >>> p, l = simulate_benefit_cohort(20, seed=1)
    >>> p.shape[0], set(l["patient_id"]) <= set(p["patient_id"])
    (20, True)
    """
    if n_patients < 2:
        raise ValueError("n_patients must be at least 2")
    beta = {**TRUE_LOG_HR, **(true_log_hr or {})}
    rng = np.random.default_rng(seed)
    n = int(n_patients)
    ids = [f"S{i:04d}" for i in range(1, n + 1)]
    treated = rng.permutation(np.arange(n) % 2)
    visceral = rng.random(n) < 0.4
    bone_only = ~visceral & (rng.random(n) < 0.55)
    who = rng.choice([0, 1, 2], size=n, p=[0.6, 0.35, 0.05])
    n_les = 1 + rng.poisson(6, size=n)
    er_level = rng.normal(np.log(3.0), 0.5, size=n)
    spread = np.where(rng.random(n) < 0.4, 0.9, 0.25)
    fdg_level = rng.normal(np.log(5.0), 0.5, size=n)
    rows = []
    organs_all = np.array(["bone", "lymph_node", "lung", "liver", "soft_tissue"])
    for i in range(n):
        if bone_only[i]:
            organs = np.repeat("bone", n_les[i])
        else:
            probs = [0.55, 0.25, 0.08, 0.07, 0.05] if visceral[i] else [0.6, 0.3, 0.0, 0.0, 0.1]
            organs = rng.choice(organs_all, size=n_les[i], p=probs)
            if visceral[i] and not np.isin(organs, ["lung", "liver"]).any():
                organs[0] = "liver"
        fes = np.exp(rng.normal(er_level[i], spread[i], size=n_les[i]))
        fdg = np.exp(rng.normal(fdg_level[i], 0.35, size=n_les[i]))
        diam = np.where(organs == "bone", np.nan, np.round(rng.uniform(10, 45, size=n_les[i]), 1))
        for j in range(n_les[i]):
            rows.append({"patient_id": ids[i], "lesion_id": f"L{j + 1}", "organ": organs[j],
                         "fes_suvmax": np.nan if organs[j] == "liver" else round(float(min(fes[j], 60)), 2),
                         "fdg_suvmax": round(float(min(fdg[j], 60)), 2), "ct_diameter_mm": diam[j]})
    lesions = pd.DataFrame(rows)
    les = lesions[lesions["organ"] != "liver"]
    pos = (les["fes_suvmax"] >= 1.5).groupby(les["patient_id"]).mean().reindex(ids)
    heterogeneous = (pos.fillna(1.0) < 1).to_numpy().astype(float)
    log_fdg = np.log(lesions.groupby("patient_id")["fdg_suvmax"].max().reindex(ids).to_numpy())
    lin = (beta["treated"] * treated + beta["fes_heterogeneous"] * heterogeneous
           + beta["log_fdg_suvmax"] * (log_fdg - np.log(5.0)) + beta["visceral_disease"] * visceral
           + beta["who_performance_status"] * who + beta["treated:fes_heterogeneous"] * treated * heterogeneous)
    t_event = rng.exponential(1.0 / (baseline_hazard * np.exp(lin)))
    t_cens = rng.uniform(*followup_months, size=n)
    days = np.maximum(np.round(np.minimum(t_event, t_cens) * DAYS_PER_MONTH), 1).astype(int)
    event = (t_event <= t_cens).astype(int)
    start = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, size=n), unit="D")
    patients = pd.DataFrame({
        "patient_id": ids,
        "arm": np.where(treated == 1, "ET+CDK4/6i", "ET"),
        "randomization_date": start,
        "pfs1_date": start + pd.to_timedelta(days, unit="D"),
        "pfs1_event": event,
        "age_years": np.round(rng.normal(63, 10, size=n).clip(30, 90), 1),
        "who_performance_status": who,
        "visceral_disease": visceral,
        "bone_only_disease": bone_only,
        "de_novo_metastatic": rng.random(n) < 0.35,
        "prior_adjuvant_endocrine": rng.random(n) < 0.4,
    })
    return patients, lesions
