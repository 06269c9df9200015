"""The Efron engine's block-summed risk sets: properties that hold whatever the tie pattern.

The R comparisons of the engine are in ``test_estimators_reference.py`` and ``test_penalized_cox.py``; these
tests pin what the block sums (issue 15) could get wrong: the rows after the last event time, heavy ties,
offsets, and the score and information being the derivatives of the likelihood.
"""

import numpy as np
import pytest

from sonimage_utils.survival.efron import _efron, _Sorted


def _data(seed, n, p, resolution, event_rate):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    time = np.round(rng.exponential(10.0, n) / resolution) * resolution
    event = rng.random(n) < event_rate
    event[0] = True
    offset = rng.normal(size=n) * 0.3
    return X, time, event, offset, rng.normal(size=p) * 0.4


@pytest.mark.parametrize("resolution", [1e-6, 0.5, 5.0])
def test_score_and_information_are_the_derivatives_of_the_log_likelihood(resolution):
    X, time, event, offset, beta = _data(3, 300, 3, resolution, 0.6)
    s = _Sorted(X, time, event, offset)
    _, grad, info = _efron(s, beta)
    h = 1e-5
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        lp, gp, _ = _efron(s, beta + e)
        lm, gm, _ = _efron(s, beta - e)
        assert (lp - lm) / (2 * h) == pytest.approx(grad[j], rel=1e-6, abs=1e-6)
        # the information is minus the Hessian
        np.testing.assert_allclose(-(gp - gm) / (2 * h), info[:, j], rtol=1e-5, atol=1e-5)


def test_rows_censored_before_the_first_event_time_are_in_no_risk_set():
    X, time, event, offset, beta = _data(4, 200, 2, 0.5, 0.5)
    extra = 25
    rng = np.random.default_rng(9)
    X2 = np.vstack([X, rng.normal(size=(extra, 2))])
    t2 = np.r_[time, np.full(extra, time[event].min() / 2)]
    e2 = np.r_[event, np.zeros(extra, dtype=bool)]
    o2 = np.r_[offset, rng.normal(size=extra)]
    a = _efron(_Sorted(X, time, event, offset), beta)
    b = _efron(_Sorted(X2, t2, e2, o2), beta)
    assert b[0] == pytest.approx(a[0], rel=1e-13)
    np.testing.assert_allclose(b[1], a[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b[2], a[2], rtol=1e-12, atol=1e-12)


def test_all_events_tied_at_one_time_gives_the_efron_closed_form():
    # d = n events at one time, no covariate effect: loglik = -sum_k log(n - k/d * n) = -sum_k log(n - k)
    n = 6
    s = _Sorted(np.zeros((n, 1)), np.ones(n), np.ones(n, dtype=bool), np.zeros(n))
    loglik, grad, info = _efron(s, np.zeros(1))
    assert loglik == pytest.approx(-np.sum(np.log(n - np.arange(n))), rel=1e-14)
    assert grad[0] == pytest.approx(0.0, abs=1e-14)
    assert info[0, 0] == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("resolution", [1e-6, 0.5, 5.0])
def test_folds_together_equal_each_training_subset_alone(resolution):
    from sonimage_utils.survival.efron import _efron_folds, _fold_fractions

    X, time, event, offset, _ = _data(5, 250, 3, resolution, 0.6)
    s = _Sorted(X, time, event, np.zeros(time.size))
    K = 5
    folds = np.random.default_rng(1).integers(0, K, time.size)
    M = (folds[:, None] != np.arange(K)[None, :]).astype(float)
    Me = M[s.ev]
    B = np.random.default_rng(2).normal(size=(K, 3)) * 0.3
    loglik, grad, info = _efron_folds(s, B, M, Me, _fold_fractions(s, Me))
    order = np.argsort(-time, kind="stable")
    for k in range(K):
        rows = M[:, k] > 0
        alone = _efron(_Sorted(s.X[rows], time[order][rows], event[order][rows], np.zeros(rows.sum())), B[k])
        assert loglik[k] == pytest.approx(alone[0], rel=1e-13)
        np.testing.assert_allclose(grad[k], alone[1], rtol=1e-12, atol=1e-11)
        np.testing.assert_allclose(info[k], alone[2], rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("resolution", [1e-6, 0.5, 5.0])
def test_the_shared_sort_fit_equals_the_fit_from_raw_arrays_to_the_bit(resolution):
    # one _SortedOutcome per data set serves every fit on it (calibration slope, spline calibration model)
    from sonimage_utils.survival.efron import _fit_cox_efron_on, _SortedOutcome, fit_cox_efron

    X, time, event, _, _ = _data(5, 250, 3, resolution, 0.5)
    outcome = _SortedOutcome(time, event)
    for cols in ([0], [0, 1, 2], [2, 1]):
        raw = fit_cox_efron(X[:, cols], time, event.astype(float))
        shared = _fit_cox_efron_on(outcome, X[:, cols])
        assert shared.coef.tobytes() == raw.coef.tobytes()
        assert shared.vcov.tobytes() == raw.vcov.tobytes()
        assert (shared.loglik, shared.loglik_null, shared.n_iter, shared.converged) == (
            raw.loglik, raw.loglik_null, raw.n_iter, raw.converged)


def test_the_shared_sort_baseline_equals_the_baseline_from_raw_arrays_to_the_bit():
    from sonimage_utils.survival.baseline import _baseline_cumhaz_on, compute_baseline_cumhaz
    from sonimage_utils.survival.efron import _SortedOutcome

    X, time, event, _, beta = _data(6, 250, 3, 0.5, 0.5)
    outcome = _SortedOutcome(time, event)
    for ties in ("breslow", "efron"):
        a = compute_baseline_cumhaz(time, event.astype(float), X @ beta, ties=ties)
        b = _baseline_cumhaz_on(outcome, X @ beta, ties)
        assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    with pytest.raises(ValueError, match="finite"):
        _baseline_cumhaz_on(outcome, np.r_[np.inf, X[1:] @ beta], "efron")


def test_the_shared_sort_fit_rejects_covariates_the_raw_fit_rejects():
    from sonimage_utils.survival.efron import _fit_cox_efron_on, _SortedOutcome

    X, time, event, _, _ = _data(7, 50, 1, 0.5, 0.5)
    outcome = _SortedOutcome(time, event)
    with pytest.raises(ValueError, match="finite"):
        _fit_cox_efron_on(outcome, np.r_[np.nan, X[1:, 0]])
    with pytest.raises(ValueError, match="same number of rows"):
        _fit_cox_efron_on(outcome, X[1:])


@pytest.mark.parametrize("resolution", [1e-6, 0.5])
def test_the_null_loglik_read_from_the_first_newton_step_equals_the_null_model_alone_to_the_bit(resolution):
    from sonimage_utils.survival.efron import fit_cox_efron

    X, time, event, offset, beta = _data(8, 200, 2, resolution, 0.6)
    for off in (None, offset):
        fit = fit_cox_efron(X, time, event.astype(float), offset=off)
        s = _Sorted(X, time, event, np.zeros(time.size) if off is None else off)
        assert fit.loglik_null == _efron(s, np.zeros(2), want_derivatives=False)[0]
        # a fit started elsewhere evaluates the null model on its own: the same value
        assert fit_cox_efron(X, time, event.astype(float), offset=off, init=beta).loglik_null == fit.loglik_null
