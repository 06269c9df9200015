"""SUV scale factors of a PET series, after the QIBA vendor-neutral pseudo-code, with SUL and SUVbsa.

The factor turns rescaled pixel values (``stored x RescaleSlope + RescaleIntercept``, per slice) into body-weight
SUV (g/ml). Written by hand because no maintained Python library implements the QIBA rules with the vendor
branches (Philips CNTS private scale factors, the GE private scan time) and with errors that name the tag;
the logic follows the QIBA wiki pseudo-code as implemented in cornerstonejs/calculate-suv and the QIICR Slicer
PET DICOM extension (read, not copied).

Rules followed (each break is a :class:`DicomRuleError` naming the tag and the file, never a default):

1. One series: Units (0054,1001), DecayCorrection (0054,1102), CorrectedImage (0028,0051), PatientWeight
   (0010,1030), SeriesDate (0008,0021), SeriesTime (0008,0031), and in the first item of
   RadiopharmaceuticalInformationSequence (0054,0016) RadionuclideHalfLife (0018,1075) and
   RadionuclideTotalDose (0018,1074), agree on every slice (as text or, for numbers, as values); with SUL or
   SUVbsa also PatientSize (0010,1020) and, for SUL, PatientSex (0010,0040). The message names both slices.
2. CorrectedImage contains ATTN and DECY (Enhanced PET: AttenuationCorrected (0018,9759) and DecayCorrected
   (0018,9758) YES when CorrectedImage is absent).
3. DecayCorrection START decays the dose to the scan time, ADMIN uses it as is. Enhanced PET without
   DecayCorrection: the dose decays to DecayCorrectionDateTime (0018,9701) (ADMIN when it is the injection).
4. Scan time: SeriesDate/SeriesTime when not after the earliest AcquisitionDate/AcquisitionTime
   (0008,0022/0032) of the slices; otherwise GE private (0009,100D) under GEMS_PETD_01; otherwise the earliest
   acquisition. Multi-frame: FrameAcquisitionDateTime (0018,9074) per frame stands for the acquisition time.
5. Injection: RadiopharmaceuticalStartDateTime (0018,1078); otherwise RadiopharmaceuticalStartTime (0018,1072)
   on SeriesDate, the day before when that puts it after the scan (midnight). An injection after the scan is
   refused.
6. Units BQML: SUVbw factor = PatientWeight x 1000 / (RadionuclideTotalDose x 2^(-decay time / half-life)).
   Units GML: factor 1 (pixels already SUVbw). Units CNTS (Philips): the private SUV scale factor
   (7053,1000) under "Philips PET Private Group" when present and non-zero on every slice; otherwise
   (7053,1009) (to Bq/ml) x the BQML factor when > 0 on every slice (a (7053,1000) of 0 is "not given"); a
   series mixing the two, or with neither, is refused. Multi-frame: Units from RescaleType (0028,1054). Other
   units are refused.
7. Factors are per slice (RescaleSlope and the Philips factors vary by slice).
8. SUL = SUVbw x LBM / weight, LBM by James 1976 or Janmahasatian 2005; SUVbsa = SUVbw x BSA (cm^2) / weight (g),
   BSA by Du Bois 1916, the formula the QIBA pseudo-code names; height from PatientSize in metres (0, above 3 m
   refused), sex M or F. See :data:`SUV_TYPE_INFO` for the formulas written into the report.

Vendor variants handled: Siemens BQML (SeriesTime or earliest AcquisitionTime), GE BQML with the private scan
time, Philips CNTS with (7053,1000) or with (7053,1009) (also when (7053,1000) is 0), Philips BQML, GML,
START and ADMIN, injection date-time or time only (over midnight), single-frame and Enhanced multi-frame.
Refused: other Units (e.g. PROPCNTS, CPS: no QIBA conversion to Bq/ml), DecayCorrection NONE, images not
attenuation and decay corrected, CNTS without usable Philips scale factors, slices that disagree.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from .errors import DicomRuleError, quote_value
from .series import _raw_value as _raw
from .series import raw_text, value_text

__all__ = ["SuvFactor", "SuvNormalisation", "compute_suv_factor", "compute_suv_normalisation",
           "compute_scan_datetime", "compute_injection_datetime", "check_single_series", "lean_body_mass_james",
           "lean_body_mass_janmahasatian", "body_surface_area_dubois", "SUV_TYPES", "SUV_TYPE_INFO",
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


_FORMATS = {"DA": "YYYYMMDD", "TM": "HHMMSS.FFFFFF", "DT": "YYYYMMDDHHMMSS.FFFFFF&ZZXX"}


def _parse(kind, text, tag, file):
    try:
        value = kind(str(text).strip())
    except (ValueError, TypeError) as exc:
        raise DicomRuleError(tag, f"cannot be parsed as a DICOM {kind.__name__} ({_FORMATS[kind.__name__]}; "
                             "the value is not shown)", file) from exc
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
        raise DicomRuleError(tag, f"{what} is not a number (the value is not shown)", file) from exc
    if not (math.isfinite(number) and number > 0):
        raise DicomRuleError(tag, f"{what} must be > 0, got {number:g}", file)
    return number


_SERIES_LEVEL = ("Units", "DecayCorrection", "CorrectedImage", "PatientWeight", "SeriesDate", "SeriesTime")
#: Attributes of the first RadiopharmaceuticalInformationSequence item that must agree between slices.
_RADIOPHARMACEUTICAL_LEVEL = ("RadionuclideHalfLife", "RadionuclideTotalDose")
_NUMERIC = {"PatientWeight", "PatientSize", "RadionuclideHalfLife", "RadionuclideTotalDose"}


def _same(a, b, keyword):
    """Whether two stored values of an attribute agree (as stored, as text, or as numbers for DS)."""
    if a == b:
        return True
    ta, tb = value_text(a), value_text(b)
    if ta == tb:
        return True
    if keyword in _NUMERIC and ta and tb:
        try:
            return float(ta) == float(tb)
        except ValueError:
            return False
    return False


def _rp_raw(ds, keyword):
    seq = _raw(ds, "RadiopharmaceuticalInformationSequence")
    if not seq or isinstance(seq, bytes):
        seq = ds.get("RadiopharmaceuticalInformationSequence")
    return _raw(seq[0], keyword) if seq else None


def _disagreement(keyword, values, files, first_value):
    """DicomRuleError for slice ``i`` whose value differs from slice 0, naming both slices and values."""
    def show(v):
        return quote_value(keyword, value_text(v))
    for i, value in values:
        return DicomRuleError(keyword, f"differs between slices of the series: {show(value)} in this slice, "
                              f"{show(first_value)} in {_fname(files, 0) or 'the first slice'}", _fname(files, i))
    return None


def check_single_series(datasets: Sequence[Dataset], files: Sequence[str] | None = None,
                        keywords: Sequence[str] = (), *, radiopharmaceutical: bool = True) -> None:
    """Refuse a series whose slices disagree on a series-level attribute (QIBA's single-series check).

    Checks Units, DecayCorrection, CorrectedImage, PatientWeight, SeriesDate, SeriesTime, and, in the first
    RadiopharmaceuticalInformationSequence item, RadionuclideHalfLife and RadionuclideTotalDose, plus any
    ``keywords`` given (PatientSex and PatientSize when an SUV normalisation uses them). Values agree when equal
    as stored, as text, or (DS attributes) as numbers.

    Parameters
    ----------
    datasets : sequence of pydicom.Dataset
        All slices of one series.
    files : sequence of str, optional
        File names of the slices, for the message.
    keywords : sequence of str
        Further top-level keywords to check.
    radiopharmaceutical : bool
        Whether to check the radiopharmaceutical attributes as well.

    Raises
    ------
    DicomRuleError
        For the first attribute that differs, naming the tag, the slice that differs (as the file) and the
        first slice, with both values.
    """
    top = tuple(_SERIES_LEVEL) + tuple(keywords) if radiopharmaceutical else tuple(keywords)
    for kw in top:
        ref = _raw(datasets[0], kw)
        bad = ((i, v) for i, v in ((i, _raw(ds, kw)) for i, ds in enumerate(datasets[1:], start=1))
               if not _same(v, ref, kw))
        error = _disagreement(kw, bad, files, ref)
        if error is not None:
            raise error
    if not radiopharmaceutical:
        return
    # A sequence still stored as bytes and byte-identical to the first slice's agrees in every attribute;
    # parsing it on every slice would cost more than reading the headers. Only the others are parsed.
    first_bytes = _raw(datasets[0], "RadiopharmaceuticalInformationSequence")
    others = [(i, ds) for i, ds in enumerate(datasets[1:], start=1)
              if not (isinstance(first_bytes, bytes) and _raw(ds, "RadiopharmaceuticalInformationSequence")
                      == first_bytes)]
    if not others:
        return
    for kw in _RADIOPHARMACEUTICAL_LEVEL:
        ref = _rp_raw(datasets[0], kw)
        bad = ((i, v) for i, v in ((i, _rp_raw(ds, kw)) for i, ds in others) if not _same(v, ref, kw))
        error = _disagreement(kw, bad, files, ref)
        if error is not None:
            raise error


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
    check_single_series(datasets, files)
    corrected = [str(v).upper() for v in (first.get("CorrectedImage") or [])]
    if isinstance(first.get("CorrectedImage"), str):
        corrected = [first.CorrectedImage.upper()]
    enhanced_yes = [(raw_text(first, kw) or "").upper() == "YES" for kw in ("AttenuationCorrected", "DecayCorrected")]
    if not corrected and all(enhanced_yes):
        corrected = ["ATTN", "DECY"]         # Enhanced PET Corrections module, CorrectedImage not given
    if "ATTN" not in corrected or "DECY" not in corrected:
        shown = quote_value("CorrectedImage", "\\".join(corrected))
        raise DicomRuleError("CorrectedImage", f"must contain ATTN and DECY, got {shown}", f0)
    decay = str(first.get("DecayCorrection") or "").strip().upper()
    reference = None
    if not decay and enhanced_yes[1]:        # Enhanced PET: the decay reference is given as a date-time
        text = raw_text(first, "DecayCorrectionDateTime")
        if text is None:
            raise DicomRuleError("DecayCorrectionDateTime", "missing although DecayCorrected (0018,9758) is YES "
                                 "and there is no DecayCorrection (0054,1102)", f0)
        reference = _parse(DT, text, "DecayCorrectionDateTime", f0)
        decay = "START"
    if decay not in ("START", "ADMIN"):
        raise DicomRuleError("DecayCorrection", f"{quote_value('DecayCorrection', decay)}: only START and ADMIN "
                             "are handled", f0)
    units = str(first.get("Units") or "").strip().upper()
    if units not in ("BQML", "CNTS", "GML"):
        raise DicomRuleError("Units", f"{quote_value('Units', units)}: only BQML, CNTS and GML are handled", f0)

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
    warnings = []
    if reference is not None:
        decay_s = (reference - injection).total_seconds()
        if decay_s < 0:
            raise DicomRuleError("DecayCorrectionDateTime", f"decay reference {reference.isoformat()} is before "
                                 f"the injection {injection.isoformat()}", f0)
        if decay_s == 0:
            decay = "ADMIN"
        elif reference != scan:
            warnings.append(f"DecayCorrectionDateTime is {(reference - scan).total_seconds():+.0f} s from the "
                            f"scan time ({scan_source}); the decay reference is used for the dose")
    else:
        decay_s = uptake if decay == "START" else 0.0
    decayed = dose * 2.0 ** (-decay_s / half_life) if decay_s else dose
    bqml_factor = weight * 1000.0 / decayed

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


def _number(value, tag, file, what):
    """A private value as a finite number (``None`` stays ``None``); text that is not a number is an error."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise DicomRuleError(tag, f"{what} is not a number (the value is not shown)", file) from exc
    if not math.isfinite(number) or number < 0:
        raise DicomRuleError(tag, f"{what} must be >= 0 (0 means not given), got {number:g}", file)
    return number


def _philips_factors(datasets, files, bqml_factor):
    """CNTS per QIBA: (7053,1000) SUV scale factor when present and non-zero on every slice; otherwise
    (7053,1009) activity concentration scale factor (to Bq/ml) times the BQML factor; per slice.

    A (7053,1000) of 0 (as text "0", "0.0", ...) is taken as not given, as in the QIBA pseudo-code and
    cornerstonejs/calculate-suv.
    """
    slot = _private_slot(datasets[0], 0x7053, PHILIPS_PET_CREATOR)
    suv = [_number(_private_value(ds, 0x7053, PHILIPS_PET_CREATOR, 0x00, slot), PHILIPS_SUV_TAG, _fname(files, i),
                   "SUV scale factor") for i, ds in enumerate(datasets)]
    usable = [v is not None and v > 0 for v in suv]
    if all(usable):
        return np.array(suv, dtype=float)
    if any(usable):
        i = usable.index(False)
        raise DicomRuleError(PHILIPS_SUV_TAG, f"SUV scale factor is {'0' if suv[i] == 0 else 'missing'} on this "
                             f"slice but given on {_fname(files, usable.index(True)) or 'another slice'}: "
                             "the series mixes two scalings", _fname(files, i))
    acf = [_number(_private_value(ds, 0x7053, PHILIPS_PET_CREATOR, 0x09, slot), PHILIPS_ACF_TAG, _fname(files, i),
                   "activity concentration scale factor") for i, ds in enumerate(datasets)]
    if all(v is not None and v > 0 for v in acf):
        return np.array(acf, dtype=float) * bqml_factor
    i = next(i for i, v in enumerate(acf) if v is None or v <= 0)
    raise DicomRuleError(PHILIPS_SUV_TAG, "Units CNTS need the Philips private SUV scale factor (7053,1000) "
                         "(non-zero) or activity concentration scale factor (7053,1009) (> 0) on every slice; "
                         f"this slice has (7053,1000) {'0' if suv[i] == 0 else 'missing'} and (7053,1009) "
                         f"{'missing' if acf[i] is None else format(acf[i], 'g')}", _fname(files, i))


# --- normalisations beyond body weight -----------------------------------------------------------------------

#: The SUV normalisations of ``sonimage extract --suv-type``.
SUV_TYPES = ("bw", "lbm-james", "lbm-janmahasatian", "bsa")

#: Per SUV type: the stem of its feature columns (``{tracer}_{stem}{feature}{suffix}``) and the formula written
#: into the extraction report (its provenance).
SUV_TYPE_INFO = {
    "bw": dict(stem="suv", suffix="", formula="SUVbw (g/ml) = activity (Bq/ml) x PatientWeight (g) / decayed dose "
               "(Bq) [QIBA]"),
    "lbm-james": dict(stem="sul", suffix="_james", formula="SUL (g/ml) = activity (Bq/ml) x LBM (g) / decayed dose "
                      "(Bq); LBM James 1976: male 1.10 W - 128 (W/H)^2, female 1.07 W - 148 (W/H)^2 (W kg, H cm)"),
    "lbm-janmahasatian": dict(stem="sul", suffix="_janmahasatian", formula="SUL (g/ml) = activity (Bq/ml) x LBM "
                              "(g) / decayed dose (Bq); LBM Janmahasatian 2005: male 9270 W / (6680 + 216 BMI), "
                              "female 9270 W / (8780 + 244 BMI) (W kg, BMI kg/m^2)"),
    "bsa": dict(stem="suv", suffix="_bsa", formula="SUVbsa (cm^2/ml) = activity (Bq/ml) x BSA (cm^2) / decayed dose "
                "(Bq); BSA Du Bois & Du Bois 1916 (named by the QIBA SUV pseudo-code): 0.007184 W^0.425 H^0.725 "
                "m^2 (W kg, H cm)"),
}

#: Largest plausible PatientSize in metres: a larger value is a height written in centimetres.
_MAX_HEIGHT_M = 3.0


def lean_body_mass_james(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg) by James (1976), the formula of the original PERCIST SUL.

    Male ``1.10 W - 128 (W/H)^2``, female ``1.07 W - 148 (W/H)^2``, W in kg and H in cm. The formula has its
    maximum at BMI 43.0 (male) and 36.1 kg/m^2 (female) and falls for heavier patients.

    Parameters
    ----------
    weight_kg, height_m : float
    sex : {"M", "F"}

    Returns
    -------
    float

    Examples
    --------
    >>> round(lean_body_mass_james(80, 1.80, "M"), 6)   # 88 - 128 (80/180)^2
    62.716049
    """
    ratio = weight_kg / (height_m * 100.0)
    if sex == "M":
        return 1.10 * weight_kg - 128.0 * ratio ** 2
    if sex == "F":
        return 1.07 * weight_kg - 148.0 * ratio ** 2
    raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")


def lean_body_mass_janmahasatian(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg) by Janmahasatian et al. (2005), the SUL of the PERCIST 1.0 and EANM practice.

    Male ``9270 W / (6680 + 216 BMI)``, female ``9270 W / (8780 + 244 BMI)``, W in kg, BMI in kg/m^2.

    Parameters
    ----------
    weight_kg, height_m : float
    sex : {"M", "F"}

    Returns
    -------
    float

    Examples
    --------
    >>> round(lean_body_mass_janmahasatian(75, 1.85, "M"), 6)  # 695250 / (6680 + 216 x 75 / 1.85^2)
    60.915336
    """
    bmi = weight_kg / height_m ** 2
    if sex == "M":
        return 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    if sex == "F":
        return 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)
    raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")


