"""Synthetic baseline lesions (organ, FES/FDG SUVmax, CT size) and the heterogeneity derived from them.

Vectorised over all lesions of a cohort. FES SUVmax is drawn from truncated log-normals so that a patient
meant to be homogeneous-positive has every assessable lesion at or above the threshold and a heterogeneous
patient has at least one below it, after rounding to the two decimals written to ``lesions.csv``.
The heterogeneity used for the hazard is then *derived* from the rounded values exactly as ``book/methods.md``
says (:func:`derive_simulated_heterogeneity`), so an analysis of the CSV files sees the same groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["simulate_lesions", "derive_simulated_heterogeneity"]

_VISCERAL = ("lung", "liver", "pleura")


def _truncnorm(rng, mean, sd, low, high):
    """Inverse-CDF draw from N(mean, sd) truncated to [low, high] (arrays broadcast)."""
    a, b = special.ndtr((low - mean) / sd), special.ndtr((high - mean) / sd)
    u = rng.uniform(size=np.broadcast(mean, sd).shape)
    return mean + sd * special.ndtri(np.clip(a + u * (b - a), 1e-12, 1 - 1e-12))


def _organs(rng, truth, pattern, n_les, patient_idx, rank):
    lt = truth["lesions"]
    m = patient_idx.size
    free = np.asarray(list(lt["free_organ_probs"]), dtype=object)
    visc = np.asarray(list(lt["visceral_organ_probs"]), dtype=object)
    organ = free[rng.choice(free.size, size=m, p=list(lt["free_organ_probs"].values()))]
    visc_draw = visc[rng.choice(visc.size, size=m, p=list(lt["visceral_organ_probs"].values()))]
    p = pattern[patient_idx]
    n_visc = np.minimum(n_les, 1 + rng.poisson(lt["visceral_extra_poisson_mean"], n_les.size))
    is_visc = (p == "visceral") & (rank < n_visc[patient_idx])
    organ = np.where(is_visc, visc_draw, organ)
    # a visceral patient's only visceral lesion is not liver when the patient has a single lesion
    solo = is_visc & (n_les[patient_idx] == 1) & (organ == "liver")
    organ = np.where(solo, "lung", organ)
    # "other" pattern: the first lesion is a lymph node, and none is visceral by construction
    organ = np.where((p == "other") & (rank == 0), "lymph_node", organ)
    organ = np.where(p == "bone_only", "bone", organ)
    organ = np.where(p == "no_assessable", "liver", organ)
    return organ.astype(object)


def simulate_lesions(rng: np.random.Generator, truth: dict, cohort: str, patients: pd.DataFrame) -> pd.DataFrame:
    """Simulate the baseline lesions of a cohort.

    Parameters
    ----------
    rng : numpy.random.Generator
    truth : dict
        Complete truth dict.
    cohort : str
        Cohort key; ``fes_measured == "largest_3"`` keeps FES SUVmax only for the 3 largest non-liver
        lesions (CT diameter, or the latent size of bone lesions).
    patients : pandas.DataFrame
        Output of :func:`sonimage_utils.simulate.patients.simulate_baseline`.

    Returns
    -------
    pandas.DataFrame
        Contract lesion columns plus latent ``_fes_latent`` (all assessable lesions, before masking),
        ``_fes_patient_mean``, ``_fdg_latent``, ``_size``.

    Examples
    --------
    >>> from sonimage_utils.simulate.truth import build_truth
    >>> from sonimage_utils.simulate.patients import simulate_baseline
    >>> t = build_truth(seed=1, n_patients={"sonimage": 5})
    >>> p = simulate_baseline(np.random.default_rng(1), t, "sonimage", 5)
    >>> les = simulate_lesions(np.random.default_rng(2), t, "sonimage", p)
    >>> bool((les.groupby("patient_id").size() >= 1).all())
    True
    """
    lt, thr = truth["lesions"], truth["fes_threshold"]
    n = len(patients)
    pattern = patients["_pattern"].to_numpy()
    n_les = np.clip(np.round(np.exp(rng.normal(np.log(lt["n_lesions_median"]), lt["n_lesions_log_sd"], n))),
                    1, lt["n_lesions_max"]).astype(np.int64)
    n_les = np.where(pattern == "no_assessable", 1 + rng.poisson(0.5, n), n_les)
    pidx = np.repeat(np.arange(n), n_les)
    starts = np.concatenate([[0], np.cumsum(n_les)[:-1]])
    rank = np.arange(pidx.size) - starts[pidx]
    organ = _organs(rng, truth, pattern, n_les, pidx, rank)
    m = pidx.size

    # FES: patient type, then lesion status, then SUVmax given status
    het = rng.uniform(size=n) < lt["p_heterogeneous"]
    all_neg = het & (rng.uniform(size=n) < lt["p_all_negative_given_heterogeneous"])
    share = np.where(all_neg, 1.0, np.where(het, rng.beta(*lt["negative_share_beta"], n), 0.0))
    assessable = ~np.isin(organ, truth["fes_excluded_organs"])
    u = np.where(assessable, rng.uniform(size=m), np.inf)
    negative = assessable & (u < share[pidx])
    # a heterogeneous patient has at least one FES-negative assessable lesion: the one with the smallest u
    order = np.lexsort((u, pidx))
    first = order[np.concatenate([[True], pidx[order][1:] != pidx[order][:-1]])]
    force = first[het[pidx[first]] & assessable[first]]
    negative[force] = True
    mu = rng.normal(lt["fes_patient_log_mean"], lt["fes_patient_log_sd"], n)
    lo_p, hi_p = np.log(lt["fes_positive_range"])
    lo_n, hi_n = np.log(lt["fes_negative_range"])
    pos_val = np.exp(_truncnorm(rng, mu[pidx], lt["fes_lesion_log_sd"], lo_p, hi_p))
    neg_val = np.exp(_truncnorm(rng, np.full(m, lt["fes_negative_log_mean"]), lt["fes_negative_log_sd"],
                                lo_n, hi_n))
    fes = np.round(np.where(negative, neg_val, pos_val), 2)
    fes = np.where(negative, np.minimum(fes, thr - 0.01), np.maximum(fes, thr))
    fes_latent = np.where(assessable, fes, np.nan)

    z = patients["_z_fdg"].to_numpy()
    fdg_lat = np.exp(lt["fdg_log_mean"] + lt["fdg_patient_log_sd"] * z[pidx]
                     + rng.normal(0, lt["fdg_lesion_log_sd"], m))
    fdg_lat = np.round(np.clip(fdg_lat, *lt["fdg_range"]), 2)
    fdg = np.where(patients["fdg_pet_done"].to_numpy(dtype=bool)[pidx], fdg_lat, np.nan)

    med = lt["ct_log_median_mm"]
    size_median = np.where(organ == "lymph_node", med["lymph_node"],
                           np.where(organ == "bone", med["bone_size_proxy"], med["other"]))
    size = np.exp(np.log(size_median) + lt["ct_log_sd"] * rng.standard_normal(m))
    size = np.round(np.clip(size, *lt["ct_range_mm"]), 1)
    ct = np.where(organ == "bone", np.nan, size)

    fes_obs = fes_latent.copy()
    if truth["cohorts"][cohort]["fes_measured"] == "largest_3":
        key = np.where(assessable, size, -np.inf)
        order = np.lexsort((-key, pidx))
        rank_size = np.empty(m, dtype=np.int64)
        rank_size[order] = np.arange(m) - starts[pidx[order]]
        fes_obs = np.where(assessable & (rank_size < 3), fes_latent, np.nan)

    width = max(2, len(str(int(n_les.max()))) if n else 2)
    lesion_id = np.char.add("L", np.char.zfill((rank + 1).astype(str), width))
    return pd.DataFrame({
        "patient_id": patients["patient_id"].to_numpy()[pidx],
        "lesion_id": lesion_id.astype(object),
        "organ": organ,
        "fes_suvmax": fes_obs,
        "fdg_suvmax": fdg,
        "ct_diameter_mm": ct,
        "_fes_latent": fes_latent,
        "_fes_patient_mean": np.exp(mu)[pidx],
        "_fdg_latent": fdg_lat,
        "_size": size,
        "_pidx": pidx,
    })


def derive_simulated_heterogeneity(lesions: pd.DataFrame, patient_ids, *, fes_threshold: float, fes_excluded_organs,
                                   fes_column: str = "fes_suvmax") -> pd.Series:
    """Heterogeneity indicator per patient, derived from lesions as ``book/methods.md`` defines it.

    Kept here (rather than importing ``sonimage_utils.derive.heterogeneity``) so the generator does not depend on
    the code it is used to test; ``tests/test_simulate.py`` checks that the two agree.

    Parameters
    ----------
    lesions : pandas.DataFrame
        With ``patient_id``, ``organ`` and ``fes_column``.
    patient_ids : array-like
        Patients to report, in order.
    fes_column : str
        Column holding FES SUVmax.
    fes_threshold : float
        FES-positive when SUVmax >= threshold (the truth's ``fes_threshold``; no default).
    fes_excluded_organs : sequence of str
        Organs never assessable (the truth's ``fes_excluded_organs``; no default).

    Returns
    -------
    pandas.Series of float
        1.0 heterogeneous (HS < 100), 0.0 homogeneous (HS = 100), NaN when no assessable lesion;
        indexed by ``patient_ids``.

    Examples
    --------
    >>> les = pd.DataFrame({"patient_id": ["a", "a", "b"], "organ": ["bone", "liver", "bone"],
    ...                     "fes_suvmax": [2.0, np.nan, 1.2]})
    >>> derive_simulated_heterogeneity(les, ["a", "b", "c"], fes_threshold=1.5, fes_excluded_organs=["liver"]).tolist()
    [0.0, 1.0, nan]
    """
    fes = lesions[fes_column]
    ok = fes.notna() & ~lesions["organ"].isin(list(fes_excluded_organs))
    frame = pd.DataFrame({"patient_id": lesions["patient_id"][ok], "neg": (fes[ok] < fes_threshold)})
    any_neg = frame.groupby("patient_id", sort=False)["neg"].any()
    return any_neg.reindex(pd.Index(patient_ids, name="patient_id")).astype(float)
