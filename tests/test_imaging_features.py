"""VOI features on hand-built volumes: SUVmax, SUVmean, SUVpeak (1 cm^3 sphere), MTV at a fraction of SUVmax,
TLG, and the geometry behind them (voxel centres in patient coordinates, no SliceThickness)."""

import numpy as np
import pytest

from sonimage_utils.imaging.errors import DicomRuleError
from sonimage_utils.imaging.features import compute_voi_features, compute_voi_mask, sphere_offsets
from sonimage_utils.imaging.series import VolumeGeometry


def grid(shape=(20, 20, 20), spacing=(2.0, 2.0, 2.0), origin=(0.0, 0.0, 0.0)):
    return VolumeGeometry(origin=np.asarray(origin, float), row_dir=np.array([1.0, 0, 0]),
                          col_dir=np.array([0, 1.0, 0]), normal=np.array([0, 0, 1.0]), spacing=spacing,
                          shape=shape)


def test_01_index_and_patient_coordinates_round_trip():
    g = grid(spacing=(3.0, 4.0, 2.0), origin=(-10.0, 5.0, 100.0))
    # voxel (slice 2, row 3, column 4): x = -10 + 4*2, y = 5 + 3*4, z = 100 + 2*3
    assert g.to_mm((2, 3, 4)) == pytest.approx([-2.0, 17.0, 106.0])
    assert g.to_index([-2.0, 17.0, 106.0]) == pytest.approx([2, 3, 4])
    assert g.voxel_volume_ml == pytest.approx(0.024)


def test_02_sphere_offsets_count_voxel_centres_within_radius():
    # 1 mm grid, radius 6.2 mm: lattice points with i^2+j^2+k^2 <= 38.44
    n = sum(1 for i in range(-7, 8) for j in range(-7, 8) for k in range(-7, 8) if i * i + j * j + k * k <= 38.44)
    assert len(sphere_offsets((1, 1, 1), 6.2)) == n
    assert len(sphere_offsets((2, 2, 2), 2.0)) == 7


def test_03_suvmax_suvmean_exact_on_a_uniform_sphere_in_background():
    g = grid()
    suv = np.full(g.shape, 1.0)
    centre = g.to_mm((10, 10, 10))
    hot = compute_voi_mask(g, centre, 6.0)
    suv[hot[:, 0], hot[:, 1], hot[:, 2]] = 5.0
    f = compute_voi_features(suv, g, centre, 10.0)
    n_all = len(compute_voi_mask(g, centre, 10.0))
    assert f.suvmax == 5.0
    assert f.suvmean == pytest.approx((5.0 * len(hot) + 1.0 * (n_all - len(hot))) / n_all, rel=1e-12)
    assert f.n_voxels == n_all


def test_04_suvpeak_is_highest_mean_of_a_6_2mm_sphere_around_voi_voxels():
    g = grid()
    suv = np.zeros(g.shape)
    suv[10, 10, 10] = 7.0  # one hot voxel: every peak sphere holding it has mean 7 / n_kernel
    f = compute_voi_features(suv, g, g.to_mm((10, 10, 10)), 4.0)
    n_kernel = len(sphere_offsets(g.spacing, 6.2))
    assert f.suvpeak == pytest.approx(7.0 / n_kernel, rel=1e-12) and f.peak_n_voxels == n_kernel
    suv[:] = 3.0
    assert compute_voi_features(suv, g, g.to_mm((10, 10, 10)), 4.0).suvpeak == pytest.approx(3.0)


def test_05_mtv_counts_voxels_at_or_above_fraction_of_suvmax_and_tlg_is_mean_times_mtv():
    g = grid()
    suv = np.full(g.shape, 1.0)
    suv[9:12, 9:12, 9:12] = 10.0   # 27 voxels of 10
    suv[10, 10, 13] = 4.1          # exactly 41% of 10: included
    suv[10, 10, 7] = 4.0           # below: excluded
    f = compute_voi_features(suv, g, g.to_mm((10, 10, 10)), 8.0)
    assert f.mtv_ml == pytest.approx(28 * 0.008) and f.tlg == pytest.approx((270 + 4.1) / 28 * 28 * 0.008)
    f50 = compute_voi_features(suv, g, g.to_mm((10, 10, 10)), 8.0, mtv_fraction=0.5)
    assert f50.mtv_ml == pytest.approx(27 * 0.008)


@pytest.mark.parametrize("centre, radius", [((19.0, 19.0, 2.0), 5.0), ((100.0, 10.0, 10.0), 2.0)])
def test_06_voi_outside_the_image_is_an_error(centre, radius):
    with pytest.raises(DicomRuleError, match="outside the image"):
        compute_voi_mask(grid(), centre, radius)


def test_07_bad_parameters_raise():
    g = grid()
    with pytest.raises(ValueError, match="mtv_fraction"):
        compute_voi_features(np.ones(g.shape), g, g.to_mm((10, 10, 10)), 4.0, mtv_fraction=0)
    with pytest.raises(DicomRuleError, match="radius"):
        compute_voi_mask(g, g.to_mm((10, 10, 10)), 0.0)
