"""Chapter 01, PFS1 by FES/FDG heterogeneity (objective 1): Kaplan-Meier, the registered Cox model,
proportional hazards and the pre-specified sensitivity analyses.

Each function is one section of ``notebooks/01_pfs_heterogeneity.py`` and returns a
:class:`~sonimage_utils.chapters.Section`; every study value comes from the notebook's parameters.
Nothing here displays anything.
"""

from __future__ import annotations

import math

from sonimage_utils.chapters.section import Section
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.derive.covariates import derive_model_covariates
from sonimage_utils.plots.survival import plot_km, plot_schoenfeld
from sonimage_utils.survival.cox import extract_hr, fit_cox
from sonimage_utils.survival.hazard_ratios import compute_hr_rows
from sonimage_utils.survival.km import compute_logrank, fit_km
from sonimage_utils.survival.ph import compute_ph_test
from sonimage_utils.tables.format import format_p, format_value
from sonimage_utils.tables.labels import LABELS, label
from sonimage_utils.tables.survival import format_cox_table, format_hr_rows, format_km_table, format_ph_table

__all__ = ["GROUPS", "REFERENCE", "CLINICAL_FACTORS", "load", "analysis_set", "sensitivity_specs", "who_is_analysed",
           "kaplan_meier", "primary_cox", "proportional_hazards", "sensitivity"]

#: The primary heterogeneity groups, reference first.
GROUPS = ("homogeneous", "heterogeneous")
#: Reference level (or level order) of each categorical variable of the chapter's models.
REFERENCE = {"het_group": "homogeneous", "arm": "ET",
             "het_group3": ["homogeneous_positive", "mixed", "homogeneous_negative"],
             "fes_fdg_pattern": ["fdg_low", "fdg_high_fes_homogeneous", "fdg_high_fes_heterogeneous"]}
#: The clinical factors of the adjusted sensitivity analysis (WHO status 2 is too rare on its own).
CLINICAL_FACTORS = ("visceral_disease", "de_novo_metastatic", "prior_adjuvant_endocrine", "who_ps_1plus")
#: How the comparison of each binary clinical factor reads in the clinical model's table.
_BINARY_CONTRASTS = {"visceral_disease": "yes vs no", "de_novo_metastatic": "yes vs no",
                     "prior_adjuvant_endocrine": "yes vs no", "who_ps_1plus": "1 or 2 vs 0"}
_HETEROGENEOUS = {"het_group[heterogeneous]": "heterogeneous vs homogeneous"}
_PATTERN = {"fes_fdg_pattern[fdg_high_fes_homogeneous]": "FDG high, FES homogeneous vs FDG low",
            "fes_fdg_pattern[fdg_high_fes_heterogeneous]": "FDG high, FES heterogeneous vs FDG low"}


def analysis_set(cohort, *, fes_threshold: float, fes_excluded_organs, fdg_threshold):
    """The analysis set at one heterogeneity definition, with the model covariates (``hs10``, ``who_ps_1plus``)."""
    return derive_model_covariates(build_analysis_set(cohort, fes_threshold=fes_threshold,
                                                      fes_excluded_organs=fes_excluded_organs,
                                                      fdg_threshold=fdg_threshold))


def load(data_dir, *, fes_threshold: float, fes_excluded_organs, fdg_threshold) -> Section:
    """The development cohort's analysis set and its patients with a heterogeneity group (``pfs``).

    Returns
    -------
    Section
        ``data``: ``cohort``, ``analysis``, ``pfs`` and ``het`` (the heterogeneity arguments).
    """
    son = load_cohort(data_dir, "sonimage")
    het = dict(fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg_threshold)
    analysis = analysis_set(son, **het)
    return Section(data={"cohort": son, "analysis": analysis, "het": het,
                         "pfs": analysis[analysis["het_group"].notna()].copy()})


