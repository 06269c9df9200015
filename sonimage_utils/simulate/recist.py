"""Synthetic RECIST 1.1 assessments (recist.csv) consistent with the simulated lesions and PFS1.

Schedule: a baseline CT up to ``baseline_days_before_randomization_max`` days before randomisation, then every
``visit_interval_days`` (+/- 4 days) while before ``pfs1_date``. A patient whose PFS1 event type is
``progression`` gets an (unscheduled) CT on ``pfs1_date`` that shows RECIST PD, by target growth (SOD at least
30% and 8 mm above the nadir), unequivocal non-target progression, or an unequivocal new lesion; half of them
get one more CT a cycle later. Before ``pfs1_date`` no assessment shows PD: a visit whose sum of target
diameters would reach PD is scaled down below the PD limits (the nadir is unaffected by that).

Lesion sizes follow the per-lesion response model in ``truth["response"]`` (see its ``model`` text). Targets
are chosen as RECIST 1.1 says: measurable (non-nodal LD >= 10 mm, node SA >= 15 mm; bone never), the largest,
at most 2 per organ and 5 in all; a node's ``ct_diameter_mm`` is read as its short axis. Every other baseline
lesion is a non-target lesion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_recist", "select_targets"]


def select_targets(lesions: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the RECIST 1.1 target lesions (the largest measurable, <= 2 per organ, <= 5 in all).

    Parameters
    ----------
    lesions : pandas.DataFrame
        With ``patient_id``, ``organ``, ``ct_diameter_mm``.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> les = pd.DataFrame({"patient_id": ["a"] * 4, "organ": ["lung", "lung", "lung", "lymph_node"],
    ...                     "ct_diameter_mm": [30.0, 20.0, 25.0, 12.0]})
    >>> select_targets(les).tolist()
    [True, False, True, False]
    """
    d = lesions["ct_diameter_mm"].to_numpy(dtype=float)
    node = (lesions["organ"] == "lymph_node").to_numpy()
    measurable = (lesions["organ"] != "bone").to_numpy() & np.where(node, d >= 15, d >= 10)
    frame = pd.DataFrame({"p": lesions["patient_id"].to_numpy(), "o": lesions["organ"].to_numpy(),
                          "d": np.where(measurable, d, -np.inf), "i": np.arange(len(lesions))})
    frame = frame[measurable].sort_values(["p", "d", "i"], ascending=[True, False, True], kind="stable")
    frame = frame[frame.groupby(["p", "o"]).cumcount() < 2]
    frame = frame[frame.groupby("p").cumcount() < 5]
    mask = np.zeros(len(lesions), dtype=bool)
    mask[frame["i"].to_numpy()] = True
    return mask


