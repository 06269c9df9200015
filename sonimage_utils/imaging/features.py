"""Lesion features inside a spherical volume of interest: SUVmax, SUVmean, SUVpeak, MTV and TLG.

A voxel belongs to a sphere when its centre lies inside it (distance <= radius); this keeps the values
exact on a phantom whose hot spheres are defined the same way. Written by hand because the definitions are
a few lines of numpy on the voxel grid; pyradiomics computes other features and does not take spheres in
patient coordinates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import DicomRuleError
from .series import VolumeGeometry

__all__ = ["VoiFeatures", "sphere_offsets", "compute_voi_mask", "compute_voi_features", "compute_mask_features",
           "PEAK_RADIUS_MM"]

#: Radius of a 1 cm^3 sphere (mm), used for SUVpeak.
PEAK_RADIUS_MM = 6.2
_VOI_TAG = "x_mm,y_mm,z_mm,radius_mm"


@dataclass(frozen=True)
class VoiFeatures:
    """Features of one lesion VOI. ``mtv_ml`` and ``tlg`` use the threshold ``mtv_fraction`` x SUVmax."""

    suvmax: float
    suvmean: float
    suvpeak: float
    mtv_ml: float
    tlg: float
    n_voxels: int
    peak_n_voxels: int
    mtv_fraction: float

    def as_dict(self) -> dict:
        """The features as a plain dict."""
        return asdict(self)


def sphere_offsets(spacing, radius_mm) -> np.ndarray:
    """Integer (slice, row, column) offsets of the voxels whose centres lie within ``radius_mm`` of a centre voxel.

    Parameters
    ----------
    spacing : sequence of 3 floats
        Voxel spacing (slice, row, column) in mm.
    radius_mm : float
        Sphere radius in mm.

    Returns
    -------
    numpy.ndarray of shape (n, 3)

    Examples
    --------
    >>> len(sphere_offsets((1.0, 1.0, 1.0), 1.0))  # centre and its 6 face neighbours
    7
    """
    half = [int(np.floor(radius_mm / s + 1e-9)) for s in spacing]
    grids = np.meshgrid(*[np.arange(-h, h + 1) for h in half], indexing="ij")
    offsets = np.stack([g.ravel() for g in grids], axis=1)
    dist2 = ((offsets * np.asarray(spacing, dtype=float)) ** 2).sum(axis=1)
    return offsets[dist2 <= radius_mm ** 2 * (1 + 1e-9)]


def compute_voi_mask(geometry: VolumeGeometry, centre_mm, radius_mm):
    """Voxel indices inside a sphere given in patient coordinates.

    Parameters
    ----------
    geometry : VolumeGeometry
    centre_mm : sequence of 3 floats
        Sphere centre (x, y, z) in DICOM patient coordinates.
    radius_mm : float
        Sphere radius in mm (> 0).

    Returns
    -------
    numpy.ndarray of shape (n, 3)
        (slice, row, column) indices of the voxels whose centres lie in the sphere.

    Raises
    ------
    DicomRuleError
        If the radius is not positive, the sphere extends outside the image, or contains no voxel centre.
    """
    radius_mm = float(radius_mm)
    if not np.isfinite(radius_mm) or radius_mm <= 0:
        raise DicomRuleError(_VOI_TAG, f"radius must be > 0 mm, got {radius_mm:g}")
    centre = geometry.to_index(centre_mm)
    half = radius_mm / np.asarray(geometry.spacing)
    shape = np.asarray(geometry.shape)
    if np.any(centre - half < -0.5) or np.any(centre + half > shape - 0.5):
        raise DicomRuleError(_VOI_TAG, f"VOI sphere (centre {tuple(round(float(v), 2) for v in centre_mm)} mm, "
                             f"radius {radius_mm:g} mm) extends outside the image")
    lo = np.clip(np.ceil(centre - half - 1e-9).astype(int), 0, shape - 1)
    hi = np.clip(np.floor(centre + half + 1e-9).astype(int), 0, shape - 1)
    grids = np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo, hi)], indexing="ij")
    idx = np.stack([g.ravel() for g in grids], axis=1)
    dist2 = (((idx - centre) * np.asarray(geometry.spacing)) ** 2).sum(axis=1)
    idx = idx[dist2 <= radius_mm ** 2 * (1 + 1e-9)]
    if len(idx) == 0:
        raise DicomRuleError(_VOI_TAG, f"VOI sphere of radius {radius_mm:g} mm contains no voxel centre")
    return idx


def compute_voi_features(suv: np.ndarray, geometry: VolumeGeometry, centre_mm, radius_mm, *,
                         mtv_fraction: float = 0.41, peak_radius_mm: float = PEAK_RADIUS_MM) -> VoiFeatures:
    """SUVmax, SUVmean, SUVpeak, MTV and TLG of a spherical VOI.

    Parameters
    ----------
    suv : numpy.ndarray, shape ``geometry.shape``
        SUV volume (slice, row, column).
    geometry : VolumeGeometry
    centre_mm, radius_mm
        The VOI sphere in patient coordinates (mm).
    mtv_fraction : float
        MTV threshold as a fraction of SUVmax (default 0.41), in (0, 1].
    peak_radius_mm : float
        Radius of the SUVpeak sphere (default 6.2 mm, i.e. 1 cm^3).

    Returns
    -------
    VoiFeatures
        ``suvpeak`` is the highest mean SUV over spheres of ``peak_radius_mm`` centred on a voxel of the VOI
        and lying inside the image (the peak sphere may reach beyond the VOI, as in PERCIST); ``mtv_ml`` is the
        volume of VOI voxels with SUV >= ``mtv_fraction`` x SUVmax; ``tlg`` = their mean SUV x ``mtv_ml``.

    Raises
    ------
    ValueError
        If ``mtv_fraction`` is outside (0, 1] or ``suv`` does not match the geometry.
    DicomRuleError
        If the VOI is outside the image (see :func:`compute_voi_mask`).

    References
    ----------
    Wahl RL et al. From RECIST to PERCIST. J Nucl Med 2009;50 Suppl 1:122S-150S (SUVpeak, 1 cm^3 sphere).
    Boellaard R et al. FDG PET/CT: EANM procedure guidelines v2.0. Eur J Nucl Med Mol Imaging 2015 (41% MTV).
    """
    if tuple(suv.shape) != tuple(geometry.shape):
        raise ValueError(f"suv shape {suv.shape} does not match the geometry {geometry.shape}")
    idx = compute_voi_mask(geometry, centre_mm, radius_mm)
    return compute_mask_features(suv, geometry, idx, mtv_fraction=mtv_fraction, peak_radius_mm=peak_radius_mm)


def compute_mask_features(suv: np.ndarray, geometry: VolumeGeometry, indices, *, mtv_fraction: float = 0.41,
                          peak_radius_mm: float = PEAK_RADIUS_MM) -> VoiFeatures:
    """The features of :func:`compute_voi_features` for any set of voxels (e.g. a DICOM SEG segment).

    Parameters
    ----------
    suv : numpy.ndarray, shape ``geometry.shape``
    geometry : VolumeGeometry
    indices : array-like of shape (n, 3) or boolean array of shape ``geometry.shape``
        The lesion's voxels as (slice, row, column) indices, or a mask.
    mtv_fraction, peak_radius_mm : float
        As in :func:`compute_voi_features`.

    Returns
    -------
    VoiFeatures

    Raises
    ------
    ValueError
        If ``mtv_fraction`` is outside (0, 1] or the mask does not match the volume.
    DicomRuleError
        If the mask is empty.
    """
    if not 0 < mtv_fraction <= 1:
        raise ValueError(f"mtv_fraction must be in (0, 1], got {mtv_fraction}")
    idx = np.asarray(indices)
    if idx.dtype == bool:
        if idx.shape != tuple(suv.shape):
            raise ValueError(f"mask shape {idx.shape} does not match the volume {suv.shape}")
        idx = np.argwhere(idx)
    if len(idx) == 0:
        raise DicomRuleError("SegmentLabel", "the lesion mask is empty")
    values = suv[idx[:, 0], idx[:, 1], idx[:, 2]].astype(np.float64)
    suvmax = float(values.max())
    offsets = sphere_offsets(geometry.spacing, peak_radius_mm)
    # a peak sphere fits when its extreme offsets along each axis do (the offsets include (+-h, 0, 0) ...);
    # the sphere means are taken on flat indices, one gather for all centres
    half = np.abs(offsets).max(axis=0)
    shape = np.asarray(suv.shape)
    inside = np.all((idx >= half) & (idx < shape - half), axis=1)
    if not np.any(inside):
        raise DicomRuleError(_VOI_TAG, f"no {peak_radius_mm:g} mm SUVpeak sphere around the VOI fits in the image")
    strides = np.array([shape[1] * shape[2], shape[2], 1])
    flat = np.ascontiguousarray(suv).reshape(-1)
    around = (idx[inside] @ strides)[:, None] + (offsets @ strides)[None, :]
    peak = flat[around].mean(axis=1, dtype=np.float64).max()
    selected = values[values >= mtv_fraction * suvmax]
    mtv = len(selected) * geometry.voxel_volume_ml
    return VoiFeatures(suvmax=suvmax, suvmean=float(values.mean()), suvpeak=float(peak), mtv_ml=float(mtv),
                       tlg=float(selected.mean() * mtv), n_voxels=int(len(values)), peak_n_voxels=len(offsets),
                       mtv_fraction=float(mtv_fraction))
