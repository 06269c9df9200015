"""Chapter 01, PFS1 by FES/FDG heterogeneity (objective 1): Kaplan-Meier, the registered Cox model,
proportional hazards and the pre-specified sensitivity analyses.

Each function is one section of ``notebooks/01_pfs_heterogeneity.py`` and returns a
:class:`~sonimage_utils.chapters.Section`; every study value comes from the notebook's parameters.
Nothing here displays anything.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sonimage_utils.chapters.section import Section
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.derive.covariates import derive_model_covariates
from sonimage_utils.derive.scan_timing import derive_baseline_scan_timing, derive_scan_window_set
from sonimage_utils.plots.survival import plot_km, plot_schoenfeld
from sonimage_utils.survival.cox import extract_hr, fit_cox
from sonimage_utils.survival.hazard_ratios import compute_hr_rows
from sonimage_utils.survival.km import compute_km_crossings, compute_logrank, fit_km
from sonimage_utils.survival.ph import compute_ph_test, compute_zph_smooth
from sonimage_utils.survival.piecewise import fit_piecewise_cox
from sonimage_utils.survival.rmst import compute_rmst_difference
from sonimage_utils.tables.format import format_number, format_p, format_value
from sonimage_utils.tables.labels import LABELS, label
from sonimage_utils.tables.survival import (format_cox_table, format_hr_rows, format_km_table, format_ph_table,
                                            format_piecewise_table, format_rmst_table)

__all__ = ["GROUPS", "REFERENCE", "CLINICAL_FACTORS", "STRATA", "load", "analysis_set", "sensitivity_specs",
           "who_is_analysed", "kaplan_meier", "primary_cox", "proportional_hazards", "time_varying", "sensitivity",
           "SCAN_WINDOW_ANALYSIS", "scan_window_spec"]

#: The primary heterogeneity groups, reference first.
GROUPS = ("homogeneous", "heterogeneous")
#: Reference level (or level order) of each categorical variable of the chapter's models.
REFERENCE = {"het_group": "homogeneous", "arm": "ET",
             "het_group3": ["homogeneous_positive", "mixed", "homogeneous_negative"],
             "fes_fdg_pattern": ["fdg_low", "fdg_high_fes_homogeneous", "fdg_high_fes_heterogeneous"]}
#: The clinical factors of the adjusted sensitivity analysis (WHO status 2 is too rare on its own).
CLINICAL_FACTORS = ("visceral_disease", "de_novo_metastatic", "prior_adjuvant_endocrine", "who_ps_1plus")
#: Stratification variables in the data contract (``data_dictionary/patients.yml``): only the centre. SONIA's
#: other stratification factor, the planned CDK4/6 inhibitor, is not recorded in these data.
STRATA = ("center",)
#: Degrees of freedom of the Schoenfeld residual smoother, R ``plot.cox.zph``'s default (a property of the
#: method, not a study value).
_ZPH_SPLINE_DF = 4
#: Nominal level of the count of sensitivity p-values in the multiplicity caution (not a decision rule).
_NOMINAL = 0.05
#: How the comparison of each binary clinical factor reads in the clinical model's table.
_BINARY_CONTRASTS = {"visceral_disease": "yes vs no", "de_novo_metastatic": "yes vs no",
                     "prior_adjuvant_endocrine": "yes vs no", "who_ps_1plus": "1 or 2 vs 0"}
#: Short group labels for the patients (events) column of the sensitivity table.
_GROUP_SHORT = {"homogeneous": "homog.", "heterogeneous": "heterog.", "homogeneous_positive": "all pos.",
                "mixed": "mixed", "homogeneous_negative": "all neg.", "fdg_low": "FDG low",
                "fdg_high_fes_homogeneous": "FDG high/homog.", "fdg_high_fes_heterogeneous": "FDG high/heterog."}
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
        ``analysis``, ``data``, ``formula``, ``report``, ``set`` (the analysis set, named with its n where it
        is a complete-case subset) and, where there are groups, ``group``; ``strata`` for the stratified
        model. In the order of the table; the first is the registered (confirmatory) analysis.
    """
    fdg = pfs.dropna(subset=["fes_fdg_pattern"])
    fdg_fixed = fixed.dropna(subset=["fes_fdg_pattern", "het_group"])
    fdg_set = f"with FDG-PET (complete cases, {len(fdg)} of {len(pfs)})"
    fdg_done = (pfs["fdg_pet_done"].fillna(False).astype(bool) if "fdg_pet_done" in pfs.columns
                else pfs["fes_fdg_pattern"].notna())
    specs = [
        {"analysis": "Primary (2 groups)", "data": pfs, "formula": "het_group + arm", "report": _HETEROGENEOUS,
         "group": "het_group", "set": "objective-1 set"},
        {"analysis": "Stratified by centre", "data": pfs, "formula": "het_group + arm", "report": _HETEROGENEOUS,
         "group": "het_group", "strata": list(STRATA), "set": "objective-1 set"},
        {"analysis": "3 groups", "data": pfs, "formula": "het_group3 + arm", "group": "het_group3",
         "report": {"het_group3[mixed]": "mixed vs all positive",
                    "het_group3[homogeneous_negative]": "all negative vs all positive"}, "set": "objective-1 set"},
        {"analysis": "FES/FDG pattern (FDG at median)", "data": fdg, "formula": "fes_fdg_pattern + arm",
         "report": _PATTERN, "group": "fes_fdg_pattern", "set": fdg_set},
        {"analysis": f"FES/FDG pattern (FDG >= {format_value(fdg_threshold_fixed, 'parameter')})",
         "data": fdg_fixed, "formula": "fes_fdg_pattern + arm", "report": _PATTERN, "group": "fes_fdg_pattern",
         "set": f"with FDG-PET (complete cases, {len(fdg_fixed)} of {len(pfs)})"},
        # FDG-PET was done "where needed", so its missingness is not at random (SAP, missing data): the primary
        # model in the patients with FDG-PET and in those without shows whether the FDG subset differs
        {"analysis": "Primary model, patients with FDG-PET", "data": pfs[fdg_done], "formula": "het_group + arm",
         "report": _HETEROGENEOUS, "group": "het_group",
         "set": f"with baseline FDG-PET ({int(fdg_done.sum())} of {len(pfs)})"},
        {"analysis": "Primary model, patients without FDG-PET", "data": pfs[~fdg_done],
         "formula": "het_group + arm", "report": _HETEROGENEOUS, "group": "het_group",
         "set": f"without baseline FDG-PET ({int((~fdg_done).sum())} of {len(pfs)})"},
        {"analysis": "Heterogeneity score", "data": pfs, "formula": "hs10 + arm",
         "report": {"hs10": "per 10 points higher"}, "set": "objective-1 set"},
        {"analysis": "Mean FES SUVmax", "data": pfs, "formula": "mean_fes_suvmax + arm",
         "report": {"mean_fes_suvmax": "per 1 unit higher"}, "set": "objective-1 set"},
    ]
    for t, alt in alternatives.items():
        grouped = alt[alt["het_group"].notna()]
        specs.append({"analysis": f"FES threshold {format_value(t, 'parameter')}", "data": grouped,
                      "formula": "het_group + arm", "report": _HETEROGENEOUS, "group": "het_group",
                      "set": f"with a group at threshold {format_value(t, 'parameter')} "
                             f"({len(grouped)} of {len(alt)})"})
    clinical = pfs.dropna(subset=list(CLINICAL_FACTORS))
    specs.append({"analysis": "Adjusted for clinical factors", "data": pfs,
                  "formula": " + ".join(["het_group", "arm", *CLINICAL_FACTORS]), "report": _HETEROGENEOUS,
                  "group": "het_group",
                  "set": f"complete cases of the clinical factors ({len(clinical)} of {len(pfs)})"})
    return specs


