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
from sonimage_utils.lesions import (build_lesion_response_set, compare_orr_fisher, compute_fes_form_selection,
                                    compute_joint_wald, compute_orr, derive_fes_form_terms,
                                    derive_lesion_response_by_fes_status, fit_lesion_gee, fit_lesion_lmm,
                                    fit_orr_logistic, fit_sod_slope_lmm)
from sonimage_utils.plots import lesions as lesion_plots
from sonimage_utils.recist.engine import assess
from sonimage_utils.recist.summary import (derive_depth_and_nadir, derive_sod_trajectories, derive_swimmer_data,
                                           tabulate_bor)
from sonimage_utils.tables.format import (NOT_ESTIMABLE, format_noun, format_number, format_p, format_p_prose,
                                          format_value)
from sonimage_utils.tables.lesions import (format_bor_no_measurable, format_bor_table, format_depth_nadir_table,
                                          format_fes_form_table, format_fes_status_table, format_lesion_model_table,
                                          format_lmm_sensitivity, format_orr_table, format_recist_flow,
                                          format_recist_settings)

__all__ = ["LesionData", "prepare_lesion_data", "section_assessable", "section_waterfall", "section_uptake",
           "section_mixed_model", "section_gee", "section_patient_response", "section_no_measurable",
           "section_trajectories", "section_trajectory_model", "section_recist_settings"]

