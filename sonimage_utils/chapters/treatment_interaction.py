"""Chapter 02, heterogeneity and the benefit of adding a CDK4/6 inhibitor (objective 2): the interaction
model, the treatment effect within each group, and the simulated power of the interaction test.

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
from sonimage_utils.plots.survival import plot_forest, plot_interaction_power, plot_km_panels
from sonimage_utils.survival.cox import compute_lr_test, extract_hr, fit_cox
from sonimage_utils.survival.hazard_ratios import compute_subgroup_hrs
from sonimage_utils.survival.km import fit_km
from sonimage_utils.survival.power import compute_interaction_power
from sonimage_utils.tables.format import format_estimate_ci, format_percent, format_value
from sonimage_utils.tables.labels import LABELS, label
from sonimage_utils.tables.survival import format_cox_table, format_hr_rows, format_power_table

__all__ = ["GROUPS", "REFERENCE", "POWER_COLUMNS", "REPORTED_RATIOS", "load", "interaction_model",
           "within_groups", "interaction_power"]

#: The primary heterogeneity groups, reference first.
GROUPS = ("homogeneous", "heterogeneous")
#: Reference levels of the chapter's models.
REFERENCE = {"het_group": "homogeneous", "arm": "ET"}
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
        ``data["pfs"]``.
    """
    analysis = build_analysis_set(load_cohort(data_dir, "sonimage"), fes_threshold=fes_threshold,
                                  fes_excluded_organs=fes_excluded_organs, fdg_threshold=fdg_threshold)
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
    s.text["caption"] = (f"**Table 02.1.** Cox model of PFS1 with a heterogeneity x arm interaction ({inter.n} "
                         f"patients, {inter.n_events} events). The group row is the HR heterogeneous vs homogeneous "
                         "on ET alone; the arm row is the treatment HR in ER-homogeneous patients.")
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
    s.tables["by_group"] = format_hr_rows(rows.assign(comparison=rows["label"]))
    s.text["caption"] = "**Table 02.2.** Hazard ratio of ET+CDK4/6i vs ET overall and within each heterogeneity group."
    s.figures["forest"] = plot_forest(rows, xlabel="Hazard ratio, ET+CDK4/6i vs ET (95% CI)",
                                      favours=("favours ET+CDK4/6i", "favours ET"))
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
        Results, ``tables["power"]``, ``figures["power"]`` (when anything was simulated), ``text["caption"]``
        and ``text["warning"]`` (why the simulation could not run, or empty).
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
    if len(power):
        s.figures["power"] = plot_interaction_power(power, alpha=alpha)

    def p(x):  # a SAP value echoed as given
        return format_value(x, "parameter")

    s.text["caption"] = (
        f"**Table 02.3.** Simulated power of the interaction test: {n_sim} trials per row, each with "
        f"{len(pfs)} patients ({n_het} ER-heterogeneous, {n_treated} on ET+CDK4/6i), an expected "
        f"{format_percent(design['event_fraction'])} with a PFS1 event, ET+CDK4/6i HR {p(hr_arm)} in ER-homogeneous "
        f"patients, group HR {p(hr_group)} on ET, median PFS1 {p(median_reference_months)} months for "
        f"ER-homogeneous patients on ET; level {p(alpha)}. MC SE: Monte Carlo standard error.")
    return s
