"""Ridge Cox solver (Efron ties) and cross-validated penalty: agreement with R survival and scikit-survival.

Fixtures: data from tests/reference/penalized_cox/data.csv; expected values (Efron ties, issue 12 item 7) from
tests/reference/ridge_cox_efron/ (make_reference.R -> reference.json: R ``coxph(... ridge(..., theta,
scale = FALSE), ties = "efron")`` and its ``survfit`` baseline). Tolerance: coefficients and log likelihoods
agree to 1e-6 absolute (both sides iterate to full convergence; observed agreement ~1e-10), baseline
cumulative hazards to 1e-6 relative. The Breslow values of tests/reference/penalized_cox/reference.json
(R breslow, glmnet) are no longer the solver's target: the solver has one tie method, Efron's.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.survival.baseline import compute_baseline_cumhaz
from sonimage_utils.survival.ridge_cox import (compute_log_partial_likelihood, cv_ridge_penalty, fit_ridge_cox, fit_ridge_cox_cv, make_folds)

REF_DIR = Path(__file__).parent / "reference" / "penalized_cox"
REF = json.loads((Path(__file__).parent / "reference" / "ridge_cox_efron" / "reference.json").read_text())
DATA = pd.read_csv(REF_DIR / "data.csv")
X = DATA[["x1", "x2", "x3", "x4", "arm"]].to_numpy()
T, E = DATA["time"].to_numpy(), DATA["event"].to_numpy()
ARM_FREE = np.array([1, 1, 1, 1, 0.0])


def test_01_data_have_tied_event_times():
    assert REF["n_tied_event_times"] > 0  # so the Efron tie handling is exercised


def test_02_unpenalised_matches_coxph_efron():
    # R: coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + arm, ties = "efron")
    fit = fit_ridge_cox(X, T, E, 0.0)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, REF["unpenalised"]["coef"], atol=1e-6)
    assert fit.loglik == pytest.approx(REF["unpenalised"]["loglik"], abs=1e-6)


def test_03_efron_baseline_matches_survfit():
    # R: survfit(fit, newdata = <all covariates 0>)$cumhaz at the event times (ctype 2, Efron fit)
    fit = fit_ridge_cox(X, T, E, 0.0)
    times, cumhaz = compute_baseline_cumhaz(T, E, X @ fit.coef, ties="efron")
    np.testing.assert_allclose(times, REF["unpenalised"]["baseline"]["time"], rtol=1e-10)
    np.testing.assert_allclose(cumhaz, REF["unpenalised"]["baseline"]["cumhaz"], rtol=1e-6)


@pytest.mark.parametrize("theta", [1, 5, 50])
def test_04_ridge_arm_unpenalised_matches_coxph_ridge_efron(theta):
    # R: coxph(Surv(time, event) ~ ridge(x1, x2, x3, x4, theta = theta, scale = FALSE) + arm, ties = "efron")
    ref = REF[f"ridge_theta_{theta}"]
    fit = fit_ridge_cox(X, T, E, float(theta), ARM_FREE)
    np.testing.assert_allclose(fit.coef, ref["coef"], atol=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik_unpenalised"], abs=1e-6)
    times, cumhaz = compute_baseline_cumhaz(T, E, X @ fit.coef, ties="efron")
    np.testing.assert_allclose(times, ref["baseline"]["time"], rtol=1e-10)
    np.testing.assert_allclose(cumhaz, ref["baseline"]["cumhaz"], rtol=1e-6)


def test_05_ridge_every_term_penalised_matches_coxph_ridge_efron():
    # the prognostic model's case (no unpenalised term): ridge(x1, x2, x3, x4, arm, theta = 5, scale = FALSE)
    ref = REF["ridge_all_theta_5"]
    fit = fit_ridge_cox(X, T, E, 5.0)
    np.testing.assert_allclose(fit.coef, ref["coef"], atol=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik_unpenalised"], abs=1e-6)


def test_06_agrees_with_scikit_survival_per_feature_alpha_efron():
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    y = Surv.from_arrays(E.astype(bool), T)
    sk = CoxPHSurvivalAnalysis(alpha=7.0 * ARM_FREE, ties="efron", tol=1e-12).fit(X, y)
    np.testing.assert_allclose(fit_ridge_cox(X, T, E, 7.0, ARM_FREE).coef, sk.coef_, atol=1e-6)


def test_07_penalty_shrinks_penalised_and_spares_unpenalised():
    heavy = fit_ridge_cox(X, T, E, 1e5, ARM_FREE)
    assert np.max(np.abs(heavy.coef[:4])) < 1e-2
    alone = fit_ridge_cox(X[:, [4]], T, E, 0.0)  # arm alone, unpenalised
    assert heavy.coef[4] == pytest.approx(alone.coef[0], abs=1e-2)


def test_08_loglik_function_matches_fit():
    fit = fit_ridge_cox(X, T, E, 5.0, ARM_FREE)
    assert compute_log_partial_likelihood(X, T, E, fit.coef) == pytest.approx(fit.loglik, abs=1e-10)


def test_09_cvpl_is_verweij_van_houwelingen_by_brute_force():
    # CVPL(lambda) = sum_k [ l(beta_-k) - l_-k(beta_-k) ], recomputed here fold by fold
    grid = [0.5, 5.0, 50.0]
    res = cv_ridge_penalty(X, T, E, grid, ARM_FREE, n_folds=5, seed=3)
    rows = np.argsort(-T, kind="stable")  # folds are dealt in the solver's time order
    folds = np.empty(T.size, dtype=int)
    folds[rows] = make_folds(E[rows], 5, 3)
    for lam, cvpl in zip(res.penalties, res.cvpl):
        total = 0.0
        for k in range(5):
            tr = folds != k
            b = fit_ridge_cox(X[tr], T[tr], E[tr], lam, ARM_FREE).coef
            total += (compute_log_partial_likelihood(X, T, E, b)
                      - compute_log_partial_likelihood(X[tr], T[tr], E[tr], b))
        assert cvpl == pytest.approx(total, abs=1e-5)


@pytest.mark.parametrize("p", [1, 4])
def test_09b_folds_solved_together_or_one_at_a_time_give_the_same_cvpl_and_penalty(p):
    from sonimage_utils.survival.ridge_cox import (DEFAULT_PENALTIES, _check_penalty, _cv_path_per_fold,
                                                   _cv_path_together, _SortedCoxData)

    rng = np.random.default_rng(7)
    grid = np.sort(np.asarray(DEFAULT_PENALTIES))[::-1]
    factor = np.r_[0.0, np.ones(p - 1)] if p > 1 else None
    for rep in range(8):
        n = 80
        x = rng.normal(size=(n, p))
        t = np.round(rng.exponential(np.exp(-0.8 * x[:, 0]) * 10))  # whole months: many ties
        idx = rng.integers(0, n, n)  # a bootstrap resample: duplicated rows
        data = _SortedCoxData(x[idx], t[idx], (rng.random(n) < 0.7).astype(float))
        f = _check_penalty(float(grid[0]), factor, p)
        folds = make_folds(data.event, 10, rep)
        alone = _cv_path_per_fold(data, folds, 10, grid, f)
        together = _cv_path_together(data, folds, 10, grid, f)
        np.testing.assert_allclose(together, alone, rtol=1e-12)
        assert np.argmax(together) == np.argmax(alone)


def test_10_cv_picks_small_penalty_with_strong_signal_and_large_without():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 3))
    t_signal = rng.exponential(np.exp(-(1.0 * x[:, 0] - 0.8 * x[:, 1])))
    t_noise = rng.exponential(1.0, size=300)
    ev = np.ones(300)
    signal = cv_ridge_penalty(x, t_signal, ev, n_folds=5, seed=1).best_penalty
    noise = cv_ridge_penalty(x, t_noise, ev, n_folds=5, seed=1).best_penalty
    assert signal < 10 < noise


def test_11_cv_fit_is_deterministic_for_a_seed():
    a, cva = fit_ridge_cox_cv(X, T, E, penalty_factor=ARM_FREE, n_folds=5, seed=9)
    b, cvb = fit_ridge_cox_cv(X, T, E, penalty_factor=ARM_FREE, n_folds=5, seed=9)
    assert np.array_equal(a.coef, b.coef) and np.array_equal(cva.cvpl, cvb.cvpl)
    assert cva.summary["selected"].sum() == 1


def test_12_folds_spread_events_evenly():
    folds = make_folds(E, 10, 0)
    per_fold = np.bincount(folds[E == 1], minlength=10)
    assert per_fold.max() - per_fold.min() <= 1


def test_13_input_errors_are_clear():
    with pytest.raises(ValueError, match="penalty must be"):
        fit_ridge_cox(X, T, E, -1.0)
    with pytest.raises(ValueError, match="penalty_factor"):
        fit_ridge_cox(X, T, E, 1.0, [1, 1])
    with pytest.raises(ValueError, match="finite"):
        fit_ridge_cox(np.where(X == X[0, 0], np.nan, X), T, E)
    with pytest.raises(ValueError, match="no events"):
        fit_ridge_cox(X, T, np.zeros_like(E))
    with pytest.raises(ValueError, match="n_folds"):
        cv_ridge_penalty(X, T, E, n_folds=1)
