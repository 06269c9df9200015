"""Chapter 02, heterogeneity and the benefit of adding a CDK4/6 inhibitor (objective 2): the interaction
model, the treatment effect within each group on the hazard-ratio and the absolute scale, the exploratory
interactions with the three-level groups and the continuous heterogeneity score, the simulated power of the
interaction test, and the conclusion chosen from those numbers.

Each function is one section of ``notebooks/02_treatment_interaction.py`` and returns a
:class:`~sonimage_utils.chapters.Section`; every study value (the simulation's design, seed, level and
number of trials) comes from the notebook's parameters. Nothing here displays anything.
"""

from __future__ import annotations

import math

import pandas as pd

from sonimage_utils.chapters.section import Section
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.derive.covariates import derive_model_covariates
from sonimage_utils.plots.survival import plot_forest, plot_interaction_power, plot_km_panels
from sonimage_utils.survival.cox import compute_lr_test, extract_hr, fit_cox
from sonimage_utils.survival.hazard_ratios import compute_subgroup_hrs
from sonimage_utils.survival.km import fit_km
from sonimage_utils.survival.km_difference import compute_km_interaction_at
from sonimage_utils.survival.power import compute_interaction_power
from sonimage_utils.tables.format import (format_estimate_ci, format_noun, format_p_prose, format_percent,
                                          format_value, is_missing)
from sonimage_utils.tables.labels import LABELS, label
from sonimage_utils.tables.summary import INTERACTION_POWER, format_interaction_conclusion
from sonimage_utils.tables.survival import (format_cox_table, format_hr_rows, format_km_difference_note,
                                            format_km_difference_table, format_lr_tests, format_power_table)

__all__ = ["GROUPS", "GROUPS3", "REFERENCE", "POWER_COLUMNS", "REPORTED_RATIOS", "ARMS", "load",
           "interaction_model", "within_groups", "absolute_scale", "other_interactions", "interaction_power",
           "conclusion"]

#: The primary heterogeneity groups, reference first.
GROUPS = ("homogeneous", "heterogeneous")
#: The secondary (three-level) heterogeneity groups, reference first.
GROUPS3 = ("homogeneous_positive", "mixed", "homogeneous_negative")
#: The arms, control first.
ARMS = ("ET", "ET+CDK4/6i")
#: Reference levels of the chapter's models.
REFERENCE = {"het_group": "homogeneous", "het_group3": "homogeneous_positive", "arm": "ET"}
#: Columns of :func:`~sonimage_utils.survival.compute_interaction_power` (an empty table when it cannot run).
POWER_COLUMNS = ["hr_interaction", "hr_arm_homogeneous", "hr_arm_heterogeneous", "power", "power_mc_se",
                 "mean_events", "median_hr_interaction_estimate", "share_converged", "n_sim"]
#: Interaction ratios whose simulated power the prose states, with their registry suffix.
REPORTED_RATIOS = ((0.5, "0_5"), (2.0, "2_0"), (0.33, "0_33"))
_INTERACTION = "het_group[heterogeneous]:arm[ET+CDK4/6i]"


def load(data_dir, *, fes_threshold: float, fes_excluded_organs, fdg_threshold) -> Section:
    """Patients of the development cohort with a primary heterogeneity group.

    Returns
    -------
    Section
        ``data["pfs"]``, with the model covariates (``hs10``, the heterogeneity score per 10 points).
    """
    analysis = derive_model_covariates(build_analysis_set(load_cohort(data_dir, "sonimage"),
                                                          fes_threshold=fes_threshold,
                                                          fes_excluded_organs=fes_excluded_organs,
                                                          fdg_threshold=fdg_threshold))
    return Section(data={"pfs": analysis[analysis["het_group"].notna()].copy()})


