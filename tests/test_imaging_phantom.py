"""Phantom round trip, every vendor variant: SUVmax/SUVmean/SUVpeak/MTV/TLG from real DICOM files against the
phantom's known values.

Tolerance: a value stored as uint16 with a per-slice RescaleSlope differs from the truth by at most half a
stored step, i.e. (largest true SUV of the slice) / 32000 / 2; SUVmax and SUVpeak of a uniform hot sphere are
exact up to that step, MTV (a voxel count) is exact.
"""

import datetime as dt

import numpy as np
import pydicom
import pytest

from sonimage_utils.imaging.errors import DicomRuleError
from sonimage_utils.imaging.features import compute_voi_features
from sonimage_utils.imaging.phantom import LAYOUTS, VENDOR_VARIANTS, HotSphere, write_pet_phantom
from sonimage_utils.imaging.series import find_pet_series, load_pet_series
from sonimage_utils.imaging.suv import compute_suv_factor

VOI_MARGIN_MM = 6.0


@pytest.fixture(scope="module", params=sorted(VENDOR_VARIANTS))
def extracted(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    truth = write_pet_phantom(out, variant=request.param, seed=3)
    found, _ = find_pet_series(out)
    (sf,) = found.values()
    series = load_pet_series(sf.files)
    factor = compute_suv_factor(series.datasets, series.files)
    suv = series.rescaled(factor.slice_factors)
    return truth, series, factor, suv


def _tol(truth):
    return truth.true_suv.max() / 32000 / 2 + 1e-12


def _in_sphere(truth, centre, radius):
    return ((truth.voxel_centres_mm - np.asarray(centre)) ** 2).sum(axis=-1) <= radius ** 2 * (1 + 1e-9)


def test_01_suv_factor_and_header_sources_match_the_variant(extracted):
    truth, series, factor, _ = extracted
    spec = VENDOR_VARIANTS[truth.variant]
    assert factor.factor == pytest.approx(truth.suv_factor, rel=1e-8)
    assert factor.scan_time_source == spec["scan_time"]
    assert (factor.units, factor.decay_correction) == (spec["units"], spec["decay"])
    assert factor.uptake_s / 60 == pytest.approx(truth.uptake_min, abs=1e-9)
    assert factor.midnight_crossing == (truth.variant == "midnight")


def test_02_geometry_from_positions_and_pixel_spacing_not_slice_thickness(extracted):
    truth, series, _, _ = extracted
    assert series.geometry.spacing == pytest.approx(truth.spacing)        # 3.27 mm, header thickness says 5
    assert float(series.datasets[0].SliceThickness) != pytest.approx(truth.spacing[0])
    assert len(np.unique(series.slopes)) > 1                               # rescale slope varies by slice


def test_03_voxelwise_suv_equals_truth_within_half_a_stored_step(extracted):
    truth, _, _, suv = extracted
    assert np.abs(suv - truth.true_suv).max() <= _tol(truth)


def test_04_lesion_features_match_known_values(extracted):
    truth, series, _, suv = extracted
    for sphere in truth.spheres:
        radius = sphere.radius_mm + VOI_MARGIN_MM
        f = compute_voi_features(suv, series.geometry, sphere.centre_mm, radius)
        voi = _in_sphere(truth, sphere.centre_mm, radius)
        hot = _in_sphere(truth, sphere.centre_mm, sphere.radius_mm)
        tol = _tol(truth)
        assert f.suvmax == pytest.approx(sphere.suv, abs=tol)
        assert f.suvpeak == pytest.approx(sphere.suv, abs=tol)     # the 6.2 mm sphere fits in the hot sphere
        assert f.suvmean == pytest.approx(truth.true_suv[voi].mean(), abs=tol)
        assert f.n_voxels == voi.sum()
        assert f.mtv_ml == pytest.approx(hot.sum() * truth.voxel_volume_ml, rel=1e-12)
        assert f.tlg == pytest.approx(sphere.suv * hot.sum() * truth.voxel_volume_ml, rel=1e-4)
        # the discrete MTV approximates the sphere volume within 15% at 4 x 4 x 3.27 mm voxels
        assert f.mtv_ml == pytest.approx(4 / 3 * np.pi * sphere.radius_mm ** 3 / 1000, rel=0.15)


def test_05_off_grid_background_is_recovered_within_a_stored_step(tmp_path):
    truth = write_pet_phantom(tmp_path, variant="siemens_bqml", background_suv=1.37, seed=5,
                              spheres=(HotSphere((1.3, -2.1, 7.7), 12.0, 6.53),))
    (sf,) = find_pet_series(tmp_path)[0].values()
    series = load_pet_series(sf.files)
    suv = series.rescaled(compute_suv_factor(series.datasets).slice_factors)
    f = compute_voi_features(suv, series.geometry, (1.3, -2.1, 7.7), 18.0)
    voi = _in_sphere(truth, (1.3, -2.1, 7.7), 18.0)
    assert f.suvmax == pytest.approx(6.53, abs=_tol(truth))
    assert f.suvmean == pytest.approx(truth.true_suv[voi].mean(), abs=_tol(truth))


# --- issue 14: multi-frame (Enhanced PET) layout of the same series ----------------------------------------------

@pytest.fixture(scope="module", params=sorted(VENDOR_VARIANTS))
def both_layouts(request, tmp_path_factory):
    loaded = {}
    for layout in LAYOUTS:
        out = tmp_path_factory.mktemp(f"{request.param}-{layout}")
        truth = write_pet_phantom(out, variant=request.param, seed=3, layout=layout)
        (sf,) = find_pet_series(out)[0].values()
        series = load_pet_series(sf.files)
        factor = compute_suv_factor(series.datasets, series.files)
        loaded[layout] = (truth, sf, series, factor, series.rescaled(factor.slice_factors))
    return loaded


def test_06_multi_frame_file_gives_the_same_suvs_as_the_single_frame_series(both_layouts):
    truth, sf1, single, f1, suv1 = both_layouts["single-frame"]
    _, sfm, multi, fm, suvm = both_layouts["multi-frame"]
    assert len(sf1.files) == truth.true_suv.shape[0] and len(sfm.files) == 1      # one file, 30 frames
    assert multi.geometry.spacing == pytest.approx(single.geometry.spacing, rel=1e-12)
    assert np.array_equal(multi.geometry.origin, single.geometry.origin)
    assert np.array_equal(multi.slopes, single.slopes)
    # the same dose decayed over the same seconds (DecayCorrectionDateTime = the scan start, or the injection
    # for ADMIN): the factors agree to rounding, and so do the SUVs
    assert list(fm.slice_factors) == pytest.approx(list(f1.slice_factors), rel=1e-12)
    assert (fm.units, fm.decay_correction, fm.uptake_s) == (f1.units, f1.decay_correction, f1.uptake_s)
    assert np.abs(suvm - suv1).max() <= 1e-6 * truth.true_suv.max()
    assert np.abs(suvm - truth.true_suv).max() <= _tol(truth)
    for sphere in truth.spheres:
        a = compute_voi_features(suv1, single.geometry, sphere.centre_mm, sphere.radius_mm + VOI_MARGIN_MM)
        b = compute_voi_features(suvm, multi.geometry, sphere.centre_mm, sphere.radius_mm + VOI_MARGIN_MM)
        assert b.suvpeak == pytest.approx(a.suvpeak, rel=1e-6) and b.suvmax == pytest.approx(a.suvmax, rel=1e-6)
        assert b.mtv_ml == a.mtv_ml and b.n_voxels == a.n_voxels


def test_07_multi_frame_enhanced_attributes_stand_in_for_the_legacy_ones(both_layouts):
    _, sfm, multi, fm, _ = both_layouts["multi-frame"]
    ds = pydicom.dcmread(sfm.files[0], stop_before_pixels=True)
    assert "Units" not in ds and "DecayCorrection" not in ds and "ImagePositionPatient" not in ds
    assert ds.DecayCorrected == "YES" and int(ds.NumberOfFrames) == len(multi.datasets)
    assert multi.files[0] == f"{sfm.files[0]} frame 1"                         # slices named by frame
    assert not any("DecayCorrectionDateTime" in w for w in fm.warnings)        # reference = scan start


def test_08_multi_frame_without_per_frame_groups_is_refused(tmp_path):
    truth = write_pet_phantom(tmp_path, layout="multi-frame", shape=(6, 10, 10), seed=1)
    ds = pydicom.dcmread(truth.files[0])
    del ds.PerFrameFunctionalGroupsSequence
    ds.save_as(truth.files[0], enforce_file_format=True)
    with pytest.raises(DicomRuleError, match="one per-frame functional group item per frame: 6 frames, 0 items") \
            as info:
        load_pet_series(truth.files, names=["pet.dcm"])
    assert info.value.tag == "(5200,9230) PerFrameFunctionalGroupsSequence" and info.value.file == "pet.dcm"


def test_09_decay_reference_of_an_enhanced_file_is_decaycorrectiondatetime(tmp_path):
    # the reference 10 min after the scan start: the dose decays over uptake + 600 s (and a warning says so)
    truth = write_pet_phantom(tmp_path, layout="multi-frame", shape=(6, 10, 10), seed=1)
    ds = pydicom.dcmread(truth.files[0])
    ds.DecayCorrectionDateTime = (truth.scan_datetime + dt.timedelta(minutes=10)).strftime("%Y%m%d%H%M%S")
    ds.save_as(truth.files[0], enforce_file_format=True)
    series = load_pet_series(truth.files)
    f = compute_suv_factor(series.datasets, series.files)
    seconds = truth.uptake_min * 60 + 600
    assert f.factor == pytest.approx(72.5 * 1000 / (250e6 * 2 ** (-seconds / 6586.2)), rel=1e-12)
    assert f.uptake_s == truth.uptake_min * 60 and any("+600 s" in w for w in f.warnings)
