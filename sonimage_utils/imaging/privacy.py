"""What ``sonimage extract`` may print: references instead of paths, vendor names from a list, pseudonyms that
are not hospital identifiers, and the private map from references back to the files.

Scrubbing known values from printed text cannot win (a birth date written ``12-04-1958`` in a folder name, an
operator's name in a file name, a patient ID typed into Manufacturer), so no output is built from a source path
or a free-text header field. A series is named ``"SON-001 series 2"`` (its study pseudonym and a number the run
gives it, 1 to N over the PT series found, in the order of their first file path), a file
``"SON-001 series 2 instance 7"`` (7: its place in the series' files sorted by path), a frame of a multi-frame
file ``"... instance 1 frame 5"``. The private map (:func:`write_private_map`), written only where the user
asks and never into the output folder, lists each reference with its path and SeriesInstanceUID.
"""

from __future__ import annotations

import csv
import os
import re

from .errors import describe_tag

__all__ = ["IDENTIFYING_KEYWORDS", "VENDORS", "MODELS", "OTHER", "vendor_of", "model_of", "normalise",
           "identifier_keys", "identifying_keyword", "series_reference", "instance_reference",
           "default_private_map", "check_private_map", "write_private_map", "refused_message",
           "PRIVATE_MAP_COLUMNS"]

#: DICOM attributes holding a hospital identifier or a person's name, address or birth date (after the
#: PS3.15 basic de-identification profile): a study pseudonym may equal none of their values.
IDENTIFYING_KEYWORDS = ("PatientID", "OtherPatientIDs", "IssuerOfPatientID", "PatientName", "OtherPatientNames",
                        "PatientBirthName", "PatientMotherBirthName", "PatientBirthDate", "AccessionNumber",
                        "StudyID", "MedicalRecordLocator", "PatientAddress", "PatientTelephoneNumbers",
                        "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName",
                        "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "PhysiciansOfRecord",
                        "RequestingPhysician", "DeviceSerialNumber")
#: Identifiers a pseudonym may not even contain (when they have 6 or more letters and digits).
_CONTAINED = ("PatientID", "OtherPatientIDs", "AccessionNumber", "MedicalRecordLocator")
_MIN_CONTAINED = 6

OTHER = "other"
#: Known PET vendors: the name written into the report -> the Manufacturer (0008,0070) texts taken as that
#: vendor (compared without case, spaces collapsed). The names are the vendors' usual DICOM spelling.
VENDORS = {
    "SIEMENS": ("SIEMENS", "SIEMENS HEALTHINEERS", "SIEMENS HEALTHCARE", "SIEMENS MEDICAL SOLUTIONS", "CTI", "CPS"),
    "GE MEDICAL SYSTEMS": ("GE MEDICAL SYSTEMS", "GE HEALTHCARE", "GE", "GEMS"),
    "Philips Medical Systems": ("PHILIPS MEDICAL SYSTEMS", "PHILIPS", "PHILIPS HEALTHCARE"),
    "CANON_MEC": ("CANON_MEC", "CANON MEDICAL SYSTEMS", "TOSHIBA_MEC", "TOSHIBA"),
    "UIH": ("UIH", "UNITED IMAGING HEALTHCARE", "UNITED IMAGING"),
}
#: Known PET scanner models (ManufacturerModelName (0008,1090)), written as listed when the header matches one
#: (without case, spaces collapsed).
MODELS = ("Biograph Vision 600", "Biograph Vision 450", "Biograph Vision Quadra", "Biograph mCT",
          "Biograph mCT Flow", "Biograph mMR", "Biograph Horizon", "Biograph 64", "Biograph 40", "Discovery MI",
          "Discovery 690", "Discovery 710", "Discovery 610", "Discovery 600", "Discovery IQ", "Discovery STE",
          "Omni Legend", "SIGNA PET/MR", "Vereos PET/CT", "Ingenuity TF PET/CT", "GEMINI TF TOF 16",
          "GEMINI TF TOF 64", "Celesteion", "uMI 550", "uMI 780", "uEXPLORER")

PRIVATE_MAP_COLUMNS = ("reference", "patient_id", "tracer", "series_instance_uid", "path")


def _key(text) -> str:
    return " ".join(str(text or "").upper().split())


_VENDOR_KEYS = {_key(text): name for name, texts in VENDORS.items() for text in texts}
_MODEL_KEYS = {_key(name): name for name in MODELS}


def vendor_of(manufacturer) -> str:
    """The vendor name of a Manufacturer text from :data:`VENDORS`, or ``"other"``; never the text itself.

    Examples
    --------
    >>> vendor_of("Siemens Healthineers"), vendor_of("UMCG-4711 SIEMENS"), vendor_of(None)
    ('SIEMENS', 'other', 'other')
    """
    return _VENDOR_KEYS.get(_key(manufacturer), OTHER)


def model_of(model) -> str:
    """The model name of a ManufacturerModelName text from :data:`MODELS`, or ``"other"``.

    Examples
    --------
    >>> model_of("biograph  vision 600"), model_of("Planted Institute")
    ('Biograph Vision 600', 'other')
    """
    return _MODEL_KEYS.get(_key(model), OTHER)


