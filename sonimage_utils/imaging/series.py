"""Find PET series in a folder tree and load one as a volume with its geometry.

Series are found by Modality ``PT`` and grouped by SeriesInstanceUID whatever the file names and folders.
A loaded series is sorted along the slice normal; voxel geometry comes from PixelSpacing and the spacing of
ImagePositionPatient along the normal (never SliceThickness), and the rescale slope/intercept is applied per
slice. Written on pydicom directly: the few lines of geometry do not justify a heavier imaging dependency.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from .errors import DicomRuleError

__all__ = ["SeriesFiles", "VolumeGeometry", "PetSeries", "find_pet_series", "load_pet_series", "detect_tracer"]

_DISCOVERY_TAGS = ["Modality", "SeriesInstanceUID", "PatientID", "RadiopharmaceuticalInformationSequence"]
_TRACER_WORDS = {"FDG": ("FDG", "DEOXYGLUCOSE", "DEOXY-GLUCOSE"),
                 "FES": ("FES", "ESTRADIOL", "OESTRADIOL")}


@dataclass(frozen=True)
class SeriesFiles:
    """One PT series found on disk. ``dicom_patient_id`` is a hospital identifier: it stays in memory."""

    series_uid: str
    files: tuple[str, ...]
    dicom_patient_id: str
    tracer: str | None


@dataclass(frozen=True)
class VolumeGeometry:
    """Voxel grid of a slice stack in DICOM patient coordinates (mm).

    ``origin`` is the centre of voxel (0, 0, 0); index order is (slice, row, column); ``row_dir`` is the
    direction of increasing column index (ImageOrientationPatient[:3]), ``col_dir`` that of increasing row
    index, ``normal`` their cross product, the direction of increasing slice index.
    """

    origin: np.ndarray
    row_dir: np.ndarray
    col_dir: np.ndarray
    normal: np.ndarray
    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in ml."""
        return float(np.prod(self.spacing)) / 1000.0

    def to_index(self, point_mm) -> np.ndarray:
        """Continuous (slice, row, column) index of a point in patient coordinates."""
        d = np.asarray(point_mm, dtype=float) - self.origin
        return np.array([d @ self.normal / self.spacing[0], d @ self.col_dir / self.spacing[1],
                         d @ self.row_dir / self.spacing[2]])

    def to_mm(self, index) -> np.ndarray:
        """Patient coordinates of a (slice, row, column) index."""
        k, r, c = (float(v) for v in index)
        return (self.origin + k * self.spacing[0] * self.normal + r * self.spacing[1] * self.col_dir
                + c * self.spacing[2] * self.row_dir)


@dataclass
class PetSeries:
    """A loaded PT series: rescaled values (activity or counts, per the Units) and geometry.

    ``datasets`` and ``files`` are in slice order (along the normal); ``slopes`` are the per-slice
    RescaleSlope values.
    """

    values: np.ndarray
    geometry: VolumeGeometry
    datasets: list
    files: list
    slopes: np.ndarray


def detect_tracer(ds) -> str | None:
    """``"FDG"``, ``"FES"`` or None from Radiopharmaceutical (0018,0031) and its code meaning.

    Examples
    --------
    >>> from pydicom import Dataset
    >>> item = Dataset(); item.Radiopharmaceutical = "Fluorodeoxyglucose"
    >>> ds = Dataset(); ds.RadiopharmaceuticalInformationSequence = [item]
    >>> detect_tracer(ds)
    'FDG'
    """
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return None
    item = seq[0]
    texts = [str(item.get("Radiopharmaceutical") or "")]
    for code in item.get("RadiopharmaceuticalCodeSequence") or []:
        texts.append(str(code.get("CodeMeaning") or ""))
    text = " ".join(texts).upper()
    found = {tracer for tracer, words in _TRACER_WORDS.items() if any(w in text for w in words)}
    return found.pop() if len(found) == 1 else None


def find_pet_series(dicom_dir) -> tuple[dict[str, SeriesFiles], int]:
    """Walk a folder tree and group the PT files by SeriesInstanceUID.

    Parameters
    ----------
    dicom_dir : path-like
        Any folder tree; files that are not DICOM, and DICOM files of other modalities, are passed over.

    Returns
    -------
    (dict, int)
        SeriesInstanceUID -> :class:`SeriesFiles` (files sorted by path), and the number of files passed over.

    Raises
    ------
    ValueError
        If ``dicom_dir`` is not a folder.
    """
    if not os.path.isdir(dicom_dir):
        raise ValueError(f"DICOM folder {dicom_dir} does not exist")
    groups: dict[str, list] = {}
    skipped = 0
    for root, dirs, names in os.walk(dicom_dir):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_DISCOVERY_TAGS)
            except (InvalidDicomError, OSError, EOFError, ValueError):
                skipped += 1
                continue
            if str(ds.get("Modality", "")).upper() != "PT" or not ds.get("SeriesInstanceUID"):
                skipped += 1
                continue
            groups.setdefault(str(ds.SeriesInstanceUID), []).append((path, ds))
    series = {}
    for uid, members in groups.items():
        first = members[0][1]
        series[uid] = SeriesFiles(series_uid=uid, files=tuple(p for p, _ in members),
                                  dicom_patient_id=str(first.get("PatientID") or ""), tracer=detect_tracer(first))
    return series, skipped