def mark_sparse_rows(rows: pd.DataFrame, min_events: int, reference: dict | None = None) -> pd.DataFrame:
    """Rows of :func:`~sonimage_utils.survival.compute_hr_rows` whose comparison rests on a group of fewer
    than ``min_events`` events become ``not_estimable``: estimates NaN, the counts in ``message``.

    The groups of a row are its own level (``column[level]`` in ``name``) and the reference level of that column
    (``reference``: a level, or a list whose first item is the reference); a row whose name names no level
    is judged on all its groups.

    >>> r = pd.DataFrame({"name": ["g[b]", "g[c]"], "hr": [2.0, 6.7], "hr_ci_low": [1.0, 0.3],
    ...                   "hr_ci_high": [4.0, 146.0], "p": [0.05, 0.2], "status": ["ok", "ok"], "message": ["", ""],
    ...                   "group_counts": [[("a", 50, 30), ("b", 40, 20), ("c", 6, 4)]] * 2})
    >>> out = mark_sparse_rows(r, 5, {"g": ["a", "b", "c"]})
    >>> out["status"].tolist(), out["hr"].isna().tolist()
    (['ok', 'not_estimable'], [False, True])
    >>> out.loc[1, "message"]
    'fewer than 5 PFS1 events in a compared group (a: 30; c: 4)'
    """
    if int(min_events) != min_events or min_events < 1:
        raise ValueError(f"min_events must be a whole number of at least 1, got {min_events!r}")
    reference = reference or {}
    out = rows.copy()
    for i, counts in out["group_counts"].items():
        if out.at[i, "status"] != "ok" or not counts:
            continue
        column, _, level = str(out.at[i, "name"]).partition("[")
        ref = reference.get(column)
        ref = ref[0] if isinstance(ref, (list, tuple)) else ref
        involved = [c for c in counts if c[0] in (level.rstrip("]"), ref)] if level else counts
        if involved and min(c[2] for c in involved) < min_events:
            out.loc[i, ["hr", "hr_ci_low", "hr_ci_high", "p"]] = np.nan
            out.at[i, "status"] = "not_estimable"
            out.at[i, "message"] = (f"fewer than {int(min_events)} PFS1 events in a compared group ("
                                    + "; ".join(f"{LABELS.get(lv, lv)}: {e}" for lv, _, e in involved) + ")")
    return out


