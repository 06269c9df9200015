"""Chapter 00 to journal standard (issue 11): PFS1 event types and follow-up by arm, baseline scan timing and its
sensitivity analysis, the flow diagram and the heterogeneity-score histogram.

R references: ``tests/reference/cohort/`` (reference.R on the synthetic demo cohort, data_demo.csv).
"""

import warnings
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sonimage_utils import descriptive
from sonimage_utils.chapters import pfs_heterogeneity as ch01
from sonimage_utils.chapters.pfs_heterogeneity import REFERENCE, SCAN_WINDOW_ANALYSIS, scan_window_spec
from sonimage_utils.derive.scan_timing import derive_baseline_scan_timing, derive_scan_window_set
from sonimage_utils.plots.cohort import plot_heterogeneity_score, plot_patient_flow
from sonimage_utils.survival.hazard_ratios import compute_hr_rows
from sonimage_utils.tables.cohort import format_event_types, format_scan_timing
from sonimage_utils.tables.survival import format_hr_rows

REF = Path(__file__).parent / "reference" / "cohort"


@pytest.fixture(scope="module")
def demo():
    d = pd.read_csv(REF / "data_demo.csv")
    d["het_group"] = pd.Categorical(d["het_group"], categories=["homogeneous", "heterogeneous"])
    return d


def _cohort_with_scans(demo, outside_ids, day_outside=1):
    """A cohort whose patients each have one FES scan, 3 days before randomisation, or ``day_outside`` days from it
    for ``outside_ids``."""
    rand = pd.Timestamp("2020-01-01")
    days = [day_outside if p in outside_ids else -3 for p in demo["patient_id"]]
    scans = pd.DataFrame({"patient_id": demo["patient_id"], "tracer": "FES",
                          "scan_date": [rand + pd.Timedelta(days=d) for d in days]})
    patients = pd.DataFrame({"patient_id": demo["patient_id"], "randomization_date": rand})
    return SimpleNamespace(scans=scans, patients=patients)


def test_event_types_by_arm_match_r_table(demo):
    counts = descriptive.compute_event_types(demo, "arm").set_index("event_type")
    ref = pd.read_csv(REF / "ref_event_types.csv")
    for row in ref.itertuples():
        assert counts.loc[row.event_type, row.arm] == row.Freq, (row.event_type, row.arm)
    assert counts.loc["progression_during_break"].tolist() == [0, 0, 0]  # a type absent from the data is a 0 row
    assert counts.loc["all_events", "overall"] == demo["pfs1_event"].sum()
    # every patient is counted once: the event types and the censored add up to the patients of each column
    assert (counts.loc[list(descriptive.PFS1_EVENT_TYPES)].sum() == counts.loc["patients"]).all()


def test_event_types_reject_an_unknown_type(demo):
    bad = demo.assign(pfs1_event_type=demo["pfs1_event_type"].replace({"death": "died"}))
    with pytest.raises(ValueError, match="'died'"):
        descriptive.compute_event_types(bad, "arm")


def test_median_follow_up_by_arm_is_the_reverse_kaplan_meier_median_of_r(demo):
    follow_up = descriptive.compute_event_types(demo, "arm").attrs["median_follow_up"]
    ref = pd.read_csv(REF / "ref_followup.csv").set_index("group")["median_follow_up"]
    for group, value in ref.items():
        assert follow_up[group] == pytest.approx(value, rel=1e-12), group


def test_event_type_table_shows_labels_percent_of_arm_and_follow_up(demo):
    table = format_event_types(descriptive.compute_event_types(demo, "arm"))
    assert list(table.columns) == ["PFS1 event type", "ET (n = 50)", "ET+CDK4/6i (n = 50)", "Overall (n = 100)"]
    shown = table.set_index("PFS1 event type")
    assert shown.loc["Progression during a treatment break", "ET (n = 50)"] == "0 (0%)"
    assert shown.loc["Progression", "ET (n = 50)"] == "34 (68%)"
    assert shown.loc["Median follow-up, months (reverse Kaplan-Meier)", "ET (n = 50)"] == "32.1"
    assert not any("_" in str(v) for v in shown.index)  # no raw variable names


def test_scan_window_limits_are_inclusive_day_0_and_minus_n_inside():
    rand = pd.Timestamp("2021-06-01")
    days = [0, -28, 1, -29, -10]
    scans = pd.DataFrame({"patient_id": list("abcde"), "tracer": "FES",
                          "scan_date": [rand + pd.Timedelta(days=d) for d in days]})
    patients = pd.DataFrame({"patient_id": list("abcde"), "randomization_date": rand})
    t = derive_baseline_scan_timing(scans, patients, window_days=28).set_index("patient_id")
    assert t["outside_window"].to_dict() == {"a": False, "b": False, "c": True, "d": True, "e": False}
    assert t.loc["c", "after_randomization"] and t.loc["d", "too_early"]
    shown = format_scan_timing(t.reset_index(), 28)
    assert shown["Days from randomisation"].tolist() == ["+1", "-29"]
    assert shown["Reason"].tolist() == ["after randomisation", "more than 28 days before randomisation"]
    assert not {"Scan date", "scan_date"} & set(shown.columns)  # no calendar dates in the book
    with pytest.raises(ValueError, match="window_days"):
        derive_baseline_scan_timing(scans, patients, window_days=-1)


