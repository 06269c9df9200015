"""``sonimage extract``: lesion features and scan data from PET DICOM, with no identifier in any output.

The run finds the PT series under a folder, assigns each to a study pseudonym through MAP.csv, computes SUVbw
per QIBA (:mod:`.suv`) and the features of every VOI (:mod:`.features`), and writes ``lesions.csv`` and
``scans.csv`` (data-contract columns, ready for a data folder), ``extraction_report.csv`` (one row per series:
vendor, units, decay correction, scan-time source, SUV factor, SUV type and its formula, warnings) and
``extraction_errors.csv``; no output and no printed line holds a source path, a free-text header field or a
hospital identifier (:mod:`.privacy`): a series is named ``SON-001 series 2``, a file ``SON-001 series 2
instance 7``, the vendor and model come from a list or read ``other``, and the private map from these
references to the files is written only where asked (``--private-map``), never into the output folder. With
``--suv-type`` other than ``bw``, SUL (lean body mass, James or Janmahasatian) or SUVbsa max, peak and mean
are added to ``lesions.csv`` in columns that name the type (``fdg_sulpeak_james`` beside ``fdg_suvpeak``); the
contract columns always hold SUVbw, which the study's thresholds refer to. Each problem is printed as
``WHERE: TAG: message (patient_id=...)``; the other series go on and the run exits 1.
Series run in parallel with joblib (``backend="dask"`` for a dask.distributed cluster).
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from pydicom import config as pydicom_config

from .errors import DicomRuleError
from .features import compute_mask_features, compute_voi_features
from .inputs import Problem, plan_jobs, read_mapping, read_vois, refuse_identifying_pseudonyms
from .privacy import check_private_map, default_private_map, identifying_keyword, model_of, vendor_of, \
    write_private_map
from .seg import read_seg_masks
from .series import find_pet_series, load_pet_series
from .suv import SUV_TYPE_INFO, SUV_TYPES, compute_suv_factor, compute_suv_normalisation

__all__ = ["run_extract", "extract_series", "LESION_COLUMNS", "SCAN_COLUMNS", "REPORT_COLUMNS", "suv_type_columns"]

LESION_COLUMNS = ("patient_id", "lesion_id", "organ", "fes_suvmax", "fdg_suvmax", "ct_diameter_mm",
                  "fes_suvpeak", "fes_suvmean", "fdg_suvpeak", "fdg_suvmean", "fdg_mtv_ml", "fdg_tlg")
SCAN_COLUMNS = ("patient_id", "tracer", "scan_date", "injected_activity_mbq", "uptake_time_min", "weight_kg",
                "blood_glucose_mmol_l")
REPORT_COLUMNS = ("patient_id", "tracer", "series_ref", "n_slices", "manufacturer", "model", "units",
                  "decay_correction", "scan_time_source", "injection_time_source", "midnight_crossing",
                  "scan_date", "uptake_time_min", "injected_activity_mbq", "weight_kg", "half_life_s", "suv_factor",
                  "suv_type", "suv_type_factor", "height_m", "lbm_kg", "bsa_m2", "suv_formula", "slice_spacing_mm",
                  "pixel_spacing_mm", "n_vois", "n_vois_failed", "status", "warning")
_FEATURES = {"FES": {"suvmax": "fes_suvmax", "suvpeak": "fes_suvpeak", "suvmean": "fes_suvmean"},
             "FDG": {"suvmax": "fdg_suvmax", "suvpeak": "fdg_suvpeak", "suvmean": "fdg_suvmean",
                     "mtv_ml": "fdg_mtv_ml", "tlg": "fdg_tlg"}}


@contextlib.contextmanager
def _quiet_pydicom():
    """Read with pydicom's value validation off: its warnings quote the invalid value (a birth date typed
    into a DS, an ID in a CS), which would reach the console. Invalid values still fail where they are used,
    through messages that do not quote them."""
    mode = pydicom_config.settings.reading_validation_mode
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    try:
        yield
    finally:
        pydicom_config.settings.reading_validation_mode = mode


def suv_type_columns(suv_type: str) -> tuple[str, ...]:
    """The extra ``lesions.csv`` columns of an SUV normalisation (none for ``"bw"``).

    SULmax, SULpeak and SULmean (``lbm-james``: ``fes_sulmax_james`` ...; ``lbm-janmahasatian``:
    ``..._janmahasatian``) or SUVbsa max, peak and mean (``fes_suvmax_bsa`` ...), for FES and FDG.

    Examples
    --------
    >>> suv_type_columns("lbm-james")[:3]
    ('fes_sulmax_james', 'fes_sulpeak_james', 'fes_sulmean_james')
    """
    if suv_type == "bw":
        return ()
    info = SUV_TYPE_INFO[suv_type]
    return tuple(f"{tracer}_{info['stem']}{feature}{info['suffix']}" for tracer in ("fes", "fdg")
                 for feature in ("max", "peak", "mean"))


def extract_series(job, *, mtv_fraction: float = 0.41, vois_name: str = "VOIS.csv", suv_type: str = "bw") -> dict:
    """Extract one series: SUV factor, scan row, report row and VOI features; never raises on bad data.

    Parameters
    ----------
    job : SeriesJob
        From :func:`sonimage_utils.imaging.inputs.plan_jobs`.
    mtv_fraction : float
        MTV threshold as a fraction of SUVmax.
    vois_name : str
        Name of the VOI file in problem lines.
    suv_type : {"bw", "lbm-james", "lbm-janmahasatian", "bsa"}
        The SUV normalisation reported beside SUVbw. Its max, peak and mean are the SUVbw values times the
        series' ratio (LBM / weight, or BSA / weight), exactly as a volume scaled by that ratio would give.
        When height or sex is missing the series keeps its SUVbw features, a problem names the tag and the
        report status is ``bw_only``.

    Returns
    -------
    dict
        ``report`` (dict), ``scan`` (dict or None), ``features`` (list of dicts) and ``problems``
        (list of :class:`Problem`); no value is a path or header text: files are named by their references
        (``job.names``), manufacturer and model by :func:`~.privacy.vendor_of` and :func:`~.privacy.model_of`.
    """
    with _quiet_pydicom():
        return _extract_series(job, mtv_fraction, vois_name, suv_type)


def _extract_series(job, mtv_fraction, vois_name, suv_type):
    pid, problems, features = job.patient_id, [], []
    report = dict(patient_id=pid, tracer=job.tracer, series_ref=job.reference,
                  n_slices=len(job.files), n_vois=len(job.vois), n_vois_failed=len(job.vois), status="error")
    try:
        series = load_pet_series(job.files, names=job.names)
        report["n_slices"] = len(series.datasets)            # frames of a multi-frame file count as slices
        factor = compute_suv_factor(series.datasets, series.files)
    except DicomRuleError as exc:
        problems.append(Problem(exc.file or job.reference, exc.tag, exc.message, pid))
        report["warning"] = "series skipped: " + exc.message
        return dict(report=report, scan=None, features=[], problems=problems)
    except Exception as exc:  # unreadable file: report, never a traceback; the text of exc may quote a path
        message = f"cannot read the series ({type(exc).__name__})"
        problems.append(Problem(job.reference, "-", message, pid))
        report["warning"] = "series skipped: " + message
        return dict(report=report, scan=None, features=[], problems=problems)
    suv = series.rescaled(factor.slice_factors)
    geometry, first = series.geometry, series.datasets[0]
    warnings = list(job.warnings) + list(factor.warnings)
    try:
        norm = compute_suv_normalisation(series.datasets, factor, suv_type, series.files)
        warnings += list(norm.warnings)
    except DicomRuleError as exc:
        norm = None
        problems.append(Problem(exc.file or job.reference, exc.tag, exc.message, pid))
        warnings.append(f"{suv_type} not computed: " + exc.message)
    thickness = first.get("SliceThickness")
    if thickness not in (None, "") and abs(float(thickness) - geometry.spacing[0]) > 0.01 * geometry.spacing[0]:
        warnings.append(f"SliceThickness {float(thickness):g} mm differs from the slice spacing "
                        f"{geometry.spacing[0]:.3g} mm (spacing used)")
    masks, seg_problem = _seg_masks(job, series)
    for voi in job.vois:
        try:
            if voi.get("from_seg"):
                if voi["lesion_id"] not in masks:
                    raise DicomRuleError("SegmentLabel", seg_problem or f"no DICOM SEG segment labelled "
                                         f"{voi['lesion_id']!r} for this series")
                f = compute_mask_features(suv, geometry, masks[voi["lesion_id"]], mtv_fraction=mtv_fraction)
            else:
                f = compute_voi_features(suv, geometry, (voi["x_mm"], voi["y_mm"], voi["z_mm"]),
                                         voi["radius_mm"], mtv_fraction=mtv_fraction)
        except DicomRuleError as exc:
            problems.append(Problem(f"{vois_name}:{voi['row']}", exc.tag, f"lesion {voi['lesion_id']}: "
                                    f"{exc.message}", pid))
            continue
        row = dict(patient_id=pid, lesion_id=voi["lesion_id"], organ=voi["organ"], tracer=job.tracer, **f.as_dict())
        if norm is not None and suv_type != "bw":
            row.update(typed_max=norm.ratio * f.suvmax, typed_peak=norm.ratio * f.suvpeak,
                       typed_mean=norm.ratio * f.suvmean)
        features.append(row)
    uptake_min = factor.uptake_s / 60.0
    scan = dict(patient_id=pid, tracer=job.tracer, scan_date=factor.scan_datetime.date().isoformat(),
                injected_activity_mbq=factor.injected_dose_bq / 1e6, uptake_time_min=uptake_min,
                weight_kg=factor.weight_kg, blood_glucose_mmol_l=np.nan)
    report.update(manufacturer=vendor_of(first.get("Manufacturer")),
                  model=model_of(first.get("ManufacturerModelName")), units=factor.units,
                  decay_correction=factor.decay_correction,
                  scan_time_source=factor.scan_time_source, injection_time_source=factor.injection_time_source,
                  midnight_crossing=factor.midnight_crossing, scan_date=scan["scan_date"],
                  uptake_time_min=uptake_min, injected_activity_mbq=scan["injected_activity_mbq"],
                  weight_kg=factor.weight_kg, half_life_s=factor.half_life_s, suv_factor=factor.factor,
                  suv_type=suv_type, suv_formula=SUV_TYPE_INFO[suv_type]["formula"],
                  **({} if norm is None else dict(suv_type_factor=norm.factor, height_m=norm.height_m,
                                                  lbm_kg=norm.lbm_kg, bsa_m2=norm.bsa_m2)),
                  slice_spacing_mm=geometry.spacing[0], pixel_spacing_mm=f"{geometry.spacing[1]:g}x"
                  f"{geometry.spacing[2]:g}", n_vois_failed=len(job.vois) - len(features),
                  status=("ok" if norm is not None else "bw_only") if len(features) == len(job.vois)
                  else "vois_failed",
                  warning="; ".join(warnings))
    return dict(report=report, scan=scan, features=features, problems=problems)


def _seg_masks(job, series):
    """Masks of every SEG segment referencing the series (label -> mask), and a problem text if unreadable."""
    if not any(v.get("from_seg") for v in job.vois):
        return {}, None
    if not job.seg_files:
        return {}, "no DICOM SEG file references this series"
    uids = [str(ds.SOPInstanceUID) for ds in series.datasets]
    if len(set(uids)) != len(uids):
        return {}, "DICOM SEG masks of a multi-frame PET series (frame references) are not handled"
    masks = {}
    for path, name in zip(job.seg_files, job.seg_names):
        try:
            for label, mask in read_seg_masks(path, uids, name=name).items():
                if label in masks:
                    return {}, "one segment label appears in two SEG files (the label is not shown)"
                masks[label] = mask
        except DicomRuleError as exc:
            return {}, f"{name}: {exc.tag}: {exc.message}"
    return masks, None


def _lesion_table(features, suv_type):
    rows = {}
    extra = suv_type_columns(suv_type)
    typed = ("typed_max", "typed_peak", "typed_mean")
    typed_columns = {"FES": dict(zip(typed, extra[:3])), "FDG": dict(zip(typed, extra[3:]))} if extra else {}
    for f in features:
        row = rows.setdefault((f["patient_id"], f["lesion_id"]),
                              dict(patient_id=f["patient_id"], lesion_id=f["lesion_id"], organ=f["organ"]))
        for source, column in _FEATURES[f["tracer"]].items():
            row[column] = f[source]
        for source, column in typed_columns.get(f["tracer"], {}).items():
            if source in f:                          # absent when the series has no height or sex
                row[column] = f[source]
    table = pd.DataFrame(list(rows.values()), columns=list(LESION_COLUMNS) + list(extra))
    return table.sort_values(["patient_id", "lesion_id"]).reset_index(drop=True)


def _run_jobs(jobs, n_jobs, backend, mtv_fraction, vois_name, suv_type):
    options = dict(mtv_fraction=mtv_fraction, vois_name=vois_name, suv_type=suv_type)
    if n_jobs == 1 or len(jobs) <= 1:
        return [extract_series(j, **options) for j in jobs]
    tasks = (delayed(extract_series)(j, **options) for j in jobs)
    if backend == "dask":
        from distributed import Client, get_client
        try:
            get_client()
            client = None
        except ValueError:
            client = Client(n_workers=n_jobs, threads_per_worker=1, processes=False, dashboard_address=None)
        try:
            with parallel_config(backend="dask"):
                return Parallel()(tasks)
        finally:
            if client is not None:
                client.close()
    with parallel_config(backend=backend, n_jobs=n_jobs):
        return Parallel()(tasks)


def run_extract(dicom_dir, vois_csv, mapping_csv, out_dir, *, jobs: int = 1, mtv_fraction: float = 0.41,
                backend: str = "loky", suv_type: str = "bw", private_map=None, stream=None) -> int:
    """Run the extraction and write ``lesions.csv``, ``scans.csv``, ``extraction_report.csv`` and
    ``extraction_errors.csv`` into ``out_dir``.

    Parameters
    ----------
    dicom_dir : path-like
        Any folder tree of DICOM files.
    vois_csv, mapping_csv : path-like
        VOIS.csv and MAP.csv (see :mod:`sonimage_utils.imaging.inputs`).
    out_dir : path-like
        Created if needed.
    jobs : int
        Series extracted in parallel (joblib).
    mtv_fraction : float
        MTV threshold as a fraction of SUVmax (default 0.41).
    backend : str
        joblib backend: ``"loky"`` (default), ``"threading"`` or ``"dask"`` (uses the current dask.distributed
        client, or starts a local one).
    suv_type : {"bw", "lbm-james", "lbm-janmahasatian", "bsa"}
        SUV normalisation reported beside SUVbw (default ``"bw"``: SUVbw only). Any other type adds its max,
        peak and mean columns to ``lesions.csv`` (see :func:`suv_type_columns`; e.g. ``fdg_sulpeak_james``
        beside ``fdg_suvpeak``) and its factor, height, LBM or BSA and formula to the report.
    private_map : path-like, optional
        Where to write the private map (reference, patient_id, tracer, series_instance_uid, path of every
        series, file and SEG file; mode 0600), for the user alone: the problem lines name series and files only
        by reference. Refused inside ``out_dir`` or onto MAP.csv or VOIS.csv. Default: none written (the
        command line writes :func:`~.privacy.default_private_map`, beside MAP.csv).
    stream : file-like, optional
        Where problem lines go (default ``sys.stderr``).

    Returns
    -------
    int
        0 when every series and VOI was extracted, 1 when anything was skipped (each problem printed).

    Raises
    ------
    ValueError
        Only for wrong arguments (``jobs`` < 1, ``mtv_fraction`` outside (0, 1], unknown backend, a private map
        inside ``out_dir``); bad data never raises.

    Notes
    -----
    ``lesions.csv``: one row per lesion with at least one measured VOI; ``ct_diameter_mm`` stays empty (not in
    PET headers). ``scans.csv``: one row per extracted series; ``blood_glucose_mmol_l`` stays empty (no standard
    DICOM attribute). ``extraction_report.csv``: ``series_ref`` is the series reference (``SON-001 series 2``);
    ``manufacturer`` and ``model`` a name from :data:`~.privacy.VENDORS` and :data:`~.privacy.MODELS` or
    ``other``; ``suv_factor`` multiplies the rescaled pixel values (g/ml per Bq/ml for BQML, SUV per
    count for Philips CNTS, 1 for GML); ``suv_type``, ``suv_type_factor`` (the factor of that type for the first
    slice), ``height_m``, ``lbm_kg`` or ``bsa_m2`` and ``suv_formula`` (the formula used, the provenance of the
    extra ``lesions.csv`` columns); ``status`` is ``ok``, ``vois_failed``, ``bw_only`` (SUVbw extracted, the
    chosen SUV type not: height or sex missing) or ``error``. ``extraction_errors.csv`` holds the printed
    problems (``where``, ``tag``, ``message``, ``patient_id``). No output and no printed line holds a path, a
    free-text header value or a DICOM identifier; a MAP.csv pseudonym that is a DICOM identifier is refused
    (:func:`~.inputs.refuse_identifying_pseudonyms`) and never printed.
    """
    if int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if not 0 < mtv_fraction <= 1:
        raise ValueError(f"mtv_fraction must be in (0, 1], got {mtv_fraction}")
    if backend not in ("loky", "threading", "multiprocessing", "dask"):
        raise ValueError(f"unknown backend {backend!r}")
    if suv_type not in SUV_TYPES:
        raise ValueError(f"suv_type must be one of {SUV_TYPES}, got {suv_type!r}")
    if private_map is not None:
        private_map = check_private_map(private_map, out_dir, (mapping_csv, vois_csv))
    stream = sys.stderr if stream is None else stream
    map_name, vois_name = os.path.basename(str(mapping_csv)), os.path.basename(str(vois_csv))
    mapping, problems = read_mapping(mapping_csv)
    vois, voi_problems = read_vois(vois_csv)
    problems += voi_problems
    try:
        with _quiet_pydicom():
            found, _ = find_pet_series(dicom_dir)
    except ValueError as exc:
        problems.append(Problem("--dicom", "-", str(exc)))
        found = None
    results, identifiers, private = [], [], []
    if mapping is not None and found is not None:
        mapping, refused, identifiers = refuse_identifying_pseudonyms(mapping, found, map_name=map_name)
        problems += refused
    if mapping is not None and vois is not None and found is not None:
        planned, plan_problems, private = plan_jobs(found, mapping, vois, vois_name=vois_name, map_name=map_name)
        problems += plan_problems
        results = _run_jobs(planned, int(jobs), backend, mtv_fraction, vois_name, suv_type)
    for r in results:
        problems += r["problems"]
    # a patient_id of VOIS.csv or MAP.csv that is a hospital identifier is named by its row only
    problems = [Problem(p.where, p.tag, p.message, "") if p.patient_id and identifying_keyword(p.patient_id,
                                                                                                 identifiers)
                else p for p in problems]
    os.makedirs(out_dir, exist_ok=True)
    _lesion_table([f for r in results for f in r["features"]], suv_type).to_csv(
        os.path.join(out_dir, "lesions.csv"), index=False, float_format="%.6g")
    scans = pd.DataFrame([r["scan"] for r in results if r["scan"] is not None], columns=list(SCAN_COLUMNS))
    scans.to_csv(os.path.join(out_dir, "scans.csv"), index=False, float_format="%.6g")
    report = pd.DataFrame([r["report"] for r in results], columns=list(REPORT_COLUMNS))
    report.to_csv(os.path.join(out_dir, "extraction_report.csv"), index=False, float_format="%.6g")
    errors = pd.DataFrame([vars(p) for p in problems], columns=["where", "tag", "message", "patient_id"])
    errors.to_csv(os.path.join(out_dir, "extraction_errors.csv"), index=False)
    for p in problems:
        print(p.line(), file=stream)
    n_ok = sum(r["scan"] is not None for r in results)
    print(f"extracted {n_ok} series, {len(problems)} problem(s)", file=stream)
    if private_map is not None:
        write_private_map(private_map, private)
        print(f"private map of the series and file references (for you alone, not to be shared): {private_map}",
              file=stream)
    return 1 if problems else 0
