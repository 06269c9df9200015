"""The book's single estimators against R survival 3.5 (fixtures from tests/reference/estimators/make_reference.R).

Kaplan-Meier at t with Greenwood SE, the Breslow step baseline, Harrell's C, the Efron Cox engine and the
calibration slope, on data with tied event times (R's lung and veteran, and a small tied toy).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.survival import (compute_baseline_cumhaz, compute_calibration_slope, compute_harrell_c,
                                     compute_km_at, evaluate_step, fit_cox_efron, fit_km)

REF = Path(__file__).parent / "reference" / "estimators"
COVARIATES = {"lung": ["age", "sex", "ecog"], "veteran": ["karno", "age", "trt"], "toy": ["x", "z"]}
B = {"lung": [0.03, -0.3, 0.7], "veteran": [-0.05, 0.01, 0.3], "toy": [0.8, -0.5]}  # as in make_reference.R
RTOL = 1e-6  # R converged with eps = 1e-14: both sides at the MLE far below this
DATASETS = list(COVARIATES)


def _data(name):
    return pd.read_csv(REF / f"data_{name}.csv")


def _ref(kind):
    return pd.read_csv(REF / f"ref_{kind}.csv")


def _fit(name, **kw):
    d = _data(name)
    return d, fit_cox_efron(d[COVARIATES[name]].to_numpy(float), d["time"], d["event"], **kw)


def test_00_data_have_tied_event_times():
    for name in DATASETS:
        d = _data(name)
        ev = d.loc[d.event == 1, "time"]
        assert ev.duplicated().sum() >= 2, name


@pytest.mark.parametrize("name", DATASETS)
def test_01_km_at_and_greenwood_match_summary_survfit(name):
    # R: summary(survfit(Surv(time, event) ~ 1), times = t, extend = TRUE)$surv, $std.err
    d, ref = _data(name), _ref("km").query("dataset == @name")
    for row in ref.itertuples():
        s, var = compute_km_at(d["time"], d["event"], row.t)
        assert s == pytest.approx(row.surv, rel=1e-12), row.t
        if np.isnan(row.std_err):  # the curve has reached 0: R's std.err is NaN
            assert row.surv == 0 and np.isnan(var)
        else:
            assert np.sqrt(var) == pytest.approx(row.std_err, rel=1e-10), row.t
    # the curve of fit_km is the same estimator
    curve = fit_km(d, "time", "event").curves["all"]
    for row in ref.itertuples():
        assert evaluate_step(curve["time"], curve["surv"], row.t, before=1.0) == pytest.approx(row.surv, rel=1e-12)


def test_02_km_at_beyond_follow_up():
    t, e = [1.0, 2.0, 3.0], [1, 0, 0]
    assert compute_km_at(t, e, 5.0) == (pytest.approx(2 / 3), pytest.approx((2 / 3) ** 2 * 1 / (3 * 2)))
    assert np.isnan(compute_km_at(t, e, 5.0, extend=False)[0])
    assert compute_km_at([1.0, 2.0], [1, 1], 5.0, extend=False)[0] == 0.0  # curve reached 0: estimable
    assert compute_km_at(t, e, 0.5) == (1.0, 0.0)
    assert np.isnan(compute_km_at([], [], 1.0)[0])


@pytest.mark.parametrize("name", DATASETS)
def test_03_efron_engine_matches_coxph(name):
    # R: coxph(f, ties = "efron", control = coxph.control(eps = 1e-14)): coef, sqrt(diag(vcov)), loglik
    ref = _ref("cox").query("dataset == @name and ties == 'efron'")
    ll = _ref("loglik").query("dataset == @name and ties == 'efron'").iloc[0]
    _, fit = _fit(name)
    assert fit.converged
    assert fit.coef == pytest.approx(ref["coef"].to_numpy(), rel=RTOL)
    assert fit.se == pytest.approx(ref["se"].to_numpy(), rel=RTOL)
    assert fit.loglik == pytest.approx(ll.loglik, rel=1e-10)
    assert fit.loglik_null == pytest.approx(ll.loglik_null, rel=1e-12)


def test_04_efron_engine_matches_lifelines_and_uses_offset():
    from lifelines import CoxPHFitter

    d = _data("veteran")
    X = d[COVARIATES["veteran"]]
    ref = CoxPHFitter().fit(X.assign(time=d.time, event=d.event), "time", "event",
                            fit_options={"precision": 1e-14})
    fit = fit_cox_efron(X.to_numpy(float), d.time, d.event)
    assert fit.coef == pytest.approx(ref.params_.to_numpy(), rel=1e-8)
    assert fit.loglik == pytest.approx(ref.log_likelihood_, rel=1e-12)
    # an offset is the same as a coefficient fixed at 1
    off = fit_cox_efron(X[["karno", "age"]].to_numpy(float), d.time, d.event, offset=fit.coef[2] * X["trt"])
    assert off.coef == pytest.approx(fit.coef[:2], rel=1e-7)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_05_breslow_step_baseline_matches_r(name, ties):
    # R: basehaz(coxph(f, ties = "breslow"), centered = FALSE); for the Efron fit survfit(fit, newdata = 0,
    # ctype = 1) (the Breslow estimator at the Efron coefficients). R lists every time, censored ones too:
    # the step function read at each of them must equal R's value there.
    d = _data(name)
    X = d[COVARIATES[name]].to_numpy(float)
    coef = _ref("cox").query("dataset == @name and ties == @ties")["coef"].to_numpy()
    if ties == "efron":
        coef = fit_cox_efron(X, d.time, d.event).coef
    times, cumhaz = compute_baseline_cumhaz(d.time, d.event, X @ coef)
    ref = _ref("baseline").query("dataset == @name and ties == @ties")
    assert evaluate_step(times, cumhaz, ref["time"]) == pytest.approx(ref["cumhaz"].to_numpy(), rel=RTOL)
    # a step, not an interpolation: halfway between two event times it keeps the earlier value
    mid = (times[:-1] + times[1:]) / 2
    assert evaluate_step(times, cumhaz, mid) == pytest.approx(cumhaz[:-1], rel=0, abs=0)


@pytest.mark.parametrize("name", DATASETS)
def test_05b_efron_baseline_matches_default_survfit(name):
    # R: survfit(coxph(f), newdata = 0) (ctype = 2, Efron's rule at tied times), the baseline under the
    # calibration curves (as rms::survest); it differs from Breslow's exactly where event times are tied
    d = _data(name)
    X = d[COVARIATES[name]].to_numpy(float)
    lp = X @ fit_cox_efron(X, d.time, d.event).coef
    times, cumhaz = compute_baseline_cumhaz(d.time, d.event, lp, ties="efron")
    ref = _ref("baseline").query("dataset == @name and ties == 'efron_ctype2'")
    assert evaluate_step(times, cumhaz, ref["time"]) == pytest.approx(ref["cumhaz"].to_numpy(), rel=RTOL)
    _, breslow = compute_baseline_cumhaz(d.time, d.event, lp)
    tied = np.isin(times, d.time[(d.event == 1) & d.time.duplicated(keep=False)])
    first_tie = np.argmax(tied)
    assert np.all(cumhaz[:first_tie] == breslow[:first_tie]) and np.all(cumhaz[tied] > breslow[tied])
    with pytest.raises(ValueError, match="ties"):
        compute_baseline_cumhaz(d.time, d.event, lp, ties="exact")


@pytest.mark.parametrize("name", DATASETS)
def test_06_harrell_c_matches_concordance(name):
    # R: concordance(Surv(time, event) ~ lp, reverse = TRUE); lp of the Efron fit, then rounded to 0.1
    d, ref = _data(name), _ref("measures").query("dataset == @name").set_index("measure")["value"]
    _, fit = _fit(name)
    lp = d[COVARIATES[name]].to_numpy(float) @ fit.coef
    assert compute_harrell_c(d.time, d.event, lp) == pytest.approx(ref["harrell_c"], abs=1e-12)
    # equal covariates give lp values a last bit apart (X @ coef); they are tied, as in R
    assert compute_harrell_c(d.time, d.event, lp + 4e-16 * (np.arange(len(d)) % 2)) == pytest.approx(
        ref["harrell_c"], abs=1e-12)
    # R rounds its own lp (R's coefficients); ours agree to 1e-6, so no value lies at a rounding edge
    assert compute_harrell_c(d.time, d.event, np.round(lp, 1)) == pytest.approx(ref["harrell_c_tied_lp"], abs=1e-12)


@pytest.mark.parametrize("name", DATASETS)
def test_07_calibration_slope_matches_coxph_on_lp(name):
    # R: coxph(Surv(time, event) ~ lp) with lp = X b of a fixed miscalibrated model (Efron, R's default)
    d, ref = _data(name), _ref("measures").query("dataset == @name").set_index("measure")["value"]
    lp = d[COVARIATES[name]].to_numpy(float) @ np.array(B[name])
    res = compute_calibration_slope(d.time, d.event, lp)
    assert res["slope"] == pytest.approx(ref["calibration_slope"], rel=RTOL)
    assert res["se"] == pytest.approx(ref["calibration_slope_se"], rel=RTOL)
    assert res["ci_low"] == pytest.approx(res["slope"] - 1.959963984540054 * res["se"], rel=1e-12)


def test_08_calibration_slope_on_penalized_cox_fixture_is_efron_not_breslow():
    # the same fixture internal validation used to check against ties = "breslow" (1.10350); the one
    # calibration slope is R's default coxph, Efron (1.10427)
    d = pd.read_csv(REF.parent / "penalized_cox" / "data.csv")
    ref = _ref("measures").query("dataset == 'penalized_cox'").set_index("measure")["value"]
    lp = 0.6 * d.x1 - 0.4 * d.x2 + 0.5 * d.x3
    res = compute_calibration_slope(d.time, d.event, lp)
    assert res["slope"] == pytest.approx(ref["calibration_slope_efron"], rel=RTOL)
    assert res["se"] == pytest.approx(ref["calibration_slope_se_efron"], rel=RTOL)
    assert abs(res["slope"] - ref["calibration_slope_breslow"]) > 5e-4
    with pytest.raises(ValueError, match="constant"):
        compute_calibration_slope(d.time, d.event, np.zeros(len(d)))
