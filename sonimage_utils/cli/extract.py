"""``sonimage extract``: SUV and lesion features from PET DICOM (:func:`sonimage_utils.imaging.extract.run_extract`).
"""

from __future__ import annotations

import argparse

from sonimage_utils.imaging.suv import SUV_TYPES

__all__ = ["add_subparser", "add_extract_arguments", "do_command"]


def add_extract_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``sonimage extract`` options to an argparse parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser

    Returns
    -------
    argparse.ArgumentParser
    """
    parser.add_argument("--dicom", required=True, help="folder tree of DICOM files (PT series found by Modality)")
    parser.add_argument("--vois", required=True, help="VOIS.csv: patient_id, lesion_id, tracer, organ, x_mm, y_mm, "
                        "z_mm, radius_mm (DICOM patient coordinates)")
    parser.add_argument("--mapping", required=True, help="MAP.csv: dicom_patient_id, patient_id, tracer"
                        "[, series_instance_uid]")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--private-map", help="where to write the private map from the series and file references "
                        "of the messages to the DICOM paths (default: sonimage_private_map.csv beside MAP.csv; "
                        "never inside --out)")
    parser.add_argument("--jobs", type=int, default=1, help="series extracted in parallel (default 1)")
    parser.add_argument("--mtv-fraction", type=float, default=0.41, help="MTV threshold, fraction of SUVmax")
    parser.add_argument("--backend", default="loky", choices=["loky", "threading", "dask"],
                        help="joblib backend (dask: a dask.distributed cluster)")
    parser.add_argument("--suv-type", default="bw", choices=list(SUV_TYPES),
                        help="SUV normalisation reported beside SUVbw: body weight (default), lean body mass by "
                        "James or Janmahasatian (SUL), or body surface area")
    return parser


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Add ``extract`` to the sub-commands of the ``sonimage`` parser."""
    p = subparsers.add_parser("extract", help="SUV and lesion features from PET DICOM")
    add_extract_arguments(p)
    p.set_defaults(func=do_command)
    return p


def do_command(args) -> int:
    """Call :func:`sonimage_utils.imaging.extract.run_extract` with the parsed options; its exit status
    (0, or 1 when a series or VOI was skipped)."""
    from sonimage_utils.imaging.extract import default_private_map, run_extract

    return run_extract(args.dicom, args.vois, args.mapping, args.out, jobs=args.jobs,
                       mtv_fraction=args.mtv_fraction, backend=args.backend, suv_type=args.suv_type,
                       private_map=args.private_map or default_private_map(args.mapping))
