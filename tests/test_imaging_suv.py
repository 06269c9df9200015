"""SUVbw factor per QIBA (suv.md): each rule against hand-worked numbers, and each error case.

Expected factors are written out from the formula (weight x 1000 / (dose x 2^(-t / T))), not taken from the
code under test.
"""

import datetime as dt

import numpy as np
import pytest
from pydicom.dataset import Dataset

from sonimage_utils.imaging.errors import DicomRuleError
from sonimage_utils.imaging.suv import compute_scan_datetime, compute_suv_factor

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