def test_scan_window_sensitivity_refits_the_primary_model_as_coxph_does(demo):
    outside = set(demo.loc[demo["scan_outside"] == 1, "patient_id"])
    cohort = _cohort_with_scans(demo, outside)
    spec, row = scan_window_spec(demo, cohort, window_days=28)
    assert row is None and len(spec["data"]) == len(demo) - len(outside)
    rows, fits = compute_hr_rows([spec], reference=REFERENCE)
    r = rows.iloc[0]
    ref = pd.read_csv(REF / "ref_cox_scan_window.csv").set_index("term").loc["het_groupheterogeneous"]
    # R: coxph(Surv(time, pfs1_event) ~ het_group + arm, ties = "efron") without the flagged patients
    assert r["hr"] == pytest.approx(ref["hr"], rel=1e-9)
    assert r["hr_ci_low"] == pytest.approx(ref["hr_ci_low"], rel=1e-9)
    assert r["hr_ci_high"] == pytest.approx(ref["hr_ci_high"], rel=1e-9)
    assert r["p"] == pytest.approx(ref["p"], rel=1e-8)
    assert (r["n"], r["n_events"]) == (ref["n"], ref["n_events"])
    # its own n and events per group, not the totals of the objective-1 set
    inside = demo[demo["scan_outside"] == 0]
    expected = [(g, int((inside["het_group"] == g).sum()), int(inside.loc[inside["het_group"] == g, "pfs1_event"].sum()))
                for g in ("homogeneous", "heterogeneous")]
    assert r["group_counts"] == expected
    assert f"({len(inside)} of {len(demo)})" in spec["set"]


def test_scan_window_row_says_not_refitted_when_no_scan_is_outside(demo):
    spec, row = scan_window_spec(demo, _cohort_with_scans(demo, set()), window_days=28)
    assert spec is None
    assert row["status"] == "not_refitted" and np.isnan(row["hr"]) and row["n"] == len(demo)
    shown = format_hr_rows(pd.DataFrame([row]))
    assert shown.loc[0, "HR (95% CI)"] != format_hr_rows(pd.DataFrame([{**row, "hr": 1.0, "hr_ci_low": 0.5,
                                                                         "hr_ci_high": 2.0}])).loc[0, "HR (95% CI)"]
    assert shown.loc[0, "Note"].startswith("not refitted: no patient has a baseline scan outside the window")


def test_scan_window_row_without_scans_csv_is_not_defined(demo):
    spec, row = scan_window_spec(demo, SimpleNamespace(scans=None, patients=None), window_days=28)
    assert spec is None and row["status"] == "not_defined"


def test_chapter01_sensitivity_counts_the_scan_window_row_only_when_fitted(valid_folder):
    # valid_min: every baseline scan lies within 28 days before randomisation, so the row is not refitted and is
    # no exploratory comparison
    base = ch01.load(valid_folder, fes_threshold=1.5, fes_excluded_organs=["liver"], fdg_threshold=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # three patients: the models themselves warn, as they should
        s = ch01.sensitivity(base, fdg_threshold_fixed=5.0, fes_thresholds_sensitivity=[2.0],
                             baseline_scan_window_days=28, min_events_per_group=1)
    table = s.tables["sensitivity"].set_index("Analysis")
    assert table.loc[SCAN_WINDOW_ANALYSIS, "Note"].startswith("not refitted")
    assert np.isnan(s.value("obj1_hr_heterogeneous_scan_window"))
    assert s.value("obj1_n_scan_window") == len(base.data["pfs"])
    fitted_exploratory = table[(table["Type"] == "exploratory") & ~table["Note"].str.startswith("not refitted")]
    assert s.value("obj1_sensitivity_n_comparisons") == len(fitted_exploratory)


def test_hs_histogram_gives_hs_0_and_hs_100_bars_of_their_own():
    hs = [0, 0, 100, 100, 100, 95, 50, 5]
    fig = plot_heterogeneity_score(pd.DataFrame({"hs": hs}))
    bars = {round(p.get_x() + p.get_width() / 2, 1): p.get_height() for p in fig.axes[0].patches if p.get_height() > 0}
    assert bars[-7.0] == 2 and bars[107.0] == 3
    assert bars[95.0] == 1  # 95 is in the last 10-point bin, not pooled with 100
    assert sum(bars.values()) == len(hs)
    plt.close(fig)


def test_flow_diagram_shows_every_set_with_its_n_and_each_reason():
    flow = pd.DataFrame({"step": ["randomised", "enrolled", "objective_1", "fdg"],
                         "set": ["Randomised in SONIA", "Enrolled in SONImage", "Objective-1 set", "With FDG-PET"],
                         "patients": [1050, 100, 97, 90], "left_out": [0, 950, 3, 7],
                         "reason": ["", "not in the side-study: 950", "no FES-assessable lesion: 3",
                                    "no baseline FDG-PET: 7"],
                         "parent": ["", "randomised", "enrolled", "objective_1"]})
    fig = plot_patient_flow(flow)
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    for phrase in ("n = 1050", "n = 100", "n = 97", "n = 90", "Left out: 950", "no FES-assessable lesion: 3",
                   "no baseline FDG-PET: 7"):
        assert phrase in text
    arrows = [t for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 5  # down the chain twice, out to the two reasons, down to the one subset
    plt.close(fig)