#: Row label of the sensitivity analysis without the patients whose baseline scans lie outside the window.
SCAN_WINDOW_ANALYSIS = "Baseline scans inside the window"
#: Statuses of a row that is no exploratory comparison: the scan-window row not fitted, a sparse row not estimable.
_NOT_FITTED = ("not_refitted", "not_defined", "not_estimable")


def scan_window_spec(pfs, cohort, *, window_days: int) -> tuple[dict | None, dict | None]:
    """The primary model without the patients who have a baseline PET scan outside the window.

    Parameters
    ----------
    pfs : pandas.DataFrame
        The objective-1 set.
    cohort : Cohort
        The development cohort (its ``scans`` and ``patients``).
    window_days : int
        ``baseline_scan_window_days``: a scan after randomisation or more than this many days before it is
        outside the window (:func:`sonimage_utils.derive.scan_timing.derive_baseline_scan_timing`).

    Returns
    -------
    spec : dict or None
        A specification for :func:`sonimage_utils.survival.compute_hr_rows` (the primary formula on the
        smaller set), or None when there is nothing to refit.
    row : dict or None
        When ``spec`` is None, the table row that says why: no scans.csv (``not_defined``), or no patient
        with a scan outside the window, so the set is the objective-1 set and a refit would repeat the
        primary analysis (``not_refitted``).
    """
    analysis = SCAN_WINDOW_ANALYSIS
    empty = {"analysis": analysis, "comparison": _HETEROGENEOUS["het_group[heterogeneous]"],
             "name": "het_group[heterogeneous]", "n": len(pfs), "n_events": int(pfs["pfs1_event"].sum()),
             "hr": math.nan, "hr_ci_low": math.nan, "hr_ci_high": math.nan, "p": math.nan, "group_counts": []}
    if cohort.scans is None:
        return None, {**empty, "n": math.nan, "n_events": math.nan, "status": "not_defined",
                      "message": "no scans.csv in the data folder, so scan timing is unknown",
                      "set": "not defined (no scan dates)"}
    timing = derive_baseline_scan_timing(cohort.scans, cohort.patients, window_days=window_days)
    inside = derive_scan_window_set(pfs, timing)
    where = f"baseline scans at most {window_days} days before randomisation and none after"
    if len(inside) == len(pfs):
        return None, {**empty, "status": "not_refitted",
                      "message": "no patient has a baseline scan outside the window: the set is the objective-1 "
                                 "set and a refit would only repeat the primary analysis",
                      "set": f"{where} (all {len(pfs)})"}
    return ({"analysis": analysis, "data": inside, "formula": "het_group + arm", "report": _HETEROGENEOUS,
             "group": "het_group", "set": f"{where} ({len(inside)} of {len(pfs)})"}, None)


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


