"""SUVbw factor per QIBA (suv.md): each rule against hand-worked numbers, and each error case.

Expected factors are written out from the formula (weight x 1000 / (dose x 2^(-t / T))), not taken from the
code under test.
"""

import datetime as dt

import numpy as np
import pytest
from pydicom.dataset import Dataset

from sonimage_utils.imaging.errors import DicomRuleError
from sonimage_utils.imaging.suv import compute_scan_datetime, compute_suv_factor, compute_suv_normalisation

T_F18 = 6586.2


def make_slice(*, units="BQML", decay="START", weight="70", dose="370000000", half_life="6586.2",
               series=("20240102", "093000"), acquisition=("20240102", "093000"), start_time="083000",
               start_datetime=None, corrected=("ATTN", "DECY", "NORM")):
    ds = Dataset()
    ds.Units, ds.DecayCorrection, ds.CorrectedImage = units, decay, list(corrected)
    if weight is not None:
        ds.PatientWeight = weight
    if series is not None:
        ds.SeriesDate, ds.SeriesTime = series
    if acquisition is not None:
        ds.AcquisitionDate, ds.AcquisitionTime = acquisition
    rp = Dataset()
    if start_time is not None:
        rp.RadiopharmaceuticalStartTime = start_time
    if start_datetime is not None:
        rp.RadiopharmaceuticalStartDateTime = start_datetime
    if dose is not None:
        rp.RadionuclideTotalDose = dose
    if half_life is not None:
        rp.RadionuclideHalfLife = half_life
    ds.RadiopharmaceuticalInformationSequence = [rp]
    return ds


def bqml(weight_kg, dose_bq, seconds, half_life=T_F18):
    return weight_kg * 1000 / (dose_bq * 2 ** (-seconds / half_life))


def test_01_bqml_start_decays_dose_to_scan_start():
    f = compute_suv_factor([make_slice()])
    assert f.factor == pytest.approx(bqml(70, 370e6, 3600), rel=1e-12)
    assert f.factor == pytest.approx(2.763366817e-4, rel=1e-9)  # 70000 / (370e6 * 2^(-3600/6586.2))
    assert (f.units, f.decay_correction, f.scan_time_source, f.uptake_s) == ("BQML", "START", "SeriesTime", 3600)


def test_02_admin_decay_correction_uses_the_undecayed_dose():
    f = compute_suv_factor([make_slice(decay="ADMIN")])
    assert f.factor == pytest.approx(70 * 1000 / 370e6, rel=1e-12)
    assert f.decayed_dose_bq == 370e6


def test_03_gml_pixels_are_already_suv():
    f = compute_suv_factor([make_slice(units="GML")] * 3)
    assert f.factor == 1.0 and np.all(f.slice_factors == 1.0)


def _philips(ds, suv=None, acf=None):
    block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    if suv is not None:
        block.add_new(0x00, "DS", suv)
    if acf is not None:
        block.add_new(0x09, "DS", acf)
    return ds


def test_04_cnts_uses_philips_suv_scale_factor_per_slice():
    slices = [_philips(make_slice(units="CNTS"), suv=v, acf="3.7") for v in ("0.00123", "0.00124")]
    f = compute_suv_factor(slices)
    assert list(f.slice_factors) == pytest.approx([0.00123, 0.00124], rel=1e-12)


def test_05_cnts_without_suv_factor_uses_activity_scale_times_bqml_factor():
    f = compute_suv_factor([_philips(make_slice(units="CNTS"), acf="3.7")])
    assert f.factor == pytest.approx(3.7 * bqml(70, 370e6, 3600), rel=1e-12)


def test_06_series_time_after_acquisition_falls_back_to_ge_private_tag():
    ds = make_slice(series=("20240102", "101500"), acquisition=("20240102", "093200"))
    ds.private_block(0x0009, "GEMS_PETD_01", create=True).add_new(0x0D, "DT", "20240102093000.00")
    f = compute_suv_factor([ds])
    assert f.scan_time_source == "GE private (0009,100D)"
    assert f.factor == pytest.approx(bqml(70, 370e6, 3600), rel=1e-12)