def sensitivity_specs(pfs, fixed, alternatives: dict, *, fdg_threshold_fixed: float) -> list[dict]:
    """The pre-specified sensitivity analyses of the primary hazard ratio, as specifications for
    :func:`sonimage_utils.survival.compute_hr_rows`; every model is adjusted for the arm.

    Parameters
    ----------
    pfs : pandas.DataFrame
        Patients with a primary heterogeneity group (with the model covariates).
    fixed : pandas.DataFrame
        The analysis set with FDG high at the fixed cut-off ``fdg_threshold_fixed``.
    alternatives : dict of float to pandas.DataFrame
        Other FES threshold -> the analysis set at that threshold.
    fdg_threshold_fixed : float

    Returns
    -------
    list of dict
        ``analysis``, ``data``, ``formula`` and ``report``, in the order of the table.
    """
    specs = [
        {"analysis": "Primary (2 groups)", "data": pfs, "formula": "het_group + arm", "report": _HETEROGENEOUS},
        {"analysis": "3 groups", "data": pfs, "formula": "het_group3 + arm",
         "report": {"het_group3[mixed]": "mixed vs all positive",
                    "het_group3[homogeneous_negative]": "all negative vs all positive"}},
        {"analysis": "FES/FDG pattern (FDG at median)", "data": pfs.dropna(subset=["fes_fdg_pattern"]),
         "formula": "fes_fdg_pattern + arm", "report": _PATTERN},
        {"analysis": f"FES/FDG pattern (FDG >= {format_value(fdg_threshold_fixed, 'parameter')})",
         "data": fixed.dropna(subset=["fes_fdg_pattern", "het_group"]), "formula": "fes_fdg_pattern + arm",
         "report": _PATTERN},
        {"analysis": "Heterogeneity score", "data": pfs, "formula": "hs10 + arm",
         "report": {"hs10": "per 10 points higher"}},
        {"analysis": "Mean FES SUVmax", "data": pfs, "formula": "mean_fes_suvmax + arm",
         "report": {"mean_fes_suvmax": "per 1 unit higher"}},
    ]
    for t, alt in alternatives.items():
        specs.append({"analysis": f"FES threshold {format_value(t, 'parameter')}",
                      "data": alt[alt["het_group"].notna()], "formula": "het_group + arm", "report": _HETEROGENEOUS})
    specs.append({"analysis": "Adjusted for clinical factors", "data": pfs,
                  "formula": " + ".join(["het_group", "arm", *CLINICAL_FACTORS]), "report": _HETEROGENEOUS})
    return specs


def who_is_analysed(base: Section) -> Section:
    """Patients and PFS1 events in the objective-1 analysis, overall and per group; patients left out."""
    pfs, analysis = base.data["pfs"], base.data["analysis"]
    counts = pfs.groupby("het_group", observed=True)["pfs1_event"].agg(["size", "sum"])
    s = Section()
    s.add("obj1_n_patients", len(pfs), "Patients in the objective-1 analysis (with a heterogeneity group)", "count")
    s.add("obj1_n_events", int(pfs["pfs1_event"].sum()), "PFS1 events in the objective-1 analysis", "count")
    for g in GROUPS:
        s.add(f"obj1_n_{g}", int(counts.loc[g, "size"]) if g in counts.index else 0, f"Patients in the {g} group",
              "count")
        s.add(f"obj1_n_events_{g}", int(counts.loc[g, "sum"]) if g in counts.index else 0,
              f"PFS1 events in the {g} group", "count")
    s.add("obj1_n_excluded", len(analysis) - len(pfs), "Patients without a heterogeneity group (left out)", "count")
    return s


