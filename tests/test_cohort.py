"""Cohort chapter statistics and graphs on the smallest valid folder."""

import matplotlib.figure
import pandas as pd
import pytest

from sonimage_utils import descriptive as cohort
from sonimage_utils.tables import cohort as tcohort
from sonimage_utils.plots import cohort as cohort_plots
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.heterogeneity import derive_lesion_fes_status
from sonimage_utils.derive.scan_timing import derive_baseline_scan_timing


#: The SAP values of analysis.yml; no function has them as defaults.
FES = dict(fes_threshold=1.5, fes_excluded_organs=("liver",))


@pytest.fixture
def analysis(valid_folder):
    path = valid_folder / "sonimage" / "lesions.csv"
    path.write_text(path.read_text().replace("P003,L1,lymph_node,2.6", "P003,L1,liver,"))
    c = load_cohort(valid_folder)
    return c, build_analysis_set(c, **FES, fdg_threshold=None)


def test_01_flow_counts_every_patient_and_each_step_adds_up(analysis):
    c, a = analysis
    timing = derive_baseline_scan_timing(c.scans, c.patients, window_days=28)
    flow = cohort.compute_patient_flow(a, n_randomised=1050, timing=timing, window_days=28).set_index("step")
    assert flow["patients"].to_dict() == {"randomised": 1050, "enrolled": 3, "objective_1": 2, "fdg": 2,
                                          "scan_window": 2}
    # every set = the set it comes from minus who leaves at that step (never remaining counts as "excluded")
    for step, row in flow.iloc[1:].iterrows():
        assert row["patients"] + row["left_out"] == flow.loc[row["parent"], "patients"], step
    assert "no FES-assessable lesion (e.g. liver-only disease): 1" in flow.loc["objective_1", "reason"]
    with pytest.raises(ValueError, match="smaller than the 3 enrolled"):
        cohort.compute_patient_flow(a, n_randomised=2, timing=timing, window_days=28)


def test_01b_flow_without_scans_has_no_scan_window_set(analysis):
    _, a = analysis
    flow = cohort.compute_patient_flow(a, n_randomised=10, timing=None, window_days=28)
    assert "scan_window" not in set(flow["step"])


def test_02_table1_keeps_patients_without_group(analysis):
    _, a = analysis
    t = tcohort.format_table1(a, "het_group")
    header = [c[1] for c in t.columns]
    assert "not assessable" in header
    assert str(t.loc[("n", ""), ("Grouped by Heterogeneity group", "Overall")]) == "3"
    # labels from the one label table: groups, levels and variables, never raw names
    assert header.index("ER-homogeneous") < header.index("not assessable")
    rows = {r[0] for r in t.index}
    assert "Age, years, median [Q1,Q3]" in rows and not any("age_years" in r for r in rows)


def test_03_table1_rejects_unknown_grouping(analysis):
    with pytest.raises(ValueError, match="not in the analysis set"):
        tcohort.format_table1(analysis[1], "nope")


def test_04_lesions_by_organ(analysis):
    c, _ = analysis
    out = cohort.compute_lesions_by_organ(derive_lesion_fes_status(c.lesions, **FES)).set_index("organ")
    assert out.loc["bone", "lesions"] == 3 and out.loc["bone", "fes_positive"] == 2
    assert out.loc["liver", "fes_assessable"] == 0 and pd.isna(out.loc["liver", "share_fes_positive"])
    assert out["share"].sum() == pytest.approx(1)


def test_05_scan_quality_flags_outside_windows(analysis):
    c, _ = analysis
    q = cohort.compute_scan_quality(c.scans, {"FES": (59, 61), "FDG": (55, 75)},
                                    {"FES": (200, 250), "FDG": (150, 300)}).set_index("tracer")
    assert q.loc["FES", "uptake_outside_window"] == 1  # 58 min
    assert q.loc["FES", "activity_outside_window"] == 1  # 198 MBq


def test_05a_fdg_activity_is_checked_against_its_own_window(analysis):
    c, _ = analysis
    windows = {"FES": (59, 61), "FDG": (55, 75)}
    same = cohort.compute_scan_quality(c.scans, windows, {"FES": (200, 250), "FDG": (200, 250)}).set_index("tracer")
    own = cohort.compute_scan_quality(c.scans, windows, {"FES": (200, 250), "FDG": (205, 300)}).set_index("tracer")
    assert same.loc["FDG", "activity_outside_window"] == 0
    assert own.loc["FDG", "activity_outside_window"] == 1  # 201 MBq, below the FDG window only
    assert own.loc["FES", "activity_outside_window"] == same.loc["FES", "activity_outside_window"] == 1


def test_05b_display_tables_use_the_one_format_and_labels(analysis):
    c, _ = analysis
    by_organ = cohort.compute_lesions_by_organ(derive_lesion_fes_status(c.lesions, fes_threshold=1.5, fes_excluded_organs=["liver"]))
    shown = tcohort.format_lesions_by_organ(by_organ).set_index("Organ")
    assert shown.loc["Liver", "FES-positive among assessable"] == "not estimable"
    assert shown.loc["Liver", "Median FES SUVmax"] == "not estimable"
    share = by_organ.set_index("organ").loc["bone", "share"]
    assert shown.loc["Bone", "Share of lesions"] == f"{round(100 * share)}%"
    q = cohort.compute_scan_quality(c.scans, {"FES": (59, 61), "FDG": (55, 75)}, {"FES": (200, 250), "FDG": (200, 250)})
    table = tcohort.format_scan_quality(q).set_index("Tracer")
    assert table.loc["FES", "Uptake outside window"] == "1"
    assert table.loc["FES", "Median uptake (min)"] == f"{q.set_index('tracer').loc['FES', 'uptake_median_min']:.1f}"


def test_06_case_mix_and_figures(analysis):
    c, a = analysis
    mix = tcohort.format_case_mix({"sonimage": a})
    assert mix.loc["patients", "sonimage"] == "3"
    les = derive_lesion_fes_status(c.lesions, **FES)
    for fig in (cohort_plots.plot_suv_by_organ(les, 1.5, 5.0), cohort_plots.plot_heterogeneity_score(a),
                cohort_plots.plot_scan_quality(c.scans, {"FES": (50, 70), "FDG": (55, 75)},
                                               {"FES": (150, 250), "FDG": (150, 300)})):
        assert isinstance(fig, matplotlib.figure.Figure)
        matplotlib.pyplot.close(fig)