def test_07_otherwise_earliest_acquisition_time_over_slices():
    slices = [make_slice(series=("20240102", "101500"), acquisition=("20240102", t))
              for t in ("094500", "093000", "094000")]
    assert compute_scan_datetime(slices) == (dt.datetime(2024, 1, 2, 9, 30), "earliest AcquisitionTime")
    assert compute_suv_factor(slices).factor == pytest.approx(bqml(70, 370e6, 3600), rel=1e-12)


def test_08_start_datetime_takes_precedence_over_start_time():
    f = compute_suv_factor([make_slice(start_time="070000", start_datetime="20240102080000")])
    assert f.injection_time_source == "RadiopharmaceuticalStartDateTime"
    assert f.uptake_s == 5400
    assert f.factor == pytest.approx(bqml(70, 370e6, 5400), rel=1e-12)


def test_09_injection_before_midnight_scan_after_midnight():
    f = compute_suv_factor([make_slice(series=("20240103", "004000"), acquisition=("20240103", "004000"),
                                       start_time="233500")])
    assert f.midnight_crossing and f.injection_datetime == dt.datetime(2024, 1, 2, 23, 35)
    assert f.uptake_s == 65 * 60
    assert f.factor == pytest.approx(bqml(70, 370e6, 3900), rel=1e-12)


def test_10_non_f18_half_life_is_used_and_warned():
    f = compute_suv_factor([make_slice(half_life="6000")])
    assert f.factor == pytest.approx(bqml(70, 370e6, 3600, 6000), rel=1e-12)
    assert any("not that of F-18" in w for w in f.warnings)


@pytest.mark.parametrize("kwargs, tag", [
    (dict(weight=None), "(0010,1030) PatientWeight"),
    (dict(weight="0"), "(0010,1030) PatientWeight"),
    (dict(dose=None), "(0018,1074) RadionuclideTotalDose"),
    (dict(half_life=None), "(0018,1075) RadionuclideHalfLife"),
    (dict(units="PROPCNTS"), "(0054,1001) Units"),
    (dict(decay="NONE"), "(0054,1102) DecayCorrection"),
    (dict(corrected=("ATTN", "NORM")), "(0028,0051) CorrectedImage"),
    (dict(start_time=None), "(0018,1072) RadiopharmaceuticalStartTime"),
    (dict(acquisition=None), "(0008,0032) AcquisitionTime"),
    (dict(start_datetime="20240102100000"), "(0018,1078) RadiopharmaceuticalStartDateTime"),
    (dict(units="CNTS"), "(7053,1000)"),
])
def test_11_what_the_rules_cannot_handle_is_an_error_naming_file_and_tag(kwargs, tag):
    with pytest.raises(DicomRuleError) as info:
        compute_suv_factor([make_slice(**kwargs)], files=["a/b.dcm"])
    assert info.value.tag.startswith(tag) and info.value.file == "a/b.dcm"


def test_12_series_level_attributes_must_agree_between_slices():
    with pytest.raises(DicomRuleError, match="differs between slices"):
        compute_suv_factor([make_slice(), make_slice(weight="71")])


def test_13_implausible_uptake_is_computed_and_warned():
    f = compute_suv_factor([make_slice(start_datetime="20240101093000")])   # a day before the scan
    assert f.uptake_s == 24 * 3600 and any("implausible" in w for w in f.warnings)


# --- issue 14: the cornerstonejs/calculate-suv unit-test header (weight 100 kg, dose 100 Bq, ADMIN) -----------

def _unit_header(**kwargs):
    args = dict(units="CNTS", decay="ADMIN", weight="100", dose="100", half_life="10",
                series=("20201023", "095417"), acquisition=("20201023", "095417"), start_time=None,
                start_datetime="20201023095417")
    args.update(kwargs)
    return make_slice(**args)


