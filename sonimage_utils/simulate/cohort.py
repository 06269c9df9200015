"""Synthetic SONImage data folder with known truth (``sonimage simulate``).

Writes the three cohorts in the layout of ``README.md`` (section Interfaces) and ``truth.json`` with every
generating parameter. The development cohort looks like SONImage inside SONIA: 1:1 ET+CDK4/6i vs ET, PFS1 medians near
24.7 and 16.1 months, HR about 0.59, median follow-up near 37 months; lesions, FES and FDG after Nienhuis et
al. (J Nucl Med 2018). Heterogeneity is derived from the written lesion values exactly as ``book/methods.md``
defines it and the hazard uses that derived group, so an analysis of the CSV files can recover the truth.

Hand-written: no library simulates this design. Randomness comes from numpy Generators seeded from
``[seed, cohort, part]``, so the same seed gives byte-identical files, and one part's parameters do not shift
another part's random stream.

References
----------
Sonke GS et al. Primary outcome analysis of the phase 3 SONIA trial. Nature 2024;627:E1.
Nienhuis HH et al. 18F-fluoroestradiol tumor uptake is heterogeneous and influenced by site of metastasis in
breast cancer patients. J Nucl Med 2018;59:1212-8.
Bender R, Augustin T, Blettner M. Generating survival times to simulate Cox proportional hazards models.
Stat Med 2005;24:1713-23.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sonimage_utils.simulate.lesions import derive_simulated_heterogeneity, simulate_lesions
from sonimage_utils.simulate.patients import simulate_baseline, simulate_pfs, simulate_scans
from sonimage_utils.simulate.recist import simulate_recist
from sonimage_utils.simulate.truth import build_truth

__all__ = ["simulate_cohort", "simulate_data_folder", "simulate_folder_cohorts", "write_table",
           "COLUMNS", "DECIMALS"]

COHORTS = ("sonimage", "impact_mbc", "et_fes")

#: Contract columns of each table, in the order written.
COLUMNS = {
    "patients": ["patient_id", "center", "arm", "randomization_date", "pfs1_date", "pfs1_event",
                 "pfs1_event_type", "age_years", "menopausal_status", "who_performance_status",
                 "visceral_disease", "bone_only_disease", "de_novo_metastatic", "prior_adjuvant_endocrine",
                 "histology", "er_percent", "fdg_pet_done"],
    "lesions": ["patient_id", "lesion_id", "organ", "fes_suvmax", "fdg_suvmax", "ct_diameter_mm"],
    "scans": ["patient_id", "tracer", "scan_date", "injected_activity_mbq", "uptake_time_min", "weight_kg",
              "blood_glucose_mmol_l"],
    "recist": ["patient_id", "lesion_id", "assessment_date", "lesion_kind", "is_lymph_node", "diameter_mm",
               "status"],
}

#: Fixed decimals of every float column written.
DECIMALS = {"age_years": 1, "er_percent": 0, "fes_suvmax": 2, "fdg_suvmax": 2, "ct_diameter_mm": 1,
            "injected_activity_mbq": 1, "uptake_time_min": 0, "weight_kg": 1, "blood_glucose_mmol_l": 1,
            "diameter_mm": 1}


def _rng(seed: int, cohort: str, part: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), COHORTS.index(cohort), part])


def _simulate(truth: dict, cohort: str, n: int) -> dict[str, pd.DataFrame]:
    seed, c = truth["seed"], truth["cohorts"][cohort]
    patients = simulate_baseline(_rng(seed, cohort, 0), truth, cohort, n)
    lesions = simulate_lesions(_rng(seed, cohort, 1), truth, cohort, patients)
    # the hazard uses heterogeneity derived from the lesion values; ET-FES: from all lesions (the biology),
    # of which lesions.csv shows only the 3 largest
    het = derive_simulated_heterogeneity(lesions, patients["patient_id"], fes_column="_fes_latent",
                                         fes_threshold=truth["fes_threshold"],
                                         fes_excluded_organs=truth["fes_excluded_organs"])
    patients = simulate_pfs(_rng(seed, cohort, 2), truth, cohort, patients, het.reset_index(drop=True))
    patients["_het"] = het.to_numpy()
    out = {"patients": patients, "lesions": lesions}
    if c["has_scans"]:
        out["scans"] = simulate_scans(_rng(seed, cohort, 3), truth, patients)
    if c["has_recist"]:
        out["recist"], out["lesion_response"] = simulate_recist(_rng(seed, cohort, 4), truth, patients, lesions)
    return out


def simulate_folder_cohorts(*, seed: int, n_patients: int, n_impact: int = 200,
                            n_et_fes: int = 147, truth_overrides: dict | None = None, latent: bool = False):
    """Simulate all three cohorts in memory.

    Parameters
    ----------
    seed, n_patients, n_impact, n_et_fes, truth_overrides
        As in :func:`simulate_data_folder`.
    latent : bool
        Keep the latent columns (names starting with ``_``) and the ``lesion_response`` table.

    Returns
    -------
    tables : dict
        Cohort -> table name -> DataFrame (cohorts with 0 patients are left out).
    truth : dict
        The truth dict.
    """
    sizes = {"sonimage": n_patients, "impact_mbc": n_impact, "et_fes": n_et_fes}
    truth = build_truth(seed=seed, n_patients=sizes, overrides=truth_overrides)
    if n_patients < 1:
        raise ValueError(f"n_patients must be at least 1, got {n_patients}")
    tables = {}
    for cohort in COHORTS:
        if sizes[cohort] == 0:
            continue
        frames = _simulate(truth, cohort, sizes[cohort])
        if not latent:
            frames = {k: v[COLUMNS[k]].copy() for k, v in frames.items() if k in COLUMNS}
        tables[cohort] = frames
    return tables, truth


def simulate_cohort(cohort: str = "sonimage", *, n_patients: int, seed: int,
                    truth_overrides: dict | None = None, latent: bool = False) -> dict[str, pd.DataFrame]:
    """Simulate one cohort and return its tables as typed DataFrames.

    The tables equal those :func:`simulate_data_folder` writes for the same seed and size (before the
    fixed-decimal formatting, which the values already respect).

    Parameters
    ----------
    cohort : {"sonimage", "impact_mbc", "et_fes"}
    n_patients : int
        Number of patients of this cohort.
    seed : int
        Master seed.
    truth_overrides : dict, optional
        Nested overrides of :data:`sonimage_utils.simulate.truth.DEFAULT_TRUTH`.
    latent : bool
        Keep latent columns (``_het``, ``_lp``, ``_pfs_months``, ``_fes_latent``, ...) and add
        ``lesion_response`` (sonimage); default False gives the contract columns only.

    Returns
    -------
    dict of pandas.DataFrame
        ``patients``, ``lesions`` and, where the cohort has them, ``scans``, ``recist`` (the truth dict
        is :func:`sonimage_utils.simulate.truth.build_truth` with the same arguments).

    Raises
    ------
    ValueError
        For an unknown cohort, a bad size or an unknown truth parameter.

    Examples
    --------
    >>> t = simulate_cohort("sonimage", n_patients=20, seed=1)
    >>> sorted(t), len(t["patients"])
    (['lesions', 'patients', 'recist', 'scans'], 20)
    """
    if cohort not in COHORTS:
        raise ValueError(f"cohort must be one of {COHORTS}, got {cohort!r}")
    if int(n_patients) != n_patients or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, got {n_patients!r}")
    sizes = {k: 0 for k in COHORTS}
    sizes[cohort] = int(n_patients)
    truth = build_truth(seed=seed, n_patients=sizes, overrides=truth_overrides)
    frames = _simulate(truth, cohort, int(n_patients))
    if not latent:
        frames = {k: v[COLUMNS[k]].copy() for k, v in frames.items() if k in COLUMNS}
    return frames


def _format_column(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(s):
        out = s.map({True: "true", False: "false"})
    elif name in DECIMALS:
        d = DECIMALS[name]
        v = s.to_numpy(dtype=float)
        out = pd.Series(np.char.mod(f"%.{d}f", np.round(v, d)), index=s.index)
        out[np.isnan(v)] = None
    elif pd.api.types.is_integer_dtype(s):
        out = s.astype(str)
    else:
        out = s
    return out.where(s.notna(), "")


def write_table(frame: pd.DataFrame, path) -> None:
    """Write one table as contract CSV: UTF-8, ISO dates, ``true``/``false``, fixed decimals, empty = missing.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> f = pd.DataFrame({"patient_id": ["a"], "fes_suvmax": [1.5], "fdg_pet_done": [True]})
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"; write_table(f, p); p.read_text()
    'patient_id,fes_suvmax,fdg_pet_done\\na,1.50,true\\n'
    """
    text = pd.DataFrame({c: _format_column(frame[c], c) for c in frame.columns})
    text.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def simulate_data_folder(out_dir, *, seed: int, n_patients: int, n_impact: int = 200,
                         n_et_fes: int = 147, truth_overrides: dict | None = None) -> dict:
    """Write a synthetic data folder (all three cohorts) and ``truth.json``; return the truth.

    Layout (``README.md``, section Interfaces): ``out/sonimage/{patients,lesions,scans,recist}.csv``,
    ``out/impact_mbc/{patients,lesions,scans}.csv``, ``out/et_fes/{patients,lesions}.csv``,
    ``out/truth.json`` (sorted keys, indent 2). A cohort with 0 patients is not written.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Created if missing; existing files of the same names are overwritten.
    seed : int
        Master seed; the same seed and sizes give byte-identical files. No default: the caller passes it
        (``sonimage simulate --seed``, or ``demo_seed`` in ``analysis.yml`` for the demo cohort).
    n_patients : int
        Size of the SONImage development cohort (at least 1; ``demo_n_patients`` in ``analysis.yml``).
    n_impact, n_et_fes : int
        Sizes of the IMPACT-MBC and ET-FES validation cohorts (0 leaves the cohort out).
    truth_overrides : dict, optional
        Nested overrides of :data:`sonimage_utils.simulate.truth.DEFAULT_TRUTH`, e.g.
        ``{"pfs": {"hr_interaction": 0.5}}``.

    Returns
    -------
    dict
        The truth dict written to ``truth.json`` (including ``realized`` counts of the written data).

    Raises
    ------
    ValueError
        For a bad size or an unknown truth parameter.

    Examples
    --------
    >>> import tempfile
    >>> truth = simulate_data_folder(tempfile.mkdtemp(), seed=1, n_patients=10, n_impact=5, n_et_fes=5)
    >>> truth["pfs"]["hr_arm"], truth["fes_threshold"]
    (0.59, 1.5)
    """
    for name, n in (("n_patients", n_patients), ("n_impact", n_impact), ("n_et_fes", n_et_fes)):
        if int(n) != n or n < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    tables, truth = simulate_folder_cohorts(seed=seed, n_patients=n_patients, n_impact=n_impact,
                                            n_et_fes=n_et_fes, truth_overrides=truth_overrides, latent=True)
    out = Path(out_dir)
    realized = {}
    for cohort, frames in tables.items():
        (out / cohort).mkdir(parents=True, exist_ok=True)
        for name in ("patients", "lesions", "scans", "recist"):
            if name in frames:
                write_table(frames[name][COLUMNS[name]], out / cohort / f"{name}.csv")
        p = frames["patients"]
        realized[cohort] = {
            "n_patients": int(len(p)),
            "n_lesions": int(len(frames["lesions"])),
            "n_events": int(p["pfs1_event"].sum()),
            "n_heterogeneous": int((p["_het"] == 1).sum()),
            "n_homogeneous": int((p["_het"] == 0).sum()),
            "n_no_assessable_lesion": int(p["_het"].isna().sum()),
            "heterogeneity_from": ("FES SUVmax of all lesions (the hazard's group); lesions.csv shows the 3 "
                                   "largest only" if truth["cohorts"][cohort]["fes_measured"] == "largest_3"
                                   else "lesions.csv, as book/methods.md derives it"),
        }
    truth["realized"] = realized
    (out / "truth.json").write_text(json.dumps(truth, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return truth