def _set_label(pfs) -> str:
    n, ev = len(pfs), int(pfs["pfs1_event"].sum())
    return f"objective-1 set: patients with a heterogeneity group, n = {n}, {ev} events"


def kaplan_meier(base: Section, *, landmark_months) -> Section:
    """Kaplan-Meier medians and landmark PFS1 per group, and the log-rank test.

    Returns
    -------
    Section
        ``tables["km"]``, ``figures["km"]``, ``text["caption"]`` and ``text["logrank"]`` (the log-rank
        test's message, empty when it was computed); ``data["km"]`` (the fit) and ``data["crossings"]``
        (times the heterogeneous curve crosses the homogeneous one).
    """
    pfs = base.data["pfs"]
    km = fit_km(pfs, group="het_group", landmarks=landmark_months)
    logrank = compute_logrank(pfs, "het_group")
    med = km.summary.set_index("group")
    crossings = compute_km_crossings(km, *GROUPS) if all(g in km.curves for g in GROUPS) else []
    s = Section(data={"km": km, "crossings": crossings})
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
    s.add("obj1_km_n_crossings", len(crossings), "Times the Kaplan-Meier curves of the two groups cross "
          "(sign changes of the difference up to the earlier last follow-up)", "count")
    s.tables["km"] = format_km_table(km, LABELS)
    s.figures["km"] = plot_km(km, labels=LABELS, annotation=f"Log-rank p = {format_p(logrank.p)}",
                              legend_title=label("het_group"))
    s.text["caption"] = ("**Table 01.1.** PFS1 by heterogeneity group: median and PFS1 at the landmark times, "
                         "Kaplan-Meier estimates with 95% confidence intervals (a limit the curve does not reach "
                         f"reads \"not reached\"). Descriptive; {_set_label(pfs)}.")
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
    s.text["caption"] = (f"**Table 01.2.** Confirmatory: the registered Cox model of PFS1 on heterogeneity group "
                         f"and arm; hazard ratios with Wald 95% CIs. Objective-1 set, {primary.n} patients, "
                         f"{primary.n_events} events. The heterogeneity hazard ratio is the one registered test; "
                         "the arm's hazard ratio is an adjustment term, not a test of this study.")
    s.text["warning"] = ("" if primary.ok else
                         f":::{{warning}}\nThe primary model could not be estimated: {primary.message}\n:::")
    return s