@pytest.mark.parametrize("zero", ["0", "0.0", " 0.000 "])
def test_14_philips_suv_scale_factor_0_falls_back_to_activity_concentration(zero):
    # QIBA: (7053,1000) of 0 is not given; (7053,1009) x BQML factor = 1.602563 x 100 x 1000 / 100
    f = compute_suv_factor([_philips(_unit_header(), suv=zero, acf="1.602563")] * 2)
    assert list(f.slice_factors) == pytest.approx([1602.563, 1602.563], rel=1e-11)


def test_15_philips_zero_scale_factor_without_usable_activity_factor_is_refused():
    for acf in (None, "0"):
        with pytest.raises(DicomRuleError, match=r"\(7053,1000\) 0") as info:
            compute_suv_factor([_philips(_unit_header(), suv="0", acf=acf)], files=["p.dcm"])
        assert info.value.tag.startswith("(7053,1000)") and info.value.file == "p.dcm"


def test_16_philips_scale_factor_given_on_some_slices_only_is_refused():
    slices = [_philips(_unit_header(), suv=v, acf="1.602563") for v in ("0.000551", "0", "0.000551")]
    with pytest.raises(DicomRuleError, match="mixes two scalings") as info:
        compute_suv_factor(slices, files=["s0", "s1", "s2"])
    assert info.value.file == "s1" and "s0" in info.value.message


@pytest.mark.parametrize("keyword, values, tag", [
    ("half_life", ("10", "11"), "(0018,1075) RadionuclideHalfLife"),
    ("dose", ("370000000", "185000000"), "(0018,1074) RadionuclideTotalDose"),
])
def test_17_radiopharmaceutical_values_that_differ_between_slices_are_refused(keyword, values, tag):
    slices = [make_slice(**{keyword: values[i % 2]}) for i in range(4)]   # alternating
    with pytest.raises(DicomRuleError) as info:
        compute_suv_factor(slices, files=["s0", "s1", "s2", "s3"])
    error = info.value
    assert error.tag == tag and error.file == "s1"
    assert f"'{values[1]}' in this slice, '{values[0]}' in s0" in error.message


def test_18_same_number_written_differently_is_one_value():
    slices = [make_slice(dose="370000000"), make_slice(dose="3.7E8"), make_slice(dose="370000000.0")]
    assert compute_suv_factor(slices).factor == pytest.approx(bqml(70, 370e6, 3600), rel=1e-12)


# --- SUL (James, Janmahasatian) and SUVbsa: W 75 kg, H 1.85 m, male, dose 100 Bq, ADMIN: SUVbw factor 750 ------

def _sized(size="1.85", sex="M", weight="75"):
    ds = _unit_header(units="BQML", weight=weight)
    if size is not None:
        ds.PatientSize = size
    if sex is not None:
        ds.PatientSex = sex
    return ds


# Hand-derived: James male LBM = 1.10 x 75 - 128 (75 / 185)^2 kg; Janmahasatian male LBM = 9270 x 75 /
# (6680 + 216 x 75 / 1.85^2) kg; Du Bois BSA = 0.007184 x 75^0.425 x 185^0.725 m^2 = 1.98138 m^2.
# Factors = LBM (g) / 100 Bq and BSA (cm^2) / 100 Bq. Janmahasatian and BSA agree with the factors of
# cornerstonejs/calculate-suv's unit test (609.1533588651974, 198.13758427117767).
@pytest.mark.parametrize("suv_type, expected", [
    ("bw", 750.0),
    ("lbm-james", 10 * (82.5 - 128 * 75 ** 2 / 185 ** 2)),
    ("lbm-janmahasatian", 10 * 9270 * 75 / (6680 + 216 * 75 / 1.85 ** 2)),
    ("bsa", 0.007184 * 75 ** 0.425 * 185 ** 0.725 * 1e4 / 100),
])
def test_19_sul_and_suvbsa_factors_follow_the_published_formulas(suv_type, expected):
    ds = _sized()
    bw = compute_suv_factor([ds])
    n = compute_suv_normalisation([ds], bw, suv_type)
    assert bw.factor == pytest.approx(750.0, rel=1e-12)
    assert n.factor == pytest.approx(expected, rel=1e-11) and n.suv_type == suv_type
    assert {"lbm-janmahasatian": 609.1533588651974, "bsa": 198.13758427117767}.get(suv_type, expected) == \
        pytest.approx(n.factor, rel=1e-11)
    assert (n.lbm_kg is not None) == suv_type.startswith("lbm") and (n.bsa_m2 is not None) == (suv_type == "bsa")
    assert {"bw": "SUVbw", "lbm-james": "James 1976", "lbm-janmahasatian": "Janmahasatian 2005",
            "bsa": "Du Bois"}[suv_type] in n.formula


