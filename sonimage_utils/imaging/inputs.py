"""Inputs of ``sonimage extract``: the identifier mapping, the lesion VOIs, and which series serves which scan.

MAP.csv is the only link between a hospital identifier (DICOM PatientID) and the study pseudonym; it is read
into memory and never written anywhere, and a pseudonym that is itself a DICOM identifier is refused. Every
problem becomes a :class:`Problem` printed as ``WHERE: TAG: message (patient_id=...)``, where WHERE is a row of
MAP.csv or VOIS.csv or a series, file or frame reference (:mod:`.privacy`), never a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .privacy import identifying_keyword, instance_reference, refused_message, series_reference

__all__ = ["Problem", "SeriesJob", "read_mapping", "read_vois", "plan_jobs", "refuse_identifying_pseudonyms",
           "MAP_COLUMNS", "VOI_COLUMNS", "ORGANS", "TRACERS"]

MAP_COLUMNS = ("dicom_patient_id", "patient_id", "tracer")
VOI_COLUMNS = ("patient_id", "lesion_id", "tracer", "organ", "x_mm", "y_mm", "z_mm", "radius_mm")
ORGANS = ("bone", "lymph_node", "liver", "lung", "pleura", "soft_tissue", "breast", "brain", "other")
TRACERS = ("FES", "FDG")


@dataclass(frozen=True)
class Problem:
    """One problem of the extraction; ``line()`` is what the run prints. ``where`` is a row of an input file
    (``"MAP.csv:3"``) or a reference (``"SON-001 series 2 instance 7"``), never a path."""

    where: str
    tag: str
    message: str
    patient_id: str = ""

    def line(self) -> str:
        """``WHERE: TAG: message (patient_id=...)``."""
        return f"{self.where}: {self.tag}: {self.message} (patient_id={self.patient_id or 'unknown'})"


@dataclass
class SeriesJob:
    """One series to extract: ``files`` are paths (never printed), ``names`` their references, ``reference``
    the series' reference."""

    patient_id: str
    tracer: str
    series_uid: str
    reference: str
    files: list
    names: list
    vois: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
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


def refuse_identifying_pseudonyms(mapping, found, *, map_name="MAP.csv"):
    """Drop the MAP.csv rows whose study pseudonym is a hospital identifier.

    A pseudonym is refused when it equals (letters and digits compared, case ignored) a DICOM identifier of
    any PT series found (:data:`~sonimage_utils.imaging.privacy.IDENTIFYING_KEYWORDS`, a person name also by
    component, a birth date also day first), contains a patient ID or accession number of 6+ letters and digits,
    or equals a ``dicom_patient_id`` of MAP.csv: that value would otherwise be written into ``lesions.csv``
    and ``scans.csv``.

    Parameters
    ----------
    mapping : pandas.DataFrame
        From :func:`read_mapping`.
    found : dict
        From :func:`sonimage_utils.imaging.series.find_pet_series`.
    map_name : str
        Name of MAP.csv in problem lines.

    Returns
    -------
    (pandas.DataFrame, list of Problem, list of (str, str))
        The rows kept, one problem per refused row (which names the row and the DICOM tag, never the value),
        and every (keyword, value) identifier seen, to keep refused pseudonyms out of other problem lines.
    """
    identifiers = sorted({pair for sf in found.values() for pair in (("PatientID", sf.dicom_patient_id),
                                                                      *sf.identifiers) if pair[1]}
                         | {("PatientID", v) for v in mapping.dicom_patient_id if v})
    problems, keep = [], []
    for idx, rec in mapping.iterrows():
        keyword = identifying_keyword(rec.patient_id, identifiers)
        if keyword is None:
            keep.append(idx)
        else:
            problems.append(Problem(f"{map_name}:{rec.row}", "patient_id", refused_message(keyword), ""))
    return mapping.loc[keep].reset_index(drop=True), problems, identifiers


