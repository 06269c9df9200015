"""Synthetic PET series with known SUVs, written as real DICOM with pydicom, one per vendor variant.

A phantom is a uniform background with hot spheres of known SUVbw (a voxel is hot when its centre lies in a
sphere). Activity is derived from the true SUV with the phantom's own clock (``datetime`` objects, not header
strings), then stored as uint16 with a per-slice RescaleSlope, under headers that follow one vendor's habits:
where the scan time lives, units (BQML, Philips CNTS, GML), decay correction (START, ADMIN), injection time as
DateTime or Time only (with a scan after midnight). Used by the tests and by :func:`sonimage_utils.imaging.demo.write_demo_dicom`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

__all__ = ["VENDOR_VARIANTS", "LAYOUTS", "HotSphere", "PhantomSeries", "write_pet_phantom",
           "DEFAULT_IDENTIFIERS"]

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
ENHANCED_PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.130"
#: File layouts of :func:`write_pet_phantom`: one file per slice, or one Enhanced PET file with per-frame
#: functional groups.
LAYOUTS = ("single-frame", "multi-frame")

#: Per variant: manufacturer, model, Units, DecayCorrection, where the scan time is found, and whether the
#: injection carries RadiopharmaceuticalStartDateTime (``"datetime"``) or the time only (``"time"``).
VENDOR_VARIANTS = {
    "siemens_bqml": dict(manufacturer="SIEMENS", model="Biograph Vision 600", units="BQML", decay="START",
                         scan_time="SeriesTime", injection="datetime"),
    "ge_private_scan_time": dict(manufacturer="GE MEDICAL SYSTEMS", model="Discovery MI", units="BQML",
                                 decay="START", scan_time="GE private (0009,100D)", injection="time"),
    "siemens_acquisition_time": dict(manufacturer="SIEMENS", model="Biograph mCT Flow", units="BQML",
                                     decay="START", scan_time="earliest AcquisitionTime", injection="datetime"),
    "philips_cnts_suv": dict(manufacturer="Philips Medical Systems", model="Vereos PET/CT", units="CNTS",
                             decay="START", scan_time="SeriesTime", injection="datetime"),
    "philips_cnts_activity": dict(manufacturer="Philips Medical Systems", model="Ingenuity TF PET/CT",
                                  units="CNTS", decay="START", scan_time="SeriesTime", injection="time"),
    "gml": dict(manufacturer="SIEMENS", model="Biograph Vision 600", units="GML", decay="START",
                scan_time="SeriesTime", injection="datetime"),
    "admin": dict(manufacturer="GE MEDICAL SYSTEMS", model="Discovery 690", units="BQML", decay="ADMIN",
                  scan_time="SeriesTime", injection="datetime"),
    "midnight": dict(manufacturer="SIEMENS", model="Biograph Vision 600", units="BQML", decay="START",
                     scan_time="SeriesTime", injection="time"),
}

#: Recognisable (fake) identifiers planted in the headers; none may reach an output.
DEFAULT_IDENTIFIERS = dict(PatientName="Jansen^Wilhelmina^Petronella", PatientID="UMCG-4711-ZQX",
                           PatientBirthDate="19580412", AccessionNumber="ACC98765432",
                           InstitutionName="Planted Institute of Nuclear Medicine",
                           InstitutionAddress="Hanzeplein 999, Groningen", ReferringPhysicianName="Doctor^Planted")

_ACF = 3.7          # Philips (7053,1009): Bq/ml per count
_BED_SLICES = 12    # slices per bed position
_BED_SECONDS = 150  # acquisition time per bed


@dataclass(frozen=True)
class HotSphere:
    """A sphere of uniform SUV in patient coordinates (mm)."""

    centre_mm: tuple[float, float, float]
    radius_mm: float
    suv: float


@dataclass
class PhantomSeries:
    """What a phantom writer knows: the truth the extraction must recover."""

    variant: str
    tracer: str
    series_uid: str
    files: list
    true_suv: np.ndarray
    voxel_centres_mm: np.ndarray
    spacing: tuple[float, float, float]
    spheres: tuple
    background_suv: float
    suv_factor: float
    scan_datetime: dt.datetime
    injection_datetime: dt.datetime
    weight_kg: float
    injected_bq: float
    identifiers: dict = field(default_factory=dict)

    @property
    def uptake_min(self) -> float:
        """Uptake time in minutes."""
        return (self.scan_datetime - self.injection_datetime).total_seconds() / 60.0

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in ml."""
        return float(np.prod(self.spacing)) / 1000.0