def test_20_female_lean_body_mass_and_per_slice_scaling():
    slices = [_philips(_sized(sex="F", weight="60", size="1.60"), suv=v) for v in ("0.0011", "0.0013")]
    for ds in slices:
        ds.Units = "CNTS"
    bw = compute_suv_factor(slices)
    james = compute_suv_normalisation(slices, bw, "lbm-james")
    janma = compute_suv_normalisation(slices, bw, "lbm-janmahasatian")
    lbm_james = 1.07 * 60 - 148 * (60 / 160) ** 2                       # 43.3875 kg
    lbm_janma = 9270 * 60 / (8780 + 244 * 60 / 1.6 ** 2)                  # 38.808 kg
    assert list(james.slice_factors) == pytest.approx([0.0011 * lbm_james / 60, 0.0013 * lbm_james / 60], rel=1e-12)
    assert list(janma.slice_factors) == pytest.approx([0.0011 * lbm_janma / 60, 0.0013 * lbm_janma / 60], rel=1e-12)


@pytest.mark.parametrize("suv_type, kwargs, tag, text", [
    ("lbm-james", dict(size=None), "(0010,1020) PatientSize", "height (m) missing"),
    ("bsa", dict(size="0"), "(0010,1020) PatientSize", "must be > 0"),
    ("lbm-janmahasatian", dict(size="185"), "(0010,1020) PatientSize", "centimetres written?"),
    ("lbm-james", dict(sex=None), "(0010,0040) PatientSex", "missing"),
    ("lbm-janmahasatian", dict(sex="O"), "(0010,0040) PatientSex", "need M or F"),
    # James, female: 1.07 x 200 - 148 (200 / 150)^2 = -49.1 kg
    ("lbm-james", dict(weight="200", size="1.50", sex="F"), "(0010,1030) PatientWeight", "-49.1 kg"),
])
def test_21_sul_or_bsa_without_usable_height_or_sex_is_a_clear_error_and_suvbw_still_works(suv_type, kwargs, tag,
                                                                                         text):
    ds = _sized(**kwargs)
    bw = compute_suv_factor([ds], files=["x.dcm"])                        # SUVbw needs neither
    with pytest.raises(DicomRuleError) as info:
        compute_suv_normalisation([ds], bw, suv_type, files=["x.dcm"])
    assert info.value.tag == tag and text in info.value.message and info.value.file == "x.dcm"


def test_22_bsa_needs_no_sex_and_sex_or_height_that_differ_between_slices_are_refused():
    bw = compute_suv_factor([_sized(sex=None)])
    assert compute_suv_normalisation([_sized(sex=None)], bw, "bsa").bsa_m2 == pytest.approx(1.98138, abs=1e-5)
    for other, tag in ((_sized(sex="F"), "(0010,0040) PatientSex"), (_sized(size="1.86"), "(0010,1020) PatientSize")):
        slices = [_sized(), other]
        with pytest.raises(DicomRuleError, match="differs between slices") as info:
            compute_suv_normalisation(slices, compute_suv_factor(slices, files=["a", "b"]), "lbm-james",
                                      files=["a", "b"])
        assert info.value.tag == tag and info.value.file == "b"


def test_23_james_beyond_its_maximum_warns():
    ds = _sized(weight="140", size="1.75")                               # BMI 45.7 > 43.0
    n = compute_suv_normalisation([ds], compute_suv_factor([ds]), "lbm-james")
    assert n.lbm_kg == pytest.approx(1.10 * 140 - 128 * (140 / 175) ** 2, rel=1e-12)
    assert any("maximum of the James formula" in w for w in n.warnings)