def kaplan_meier(base: Section, *, landmark_months) -> Section:
    """Kaplan-Meier medians and landmark PFS1 per group, and the log-rank test.

    Returns
    -------
    Section
        ``tables["km"]``, ``figures["km"]``, ``text["caption"]`` and ``text["logrank"]`` (the log-rank
        test's message, empty when it was computed).
    """
    pfs = base.data["pfs"]
    km = fit_km(pfs, group="het_group", landmarks=landmark_months)
    logrank = compute_logrank(pfs, "het_group")
    med = km.summary.set_index("group")
    s = Section()
    for g in GROUPS:
        m = med.loc[g] if g in med.index else {"median": math.nan, "median_ci_low": math.nan,
                                               "median_ci_high": math.nan}
        s.add(f"obj1_median_pfs_{g}", m["median"], f"Median PFS1 (months), {g} group; null when not reached",
              "median_months")
        s.add(f"obj1_median_pfs_{g}_ci_low", m["median_ci_low"], f"Lower 95% limit of the median, {g}",
              "median_months")
        s.add(f"obj1_median_pfs_{g}_ci_high", m["median_ci_high"], f"Upper 95% limit of the median, {g}",
              "median_months")
        for _, lm in km.landmarks[km.landmarks["group"] == g].iterrows():
            when = format_value(lm["time"], "parameter")
            s.add(f"obj1_pfs{when}_{g}", lm["surv"], f"PFS1 at {when} months, {g} (proportion)", "percent")
    s.add("obj1_logrank_chisq", logrank.statistic, "Log-rank chi-square, heterogeneity groups", "estimate",
          missing="not computed")
    s.add("obj1_logrank_p", logrank.p, "Log-rank p-value, heterogeneity groups", "p_value", missing="not computed")
    s.tables["km"] = format_km_table(km, LABELS)
    s.figures["km"] = plot_km(km, labels=LABELS, annotation=f"Log-rank p = {format_p(logrank.p)}",
                              legend_title=label("het_group"))
    s.text["caption"] = ("**Table 01.1.** PFS1 by heterogeneity group: median and PFS1 at the landmark times, "
                         "Kaplan-Meier estimates with 95% confidence intervals (a limit the curve does not reach "
                         "reads \"not reached\").")
    s.text["logrank"] = f"*{logrank.message}*" if logrank.message else ""
    return s


def primary_cox(base: Section) -> Section:
    """The registered analysis: Cox model of PFS1 on the heterogeneity group adjusted for the arm.

    Returns
    -------
    Section
        ``tables["cox"]``, ``text["caption"]``, ``text["warning"]`` (empty when the model was estimated)
        and ``data["fit"]``.
    """
    primary = fit_cox(base.data["pfs"], "het_group + arm", reference=REFERENCE)
    s = Section(data={"fit": primary})
    for key, name in (("heterogeneous", "het_group[heterogeneous]"), ("arm", "arm[ET+CDK4/6i]")):
        what = "heterogeneous vs homogeneous" if key == "heterogeneous" else "ET+CDK4/6i vs ET"
        row = extract_hr(primary, name)
        s.add(f"obj1_hr_{key}", row["hr"], f"HR {what}, Cox PFS1 ~ group + arm (Efron)", "ratio")
        s.add(f"obj1_hr_{key}_ci_low", row["hr_ci_low"], f"Lower 95% CI, HR {what}", "ratio")
        s.add(f"obj1_hr_{key}_ci_high", row["hr_ci_high"], f"Upper 95% CI, HR {what}", "ratio")
        s.add(f"obj1_hr_{key}_p", row["p"], f"Wald p, HR {what}", "p_value")
    s.tables["cox"] = format_cox_table(primary, variable_labels=LABELS)
    s.text["caption"] = (f"**Table 01.2.** Cox model of PFS1 on heterogeneity group and arm ({primary.n} patients, "
                         f"{primary.n_events} events); hazard ratios with Wald 95% CIs.")
    s.text["warning"] = ("" if primary.ok else
                         f":::{{warning}}\nThe primary model could not be estimated: {primary.message}\n:::")
    return s


