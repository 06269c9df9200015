"""Write the demo objective-2 analysis set (synthetic) that the R references use: data_demo.csv.

Run from the repository root: ``python tests/reference/interaction/export_demo.py <demo data folder>``
(the demo data of ``sonimage simulate``; the primary heterogeneity definition of analysis.yml).
"""

import sys
from pathlib import Path

from sonimage_utils.chapters.treatment_interaction import load
from sonimage_utils.pipeline.params import parameter_values

params = parameter_values()
base = load(sys.argv[1], fes_threshold=params["fes_threshold"], fes_excluded_organs=params["fes_excluded_organs"],
            fdg_threshold=params["fdg_threshold"])
pfs = base.data["pfs"][["patient_id", "pfs1_months", "pfs1_event", "het_group", "het_group3", "hs", "arm"]]
pfs.sort_values("patient_id").to_csv(Path(__file__).with_name("data_demo.csv"), index=False, float_format="%.17g")