def proportional_hazards(primary: Section, *, transform: str, alpha: float) -> Section:
    """The score test of proportional hazards of the primary model and its scaled Schoenfeld residuals.

    Returns
    -------
    Section
        Where the test was computed: results, ``tables["ph"]``, ``figures["schoenfeld"]`` (with the
        regression-spline smoother and its +/- 2 SE band), ``text["caption"]``, ``text["figure"]`` and
        ``text["reading"]`` (generated from the p-values and the number of events: a non-significant test is
        never read as evidence of proportional hazards); otherwise only ``text["message"]``.
    """
    fit = primary.data["fit"]
    ph = compute_ph_test(fit, transform=transform)
    if ph.message:
        return Section(text={"message": f"*{ph.message}*"})
    s = Section()
    ph_p = ph.summary.set_index("term")["p"]
    s.add("obj1_ph_global_p", ph_p["GLOBAL"], "Global proportional-hazards score test p (cox.zph)", "p_value",
          missing="not computed")
    s.add("obj1_ph_het_group_p", ph_p["het_group"], "Proportional-hazards score test p, heterogeneity group",
          "p_value", missing="not computed")
    terms = [t for t in ph.summary["term"] if t != "GLOBAL"]
    smooths = {t: compute_zph_smooth(ph, t, df=_ZPH_SPLINE_DF) for t in terms
               if len(ph.residuals) > _ZPH_SPLINE_DF + 1}
    s.tables["ph"] = format_ph_table(ph, LABELS)
    s.figures["schoenfeld"] = plot_schoenfeld(ph, labels={"het_group": "Heterogeneous vs homogeneous (log HR)",
                                                          "arm": "ET+CDK4/6i vs ET (log HR)"}, smooths=smooths)
    s.text["caption"] = (f"**Table 01.3.** Score test of proportional hazards of the primary model (R `cox.zph`, "
                         f"transform `{transform}`). Exploratory check of an assumption; objective-1 set, "
                         f"{fit.n} patients, {fit.n_events} events.")
    band = ("a natural cubic regression spline with "
            f"{_ZPH_SPLINE_DF} degrees of freedom (as R `plot.cox.zph`) and its pointwise band of +/- 2 standard "
            "errors of the least-squares fit (residual variance from the residuals; about 95%)") if smooths else \
        "a lowess line (too few events for the spline band)"
    s.text["figure"] = (f"*Figure 01.2, method.* Scaled Schoenfeld residuals of the primary model against time, with "
                        f"{band}; the dashed line is the fitted coefficient, which a constant hazard ratio would "
                        f"follow. Objective-1 set, {fit.n} patients, {fit.n_events} events (one point per event).")
    level = format_value(alpha, "parameter")
    events = format_value(fit.n_events, "count")
    p_het = format_p(ph_p["het_group"])
    failing = ph.summary[(ph.summary["term"] != "GLOBAL") & (ph.summary["p"] < alpha)]
    if failing.empty:
        s.text["reading"] = (
            f"No term departs from proportional hazards at the {level} level (heterogeneity group p = {p_het}). "
            f"That is not evidence that the hazards are proportional: with {events} events the test has little "
            "power against a hazard ratio that changes over follow-up (Figure 01.2 shows the estimated log hazard "
            "ratio over time with its band). The pre-specified time-varying analyses below (hazard ratios before and after the cut-points, and the "
            "restricted mean PFS1) show how much the comparison depends on the assumption.")
    else:
        names = ", ".join(label(t) for t in failing["term"])
        s.text["reading"] = (
            f"Proportional hazards is in doubt for {names} (p < {level}, {events} events). The hazard "
            "ratio of such a term is then an average over follow-up weighted by the events, not a constant "
            "effect; the Kaplan-Meier curves, the landmark survival in Table 01.1, and the piecewise hazard "
            "ratios and restricted mean PFS1 below describe the comparison over time.")
    return s


def _key(interval: str) -> str:
    return interval.replace("-", "_").replace("+", "plus")


