"""Benchmark: extraction time per PET series against reading the same files with ``pydicom.dcmread`` alone.

Target (issues 7 and 14): extraction (load + per-slice rescale + SUV factor + features of the VOIs) at most 1.5x the
time of ``dcmread`` over the same files. Per-series times are CPU time of this process (``time.process_time``),
best of interleaved repeats, so that other work on a shared machine does not distort the ratio. Two ``dcmread``
references: each dataset discarded at once (the strict reading of the target), and all datasets of the series
kept in memory (what any program building a volume must do). Discovery (walking the tree and reading headers
to group series) is reported separately, and a full ``run_extract`` with 1 and ``--jobs`` workers in wall time.

Issue 14 (SUL, multi-frame, per-slice checks): 1.60 before, 1.79 with the new checks parsing the
radiopharmaceutical sequence of every slice, 1.49 after comparing it as stored bytes, reading PixelData
without value conversion, rescaling in float32 in place and one flat gather for SUVpeak (2 cores, loaded
machine; dcmread itself is about 70% of the extraction time, see the profile in the closing note).

Usage: ``python benchmarks/extract.py [--series 3] [--slices 111] [--matrix 192] [--repeats 3] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time

import pydicom

from sonimage_utils.imaging.extract import run_extract
from sonimage_utils.imaging.features import compute_voi_features
from sonimage_utils.imaging.phantom import HotSphere, write_pet_phantom
from sonimage_utils.imaging.series import find_pet_series, load_pet_series
from sonimage_utils.imaging.suv import compute_suv_factor

SPHERES = tuple(HotSphere((x, y, 0.0), 12.0, s) for x, y, s in
                [(-100, -60, 8.0), (-40, 40, 5.0), (20, -80, 3.0), (80, 60, 10.0), (0, 0, 2.5)])


def _interleaved(fns, repeats):
    """Best and median time of each function, run in turn so that machine load hits all alike."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.process_time()
            fn()
            times[i].append(time.process_time() - start)
    return [(min(t), statistics.median(t)) for t in times]


def _wall(fns, repeats):
    """Wall-clock best and median (for parallel runs, whose work is in other processes)."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [(min(t), statistics.median(t)) for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=3)
    parser.add_argument("--slices", type=int, default=111)
    parser.add_argument("--matrix", type=int, default=192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        variants = ["siemens_bqml", "ge_private_scan_time", "philips_cnts_suv"]
        origin = (-(args.matrix - 1) * 2.0, -(args.matrix - 1) * 2.0, -(args.slices - 1) * 1.5)
        rows_map, rows_voi, files = [], [], []
        for i in range(args.series):
            ids = {"PatientID": f"BENCH{i}", "PatientName": "Bench^Mark"}
            ph = write_pet_phantom(f"{tmp}/dicom/s{i}", variant=variants[i % 3], seed=i, spheres=SPHERES,
                                   shape=(args.slices, args.matrix, args.matrix), pixel_spacing=(4.0, 4.0),
                                   slice_spacing=3.0, origin_mm=origin, identifiers=ids)
            files.append(ph.files)
            rows_map.append(f"BENCH{i},B{i:02d},FDG,{ph.series_uid}")
            rows_voi += [f"B{i:02d},L{j},FDG,bone,{s.centre_mm[0]},{s.centre_mm[1]},{s.centre_mm[2]},18"
                         for j, s in enumerate(SPHERES)]
        with open(f"{tmp}/MAP.csv", "w") as fh:
            fh.write("dicom_patient_id,patient_id,tracer,series_instance_uid\n" + "\n".join(rows_map) + "\n")
        with open(f"{tmp}/VOIS.csv", "w") as fh:
            fh.write("patient_id,lesion_id,tracer,organ,x_mm,y_mm,z_mm,radius_mm\n" + "\n".join(rows_voi) + "\n")

        def read_only(fs):
            for f in fs:
                pydicom.dcmread(f)

        def read_keep(fs):
            return [pydicom.dcmread(f) for f in fs]

        def read_pixels(fs):
            for f in fs:
                pydicom.dcmread(f).pixel_array

        def extract_one(fs):
            series = load_pet_series(fs)
            factor = compute_suv_factor(series.datasets, series.files)
            suv = series.rescaled(factor.slice_factors)
            for s in SPHERES:
                compute_voi_features(suv, series.geometry, s.centre_mm, 18.0)

        print(f"{args.series} series of {args.slices} slices {args.matrix}x{args.matrix} uint16, "
              f"5 VOIs each; best (median) of {args.repeats}, seconds per series")
        ratios = []
        keep_ratios = []
        for fs in files:
            base, keep, pix, ext = _interleaved([lambda: read_only(fs), lambda: read_keep(fs),
                                                 lambda: read_pixels(fs), lambda: extract_one(fs)], args.repeats)
            ratios.append(ext[0] / base[0])
            keep_ratios.append(ext[0] / keep[0])
            print(f"  dcmread {base[0]:.3f} ({base[1]:.3f})  dcmread kept {keep[0]:.3f} ({keep[1]:.3f})  "
                  f"dcmread+pixel_array {pix[0]:.3f} ({pix[1]:.3f})  extract {ext[0]:.3f} ({ext[1]:.3f})  "
                  f"ratio {ext[0] / base[0]:.2f} (to kept {ext[0] / keep[0]:.2f})")
        (disc,) = _interleaved([lambda: find_pet_series(f"{tmp}/dicom")], args.repeats)
        print(f"discovery of all {args.series} series (headers only): {disc[0]:.3f} s "
              f"({disc[0] / args.series:.3f} s per series)")
        print(f"median ratio extract/dcmread: {statistics.median(ratios):.2f} (target <= 1.5); to dcmread with the "
              f"datasets kept in memory: {statistics.median(keep_ratios):.2f}")
        for jobs in sorted({1, args.jobs}):
            (run,) = _wall([lambda: run_extract(f"{tmp}/dicom", f"{tmp}/VOIS.csv", f"{tmp}/MAP.csv",
                                                       f"{tmp}/out{jobs}", jobs=jobs, stream=io.StringIO())], 1)
            print(f"run_extract --jobs {jobs}: {run[0]:.3f} s wall total, {run[0] / args.series:.3f} s per series "
                  "(discovery, planning and outputs included)")


if __name__ == "__main__":
    main()
