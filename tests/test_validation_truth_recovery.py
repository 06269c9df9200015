"""Truth recovery for chapter 05's calibration (issue 12): a correctly specified model validated on a large
simulated external cohort has calibration slope near 1 and O/E near 1.

The cohort: n = 5,000, proportional hazards with a Weibull baseline (shape 1.3, scale 30 months), a continuous
linear predictor (normal, SD 0.6) and a binary therapy term (log HR -0.5, as the therapy-specific prediction of
the frozen model); uniform censoring over 6-60 months; horizon 24 months. The predicted risk is the true one,
``1 - exp(-(t/30)^1.3 exp(lp))``.

Tolerances (stated): calibration slope within 0.08 of 1 and O/E at the horizon within 0.05 of 1 (about 2.5
standard errors at this n: SE of the slope about 0.03, SE of log O/E about 0.02); the per-value calibration of a
4-valued prediction has every true risk inside its Kaplan-Meier 95% interval.
"""

from __future__ import annotations

import numpy as np
import pytest

from sonimage_utils.external_validation.calibration import compute_calibration_by_value, compute_calibration_rule
from sonimage_utils.external_validation.performance import survival_performance

pytestmark = pytest.mark.slow

SHAPE, SCALE, HORIZON = 1.3, 30.0, 24.0


def _cohort(lp, seed):
    rng = np.random.default_rng(seed)
    t_event = SCALE * (rng.exponential(size=lp.size) / np.exp(lp)) ** (1 / SHAPE)
    t_cens = rng.uniform(6, 60, size=lp.size)
    return np.minimum(t_event, t_cens), (t_event <= t_cens).astype(int)


def _risk(lp):
    return 1 - np.exp(-((HORIZON / SCALE) ** SHAPE) * np.exp(lp))


def test_correctly_specified_model_has_slope_and_oe_near_1():
    rng = np.random.default_rng(20261130)
    n = 5000
    lp = rng.normal(0, 0.6, n) - 0.5 * rng.integers(0, 2, n)
    time, event = _cohort(lp, 1)
    risk = _risk(lp)
    rule = compute_calibration_rule(risk, 10)
    assert rule["smooth"]
    p = survival_performance(time, event, risk, lp, HORIZON, smooth_calibration=rule["smooth"])
    assert p["calibration_slope"] == pytest.approx(1.0, abs=0.08)
    assert p["oe"] == pytest.approx(1.0, abs=0.05)
    assert p["ici"] < 0.03  # the smoothed curve lies on the diagonal, up to noise


def test_few_distinct_predictions_per_value_calibration_covers_the_truth():
    rng = np.random.default_rng(7)
    n = 5000
    lp = rng.choice([-0.8, -0.3, 0.2, 0.7], size=n)  # e.g. a 4-valued score such as ET-FES HS
    time, event = _cohort(lp, 2)
    risk = _risk(lp)
    rule = compute_calibration_rule(risk, 10)
    assert not rule["smooth"] and rule["n_distinct"] == 4
    p = survival_performance(time, event, risk, lp, HORIZON, smooth_calibration=False)
    assert np.isnan(p["ici"]) and p["calibration_slope"] == pytest.approx(1.0, abs=0.08)
    g = compute_calibration_by_value(time, event, risk, HORIZON)
    assert len(g) == 4
    assert ((g["ci_low"] <= g["predicted"]) & (g["predicted"] <= g["ci_high"])).all()
