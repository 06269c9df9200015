"""SUVbw scale factor of a PET series, after the QIBA vendor-neutral pseudo-code.

The factor turns rescaled pixel values (``stored x RescaleSlope + RescaleIntercept``, per slice) into body-weight
SUV (g/ml). Written by hand because no maintained Python library implements the QIBA rules with the vendor
branches (Philips CNTS private scale factors, the GE private scan time) and with errors that name the tag;
the logic follows the QIBA wiki pseudo-code as implemented in cornerstonejs/calculate-suv and the QIICR Slicer
PET DICOM extension (read, not copied).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from .errors import DicomRuleError
from .series import _raw_value as _raw
from .series import raw_text

__all__ = ["SuvFactor", "compute_suv_factor", "compute_scan_datetime", "compute_injection_datetime",
           "F18_HALF_LIFE_S"]

#: Physical half-life of F-18 in seconds (109.77 min); headers often carry 6588.
F18_HALF_LIFE_S = 6586.2

GE_PET_CREATOR = "GEMS_PETD_01"
PHILIPS_PET_CREATOR = "Philips PET Private Group"
GE_SCAN_DATETIME_TAG = "(0009,100D) GE private scan DateTime (GEMS_PETD_01)"
PHILIPS_SUV_TAG = "(7053,1000) Philips SUV scale factor"
PHILIPS_ACF_TAG = "(7053,1009) Philips activity concentration scale factor"


@dataclass(frozen=True)
class SuvFactor:
    """The SUVbw factor of one series and how it was obtained (one row of the extraction report).

    ``slice_factors[i]`` multiplies the rescaled pixel values of ``datasets[i]``; ``factor`` is the value of the
    first slice (all equal except for Philips CNTS series whose private scale factor varies by slice).
    """

    units: str
    decay_correction: str
    factor: float
    slice_factors: np.ndarray
    scan_datetime: dt.datetime
    scan_time_source: str
    injection_datetime: dt.datetime
    injection_time_source: str
    midnight_crossing: bool
    uptake_s: float
    injected_dose_bq: float
    half_life_s: float
    weight_kg: float
    decayed_dose_bq: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _fname(files, i):
    return None if files is None else str(files[i])


def _present(value):
    return value is not None and str(value).strip() != ""




def _private_value(ds: Dataset, group: int, creator: str, offset: int, slot=None):
    """Value of a private element found through its creator (``None`` when absent).

    ``slot`` is the creator's element number (e.g. 0x10) found on another slice of the series: when the same
    creator sits there, the element is read directly, which is much faster than a creator search per slice.
    """
    value = None
    if slot is not None and _text(_raw(ds, (group << 16) | slot)) == creator:
        value = _raw(ds, (group << 16) | (slot << 8) | offset)
    else:
        try:
            value = ds.private_block(group, creator)[offset].value
        except KeyError:
            return None
    value = _text(value) if isinstance(value, bytes) else value  # VR UN in implicit VR files
    return value if _present(value) else None


def _private_slot(ds, group, creator):
    try:
        return ds.private_block(group, creator).block_start >> 8 & 0xFF
    except KeyError:
        return None


def _text(value):
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace").strip("\x00 ")
    return None if value is None else str(value).strip()


def _parse(kind, text, tag, file):
    try:
        value = kind(str(text).strip())
    except (ValueError, TypeError) as exc:
        raise DicomRuleError(tag, f"cannot parse {str(text)!r} as a DICOM {kind.__name__}", file) from exc
    if value is None:
        raise DicomRuleError(tag, "is empty", file)
    if isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                           value.microsecond)  # drop any UTC offset: all times are local to the scanner
    if isinstance(value, dt.time):
        return dt.time(value.hour, value.minute, value.second, value.microsecond)
    return dt.date(value.year, value.month, value.day)


def _date_time(ds, date_kw, time_kw, file, cache=None):
    date, time = raw_text(ds, date_kw), raw_text(ds, time_kw)
    if date is None or time is None:
        return None
    cache = {} if cache is None else cache
    if (date, time) not in cache:
        cache[(date, time)] = dt.datetime.combine(_parse(DA, date, date_kw, file), _parse(TM, time, time_kw, file))
    return cache[(date, time)]


def compute_scan_datetime(datasets: Sequence[Dataset], files: Sequence[str] | None = None):
    """Scan (decay reference) date-time of a series per QIBA.

    SeriesDate/SeriesTime when not after the earliest AcquisitionDate/AcquisitionTime of the series; otherwise
    the GE private scan date-time (0009,100D) under creator GEMS_PETD_01; otherwise the earliest acquisition.

    Parameters
    ----------
    datasets : sequence of pydicom.Dataset
        All slices of one series, any order.
    files : sequence of str, optional
        File names of the slices, used in error messages.

    Returns
    -------
    (datetime.datetime, str)
        The scan date-time and its source (``"SeriesTime"``, ``"GE private (0009,100D)"`` or
        ``"earliest AcquisitionTime"``).

    Raises
    ------
    DicomRuleError
        If no slice has AcquisitionDate/AcquisitionTime, or a date or time cannot be parsed.

    Examples
    --------
    >>> from pydicom import Dataset
    >>> ds = Dataset(); ds.SeriesDate = ds.AcquisitionDate = "20240102"
    >>> ds.SeriesTime, ds.AcquisitionTime = "093000", "093010"
    >>> compute_scan_datetime([ds])
    (datetime.datetime(2024, 1, 2, 9, 30), 'SeriesTime')
    """
    cache: dict = {}
    acquisitions = [_date_time(ds, "AcquisitionDate", "AcquisitionTime", _fname(files, i), cache)
                    for i, ds in enumerate(datasets)]
    acquisitions = [a for a in acquisitions if a is not None]
    if not acquisitions:
        raise DicomRuleError("AcquisitionTime", "AcquisitionDate/AcquisitionTime missing on every slice: "
                             "cannot check SeriesTime against the acquisition", _fname(files, 0))
    earliest = min(acquisitions)
    series = _date_time(datasets[0], "SeriesDate", "SeriesTime", _fname(files, 0))
    if series is not None and series <= earliest:
        return series, "SeriesTime"
    ge = _private_value(datasets[0], 0x0009, GE_PET_CREATOR, 0x0D)
    if ge is not None:
        return _parse(DT, ge, GE_SCAN_DATETIME_TAG, _fname(files, 0)), "GE private (0009,100D)"
    return earliest, "earliest AcquisitionTime"


def compute_injection_datetime(ds: Dataset, scan_datetime: dt.datetime, file: str | None = None):
    """Injection date-time from the radiopharmaceutical information of a slice.

    RadiopharmaceuticalStartDateTime when present; otherwise RadiopharmaceuticalStartTime on SeriesDate, moved
    to the day before when that would put the injection after the scan (a scan just after midnight).

    Parameters
    ----------
    ds : pydicom.Dataset
        One slice of the series.
    scan_datetime : datetime.datetime
        From :func:`compute_scan_datetime`.
    file : str, optional
        File name for error messages.

    Returns
    -------
    (datetime.datetime, str, bool)
        Injection date-time, its source attribute, and whether a midnight crossing was applied.

    Raises
    ------
    DicomRuleError
        If the sequence, both start attributes, or SeriesDate (needed with the time only) are missing.
    """
    item = _radiopharmaceutical(ds, file)
    if _present(item.get("RadiopharmaceuticalStartDateTime")):
        return (_parse(DT, item.RadiopharmaceuticalStartDateTime, "RadiopharmaceuticalStartDateTime", file),
                "RadiopharmaceuticalStartDateTime", False)
    if not _present(item.get("RadiopharmaceuticalStartTime")):
        raise DicomRuleError("RadiopharmaceuticalStartTime", "injection time missing (neither "
                             "RadiopharmaceuticalStartDateTime (0018,1078) nor the time is present)", file)
    if not _present(ds.get("SeriesDate")):
        raise DicomRuleError("SeriesDate", "needed to date RadiopharmaceuticalStartTime", file)
    injection = dt.datetime.combine(_parse(DA, ds.SeriesDate, "SeriesDate", file),
                                    _parse(TM, item.RadiopharmaceuticalStartTime,
                                           "RadiopharmaceuticalStartTime", file))
    if injection > scan_datetime:
        return injection - dt.timedelta(days=1), "RadiopharmaceuticalStartTime", True
    return injection, "RadiopharmaceuticalStartTime", False


def _radiopharmaceutical(ds, file):
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        raise DicomRuleError("RadiopharmaceuticalInformationSequence", "missing or empty", file)
    return seq[0]


def _positive(value, tag, file, what):
    if not _present(value):
        raise DicomRuleError(tag, f"{what} missing", file)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise DicomRuleError(tag, f"{what} {str(value)!r} is not a number", file) from exc
    if not (math.isfinite(number) and number > 0):
        raise DicomRuleError(tag, f"{what} must be > 0, got {number:g}", file)
    return number


_SERIES_LEVEL = ("Units", "DecayCorrection", "CorrectedImage", "PatientWeight", "SeriesDate", "SeriesTime")


def _check_single_series(datasets, files):
    reference = [_raw(datasets[0], kw) for kw in _SERIES_LEVEL]
    for i, ds in enumerate(datasets[1:], start=1):
        for kw, value in zip(_SERIES_LEVEL, reference):
            if _raw(ds, kw) != value and raw_text(ds, kw) != raw_text(datasets[0], kw):
                raise DicomRuleError(kw, "differs between slices of the series", _fname(files, i))


def compute_suv_factor(datasets: Sequence[Dataset], files: Sequence[str] | None = None) -> SuvFactor:
    """SUVbw factor (g/ml per rescaled pixel unit) of one PET series per QIBA.

    Parameters
    ----------
    datasets : sequence of pydicom.Dataset
        All slices of the series (headers suffice), any order.
    files : sequence of str, optional
        File name of each slice, for error messages.

    Returns
    -------
    SuvFactor

    Raises
    ------
    DicomRuleError
        For images not corrected for attenuation and decay, decay correction other than START/ADMIN, units
        other than BQML/CNTS/GML, CNTS without a usable Philips private scale factor, a missing or
        non-positive PatientWeight, RadionuclideTotalDose or RadionuclideHalfLife, missing times, or an
        injection after the scan.

    References
    ----------
    QIBA, Standardized Uptake Value (SUV), vendor-neutral pseudo-code, qibawiki.rsna.org.

    Examples
    --------
    With 370 MBq injected 60 min before the scan, F-18 and 70 kg the factor is
    70000 / (370e6 x 2^(-3600/6586.2)):

    >>> from pydicom import Dataset
    >>> ds = Dataset(); ds.Units = "BQML"; ds.DecayCorrection = "START"; ds.CorrectedImage = ["ATTN", "DECY"]
    >>> ds.PatientWeight = "70"; ds.SeriesDate = ds.AcquisitionDate = "20240102"
    >>> ds.SeriesTime = ds.AcquisitionTime = "093000"
    >>> rp = Dataset(); rp.RadiopharmaceuticalStartTime = "083000"
    >>> rp.RadionuclideTotalDose = "370000000"; rp.RadionuclideHalfLife = "6586.2"
    >>> ds.RadiopharmaceuticalInformationSequence = [rp]
    >>> round(compute_suv_factor([ds]).factor * 1e4, 6)
    2.763367
    """
    if len(datasets) == 0:
        raise ValueError("compute_suv_factor needs at least one dataset")
    f0 = _fname(files, 0)
    first = datasets[0]
    _check_single_series(datasets, files)
    corrected = [str(v).upper() for v in (first.get("CorrectedImage") or [])]
    if isinstance(first.get("CorrectedImage"), str):
        corrected = [first.CorrectedImage.upper()]
    if "ATTN" not in corrected or "DECY" not in corrected:
        raise DicomRuleError("CorrectedImage", f"must contain ATTN and DECY, got {corrected}", f0)
    decay = str(first.get("DecayCorrection") or "").strip().upper()
    if decay not in ("START", "ADMIN"):
        raise DicomRuleError("DecayCorrection", f"{decay or 'missing'!s}: only START and ADMIN are handled", f0)
    units = str(first.get("Units") or "").strip().upper()
    if units not in ("BQML", "CNTS", "GML"):
        raise DicomRuleError("Units", f"{units or 'missing'!s}: only BQML, CNTS and GML are handled", f0)

    weight = _positive(first.get("PatientWeight"), "PatientWeight", f0, "patient weight (kg)")
    item = _radiopharmaceutical(first, f0)
    dose = _positive(item.get("RadionuclideTotalDose"), "RadionuclideTotalDose", f0, "injected dose (Bq)")
    half_life = _positive(item.get("RadionuclideHalfLife"), "RadionuclideHalfLife", f0, "half-life (s)")
    scan, scan_source = compute_scan_datetime(datasets, files)
    injection, injection_source, midnight = compute_injection_datetime(first, scan, f0)
    uptake = (scan - injection).total_seconds()
    if uptake < 0:
        raise DicomRuleError(injection_source, f"injection {injection.isoformat()} is after the scan "
                             f"{scan.isoformat()} ({scan_source})", f0)
    decayed = dose * 2.0 ** (-uptake / half_life) if decay == "START" else dose
    bqml_factor = weight * 1000.0 / decayed

    warnings = []
    if abs(half_life - F18_HALF_LIFE_S) > 0.01 * F18_HALF_LIFE_S:
        warnings.append(f"RadionuclideHalfLife {half_life:g} s is not that of F-18 ({F18_HALF_LIFE_S} s)")
    if not 10 * 60 <= uptake <= 6 * 3600:
        warnings.append(f"uptake time {uptake / 60:.0f} min is implausible: check the injection and scan dates")
    if units == "BQML":
        slice_factors = np.full(len(datasets), bqml_factor)
    elif units == "GML":
        slice_factors = np.ones(len(datasets))
    else:
        slice_factors = _philips_factors(datasets, files, bqml_factor)
    return SuvFactor(units=units, decay_correction=decay, factor=float(slice_factors[0]),
                     slice_factors=slice_factors, scan_datetime=scan, scan_time_source=scan_source,
                     injection_datetime=injection, injection_time_source=injection_source,
                     midnight_crossing=midnight, uptake_s=uptake, injected_dose_bq=dose, half_life_s=half_life,
                     weight_kg=weight, decayed_dose_bq=decayed, warnings=tuple(warnings))


def _philips_factors(datasets, files, bqml_factor):
    """CNTS: (7053,1000) SUV scale factor; else (7053,1009) to Bq/ml times the BQML factor; per slice."""
    slot = _private_slot(datasets[0], 0x7053, PHILIPS_PET_CREATOR)
    suv = [_private_value(ds, 0x7053, PHILIPS_PET_CREATOR, 0x00, slot) for ds in datasets]
    if all(v is not None for v in suv):
        return np.array([_positive(v, PHILIPS_SUV_TAG, _fname(files, i), "SUV scale factor")
                         for i, v in enumerate(suv)])
    acf = [_private_value(ds, 0x7053, PHILIPS_PET_CREATOR, 0x09, slot) for ds in datasets]
    if all(v is not None for v in acf):
        return np.array([_positive(v, PHILIPS_ACF_TAG, _fname(files, i), "activity concentration scale factor")
                         * bqml_factor for i, v in enumerate(acf)])
    missing = next(i for i, (s, a) in enumerate(zip(suv, acf)) if s is None and a is None) \
        if any(s is None and a is None for s, a in zip(suv, acf)) else 0
    raise DicomRuleError(PHILIPS_SUV_TAG, "Units CNTS need the Philips private SUV scale factor (7053,1000) "
                         "or activity concentration scale factor (7053,1009) on every slice",
                         _fname(files, missing))
