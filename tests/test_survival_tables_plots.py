"""Formatting and figures for the survival chapters: text for missing values, at-risk counts, Figures returned."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sonimage_utils.survival.power import compute_interaction_power
from sonimage_utils.survival.km import fit_km
from sonimage_utils.survival.cox import extract_hr, fit_cox
from sonimage_utils.survival.ph import compute_ph_test
from sonimage_utils.plots.survival import plot_forest, plot_interaction_power, plot_km, plot_km_panels, plot_schoenfeld
from sonimage_utils.tables.survival import (describe_term, format_cox_table, format_hr_rows, format_km_table,
                                            format_ph_table, format_power_table)
from survival_fixtures import FORMULAS, REFERENCE, cohort, km_edge

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_01_km_table_says_not_reached_for_a_median_and_a_limit():
    tab = format_km_table(fit_km(km_edge(), "time", "event", "group", landmarks=(12,))).set_index("Group")
    assert tab.loc["not_reached", "Median PFS1, months (95% CI)"] == "not reached"
    assert tab.loc["plateau", "Median PFS1, months (95% CI)"] == "3.5 (1.0 to not reached)"
    assert "no follow-up" in tab.loc["plateau", "PFS1 at 12 months (95% CI)"]


def test_02_cox_table_names_comparisons_and_marks_not_estimable():
    d = cohort()
    tab = format_cox_table(fit_cox(d, FORMULAS["group3"], reference=REFERENCE))
    assert tab["Comparison"].tolist() == ["mixed vs homogeneous_positive", "homogeneous_negative vs homogeneous_positive",
                                          "ET+CDK4/6i vs ET"]
    assert tab["Variable"].tolist() == ["het_group3", "", "arm"]
    d.loc[d["het_group"] == "heterogeneous", "pfs1_event"] = 0
    bad = format_cox_table(fit_cox(d, FORMULAS["primary"], reference=REFERENCE))
    assert (bad["HR (95% CI)"] == "not estimable").all()


def test_03_hr_rows_carry_status_notes():
    d = cohort()
    ok = extract_hr(fit_cox(d, "het_group + arm", reference=REFERENCE), "het_group[heterogeneous]", "primary")
    d.loc[d["het_group"] == "heterogeneous", "pfs1_event"] = 0
    bad = extract_hr(fit_cox(d, "het_group + arm", reference=REFERENCE), "het_group[heterogeneous]", "no events")
    tab = format_hr_rows(pd.DataFrame([ok, bad]))
    assert tab["Note"].iloc[0] == "" and tab["Note"].iloc[1].startswith("not identifiable")
    assert tab["HR (95% CI)"].iloc[1] == "not estimable"
    with pytest.raises(ValueError, match="not a coefficient"):
        extract_hr(fit_cox(cohort(), "arm", reference=REFERENCE), "hs10")


def test_04_describe_term_interaction_and_labels():
    ref = {"het_group": "homogeneous", "arm": "ET"}
    assert describe_term("het_group[heterogeneous]:arm[ET+CDK4/6i]", ref) == \
        "heterogeneous vs homogeneous x ET+CDK4/6i vs ET"
    assert describe_term("hs10", ref, {"hs10": "per 10 points"}) == "per 10 points"


def test_05_km_figure_has_at_risk_counts_from_the_curves():
    d = cohort()
    km = fit_km(d, group="het_group")
    fig = plot_km(km, step=12)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    counts = [t.get_text() for t in fig.axes[1].texts]
    expected = [str(int((d.loc[d["het_group"] == g, "pfs1_months"] >= t).sum()))
                for g in ["homogeneous", "heterogeneous"] for t in (0, 12, 24, 36)]
    assert [c for c in counts if c.isdigit()][:8] == expected


def test_06_other_figures_return_figures():
    d = cohort()
    fit = fit_cox(d, FORMULAS["primary"], reference=REFERENCE)
    assert len(plot_schoenfeld(compute_ph_test(fit, transform="km")).axes) == 2
    panels = {g: fit_km(d[d["het_group"] == g], group="arm") for g in ["homogeneous", "heterogeneous"]}
    assert len(plot_km_panels(panels).axes) == 4
    rows = pd.DataFrame([{**extract_hr(fit, "arm[ET+CDK4/6i]", "All"), "bold": True},
                         {"label": "empty", "n": 3, "n_events": 0, "hr": np.nan, "hr_ci_low": np.nan,
                          "hr_ci_high": np.nan}])
    fig = plot_forest(rows, favours=("a", "b"))
    assert "not estimable" in [t.get_text() for t in fig.axes[0].texts]
    power = compute_interaction_power([1.0, 0.5], n_sim=20, alpha=0.05, seed=2026, n_patients=100, n_heterogeneous=50,
                                      n_treated=50, event_fraction=0.7, hr_group=1.8, hr_arm=0.59,
                                      median_reference_months=16.1)
    assert isinstance(plot_interaction_power(power), Figure)
    assert format_power_table(power).shape == (2, 6)
    assert format_ph_table(compute_ph_test(fit, transform="km"))["Term"].tolist() == ["het_group", "arm", "GLOBAL"]