def plan_jobs(found, mapping, vois, *, vois_name="VOIS.csv", map_name="MAP.csv"):
    """Assign each PT series to a MAP.csv row, gather the VOIs to measure in it, and name it.

    A series is assigned by its SeriesInstanceUID when the row gives one, otherwise by PatientID and the
    tracer named in its Radiopharmaceutical attributes. The PT series are numbered 1 to N in the order of
    their first file path; a series is named by its pseudonym and number (``"SON-001 series 2"``, or
    ``"series 2"`` when no single pseudonym belongs to its PatientID) and a file by its place in the series'
    files sorted by path (``"SON-001 series 2 instance 7"``): no path or header text is used.

    Parameters
    ----------
    found : dict
        From :func:`sonimage_utils.imaging.series.find_pet_series`.
    mapping, vois : pandas.DataFrame
        From :func:`read_mapping` (after :func:`refuse_identifying_pseudonyms`) and :func:`read_vois`.

    Returns
    -------
    (list of SeriesJob, list of Problem, list of dict)
        The jobs, the problems, and the private map rows (reference, patient_id, tracer, series_instance_uid,
        path) of every series, file and SEG file.
    """
    problems: list[Problem] = []
    private: list[dict] = []
    by_uid = {uid: rec for rec in mapping.itertuples() if (uid := rec.series_instance_uid)}
    pseudonyms = mapping.groupby("dicom_patient_id").patient_id.unique().to_dict() if len(mapping) else {}
    assigned: dict[int, list] = {}
    for number, uid in enumerate(sorted(found, key=lambda u: found[u].files[0]), start=1):
        sf = found[uid]
        own = pseudonyms.get(sf.dicom_patient_id, ())
        rec = by_uid.get(uid)
        pseudonym = (rec.patient_id if rec is not None and rec.dicom_patient_id == sf.dicom_patient_id
                     else own[0] if len(own) == 1 else "")
        ref = series_reference(pseudonym, number)
        names = [instance_reference(ref, k) for k in range(1, len(sf.files) + 1)]
        seg_names = [f"{ref} seg {k}" for k in range(1, len(sf.seg_files) + 1)]
        rows_of_series = [dict(reference=ref, patient_id=pseudonym, tracer=rec.tracer if rec is not None else "",
                               series_instance_uid=uid, path=os.path.commonpath(
                                   [os.path.dirname(os.path.abspath(f)) for f in sf.files]))]
        rows_of_series += [dict(rows_of_series[0], reference=n, path=os.path.abspath(f))
                           for n, f in zip(names + seg_names, sf.files + sf.seg_files)]
        private += rows_of_series
        if rec is not None:
            if rec.dicom_patient_id != sf.dicom_patient_id:
                problems.append(Problem(ref, "(0010,0020) PatientID", f"series named in {map_name}:{rec.row} "
                                        "belongs to another PatientID", rec.patient_id))
                continue
        else:
            rows = mapping[(mapping.dicom_patient_id == sf.dicom_patient_id) & (mapping.series_instance_uid == "")]
            if len(rows) == 0:
                problems.append(Problem(ref, "(0010,0020) PatientID", f"PT series not in {map_name} (skipped)", ""))
                continue
            if sf.tracer is not None:
                rows = rows[rows.tracer == sf.tracer]
            if len(rows) != 1:
                what = "no row for its tracer" if len(rows) == 0 else "tracer not stated in the header"
                problems.append(Problem(ref, "(0018,0031) Radiopharmaceutical", f"cannot assign the series "
                                        f"to a row of {map_name}: {what}", ""))
                continue
            rec = next(rows.itertuples())
            for row in rows_of_series:
                row["tracer"] = rec.tracer
        if sf.tracer is not None and sf.tracer != rec.tracer:
            problems.append(Problem(ref, "(0018,0031) Radiopharmaceutical", f"header says {sf.tracer}, "
                                    f"{map_name}:{rec.row} says {rec.tracer}", rec.patient_id))
            continue
        warnings = [] if sf.tracer else [f"tracer not stated in the header; {rec.tracer} from {map_name}"]
        assigned.setdefault(rec.row, []).append((sf, ref, names, seg_names, warnings))
    jobs = []
    for rec in mapping.itertuples():
        series = assigned.get(rec.row, [])
        if len(series) != 1:
            what = ("no PT series found in the DICOM folder" if not series else
                    f"{len(series)} PT series match ({', '.join(s[1] for s in series)}); give series_instance_uid")
            problems.append(Problem(f"{map_name}:{rec.row}", "series_instance_uid", what, rec.patient_id))
            continue
        sf, ref, names, seg_names, warnings = series[0]
        rows = vois[(vois.patient_id == rec.patient_id) & (vois.tracer == rec.tracer)]
        jobs.append(SeriesJob(patient_id=rec.patient_id, tracer=rec.tracer, series_uid=sf.series_uid,
                              reference=ref, files=list(sf.files), names=names, vois=rows.to_dict("records"),
                              warnings=warnings, seg_files=list(sf.seg_files), seg_names=seg_names))
    scanned = {(j.patient_id, j.tracer) for j in jobs}
    mapped = set(zip(mapping.patient_id, mapping.tracer))
    for rec in vois.itertuples():
        if (rec.patient_id, rec.tracer) not in mapped:
            problems.append(Problem(f"{vois_name}:{rec.row}", "patient_id,tracer", f"no {rec.tracer} scan for "
                                    f"this patient in {map_name}", rec.patient_id))
        elif (rec.patient_id, rec.tracer) not in scanned:
            problems.append(Problem(f"{vois_name}:{rec.row}", "patient_id,tracer", "VOI skipped: its series "
                                    "could not be found", rec.patient_id))
    return sorted(jobs, key=lambda j: (j.patient_id, j.tracer)), problems, private
