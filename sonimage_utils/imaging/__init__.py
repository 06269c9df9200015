"""PET DICOM to lesion features: SUVbw per QIBA, VOI features, the extraction run and a phantom writer.

Modules: ``suv`` (SUV factor), ``series`` (find and load PT series, geometry), ``features`` (SUVmax, SUVmean,
SUVpeak, MTV, TLG in a spherical VOI or a mask), ``phantom`` (synthetic PET series with known SUVs),
``inputs`` (MAP.csv, VOIS.csv), ``seg`` (lesion masks from DICOM SEG via highdicom), ``extract`` (the
``sonimage extract`` run), ``quality`` (the extraction report for the book).
"""

__all__ = ["errors", "suv", "series", "features", "phantom", "demo", "inputs", "extract", "seg", "quality"]
