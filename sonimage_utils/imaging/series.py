"""Find PET series in a folder tree and load one as a volume with its geometry.

Series are found by Modality ``PT`` and grouped by SeriesInstanceUID whatever the file names and folders; a
multi-frame (Enhanced PET) file is read frame by frame through its functional groups, each frame a slice.
A loaded series is sorted along the slice normal; voxel geometry comes from PixelSpacing and the spacing of
ImagePositionPatient along the normal (never SliceThickness), and the rescale slope/intercept is applied per
slice. Written on pydicom directly: the few lines of geometry do not justify a heavier imaging dependency.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.datadict import tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from .errors import DicomRuleError
from .privacy import IDENTIFYING_KEYWORDS

__all__ = ["SeriesFiles", "VolumeGeometry", "PetSeries", "find_pet_series", "load_pet_series", "detect_tracer",
           "raw_text", "value_text", "split_frames"]

_DISCOVERY_TAGS = ["Modality", "SeriesInstanceUID", "RadiopharmaceuticalInformationSequence",
                   "ReferencedSeriesSequence", "PatientID"]
_IDENTIFIER_TAGS = ["OtherPatientIDsSequence", *IDENTIFYING_KEYWORDS]
_TRACER_WORDS = {"FDG": ("FDG", "DEOXYGLUCOSE", "DEOXY-GLUCOSE"),
                 "FES": ("FES", "ESTRADIOL", "OESTRADIOL")}


@dataclass(frozen=True)
class SeriesFiles:
    """One PT series found on disk. ``dicom_patient_id`` and ``identifiers`` ((keyword, value) pairs of every
    :data:`~sonimage_utils.imaging.privacy.IDENTIFYING_KEYWORDS` attribute of the first file) are hospital
    identifiers: they stay in memory, to refuse a study pseudonym that equals one."""

    series_uid: str
    files: tuple[str, ...]
    dicom_patient_id: str
    tracer: str | None
    seg_files: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()


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
    """A loaded PT series: stored pixel values per slice, their rescale, and the geometry.

    ``datasets`` and ``files`` are in slice order (along the normal); ``stored[k]`` holds the stored values of
    slice ``k`` and ``slopes``/``intercepts`` its RescaleSlope/RescaleIntercept. :meth:`rescaled` gives the
    volume in modality units (Bq/ml, counts or SUV per the Units), optionally times a factor per slice.
    """

    stored: list
    geometry: VolumeGeometry
    datasets: list
    files: list
    slopes: np.ndarray
    intercepts: np.ndarray

    def rescaled(self, factors=None) -> np.ndarray:
        """``(stored x slope + intercept) x factor`` per slice, as float32 (7 significant digits, far finer
        than 16-bit storage).

        The stored values are converted into the output once and scaled in place by the per-slice
        ``slope x factor`` rounded to float32 (relative error below 2e-7), which is three times faster than a
        float64 product per slice.

        Parameters
        ----------
        factors : array-like of float, optional
            One factor per slice (e.g. the SUV factors); default 1.

        Returns
        -------
        numpy.ndarray of shape ``geometry.shape``
        """
        factors = np.ones(len(self.stored)) if factors is None else np.asarray(factors, dtype=float)
        out = np.empty(self.geometry.shape, dtype=np.float32)
        for k, plane in enumerate(self.stored):
            out[k] = plane
        out *= (self.slopes * factors).astype(np.float32)[:, None, None]
        offsets = self.intercepts * factors
        if np.any(offsets != 0):
            out += offsets.astype(np.float32)[:, None, None]
        return out

    @property
    def values(self) -> np.ndarray:
        """Rescaled values in modality units (see :meth:`rescaled`)."""
        return self.rescaled()


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
        SeriesInstanceUID -> :class:`SeriesFiles` (files sorted by path; ``seg_files`` the DICOM SEG files
        that reference the series), and the number of files passed over.

    Raises
    ------
    ValueError
        If ``dicom_dir`` is not a folder.
    """
    if not os.path.isdir(dicom_dir):
        raise ValueError("the DICOM folder does not exist or is not a folder")   # its path is not printed
    groups: dict[str, list] = {}
    segs: dict[str, list] = {}
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
            modality = str(ds.get("Modality", "")).upper()
            if modality == "SEG" and ds.get("ReferencedSeriesSequence"):
                for ref in ds.ReferencedSeriesSequence:
                    segs.setdefault(str(ref.get("SeriesInstanceUID", "")), []).append(path)
                continue
            if modality != "PT" or not ds.get("SeriesInstanceUID"):
                skipped += 1
                continue
            groups.setdefault(str(ds.SeriesInstanceUID), []).append((path, ds))
    series = {}
    for uid, members in groups.items():
        first = members[0][1]
        # the identifiers of the first file only: reading them from every file costs 40% more discovery time
        pairs = sorted(set(_identifier_pairs(pydicom.dcmread(members[0][0], stop_before_pixels=True,
                                                             specific_tags=_IDENTIFIER_TAGS))))
        series[uid] = SeriesFiles(series_uid=uid, files=tuple(p for p, _ in members),
                                  dicom_patient_id=str(first.get("PatientID") or ""), tracer=detect_tracer(first),
                                  seg_files=tuple(segs.get(uid, ())), identifiers=tuple(pairs))
    return series, skipped


