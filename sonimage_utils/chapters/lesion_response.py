"""Chapter 03, lesion-level response and RECIST 1.1: one function per section of the notebook.

:func:`prepare_lesion_data` reads the cohort and assesses RECIST once; each section function takes its
result and returns a :class:`~sonimage_utils.chapters.section.Section` (named results, display tables,
figures, captions). Nothing here displays anything; the study values (thresholds, RECIST settings) come
from the notebook's parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sonimage_utils.chapters.section import Section
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.lesions import (build_lesion_response_set, compare_orr_fisher, compute_orr,
                                    derive_lesion_response_by_fes_status, fit_lesion_gee, fit_lesion_lmm)
from sonimage_utils.plots import lesions as lesion_plots
from sonimage_utils.recist.engine import assess
from sonimage_utils.recist.summary import derive_sod_trajectories, derive_swimmer_data, tabulate_bor
from sonimage_utils.tables.format import format_noun, format_number, format_p, format_p_prose, format_value
from sonimage_utils.tables.lesions import (format_bor_no_measurable, format_bor_table, format_fes_status_table,
                                          format_lesion_model_table, format_lmm_sensitivity, format_orr_table,
                                          format_recist_flow, format_recist_settings)

__all__ = ["LesionData", "prepare_lesion_data", "section_assessable", "section_waterfall", "section_uptake",
           "section_mixed_model", "section_gee", "section_patient_response", "section_no_measurable",
           "section_trajectories", "section_recist_settings"]


@dataclass
class LesionData:
    """What every section of chapter 03 starts from.

    Attributes
    ----------
    analysis : pandas.DataFrame
        The analysis set (one row per patient, heterogeneity groups).
    assessment : RecistAssessment
        RECIST 1.1 assessment of the cohort.
    best : pandas.DataFrame
        Best overall response per patient with ``arm``, ``het_group``, ``het_group3``.
    lesions : pandas.DataFrame
        One row per target lesion (:func:`~sonimage_utils.lesions.build_lesion_response_set`).
    organ_dummies : list of str
        The ``organ_<group>`` covariates of the lesion models.
    settings : dict
        The study values of the run (``fes_threshold``, ``recist_sd_min_days``, ``recist_confirm``,
        ``lesion_response_threshold_pct``).
    no_recist : list of str
        Patients of the analysis set with lesions but no RECIST row (left out of every RECIST analysis; counted
        in Table 03.1).
    """

    analysis: pd.DataFrame
    assessment: object
    best: pd.DataFrame
    lesions: pd.DataFrame
    organ_dummies: list
    settings: dict
    no_recist: list = field(default_factory=list)


def prepare_lesion_data(data_dir, *, fes_threshold: float, fes_excluded_organs, fdg_threshold,
                        recist_sd_min_days: int, recist_confirm: bool,
                        lesion_response_threshold_pct: float) -> LesionData:
    """Load the SONImage cohort, build the analysis set, assess RECIST 1.1 and join the target lesions.

    Parameters
    ----------
    data_dir : str or path
        Folder with the ``sonimage`` tables.
    fes_threshold, fes_excluded_organs, fdg_threshold
        Heterogeneity definition (``analysis.yml``).
    recist_sd_min_days, recist_confirm
        RECIST settings (``analysis.yml``).
    lesion_response_threshold_pct : float
        Best % change at or below which a lesion responds.

    Returns
    -------
    LesionData
    """
    son = load_cohort(data_dir, "sonimage")
    analysis = build_analysis_set(son, fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                                  fdg_threshold=fdg_threshold)
    res = assess(son.recist, son.lesions, sd_min_days=recist_sd_min_days, confirm=recist_confirm)
    best = res.best.merge(analysis[["patient_id", "arm", "het_group", "het_group3"]], on="patient_id", how="left")
    les = build_lesion_response_set(res, son.lesions, analysis[["patient_id", "arm", "het_group"]],
                                    fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs,
                                    response_threshold=lesion_response_threshold_pct)
    dummies = [c for c in les.columns if c.startswith("organ_") and c != "organ_group"]
    settings = {"fes_threshold": fes_threshold, "recist_sd_min_days": recist_sd_min_days,
                "recist_confirm": recist_confirm, "lesion_response_threshold_pct": lesion_response_threshold_pct}
    assessed = set(son.recist["patient_id"])
    no_recist = sorted(pid for pid in analysis["patient_id"] if pid not in assessed)
    return LesionData(analysis, res, best, les, dummies, settings, no_recist)


def section_assessable(d: LesionData) -> Section:
    """Who can be assessed: patients with and without measurable disease, target lesions (Table 03.1)."""
    s = Section()
    res, analysis = d.assessment, d.analysis
    n_recist = res.best["patient_id"].nunique()
    n_meas = int(res.best["has_target_disease"].sum())
    no_target = res.best.loc[~res.best["has_target_disease"], "patient_id"]
    n_bone_only = int(analysis.loc[analysis["patient_id"].isin(no_target), "bone_only_disease"]
                      .fillna(False).astype(bool).sum())
    n_targets = len(res.lesions)
    n_analysed = int(res.lesions["best_pct_change"].notna().sum())
    s.add("obj3_n_patients_recist", n_recist, "Patients with RECIST assessments", "count")
    s.add("obj3_n_patients_measurable", n_meas, "Patients with measurable (target) disease", "count")
    s.add("obj3_n_patients_no_measurable", n_recist - n_meas, "Patients without measurable disease (non-target only)",
          "count")
    s.add("obj3_n_patients_no_measurable_bone_only", n_bone_only,
          "Patients without measurable disease who have bone-only disease", "count")
    s.add("obj3_n_target_lesions", n_targets, "RECIST target lesions at baseline", "count")
    s.add("obj3_n_lesions", n_analysed, "Target lesions with a best % change (a CT before the patient's first PD)",
          "count")
    s.add("obj3_n_lesions_no_ct_before_pd", n_targets - n_analysed,
          "Target lesions without a CT before the patient's first PD (progression at the first CT)", "count")
    flow = {"Patients in the cohort": len(analysis)}
    if d.no_recist:  # shown only when there are any, so the table of a complete cohort is unchanged
        flow["without RECIST assessments (left out)"] = len(d.no_recist)
    s.tables["flow"] = format_recist_flow({
        **flow, "with RECIST assessments": n_recist,
        "with measurable (target) disease": n_meas, "without measurable disease": n_recist - n_meas,
        "of whom bone-only disease": n_bone_only, "Target lesions at baseline": n_targets,
        "with a CT before the patient's first PD": n_analysed})
    s.text["caption"] = "**Table 03.1.** Patients and target lesions in the RECIST analyses." + (
        f" Patients with lesions but no RECIST assessment, left out: {', '.join(d.no_recist)}." if d.no_recist else "")
    return s


def section_waterfall(d: LesionData) -> Section:
    """Lesion-level response: waterfall plots and the response of lesions by FES status (Table 03.2)."""
    s = Section()
    threshold = d.settings["lesion_response_threshold_pct"]
    s.add("obj3_fes_threshold", d.settings["fes_threshold"], "FES SUVmax threshold for a positive lesion", "parameter")
    s.figures["waterfall"] = lesion_plots.plot_waterfall(d.lesions)
    s.figures["waterfall_by_organ"] = lesion_plots.plot_waterfall(d.lesions, facet="organ_group")
    by_status = derive_lesion_response_by_fes_status(d.lesions)
    for row in by_status.itertuples():
        s.add(f"obj3_lesion_response_rate_fes_{row.fes_status}", row.responding,
              f"Share of FES-{row.fes_status} target lesions with best change <= -30%", "percent")
    s.tables["by_status"] = by_status
    s.tables["by_status_display"] = format_fes_status_table(by_status, threshold)
    s.text["caption"] = ("**Table 03.2.** Target lesions by FES status: median best % change and share responding "
                         f"(best change <= {format_value(threshold, 'parameter')}%).")
    return s


def section_uptake(d: LesionData) -> Section:
    """Lesion change against baseline FES and FDG uptake (scatter plot)."""
    s = Section()
    s.figures["scatter"] = lesion_plots.plot_uptake_scatter(d.lesions, fes_threshold=d.settings["fes_threshold"])
    return s


def section_mixed_model(d: LesionData) -> Section:
    """Linear mixed model of lesion best % change (Table 03.3) and its sensitivity models (Table 03.4)."""
    s = Section()
    les, organs = d.lesions, d.organ_dummies
    lmm = fit_lesion_lmm(les, "best_pct_change", ["fes_suvmax_assessable", "fdg_suvmax", *organs])
    fes = lmm.coef("fes_suvmax_assessable")
    s.add("obj3_lmm_fes_coef", fes["estimate"],
          "LMM: change in lesion best % change per unit FES SUVmax (adjusted for FDG SUVmax and organ)", "estimate")
    s.add("obj3_lmm_fes_coef_ci_low", fes["ci_low"], "LMM FES coefficient, lower 95% limit", "estimate")
    s.add("obj3_lmm_fes_coef_ci_high", fes["ci_high"], "LMM FES coefficient, upper 95% limit", "estimate")
    s.add("obj3_lmm_fes_p", fes["p_value"], "LMM FES coefficient, Wald p-value", "p_value")
    s.text["obj3_lmm_fes_p_prose"] = format_p_prose(fes["p_value"])
    s.add("obj3_lmm_fdg_coef", lmm.coef("fdg_suvmax")["estimate"], "LMM: change per unit FDG SUVmax", "estimate")
    s.add("obj3_lmm_n_lesions", lmm.n_obs, "Lesions in the mixed model", "count")
    s.add("obj3_lmm_n_patients", lmm.n_groups, "Patients in the mixed model", "count")
    s.add("obj3_lmm_icc", lmm.extra["icc"], "Share of variance between patients (ICC) in the mixed model", "estimate")
    s.tables["lmm"] = lmm.summary
    s.tables["lmm_display"] = format_lesion_model_table(lmm.summary)
    warn = f" Warnings: {'; '.join(lmm.extra['warnings'])}." if lmm.extra["warnings"] else ""
    s.text["caption"] = (f"**Table 03.3.** Linear mixed model of lesion best % change ({lmm.n_obs} lesions, "
                         f"{lmm.n_groups} patients; reference organ group: lymph node). Between-patient variance "
                         f"{format_number(lmm.extra['var_patient'], 1)}, residual variance "
                         f"{format_number(lmm.extra['var_residual'], 1)}.{warn}")
    fes_only = fit_lesion_lmm(les, "best_pct_change", ["fes_suvmax_assessable", *organs])
    through = fit_lesion_lmm(les.assign(best_pct_change=les["best_pct_change_through_pd"]), "best_pct_change",
                             ["fes_suvmax_assessable", "fdg_suvmax", *organs])
    s.add("obj3_lmm_fes_only_coef", fes_only.coef("fes_suvmax_assessable")["estimate"],
          "LMM without FDG: change per unit FES SUVmax", "estimate")
    s.tables["sensitivity"] = format_lmm_sensitivity({"primary: FES + FDG + organ": lmm,
                                                      "FES + organ (no FDG needed)": fes_only,
                                                      "best change including the CT at progression": through})
    s.text["caption_sensitivity"] = "**Table 03.4.** The FES coefficient in sensitivity models."
    return s


def section_gee(d: LesionData) -> Section:
    """Logistic GEE of binary lesion response (Table 03.5)."""
    s = Section()
    gee = fit_lesion_gee(d.lesions, "responding", ["fes_suvmax_assessable", "fdg_suvmax", *d.organ_dummies])
    g = gee.coef("fes_suvmax_assessable")
    s.add("obj3_gee_fes_or", g["odds_ratio"], "GEE: odds ratio of lesion response per unit FES SUVmax", "ratio")
    s.add("obj3_gee_fes_or_ci_low", g["or_ci_low"], "GEE FES odds ratio, lower 95% limit", "ratio")
    s.add("obj3_gee_fes_or_ci_high", g["or_ci_high"], "GEE FES odds ratio, upper 95% limit", "ratio")
    s.add("obj3_gee_fes_p", g["p_value"], "GEE FES odds ratio, robust Wald p-value", "p_value")
    s.text["obj3_gee_fes_p_prose"] = format_p_prose(g["p_value"])
    s.tables["gee"] = gee.summary
    s.tables["gee_display"] = format_lesion_model_table(gee.summary, odds=True)
    s.text["caption"] = (f"**Table 03.5.** Logistic GEE of lesion response ({gee.n_obs} lesions, {gee.n_groups} "
                         f"patients, {gee.extra['n_responding']} responding; working correlation "
                         f"{format_number(gee.extra['alpha'])}).")
    return s


def section_patient_response(d: LesionData) -> Section:
    """Per-patient RECIST response by heterogeneity group: ORR (Table 03.6), BOR (Table 03.7 and figure)."""
    s = Section()
    meas = d.best[d.best["has_target_disease"]]
    orr = compute_orr(meas, "het_group")
    fisher = compare_orr_fisher(orr)
    for row in orr.itertuples():
        s.add(f"obj3_orr_{row.group}", row.orr, f"ORR (CR or PR) among measurable patients, {row.group}", "percent")
        s.add(f"obj3_orr_{row.group}_ci_low", row.ci_low, f"ORR {row.group}, exact lower 95% limit", "percent")
        s.add(f"obj3_orr_{row.group}_ci_high", row.ci_high, f"ORR {row.group}, exact upper 95% limit", "percent")
        s.add(f"obj3_orr_{row.group}_n", row.n, f"Measurable patients, {row.group}", "count")
    s.add("obj3_orr_fisher_p", fisher["p_value"], "Fisher's exact test of ORR, heterogeneous vs homogeneous",
          "p_value")
    s.text["obj3_orr_fisher_p_prose"] = format_p_prose(fisher["p_value"])
    s.add("obj3_orr_odds_ratio", fisher["odds_ratio"],
          "Conditional MLE odds ratio of response, heterogeneous vs homogeneous", "ratio")
    s.add("obj3_orr_all", compute_orr(meas, None).iloc[0]["orr"], "ORR among all patients with measurable disease",
          "percent")
    s.tables["orr"] = orr
    s.tables["orr_display"] = format_orr_table(orr)
    n_no_group = int(meas["het_group"].isna().sum())
    s.text["caption"] = ("**Table 03.6.** Objective response rate (exact 95% CI) among patients with measurable "
                         f"disease, by heterogeneity group. Fisher's exact test p = {format_p(fisher['p_value'])}."
                         + (f" {n_no_group} measurable {format_noun(n_no_group, 'patient')} without an FES-assessable lesion "
                            f"{format_noun(n_no_group, 'has', 'have')} no group."
                            if n_no_group else ""))
    s.tables["bor"] = format_bor_table(tabulate_bor(d.best, "het_group"))
    s.text["caption_bor"] = ("**Table 03.7.** Best overall response by heterogeneity group, all patients with "
                             "RECIST assessments (non-CR/non-PD: patients without measurable disease).")
    s.figures["bor"] = lesion_plots.plot_bor_stacked(tabulate_bor(d.best, "het_group", normalize=True),
                                                     tabulate_bor(d.best, "het_group"))
    return s


def section_no_measurable(d: LesionData) -> Section:
    """Best overall response of the patients without measurable disease (Table 03.8)."""
    s = Section()
    no_meas = d.best[~d.best["has_target_disease"]]
    s.tables["bor"] = format_bor_no_measurable(no_meas)
    s.text["caption"] = (f"**Table 03.8.** Best overall response of the {len(no_meas)} patients without measurable "
                         "disease, by heterogeneity group.")
    return s


def section_trajectories(d: LesionData) -> Section:
    """Sum-of-diameters trajectories (spider plot) and time on therapy (swimmer plot)."""
    s = Section()
    traj = derive_sod_trajectories(d.assessment)
    s.tables["trajectories"] = traj
    s.figures["spider"] = lesion_plots.plot_spider(traj, d.analysis.set_index("patient_id")["het_group"])
    swim = derive_swimmer_data(d.assessment, d.analysis[["patient_id", "randomization_date", "pfs1_date",
                                                         "pfs1_event", "arm", "het_group"]])
    s.figures["swimmer"] = lesion_plots.plot_swimmer(swim)
    return s


def section_recist_settings(d: LesionData) -> Section:
    """The RECIST settings of this run, as a table."""
    s = Section()
    s.tables["settings"] = format_recist_settings(confirm=d.settings["recist_confirm"],
                                                  sd_min_days=d.settings["recist_sd_min_days"],
                                                  response_threshold=d.settings["lesion_response_threshold_pct"],
                                                  fes_threshold=d.settings["fes_threshold"])
    return s
