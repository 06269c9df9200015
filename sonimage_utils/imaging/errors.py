"""The one error type of the imaging step: a DICOM rule that the data break.

Every problem the SUV rules cannot handle is raised as :class:`DicomRuleError`, which names the file (by the
reference the caller gives it: ``sonimage extract`` gives ``"SON-001 series 2 instance 7"``, never a path) and
the DICOM tag; :mod:`sonimage_utils.imaging.extract` adds the study pseudonym and prints one line per
problem, ``REFERENCE: TAG: message (patient_id=...)``. A message quotes a header value only through
:func:`quote_value`: a number of a numeric attribute or a DICOM defined term, never free text.
"""

from __future__ import annotations

import math

from pydicom.datadict import tag_for_keyword

__all__ = ["DicomRuleError", "describe_tag", "quote_value", "DEFINED_TERMS", "NUMERIC_KEYWORDS"]

#: Coded attributes whose DICOM defined terms may be quoted in a message (PS3.3 C.8.9.1, C.7.1.1).
DEFINED_TERMS = {
    "Units": ("CNTS", "NONE", "CM2", "CM2ML", "PCNT", "CPS", "BQML", "MGMINML", "UMOLMINML", "MLMING", "MLG",
              "1CM", "UMOLML", "PROPCNTS", "PROPCPS", "MLMINML", "MLML", "GML", "STDDEV"),
    "DecayCorrection": ("NONE", "START", "ADMIN"),
    "CorrectedImage": ("DECY", "ATTN", "SCAT", "DTIM", "MOTN", "PMOT", "CLN", "RAN", "RADL", "DCAL", "NORM"),
    "PatientSex": ("M", "F", "O"),
}
#: Numeric attributes whose value may be quoted when it is a finite number (data, not an identifier).
NUMERIC_KEYWORDS = ("PatientWeight", "PatientSize", "RadionuclideHalfLife", "RadionuclideTotalDose")


def quote_value(keyword: str, text) -> str:
    """A header value as a message may show it: quoted when it is a finite number of a numeric attribute or a
    defined term of a coded one, ``"missing"`` when absent, otherwise ``"a value that is not shown"``.

    Free text is never echoed: a patient ID typed into Units or a birth date in a weight must not reach the
    console.

    Examples
    --------
    >>> quote_value("RadionuclideTotalDose", "185000000"), quote_value("Units", "PROPCNTS")
    ("'185000000'", "'PROPCNTS'")
    >>> quote_value("Units", "UMCG-4711"), quote_value("PatientWeight", "12-04-1958"), quote_value("Units", None)
    ('a value that is not shown', 'a value that is not shown', 'missing')
    """
    if text is None or str(text).strip() == "":
        return "missing"
    text = str(text).strip()
    if keyword in NUMERIC_KEYWORDS:
        try:
            if math.isfinite(float(text)):
                return repr(text)
        except ValueError:
            pass
    elif keyword in DEFINED_TERMS:
        terms = text.upper().split("\\")
        if all(t.strip() in DEFINED_TERMS[keyword] for t in terms):
            return repr(text.upper())
    return "a value that is not shown"


def describe_tag(keyword: str) -> str:
    """Return ``"(gggg,eeee) Keyword"`` for a DICOM keyword, or the text unchanged if it is not one.

    Parameters
    ----------
    keyword : str
        A DICOM keyword such as ``"PatientWeight"``, or free text such as ``"(0009,100D) GEMS_PETD_01"``.

    Returns
    -------
    str

    Examples
    --------
    >>> describe_tag("PatientWeight")
    '(0010,1030) PatientWeight'
    """
    tag = tag_for_keyword(keyword)
    if tag is None:
        return keyword
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {keyword}"


class DicomRuleError(ValueError):
    """A PET series (or a VOI) breaks one of the SUV rules.

    Parameters
    ----------
    tag : str
        DICOM keyword (described with its group/element) or column name at fault.
    message : str
        What is wrong, in words; never contains a patient identifier.
    file : str, optional
        The reference of the file at fault (never a path in ``sonimage extract``); the caller may fill it in.
    """

    def __init__(self, tag: str, message: str, file: str | None = None):
        self.tag = describe_tag(tag)
        self.message = message
        self.file = file
        super().__init__(f"{file or '?'}: {self.tag}: {message}")