#: How the FES term of the lesion models reads, by the functional form the SAP rule chose.
_FES_UNIT = {"linear": "per unit FES SUVmax", "log": "per doubling of FES SUVmax",
             "spline": "FES SUVmax as a restricted cubic spline"}


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
    fes_form : dict
        The SAP rule's choice of the functional form of FES SUVmax
        (:func:`~sonimage_utils.lesions.compute_fes_form_selection`).
    """

    analysis: pd.DataFrame
    assessment: object
    best: pd.DataFrame
    lesions: pd.DataFrame
    organ_dummies: list
    settings: dict
    no_recist: list = field(default_factory=list)
    fes_form: dict = field(default_factory=dict)


def prepare_lesion_data(data_dir, *, fes_threshold: float, fes_excluded_organs, fdg_threshold,
                        recist_sd_min_days: int, recist_confirm: bool,
                        lesion_response_threshold_pct: float, lesion_fes_form_aic_margin: float) -> LesionData:
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
    lesion_fes_form_aic_margin : float
        AIC gain a non-linear form of FES SUVmax needs (the SAP rule).

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
    les["treated_cdk46i"] = _treated(les["arm"])
    best = best.assign(treated_cdk46i=_treated(best["arm"]), heterogeneous=_heterogeneous(best["het_group"]))
    settings = {"fes_threshold": fes_threshold, "recist_sd_min_days": recist_sd_min_days,
                "recist_confirm": recist_confirm, "lesion_response_threshold_pct": lesion_response_threshold_pct,
                "lesion_fes_form_aic_margin": lesion_fes_form_aic_margin}
    assessed = set(son.recist["patient_id"])
    no_recist = sorted(pid for pid in analysis["patient_id"] if pid not in assessed)
    form = compute_fes_form_selection(les, "best_pct_change", ["fdg_suvmax", *dummies, "treated_cdk46i"],
                                      aic_margin=lesion_fes_form_aic_margin)
    return LesionData(analysis, res, best, les, dummies, settings, no_recist, form)


def _treated(arm: pd.Series) -> pd.Series:
    """1.0 for ET+CDK4/6i, 0.0 for ET, NaN where the arm is missing."""
    return (arm == "ET+CDK4/6i").astype(float).where(arm.notna())


def _heterogeneous(group: pd.Series) -> pd.Series:
    """1.0 for the ER-heterogeneous group, 0.0 for homogeneous, NaN without a group."""
    return (group.astype(object) == "heterogeneous").astype(float).where(group.notna())


def _fes_terms(d: LesionData, data: pd.DataFrame | None = None, interact: bool = False):
    """The lesion frame with the FES columns of the chosen form: (frame, FES terms, interaction terms)."""
    return derive_fes_form_terms(d.lesions if data is None else data, d.fes_form["form"],
                                 knots=d.fes_form["knots"], interact_with="treated_cdk46i" if interact else None)


def _fes_effect(fit, terms) -> dict:
    """The FES effect of a fit: the one coefficient of a linear or log form; NaN for a spline (two terms), with
    the joint Wald p-value of its terms."""
    if len(terms) == 1:
        c = fit.coef(terms[0])
        return {"estimate": float(c["estimate"]), "ci_low": float(c["ci_low"]), "ci_high": float(c["ci_high"]),
                "p_value": float(c["p_value"])}
    return {"estimate": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
            "p_value": compute_joint_wald(fit, terms)["p_value"]}


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
    s.text["caption"] = (f"**Table 03.1.** Patients and target lesions in the RECIST analyses, from the {len(analysis)} "
                         "patients of the analysis set.") + (
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
    n_les = int(d.lesions["best_pct_change"].notna().sum())
    s.text["caption"] = ("**Table 03.2.** Target lesions by FES status: median best % change and share responding "
                         f"(best change <= {format_value(threshold, 'parameter')}%), {n_les} target lesions with a CT "
                         "before the patient's first PD. Descriptive.")
    return s


def section_uptake(d: LesionData) -> Section:
    """Lesion change against baseline FES and FDG uptake (scatter plot)."""
    s = Section()
    s.figures["scatter"] = lesion_plots.plot_uptake_scatter(d.lesions, fes_threshold=d.settings["fes_threshold"],
                                                            marker_by="arm", log_x=d.fes_form["form"] == "log")
    return s


def section_mixed_model(d: LesionData) -> Section:
    """The SAP's choice of FES form (Table 03.3), the linear mixed model of lesion best % change with arm
    (Table 03.4), its FES x arm interaction and the sensitivity models (Table 03.5)."""
    s = Section()
    les, organs, sel = d.lesions, d.organ_dummies, d.fes_form
    form, unit = sel["form"], _FES_UNIT[sel["form"]]
    for f in ("log", "spline"):
        s.add(f"obj3_lmm_fes_form_delta_aic_{f}", sel["delta_aic"][f],
              f"ML AIC of the lesion mixed model with FES SUVmax as {f} minus that with FES SUVmax linear "
              "(SAP rule for the form of FES)", "estimate", missing=NOT_ESTIMABLE)
    s.tables["form"] = format_fes_form_table(sel)
    s.text["fes_form"] = form if form != "log" else "log2"
    s.text["fes_unit"] = unit
    s.text["fes_form_reason"] = sel["reason"]
    s.text["caption_form"] = (f"**Table 03.3.** The functional form of FES SUVmax chosen by the SAP rule: ML AIC "
                              f"of the lesion mixed model (FES form + FDG SUVmax + organ group + arm, random "
                              f"intercept per patient) on the {sel['n_obs']} FES-assessable target lesions with "
                              f"FDG SUVmax and a best % change. Chosen: {s.text['fes_form']}.")
    frame, terms, inter = _fes_terms(d, interact=True)
    base = ["fdg_suvmax", *organs, "treated_cdk46i"]
    lmm = fit_lesion_lmm(frame, "best_pct_change", [*terms, *base])
    fes = _fes_effect(lmm, terms)
    s.add("obj3_lmm_fes_coef", fes["estimate"],
          f"LMM: change in lesion best % change (percentage points) {unit} (adjusted for FDG SUVmax, organ and arm)",
          "estimate", missing=NOT_ESTIMABLE)
    s.add("obj3_lmm_fes_coef_ci_low", fes["ci_low"], "LMM FES coefficient, lower 95% limit", "estimate",
          missing=NOT_ESTIMABLE)
    s.add("obj3_lmm_fes_coef_ci_high", fes["ci_high"], "LMM FES coefficient, upper 95% limit", "estimate",
          missing=NOT_ESTIMABLE)
    s.add("obj3_lmm_fes_p", fes["p_value"], "LMM FES term(s), Wald p-value", "p_value")
    s.text["obj3_lmm_fes_p_prose"] = format_p_prose(fes["p_value"])
    s.add("obj3_lmm_fdg_coef", lmm.coef("fdg_suvmax")["estimate"], "LMM: change per unit FDG SUVmax", "estimate")
    arm = lmm.coef("treated_cdk46i")
    s.add("obj3_lmm_arm_coef", arm["estimate"], "LMM: difference in lesion best % change, ET+CDK4/6i vs ET",
          "estimate")
    s.add("obj3_lmm_arm_coef_ci_low", arm["ci_low"], "LMM arm coefficient, lower 95% limit", "estimate")
    s.add("obj3_lmm_arm_coef_ci_high", arm["ci_high"], "LMM arm coefficient, upper 95% limit", "estimate")
    s.add("obj3_lmm_n_lesions", lmm.n_obs, "Lesions in the mixed model", "count")
    s.add("obj3_lmm_n_patients", lmm.n_groups, "Patients in the mixed model", "count")
    s.add("obj3_lmm_icc", lmm.extra["icc"], "Share of variance between patients (ICC) in the mixed model", "estimate")
    inter_fit = fit_lesion_lmm(frame, "best_pct_change", [*terms, *base, *inter])
    wald = compute_joint_wald(inter_fit, inter)
    s.add("obj3_lmm_fes_arm_interaction_p", wald["p_value"],
          f"LMM: Wald p-value of the FES x arm interaction ({wald['df']} df; pre-specified secondary term)",
          "p_value")
    s.text["obj3_lmm_fes_arm_interaction_p_prose"] = format_p_prose(wald["p_value"])
    s.text["interaction_sentence"] = _p_sentence(
        wald["p_value"], f"the FES x arm interaction (p {format_p_prose(wald['p_value'])})",
        f"that the association of FES with shrinkage is the same in both arms: the test has little power with "
        f"{inter_fit.n_groups} patients")
    if len(inter) == 1:
        ic = inter_fit.coef(inter[0])
        s.add("obj3_lmm_fes_arm_interaction_coef", ic["estimate"],
              f"LMM: difference in the FES coefficient ({unit}), ET+CDK4/6i minus ET", "estimate")
        s.add("obj3_lmm_fes_arm_interaction_coef_ci_low", ic["ci_low"], "FES x arm interaction, lower 95% limit",
              "estimate")
        s.add("obj3_lmm_fes_arm_interaction_coef_ci_high", ic["ci_high"], "FES x arm interaction, upper 95% limit",
              "estimate")
    s.tables["lmm"] = lmm.summary
    s.tables["lmm_display"] = format_lesion_model_table(lmm.summary)
    s.tables["lmm_interaction"] = inter_fit.summary
    warn = f" Warnings: {'; '.join(lmm.extra['warnings'])}." if lmm.extra["warnings"] else ""
    s.text["caption"] = (f"**Table 03.4.** Linear mixed model of lesion best % change, lesion analysis set "
                         f"(FES-assessable target lesions with FDG SUVmax and a CT before first PD; {lmm.n_obs} "
                         f"lesions, {lmm.n_groups} patients; reference: lymph node, ET arm). FES SUVmax enters as "
                         f"{s.text['fes_form']} ({unit}). Between-patient variance "
                         f"{format_number(lmm.extra['var_patient'], 1)}, residual variance "
                         f"{format_number(lmm.extra['var_residual'], 1)}.{warn}")
    fes_only_frame, t2, _ = _fes_terms(d)
    fes_only = fit_lesion_lmm(fes_only_frame, "best_pct_change", [*t2, *organs, "treated_cdk46i"])
    through_frame, t3, _ = _fes_terms(d, les.assign(best_pct_change=les["best_pct_change_through_pd"]))
    through = fit_lesion_lmm(through_frame, "best_pct_change", [*t3, *base])
    s.add("obj3_lmm_fes_only_coef", _fes_effect(fes_only, t2)["estimate"],
          f"LMM without FDG: change {unit}", "estimate", missing=NOT_ESTIMABLE)
    tp = _fes_effect(through, t3)
    s.add("obj3_lmm_fes_coef_through_pd", tp["estimate"],
          f"LMM with best change including the CT at progression (early progressors in): change {unit}",
          "estimate", missing=NOT_ESTIMABLE)
    s.add("obj3_lmm_n_lesions_through_pd", through.n_obs, "Lesions in the mixed model including the CT at progression",
          "count")
    s.add("obj3_lmm_n_patients_through_pd", through.n_groups,
          "Patients in the mixed model including the CT at progression", "count")
    s.tables["sensitivity"] = format_lmm_sensitivity({"primary: FES + FDG + organ + arm": (lmm, terms),
                                                      "FES + organ + arm (no FDG needed)": (fes_only, t2),
                                                      "best change including the CT at progression": (through, t3)})
    s.text["caption_sensitivity"] = (f"**Table 03.5.** The FES coefficient ({unit}) in sensitivity models; each row "
                                     "gives its own lesions and patients.")
    failed = [name for name, f in (("primary", lmm), ("FES x arm", inter_fit), ("FES + organ + arm", fes_only),
                                   ("including the CT at progression", through)) if not f.extra["converged"]]
    s.text["deviation"] = (f"Chapter 03 lesion mixed model(s) did not converge: {', '.join(failed)}." if failed else "")
    s.text["early_progressors"] = _early_progressor_sentence(fes["estimate"], tp["estimate"], lmm.n_obs,
                                                             through.n_obs, lmm.n_groups, through.n_groups)
    return s


def _p_sentence(p: float, what: str, absence: str) -> str:
    """One sentence on a secondary test, chosen from its p-value (never "no effect" from a large p-value)."""
    if pd.isna(p):
        return f"For {what} there is no test: it is {NOT_ESTIMABLE}."
    if p < 0.05:
        return (f"For {what} the result is nominally significant, but it is one of many unadjusted tests in this "
                "chapter and is exploratory.")
    return f"For {what} a p-value this large does not show {absence}."


def _ci_sentence(est: float, low: float, high: float, null: float, what: str, fmt) -> str:
    """Whether a CI excludes the null value, and what its limits allow, chosen from the numbers."""
    if any(pd.isna(v) for v in (est, low, high)):
        return f"The {what} is {NOT_ESTIMABLE}."
    side = "below" if high < null else "above" if low > null else None
    if side is None:
        return (f"The 95% CI of the {what} runs from {fmt(low)} to {fmt(high)} and includes {fmt(null)} (no "
                f"difference): the data neither show a difference nor exclude any value in that range.")
    return (f"The 95% CI of the {what} lies {side} {fmt(null)} ({fmt(low)} to {fmt(high)}); exploratory and "
            "unadjusted for multiplicity.")


def _early_progressor_sentence(primary: float, through: float, n0: int, n1: int, p0: int, p1: int) -> str:
    """What counting the early progressors does to the FES coefficient, chosen from the two numbers."""
    if pd.isna(primary) or pd.isna(through):
        return ("With FES SUVmax as a spline there is no single coefficient to compare; Table 03.5 gives the "
                "p-values of both models.")
    a, b = format_number(primary), format_number(through)
    added = (f"Counting the CT at progression adds {n1 - n0} {format_noun(n1 - n0, 'lesion')} of "
             f"{p1 - p0} {format_noun(p1 - p0, 'patient')} who progressed at their first CT (early progressors)")
    if primary * through <= 0:
        return (f"{added}, and the FES coefficient changes sign, from {a} to {b}: the association seen in the "
                "primary analysis rests on the selection of patients who reached a CT without progression.")
    ratio = through / primary
    if ratio < 1:
        return (f"{added}, and the FES coefficient moves towards zero, from {a} to {b} "
                f"({format_number(100 * (1 - ratio), 0)}% smaller). The primary analysis keeps only lesions seen at "
                "a CT before progression, so it selects on the outcome: patients who progress early leave it "
                "(informative dropout). A smaller coefficient with them counted says that high FES uptake went "
                "with less early growth in their lesions than it went with shrinkage in the others; the primary "
                "estimate describes patients who reached a CT without progression and may overstate the "
                "association for all patients.")
    return (f"{added}, and the FES coefficient moves away from zero, from {a} to {b} "
            f"({format_number(100 * (ratio - 1), 0)}% larger): leaving out the early progressors (informative "
            "dropout) makes the primary estimate, if anything, conservative.")


def section_gee(d: LesionData) -> Section:
    """Logistic GEE of binary lesion response with arm, FES in the SAP's form (Table 03.6)."""
    s = Section()
    frame, terms, _ = _fes_terms(d)
    gee = fit_lesion_gee(frame, "responding", [*terms, "fdg_suvmax", *d.organ_dummies, "treated_cdk46i"])
    unit = _FES_UNIT[d.fes_form["form"]]
    if len(terms) == 1:
        g = gee.coef(terms[0])
        or_, lo, hi, p = g["odds_ratio"], g["or_ci_low"], g["or_ci_high"], g["p_value"]
    else:
        or_ = lo = hi = float("nan")
        p = float("nan")
    s.add("obj3_gee_fes_or", or_, f"GEE: odds ratio of lesion response {unit} (adjusted for FDG, organ, arm)",
          "ratio", missing=NOT_ESTIMABLE)
    s.add("obj3_gee_fes_or_ci_low", lo, "GEE FES odds ratio, lower 95% limit", "ratio", missing=NOT_ESTIMABLE)
    s.add("obj3_gee_fes_or_ci_high", hi, "GEE FES odds ratio, upper 95% limit", "ratio", missing=NOT_ESTIMABLE)
    s.add("obj3_gee_fes_p", p, "GEE FES odds ratio, robust Wald p-value", "p_value")
    s.text["obj3_gee_fes_p_prose"] = format_p_prose(p)
    s.tables["gee"] = gee.summary
    s.tables["gee_display"] = format_lesion_model_table(gee.summary, odds=True)
    s.text["caption"] = (f"**Table 03.6.** Logistic GEE of lesion response, lesion analysis set ({gee.n_obs} "
                         f"lesions, {gee.n_groups} patients, {gee.extra['n_responding']} responding; working "
                         f"correlation {format_number(gee.extra['alpha'])}; FES effect {unit}). Exploratory.")
    return s


