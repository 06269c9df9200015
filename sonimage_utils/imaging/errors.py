"""The one error type of the imaging step: a DICOM rule that the data break.

Every problem the SUV rules cannot handle is raised as :class:`DicomRuleError`, which names the file and
the DICOM tag; :mod:`sonimage_utils.imaging.extract` adds the study pseudonym and prints one line per
problem, ``FILE: TAG: message (patient_id=...)``.
"""

from __future__ import annotations

from pydicom.datadict import tag_for_keyword

__all__ = ["DicomRuleError", "describe_tag"]


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
        The file at fault; the caller may fill it in later.
    """

    def __init__(self, tag: str, message: str, file: str | None = None):
        self.tag = describe_tag(tag)
        self.message = message
        self.file = file
        super().__init__(f"{file or '?'}: {self.tag}: {message}")
