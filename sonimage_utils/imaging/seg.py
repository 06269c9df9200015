"""Lesion masks from DICOM SEG (read with highdicom), as an alternative to VOI spheres.

A SEG object that references a PET series gives one segment per lesion; the segment's SegmentLabel is the
lesion_id of VOIS.csv (whose coordinates are then left empty). Masks are read per PET slice through the
source SOP Instance UIDs, so that they line up with the loaded volume whatever the slice order on disk.
"""

from __future__ import annotations

import numpy as np

from .errors import DicomRuleError

__all__ = ["read_seg_masks"]


def read_seg_masks(seg_path, source_sop_instance_uids, *, name=None) -> dict:
    """Binary masks of every segment of a SEG file, on the grid of the source PET slices.

    Parameters
    ----------
    seg_path : path-like
        A DICOM Segmentation Storage file referencing the PET series.
    source_sop_instance_uids : sequence of str
        SOPInstanceUID of each PET slice, in the slice order of the loaded volume.
    name : str, optional
        Reference of the file for error messages (free text from the SEG header is never quoted).

    Returns
    -------
    dict
        SegmentLabel -> boolean array of shape (slices, rows, columns).

    Raises
    ------
    DicomRuleError
        If the file cannot be read as a SEG, does not reference these slices, or two segments share a label.
    """
    import highdicom as hd

    name = str(seg_path) if name is None else name
    try:
        seg = hd.seg.segread(seg_path)
        numbers = list(seg.segment_numbers)
        pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=list(source_sop_instance_uids),
                                                   segment_numbers=numbers, assert_missing_frames_are_empty=True)
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise DicomRuleError("ReferencedSeriesSequence", f"SEG cannot be mapped onto the PET slices "
                             f"({type(exc).__name__})", name) from exc
    masks = {}
    for i, number in enumerate(numbers):
        label = str(seg.get_segment_description(number).segment_label).strip()
        if label in masks:
            raise DicomRuleError("SegmentLabel", f"segments {numbers[list(masks).index(label)]} and {number} share "
                                 "one label (the label is not shown)", name)
        masks[label] = np.asarray(pixels[..., i] > 0)
    return masks