def _visits(rng, truth, patients):
    r = truth["response"]
    n = len(patients)
    rand = patients["randomization_date"].to_numpy().astype("datetime64[D]")
    pfs = patients["pfs1_date"].to_numpy().astype("datetime64[D]")
    cutoff = patients["_cutoff"].to_numpy().astype("datetime64[D]")
    days = (pfs - rand).astype(np.int64)
    interval = r["visit_interval_days"]
    k = np.maximum(0, (days - 5) // interval)
    prog = (patients["pfs1_event_type"] == "progression").to_numpy()
    post_date = pfs + np.timedelta64(interval, "D")
    post = prog & (rng.uniform(size=n) < r["p_visit_after_pd"]) & (post_date <= cutoff)
    n_vis = 1 + k + prog + post
    pidx = np.repeat(np.arange(n), n_vis)
    starts = np.concatenate([[0], np.cumsum(n_vis)[:-1]])
    v = np.arange(pidx.size) - starts[pidx]
    kind = np.where(v == 0, "baseline", np.where(v <= k[pidx], "scheduled", np.where(v == k[pidx] + 1, "pd", "post")))
    base_off = -rng.integers(0, r["baseline_days_before_randomization_max"] + 1, n)
    jitter = rng.integers(-4, 5, pidx.size)
    off = np.select([kind == "baseline", kind == "scheduled", kind == "pd"],
                    [base_off[pidx], v * interval + jitter, days[pidx]], days[pidx] + interval)
    date = rand[pidx] + off.astype("timedelta64[D]")
    t_months = np.maximum(off, 0) / truth["days_per_month"]
    return pd.DataFrame({"_pidx": pidx, "_v": v, "_kind": kind, "assessment_date": date, "_t": t_months})


def simulate_recist(rng: np.random.Generator, truth: dict, patients: pd.DataFrame,
                    lesions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate recist.csv for one cohort.

    Parameters
    ----------
    rng : numpy.random.Generator
    truth : dict
    patients : pandas.DataFrame
        With PFS1 columns and latent ``_cutoff`` (from :func:`sonimage_utils.simulate.patients.simulate_pfs`).
    lesions : pandas.DataFrame
        From :func:`sonimage_utils.simulate.lesions.simulate_lesions` (latent columns included).

    Returns
    -------
    recist : pandas.DataFrame
        Contract recist columns.
    lesion_truth : pandas.DataFrame
        Per baseline lesion: ``patient_id``, ``lesion_id``, ``lesion_kind``, ``nadir_pct`` (the model's
        planned nadir % change).
    """
    r = truth["response"]
    n, m = len(patients), len(lesions)
    pidx_l = lesions["_pidx"].to_numpy()
    is_cdk = (patients["arm"] == "ET+CDK4/6i").to_numpy()
    fes_resp = lesions["_fes_latent"].fillna(lesions["_fes_patient_mean"]).to_numpy(dtype=float)
    u_pat = rng.normal(0, r["patient_sd_pct"], n)
    nadir = (r["intercept_pct"] + r["arm_effect_pct"] * is_cdk[pidx_l]
             + r["fes_coef_per_log_suv"] * np.log(fes_resp)
             + r["fdg_coef_per_log_suv"] * np.log(lesions["_fdg_latent"].to_numpy(dtype=float))
             + u_pat[pidx_l] + rng.normal(0, r["lesion_sd_pct"], m))
    nadir = np.clip(nadir, -100.0, r["max_growth_pct"])
    target = select_targets(lesions)
    node = (lesions["organ"] == "lymph_node").to_numpy()
    les = pd.DataFrame({"_pidx": pidx_l, "_l": np.arange(m), "lesion_id": lesions["lesion_id"].to_numpy(),
                        "_target": target, "is_lymph_node": node, "_base": lesions["ct_diameter_mm"].to_numpy(),
                        "_nadir": nadir})

    visits = _visits(rng, truth, patients)
    rows = visits.merge(les, on="_pidx", how="inner").sort_values(["_pidx", "_v", "_l"], kind="stable")
    rows = rows.reset_index(drop=True)
    kind = rows["_kind"].to_numpy()
    model = rows["_nadir"].to_numpy() * np.minimum(1.0, rows["_t"].to_numpy() / r["months_to_nadir"])
    model = np.where(kind == "baseline", 0.0, model)
    pct = np.where(kind == "baseline", 0.0, model + rng.normal(0, r["visit_noise_pct"], len(rows)))
    base = rows["_base"].to_numpy(dtype=float)
    nd = rows["is_lymph_node"].to_numpy()
    d = base * (1 + pct / 100)
    d = np.where(nd, np.maximum(d, np.minimum(base, r["node_floor_mm"])), np.where(model <= -95, 0.0, d))
    d = np.where(kind == "baseline", base, np.round(np.maximum(d, 0.0), 1))
    is_t = rows["_target"].to_numpy()

    # no PD before pfs1_date: cap the SOD of baseline/scheduled visits below the PD limits
    pv = rows[["_pidx", "_v"]].copy()
    pv["sod"] = np.where(is_t, d, 0.0)
    sod = pv.groupby(["_pidx", "_v"], sort=True)["sod"].sum()
    vk = visits.set_index(["_pidx", "_v"])["_kind"].reindex(sod.index)
    pre = vk.isin(["baseline", "scheduled"]).to_numpy()
    nadir_prev = sod.where(pre).groupby(level=0).cummin().groupby(level=0).shift(1)
    cap = np.maximum(1.1 * nadir_prev, nadir_prev + 3.0)
    pd_like = pre & (sod >= 1.2 * nadir_prev) & (sod - nadir_prev >= 5.0)
    factor = pd.Series(np.where(pd_like, cap / sod.where(sod > 0, 1.0), 1.0), index=sod.index)
    key = pd.MultiIndex.from_arrays([rows["_pidx"], rows["_v"]])
    f = factor.reindex(key).to_numpy()
    d = np.where(is_t & (f < 1.0), np.floor(d * f * 10) / 10, d)

    nadir_sod = sod.where(pre).mul(np.where(pd_like, factor, 1.0)).groupby(level=0).min()
    nadir_sod = nadir_sod.reindex(np.arange(n)).to_numpy()

    # PD visit (progression patients only)
    prog = (patients["pfs1_event_type"] == "progression").to_numpy()
    n_t = np.bincount(pidx_l[target], minlength=n)
    n_nt = np.bincount(pidx_l[~target], minlength=n)
    mp = r["pd_mechanism_probs"]
    w = np.column_stack([mp["target"] * (n_t > 0), mp["non_target"] * (n_nt > 0), np.full(n, mp["new"])])
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    mech = (rng.uniform(size=n)[:, None] > cum).sum(axis=1)  # 0 target, 1 non_target, 2 new
    mech = np.where(prog, mech, -1)
    pidx_r = rows["_pidx"].to_numpy()
    at_pd = kind == "pd"
    sod_pd = pd.Series(np.where(is_t & at_pd, d, 0.0)).groupby(pidx_r).sum().reindex(np.arange(n)).to_numpy()
    need = np.maximum(1.3 * nadir_sod, nadir_sod + 8.0)
    grow = (mech == 0) & (sod_pd < need)
    g = np.where(sod_pd > 0, need / np.where(sod_pd > 0, sod_pd, 1.0), np.nan)
    sel = is_t & at_pd & grow[pidx_r]
    share_t = need[pidx_r] / np.maximum(n_t[pidx_r], 1)
    d = np.where(sel, np.where(np.isnan(g[pidx_r]), np.ceil(share_t * 10) / 10, np.ceil(d * g[pidx_r] * 10) / 10), d)
    post = kind == "post"
    # after PD, targets keep growing: 10% above their size at the PD visit
    pd_size = pd.Series(np.where(at_pd, d, np.nan)).groupby([pidx_r, rows["_l"].to_numpy()]).transform("max")
    d = np.where(post, np.ceil(pd_size.to_numpy() * 1.1 * 10) / 10, d)

    status = np.where(model <= -95, "absent", "present").astype(object)
    status = np.where((kind == "scheduled") & (rng.uniform(size=len(rows)) < r["p_non_target_not_assessed"]),
                      "not_assessed", status)
    first_nt = np.full(n, -1)
    nt_idx = np.flatnonzero(~target)
    first_nt_series = pd.Series(nt_idx).groupby(pidx_l[nt_idx]).min()
    first_nt[first_nt_series.index.to_numpy()] = first_nt_series.to_numpy()
    unequiv = ((at_pd | post) & (mech[pidx_r] == 1) & (rows["_l"].to_numpy() == first_nt[pidx_r]))
    status = np.where(unequiv, "unequivocal_progression", status)
    status = np.where(kind == "baseline", "present", status)

    out = pd.DataFrame({
        "patient_id": patients["patient_id"].to_numpy()[pidx_r],
        "lesion_id": rows["lesion_id"].to_numpy(),
        "assessment_date": rows["assessment_date"].to_numpy().astype("datetime64[ns]"),
        "lesion_kind": np.where(is_t, "target", "non_target").astype(object),
        "is_lymph_node": nd,
        "diameter_mm": np.where(is_t, d, np.nan),
        "status": np.where(is_t, None, status).astype(object),
        "_pidx": pidx_r, "_v": rows["_v"].to_numpy(), "_o": 0,
    })

    # new lesions at the PD visit (and again at the post-PD visit)
    pv_pd = visits[visits["_kind"].isin(["pd", "post"])].copy()
    pv_pd = pv_pd[prog[pv_pd["_pidx"].to_numpy()]]
    pp = pv_pd["_pidx"].to_numpy()
    eq = rng.uniform(size=n) < r["p_equivocal_new_at_pd"]
    new_node = rng.uniform(size=n) < 0.2
    new_rows = []
    for label, present, stat in (("N1", mech == 2, "unequivocal"),
                                 ("N1", (mech != 2) & eq, "equivocal"), ("N2", (mech == 2) & eq, "equivocal")):
        sel_v = pv_pd[present[pp]]
        q = sel_v["_pidx"].to_numpy()
        new_rows.append(pd.DataFrame({
            "patient_id": patients["patient_id"].to_numpy()[q], "lesion_id": label,
            "assessment_date": sel_v["assessment_date"].to_numpy().astype("datetime64[ns]"),
            "lesion_kind": "new", "is_lymph_node": new_node[q] & (label == "N1"),
            "diameter_mm": np.nan, "status": stat, "_pidx": q, "_v": sel_v["_v"].to_numpy(),
            "_o": 1 if label == "N1" else 2}))
    out = pd.concat([out] + new_rows, ignore_index=True)
    out = out.sort_values(["_pidx", "_v", "_o"], kind="stable").drop(columns=["_pidx", "_v", "_o"])
    lesion_truth = pd.DataFrame({"patient_id": lesions["patient_id"].to_numpy(),
                                 "lesion_id": lesions["lesion_id"].to_numpy(),
                                 "lesion_kind": np.where(target, "target", "non_target"), "nadir_pct": nadir})
    return out.reset_index(drop=True), lesion_truth
