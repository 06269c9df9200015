"""The horizon measures computed from one SurvivalOutcome equal scikit-survival's own functions.

:class:`~sonimage_utils.survival.baseline.SurvivalOutcome` sorts a data set once and computes its Kaplan-Meier
and its censoring Kaplan-Meier once; Uno's C, the cumulative/dynamic AUC, the IPCW Brier score (model and
null) and the Kaplan-Meier risk are read from it. Each must equal what scikit-survival computes with a fresh
``CensoringDistributionEstimator`` per call (``concordance_index_ipcw``, ``cumulative_dynamic_auc``,
``brier_score``, training data = test data) to 1e-10 (relative), and raise where scikit-survival raises: on
the Rotterdam/GBSG fixtures and on random data with tied times, tied markers, events and censorings at the
same time, and horizons at and near the last time.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.metrics import brier_score, concordance_index_censored, concordance_index_ipcw, cumulative_dynamic_auc
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator
from sksurv.util import Surv

from sonimage_utils.external_validation.bootstrap import _auc_one, _one, draw_bootstrap_indices
from sonimage_utils.external_validation.metrics import (
    compute_brier,
    compute_brier_from,
    compute_cd_auc,
    compute_cd_auc_from,
    compute_observed_expected,
    compute_uno_c,
    compute_uno_c_from,
)
from sonimage_utils.external_validation.performance import PERFORMANCE_METRICS, survival_performance
from sonimage_utils.survival.baseline import SurvivalOutcome, compute_km_at, compute_km_risk

REF = Path(__file__).parent / "reference" / "rotterdam_gbsg"
RTOL = 1e-10


def _close(ours, ref):
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float), rtol=RTOL, atol=0)


def _sk(fn, *args, **kwargs):
    """scikit-survival's value, or the ValueError it raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            return err