def _floats(ds, keyword, n, name):
    value = ds.get(keyword)
    values = [value] if n == 1 else value
    try:
        numbers = np.array([float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        numbers = np.array([])
    if value is None or numbers.size != n or not np.all(np.isfinite(numbers)):
        raise DicomRuleError(keyword, f"missing or not {n} number(s)", name)
    return numbers


def load_pet_series(files, *, names=None, spacing_tolerance=0.01) -> PetSeries:
    """Read every slice of a PT series and stack the rescaled values in slice order.

    Parameters
    ----------
    files : sequence of path-like
        The files of one series (any order).
    names : sequence of str, optional
        Names for error messages (e.g. paths relative to the DICOM folder); default the paths.
    spacing_tolerance : float
        Largest allowed relative deviation of a slice gap from the median gap (default 1%).

    Returns
    -------
    PetSeries

    Raises
    ------
    DicomRuleError
        For multi-frame files, missing geometry or rescale attributes, orientation or pixel spacing that
        differ between slices, two slices at one position, unequal slice gaps (a missing slice) or slices
        not stacked along the normal.
    """
    names = [str(f) for f in files] if names is None else list(names)
    datasets = [pydicom.dcmread(f) for f in files]
    for ds, name in zip(datasets, names):
        if int(ds.get("NumberOfFrames") or 1) > 1:
            raise DicomRuleError("NumberOfFrames", "multi-frame PET is not handled", name)
    iop = [_floats(ds, "ImageOrientationPatient", 6, n) for ds, n in zip(datasets, names)]
    spacing = [_floats(ds, "PixelSpacing", 2, n) for ds, n in zip(datasets, names)]
    ipp = np.array([_floats(ds, "ImagePositionPatient", 3, n) for ds, n in zip(datasets, names)])
    for i, name in enumerate(names):
        if not np.allclose(iop[i], iop[0], atol=1e-4):
            raise DicomRuleError("ImageOrientationPatient", "differs between slices", name)
        if not np.allclose(spacing[i], spacing[0], rtol=1e-4):
            raise DicomRuleError("PixelSpacing", "differs between slices", name)
        if (datasets[i].Rows, datasets[i].Columns) != (datasets[0].Rows, datasets[0].Columns):
            raise DicomRuleError("Rows", "image size differs between slices", name)
    row_dir, col_dir = iop[0][:3], iop[0][3:]
    if abs(row_dir @ col_dir) > 1e-3 or abs(np.linalg.norm(row_dir) - 1) > 1e-3 \
            or abs(np.linalg.norm(col_dir) - 1) > 1e-3:
        raise DicomRuleError("ImageOrientationPatient", "direction cosines are not orthonormal", names[0])
    normal = np.cross(row_dir, col_dir)
    order = np.argsort(ipp @ normal, kind="stable")
    datasets = [datasets[i] for i in order]
    names = [names[i] for i in order]
    ipp = ipp[order]
    dz = 0.0
    if len(datasets) > 1:
        gaps = np.diff(ipp @ normal)
        if np.any(gaps < 1e-3):
            i = int(np.argmax(gaps < 1e-3)) + 1
            raise DicomRuleError("ImagePositionPatient", "two slices at the same position", names[i])
        dz = float(np.median(gaps))
        bad = np.abs(gaps - dz) > spacing_tolerance * dz
        if np.any(bad):
            i = int(np.argmax(bad)) + 1
            raise DicomRuleError("ImagePositionPatient", f"inconsistent slice spacing: gap of {gaps[i - 1]:.3f} mm "
                                 f"before this slice, median {dz:.3f} mm (a missing slice?)", names[i])
        expected = ipp[0] + np.outer(np.arange(len(ipp)) * dz, normal)
        off = np.linalg.norm(ipp - expected, axis=1)
        if np.any(off > max(spacing_tolerance * dz, 0.05)):
            i = int(np.argmax(off))
            raise DicomRuleError("ImagePositionPatient", f"slice is {off[i]:.3f} mm off the stack axis "
                                 "(tilted or shifted slices are not handled)", names[i])
    else:
        raise DicomRuleError("ImagePositionPatient", "a single slice: no slice spacing", names[0])
    slopes = np.array([_floats(ds, "RescaleSlope", 1, n)[0] for ds, n in zip(datasets, names)])
    intercepts = np.array([_floats(ds, "RescaleIntercept", 1, n)[0] for ds, n in zip(datasets, names)])
    values = np.empty((len(datasets), int(datasets[0].Rows), int(datasets[0].Columns)), dtype=np.float64)
    for k, ds in enumerate(datasets):
        np.multiply(ds.pixel_array, slopes[k], out=values[k], casting="unsafe")
        values[k] += intercepts[k]
    geometry = VolumeGeometry(origin=ipp[0], row_dir=row_dir, col_dir=col_dir, normal=normal,
                              spacing=(dz, float(spacing[0][0]), float(spacing[0][1])), shape=values.shape)
    return PetSeries(values=values, geometry=geometry, datasets=datasets, files=names, slopes=slopes)
