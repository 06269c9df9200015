"""Write the demo cohort (synthetic) that the chapter-00 R reference uses: data_demo.csv.

Run from the repository root: ``python tests/reference/cohort/export_demo.py <demo data folder>``
(the demo data of ``sonimage simulate``; the primary heterogeneity definition and the baseline scan window of
analysis.yml). One row per enrolled patient: PFS1, arm, centre, heterogeneity group and whether any of her
baseline PET scans lies outside the window (``scan_outside``, 0/1).
"""

import sys
from pathlib import Path

from sonimage_utils.chapters.cohort import load
from sonimage_utils.derive.scan_timing import derive_baseline_scan_timing
from sonimage_utils.pipeline.params import parameter_values

params = parameter_values()
base = load(sys.argv[1], fes_threshold=params["fes_threshold"], fes_excluded_organs=params["fes_excluded_organs"],
            fdg_threshold=params["fdg_threshold"])
son, a = base.data["cohort"], base.data["analysis"]
timing = derive_baseline_scan_timing(son.scans, son.patients, window_days=params["baseline_scan_window_days"])
flagged = set(timing.loc[timing["outside_window"], "patient_id"])
out = a[["patient_id", "pfs1_months", "pfs1_event", "pfs1_event_type", "het_group", "arm", "center"]].copy()
out["scan_outside"] = out["patient_id"].isin(flagged).astype(int)
out.sort_values("patient_id").to_csv(Path(__file__).with_name("data_demo.csv"), index=False, float_format="%.17g")
