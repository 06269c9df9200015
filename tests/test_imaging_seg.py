"""Lesions from a DICOM SEG (written and read with highdicom) instead of VOI spheres: one segment per lesion,
SegmentLabel = lesion_id, features on exactly the segmented voxels."""

import io

import highdicom as hd
import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.sr.codedict import codes

from sonimage_utils.imaging.extract import run_extract
from sonimage_utils.imaging.phantom import DEFAULT_IDENTIFIERS, HotSphere, write_pet_phantom

SPHERES = (HotSphere((-20.0, -20.0, 0.0), 10.0, 7.0), HotSphere((20.0, 18.0, 3.0), 8.0, 3.5))


def write_seg(path, truth, labels):
    """A binary SEG on the phantom's slices: segment i = voxels of hot sphere i."""
    sources = sorted((pydicom.dcmread(f) for f in truth.files), key=lambda ds: float(ds.ImagePositionPatient[2]))
    masks = []
    for sphere in truth.spheres:
        distance2 = ((truth.voxel_centres_mm - np.asarray(sphere.centre_mm)) ** 2).sum(axis=-1)
        masks.append(distance2 <= sphere.radius_mm ** 2)
    pixel_array = np.stack(masks, axis=-1).astype(np.uint8)
    algorithm = hd.AlgorithmIdentificationSequence(name="phantom truth", version="1",
                                                   family=codes.cid7162.ArtificialIntelligence)
    descriptions = [hd.seg.SegmentDescription(
        segment_number=i + 1, segment_label=label,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
        for i, label in enumerate(labels)]
    seg = hd.seg.Segmentation(source_images=sources, pixel_array=pixel_array, segmentation_type="BINARY",
                              segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=99,
                              sop_instance_uid=hd.UID(), instance_number=1, manufacturer="test",
                              manufacturer_model_name="phantom", software_versions="1", device_serial_number="1")
    seg.save_as(path)
    return masks


def test_01_seg_segments_give_features_of_exactly_the_segmented_voxels(tmp_path):
    dicom = tmp_path / "dicom"
    truth = write_pet_phantom(dicom / "pet", seed=2, spheres=SPHERES)
    masks = write_seg(dicom / "seg.dcm", truth, ["L1", "L2"])
    pd.DataFrame([dict(dicom_patient_id=DEFAULT_IDENTIFIERS["PatientID"], patient_id="SON-S", tracer="FDG")]).to_csv(
        tmp_path / "MAP.csv", index=False)
    pd.DataFrame([dict(patient_id="SON-S", lesion_id=lid, tracer="FDG", organ="bone", x_mm="", y_mm="", z_mm="",
                       radius_mm="") for lid in ("L1", "L2", "L3")]).to_csv(tmp_path / "VOIS.csv", index=False)
    stream = io.StringIO()
    rc = run_extract(dicom, tmp_path / "VOIS.csv", tmp_path / "MAP.csv", tmp_path / "out", stream=stream)
    log = stream.getvalue()
    assert rc == 1 and "VOIS.csv:4: (0062,0005) SegmentLabel" in log and "'L3'" in log   # L3 has no segment
    lesions = pd.read_csv(tmp_path / "out" / "lesions.csv").set_index("lesion_id")
    tol = 7.0 / 32000
    for lid, sphere, mask in zip(("L1", "L2"), SPHERES, masks):
        assert lesions.loc[lid, "fdg_suvmax"] == pytest.approx(sphere.suv, abs=tol)
        assert lesions.loc[lid, "fdg_suvmean"] == pytest.approx(sphere.suv, abs=tol)
        assert lesions.loc[lid, "fdg_mtv_ml"] == pytest.approx(mask.sum() * truth.voxel_volume_ml, rel=1e-5)