def _ds(value: float) -> str:
    return f"{value:.10g}"


def _da(when):
    return when.strftime("%Y%m%d")


def _tm(when):
    return when.strftime("%H%M%S") + ".000000"


def _dt(when):
    return when.strftime("%Y%m%d%H%M%S") + ".000000"


def write_pet_phantom(out_dir, *, variant: str = "siemens_bqml", tracer: str = "FDG", seed: int = 0,
                      shape=(30, 40, 40), pixel_spacing=(4.0, 4.0), slice_spacing: float = 3.27,
                      slice_thickness: float = 5.0, origin_mm=(-78.0, -78.0, -40.0), spheres=None,
                      background_suv: float = 1.0, weight_kg: float = 72.5, injected_mbq: float = 250.0,
                      uptake_min: float = 62.0, half_life_s: float = 6586.2,
                      scan_start: dt.datetime = dt.datetime(2021, 3, 4, 10, 15, 0),
                      identifiers: dict | None = None, series_number: int = 3,
                      layout: str = "single-frame") -> PhantomSeries:
    """Write one synthetic PET series of a vendor variant and return its truth.

    Parameters
    ----------
    out_dir : path-like
        Folder to write into; files get random names in random subfolders (from ``seed``).
    variant : str
        A key of :data:`VENDOR_VARIANTS`.
    tracer : {"FDG", "FES"}
    seed : int
        Seeds file names and UIDs: the same arguments give byte-identical files.
    shape : (int, int, int)
        (slices, rows, columns).
    pixel_spacing, slice_spacing, slice_thickness : float
        mm; ``slice_thickness`` is deliberately not the slice spacing.
    origin_mm : (float, float, float)
        Centre of the first voxel of the first slice (x, y, z).
    spheres : sequence of HotSphere, optional
        Default: SUV 8 (radius 14 mm) and SUV 4 (radius 10 mm) spheres.
    background_suv, weight_kg, injected_mbq, uptake_min, half_life_s : float
    scan_start : datetime.datetime
        True start of the acquisition (the decay reference for START).
    identifiers : dict, optional
        Header identifiers; default :data:`DEFAULT_IDENTIFIERS`.
    series_number : int
    layout : {"single-frame", "multi-frame"}
        ``"multi-frame"`` writes the same slices (same stored values, rescale slopes, times and private
        elements) as one Enhanced PET Image file: geometry, rescale (with RescaleType = the units) and frame
        acquisition date-times in per-frame functional groups, orientation and pixel spacing in the shared
        group, DecayCorrected/AttenuationCorrected YES and DecayCorrectionDateTime (the scan start for START,
        the injection for ADMIN) instead of the legacy Units and DecayCorrection.

    Returns
    -------
    PhantomSeries

    Raises
    ------
    ValueError
        For an unknown variant or tracer.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if variant not in VENDOR_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VENDOR_VARIANTS)}")
    if tracer not in ("FDG", "FES"):
        raise ValueError(f"tracer must be FDG or FES, got {tracer!r}")
    spec = VENDOR_VARIANTS[variant]
    ids = dict(DEFAULT_IDENTIFIERS if identifiers is None else identifiers)
    rng = np.random.default_rng(seed)
    if spheres is None:
        spheres = (HotSphere((-30.0, -20.0, 5.0), 14.0, 8.0), HotSphere((30.0, 25.0, 0.0), 10.0, 4.0))
    if variant == "midnight":
        scan_start = dt.datetime.combine(scan_start.date(), dt.time(0, 40, 0))
    injection = scan_start - dt.timedelta(minutes=uptake_min)
    nz, nr, nc = shape
    dz, (dr, dc) = float(slice_spacing), (float(pixel_spacing[0]), float(pixel_spacing[1]))
    k, r, c = np.meshgrid(np.arange(nz), np.arange(nr), np.arange(nc), indexing="ij")
    centres = np.stack([origin_mm[0] + c * dc, origin_mm[1] + r * dr, origin_mm[2] + k * dz], axis=-1)
    true_suv = np.full(shape, float(background_suv))
    for s in spheres:
        inside = ((centres - np.asarray(s.centre_mm)) ** 2).sum(axis=-1) <= s.radius_mm ** 2 * (1 + 1e-9)
        true_suv[inside] = s.suv
    dose = injected_mbq * 1e6
    decay = 2.0 ** (-(uptake_min * 60.0) / half_life_s) if spec["decay"] == "START" else 1.0
    bqml_factor = weight_kg * 1000.0 / (dose * decay)
    if spec["units"] == "GML":
        pixel_units, suv_factor = true_suv, 1.0
    elif spec["units"] == "CNTS":
        pixel_units, suv_factor = true_suv / bqml_factor / _ACF, bqml_factor * _ACF
    else:
        pixel_units, suv_factor = true_suv / bqml_factor, bqml_factor

    uid = lambda what: generate_uid(entropy_srcs=[str(seed), variant, tracer, ids["PatientID"], what])  # noqa: E731
    study_uid, series_uid, for_uid = uid("study"), uid("series"), uid("frame")
    ge_offset = dt.timedelta(seconds=90) if spec["scan_time"] == "GE private (0009,100D)" else dt.timedelta(0)
    late_series = spec["scan_time"] != "SeriesTime"
    series_time = scan_start + dt.timedelta(minutes=38) if late_series else scan_start
    folders = [f"{rng.integers(16 ** 6):06x}" for _ in range(3)]
    os.makedirs(out_dir, exist_ok=True)
    files, slices = [], []
    for z in range(nz):
        ds = _slice_header(spec, ids, tracer, study_uid, series_uid, for_uid, series_number, scan_start,
                           series_time, injection, dose, half_life_s, weight_kg, slice_thickness)
        acq = scan_start + ge_offset + dt.timedelta(seconds=_BED_SECONDS * (z // _BED_SLICES))
        ds.AcquisitionDate, ds.AcquisitionTime = _da(acq), _tm(acq)
        if spec["scan_time"] == "GE private (0009,100D)":
            ds.private_block(0x0009, "GEMS_PETD_01", create=True).add_new(0x0D, "DT", _dt(scan_start))
        plane = pixel_units[z]
        slope = float(_ds(plane.max() / 32000.0))
        stored = np.rint(plane / slope).astype(np.uint16)
        ds.RescaleSlope, ds.RescaleIntercept = _ds(slope), "0"
        if spec["units"] == "CNTS":
            block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
            if variant == "philips_cnts_suv":
                block.add_new(0x00, "DS", _ds(suv_factor))
            block.add_new(0x09, "DS", _ds(_ACF))
        ds.SOPInstanceUID = uid(f"slice{z}")
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = ds.ImageIndex = nz - z
        ds.ImagePositionPatient = [_ds(origin_mm[0]), _ds(origin_mm[1]), _ds(origin_mm[2] + z * dz)]
        ds.SliceLocation = _ds(origin_mm[2] + z * dz)
        ds.PixelSpacing = [_ds(dr), _ds(dc)]
        ds.Rows, ds.Columns = nr, nc
        ds.PixelData = stored.tobytes()
        name = f"{rng.integers(16 ** 10):010x}" + (".dcm" if z % 2 else "")
        if layout == "multi-frame":
            slices.append((ds, acq))
            continue
        path = os.path.join(out_dir, folders[z % len(folders)], name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    if layout == "multi-frame":
        reference = scan_start if spec["decay"] == "START" else injection
        ds = _enhanced(slices, uid("enhanced"), reference)
        path = os.path.join(out_dir, folders[0], f"{rng.integers(16 ** 10):010x}.dcm")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return PhantomSeries(variant=variant, tracer=tracer, series_uid=series_uid, files=files, true_suv=true_suv,
                         voxel_centres_mm=centres, spacing=(dz, dr, dc), spheres=tuple(spheres),
                         background_suv=float(background_suv), suv_factor=suv_factor, scan_datetime=scan_start,
                         injection_datetime=injection, weight_kg=weight_kg, injected_bq=dose, identifiers=ids)


def _item(**values):
    item = Dataset()
    for key, value in values.items():
        setattr(item, key, value)
    return item


def _enhanced(slices, sop_uid, decay_reference):
    """One Enhanced PET Image dataset holding the single-frame ``slices`` ((dataset, acquisition time) pairs)."""
    first = slices[0][0]
    ds = Dataset()
    ds.file_meta = first.file_meta
    per_slice = {"ImagePositionPatient", "SliceLocation", "RescaleSlope", "RescaleIntercept", "AcquisitionDate",
                 "AcquisitionTime", "InstanceNumber", "ImageIndex", "PixelSpacing", "ImageOrientationPatient",
                 "SliceThickness", "Units", "DecayCorrection", "PixelData", "SOPInstanceUID", "SOPClassUID",
                 "ActualFrameDuration"}
    for elem in first:
        if elem.keyword not in per_slice:
            ds.add(elem)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = ENHANCED_PET_IMAGE_STORAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.InstanceNumber, ds.NumberOfFrames = 1, len(slices)
    ds.AcquisitionDateTime = _dt(min(acq for _, acq in slices))
    ds.DecayCorrected, ds.AttenuationCorrected = "YES", "YES"
    ds.DecayCorrectionDateTime = _dt(decay_reference)
    ds.SharedFunctionalGroupsSequence = [_item(
        PlaneOrientationSequence=[_item(ImageOrientationPatient=first.ImageOrientationPatient)],
        PixelMeasuresSequence=[_item(PixelSpacing=first.PixelSpacing, SliceThickness=first.SliceThickness)])]
    ds.PerFrameFunctionalGroupsSequence = [_item(
        PlanePositionSequence=[_item(ImagePositionPatient=s.ImagePositionPatient)],
        PixelValueTransformationSequence=[_item(RescaleSlope=s.RescaleSlope, RescaleIntercept=s.RescaleIntercept,
                                                RescaleType=s.Units)],
        FrameContentSequence=[_item(FrameAcquisitionDateTime=_dt(acq), FrameReferenceDateTime=_dt(acq),
                                    FrameAcquisitionDuration=s.ActualFrameDuration, StackID="1",
                                    InStackPositionNumber=k + 1)])
        for k, (s, acq) in enumerate(slices)]
    ds.PixelData = b"".join(s.PixelData for s, _ in slices)
    return ds


def _slice_header(spec, ids, tracer, study_uid, series_uid, for_uid, series_number, scan_start, series_time,
                  injection, dose, half_life_s, weight_kg, slice_thickness):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = PET_IMAGE_STORAGE
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = PET_IMAGE_STORAGE
    ds.Modality = "PT"
    ds.Manufacturer, ds.ManufacturerModelName = spec["manufacturer"], spec["model"]
    for key, value in ids.items():
        setattr(ds, key, value)
    ds.PatientSex, ds.PatientWeight, ds.PatientSize = "F", _ds(weight_kg), "1.68"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, for_uid
    ds.StudyID, ds.SeriesNumber = "1", series_number
    ds.StudyDate, ds.StudyTime = _da(injection), _tm(injection - dt.timedelta(minutes=5))
    ds.SeriesDate, ds.SeriesTime = _da(series_time), _tm(series_time)
    ds.ContentDate, ds.ContentTime = _da(series_time), _tm(series_time + dt.timedelta(minutes=2))
    ds.SeriesDescription = f"PET WB {tracer} AC"
    ds.Units, ds.DecayCorrection = spec["units"], spec["decay"]
    ds.CorrectedImage = ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]
    ds.SeriesType = ["WHOLE BODY", "IMAGE"]
    ds.CountsSource, ds.RandomsCorrectionMethod = "EMISSION", "DLYD"
    ds.ReconstructionMethod = "OSEM 3i21s"
    ds.SliceThickness = _ds(slice_thickness)
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PatientPosition = "FFS"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.ActualFrameDuration = _BED_SECONDS * 1000
    rp = Dataset()
    rp.Radiopharmaceutical = "Fluorodeoxyglucose" if tracer == "FDG" else "Fluoroestradiol"
    rp.RadiopharmaceuticalStartTime = _tm(injection)
    if spec["injection"] == "datetime":
        rp.RadiopharmaceuticalStartDateTime = _dt(injection)
    rp.RadionuclideTotalDose, rp.RadionuclideHalfLife = _ds(dose), _ds(half_life_s)
    rp.RadionuclidePositronFraction = "0.9673"
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "C-111A1", "SRT", "^18^Fluorine"
    rp.RadionuclideCodeSequence = [code]
    ds.RadiopharmaceuticalInformationSequence = [rp]
    return ds