def body_surface_area_dubois(weight_kg: float, height_m: float) -> float:
    """Body surface area (m^2) by Du Bois and Du Bois (1916), the formula the QIBA SUV pseudo-code names.

    ``0.007184 W^0.425 H^0.725``, W in kg, H in cm.

    Parameters
    ----------
    weight_kg, height_m : float

    Returns
    -------
    float

    Examples
    --------
    >>> round(body_surface_area_dubois(75, 1.85), 6)
    1.981376
    """
    return 0.007184 * weight_kg ** 0.425 * (height_m * 100.0) ** 0.725


@dataclass(frozen=True)
class SuvNormalisation:
    """An SUV normalisation of one series: ``slice_factors`` = ``ratio`` x the SUVbw slice factors.

    ``ratio`` is LBM / weight for SUL (dimensionless) and BSA (cm^2) / weight (g) for SUVbsa (cm^2/g), 1 for
    SUVbw; ``formula`` is the provenance text written into the extraction report.
    """

    suv_type: str
    ratio: float
    factor: float
    slice_factors: np.ndarray
    formula: str
    height_m: float | None = None
    sex: str | None = None
    lbm_kg: float | None = None
    bsa_m2: float | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def compute_suv_normalisation(datasets: Sequence[Dataset], bw: SuvFactor, suv_type: str,
                              files: Sequence[str] | None = None) -> SuvNormalisation:
    """Scale factors of SUL (lean body mass) or SUVbsa from the SUVbw factors of a series.

    SUL = SUVbw x LBM / weight (James 1976 or Janmahasatian 2005 LBM); SUVbsa = SUVbw x BSA (cm^2) /
    weight (g) (Du Bois 1916 BSA), from PatientSize (0010,1020, metres) and PatientSex (0010,0040, M or F; not
    needed for BSA), which must agree between the slices.

    Parameters
    ----------
    datasets : sequence of pydicom.Dataset
        The slices :func:`compute_suv_factor` was given.
    bw : SuvFactor
        Their SUVbw factor.
    suv_type : {"bw", "lbm-james", "lbm-janmahasatian", "bsa"}
    files : sequence of str, optional
        File names for error messages.

    Returns
    -------
    SuvNormalisation

    Raises
    ------
    ValueError
        For an unknown ``suv_type``.
    DicomRuleError
        When PatientSize or (for SUL) PatientSex is missing, differs between slices or is unusable (a size of 0,
        above 3 m, a sex other than M or F), or the James lean body mass is not positive.

    Examples
    --------
    >>> from pydicom import Dataset
    >>> ds = Dataset(); ds.PatientSize, ds.PatientSex = "1.85", "M"
    >>> bw = SuvFactor("GML", "START", 1.0, np.ones(1), None, "", None, "", False, 0.0, 1.0, 1.0, 75.0, 1.0)
    >>> round(compute_suv_normalisation([ds], bw, "lbm-janmahasatian").factor, 6)   # 60.915336 / 75
    0.812204
    """
    if suv_type not in SUV_TYPES:
        raise ValueError(f"suv_type must be one of {SUV_TYPES}, got {suv_type!r}")
    info = SUV_TYPE_INFO[suv_type]
    if suv_type == "bw":
        return SuvNormalisation(suv_type, 1.0, bw.factor, bw.slice_factors, info["formula"])
    f0 = _fname(files, 0)
    needs_sex = suv_type.startswith("lbm")
    check_single_series(datasets, files, ("PatientSize", "PatientSex") if needs_sex else ("PatientSize",),
                        radiopharmaceutical=False)
    what = "SUL" if needs_sex else "SUVbsa"
    height = raw_text(datasets[0], "PatientSize")
    if height is None:
        raise DicomRuleError("PatientSize", f"patient height (m) missing: {what} cannot be computed "
                             "(SUVbw is)", f0)
    height_m = _positive(height, "PatientSize", f0, "patient height (m)")
    if height_m > _MAX_HEIGHT_M:
        raise DicomRuleError("PatientSize", f"patient height {height_m:g} m is implausible (DICOM gives metres; "
                             f"centimetres written?): {what} not computed", f0)
    weight = bw.weight_kg
    warnings = []
    if needs_sex:
        sex = (raw_text(datasets[0], "PatientSex") or "").upper()
        if sex not in ("M", "F"):
            raise DicomRuleError("PatientSex", f"{quote_value('PatientSex', sex)}: the lean body mass formulas "
                                 "need M or F; "
                                 "SUL not computed (SUVbw is)", f0)
        if suv_type == "lbm-james":
            lbm = lean_body_mass_james(weight, height_m, sex)
            peak_bmi = (1.10 / 256.0 if sex == "M" else 1.07 / 296.0) * 1e4
            if lbm <= 0:
                raise DicomRuleError("PatientWeight", f"the James formula gives a lean body mass of {lbm:.1f} kg "
                                     f"for {weight:g} kg and {height_m:g} m: SUL (James) not computed", f0)
            if weight / height_m ** 2 > peak_bmi:
                warnings.append(f"BMI {weight / height_m ** 2:.1f} kg/m^2 is beyond the maximum of the James "
                                f"formula ({peak_bmi:.1f}): its lean body mass falls with weight there")
        else:
            lbm = lean_body_mass_janmahasatian(weight, height_m, sex)
        ratio = lbm / weight
        return SuvNormalisation(suv_type, ratio, ratio * bw.factor, ratio * bw.slice_factors, info["formula"],
                                height_m=height_m, sex=sex, lbm_kg=lbm, warnings=tuple(warnings))
    bsa = body_surface_area_dubois(weight, height_m)
    ratio = bsa * 1e4 / (weight * 1000.0)
    return SuvNormalisation(suv_type, ratio, ratio * bw.factor, ratio * bw.slice_factors, info["formula"],
                            height_m=height_m, bsa_m2=bsa)
