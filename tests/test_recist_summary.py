"""Patient-level RECIST views (recist_summary) and the objective 3 figures (lesion_plots)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sonimage_utils.plots.lesions import (  # noqa: E402
    plot_bor_stacked,
    plot_spider,
    plot_swimmer,
    plot_uptake_scatter,
    plot_waterfall,
)
from sonimage_utils.lesions import build_lesion_response_set  # noqa: E402
from sonimage_utils.recist.engine import assess  # noqa: E402
from sonimage_utils.recist.summary import derive_sod_trajectories, derive_swimmer_data, tabulate_bor  # noqa: E402


def _row(pid, lid, date, kind, diam=None, status=None, node=False):
    return {"patient_id": pid, "lesion_id": lid, "assessment_date": date, "lesion_kind": kind,
            "is_lymph_node": node, "diameter_mm": diam, "status": status}


@pytest.fixture(scope="module")
def cohort():
    rows = [
        # A: PR at month 2, PD (new lesion) at month 6, one CT after PD
        _row("A", "L1", "2021-01-01", "target", 40), _row("A", "L2", "2021-01-01", "target", 20),
        _row("A", "L1", "2021-03-01", "target", 20), _row("A", "L2", "2021-03-01", "target", 10),
        _row("A", "L1", "2021-07-01", "target", 18), _row("A", "L2", "2021-07-01", "target", 10),
        _row("A", "X1", "2021-07-01", "new", status="unequivocal"),
        _row("A", "L1", "2021-10-01", "target", 30), _row("A", "L2", "2021-10-01", "target", 15),
        _row("A", "X1", "2021-10-01", "new", status="unequivocal"),
        # B: SD, then NE (L1 not assessed), no progression
        _row("B", "L1", "2021-02-01", "target", 30), _row("B", "B1", "2021-02-01", "non_target", status="present"),
        _row("B", "L1", "2021-04-01", "target", 28), _row("B", "B1", "2021-04-01", "non_target", status="present"),
        _row("B", "B1", "2021-06-01", "non_target", status="present"),
        # C: bone only, non-CR/non-PD
        _row("C", "B1", "2021-01-15", "non_target", status="present"),
        _row("C", "B1", "2021-04-15", "non_target", status="present"),
    ]
    recist = pd.DataFrame(rows)
    lesions = pd.DataFrame({"patient_id": ["A", "A", "B", "B", "C"], "lesion_id": ["L1", "L2", "L1", "B1", "B1"],
                            "organ": ["lung", "lymph_node", "liver", "bone", "bone"],
                            "fes_suvmax": [3.0, 1.0, 5.0, 2.0, 2.5], "fdg_suvmax": [6.0, 4.0, np.nan, 3.0, 2.0],
                            "ct_diameter_mm": [40.0, 20.0, 30.0, np.nan, np.nan]})
    patients = pd.DataFrame({"patient_id": ["A", "B", "C"],
                             "randomization_date": pd.to_datetime(["2021-01-05", "2021-02-03", "2021-01-20"]),
                             "pfs1_date": pd.to_datetime(["2021-07-01", "2022-02-03", "2021-12-01"]),
                             "pfs1_event": [1, 0, 1], "arm": ["ET", "ET+CDK4/6i", "ET"],
                             "het_group": pd.Categorical(["heterogeneous", "homogeneous", None],
                                                         categories=["homogeneous", "heterogeneous"])})
    return assess(recist, lesions), lesions, patients


def test_01_trajectories_run_from_baseline_to_first_pd(cohort):
    a, _, _ = cohort
    t = derive_sod_trajectories(a)
    ta = t[t["patient_id"] == "A"]
    assert ta["pct_change_baseline"].tolist() == pytest.approx([0.0, -50.0, -53.333333])
    assert ta["is_progression"].tolist() == [False, False, True]
    assert len(derive_sod_trajectories(a, through_progression=False).query("patient_id == 'A'")) == 2
    # B: the NE visit has no complete sum and is left out; C has no target disease
    assert t[t["patient_id"] == "B"]["days_from_baseline"].tolist() == [0, 59]
    assert "C" not in set(t["patient_id"])


def test_02_swimmer_times_are_from_randomisation(cohort):
    a, _, patients = cohort
    s = derive_swimmer_data(a, patients).set_index("patient_id")
    assert s.loc["A", "months_on_therapy"] == pytest.approx(177 / 30.4375)
    assert s.loc["A", "response_months"] == pytest.approx(55 / 30.4375)
    assert s.loc["A", "progression_months"] == pytest.approx(177 / 30.4375)
    assert s.loc["B", "ongoing"] and np.isnan(s.loc["B", "progression_months"])
    assert s.loc["C", "best_overall_response"] == "NON_CR_NON_PD"
    with pytest.raises(ValueError, match="pfs1_date"):
        derive_swimmer_data(a, patients.drop(columns="pfs1_date"))


def test_03_bor_table_keeps_every_code_and_drops_missing_group(cohort):
    a, _, patients = cohort
    best = a.best.merge(patients[["patient_id", "het_group"]], on="patient_id")
    tab = tabulate_bor(best)
    assert list(tab.columns) == ["CR", "PR", "SD", "NON_CR_NON_PD", "PD", "NE", "n"]
    assert tab.loc["heterogeneous", "PR"] == 1 and tab.loc["homogeneous", "SD"] == 1
    assert tab["n"].sum() == 2
    prop = tabulate_bor(best, normalize=True)
    assert prop.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])


def test_04_every_plot_returns_a_figure_with_its_data(cohort):
    a, lesions, patients = cohort
    d = build_lesion_response_set(a, lesions, patients[["patient_id", "het_group"]], fes_threshold=1.5,
                                  fes_excluded_organs=["liver"], response_threshold=-30.0)
    best = a.best.merge(patients[["patient_id", "het_group"]], on="patient_id")
    figs = [plot_waterfall(d), plot_waterfall(d, facet="organ_group"), plot_uptake_scatter(d, fes_threshold=1.5),
            plot_bor_stacked(tabulate_bor(best, normalize=True), tabulate_bor(best)),
            plot_spider(derive_sod_trajectories(a), patients.set_index("patient_id")["het_group"]),
            plot_swimmer(derive_swimmer_data(a, patients))]
    assert all(isinstance(f, Figure) for f in figs)
    # one rectangle per lesion and per patient, drawn as one collection (so 100,000 lesions draw in seconds)
    assert len(figs[0].axes[0].collections[0].get_paths()) == d["best_pct_change"].notna().sum() == 3
    assert len(figs[1].axes) == d["organ_group"].nunique()
    assert len(figs[5].axes[0].collections[0].get_paths()) == len(patients)
    for f in figs:
        plt.close(f)