def section_patient_response(d: LesionData) -> Section:
    """Per-patient RECIST response: ORR by heterogeneity group (Table 03.7), by arm (Table 03.8), the odds ratio
    of response adjusted for arm (Table 03.9), BOR (Table 03.10 and figure)."""
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
    by_arm = compute_orr(meas, "arm")
    arm_names = {"ET": "et", "ET+CDK4/6i": "et_cdk46i"}
    for row in by_arm.itertuples():
        key = arm_names.get(str(row.group), str(row.group))
        s.add(f"obj3_orr_{key}", row.orr, f"ORR (CR or PR) among measurable patients, arm {row.group}", "percent")
        s.add(f"obj3_orr_{key}_ci_low", row.ci_low, f"ORR arm {row.group}, exact lower 95% limit", "percent")
        s.add(f"obj3_orr_{key}_ci_high", row.ci_high, f"ORR arm {row.group}, exact upper 95% limit", "percent")
        s.add(f"obj3_orr_{key}_n", row.n, f"Measurable patients, arm {row.group}", "count")
    s.tables["orr_arm"] = by_arm
    s.tables["orr_arm_display"] = format_orr_table(by_arm, by="first-line arm")
    s.text["caption_arm"] = (f"**Table 03.8.** Objective response rate (exact 95% CI) by first-line arm, measurable "
                             f"set ({len(meas)} patients with measurable disease). Exploratory.")
    logit = fit_orr_logistic(meas, ["heterogeneous", "treated_cdk46i"])
    h = logit.coef("heterogeneous")
    s.add("obj3_orr_or_heterogeneous_adj_arm", h["odds_ratio"],
          "Odds ratio of objective response, heterogeneous vs homogeneous, adjusted for arm (logistic regression)",
          "ratio")
    s.add("obj3_orr_or_heterogeneous_adj_arm_ci_low", h["or_ci_low"], "Arm-adjusted odds ratio, lower 95% limit",
          "ratio")
    s.add("obj3_orr_or_heterogeneous_adj_arm_ci_high", h["or_ci_high"], "Arm-adjusted odds ratio, upper 95% limit",
          "ratio")
    s.add("obj3_orr_or_heterogeneous_adj_arm_p", h["p_value"], "Arm-adjusted odds ratio, Wald p-value", "p_value")
    s.add("obj3_orr_logistic_n", logit.n_obs, "Measurable patients with a heterogeneity group and arm (logistic model)",
          "count")
    s.text["obj3_orr_or_heterogeneous_adj_arm_p_prose"] = format_p_prose(h["p_value"])
    s.tables["orr_logistic"] = logit.summary
    s.tables["orr_logistic_display"] = format_lesion_model_table(logit.summary, odds=True)
    sep = (" A cell of the 2x2 table is empty (separation): the odds ratio is not estimable." if
           logit.extra["separation"] else "")
    s.text["orr_sentence"] = _ci_sentence(h["odds_ratio"], h["or_ci_low"], h["or_ci_high"], 1.0,
                                          "arm-adjusted odds ratio of response",
                                          lambda v: format_value(v, "ratio"))
    s.text["caption_logistic"] = (f"**Table 03.9.** Logistic regression of objective response on heterogeneity group "
                                  f"and arm, measurable set with a heterogeneity group ({logit.n_obs} patients, "
                                  f"{logit.extra['n_responding']} responders). Exploratory.{sep}")
    n_no_group = int(meas["het_group"].isna().sum())
    s.text["caption"] = ("**Table 03.7.** Objective response rate (exact 95% CI), measurable set "
                         f"({len(meas)} patients with measurable disease), by heterogeneity group. Secondary outcome, "
                         f"exploratory. Fisher's exact test p = {format_p(fisher['p_value'])}."
                         + (f" {n_no_group} measurable {format_noun(n_no_group, 'patient')} without an FES-assessable lesion "
                            f"{format_noun(n_no_group, 'has', 'have')} no group."
                            if n_no_group else ""))
    s.tables["bor"] = format_bor_table(tabulate_bor(d.best, "het_group"))
    s.text["caption_bor"] = (f"**Table 03.10.** Best overall response by heterogeneity group, RECIST set (all "
                             f"{len(d.best)} patients with RECIST assessments; non-CR/non-PD: patients without "
                             "measurable disease).")
    s.figures["bor"] = lesion_plots.plot_bor_stacked(tabulate_bor(d.best, "het_group", normalize=True),
                                                     tabulate_bor(d.best, "het_group"))
    return s