def interaction_model(base: Section) -> Section:
    """Cox model with a heterogeneity x arm interaction, and its likelihood-ratio test against the main effects.

    Returns
    -------
    Section
        ``tables["cox"]``, ``text["caption"]``, ``text["warning"]`` (empty when the test was computed),
        ``data["main"]`` and ``data["interaction"]`` (the two fits).
    """
    pfs = base.data["pfs"]
    main = fit_cox(pfs, "het_group + arm", reference=REFERENCE)
    inter = fit_cox(pfs, "het_group * arm", reference=REFERENCE)
    lr = compute_lr_test(main, inter)
    s = Section(data={"main": main, "interaction": inter})
    s.add("obj2_interaction_chisq", lr["statistic"], "LR chi-square of the heterogeneity x arm interaction", "estimate")
    s.add("obj2_interaction_p", lr["p"], "LR test p of the heterogeneity x arm interaction", "p_value")
    row = extract_hr(inter, _INTERACTION)
    s.add("obj2_hr_interaction", row["hr"], "Ratio of arm HRs, heterogeneous / homogeneous (interaction term)",
          "ratio")
    s.add("obj2_hr_interaction_ci_low", row["hr_ci_low"], "Lower 95% CI of the interaction ratio", "ratio")
    s.add("obj2_hr_interaction_ci_high", row["hr_ci_high"], "Upper 95% CI of the interaction ratio", "ratio")
    s.tables["cox"] = format_cox_table(inter, variable_labels=LABELS, labels={
        _INTERACTION: "ratio of the ET+CDK4/6i HR, heterogeneous / homogeneous"})
    s.text["caption"] = (f"**Table 02.1.** Secondary analysis (registered; exploratory in inference). Cox model of "
                         f"PFS1 with a heterogeneity x arm interaction, objective-2 set ({inter.n} patients with a "
                         f"heterogeneity group, {inter.n_events} PFS1 events; Efron ties, Wald 95% CIs). The group "
                         "row is the HR heterogeneous vs homogeneous on ET alone; the arm row is the treatment HR in "
                         "ER-homogeneous patients; the last row is their ratio (Wald p; the likelihood-ratio test, "
                         "the planned test of the interaction, is in the text and Table 02.5).")
    s.text["warning"] = f":::{{warning}}\n{lr['message']}\n:::" if lr["message"] else ""
    return s


def within_groups(base: Section, model: Section) -> Section:
    """Treatment HR within each group (from the interaction model) beside the overall one, as a table, a
    forest plot and Kaplan-Meier curves by arm within each group.

    Parameters
    ----------
    base : Section
        From :func:`load`.
    model : Section
        From :func:`interaction_model`.

    Returns
    -------
    Section
        ``tables["by_group"]``, ``figures["forest"]``, ``figures["km"]``, ``text["caption"]``.
    """
    pfs = base.data["pfs"]
    sub = compute_subgroup_hrs(model.data["interaction"], pfs, "het_group")
    s = Section()
    for _, r in sub.iterrows():
        g = r["label"]
        s.add(f"obj2_hr_arm_{g}", r["hr"], f"HR ET+CDK4/6i vs ET within the {g} group", "ratio")
        s.add(f"obj2_hr_arm_{g}_ci_low", r["hr_ci_low"], f"Lower 95% CI, arm HR within {g}", "ratio")
        s.add(f"obj2_hr_arm_{g}_ci_high", r["hr_ci_high"], f"Upper 95% CI, arm HR within {g}", "ratio")
    overall = extract_hr(model.data["main"], "arm[ET+CDK4/6i]", "All patients (adjusted for group)")
    rows = pd.concat([pd.DataFrame([{**overall, "bold": True}]),
                      sub.assign(label=sub["label"].map(label), bold=False)], ignore_index=True)
    # no p per subgroup: a significant HR in one group and not in the other is no test of interaction
    s.tables["by_group"] = format_hr_rows(rows.assign(comparison=rows["label"])).drop(columns="p")
    inter = model.data["interaction"]
    s.text["caption"] = (f"**Table 02.2.** Hazard ratio of ET+CDK4/6i vs ET overall (model with group + arm) and "
                         f"within each heterogeneity group (interaction model), objective-2 set ({inter.n} patients, "
                         f"{inter.n_events} PFS1 events; patients and events per row). Secondary analysis; the "
                         "within-group HRs are exploratory. No p-value per group is shown: whether the HR is "
                         "significant in one group and not in the other is no test of interaction (Table 02.5).")
    p_inter = model.value("obj2_interaction_p")
    ratio = format_estimate_ci(model.value("obj2_hr_interaction"), model.value("obj2_hr_interaction_ci_low"),
                               model.value("obj2_hr_interaction_ci_high"))
    note = (f"Interaction: ratio of the HRs, heterogeneous / homogeneous, {ratio}; likelihood-ratio test (1 df) "
            f"p {format_p_prose(p_inter)}" if not is_missing(p_inter)
            else "Interaction test: not computed (see Table 02.1)")
    s.figures["forest"] = plot_forest(rows, xlabel="Hazard ratio, ET+CDK4/6i vs ET (95% CI)",
                                      favours=("favours ET+CDK4/6i", "favours ET"), note=note)
    panels, notes = {}, {}
    by_label = sub.set_index("label")
    for g in GROUPS:
        part = pfs[pfs["het_group"] == g]
        if part.empty:
            continue
        panels[label(g)] = fit_km(part, group="arm")
        r = by_label.loc[g]
        notes[label(g)] = f"HR {format_estimate_ci(r['hr'], r['hr_ci_low'], r['hr_ci_high'])}"
    s.figures["km"] = plot_km_panels(panels, annotations=notes, legend_title=label("arm"))
    return s


