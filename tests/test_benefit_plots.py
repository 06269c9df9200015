"""Objective 4 figures: each returns a Figure with the expected axes (Agg backend, figures closed)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sonimage_utils.plots import benefit as benefit_plots


def test_01_every_plot_returns_a_figure():
    groups = pd.DataFrame({"risk_group": [1, 2], "n": [10, 10], "n_events": [5, 7], "hr": [0.5, 0.7],
                           "hr_ci_low": [0.2, 0.3], "hr_ci_high": [1.2, 1.5], "abs_benefit": [0.1, 0.2],
                           "abs_ci_low": [-0.1, 0.0], "abs_ci_high": [0.3, 0.4], "predicted_benefit": [0.12, 0.18]})
    cal = pd.DataFrame({"group": [1, 2], "predicted": [0.1, 0.2], "observed": [0.05, 0.25],
                        "ci_low": [-0.1, 0.05], "ci_high": [0.2, 0.45]})
    cv = pd.DataFrame({"penalty": [0.1, 1, 10], "cvpl": [-3.0, -2.0, -2.5], "selected": [False, True, False]})
    figs = [benefit_plots.plot_risk_group_effects(groups, t=24),
            benefit_plots.plot_benefit_distribution(np.linspace(0, 0.3, 50), threshold=0.05, t=24),
            benefit_plots.plot_calibration_for_benefit(cal, t=24),
            benefit_plots.plot_bootstrap_calibration(np.linspace(0.2, 0.8, 5), np.linspace(0.25, 0.75, 5),
                                                     np.linspace(0.3, 0.7, 5), np.random.default_rng(0).random(20), t=24),
            benefit_plots.plot_penalty_cv(cv, title="x")]
    assert all(isinstance(f, Figure) for f in figs)
    assert [len(f.axes) for f in figs] == [2, 1, 1, 1, 1]
    for f in figs:
        plt.close(f)