def _identifier_pairs(ds):
    """(keyword, text) of each identifying attribute value of a dataset, multi-values one by one."""
    for keyword in IDENTIFYING_KEYWORDS:
        value = ds.get(keyword)
        for v in (value if isinstance(value, (list, tuple, MultiValue)) else [value]):
            if v is not None and str(v).strip():
                yield keyword, str(v).strip()
    for item in ds.get("OtherPatientIDsSequence") or []:
        if str(item.get("PatientID") or "").strip():
            yield "OtherPatientIDsSequence", str(item.PatientID).strip()


_TAGS: dict = {}


def _tag(key) -> BaseTag:
    """BaseTag of a keyword or integer tag, cached: lookups by keyword cost several times more."""
    tag = _TAGS.get(key)
    if tag is None:
        number = tag_for_keyword(key) if isinstance(key, str) else int(key)
        if number is None:
            raise ValueError(f"{key!r} is not a DICOM keyword")
        tag = _TAGS[key] = BaseTag(number)
    return tag


def _raw_value(ds, key):
    """Value of an element as stored (bytes while not yet converted), or None when absent."""
    elem = ds.get_item(_tag(key))
    return None if elem is None else elem.value


def raw_text(ds, keyword):
    r"""Text of a string-valued element without pydicom's value conversion, or None when absent or empty.

    Converting DS/DA/TM values through pydicom costs more than reading the file; the loader only needs the
    text of a few attributes per slice, so it reads the raw bytes.

    Examples
    --------
    >>> from pydicom import Dataset
    >>> ds = Dataset(); ds.PixelSpacing = ["4", "4.5"]
    >>> raw_text(ds, "PixelSpacing"), raw_text(ds, "SliceThickness")
    ('4\\4.5', None)
    """
    return value_text(_raw_value(ds, keyword))


