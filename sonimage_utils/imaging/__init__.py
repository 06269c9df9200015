"""PET DICOM to lesion features: SUVbw per QIBA (and SUL, SUVbsa), VOI features, the extraction run and a
phantom writer.

The QIBA rules the SUV code follows, with their DICOM tags, and the vendor variants handled and refused are
listed in :mod:`sonimage_utils.imaging.suv`.

Modules: ``suv`` (SUV factor), ``series`` (find and load PT series, single- or multi-frame, geometry), ``features`` (SUVmax, SUVmean,
SUVpeak, MTV, TLG in a spherical VOI or a mask), ``phantom`` (synthetic PET series with known SUVs),
``inputs`` (MAP.csv, VOIS.csv), ``privacy`` (references instead of paths, vendor names from a list, the
private map), ``seg`` (lesion masks from DICOM SEG via highdicom), ``extract`` (the
``sonimage extract`` run), ``quality`` (the extraction report for the book).
"""

__all__ = ["errors", "suv", "series", "features", "phantom", "demo", "inputs", "extract", "seg", "quality", "privacy"]
