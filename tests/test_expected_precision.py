"""Precision before results (issue 12, TRIPOD item 10): Riley et al.'s standard errors of C and O/E against the
authors' implementation (PyPI pmvalsampsize 0.2.1; tests/reference/riley_precision/)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sonimage_utils.external_validation.precision import compute_expected_precision

CASES = json.loads((Path(__file__).parent / "reference" / "riley_precision" / "expected.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"phi{c['prevalence']}_c{c['cstatistic']}")
def test_se_of_c_and_log_oe_match_pmvalsampsize(case):
    phi, c = case["prevalence"], case["cstatistic"]
    # C: the SE at the sample size pmvalsampsize chose is its own SE (same formula: to 1e-12)
    assert compute_expected_precision(case["n_cstat"], phi, c)["se_c"] == pytest.approx(case["se_cstat"], rel=1e-12)
    # O/E: pmvalsampsize searches SE on a grid of 1e-4 and takes n = ceil((1 - phi) / (phi SE^2)); our SE at that
    # n is at most its SE, and above its SE one n earlier
    p = compute_expected_precision(case["n_oe"], phi, c)
    assert p["se_log_oe"] <= case["se_oe"] + 1e-12
    assert compute_expected_precision(case["n_oe"] - 1, phi, c)["se_log_oe"] > case["se_oe"] - 1e-4
    assert p["oe_ci_width"] == pytest.approx(2 * math.sinh(1.959963984540054 * p["se_log_oe"]), rel=1e-12)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="event_risk"):
        compute_expected_precision(100, 1.0, 0.6)
    with pytest.raises(ValueError, match="n must"):
        compute_expected_precision(1, 0.5, 0.6)
