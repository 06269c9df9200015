"""Write the input CSVs of fit_lesion_arm_models.R from the demo cohort (run once; the CSVs are committed).

Run from the repository root with the demo data folder as argument:
    PYTHONPATH=. python tests/reference/lesion_arm_models/export_data.py /path/to/demo_data
The demo data are ``sonimage simulate`` with the analysis.yml demo seed (20191205) and 100 patients.
"""

import sys
from pathlib import Path

from sonimage_utils.chapters import lesion_response as lr
from sonimage_utils.recist.summary import derive_sod_trajectories

OUT = Path(__file__).parent
d = lr.prepare_lesion_data(sys.argv[1], fes_threshold=1.5, fes_excluded_organs=["liver"], fdg_threshold=None,
                           recist_sd_min_days=42, recist_confirm=False, lesion_response_threshold_pct=-30.0,
                           lesion_fes_form_aic_margin=2.0)
cols = ["patient_id", "lesion_id", "best_pct_change", "best_pct_change_through_pd", "responding",
        "fes_suvmax_assessable", "fdg_suvmax", *d.organ_dummies, "treated_cdk46i"]
d.lesions[cols].to_csv(OUT / "lesions.csv", index=False, float_format="%.10g")
traj = derive_sod_trajectories(d.assessment)
pat = d.best[["patient_id", "heterogeneous", "treated_cdk46i"]]
post = traj[traj["months_from_baseline"] > 0].merge(pat, on="patient_id")
post[["patient_id", "months_from_baseline", "pct_change_baseline", "heterogeneous", "treated_cdk46i"]].to_csv(
    OUT / "trajectories.csv", index=False, float_format="%.10g")
meas = d.best[d.best["has_target_disease"]]
meas.assign(responding=meas["best_overall_response"].isin(["CR", "PR"]).astype(int))[
    ["patient_id", "best_overall_response", "responding", "heterogeneous", "treated_cdk46i"]].to_csv(
    OUT / "best.csv", index=False, float_format="%.10g")
