"""Kaplan-Meier summaries and log-rank test against R survival (fixtures in tests/reference/survival)."""

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.survival.km import compute_logrank, compute_survival_quantile, fit_km
from survival_fixtures import cohort, fixtures, km_edge

REL = 1e-6


def _same(mine, ref):
    """Equal to 1e-6 relative, with R's null (NA) matching NaN."""
    ref = np.array([np.nan if v is None else v for v in np.atleast_1d(ref)], float)
    mine = np.asarray(mine, float)
    assert np.array_equal(np.isnan(mine), np.isnan(ref)), (mine, ref)
    ok = ~np.isnan(ref)
    assert mine[ok] == pytest.approx(ref[ok], rel=REL, abs=1e-12)


@pytest.mark.parametrize("group", ["homogeneous", "heterogeneous"])
def test_01_km_curve_and_log_ci_match_survfit(group):
    # R: survfit(Surv(pfs1_months, pfs1_event) ~ het_group, data = d)  (conf.type = "log")
    ref = fixtures()["km_het_group"][group]
    curve = fit_km(cohort(), group="het_group").curves[group]
    _same(curve["time"], ref["time"])
    _same(curve["n_risk"], ref["n_risk"])
    _same(curve["surv"], ref["surv"])
    _same(curve["std_err"], ref["std_err"])
    _same(curve["lower"], ref["lower"])
    _same(curve["upper"], ref["upper"])


@pytest.mark.parametrize("group", ["homogeneous", "heterogeneous"])
def test_02_median_and_ci_match_quantile_survfit(group):
    # R: quantile(survfit(...), probs = 0.5)
    ref = fixtures()["km_het_group"][group]
    row = fit_km(cohort(), group="het_group").summary.set_index("group").loc[group]
    _same([row["median"], row["median_ci_low"], row["median_ci_high"]],
          [ref["median"], ref["median_low"], ref["median_high"]])


@pytest.mark.parametrize("group", ["plateau", "to_zero", "not_reached", "last_half", "wide", "single"])
def test_03_median_rules_on_edge_curves(group):
    # R: quantile(survfit(Surv(time, event) ~ group, data = km_edge), 0.5): midpoint of a flat 0.5 stretch,
    # NA when not reached, NA limits where the log CI is undefined (S = 0)
    ref = fixtures()["km_edge"][group]
    res = fit_km(km_edge(), "time", "event", "group")
    row = res.summary.set_index("group").loc[group]
    _same([row["median"], row["median_ci_low"], row["median_ci_high"]],
          [ref["median"], ref["median_low"], ref["median_high"]])
    _same(res.curves[group]["lower"], ref["lower"])
    assert row["median_reached"] == (ref["median"] is not None)


@pytest.mark.parametrize("group", ["homogeneous", "heterogeneous"])
def test_04_landmark_survival_matches_summary_survfit(group):
    # R: summary(survfit(...), times = c(12, 24), extend = FALSE)
    ref = fixtures()["km_het_group"][group]
    lm = fit_km(cohort(), group="het_group", landmarks=(12, 24)).landmarks.query("group == @group")
    _same(lm["time"], ref["landmark_time"])
    _same(lm["surv"], ref["landmark_surv"])
    _same(lm["ci_low"], ref["landmark_lower"])
    _same(lm["ci_high"], ref["landmark_upper"])
    _same(lm["n_risk"], ref["landmark_n_risk"])


def test_05_landmark_after_last_follow_up_is_missing():
    # R: summary(fit, times = 24, extend = FALSE) drops a time after the last observation -> NaN here
    lm = fit_km(km_edge(), "time", "event", "group", landmarks=(12,)).landmarks.set_index("group")
    assert np.isnan(lm.loc["plateau", "surv"])
    assert lm.loc["not_reached", "surv"] == pytest.approx(fixtures()["km_edge"]["not_reached"]["landmark_surv"])


@pytest.mark.parametrize("group", ["het_group", "het_group3"])
def test_06_logrank_matches_survdiff(group):
    # R: survdiff(Surv(pfs1_months, pfs1_event) ~ group, data = d)
    ref = fixtures()["logrank"][group]
    d = cohort()
    d["het_group3"] = pd.Categorical(d["het_group3"], ["homogeneous_positive", "mixed", "homogeneous_negative"])
    res = compute_logrank(d, group)
    assert res.statistic == pytest.approx(ref["chisq"], rel=REL)
    assert res.p == pytest.approx(ref["p"], rel=REL)
    assert res.df == ref["df"]
    _same(res.summary["observed"], ref["obs"])
    _same(res.summary["expected"], ref["exp"])


def test_07_logrank_without_events_gives_message_not_error():
    d = pd.DataFrame({"pfs1_months": [1.0, 2.0, 3.0], "pfs1_event": [0, 0, 0], "g": ["a", "b", "a"]})
    res = compute_logrank(d, "g")
    assert np.isnan(res.p) and "no events" in res.message


def test_08_quantile_midpoint_rule():
    # S = 0.5 on [2, 5): R returns (2 + 5) / 2
    assert compute_survival_quantile([1, 2, 3, 5], [0.75, 0.5, 0.5, 0.0]) == 3.5
    assert np.isnan(compute_survival_quantile([1, 2], [0.9, 0.8]))


def test_09_bad_input_raises_clear_error():
    d = pd.DataFrame({"pfs1_months": [1.0, -2.0], "pfs1_event": [1, 0]})
    with pytest.raises(ValueError, match="negative"):
        fit_km(d)
    with pytest.raises(ValueError, match="not in the data"):
        fit_km(d, group="nope")


def test_numeric_event_codes_convert_as_pandas_converts_them():
    # check_survival_inputs converts numeric codes with numpy (each bootstrap resample passes int codes) and
    # anything else through pandas' coercion; both give the same events and the same errors
    import pandas as pd

    from sonimage_utils.survival.baseline import check_survival_inputs

    for codes in ([0, 1, 1], np.array([0, 1, 1], dtype=np.int8), np.array([0, 1, 1], dtype=np.uint64),
                  [0.0, 1.0, 1.0], np.array(["0", "1", "1"], dtype=object)):
        e = check_survival_inputs([1.0, 2.0, 3.0], codes)[1]
        ref = pd.to_numeric(pd.Series(np.asarray(codes).ravel()), errors="coerce").to_numpy(dtype=float) == 1
        assert e.dtype == bool and e.tolist() == ref.tolist()
    for bad in ([0, 2, 1], [0.0, np.nan, 1.0], np.array(["0", "x", "1"], dtype=object)):
        with pytest.raises(ValueError, match="coded 0"):
            check_survival_inputs([1.0, 2.0, 3.0], bad)
