"""Imaging quality for the book: uptake times against protocol windows and the extraction summary.
(The Agg backend is set in conftest.py.)"""

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from sonimage_utils.imaging.quality import compute_uptake_compliance, read_extraction_report, summarize_extraction
from sonimage_utils.pipeline.params import load_parameters
from sonimage_utils.plots.imaging import plot_uptake_times

#: The protocol windows, from analysis.yml (the functions have no default windows).
_PARAMS = load_parameters()
WINDOWS = {"FES": tuple(_PARAMS["uptake_window_fes_min"]["value"]), "FDG": tuple(_PARAMS["uptake_window_fdg_min"]["value"])}

REPORT = pd.DataFrame({
    "patient_id": ["P1", "P1", "P2", "P2", "P3"],
    "tracer": ["FES", "FDG", "FES", "FDG", "FDG"],
    "uptake_time_min": [50.0, 76.5, 71.0, 55.0, np.nan],
    "manufacturer": ["SIEMENS", "GE MEDICAL SYSTEMS", "SIEMENS", "SIEMENS", "SIEMENS"],
    "units": ["BQML", "BQML", "CNTS", "GML", None],
    "decay_correction": ["START", "ADMIN", "START", "START", None],
    "status": ["ok", "ok", "ok", "ok", "error"],
})


def test_01_window_limits_are_inclusive_and_deviation_is_minutes_outside():
    comp = compute_uptake_compliance(REPORT, WINDOWS)
    assert comp.in_window.tolist()[:4] == [True, False, False, True]
    assert comp.deviation_min.tolist()[:4] == pytest.approx([0.0, 1.5, 1.0, 0.0])
    assert comp.in_window.isna().tolist() == [False] * 4 + [True]     # missing uptake: unknown, not "in"


def test_02_windows_are_parameters_and_checked():
    comp = compute_uptake_compliance(REPORT, {"FES": (40, 80), "FDG": (40, 80)})
    assert comp.in_window.tolist()[:4] == [True, True, True, True]
    with pytest.raises(ValueError, match="0 <= low < high"):
        compute_uptake_compliance(REPORT, {"FES": (70, 50), "FDG": (55, 75)})
    with pytest.raises(ValueError, match="no uptake window"):
        compute_uptake_compliance(REPORT, {"FES": (50, 70)})
    with pytest.raises(ValueError, match="must be a dict"):
        compute_uptake_compliance(REPORT, None)


def test_03_summary_counts_series_per_tracer():
    table = summarize_extraction(REPORT, WINDOWS).set_index(["characteristic", "level"])
    assert table.loc[("Series", ""), "FDG"] == "3" and table.loc[("Series", ""), "FES"] == "2"
    assert table.loc[("Units (0054,1001)", "GML"), "FDG"] == "1"
    assert table.loc[("Uptake time, min", "outside protocol window"), "FDG"].startswith("1 of 2")
    assert table.loc[("Extraction status", "error"), "FDG"] == "1"


def test_04_plot_shows_one_point_per_series_with_uptake(tmp_path):
    fig = plot_uptake_times(REPORT, WINDOWS)
    assert isinstance(fig, Figure)
    n_points = sum(len(c.get_offsets()) for c in fig.axes[0].collections if isinstance(c, PathCollection))
    assert n_points == 4
    REPORT.to_csv(tmp_path / "extraction_report.csv", index=False)
    assert len(read_extraction_report(tmp_path)) == 5 and read_extraction_report(tmp_path / "none.csv") is None