def time_varying(base: Section, km: Section, primary: Section, *, cutpoints, horizon: float) -> Section:
    """The pre-specified time-varying sensitivity analysis: piecewise hazard ratios at the cut-points and the
    restricted mean PFS1 difference (heterogeneous minus homogeneous) up to the horizon; and, where the
    medians point the other way from the hazard ratio or the curves cross, a sentence that says why.

    Returns
    -------
    Section
        ``tables["piecewise"]``, ``tables["rmst"]``, ``text["piecewise"]``, ``text["rmst"]`` (captions) and
        ``text["explanation"]`` (empty when medians, curves and hazard ratio agree).
    """
    pfs = base.data["pfs"]
    s = Section()
    pw = fit_piecewise_cox(pfs, "het_group", GROUPS, cutpoints, adjust=["arm"], reference=REFERENCE)
    for _, r in pw.summary.iterrows():
        k = _key(r["interval"])
        s.add(f"obj1_piecewise_hr_{k}", r["hr"], f"HR heterogeneous vs homogeneous in months {r['interval']} "
              "(episode-split Cox, adjusted for arm)", "ratio")
        s.add(f"obj1_piecewise_hr_{k}_ci_low", r["hr_ci_low"], f"Lower 95% CI, piecewise HR {r['interval']}", "ratio")
        s.add(f"obj1_piecewise_hr_{k}_ci_high", r["hr_ci_high"], f"Upper 95% CI, piecewise HR {r['interval']}",
              "ratio")
    rm = compute_rmst_difference(pfs, "het_group", GROUPS, horizon).set_index("group")
    s.add("obj1_rmst_horizon_months", horizon, "Horizon of the restricted mean PFS1 (SAP rmst_horizon_months)",
          "parameter")
    for g in GROUPS:
        s.add(f"obj1_rmst_{g}", rm.loc[g, "rmst"], f"Restricted mean PFS1 to the horizon (months), {g}", "months")
    s.add("obj1_rmst_difference", rm.loc["difference", "rmst"], "Restricted mean PFS1 to the horizon, "
          "heterogeneous minus homogeneous (months; Kaplan-Meier)", "months")
    s.add("obj1_rmst_difference_ci_low", rm.loc["difference", "ci_low"], "Lower 95% CI, restricted mean difference",
          "months")
    s.add("obj1_rmst_difference_ci_high", rm.loc["difference", "ci_high"], "Upper 95% CI, restricted mean difference",
          "months")
    s.add("obj1_rmst_difference_p", rm.loc["difference", "p"], "Wald p, restricted mean difference", "p_value")
    names = tuple(label(g) for g in GROUPS)
    s.tables["piecewise"] = format_piecewise_table(pw.summary, names)
    s.tables["rmst"] = format_rmst_table(rm.reset_index(), {**LABELS, "difference": f"{names[1]} minus {names[0]}"})
    fit = pw.fit
    s.text["piecewise"] = (
        "**Table 01.4.** Exploratory (pre-specified sensitivity analysis): hazard ratio of ER-heterogeneous vs "
        "ER-homogeneous disease within each interval of follow-up, from one Cox model on the follow-up split at "
        f"the SAP's cut-points (R `survSplit`), adjusted for the arm; Efron ties, Wald 95% CIs. Objective-1 set, "
        f"{len(pfs)} patients, {fit.n_events} events." + (f" {fit.message}" if fit.message else ""))
    hz = format_value(horizon, "parameter")
    ext = " The horizon lies beyond a group's last follow-up: its curve is carried flat, an extrapolation." \
        if rm["extended"].any() else ""
    s.text["rmst"] = (
        f"**Table 01.5.** Exploratory (pre-specified sensitivity analysis): restricted mean PFS1 up to {hz} months, "
        "the area under each Kaplan-Meier curve, with R `survfit`'s standard error; the difference has a Wald "
        f"95% CI. Objective-1 set, {len(pfs)} patients; not adjusted for the arm.{ext}")
    s.text["explanation"] = _explain_discordance(km, primary, rm, horizon)
    return s


def _explain_discordance(km: Section, primary: Section, rm, horizon: float) -> str:
    """A sentence chosen from the numbers when the medians and the hazard ratio point different ways or the
    curves cross; empty otherwise."""
    med = {g: km.value(f"obj1_median_pfs_{g}") for g in GROUPS}
    hr = primary.value("obj1_hr_heterogeneous")
    crossings = km.data["crossings"]
    if any(v is None or not math.isfinite(v) for v in [*med.values(), hr]):
        return ""
    medians_favour_het = med["heterogeneous"] > med["homogeneous"]
    discordant = (hr > 1) == medians_favour_het and med["heterogeneous"] != med["homogeneous"] and hr != 1
    if not discordant and not crossings:
        return ""
    m_het = format_value(med["heterogeneous"], "median_months")
    m_hom = format_value(med["homogeneous"], "median_months")
    parts = []
    if discordant:
        worse = "shorter" if not medians_favour_het else "longer"
        parts.append(
            f"The medians point the other way from the hazard ratio: median PFS1 was {m_het} months in "
            f"ER-heterogeneous and {m_hom} months in ER-homogeneous patients ({worse} with heterogeneity), while "
            f"the adjusted hazard ratio is {format_value(hr, 'ratio')}. A median describes one point of each curve, "
            "the time at which it crosses 50%; the hazard ratio averages the hazard over the whole follow-up, "
            "weighted by the events, and is adjusted for the arm.")
    if crossings:
        times = format_value(crossings[-1], "months")
        parts.append(f"The Kaplan-Meier curves cross {format_value(len(crossings), 'count')} "
                     f"{'time' if len(crossings) == 1 else 'times'}, the last at {times} months, so no single "
                     "summary describes the whole comparison.")
    diff = rm.loc["difference"]
    parts.append(
        "Over the whole curve up to the horizon, the restricted mean PFS1 to "
        f"{format_value(horizon, 'parameter')} months differed by {format_value(diff['rmst'], 'months')} months "
        f"(heterogeneous minus homogeneous; 95% CI {format_value(diff['ci_low'], 'months')} to "
        f"{format_value(diff['ci_high'], 'months')}); the landmark estimates in Table 01.1 and the piecewise "
        "hazard ratios in Table 01.4 show where in follow-up the groups differ.")
    return " ".join(parts)


