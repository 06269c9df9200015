"""Validation figures: each returns a Figure with the elements the book's captions promise."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sonimage_utils.external_validation.decision_curve import compute_net_benefit  # noqa: E402
from sonimage_utils.external_validation.bootstrap import bootstrap_auc_curve, bootstrap_calibration_curve  # noqa: E402
from sonimage_utils.external_validation.calibration import compute_grouped_calibration  # noqa: E402
from sonimage_utils.plots.validation import (  # noqa: E402
    plot_auc_curve,
    plot_calibration,
    plot_decision_curve,
    plot_lp_distribution,
)

REF = Path(__file__).parent / "reference" / "rotterdam_gbsg"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def gbsg():
    return pd.read_csv(REF / "gbsg5.csv").iloc[::3]  # every third patient keeps the test quick


def _labels(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_01_calibration_plot_has_curve_band_groups_and_diagonal(gbsg):
    band = bootstrap_calibration_curve(gbsg.ryear, gbsg.rfs, gbsg.risk499, 4.99, n_boot=5, n_grid=10, seed=1)
    groups = compute_grouped_calibration(gbsg.ryear, gbsg.rfs, gbsg.risk499, 4.99, n_groups=4)
    fig = plot_calibration(band, groups, gbsg.risk499, horizon_label="5 years")
    assert isinstance(fig, Figure)
    labels = _labels(fig)
    assert {"Ideal calibration", "95% bootstrap band"} <= set(labels)
    assert any(lab.startswith("Risk groups") for lab in labels)
    assert fig.axes[0].get_xlim() == fig.axes[0].get_ylim()


def test_02_auc_curve_one_line_per_cohort(gbsg):
    a = bootstrap_auc_curve(gbsg.ryear, gbsg.rfs, gbsg.lp, [1, 2, 3, 4], n_boot=3, seed=1).assign(cohort="GBSG")
    b = a.assign(cohort="copy", auc=a.auc - 0.05)
    fig = plot_auc_curve(pd.concat([a, b]), horizon=4, time_label="Years")
    assert isinstance(fig, Figure) and _labels(fig) == ["GBSG", "copy"]


def test_03_decision_curve_shows_three_strategies(gbsg):
    nb = compute_net_benefit(gbsg.ryear, gbsg.rfs, gbsg.risk5, 5.0)
    fig = plot_decision_curve(nb, model_label="Cox model", extra={"Recalibrated": nb})
    assert _labels(fig) == ["Treat all", "Treat none", "Cox model", "Recalibrated"]
    assert fig.axes[0].get_xlim()[1] <= gbsg.risk5.max() + 1e-9


def test_04_lp_distribution_one_histogram_per_cohort():
    rng = np.random.default_rng(0)
    fig = plot_lp_distribution({"A": rng.normal(size=50), "B": rng.normal(1, 1, size=30)})
    assert _labels(fig) == ["A (n = 50)", "B (n = 30)"]
    with pytest.raises(ValueError, match="no finite"):
        plot_lp_distribution({"A": [np.nan]})


def test_05_a_group_without_a_kaplan_meier_interval_is_not_drawn():
    """One patient (no interval) and no event by the horizon (a zero-width interval at 0) are left off the plot."""
    groups = pd.DataFrame({"predicted": [0.2, 0.4, 0.6], "observed": [0.25, 0.0, 1.0],
                           "ci_low": [0.1, 0.0, np.nan], "ci_high": [0.4, 0.0, np.nan]})
    fig = plot_calibration(None, groups, horizon_label="2 years")
    (points,) = [c for c in fig.axes[0].containers]
    assert points.lines[0].get_xdata().tolist() == [0.2]