def proportional_hazards(primary: Section, *, transform: str, alpha: float) -> Section:
    """The score test of proportional hazards of the primary model and its scaled Schoenfeld residuals.

    Returns
    -------
    Section
        Where the test was computed: results, ``tables["ph"]``, ``figures["schoenfeld"]``,
        ``text["caption"]`` and ``text["reading"]`` (which terms depart at level ``alpha``); otherwise only
        ``text["message"]``.
    """
    ph = compute_ph_test(primary.data["fit"], transform=transform)
    if ph.message:
        return Section(text={"message": f"*{ph.message}*"})
    s = Section()
    ph_p = ph.summary.set_index("term")["p"]
    s.add("obj1_ph_global_p", ph_p["GLOBAL"], "Global proportional-hazards score test p (cox.zph)", "p_value",
          missing="not computed")
    s.add("obj1_ph_het_group_p", ph_p["het_group"], "Proportional-hazards score test p, heterogeneity group",
          "p_value", missing="not computed")
    s.tables["ph"] = format_ph_table(ph, LABELS)
    s.figures["schoenfeld"] = plot_schoenfeld(ph, labels={"het_group": "Heterogeneous vs homogeneous (log HR)",
                                                          "arm": "ET+CDK4/6i vs ET (log HR)"})
    s.text["caption"] = f"**Table 01.3.** Score test of proportional hazards (transform `{transform}`)."
    level = format_value(alpha, "parameter")
    failing = ph.summary[(ph.summary["term"] != "GLOBAL") & (ph.summary["p"] < alpha)]
    if failing.empty:
        s.text["reading"] = (f"No term departs from proportional hazards at the {level} level, so each hazard "
                             "ratio above is read as the effect over the whole follow-up.")
    else:
        s.text["reading"] = (
            f"Proportional hazards is in doubt for {', '.join(failing['term'])} (p < {level}). The hazard "
            "ratio of such a term is then an average over follow-up weighted by the events, not a constant "
            "effect; the Kaplan-Meier curves and the landmark survival in Table 01.1 describe the comparison "
            "over time, and the residual plot shows when the effect changes.")
    return s


def sensitivity(base: Section, *, fdg_threshold_fixed: float, fes_thresholds_sensitivity) -> Section:
    """The sensitivity analyses of the primary hazard ratio and the full clinical model.

    Returns
    -------
    Section
        ``tables["sensitivity"]``, ``tables["clinical"]`` and their captions in ``text``.
    """
    son, het, pfs = base.data["cohort"], base.data["het"], base.data["pfs"]
    fixed = analysis_set(son, **{**het, "fdg_threshold": fdg_threshold_fixed})
    alternatives = {t: analysis_set(son, **{**het, "fes_threshold": t}) for t in fes_thresholds_sensitivity}
    specs = sensitivity_specs(pfs, fixed, alternatives, fdg_threshold_fixed=fdg_threshold_fixed)
    sens, fits = compute_hr_rows(specs, reference=REFERENCE)
    s = Section()
    for t in fes_thresholds_sensitivity:
        row = sens[sens["analysis"] == f"FES threshold {format_value(t, 'parameter')}"].iloc[0]
        s.add(f"obj1_hr_heterogeneous_threshold_{str(t).replace('.', '_')}", row["hr"],
              f"HR heterogeneous vs homogeneous at FES threshold {format_value(t, 'parameter')}", "ratio")
    for key, name in (("obj1_hr_hs10", "Heterogeneity score"), ("obj1_hr_mean_fes", "Mean FES SUVmax"),
                      ("obj1_hr_heterogeneous_adjusted", "Adjusted for clinical factors")):
        row = sens[sens["analysis"] == name].iloc[0]
        s.add(key, row["hr"], f"HR, sensitivity analysis: {name}", "ratio")
        s.add(f"{key}_ci_low", row["hr_ci_low"], f"Lower 95% CI, {name}", "ratio")
        s.add(f"{key}_ci_high", row["hr_ci_high"], f"Upper 95% CI, {name}", "ratio")
    clinical = fits["Adjusted for clinical factors"]
    s.tables["sensitivity"] = format_hr_rows(sens)
    s.tables["clinical"] = format_cox_table(clinical, variable_labels=LABELS, labels=_BINARY_CONTRASTS)
    s.text["sensitivity"] = ("**Table 01.4.** Sensitivity analyses of the primary hazard ratio; every model adjusted "
                             "for the arm (Cox, Efron ties, Wald 95% CIs). A model that cannot be estimated says why "
                             "in *Note*.")
    s.text["clinical"] = (f"**Table 01.5.** Cox model of PFS1 adjusted for clinical factors ({clinical.n} patients, "
                          f"{clinical.n_events} events)." + (f" {clinical.message}" if clinical.message else ""))
    return s
