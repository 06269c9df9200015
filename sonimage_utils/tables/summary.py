"""The results summary: per objective, its primary estimate with CI and p-value, labelled confirmatory or
exploratory, and a plain conclusion sentence chosen from the numbers (never typed).

The rules (:func:`format_conclusion`, :func:`format_interaction_conclusion`) read only the estimate, its
interval and, for the interaction, the simulated power; they never call a non-significant result evidence of
absence. :func:`format_results_summary` applies them to a results registry (``results.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sonimage_utils.tables.format import format_estimate_ci, format_number, format_p, format_percent, format_value, is_missing

__all__ = ["SummaryRow", "SUMMARY_ROWS", "format_conclusion", "format_interaction_conclusion",
           "format_results_summary"]


def _interval_side(low, high, null) -> str | None:
    """"above", "below" or "includes" the null value; None when the interval does not exist."""
    if is_missing(low) or is_missing(high):
        return None
    if low > null:
        return "above"
    if high < null:
        return "below"
    return "includes"


def format_conclusion(estimate, low, high, *, null: float, above: str, below: str, includes: str,
                      missing: str = "was not estimable in this build, so the data say nothing about it") -> str:
    """The sentence for an estimate by where its 95% CI lies against the null value.

    ``above``, ``below`` and ``includes`` are sentences with ``{ci}`` ("95% CI low to high") or ``{range}``
    ("low to high") where wanted.

    Examples
    --------
    >>> kw = dict(null=1, above="higher ({ci})", below="lower ({ci})", includes="undecided: {range}")
    >>> format_conclusion(1.4, 1.1, 1.8, **kw), format_conclusion(1.4, 0.9, 1.8, **kw)
    ('higher (95% CI 1.10 to 1.80)', 'undecided: 0.90 to 1.80')
    >>> format_conclusion(None, None, None, **kw)
    'The estimate was not estimable in this build, so the data say nothing about it.'
    """
    side = _interval_side(low, high, null)
    if is_missing(estimate) or side is None:
        return f"The estimate {missing}."
    span = f"{format_number(low)} to {format_number(high)}"
    return {"above": above, "below": below, "includes": includes}[side].format(ci=f"95% CI {span}", range=span)


def format_interaction_conclusion(ratio, low, high, power, *, relevant_ratio: float) -> str:
    """The sentence for the treatment-by-heterogeneity interaction (a ratio of hazard ratios).

    Parameters
    ----------
    ratio, low, high : float or None
        The ratio and its 95% CI.
    power : float or None
        Simulated power of the interaction test at ``relevant_ratio``.
    relevant_ratio : float
        The smallest clinically relevant ratio below 1 (its reciprocal is the one above 1).

    Examples
    --------
    >>> format_interaction_conclusion(1.34, 0.53, 3.37, 0.299, relevant_ratio=0.5)[:60]
    'The interaction has 30% power at a ratio of 0.5, so the data'
    >>> format_interaction_conclusion(0.30, 0.15, 0.60, 0.299, relevant_ratio=0.5)[:55]
    'The ratio of the treatment hazard ratios is below 1 (95'
    """
    side = _interval_side(low, high, 1.0)
    if is_missing(ratio) or side is None:
        return "The interaction was not estimable in this build, so the data say nothing about it."
    ci = f"95% CI {format_value(low, 'ratio')} to {format_value(high, 'ratio')}"
    if side != "includes":
        return (f"The ratio of the treatment hazard ratios is {side} 1 ({ci}): the benefit of adding the CDK4/6 "
                "inhibitor differs between the heterogeneity groups. This is exploratory, a hypothesis to confirm "
                "in other data, not a finding.")
    rel, rel_up = relevant_ratio, 1.0 / relevant_ratio
    power_text = ("" if is_missing(power) else
                  f"The interaction has {format_percent(power)} power at a ratio of {rel:g}, so ")
    if low <= rel or high >= rel_up:
        tail = "the data can neither show nor exclude a clinically relevant interaction"
        return (power_text + tail if power_text else tail[0].upper() + tail[1:]) + \
            f" ({ci}, which includes 1 and ratios of {rel:g} or {rel_up:g})."
    return (f"The {ci} includes 1 but excludes ratios of {rel:g} and {rel_up:g}: the data argue against an "
            "interaction of that size" + ("" if is_missing(power) else
                                         f" (the test has {format_percent(power)} power at {rel:g})") + ".")


@dataclass(frozen=True)
class SummaryRow:
    """One objective's primary result: registry names, how to write it, how to conclude."""

    objective: str
    analysis: str
    status: str            # "confirmatory" or "exploratory"
    name: str              # registry name of the estimate; ``_ci_low``/``_ci_high`` give its interval
    kind: str              # a kind of tables.format.FORMATS
    p_name: str | None
    chapter: str
    null: float | None = None
    above: str = ""
    below: str = ""
    includes: str = ""


_UNDECIDED = (", {range}, includes {null}: the data are compatible with both directions, so they neither show "
              "nor exclude a difference (a non-significant result is not evidence of no difference).")