def section_no_measurable(d: LesionData) -> Section:
    """Best overall response of the patients without measurable disease (Table 03.11)."""
    s = Section()
    no_meas = d.best[~d.best["has_target_disease"]]
    s.tables["bor"] = format_bor_no_measurable(no_meas)
    s.text["caption"] = (f"**Table 03.11.** Best overall response of the {len(no_meas)} patients without measurable "
                         "disease (RECIST set), by heterogeneity group.")
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


def section_trajectory_model(d: LesionData) -> Section:
    """The registered trajectory analysed: mixed model of the % change in the target sum of diameters over time
    by heterogeneity group (Table 03.12); depth of response and time to nadir (Table 03.13)."""
    s = Section()
    traj = derive_sod_trajectories(d.assessment)
    pat = d.analysis[["patient_id", "het_group", "arm"]].assign(
        heterogeneous=lambda x: _heterogeneous(x["het_group"]), treated_cdk46i=lambda x: _treated(x["arm"]))
    post = traj[traj["months_from_baseline"] > 0].merge(pat, on="patient_id", how="left")
    fit = fit_sod_slope_lmm(post, covariates=["heterogeneous", "treated_cdk46i"],
                            time_interactions=["heterogeneous", "treated_cdk46i"])
    c = fit.coef("months_from_baseline:heterogeneous")
    s.add("obj3_sod_slope_difference", c["estimate"],
          "Trajectory LMM: slope of % change in target sum of diameters, heterogeneous minus homogeneous "
          "(percentage points per month, adjusted for arm)", "estimate")
    s.add("obj3_sod_slope_difference_ci_low", c["ci_low"], "Slope difference, lower 95% limit", "estimate")
    s.add("obj3_sod_slope_difference_ci_high", c["ci_high"], "Slope difference, upper 95% limit", "estimate")
    s.add("obj3_sod_slope_difference_p", c["p_value"], "Slope difference, Wald p-value", "p_value")
    s.text["obj3_sod_slope_difference_p_prose"] = format_p_prose(c["p_value"])
    direction = ("rose faster (or fell more slowly)" if c["estimate"] > 0 else "fell faster (or rose more slowly)")
    s.text["slope_direction"] = f"{direction} in the heterogeneous than in the homogeneous group"
    s.text["slope_sentence"] = _ci_sentence(c["estimate"], c["ci_low"], c["ci_high"], 0.0,
                                            "slope difference", lambda v: format_value(v, "estimate"))
    s.add("obj3_sod_slope_homogeneous", fit.coef("months_from_baseline")["estimate"],
          "Trajectory LMM: slope in the homogeneous group, ET arm (percentage points per month)", "estimate")
    s.add("obj3_sod_n_patients", fit.n_groups, "Patients in the trajectory model", "count")
    s.add("obj3_sod_n_assessments", fit.n_obs, "Post-baseline CTs in the trajectory model", "count")
    s.add("obj3_sod_random_slope", int(fit.extra["random_effects"] == "random intercept and slope"),
          "1 if the trajectory model kept a random slope per patient, 0 if it fell back to a random intercept",
          "count")
    s.text["random_effects"] = fit.extra["random_effects"]
    s.text["deviation"] = ("" if fit.extra["random_effects"] == "random intercept and slope" else
                           f"Chapter 03 trajectory model: fitted with {fit.extra['random_effects']}, not the planned "
                           "random intercept and slope per patient.")
    s.text["dropout_note"] = (
        "The trajectories end at progression, so patients who progress early contribute few CTs (informative "
        "dropout)" + ("; and without a random slope the CI does not allow for patients' slopes to differ, so it may "
                      "be too narrow." if not fit.extra["random_effects"] == "random intercept and slope" else "."))
    s.tables["sod_lmm"] = fit.summary
    s.tables["sod_lmm_display"] = format_lesion_model_table(fit.summary)
    s.text["caption_model"] = (
        f"**Table 03.12.** Linear mixed model of the % change from baseline in the target sum of diameters at each "
        f"post-baseline CT up to and including the CT at first progression, measurable set with a heterogeneity "
        f"group ({fit.n_obs} CTs of {fit.n_groups} patients; REML, {fit.extra['random_effects']}). Coefficients "
        "in percentage points (slopes: per month). Secondary outcome, exploratory.")
    depth = derive_depth_and_nadir(traj).merge(pat[["patient_id", "het_group"]], on="patient_id", how="left")
    for g in ("homogeneous", "heterogeneous"):
        sub = depth[depth["het_group"].astype(object) == g]
        s.add(f"obj3_depth_of_response_median_{g}", sub["depth_pct"].median() if len(sub) else float("nan"),
              f"Median depth of response (best % change of the target sum of diameters), {g}", "estimate",
              missing=NOT_ESTIMABLE)
        s.add(f"obj3_months_to_nadir_median_{g}", sub["months_to_nadir"].median() if len(sub) else float("nan"),
              f"Median months from baseline CT to nadir, patients with shrinkage, {g}", "months",
              missing=NOT_ESTIMABLE)
    s.tables["depth"] = depth
    s.tables["depth_display"] = format_depth_nadir_table(depth)
    s.text["caption_depth"] = (
        "**Table 03.13.** Depth of response (smallest % change of the target sum of diameters at any post-baseline "
        "CT up to the CT at first progression) and months from the baseline CT to the nadir (patients whose sum "
        f"fell below baseline), measurable set with a post-baseline CT ({int(depth['het_group'].notna().sum())} "
        "patients with a heterogeneity group). Exploratory.")
    return s


def section_recist_settings(d: LesionData) -> Section:
    """The RECIST settings of this run, as a table."""
    s = Section()
    s.tables["settings"] = format_recist_settings(confirm=d.settings["recist_confirm"],
                                                  sd_min_days=d.settings["recist_sd_min_days"],
                                                  response_threshold=d.settings["lesion_response_threshold_pct"],
                                                  fes_threshold=d.settings["fes_threshold"])
    return s