def sensitivity(base: Section, *, fdg_threshold_fixed: float, fes_thresholds_sensitivity,
                baseline_scan_window_days: int, min_events_per_group: int) -> Section:
    """The sensitivity analyses of the primary hazard ratio (including the model stratified by centre) and the
    full clinical model.

    A row whose model has a group with fewer than ``min_events_per_group`` PFS1 events (the SAP's
    ``cox_min_events_per_group``) is reported as not estimable, with the counts (:func:`mark_sparse_rows`).

    Returns
    -------
    Section
        ``tables["sensitivity"]``, ``tables["clinical"]``, their captions in ``text`` (``sensitivity``,
        ``clinical``), ``text["caution"]`` (how many of the exploratory p-values fall below 0.05, unadjusted)
        and ``text["strata"]`` (which stratification variables the data hold).
    """
    son, het, pfs = base.data["cohort"], base.data["het"], base.data["pfs"]
    fixed = analysis_set(son, **{**het, "fdg_threshold": fdg_threshold_fixed})
    alternatives = {t: analysis_set(son, **{**het, "fes_threshold": t}) for t in fes_thresholds_sensitivity}
    specs = sensitivity_specs(pfs, fixed, alternatives, fdg_threshold_fixed=fdg_threshold_fixed)
    window_spec, window_row = scan_window_spec(pfs, son, window_days=baseline_scan_window_days)
    specs += [window_spec] if window_spec else []
    sens, fits = compute_hr_rows(specs, reference=REFERENCE)
    sens = mark_sparse_rows(sens, min_events_per_group, REFERENCE)
    sets = {sp["analysis"]: sp["set"] for sp in specs}
    sens["set"] = sens["analysis"].map(sets)
    if window_row:
        sens = pd.concat([sens, pd.DataFrame([window_row])], ignore_index=True)
    sens["role"] = ["confirmatory" if a == specs[0]["analysis"] else "exploratory" for a in sens["analysis"]]
    s = Section()
    row = sens[sens["analysis"] == SCAN_WINDOW_ANALYSIS].iloc[0]
    why = "" if row["status"] == "ok" else f"; {row['status'].replace('_', ' ')}: {row['message']}"
    s.add("obj1_n_scan_window", row["n"], "Patients in the scan-window sensitivity analysis (objective-1 set without "
          f"patients with a baseline scan outside the window){why}", "count")
    s.add("obj1_n_events_scan_window", row["n_events"], "PFS1 events in the scan-window sensitivity analysis",
          "count")
    for key, col, kind, what in (("", "hr", "ratio", "HR heterogeneous vs homogeneous"),
                                 ("_ci_low", "hr_ci_low", "ratio", "Lower 95% CI"),
                                 ("_ci_high", "hr_ci_high", "ratio", "Upper 95% CI"),
                                 ("_p", "p", "p_value", "Wald p")):
        s.add(f"obj1_hr_heterogeneous_scan_window{key}", row[col], f"{what}, Cox PFS1 ~ group + arm without "
              f"patients with a baseline scan outside the window (exploratory){why}", kind,
              missing=None if row["status"] == "ok" else row["status"].replace("_", " "))
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
    row = sens[sens["analysis"] == "Stratified by centre"].iloc[0]
    s.add("obj1_hr_heterogeneous_stratified", row["hr"], "HR heterogeneous vs homogeneous, Cox PFS1 ~ group + arm "
          "stratified by centre (Efron)", "ratio")
    s.add("obj1_hr_heterogeneous_stratified_ci_low", row["hr_ci_low"], "Lower 95% CI, HR stratified by centre",
          "ratio")
    s.add("obj1_hr_heterogeneous_stratified_ci_high", row["hr_ci_high"], "Upper 95% CI, HR stratified by centre",
          "ratio")
    s.add("obj1_hr_heterogeneous_stratified_p", row["p"], "Wald p, HR stratified by centre", "p_value")
    clinical = fits["Adjusted for clinical factors"]
    s.add("obj1_n_clinical_complete_cases", clinical.n, "Patients in the clinical-factor model (complete cases)",
          "count")
    exploratory = sens[(sens["role"] == "exploratory") & ~sens["status"].isin(_NOT_FITTED)]
    n_nominal = int((exploratory["p"] < _NOMINAL).sum())
    s.add("obj1_sensitivity_n_comparisons", len(exploratory), "Exploratory comparisons in the sensitivity table",
          "count")
    s.add("obj1_sensitivity_n_p_below_005", n_nominal, "Exploratory sensitivity comparisons with p < 0.05 "
          "(unadjusted)", "count")
    s.tables["sensitivity"] = format_hr_rows(sens, group_labels={**LABELS, **_GROUP_SHORT})
    s.tables["clinical"] = format_cox_table(clinical, variable_labels=LABELS, labels=_BINARY_CONTRASTS)
    s.text["sensitivity"] = (
        "**Table 01.6.** Sensitivity analyses of the primary hazard ratio; every model adjusted for the arm (Cox, "
        "Efron ties, Wald 95% CIs). The first row is the registered (confirmatory) analysis, every other row is "
        "exploratory and unadjusted for multiplicity. *Patients* and *Events* are each row's own analysis set "
        "(named in *Analysis set*), and each group's patients (events) are shown beside them. A model that cannot "
        "be estimated says why in *Note*.")
    n_rows = format_value(len(exploratory), "count")
    if n_nominal == 0:
        s.text["caution"] = (f"None of the {n_rows} exploratory comparisons has p < 0.05. That is no evidence "
                             "that the choices they vary do not matter: each is estimated with the precision of "
                             "the primary analysis or less.")
    else:
        which = "; ".join(f"{a}, {c}: p = {format_p(p)}" for a, c, p in
                          exploratory.loc[exploratory["p"] < _NOMINAL, ["analysis", "comparison", "p"]]
                          .itertuples(index=False))
        s.text["caution"] = (
            f"{format_value(n_nominal, 'count')} of the {n_rows} exploratory comparisons "
            f"{'has' if n_nominal == 1 else 'have'} p < 0.05 ({which}). These p-values are unadjusted and "
            f"exploratory: with {n_rows} tests and no effect at all, about {format_number(len(exploratory) * _NOMINAL, 1)} "
            "would be expected below 0.05 by chance, so a nominally significant row among many is a hypothesis "
            "for another study, not a finding.")
    shares = []
    for t, alt in alternatives.items():
        grouped = alt[alt["het_group"].notna()]
        n_het = int((grouped["het_group"] == "heterogeneous").sum())
        shares.append(f"{format_value(n_het, 'count')} of {format_value(len(grouped), 'count')} "
                      f"({format_value(n_het / len(grouped) if len(grouped) else math.nan, 'percent')}) at threshold "
                      f"{format_value(t, 'parameter')}")
    n_het0 = int((pfs["het_group"] == "heterogeneous").sum())
    s.text["thresholds"] = (
        "The FES threshold decides who counts as heterogeneous: "
        f"{format_value(n_het0, 'count')} of {format_value(len(pfs), 'count')} "
        f"({format_value(n_het0 / len(pfs), 'percent')}) at the primary threshold, " + ", ".join(shares) +
        ". A higher threshold calls more lesions FES-negative, so the groups compared at another threshold are "
        "different patients, not the same comparison measured again.")
    strata = ", ".join(label(c).lower() for c in STRATA)
    s.text["strata"] = (
        f"The data contract records no randomisation stratification factor except {strata}; the choice of "
        "CDK4/6 inhibitor, a stratification factor of SONIA, is not in these data, so the model stratified by "
        f"{strata} (the row *Stratified by centre*) is the only stratified model the data allow. A centre "
        "without events contributes nothing to a stratified model and does not stop it.")
    cc = "" if clinical.n == len(pfs) else f" ({len(pfs) - clinical.n} with a missing clinical factor left out)"
    s.text["clinical"] = (f"**Table 01.7.** Exploratory: Cox model of PFS1 adjusted for clinical factors. Complete "
                          f"cases of the clinical factors: {clinical.n} of {len(pfs)} patients{cc}, "
                          f"{clinical.n_events} events." + (f" {clinical.message}" if clinical.message else ""))
    return s