def value_text(value):
    r"""Text of a stored element value (bytes, string, number or multi-value), or None when absent or empty.

    Examples
    --------
    >>> value_text(b"370000000 "), value_text(["1", "2"]), value_text(b""), value_text(None)
    ('370000000', '1\\2', None, None)
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        text = value.decode("latin-1")
    elif isinstance(value, (list, tuple, MultiValue)):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    text = text.strip("\x00 ")
    return text or None


def _floats(ds, keyword, n, name):
    text = raw_text(ds, keyword)
    try:
        numbers = [float(v) for v in text.split("\\")] if text else []
    except ValueError:
        numbers = []
    if len(numbers) != n or not all(math.isfinite(v) for v in numbers):
        raise DicomRuleError(keyword, f"missing or not {n} number(s)", name)
    return numbers


_RAW_16BIT = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
_FORMAT = ("Rows", "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation", "SamplesPerPixel")




def _pixel_reader(ds):
    """A function returning the stored values of a slice that has the pixel format of ``ds``.

    Uncompressed little-endian 16-bit single-sample data (what PET scanners write) is read straight from the
    bytes, which costs a fraction of pydicom's generic ``pixel_array``; anything else goes through
    ``pixel_array``.
    """
    meta = getattr(ds, "file_meta", None)
    rows, cols = int(ds.Rows), int(ds.Columns)
    if (meta is not None and meta.get("TransferSyntaxUID") in _RAW_16BIT and ds.get("BitsAllocated") == 16
            and ds.get("BitsStored") == 16 and ds.get("SamplesPerPixel", 1) == 1):
        dtype = "<i2" if ds.get("PixelRepresentation") == 1 else "<u2"
        return lambda d: np.frombuffer(_raw_value(d, "PixelData"), dtype=dtype, count=rows * cols).reshape(rows, cols)
    return lambda d: d.pixel_array


_FRAME_GROUPS = ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence", "PixelData")


def _flatten_groups(item, into):
    """Copy the elements of each functional group macro of ``item`` (e.g. PlanePositionSequence's
    ImagePositionPatient) into the dict ``into``; private groups are passed over."""
    for tag in item.keys():
        if tag.is_private:
            continue
        if item.get_item(tag).VR != "SQ":
            continue
        macro = item[tag].value                      # converts a nested sequence still stored as bytes
        if len(macro):
            for sub in macro[0].keys():
                if not sub.is_private:
                    into[sub] = macro[0].get_item(sub)


def _split_date_time(text):
    """DICOM DT text to (DA, TM) texts, any UTC offset dropped (times are local to the scanner)."""
    date, time = text[:8], text[8:]
    for sign in "+-":
        time = time.split(sign)[0]
    return date, time or "000000"


def split_frames(ds, name) -> list:
    """Frame views of a multi-frame (Enhanced PET) dataset: one Dataset per frame, as a single-frame slice.

    Each view holds the top-level attributes, then those of the shared functional groups, then those of the
    frame's own group (ImagePositionPatient, ImageOrientationPatient, PixelSpacing, RescaleSlope/Intercept,
    RescaleType, FrameAcquisitionDateTime, ...). Enhanced PET attributes are given their legacy names where
    the legacy one is absent: Units from RescaleType (0028,1054), AcquisitionDate/Time from
    FrameAcquisitionDateTime (0018,9074) or AcquisitionDateTime (0008,002A).

    Parameters
    ----------
    ds : pydicom.Dataset
        A dataset with NumberOfFrames > 1.
    name : str
        Its file name, for error messages.

    Returns
    -------
    list of pydicom.Dataset
        Without pixel data; the views share the top-level element objects.

    Raises
    ------
    DicomRuleError
        If PerFrameFunctionalGroupsSequence is missing or has not one item per frame.
    """
    n = int(raw_text(ds, "NumberOfFrames") or 1)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if not per_frame or len(per_frame) != n:
        raise DicomRuleError("PerFrameFunctionalGroupsSequence", f"multi-frame PET needs one per-frame functional "
                             f"group item per frame: {n} frames, {len(per_frame or [])} items", name)
    skip = {_tag(k) for k in _FRAME_GROUPS}
    base = {tag: ds.get_item(tag) for tag in ds.keys() if tag not in skip}
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        _flatten_groups(shared[0], base)
    views = []
    for item in per_frame:
        elements = dict(base)
        _flatten_groups(item, elements)
        view = Dataset(elements)
        view.file_meta = ds.file_meta
        if raw_text(view, "Units") is None and raw_text(view, "RescaleType") is not None:
            view.Units = raw_text(view, "RescaleType")
        when = raw_text(view, "FrameAcquisitionDateTime") or raw_text(view, "AcquisitionDateTime")
        if when and raw_text(view, "AcquisitionTime") is None:
            view.AcquisitionDate, view.AcquisitionTime = _split_date_time(when)
        views.append(view)
    return views


def _frame_planes(ds, n):
    """Stored values of the ``n`` frames of a multi-frame dataset, shape (n, rows, columns)."""
    meta = getattr(ds, "file_meta", None)
    rows, cols = int(ds.Rows), int(ds.Columns)
    if (meta is not None and meta.get("TransferSyntaxUID") in _RAW_16BIT and ds.get("BitsAllocated") == 16
            and ds.get("BitsStored") == 16 and ds.get("SamplesPerPixel", 1) == 1):
        dtype = "<i2" if ds.get("PixelRepresentation") == 1 else "<u2"
        return np.frombuffer(_raw_value(ds, "PixelData"), dtype=dtype, count=n * rows * cols).reshape(n, rows, cols)
    return ds.pixel_array.reshape(n, rows, cols)


def load_pet_series(files, *, names=None, spacing_tolerance=0.01) -> PetSeries:
    """Read every slice of a PT series and stack the rescaled values in slice order.

    Multi-frame (Enhanced PET) files are read frame by frame through their functional groups
    (:func:`split_frames`); each frame then counts as a slice named ``"FILE frame K"`` (K from 1).

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
        For multi-frame files without per-frame functional groups, missing geometry or rescale attributes,
        orientation or pixel spacing that differ between slices, two slices at one position, unequal slice gaps
        (a missing slice) or slices not stacked along the normal.
    """
    file_names = [str(f) for f in files] if names is None else list(names)
    datasets, stored, fmt, read, names = [], [], [], None, []
    for path, name in zip(files, file_names):
        ds = pydicom.dcmread(path)
        fmt.append(tuple(_raw_value(ds, k) for k in _FORMAT) + (ds.file_meta.get_item("TransferSyntaxUID").value,))
        if fmt[-1] != fmt[0]:
            raise DicomRuleError("Rows", "image size or pixel format differs between slices", name)
        n_frames = int(raw_text(ds, "NumberOfFrames") or 1)
        if n_frames > 1:
            datasets += split_frames(ds, name)
            stored += list(_frame_planes(ds, n_frames))
            names += [f"{name} frame {k}" for k in range(1, n_frames + 1)]
            continue
        read = read or _pixel_reader(ds)
        stored.append(read(ds))
        datasets.append(ds)
        names.append(name)
    iop = np.array([_floats(ds, "ImageOrientationPatient", 6, n) for ds, n in zip(datasets, names)])
    spacing = np.array([_floats(ds, "PixelSpacing", 2, n) for ds, n in zip(datasets, names)])
    ipp = np.array([_floats(ds, "ImagePositionPatient", 3, n) for ds, n in zip(datasets, names)])
    for keyword, bad in (("ImageOrientationPatient", np.any(np.abs(iop - iop[0]) > 1e-4, axis=1)),
                         ("PixelSpacing", np.any(np.abs(spacing - spacing[0]) > 1e-4 * spacing[0], axis=1))):
        if np.any(bad):
            raise DicomRuleError(keyword, "differs between slices", names[int(np.argmax(bad))])
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
    stored = [stored[i] for i in order]
    geometry = VolumeGeometry(origin=ipp[0], row_dir=row_dir, col_dir=col_dir, normal=normal,
                              spacing=(dz, float(spacing[0][0]), float(spacing[0][1])),
                              shape=(len(stored),) + stored[0].shape)
    return PetSeries(stored=stored, geometry=geometry, datasets=datasets, files=names, slopes=slopes,
                     intercepts=intercepts)