def absolute_scale(base: Section, *, horizon: float, min_at_risk: int) -> Section:
    """The interaction on the absolute scale: PFS1 at ``horizon`` (Kaplan-Meier) by group and arm, the arm
    difference within each group and the difference of those differences, with Wald 95% CIs.

    Parameters
    ----------
    base : Section
        From :func:`load`.
    horizon : float
        Months (the SAP's ``benefit_horizon_months``: the horizon of the predicted benefit of chapter 04).
    min_at_risk : int
        The SAP's ``km_min_at_risk``: a cell with fewer patients at risk at the horizon makes the differences it
        enters not estimable.

    Returns
    -------
    Section
        Results ``obj2_pfs24_*``, ``tables["absolute"]``, ``text["caption"]``, ``text["reading"]`` (the
        sentence chosen from the numbers) and ``text["short"]`` (its form for the conclusion),
        ``data["absolute"]`` (the estimator's output).
    """
    pfs = base.data["pfs"]
    res = compute_km_interaction_at(pfs, group="het_group", levels=GROUPS, arm="arm", arms=ARMS, t=horizon,
                                    min_at_risk=min_at_risk)
    diffs = res["differences"].set_index("group")
    s = Section(data={"absolute": res})
    h = format_value(horizon, "parameter")
    s.add("obj2_pfs24_horizon_months", horizon, "Horizon of the absolute-scale interaction (SAP "
          "benefit_horizon_months), months", "parameter")
    s.add("obj2_pfs24_min_at_risk", min_at_risk, "Fewest patients at risk at the horizon in each group x arm cell "
          "for the Kaplan-Meier differences (SAP km_min_at_risk)", "count")
    for g in GROUPS:
        r = diffs.loc[g]
        why = "" if r["status"] == "ok" else f"; not estimable: {r['reason']}"
        s.add(f"obj2_pfs24_difference_{g}", r["estimate"], f"PFS1 at {h} months (Kaplan-Meier), ET+CDK4/6i minus ET, "
              f"within the {g} group (proportion){why}", "percent")
        for bound in ("ci_low", "ci_high"):
            s.add(f"obj2_pfs24_difference_{g}_{bound}", r[bound], f"{'Lower' if bound == 'ci_low' else 'Upper'} 95% "
                  f"CI (Greenwood, normal approximation) of obj2_pfs24_difference_{g}", "percent")
    r = diffs.loc["interaction"]
    why = "" if r["status"] == "ok" else f"; not estimable: {r['reason']}"
    s.add("obj2_pfs24_interaction", r["estimate"], f"Difference of the PFS1-at-{h}-months arm differences, "
          f"heterogeneous minus homogeneous (absolute-scale interaction, proportion){why}", "percent")
    for bound in ("ci_low", "ci_high"):
        s.add(f"obj2_pfs24_interaction_{bound}", r[bound], f"{'Lower' if bound == 'ci_low' else 'Upper'} 95% CI of "
              "obj2_pfs24_interaction (independent groups, normal approximation)", "percent")
    s.tables["absolute"] = format_km_difference_table(res, horizon=horizon, labels=LABELS)
    cells = res["cells"]
    s.text["caption"] = (
        f"**Table 02.3.** Secondary analysis, exploratory: PFS1 at {h} months (Kaplan-Meier, Greenwood SE) by "
        f"heterogeneity group and arm, the difference ET+CDK4/6i minus ET within each group and the difference of "
        f"those differences, each with a Wald 95% CI (independent samples, normal approximation on the difference "
        f"scale); objective-2 set ({format_value(int(cells['n'].sum()), 'count')} patients). A difference is "
        f"not estimable when a cell it uses has fewer than {min_at_risk} patients at risk at {h} months (SAP rule "
        "km_min_at_risk): the Kaplan-Meier tail then rests on a few patients and Greenwood's variance understates "
        "its uncertainty.")
    if r["status"] == "ok":
        lo, hi = r["ci_low"], r["ci_high"]
        points = {k: format_value(abs(r[k]) * 100, "count") for k in ("ci_low", "ci_high")}
        side = ("includes 0: the data cannot exclude an absolute benefit of ET+CDK4/6i at the horizon up to "
                f"{points['ci_low']} percentage points smaller, or up to {points['ci_high']} points larger, in "
                "ER-heterogeneous than in ER-homogeneous disease, and do not show that the benefit is the same"
                if lo <= 0 <= hi else
                f"lies {'above' if lo > 0 else 'below'} 0: exploratory, a hypothesis to confirm in other data")
        pct = {k: format_value(r[k], "percent") for k in ("estimate", "ci_low", "ci_high")}
        s.text["reading"] = s.text["short"] = (
            f"On the absolute scale the difference of the {h}-month differences in PFS1 (heterogeneous minus "
            f"homogeneous) was {pct['estimate']} (95% CI {pct['ci_low']} to {pct['ci_high']}, percentage points); "
            f"its 95% CI {side}.")
    else:
        s.text["short"] = "On the absolute scale the interaction is not estimable in these data (Table 02.3)."
        s.text["reading"] = (
            "On the absolute scale the interaction is not estimable in these data ("
            f"{format_km_difference_note(cells, labels=LABELS)}). "
            f"Table 02.3 shows the Kaplan-Meier estimates that exist; a difference built on them would look more "
            "precise than it is.")
    return s


