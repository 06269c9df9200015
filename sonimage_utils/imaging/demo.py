"""DICOM for the demo cohort: a few patients' FES and FDG scans as phantoms, with VOIS.csv and MAP.csv.

Given the synthetic cohort's ``lesions.csv`` and ``scans.csv``, the hot spheres take the lesions' SUVmax and
the headers the scans' weight, activity, uptake time and date, so that ``sonimage extract`` on these files
gives back the cohort's values for those patients (up to the 16-bit storage step).
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from .phantom import DEFAULT_IDENTIFIERS, HotSphere, write_pet_phantom

__all__ = ["write_demo_dicom", "DEMO_SITES"]

_DEMO_VARIANTS = (("siemens_bqml", "ge_private_scan_time"), ("philips_cnts_suv", "philips_cnts_activity"),
                  ("siemens_acquisition_time", "admin"), ("midnight", "gml"))
#: Lesion centres (mm) in the demo phantoms: at most this many lesions per patient.
DEMO_SITES = ((-40.0, -35.0, 0.0), (35.0, -30.0, 12.0), (0.0, 40.0, -8.0), (-45.0, 40.0, 30.0), (45.0, 15.0, -22.0))
_DEMO_ORGANS = ("bone", "bone", "lymph_node", "liver", "lung", "soft_tissue")
_FAKE_NAMES = ("de Vries^Anna", "Bakker^Johanna", "Visser^Maria", "Smit^Elisabeth", "Mulder^Cornelia")
_BACKGROUND = {"FES": 0.5, "FDG": 1.5}


def _random_lesions(rng, pid):
    n_les = int(rng.integers(2, 4))
    rows = []
    for j in range(n_les):
        rows.append(dict(patient_id=pid, lesion_id=f"L{j + 1}",
                         organ=_DEMO_ORGANS[int(rng.integers(len(_DEMO_ORGANS)))],
                         fes_suvmax=float(np.round(rng.uniform(0.9, 6.0), 2)),
                         fdg_suvmax=float(np.round(rng.uniform(4.5, 12.0), 2))))
    return pd.DataFrame(rows)


def _scan(rng, scans, pid, tracer, day, t):
    row = None if scans is None else scans[(scans.patient_id == pid) & (scans.tracer == tracer)]
    if row is not None and len(row):
        r = row.iloc[0]
        start = dt.datetime.combine(pd.Timestamp(r.scan_date).date(), dt.time(9, 30))
        return dict(weight_kg=float(r.weight_kg), injected_mbq=float(r.injected_activity_mbq),
                    uptake_min=float(r.uptake_time_min), scan_start=start)
    return dict(weight_kg=float(np.round(rng.uniform(55, 95), 1)),
                injected_mbq=float(np.round(rng.uniform(180, 260) if tracer == "FES" else rng.uniform(190, 300))),
                uptake_min=float(rng.integers(52, 72)), scan_start=day + dt.timedelta(days=2 * t))


def write_demo_dicom(out_dir, seed: int = 0, *, patient_ids=None, n_patients: int = 4, lesions=None,
                     scans=None) -> dict:
    """Write real DICOM for a few demo patients (FES and FDG) with matching VOIS.csv and MAP.csv.

    The patients cycle through the vendor variants of :data:`~sonimage_utils.imaging.phantom.VENDOR_VARIANTS`;
    each lesion is a hot sphere of radius 8-12 mm at one of :data:`DEMO_SITES` with a VOI 3 mm wider, so that
    the VOI SUVmax is the lesion's SUVmax. A CT slice and a text file sit in the folder to show that only PT
    series are picked up.

    Parameters
    ----------
    out_dir : path-like
        Receives ``dicom/``, ``VOIS.csv`` and ``MAP.csv``.
    seed : int
        Same arguments, byte-identical files.
    patient_ids : sequence of str, optional
        Study pseudonyms; default the first ``n_patients`` of ``lesions`` or ``SON-D01``, ...
    n_patients : int
        Used when ``patient_ids`` is None.
    lesions : pandas.DataFrame, optional
        Contract ``lesions.csv`` rows (patient_id, lesion_id, organ, fes_suvmax, fdg_suvmax): the first
        ``len(DEMO_SITES)`` lesions of each patient become the spheres; a missing ``fes_suvmax`` gives a lesion
        with no FES VOI, a patient without any ``fdg_suvmax`` gets no FDG scan. Default: random lesions.
    scans : pandas.DataFrame, optional
        Contract ``scans.csv`` rows: weight, injected activity, uptake time and date of each scan.

    Returns
    -------
    dict
        ``dicom_dir``, ``vois_csv``, ``mapping_csv`` (paths) and ``truth`` (DataFrame: patient_id, lesion_id,
        tracer, organ, suv, radius_mm, uptake_min, x_mm, y_mm, z_mm).

    Raises
    ------
    ValueError
        If a patient id has no lesion in ``lesions``, or a lesion SUVmax is not positive.

    Examples
    --------
    >>> import tempfile
    >>> demo = write_demo_dicom(tempfile.mkdtemp(), seed=1, n_patients=1)
    >>> sorted(demo["truth"].tracer.unique())
    ['FDG', 'FES']
    """
    rng = np.random.default_rng(seed)
    if patient_ids is None:
        patient_ids = (list(pd.unique(lesions.patient_id))[:n_patients] if lesions is not None
                       else [f"SON-D{i + 1:02d}" for i in range(n_patients)])
    dicom_dir = os.path.join(out_dir, "dicom")
    truth, mapping = [], []
    for i, pid in enumerate(patient_ids):
        hospital = dict(DEFAULT_IDENTIFIERS, PatientID=f"UMCG{rng.integers(10 ** 6, 10 ** 7)}",
                        PatientName=_FAKE_NAMES[i % len(_FAKE_NAMES)],
                        PatientBirthDate=f"19{rng.integers(40, 75)}0{rng.integers(1, 10)}1{rng.integers(0, 10)}",
                        AccessionNumber=f"ACC{rng.integers(10 ** 7, 10 ** 8)}")
        own = _random_lesions(rng, pid) if lesions is None else lesions[lesions.patient_id == pid]
        if len(own) == 0:
            raise ValueError(f"patient {pid} has no lesion in lesions")
        own = own.iloc[:len(DEMO_SITES)]
        radii = np.round(rng.uniform(8.0, 12.0, len(own)), 2)
        day = dt.datetime(2021, 3, 1, 9, 30) + dt.timedelta(days=9 * i, minutes=int(rng.integers(0, 120)))
        for t, tracer in enumerate(("FES", "FDG")):
            suv = own[f"{tracer.lower()}_suvmax"].astype(float).to_numpy()
            if np.all(np.isnan(suv)):
                continue
            if np.nanmin(suv) <= 0:
                raise ValueError(f"patient {pid}: {tracer} SUVmax must be > 0 to be written as a hot sphere")
            background = min(_BACKGROUND[tracer], 0.35 * float(np.nanmin(suv)))
            spheres = tuple(HotSphere(DEMO_SITES[j], float(radii[j]), float(s if np.isfinite(s) else background))
                            for j, s in enumerate(suv))
            ph = write_pet_phantom(os.path.join(dicom_dir, f"export{2 * i + t:02d}"),
                                   variant=_DEMO_VARIANTS[i % len(_DEMO_VARIANTS)][t], tracer=tracer,
                                   seed=seed * 1000 + 2 * i + t, spheres=spheres, background_suv=background,
                                   identifiers=hospital, series_number=3 + t,
                                   **_scan(rng, scans, pid, tracer, day, t))
            mapping.append(dict(dicom_patient_id=hospital["PatientID"], patient_id=pid, tracer=tracer,
                                series_instance_uid=ph.series_uid if i % 2 else ""))
            for j, (lesion, s) in enumerate(zip(own.itertuples(), suv)):
                if np.isfinite(s):
                    truth.append(dict(patient_id=pid, lesion_id=str(lesion.lesion_id), tracer=tracer,
                                      organ=lesion.organ, suv=float(s), radius_mm=float(radii[j]),
                                      uptake_min=ph.uptake_min, x_mm=DEMO_SITES[j][0], y_mm=DEMO_SITES[j][1],
                                      z_mm=DEMO_SITES[j][2]))
    _write_ct_slice(os.path.join(dicom_dir, "ct", "ct0001"), seed)
    with open(os.path.join(dicom_dir, "README.txt"), "w") as handle:
        handle.write("Synthetic PET phantoms for the SONImage demo; not patient data.\n")
    truth = pd.DataFrame(truth)
    vois = truth.assign(radius_mm=(truth.radius_mm + 3.0).round(2))[
        ["patient_id", "lesion_id", "tracer", "organ", "x_mm", "y_mm", "z_mm", "radius_mm"]]
    vois_csv, mapping_csv = os.path.join(out_dir, "VOIS.csv"), os.path.join(out_dir, "MAP.csv")
    vois.to_csv(vois_csv, index=False)
    pd.DataFrame(mapping).to_csv(mapping_csv, index=False)
    return dict(dicom_dir=dicom_dir, vois_csv=vois_csv, mapping_csv=mapping_csv, truth=truth)


def _write_ct_slice(path, seed):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.Modality = meta.MediaStorageSOPClassUID, "CT"
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(seed), "ct"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[str(seed), "ct-series"])
    ds.PatientID = "UMCG-CT-ONLY"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.zeros((8, 8), dtype=np.uint16).tobytes()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
