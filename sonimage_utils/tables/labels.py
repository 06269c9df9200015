"""The one table of display labels (after tern's default labels): no raw variable name reaches a reader.

Every table, figure and sentence of the book names a variable, a level, a cohort or a metric through
:func:`label`. A name with no entry is shown as it is, so a missing label shows up in review rather than
failing a build; ``tests/test_labels.py`` checks that every name the chapters display has one.
"""

from __future__ import annotations

__all__ = ["LABELS", "label", "relabel"]

#: name -> display label. Variables first, then levels, cohorts, arms, organs and metrics.
LABELS: dict[str, str] = {
    # patient variables
    "arm": "First-line arm",
    "het_group": "Heterogeneity group",
    "het_group3": "Heterogeneity group (3 levels)",
    "fes_fdg_pattern": "FES/FDG pattern",
    "hs": "Heterogeneity score",
    "hs10": "Heterogeneity score (per 10 points)",
    "fes_heterogeneous": "FES-heterogeneous (any FES-negative lesion)",
    "visceral_disease": "Visceral disease",
    "bone_only_disease": "Bone-only disease",
    "de_novo_metastatic": "De novo metastatic",
    "prior_adjuvant_endocrine": "Prior adjuvant ET",
    "who_performance_status": "WHO performance status",
    "who_ps_1plus": "WHO performance status >= 1",
    "age_years": "Age, years",
    "menopausal_status": "Menopausal status",
    "centre": "Centre",
    "center": "Centre",
    "n_lesions": "Baseline lesions",
    "pfs1_months": "PFS1, months",
    "pfs1_event": "PFS1 event",
    "treated_cdk46i": "ET+CDK4/6i",
    "treated": "ET+CDK4/6i",
    # lesion variables
    "organ": "Organ",
    "lymph_node": "Lymph node",
    "fes_suvmax": "FES SUVmax",
    "fdg_suvmax": "FDG SUVmax",
    "fes_positive": "FES-positive",
    "fes_assessable": "FES-assessable",
    "ct_diameter_mm": "CT diameter, mm",
    "log_mean_fes_suvmax": "log mean FES SUVmax",
    "log_min_fes_suvmax": "log lowest FES SUVmax",
    "log_fdg_suvmax": "log highest FDG SUVmax",
    "log_n_lesions": "log number of baseline lesions",
    "fes_suvmax_assessable": "FES SUVmax (FES-assessable lesions)",
    "organ_group": "Organ group",
    "organ_lung": "Organ group: lung",
    "organ_liver": "Organ group: liver",
    "organ_other": "Organ group: other",
    "Intercept": "Intercept",
    "fes_status": "FES status",
    "fes_negative": "FES-negative",
    "fes_not_assessable": "not FES-assessable",
    "best_pct_change": "Best change from baseline (%)",
    # chapter 03: lesion-model terms (FES form, arm, interaction) and the trajectory model
    "log2_fes_suvmax_assessable": "log2 FES SUVmax (per doubling; FES-assessable lesions)",
    "fes_suvmax_assessable_rcs1": "FES SUVmax, restricted cubic spline term",
    "fes_suvmax_assessable:treated_cdk46i": "FES SUVmax x ET+CDK4/6i",
    "log2_fes_suvmax_assessable:treated_cdk46i": "log2 FES SUVmax x ET+CDK4/6i",
    "fes_suvmax_assessable_rcs1:treated_cdk46i": "FES SUVmax spline term x ET+CDK4/6i",
    "months_from_baseline": "Months from baseline CT (slope, ER-homogeneous, ET)",
    "months_from_baseline:heterogeneous": "Slope difference, ER-heterogeneous vs ER-homogeneous (per month)",
    "months_from_baseline:treated_cdk46i": "Slope difference, ET+CDK4/6i vs ET (per month)",
    # levels
    "homogeneous": "ER-homogeneous",
    "heterogeneous": "ER-heterogeneous",
    "homogeneous_positive": "Homogeneous FES-positive",
    "mixed": "Mixed",
    "homogeneous_negative": "Homogeneous FES-negative",
    "fdg_low": "FDG-low",
    "fdg_high_fes_homogeneous": "FDG-high, FES-homogeneous",
    "fdg_high_fes_heterogeneous": "FDG-high, FES-heterogeneous",
    "ET": "ET",
    "ET+CDK4/6i": "ET+CDK4/6i",
    "not_assessable": "not assessable",
    "NON_CR_NON_PD": "non-CR/non-PD",
    # cohorts
    "sonimage": "SONImage (development)",
    "impact_mbc": "IMPACT-MBC",
    "et_fes": "ET-FES",
    # chapters 00-02: Table 1 variables, model terms, lesion and scan summaries, organs
    "histology": "Histology",
    "er_percent": "ER (% positive cells)",
    "fdg_pet_done": "Baseline FDG-PET done",
    "het_group:arm": "Interaction",
    "lesions": "Lesions",
    "share": "Share of lesions",
    "share_fes_positive": "FES-positive among assessable",
    "median_fes_suvmax": "Median FES SUVmax",
    "median_fdg_suvmax": "Median FDG SUVmax",
    "tracer": "Tracer",
    "scans": "Scans",
    "uptake_median_min": "Median uptake (min)",
    "uptake_outside_window": "Uptake outside window",
    "activity_median_mbq": "Median activity (MBq)",
    "activity_outside_window": "Activity outside window",
    "bone": "Bone",
    "lung": "Lung",
    "liver": "Liver",
    "breast": "Breast",
    "soft_tissue": "Soft tissue",
    "pleura": "Pleura",
    "brain": "Brain",
    "other": "Other",
    # chapter 00: PFS1 event types (pfs1_event_type), flow and baseline scan timing
    "pfs1_event_type": "PFS1 event type",
    "pre": "premenopausal",
    "post": "postmenopausal",
    "ductal": "ductal",
    "lobular": "lobular",
    "progression": "Progression",
    "progression_during_break": "Progression during a treatment break",
    "symptomatic_deterioration": "Symptomatic deterioration",
    "new_therapy": "New therapy started",
    "death": "Death",
    "censored": "Censored (no event)",
    "all_events": "All PFS1 events",
    "patients": "Patients",
    "overall": "Overall",
    "patient_id": "Patient",
    "days_from_randomization": "Days from randomisation",
    "left_out": "Left out at this step",
    "characteristic": "Characteristic",
    "level": "Level",
    "reason": "Reason",
    # metrics of a survival prediction model
    "harrell_c": "Harrell C",
    "uno_c": "Uno C (truncated at t)",
    "auc": "Cumulative/dynamic AUC(t)",
    "oe": "Observed/expected at t",
    "calibration_slope": "Calibration slope",
    "ici": "ICI at t",
    "e50": "E50 at t",
    "e90": "E90 at t",
    "brier": "Brier score at t (IPCW)",
    "ipa": "IPA (scaled Brier) at t",
}


def label(name: str) -> str:
    """The display label of ``name`` (the name itself when the table has none).

    Examples
    --------
    >>> label("het_group"), label("heterogeneous"), label("unlisted")
    ('Heterogeneity group', 'ER-heterogeneous', 'unlisted')
    """
    return LABELS.get(name, name)


def relabel(names) -> list[str]:
    """Labels for several names, in order.

    Examples
    --------
    >>> relabel(["arm", "fes_suvmax"])
    ['First-line arm', 'FES SUVmax']
    """
    return [label(n) for n in names]
