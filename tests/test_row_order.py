"""Results must not depend on the order of rows (issue 16, item 2).

Every analysis reads its tables through :func:`load_cohort`, which puts them in the contract's key order;
so the same data in any row order must load as identical frames (same values, same order, same index).
"""

import shutil

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.data.dictionary import load_dictionary
from sonimage_utils.data.load import available_cohorts, canonical_order, load_cohort


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from sonimage_utils.simulate.cohort import simulate_data_folder

    root = tmp_path_factory.mktemp("order")
    simulate_data_folder(root / "data", seed=11, n_patients=30)
    shuffled = root / "shuffled"
    shutil.copytree(root / "data", shuffled)
    rng = np.random.default_rng(5)
    n_shuffled = 0
    for path in sorted(shuffled.rglob("*.csv")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        body = lines[1:]
        order = rng.permutation(len(body))
        path.write_text(lines[0] + "".join(body[i] for i in order), encoding="utf-8")
        n_shuffled += not np.array_equal(order, np.arange(len(body)))
    assert n_shuffled >= 9  # every table of every cohort really was shuffled
    return root / "data", shuffled


def test_01_shuffled_rows_load_identically(folders):
    data, shuffled = folders
    cohorts = available_cohorts(data)
    assert cohorts == ["sonimage", "impact_mbc", "et_fes"]  # the external cohorts are loaded the same way
    for cohort in cohorts:
        a, b = load_cohort(data, cohort), load_cohort(shuffled, cohort)
        for name in ("patients", "lesions", "scans", "recist"):
            x, y = getattr(a, name), getattr(b, name)
            if x is None:
                assert y is None
                continue
            pd.testing.assert_frame_equal(x, y, check_exact=True)
            key = list(load_dictionary()[name].primary_key)
            assert not x.duplicated(key).any()
            assert x.index.equals(pd.RangeIndex(len(x)))
            assert x[key].apply(tuple, axis=1).is_monotonic_increasing, (cohort, name)


def test_02_canonical_order_checks_its_arguments():
    frame = pd.DataFrame({"patient_id": ["b", "a"], "x": [1, 2]})
    assert canonical_order(frame, "patients")["patient_id"].tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="unknown table"):
        canonical_order(frame, "visits")
    with pytest.raises(ValueError, match="lesion_id"):
        canonical_order(frame, "lesions")
