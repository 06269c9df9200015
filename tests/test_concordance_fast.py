"""The O(n log n) concordance counts equal the O(n^2) pairwise definition; Uno's C equals scikit-survival's."""

import numpy as np
import pytest
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from sonimage_utils.external_validation.metrics import compute_uno_c
from sonimage_utils.survival.measures import compute_concordance_counts, compute_harrell_c


def _pairwise(t, e, x, tol=1e-8):
    """The definition, pair by pair (O(n^2))."""
    conc, tied, comp = [], [], []
    for i in np.flatnonzero(e):
        ok = (t > t[i]) | ((t == t[i]) & ~e)
        d = x[i] - x[ok]
        tie = np.abs(d) <= tol
        conc.append(np.sum((d > 0) & ~tie))
        tied.append(np.sum(tie))
        comp.append(ok.sum())
    return np.array(conc), np.array(tied), np.array(comp)


def _data(rng, n, tied_times, tie_scores):
    t = rng.integers(1, 8, n).astype(float) if tied_times else rng.exponential(5.0, n)
    e = rng.random(n) < 0.6
    e[0] = True
    if tie_scores:  # values on and around the 1e-8 tie boundary, and last-bit twins
        x = rng.integers(0, 4, n) * 1e-8 + rng.choice([0.0, 1e-9, 2e-8, 4e-16], n)
    else:
        x = rng.normal(size=n)
    return t, e, x


@pytest.mark.parametrize("tied_times", [True, False])
@pytest.mark.parametrize("tie_scores", [True, False])
def test_counts_equal_pairwise_definition(tied_times, tie_scores):
    rng = np.random.default_rng(11)
    for _ in range(60):
        t, e, x = _data(rng, int(rng.integers(1, 90)), tied_times, tie_scores)
        got = compute_concordance_counts(t, e, x)
        conc, tied, comp = _pairwise(t, e, x)
        np.testing.assert_array_equal(got["index"], np.flatnonzero(e))
        np.testing.assert_array_equal(got["concordant"], conc)
        np.testing.assert_array_equal(got["tied"], tied)
        np.testing.assert_array_equal(got["comparable"], comp)


def test_large_n_equals_pairwise_definition():
    rng = np.random.default_rng(3)
    n = 3000
    t = np.round(rng.exponential(10.0, n), 0) + 1  # many tied times
    e = rng.random(n) < 0.5
    x = np.round(rng.normal(size=n), 2)            # many tied scores
    got = compute_concordance_counts(t, e, x)
    conc, tied, comp = _pairwise(t, e, x)
    assert (got["concordant"].sum(), got["tied"].sum(), got["comparable"].sum()) == (
        conc.sum(), tied.sum(), comp.sum())
    np.testing.assert_array_equal(got["concordant"], conc)
    np.testing.assert_array_equal(got["tied"], tied)


def test_harrell_and_uno_match_scikit_survival():
    rng = np.random.default_rng(5)
    for k in range(120):
        t, e, x = _data(rng, int(rng.integers(5, 150)), k % 2 == 0, k % 3 == 0)
        y = Surv.from_arrays(e, t)
        assert compute_harrell_c(t, e, x) == pytest.approx(concordance_index_censored(e, t, x)[0], abs=1e-10)
        tau = float(np.quantile(t, rng.uniform(0.4, 0.95)))
        try:
            ref = concordance_index_ipcw(y, y, x, tau=tau)[0]
        except ValueError:
            with pytest.raises(ValueError):
                compute_uno_c(t, e, x, tau)
            continue
        assert compute_uno_c(t, e, x, tau) == pytest.approx(ref, abs=1e-10)


def test_no_comparable_pair():
    assert np.isnan(compute_harrell_c([1.0, 1.0], [1, 1], [0.0, 1.0]))
    with pytest.raises(ValueError):
        compute_uno_c([1.0, 2.0], [0, 1], [0.0, 1.0], 1.5)
