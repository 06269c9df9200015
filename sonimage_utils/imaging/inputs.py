"""Inputs of ``sonimage extract``: the identifier mapping, the lesion VOIs, and which series serves which scan.

MAP.csv is the only link between a hospital identifier (DICOM PatientID) and the study pseudonym; it is read
into memory and never written anywhere. Every problem becomes a :class:`Problem` printed as
``FILE: TAG: message (patient_id=...)``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Problem", "SeriesJob", "read_mapping", "read_vois", "plan_jobs", "scrub_identifiers", "MAP_COLUMNS",
           "VOI_COLUMNS", "ORGANS", "TRACERS"]

MAP_COLUMNS = ("dicom_patient_id", "patient_id", "tracer")
VOI_COLUMNS = ("patient_id", "lesion_id", "tracer", "organ", "x_mm", "y_mm", "z_mm", "radius_mm")
ORGANS = ("bone", "lymph_node", "liver", "lung", "pleura", "soft_tissue", "breast", "brain", "other")
TRACERS = ("FES", "FDG")


def scrub_identifiers(text: str, identifiers) -> str:
    """Replace every identifier of 3+ characters by ``<removed>``, ignoring case; a person name (``^``) also
    with spaces and component by component.

    Examples
    --------
    >>> scrub_identifiers("exports/UMCG-4711/a.dcm", ["UMCG-4711"])
    'exports/<removed>/a.dcm'
    """
    variants = set()
    for ident in identifiers:
        ident = str(ident)
        variants |= {ident, ident.replace("^", " ")}
        if "^" in ident:  # a person name: each component too
            variants |= {part for piece in ident.split("^") for part in (piece, *piece.split())}
    for variant in sorted((v.strip() for v in variants), key=len, reverse=True):
        if len(variant) >= 3:
            text = re.sub(re.escape(variant), "<removed>", text, flags=re.IGNORECASE)
    return text


@dataclass(frozen=True)
class Problem:
    """One problem of the extraction; ``line()`` is what the run prints."""

    file: str
    tag: str
    message: str
    patient_id: str = ""

    def line(self) -> str:
        """``FILE: TAG: message (patient_id=...)``."""
        return f"{self.file}: {self.tag}: {self.message} (patient_id={self.patient_id or 'unknown'})"


@dataclass
class SeriesJob:
    """One series to extract. ``identifiers`` (hospital ID) is kept only to scrub messages."""

    patient_id: str
    tracer: str
    series_uid: str
    files: list
    names: list
    vois: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    identifiers: tuple = ()
    seg_files: list = field(default_factory=list)
    seg_names: list = field(default_factory=list)


def _read_csv(path, required, problems):
    name = os.path.basename(str(path))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, "-", f"cannot read the file: {type(exc).__name__}"))
        return None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        problems.append(Problem(name, ",".join(missing), "required column(s) missing"))
        return None
    return frame.apply(lambda col: col.str.strip())


def read_mapping(path):
    """Read MAP.csv (``dicom_patient_id, patient_id, tracer[, series_instance_uid]``).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    (pandas.DataFrame or None, list of Problem)
        The valid rows with a ``row`` column (line number in the file); None when the file is unusable.
    """
    problems: list[Problem] = []
    frame = _read_csv(path, MAP_COLUMNS, problems)
    if frame is None:
        return None, problems
    name = os.path.basename(str(path))
    if "series_instance_uid" not in frame.columns:
        frame["series_instance_uid"] = ""
    frame["row"] = np.arange(len(frame)) + 2
    keep = []
    for idx, rec in frame.iterrows():
        where, pid = f"{name}:{rec.row}", rec.patient_id
        if rec.tracer not in TRACERS:
            problems.append(Problem(where, "tracer", f"{rec.tracer!r} is not FES or FDG", pid))
        elif not rec.dicom_patient_id or not rec.patient_id:
            problems.append(Problem(where, "dicom_patient_id,patient_id", "empty", pid))
        else:
            keep.append(idx)
    frame = frame.loc[keep]
    dup = frame.duplicated(["patient_id", "tracer"], keep="first")
    for rec in frame[dup].itertuples():
        problems.append(Problem(f"{name}:{rec.row}", "patient_id,tracer", "second row for one scan", rec.patient_id))
    return frame[~dup].reset_index(drop=True), problems


def read_vois(path):
    """Read VOIS.csv (``patient_id, lesion_id, tracer, organ, x_mm, y_mm, z_mm, radius_mm``).

    A row whose four coordinates are all empty takes its lesion from the DICOM SEG segment whose SegmentLabel
    is the lesion_id (``from_seg`` True).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    (pandas.DataFrame or None, list of Problem)
        Valid rows with numeric coordinates and a ``row`` column (line number); None when unusable.
    """
    problems: list[Problem] = []
    frame = _read_csv(path, VOI_COLUMNS, problems)
    if frame is None:
        return None, problems
    name = os.path.basename(str(path))
    frame["row"] = np.arange(len(frame)) + 2
    keep = []
    for idx, rec in frame.iterrows():
        where, pid = f"{name}:{rec.row}", rec.patient_id
        texts = [rec[c] for c in ("x_mm", "y_mm", "z_mm", "radius_mm")]
        try:
            numbers = [float(t) for t in texts] if any(texts) else [0.0, 0.0, 0.0, 1.0]  # all empty: from SEG
        except ValueError:
            problems.append(Problem(where, "x_mm,y_mm,z_mm,radius_mm", "not numbers (leave all four empty to "
                                    "take the lesion from a DICOM SEG segment)", pid))
            continue
        if not np.all(np.isfinite(numbers)) or numbers[3] <= 0:
            problems.append(Problem(where, "x_mm,y_mm,z_mm,radius_mm", "must be finite, radius > 0", pid))
        elif rec.tracer not in TRACERS:
            problems.append(Problem(where, "tracer", f"{rec.tracer!r} is not FES or FDG", pid))
        elif rec.organ not in ORGANS:
            problems.append(Problem(where, "organ", f"{rec.organ!r} is not one of {', '.join(ORGANS)}", pid))
        elif not rec.patient_id or not rec.lesion_id:
            problems.append(Problem(where, "patient_id,lesion_id", "empty", pid))
        else:
            keep.append(idx)
    frame = frame.loc[keep].copy()
    frame["from_seg"] = (frame[["x_mm", "y_mm", "z_mm", "radius_mm"]] == "").all(axis=1)
    for c in ("x_mm", "y_mm", "z_mm", "radius_mm"):
        frame[c] = pd.to_numeric(frame[c].mask(frame[c] == "")).astype(float)
    dup = frame.duplicated(["patient_id", "lesion_id", "tracer"], keep="first")
    for rec in frame[dup].itertuples():
        problems.append(Problem(f"{name}:{rec.row}", "patient_id,lesion_id,tracer", "second VOI for one lesion "
                                "and tracer", rec.patient_id))
    frame = frame[~dup]
    organs = frame.groupby(["patient_id", "lesion_id"])["organ"].nunique()
    for (pid, lid) in organs[organs > 1].index:
        row = frame[(frame.patient_id == pid) & (frame.lesion_id == lid)].row.max()
        problems.append(Problem(f"{name}:{row}", "organ", f"lesion {lid} has different organs per tracer", pid))
    return frame.reset_index(drop=True), problems


def plan_jobs(found, mapping, vois, dicom_dir, *, vois_name="VOIS.csv", map_name="MAP.csv"):
    """Assign each PT series to a MAP.csv row and gather the VOIs to measure in it.

    A series is assigned by its SeriesInstanceUID when the row gives one, otherwise by PatientID and the
    tracer named in its Radiopharmaceutical attributes.

    Parameters
    ----------
    found : dict
        From :func:`sonimage_utils.imaging.series.find_pet_series`.
    mapping, vois : pandas.DataFrame
        From :func:`read_mapping` and :func:`read_vois`.
    dicom_dir : path-like
        For file names relative to it.

    Returns
    -------
    (list of SeriesJob, list of Problem)
    """
    problems: list[Problem] = []
    by_uid = {uid: rec for rec in mapping.itertuples() if (uid := rec.series_instance_uid)}
    assigned: dict[int, list] = {}
    for uid in sorted(found):
        sf = found[uid]
        ids = (sf.dicom_patient_id, *sf.identifiers)
        names = [scrub_identifiers(os.path.relpath(f, dicom_dir), ids) for f in sf.files]
        if uid in by_uid:
            rec = by_uid[uid]
            if rec.dicom_patient_id != sf.dicom_patient_id:
                problems.append(Problem(names[0], "(0010,0020) PatientID", f"series named in {map_name}:{rec.row} "
                                        "belongs to another PatientID", rec.patient_id))
                continue
        else:
            rows = mapping[(mapping.dicom_patient_id == sf.dicom_patient_id) & (mapping.series_instance_uid == "")]
            if len(rows) == 0:
                problems.append(Problem(names[0], "(0010,0020) PatientID", f"PT series not in {map_name} "
                                        "(skipped)", ""))
                continue
            if sf.tracer is not None:
                rows = rows[rows.tracer == sf.tracer]
            if len(rows) != 1:
                what = "no row for its tracer" if len(rows) == 0 else "tracer not stated in the header"
                problems.append(Problem(names[0], "(0018,0031) Radiopharmaceutical", f"cannot assign the series "
                                        f"to a row of {map_name}: {what}", ""))
                continue
            rec = next(rows.itertuples())
        if sf.tracer is not None and sf.tracer != rec.tracer:
            problems.append(Problem(names[0], "(0018,0031) Radiopharmaceutical", f"header says {sf.tracer}, "
                                    f"{map_name}:{rec.row} says {rec.tracer}", rec.patient_id))
            continue
        warnings = [] if sf.tracer else [f"tracer not stated in the header; {rec.tracer} from {map_name}"]
        assigned.setdefault(rec.row, []).append((sf, names, warnings, rec))
    jobs = []
    for rec in mapping.itertuples():
        series = assigned.get(rec.row, [])
        if len(series) != 1:
            what = ("no PT series found in the DICOM folder" if not series else
                    f"{len(series)} PT series match; give series_instance_uid")
            problems.append(Problem(f"{map_name}:{rec.row}", "series_instance_uid", what, rec.patient_id))
            continue
        sf, names, warnings, _ = series[0]
        rows = vois[(vois.patient_id == rec.patient_id) & (vois.tracer == rec.tracer)]
        jobs.append(SeriesJob(patient_id=rec.patient_id, tracer=rec.tracer, series_uid=sf.series_uid,
                              files=list(sf.files), names=names, vois=rows.to_dict("records"), warnings=warnings,
                              identifiers=(sf.dicom_patient_id, *sf.identifiers), seg_files=list(sf.seg_files),
                              seg_names=[scrub_identifiers(os.path.relpath(f, dicom_dir),
                                                           (sf.dicom_patient_id, *sf.identifiers))
                                         for f in sf.seg_files]))
    scanned = {(j.patient_id, j.tracer) for j in jobs}
    mapped = set(zip(mapping.patient_id, mapping.tracer))
    for rec in vois.itertuples():
        if (rec.patient_id, rec.tracer) not in mapped:
            problems.append(Problem(f"{vois_name}:{rec.row}", "patient_id,tracer", f"no {rec.tracer} scan for "
                                    f"this patient in {map_name}", rec.patient_id))
        elif (rec.patient_id, rec.tracer) not in scanned:
            problems.append(Problem(f"{vois_name}:{rec.row}", "patient_id,tracer", "VOI skipped: its series "
                                    "could not be found", rec.patient_id))
    return sorted(jobs, key=lambda j: (j.patient_id, j.tracer)), problems