def other_interactions(base: Section, model: Section) -> Section:
    """Exploratory interactions: arm x three-level heterogeneity group (likelihood-ratio test, 2 df, and the
    arm HR within each level) and arm x heterogeneity score per 10 points (1 df).

    Parameters
    ----------
    base : Section
        From :func:`load` (with ``hs10``).
    model : Section
        From :func:`interaction_model` (the primary interaction test, listed beside these).

    Returns
    -------
    Section
        Results ``obj2_group3_*`` and ``obj2_hs10_*``, ``tables["levels"]`` (arm HRs), ``tables["tests"]`` (every
        interaction test of the chapter), ``text["caption_levels"]``, ``text["caption_tests"]``,
        ``text["warning"]`` (models that could not be fitted, or empty).
    """
    pfs = base.data["pfs"]
    s = Section()
    warnings = []
    # three-level groups
    d3 = pfs[pfs["het_group3"].notna()]
    main3 = fit_cox(d3, "het_group3 + arm", reference=REFERENCE)
    full3 = fit_cox(d3, "het_group3 * arm", reference=REFERENCE)
    lr3 = compute_lr_test(main3, full3)
    s.add("obj2_group3_interaction_chisq", lr3["statistic"], "LR chi-square of the 3-level group x arm interaction "
          "(exploratory)", "estimate")
    s.add("obj2_group3_interaction_df", lr3["df"], "Degrees of freedom of the 3-level group x arm LR test", "count")
    s.add("obj2_group3_interaction_p", lr3["p"], "LR test p of the 3-level group x arm interaction (exploratory)",
          "p_value")
    sub3 = compute_subgroup_hrs(full3, d3, "het_group3")
    for g in GROUPS3:
        r = sub3.set_index("label").reindex([g]).iloc[0]
        s.add(f"obj2_group3_hr_arm_{g}", r["hr"], f"HR ET+CDK4/6i vs ET within the {g} group (3-level interaction "
              "model, exploratory)", "ratio")
        s.add(f"obj2_group3_hr_arm_{g}_ci_low", r["hr_ci_low"], f"Lower 95% CI, arm HR within {g}", "ratio")
        s.add(f"obj2_group3_hr_arm_{g}_ci_high", r["hr_ci_high"], f"Upper 95% CI, arm HR within {g}", "ratio")
    if lr3["message"]:
        warnings.append(lr3["message"])
    # continuous heterogeneity score, per 10 points
    dh = pfs[pfs["hs10"].notna()]
    mainh = fit_cox(dh, "hs10 + arm", reference=REFERENCE)
    fullh = fit_cox(dh, "hs10 * arm", reference=REFERENCE)
    lrh = compute_lr_test(mainh, fullh)
    row = extract_hr(fullh, "hs10:arm[ET+CDK4/6i]")
    s.add("obj2_hs10_interaction_hr", row["hr"], "Ratio of the ET+CDK4/6i vs ET HR per 10 points higher "
          "heterogeneity score (hs10 x arm interaction, exploratory)", "ratio")
    s.add("obj2_hs10_interaction_hr_ci_low", row["hr_ci_low"], "Lower 95% CI of obj2_hs10_interaction_hr", "ratio")
    s.add("obj2_hs10_interaction_hr_ci_high", row["hr_ci_high"], "Upper 95% CI of obj2_hs10_interaction_hr", "ratio")
    s.add("obj2_hs10_interaction_chisq", lrh["statistic"], "LR chi-square of the hs10 x arm interaction", "estimate")
    s.add("obj2_hs10_interaction_p", lrh["p"], "LR test p of the hs10 x arm interaction (exploratory)", "p_value")
    if lrh["message"]:
        warnings.append(lrh["message"])
    # the arm HR within each level, and per 10 points
    rows = sub3.assign(analysis="3-level groups (interaction model)", comparison=sub3["label"].map(label),
                       role="exploratory", p=math.nan)
    hs_row = pd.DataFrame([{**row, "analysis": "Heterogeneity score (interaction model)",
                            "comparison": "ratio of the ET+CDK4/6i HRs per 10 points higher score", "role": "exploratory",
                            "p": math.nan}])
    s.tables["levels"] = format_hr_rows(pd.concat([rows, hs_row], ignore_index=True)[
        ["analysis", "role", "comparison", "n", "n_events", "hr", "hr_ci_low", "hr_ci_high", "p", "status",
         "message"]])
    s.tables["levels"] = s.tables["levels"].drop(columns="p")
    s.text["caption_levels"] = (
        f"**Table 02.4.** Exploratory. Hazard ratio of ET+CDK4/6i vs ET within each of the three heterogeneity "
        f"groups (model group3 x arm, {full3.n} patients, {full3.n_events} PFS1 events; patients and events per "
        f"level), and the ratio of the treatment HRs per 10 points higher heterogeneity score (model score x arm, "
        f"{fullh.n} patients, {fullh.n_events} events). Objective-2 set. Per-level p-values are not shown: the "
        "interaction tests are in Table 02.5.")
    inter = model.data["interaction"]
    tests = pd.DataFrame([
        {"test": "Heterogeneity group (2 levels) x arm", "role": "secondary (registered), exploratory in inference",
         "n": inter.n, "n_events": inter.n_events, "statistic": model.value("obj2_interaction_chisq"), "df": 1,
         "p": model.value("obj2_interaction_p"), "message": ""},
        {"test": "Heterogeneity group (3 levels) x arm", "role": "exploratory", "n": full3.n,
         "n_events": full3.n_events, **{k: lr3[k] for k in ("statistic", "df", "p", "message")}},
        {"test": "Heterogeneity score (per 10 points) x arm", "role": "exploratory", "n": fullh.n,
         "n_events": fullh.n_events, **{k: lrh[k] for k in ("statistic", "df", "p", "message")}}])
    s.tables["tests"] = format_lr_tests(tests)
    n_tests = int(tests["p"].notna().sum())
    s.text["caption_tests"] = (
        f"**Table 02.5.** The {n_tests} {format_noun(n_tests, 'likelihood-ratio test')} of a heterogeneity x arm "
        "interaction in this chapter (objective-2 set; each model against the same model without the "
        "interaction). None is adjusted for multiplicity and none is confirmatory: with several tests of "
        "one question, one nominally significant p-value may arise by chance.")
    s.text["warning"] = "\n\n".join(f":::{{warning}}\n{w}\n:::" for w in warnings)
    n_neg = int((d3["het_group3"] == "homogeneous_negative").sum())
    ev_neg = int(d3.loc[d3["het_group3"] == "homogeneous_negative", "pfs1_event"].sum())
    s.add("obj2_n_homogeneous_negative", n_neg, "Patients in the homogeneous FES-negative group", "count")
    s.add("obj2_n_events_homogeneous_negative", ev_neg, "PFS1 events in the homogeneous FES-negative group", "count")
    return s