def _ours(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValueError as err:
        return err


def _same(ours, ref):
    """Both raised, or both gave values equal to 1e-10. Returns True when values were compared."""
    if isinstance(ref, ValueError) or isinstance(ours, ValueError):
        assert isinstance(ref, ValueError) and isinstance(ours, ValueError), (ours, ref)
        return False
    _close(ours, ref)
    return True


def _random_data(rng, n):
    """Tied times (integers or 0-2 decimals), tied markers, events and censorings at shared times; sometimes
    the last time an event tied with censorings (G = 0 there), only censorings (G reaches 0) or all events."""
    kind = rng.integers(0, 4)
    if kind == 0:
        t = rng.integers(1, 6, n).astype(float)
    else:
        t = np.round(rng.exponential(5.0, n), int(kind - 1))
    e = rng.random(n) < rng.uniform(0.2, 0.95)
    end = rng.integers(0, 5)
    if end == 0 and n >= 3:  # last time: an event and censorings
        t[:3] = t.max() + 1.0
        e[:3] = [True, False, False]
    elif end == 1 and n >= 2:  # last time: censorings only
        t[:2] = t.max() + 1.0
        e[:2] = False
    elif end == 2:
        e[:] = True
    e[rng.integers(0, n)] = True
    x = np.round(rng.normal(size=n), int(rng.integers(0, 3)))  # markers tied at 0, 1 or 2 decimals
    if rng.random() < 0.2:
        x = x + rng.choice([0.0, 4e-16, 5e-9, 2e-8], n)  # around scikit-survival's 1e-8 tie tolerance
    risk = 1.0 / (1.0 + np.exp(-x))
    return t, e, x, risk


def _horizons(rng, t):
    """Inside, at an event time, at and just below the last time, and beyond it."""
    return [float(np.quantile(t, rng.uniform(0.05, 0.95))), float(rng.choice(t)), float(t.max()),
            float(np.nextafter(t.max(), -np.inf)), float(t.max() - 1e-9), float(t.max() + 1.0)]


@pytest.fixture(scope="module")
def fixtures():
    gbsg = pd.read_csv(REF / "gbsg5.csv")
    rott = pd.read_csv(REF / "rott5.csv")
    times = pd.read_csv(REF / "auc_curve.csv").time.to_numpy()
    return [(gbsg, 4.99, "risk499"), (gbsg, 5.0 - 1e-9, "risk5"), (rott, 4.99, "risk499")], times


def test_censoring_km_is_scikit_survivals_censoring_distribution_estimator():
    # G at any point (own times, between, beyond the last time) and the weights 1/G(T_i) of the events, with
    # the same errors: a point beyond the last time while G > 0, an event with G(T_i) = 0
    rng = np.random.default_rng(20)
    compared = raised = 0
    for _ in range(400):
        n = int(rng.integers(2, 60))
        t, e, _, _ = _random_data(rng, n)
        y = Surv.from_arrays(e, t)
        cens = CensoringDistributionEstimator().fit(y)
        outcome = SurvivalOutcome(t, e)
        at = np.r_[t, rng.uniform(0.0, 1.2 * t.max(), 5), np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]
        compared += _same(_ours(outcome.censoring_at, at), _sk(cens.predict_proba, at))
        inside = at[at <= t.max()]
        _close(outcome.censoring_at(inside), cens.predict_proba(inside))
        _close(outcome.censoring_own(), cens.predict_proba(t))
        w = _sk(cens.predict_ipcw, y)
        raised += isinstance(w, ValueError)
        _same(_ours(outcome.ipcw), w)
    assert compared > 100 and raised > 30  # both branches exercised


def test_km_risk_of_the_outcome_is_the_books_kaplan_meier_and_scikit_survivals():
    rng = np.random.default_rng(21)
    for _ in range(300):
        t, e, _, _ = _random_data(rng, int(rng.integers(1, 60)))
        outcome = SurvivalOutcome(t, e)
        km_t, km_s = kaplan_meier_estimator(e, t)
        for u in _horizons(rng, t) + [0.0, float(t.min()) - 0.5]:
            np.testing.assert_array_equal(outcome.km_at(u), compute_km_at(t, e, u))
            np.testing.assert_array_equal(outcome.km_at(u, extend=False), compute_km_at(t, e, u, extend=False))
            assert outcome.km_risk(u) == compute_km_risk(t, e, u)
            k = np.searchsorted(km_t, u, side="right")
            _close(outcome.km_risk(u), 1.0 - (km_s[k - 1] if k else 1.0))


def test_uno_c_from_one_outcome_equals_scikit_survival_concordance_index_ipcw():
    rng = np.random.default_rng(22)
    compared = 0
    for _ in range(300):
        t, e, x, _ = _random_data(rng, int(rng.integers(2, 120)))
        y = Surv.from_arrays(e, t)
        outcome = SurvivalOutcome(t, e)
        for u in _horizons(rng, t):
            ref = _sk(concordance_index_ipcw, y, y, x, tau=u)
            ref = ref if isinstance(ref, ValueError) else ref[0]
            compared += _same(_ours(compute_uno_c_from, outcome, x, u), ref)
            _same(_ours(compute_uno_c, t, e.astype(int), x, u), ref)
    assert compared > 500


def test_cd_auc_from_one_outcome_equals_scikit_survival_cumulative_dynamic_auc():
    # ties in time and marker (the marker sort and scikit-survival's tie rule), several times in one call
    # equal to one call per time, and the same errors (G = 0 at an event time); times with no case are an
    # error here by the book's rule (scikit-survival returns NaN there), so they are not asked
    rng = np.random.default_rng(23)
    compared = raised = 0
    for _ in range(400):
        t, e, x, _ = _random_data(rng, int(rng.integers(3, 120)))
        y = Surv.from_arrays(e, t)
        outcome = SurvivalOutcome(t, e)
        cand = np.r_[_horizons(rng, t)[:2], t[e], t.max() - 1e-9, np.nextafter(t.max(), -np.inf)]
        cand = cand[(cand >= t[e].min()) & (cand < t.max())]
        if cand.size == 0:
            continue
        times = np.unique(rng.choice(cand, 4))
        ref = _sk(cumulative_dynamic_auc, y, y, x, times)
        ref = ref if isinstance(ref, ValueError) else ref[0]
        raised += isinstance(ref, ValueError)
        compared += _same(_ours(compute_cd_auc_from, outcome, x, times), ref)
        _same(_ours(compute_cd_auc, t, e, x, times[::-1]), ref)  # values for the sorted times
        if not isinstance(ref, ValueError):
            for j, u in enumerate(times):
                assert compute_cd_auc_from(outcome, x, [u])[0] == compute_cd_auc_from(outcome, x, times)[j]
    assert compared > 200 and raised > 20


def test_brier_and_null_brier_from_one_outcome_equal_scikit_survival_brier_score():
    # model: brier_score(y, y, 1 - risk, t); null: everyone at the Kaplan-Meier risk at t; t at the last time
    # is an error as in scikit-survival; G = 0 at t or at a case's time gives the weight 0 as there
    rng = np.random.default_rng(24)
    compared = 0
    for _ in range(300):
        t, e, _, risk = _random_data(rng, int(rng.integers(2, 120)))
        y = Surv.from_arrays(e, t)
        outcome = SurvivalOutcome(t, e)
        for u in _horizons(rng, t):
            b = _sk(brier_score, y, y, (1.0 - risk)[:, None], [u])
            if isinstance(b, ValueError):
                assert isinstance(_ours(compute_brier_from, outcome, risk, u), ValueError)
                continue
            null = np.full_like(risk, compute_km_risk(t, e, u))
            b0 = brier_score(y, y, (1.0 - null)[:, None], [u])[1][0]
            ours = compute_brier_from(outcome, risk, u)
            _close([ours["brier"], ours["brier_null"]], [b[1][0], b0])
            assert compute_brier(t, e, risk, u) == ours
            compared += 1
    assert compared > 500


def _sksurv_performance(time, event, risk, lp, t):
    """The measures of survival_performance that scikit-survival computes, each by its own function."""
    y = Surv.from_arrays(event, time)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km_t, km_s = kaplan_meier_estimator(event, time)
        k = np.searchsorted(km_t, t, side="right")
        km_risk = 1.0 - (km_s[k - 1] if k else 1.0)
        b = brier_score(y, y, (1.0 - risk)[:, None], [t])[1][0]
        b0 = brier_score(y, y, np.full((risk.size, 1), 1.0 - km_risk), [t])[1][0]
        return {"harrell_c": concordance_index_censored(event, time, lp)[0],
                "uno_c": concordance_index_ipcw(y, y, lp, tau=t)[0],
                "auc": cumulative_dynamic_auc(y, y, lp, [t])[0][0],
                "oe": km_risk / np.mean(risk), "brier": b, "ipa": 1.0 - b / b0}


def test_survival_performance_on_the_fixtures_equals_scikit_survival(fixtures):
    # GBSG at 4.99 and just below 5 years, Rotterdam (apparent) at 4.99; and the AUC curve of GBSG
    cases, times = fixtures
    for data, t, risk_col in cases:
        tt, e = data.ryear.to_numpy(), data.rfs.to_numpy().astype(bool)
        r, x = data[risk_col].to_numpy(), data.lp.to_numpy()
        got = survival_performance(tt, e, r, x, t)
        ref = _sksurv_performance(tt, e, r, x, t)
        for k, v in ref.items():
            _close(got[k], v)
        assert compute_observed_expected(tt, e, r, t)["oe"] == got["oe"]
    gbsg = cases[0][0]
    y = Surv.from_arrays(gbsg.rfs.to_numpy().astype(bool), gbsg.ryear.to_numpy())
    _close(compute_cd_auc(gbsg.ryear, gbsg.rfs, gbsg.lp, times), cumulative_dynamic_auc(y, y, gbsg.lp, times)[0])


def test_survival_performance_in_bootstrap_resamples_equals_scikit_survival(fixtures):
    # what chapter 05 computes 500 times per cohort: small resamples of GBSG (ties in time from rounding to
    # days are frequent there) and of random data; a resample where scikit-survival raises is NaN everywhere
    rng = np.random.default_rng(25)
    gbsg = fixtures[0][0][0]
    tt, e = gbsg.ryear.to_numpy(), gbsg.rfs.to_numpy().astype(int)
    r, x = gbsg.risk499.to_numpy(), gbsg.lp.to_numpy()
    data = [(tt, e, r, x, 4.99)]
    for _ in range(6):
        t2, e2, x2, r2 = _random_data(rng, 100)
        data.append((t2, e2.astype(int), r2, x2, float(np.quantile(t2, 0.7))))
    compared = 0
    for tt, e, r, x, t in data:
        for idx in draw_bootstrap_indices(tt.size, 20, seed=4)[:, :100]:
            got = _one(idx, tt, e, r, x, t, None, smooth=False)
            try:
                ref = _sksurv_performance(tt[idx], e[idx].astype(bool), r[idx], x[idx], t)
            except ValueError:
                continue
            if not np.isfinite(got["harrell_c"]):
                continue  # the book's own checks (e.g. t outside the resample's follow-up) refused it
            for k, v in ref.items():
                _close(got[k], v)
            compared += 1
    assert compared > 60


def test_auc_curve_in_one_call_per_resample_equals_scikit_survival_per_time():
    rng = np.random.default_rng(26)
    n = 80
    t = np.round(rng.exponential(20, n))
    e = (rng.random(n) < 0.6).astype(int)
    x = np.round(rng.normal(size=n), 1)
    times = np.array([0.5, 6, 12, 24, 12, 36, 500])
    for idx in draw_bootstrap_indices(n, 25, seed=5):
        got = _auc_one(idx, t, e, x, times)
        y = Surv.from_arrays(e[idx].astype(bool), t[idx])
        for j, u in enumerate(times):
            ok = t[idx].min() <= u < t[idx].max() and np.any(e[idx].astype(bool) & (t[idx] <= u))
            ref = _sk(cumulative_dynamic_auc, y, y, x[idx], [u]) if ok else ValueError()
            if isinstance(ref, ValueError):
                assert np.isnan(got[j])
            else:
                _close(got[j], ref[0][0])


def test_survival_performance_keeps_its_metrics_and_errors():
    rng = np.random.default_rng(27)
    t, e, x, r = _random_data(rng, 50)
    e[:] = True
    res = survival_performance(t, e, r, x, float(np.median(t)))
    assert tuple(res) == PERFORMANCE_METRICS
    with pytest.raises(ValueError, match="inside the follow-up"):
        survival_performance(t, e, r, x, float(t.max()))
    with pytest.raises(ValueError, match="lp has length"):
        compute_uno_c_from(SurvivalOutcome(t, e), x[:-1], 1.0)
    with pytest.raises(ValueError, match="within the follow-up"):
        compute_cd_auc(t, e, x, [t.max()])
    with pytest.raises(ValueError, match="no event by time"):
        compute_cd_auc([1.0, 2.0, 3.0], [0, 1, 0], [0.1, 0.2, 0.3], [1.5, 1.0])