#: The objectives' primary results, in the order of the book.
SUMMARY_ROWS = (
    SummaryRow("1. PFS1 by heterogeneity", "HR of PFS1, heterogeneous vs homogeneous, Cox model on group + arm "
               "(the registered primary analysis)", "confirmatory", "obj1_hr_heterogeneous", "ratio",
               "obj1_hr_heterogeneous_p", "01", 1.0,
               above="Heterogeneous patients had a higher hazard of progression or death on first-line therapy "
                     "than homogeneous patients ({ci}).",
               below="Heterogeneous patients had a lower hazard of progression or death on first-line therapy "
                     "than homogeneous patients ({ci}).",
               includes="The 95% CI of the hazard ratio" + _UNDECIDED),
    SummaryRow("2. Heterogeneity x treatment", "Ratio of the ET+CDK4/6i vs ET hazard ratios, heterogeneous / "
               "homogeneous (interaction term; likelihood-ratio p)", "exploratory", "obj2_hr_interaction", "ratio",
               "obj2_interaction_p", "02"),
    SummaryRow("3. Lesion response", "Change in lesion best % change per unit or per doubling of FES SUVmax, as "
               "the SAP's form rule chose (linear mixed model, adjusted for FDG SUVmax, organ and arm)", "exploratory", "obj3_lmm_fes_coef", "estimate",
               "obj3_lmm_fes_p", "03", 0.0,
               above="Lesions with higher FES uptake shrank less (grew more) ({ci}).",
               below="Lesions with higher FES uptake shrank more ({ci}).",
               includes="The 95% CI of the coefficient" + _UNDECIDED),
    SummaryRow("4. Benefit model", "c-for-benefit of the risk-based benefit model (apparent; bootstrap CI)",
               "exploratory", "obj4_c_for_benefit", "estimate", None, "04", 0.5,
               above="The model ranks patients by benefit better than chance ({ci}).",
               below="The model ranks patients by benefit worse than chance ({ci}).",
               includes="The 95% CI of the c-for-benefit, {range}, includes 0.5 (chance): the model's ability to rank patients "
                        "by their benefit is not shown."),
    SummaryRow("5. External validation, IMPACT-MBC", "Calibration slope of the frozen model (bootstrap CI)",
               "exploratory", "obj5_impact_mbc_calibration_slope", "estimate", None, "05", 1.0,
               above="Predictions are too modest in IMPACT-MBC (slope above 1; {ci}).",
               below="Predictions are too extreme in IMPACT-MBC (slope below 1; {ci}).",
               includes="The 95% CI of the slope, {range}, includes 1: miscalibration of the spread of predictions is not shown "
                        "in IMPACT-MBC; the interval says how precisely the slope is known."),
    SummaryRow("5. External validation, ET-FES", "Calibration slope of the frozen model (bootstrap CI)",
               "exploratory", "obj5_et_fes_calibration_slope", "estimate", None, "05", 1.0,
               above="Predictions are too modest in ET-FES (slope above 1; {ci}).",
               below="Predictions are too extreme in ET-FES (slope below 1; {ci}).",
               includes="The 95% CI of the slope, {range}, includes 1: miscalibration of the spread of predictions is not shown "
                        "in ET-FES; the interval says how precisely the slope is known."),
)

#: Registry name of the interaction's simulated power at the relevant ratio, and that ratio.
INTERACTION_POWER = ("obj2_power_ratio_0_5", 0.5)


def format_results_summary(registry: dict, ran: list | None = None) -> pd.DataFrame:
    """The summary table of a results registry: objective, analysis, label, estimate (95% CI), p, conclusion.

    Parameters
    ----------
    registry : dict
        Name -> value (``results.json``).
    ran : list of str, optional
        Numbers of the chapters run; a row of a chapter not run says so. Default: every chapter.
    """
    rows = []
    for row in SUMMARY_ROWS:
        if ran is not None and row.chapter not in ran:
            rows.append([row.objective, row.analysis, row.status, "chapter not in this build", "",
                         f"Chapter {row.chapter} was not run in this build."])
            continue
        est = registry.get(row.name)
        low, high = registry.get(f"{row.name}_ci_low"), registry.get(f"{row.name}_ci_high")
        digits = 2
        text = format_estimate_ci(est, low, high, digits)
        p = "no test" if row.p_name is None else format_p(registry.get(row.p_name))
        if row.name == "obj2_hr_interaction":
            sentence = format_interaction_conclusion(est, low, high, registry.get(INTERACTION_POWER[0]),
                                                     relevant_ratio=INTERACTION_POWER[1])
        else:
            sentence = format_conclusion(est, low, high, null=row.null, above=row.above, below=row.below,
                                         includes=row.includes.replace("{null}", f"{row.null:g}"))
        if row.status == "confirmatory":
            sentence += " This is the one confirmatory test of the plan."
        rows.append([row.objective, row.analysis, row.status, text, p, sentence])
    return pd.DataFrame(rows, columns=["objective", "primary analysis", "label", "estimate (95% CI)", "p",
                                       "conclusion"])
