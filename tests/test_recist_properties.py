"""Property tests of the RECIST 1.1 engine on random patient histories (hypothesis, modest example counts)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sonimage_utils.recist.engine import assess
from sonimage_utils.recist.rules import PD, RESPONSE_RANK

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = dt.date(2022, 1, 10)
NT_STATUS = ["present", "absent", "unequivocal_progression", "not_assessed"]


@st.composite
def histories(draw):
    """A random patient: 0-3 targets, 0-2 non-targets (at least one lesion), 1-5 follow-up CTs."""
    n_t = draw(st.integers(0, 3))
    n_nt = draw(st.integers(0 if n_t else 1, 2))
    nodes = [draw(st.booleans()) for _ in range(n_t)]
    base = [draw(st.integers(15 if nd else 10, 80)) for nd in nodes]
    gaps = draw(st.lists(st.integers(20, 90), min_size=1, max_size=5))
    days = [0] + list(np.cumsum(gaps))
    rows = []
    for k, day in enumerate(days):
        date = (BASE + dt.timedelta(days=int(day))).isoformat()
        for i in range(n_t):
            if k == 0:
                d = float(base[i])
            else:
                d = draw(st.one_of(st.none(), st.integers(0, 100).map(float)))
            rows.append(("P1", f"T{i}", date, "target", "true" if nodes[i] else "false", d, None))
        for j in range(n_nt):
            s = "present" if k == 0 else draw(st.sampled_from(NT_STATUS))
            rows.append(("P1", f"B{j}", date, "non_target", "false", None, s))
        if k > 0 and draw(st.integers(0, 5)) == 0:
            rows.append(("P1", f"X{k}", date, "new", "false", None, draw(st.sampled_from(["equivocal", "unequivocal"]))))
    recist = pd.DataFrame(rows, columns=["patient_id", "lesion_id", "assessment_date", "lesion_kind",
                                         "is_lymph_node", "diameter_mm", "status"])
    recist["diameter_mm"] = recist["diameter_mm"].astype(float)
    return recist, days


def _rank(code):
    return RESPONSE_RANK[code]


@SETTINGS
@given(histories(), st.data())
def test_01_new_unequivocal_lesion_never_improves_response(history, data):
    recist, days = history
    k = data.draw(st.integers(1, len(days) - 1)) if len(days) > 1 else None
    before = assess(recist, None)
    if k is None:
        return
    date = (BASE + dt.timedelta(days=int(days[k]))).isoformat()
    extra = pd.DataFrame([("P1", "XNEW", date, "new", "false", np.nan, "unequivocal")], columns=recist.columns)
    after = assess(pd.concat([recist, extra], ignore_index=True), None)
    assert after.visits["overall_response"].iloc[k] == PD
    assert _rank(after.best["best_overall_response"].iloc[0]) <= _rank(before.best["best_overall_response"].iloc[0]) \
        or before.best["best_overall_response"].iloc[0] == "NE"
    p_before, p_after = before.best["progression_date"].iloc[0], after.best["progression_date"].iloc[0]
    assert pd.notna(p_after) and (pd.isna(p_before) or p_after <= p_before)


@SETTINGS
@given(histories())
def test_02_overall_pd_exactly_when_target_non_target_or_new_lesion_pd(history):
    recist, _ = history
    v = assess(recist, None).visits.iloc[1:]
    expected = (v["target_response"].eq(PD) | v["non_target_response"].eq(PD) | v["new_lesion"])
    assert (v["overall_response"].eq(PD) == expected).all()


@SETTINGS
@given(histories())
def test_03_confirmation_never_improves_best_response(history):
    recist, _ = history
    plain = assess(recist, None).best["best_overall_response"].iloc[0]
    confirmed = assess(recist, None, confirm=True).best["best_overall_response"].iloc[0]
    if confirmed != "NE":
        assert _rank(confirmed) <= _rank(plain)


@SETTINGS
@given(histories(), st.integers(0, 120))
def test_04_longer_sd_minimum_never_improves_best_response(history, extra_days):
    recist, _ = history
    short = assess(recist, None, sd_min_days=0).best["best_overall_response"].iloc[0]
    long_ = assess(recist, None, sd_min_days=extra_days).best["best_overall_response"].iloc[0]
    assert long_ == "NE" or _rank(long_) <= _rank(short)


@SETTINGS
@given(histories())
def test_05_lesion_best_is_min_pct_change_before_first_pd(history):
    recist, _ = history
    res = assess(recist, None)
    prog = res.best["progression_date"].iloc[0]
    lv = res.lesion_visits
    for row in res.lesions.itertuples():
        mine = lv[(lv["lesion_id"] == row.lesion_id) & lv["pct_change"].notna()]
        if pd.notna(prog):
            mine = mine[mine["assessment_date"] < prog]
        if len(mine) == 0:
            assert np.isnan(row.best_pct_change)
        else:
            assert row.best_pct_change == mine["pct_change"].min()
            assert -100.0 <= row.best_pct_change


@SETTINGS
@given(histories(), st.randoms(use_true_random=False))
def test_06_row_order_does_not_matter(history, rnd):
    recist, _ = history
    order = list(range(len(recist)))
    rnd.shuffle(order)
    a, b = assess(recist, None), assess(recist.iloc[order], None)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    pd.testing.assert_frame_equal(a.best, b.best)
    pd.testing.assert_frame_equal(a.lesions, b.lesions)


@SETTINGS
@given(histories(), st.data())
def test_07_shrinking_a_target_at_the_last_visit_never_worsens_its_response(history, data):
    recist, days = history
    last = recist["assessment_date"].max()
    mask = (recist["assessment_date"] == last) & (recist["lesion_kind"] == "target") & recist["diameter_mm"].notna()
    if len(days) < 2 or not mask.any():
        return
    i = data.draw(st.sampled_from(list(recist.index[mask])))
    smaller = recist.copy()
    smaller.loc[i, "diameter_mm"] = data.draw(st.floats(0, float(recist.loc[i, "diameter_mm"])))
    t0 = assess(recist, None).visits["target_response"].iloc[-1]
    t1 = assess(smaller, None).visits["target_response"].iloc[-1]
    # clinical order at one assessment: NE (a lesion not assessed) is better than PD (the measured lesions
    # alone already progressed): shrinking a measured lesion can turn PD into NE, never the reverse
    goodness = {"CR": 4, "PR": 3, "SD": 2, "NE": 1, "PD": 0}
    assert goodness[t1] >= goodness[t0]


@SETTINGS
@given(histories())
def test_08_codes_and_nadir_are_consistent(history):
    recist, _ = history
    res = assess(recist, None)
    v = res.visits
    assert set(v["overall_response"].dropna()) <= {"CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"}
    assert res.best["best_overall_response"].iloc[0] in {"CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"}
    has_t = res.best["has_target_disease"].iloc[0]
    if has_t:
        sods = v["sum_diameters"].to_numpy()
        for k in range(1, len(v)):
            prior = sods[:k][~np.isnan(sods[:k])]
            assert v["nadir"].iloc[k] == prior.min()
    else:
        assert v["target_response"].isna().all() and v["sum_diameters"].isna().all()