def interaction_power(base: Section, *, interaction_hrs, n_sim: int, alpha: float, seed: int, hr_arm: float,
                      hr_group: float, median_reference_months: float) -> Section:
    """Simulated power of the interaction test for a cohort of this size, split and event share.

    Parameters
    ----------
    base : Section
        From :func:`load`.
    interaction_hrs, n_sim, alpha, seed, hr_arm, hr_group, median_reference_months
        The SAP's ``power_*`` parameters and ``seed`` (see
        :func:`sonimage_utils.survival.compute_interaction_power`).

    Returns
    -------
    Section
        Results, ``tables["power"]``, ``figures["power"]`` (when anything was simulated, with the design and
        censoring model under the axes), ``text["caption"]``, ``text["censoring"]`` (the censoring model, with
        the median censoring times the rows imply) and ``text["warning"]`` (why the simulation could not run, or
        empty).
    """
    pfs = base.data["pfs"]
    n_het = int((pfs["het_group"] == "heterogeneous").sum())
    n_treated = int((pfs["arm"] == "ET+CDK4/6i").sum())
    design = dict(n_patients=len(pfs), n_heterogeneous=n_het, n_treated=n_treated,
                  event_fraction=float(pfs["pfs1_event"].mean()), hr_group=hr_group, hr_arm=hr_arm,
                  median_reference_months=median_reference_months)
    s = Section(text={"warning": ""})
    try:
        power = compute_interaction_power(interaction_hrs, n_sim=n_sim, alpha=alpha, seed=seed, **design)
    except ValueError as err:  # e.g. one group or one arm empty, or no events: nothing to simulate
        s.text["warning"] = f":::{{warning}}\nThe power simulation cannot be run on this cohort: {err}.\n:::"
        power = pd.DataFrame(columns=POWER_COLUMNS)
    by_ratio = power.set_index("hr_interaction")["power"]
    s.add("obj2_power_type1_error", by_ratio.get(1.0, math.nan), "Simulated type I error of the interaction test",
          "percent1", missing="not simulated")
    for ratio, key in REPORTED_RATIOS:
        s.add(f"obj2_power_ratio_{key}", by_ratio.get(ratio, math.nan),
              f"Simulated power, interaction ratio {format_value(ratio, 'parameter')}", "percent",
              missing="not simulated")
    detectable = power[(power["power"] >= 0.8) & (power["hr_interaction"] < 1)]["hr_interaction"]
    s.add("obj2_ratio_for_80_power", detectable.max() if len(detectable) else math.nan,
          "Largest simulated interaction ratio below 1 with at least 80% power", "ratio",
          missing="none of the simulated sizes")
    s.tables["power"] = format_power_table(power)

    def p(x):  # a SAP value echoed as given
        return format_value(x, "parameter")

    cens = power["censoring_median_months"].to_numpy(float) if len(power) else []
    if len(cens) and all(math.isinf(c) for c in cens):
        span = "no censoring (every simulated patient has an event)"
    elif len(cens):
        lo, hi = min(cens), max(cens)
        span = (f"median censoring time {format_value(lo, 'months')} months" if lo == hi else
                f"median censoring time {format_value(lo, 'months')} to {format_value(hi, 'months')} months "
                "across the rows")
    else:
        span = "not simulated"
    s.text["censoring"] = (
        "Censoring model: exponential censoring times, one rate for every patient, independent of group, arm and "
        "PFS1 (non-informative), with the rate solved for each row so that the expected share of patients with "
        f"an observed PFS1 event equals the cohort's {format_percent(design['event_fraction'])} ({span}). There "
        "is no accrual period and no administrative cut-off: real follow-up ends at the data cut-off, which this "
        "simple model only approximates.")
    s.text["caption"] = (
        f"**Table 02.6.** Simulated power of the interaction test: {n_sim} trials per row, each with "
        f"{len(pfs)} patients as in the objective-2 set ({n_het} ER-heterogeneous, {n_treated} on ET+CDK4/6i), "
        f"exponential PFS1 with ET+CDK4/6i HR {p(hr_arm)} in ER-homogeneous patients, group HR {p(hr_group)} on "
        f"ET, median PFS1 {p(median_reference_months)} months for ER-homogeneous patients on ET; exponential "
        f"censoring independent of group and arm with an expected {format_percent(design['event_fraction'])} of "
        f"patients with a PFS1 event ({span}); likelihood-ratio test at level {p(alpha)}. MC SE: Monte Carlo "
        "standard error.")
    if len(power):
        s.figures["power"] = plot_interaction_power(power, alpha=alpha, note=(
            f"{n_sim} simulated trials per point, {len(pfs)} patients; exponential PFS1; exponential censoring "
            f"independent of group and arm, calibrated to {format_percent(design['event_fraction'])} of patients "
            f"with an event ({span})."))
    return s


def conclusion(model: Section, absolute: Section, power: Section) -> Section:
    """What the chapter can conclude, chosen from its numbers: the interaction on the hazard-ratio scale with
    its CI and the simulated power at the relevant ratio (the rule of the results summary,
    :func:`~sonimage_utils.tables.summary.format_interaction_conclusion`), and the absolute-scale reading.

    Returns
    -------
    Section
        ``text["conclusion"]``.
    """
    name, ratio = INTERACTION_POWER
    power_at = next((r.value for r in power.results if r.name == name), math.nan)
    sentence = format_interaction_conclusion(model.value("obj2_hr_interaction"),
                                             model.value("obj2_hr_interaction_ci_low"),
                                             model.value("obj2_hr_interaction_ci_high"), power_at,
                                             relevant_ratio=ratio)
    return Section(text={"conclusion": f"**What the study can and cannot conclude.** {sentence} "
                                       f"{absolute.text['short']}"})