def normalise(text) -> str:
    """Letters and digits only, upper case: ``"umcg-4711"`` and ``"UMCG 4711"`` compare equal.

    Examples
    --------
    >>> normalise("Umcg-4711 zq")
    'UMCG4711ZQ'
    """
    return re.sub(r"[^0-9A-Z]", "", str(text).upper())


def identifier_keys(keyword: str, value) -> set:
    """The normalised forms of one identifier value that a pseudonym may not equal.

    A person name also gives each component; a date (YYYYMMDD) also its day-month-year order.

    Examples
    --------
    >>> sorted(identifier_keys("PatientName", "Jansen^Wilhelmina"))
    ['JANSEN', 'JANSENWILHELMINA', 'WILHELMINA']
    >>> sorted(identifier_keys("PatientBirthDate", "19580412"))
    ['12041958', '19580412']
    """
    text = str(value or "")
    keys = {normalise(text)}
    if "^" in text or keyword.endswith(("Name", "Physician", "PhysiciansOfRecord")):
        keys |= {normalise(part) for piece in text.split("^") for part in (piece, *piece.split())}
    if keyword.endswith("Date") and re.fullmatch(r"\d{8}", text.strip()):
        d = text.strip()
        keys.add(d[6:8] + d[4:6] + d[:4])
    return {k for k in keys if k}


def identifying_keyword(pseudonym, identifiers) -> str | None:
    """The DICOM keyword of an identifier the pseudonym equals (or, for a patient ID or accession number of
    6+ letters and digits, contains), or None.

    Parameters
    ----------
    pseudonym : str
    identifiers : iterable of (str, str)
        (keyword, value) pairs from the headers.

    Returns
    -------
    str or None

    Examples
    --------
    >>> identifying_keyword("umcg 4711", [("PatientID", "UMCG-4711")])
    'PatientID'
    >>> identifying_keyword("SON-UMCG4711", [("PatientID", "UMCG-4711")])    # contains 8 of them
    'PatientID'
    >>> identifying_keyword("SON-001", [("PatientID", "UMCG-4711"), ("StudyID", "1")]) is None
    True
    """
    key = normalise(pseudonym)
    if not key:
        return None
    for keyword, value in identifiers:
        if key in identifier_keys(keyword, value):
            return keyword
        own = normalise(value)
        if keyword in _CONTAINED and len(own) >= _MIN_CONTAINED and own in key:
            return keyword
    return None


def series_reference(pseudonym, number: int) -> str:
    """``"SON-001 series 2"``, or ``"series 2"`` when no pseudonym is known.

    Examples
    --------
    >>> series_reference("SON-001", 2), series_reference("", 5)
    ('SON-001 series 2', 'series 5')
    """
    return f"{pseudonym} series {number}" if pseudonym else f"series {number}"


def instance_reference(series_ref: str, number: int) -> str:
    """``"SON-001 series 2 instance 7"``.

    Examples
    --------
    >>> instance_reference("SON-001 series 2", 7)
    'SON-001 series 2 instance 7'
    """
    return f"{series_ref} instance {number}"


def default_private_map(mapping_csv) -> str:
    """``sonimage_private_map.csv`` beside MAP.csv, the one other file that links pseudonyms to the hospital.

    Examples
    --------
    >>> default_private_map("/secure/MAP.csv")
    '/secure/sonimage_private_map.csv'
    """
    return os.path.join(os.path.dirname(os.path.abspath(str(mapping_csv))), "sonimage_private_map.csv")


def _inside(path, folder) -> bool:
    path, folder = os.path.realpath(str(path)), os.path.realpath(str(folder))
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_private_map(private_map, out_dir, inputs=()) -> str:
    """Refuse a private map path inside the output folder or equal to an input file; return it absolute.

    Parameters
    ----------
    private_map : path-like
    out_dir : path-like
        The output folder (shared with the analysis): the map may not be in it.
    inputs : sequence of path-like
        Files the map would overwrite (MAP.csv, VOIS.csv).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the path is inside ``out_dir``, is one of ``inputs`` or is an existing folder.
    """
    path = os.path.abspath(str(private_map))
    if _inside(path, out_dir):
        raise ValueError("the private map (paths of the DICOM files) may not be written inside the output folder "
                         "(--out): give --private-map a path outside it")
    if any(os.path.realpath(path) == os.path.realpath(str(f)) for f in inputs):
        raise ValueError("the private map would overwrite an input file: give --private-map another path")
    if os.path.isdir(path):
        raise ValueError("--private-map must be a file path, not a folder")
    return path


def write_private_map(path, rows) -> None:
    """Write the private map (:data:`PRIVATE_MAP_COLUMNS`), readable by its owner only (mode 0600).

    Parameters
    ----------
    path : str
        From :func:`check_private_map`.
    rows : iterable of dict
    """
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)                         # an existing file keeps its mode under O_CREAT
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(PRIVATE_MAP_COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in PRIVATE_MAP_COLUMNS})


def refused_message(keyword: str) -> str:
    """Problem text for a pseudonym that is a hospital identifier (the pseudonym itself is not printed)."""
    return (f"the study pseudonym equals a DICOM identifier ({describe_tag(keyword)}) in the DICOM folder: row "
            "refused (the pseudonym must not be a hospital identifier)")
