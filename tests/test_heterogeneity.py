"""Heterogeneity rules of methods.md, one test each."""

import numpy as np
import pandas as pd
import pytest

from sonimage_utils.derive.analysis_sets import build_analysis_set, derive_pfs_months
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.heterogeneity import derive_lesion_fes_status, derive_patient_heterogeneity


#: The SAP values of analysis.yml (fes_threshold, fes_excluded_organs); no function has them as defaults.
FES = dict(fes_threshold=1.5, fes_excluded_organs=("liver",))


def lesions(rows):
    return pd.DataFrame(rows, columns=["patient_id", "organ", "fes_suvmax", "fdg_suvmax"])


def test_01_positive_at_threshold_inclusive():
    out = derive_lesion_fes_status(lesions([("a", "bone", 1.5, 1), ("a", "bone", 1.4999, 1)]), **FES)
    assert out["fes_status"].tolist() == ["positive", "negative"]


def test_02_liver_and_missing_not_assessable():
    out = derive_lesion_fes_status(lesions([("a", "liver", 5.0, 1), ("a", "lung", None, 1)]), **FES)
    assert out["fes_assessable"].tolist() == [False, False]
    assert out["fes_positive"].isna().all()


def test_03_excluded_organs_are_a_parameter():
    out = derive_lesion_fes_status(lesions([("a", "liver", 5.0, 1)]), fes_threshold=1.5, fes_excluded_organs=())
    assert out["fes_status"].tolist() == ["positive"]


def test_04_score_is_share_of_positive_assessable():
    les = lesions([("a", "bone", 2, 1), ("a", "bone", 1, 1), ("a", "bone", 3, 1), ("a", "liver", None, 9),
                   ("a", "lung", 0.8, 1)])
    out = derive_patient_heterogeneity(les, **FES, fdg_threshold=None)
    assert out.loc[0, "hs"] == pytest.approx(50.0)
    assert out.loc[0, "n_lesions"] == 5 and out.loc[0, "n_fes_assessable"] == 4
    assert out.loc[0, "mean_fes_suvmax"] == pytest.approx((2 + 1 + 3 + 0.8) / 4)


def test_05_groups_two_and_three_levels():
    les = lesions([("hom", "bone", 2, 1), ("mix", "bone", 2, 1), ("mix", "bone", 1, 1), ("neg", "bone", 1, 1),
                   ("none", "liver", None, 1)])
    out = derive_patient_heterogeneity(les, **FES, fdg_threshold=None).set_index("patient_id")
    assert out["het_group"].astype(object).where(out["het_group"].notna(), None).tolist() == [
        "homogeneous", "heterogeneous", "heterogeneous", None]
    assert list(out["het_group"].cat.categories) == ["homogeneous", "heterogeneous"]
    assert out.loc["hom", "het_group3"] == "homogeneous_positive"
    assert out.loc["mix", "het_group3"] == "mixed"
    assert out.loc["neg", "het_group3"] == "homogeneous_negative"
    assert np.isnan(out.loc["none", "hs"])


def test_06_fdg_threshold_none_is_the_cohort_median_and_pattern():
    les = lesions([("a", "bone", 2, 3.0), ("b", "bone", 2, 8.0), ("c", "bone", 1, 9.0), ("c", "bone", 2, 4.0),
                   ("d", "bone", 2, None)])
    out = derive_patient_heterogeneity(les, **FES, fdg_threshold=None).set_index("patient_id")
    assert out["fdg_threshold"].iloc[0] == pytest.approx(8.0)  # median of 3, 8, 9
    assert out.loc["a", "fes_fdg_pattern"] == "fdg_low"
    assert out.loc["b", "fes_fdg_pattern"] == "fdg_high_fes_homogeneous"
    assert out.loc["c", "fes_fdg_pattern"] == "fdg_high_fes_heterogeneous"
    assert pd.isna(out.loc["d", "fes_fdg_pattern"]) and pd.isna(out.loc["d", "fdg_high"])


def test_07_fixed_fdg_threshold():
    les = lesions([("a", "bone", 2, 3.0), ("b", "bone", 2, 8.0)])
    out = derive_patient_heterogeneity(les, **FES, fdg_threshold=2.0)
    assert out["fdg_high"].tolist() == [True, True]


def test_08_invalid_threshold_is_an_error():
    with pytest.raises(ValueError, match="fes_threshold must be a positive number"):
        derive_lesion_fes_status(lesions([("a", "bone", 2, 1)]), fes_threshold=0, fes_excluded_organs=("liver",))


def test_09_pfs_months_uses_30_4375_days():
    p = pd.DataFrame({"randomization_date": pd.to_datetime(["2020-01-01"]),
                      "pfs1_date": pd.to_datetime(["2020-05-01"])})  # 121 days
    assert derive_pfs_months(p).iloc[0] == pytest.approx(121 / 30.4375)


def test_10_analysis_set_keeps_every_patient_and_counts_exclusions(valid_folder):
    path = valid_folder / "sonimage" / "lesions.csv"
    text = path.read_text().replace("P003,L1,lymph_node,2.6", "P003,L1,liver,")
    path.write_text(text)
    a = build_analysis_set(load_cohort(valid_folder), **FES, fdg_threshold=None)
    assert len(a) == 3
    assert a.attrs["exclusions"] == {"no lesion row": 0, "no FES-assessable lesion": 1}
    assert a.set_index("patient_id").loc["P003", "hs"] != a.set_index("patient_id").loc["P003", "hs"]  # NaN


@pytest.mark.parametrize("call", [
    lambda les: derive_lesion_fes_status(les, fes_threshold=1.5),
    lambda les: derive_lesion_fes_status(les, 1.5, ("liver",)),
    lambda les: derive_patient_heterogeneity(les, **FES),
    lambda les: derive_patient_heterogeneity(les, fes_excluded_organs=("liver",), fdg_threshold=None),
])
def test_11_sap_values_are_required_keywords_not_defaults(call):
    with pytest.raises(TypeError, match="fes_excluded_organs|fes_threshold|fdg_threshold|positional"):
        call(lesions([("a", "bone", 2, 1)]))


def test_12_analysis_set_needs_the_sap_values(valid_folder):
    with pytest.raises(TypeError, match="fdg_threshold"):
        build_analysis_set(load_cohort(valid_folder), **FES)
