"""Write the chapter 04/05 data behind the unified estimates to CSV for chapter_check.R (not run by the tests).

Usage: PYTHONPATH=. python tests/reference/estimators/chapter_export.py BUILD_DIR OUT_DIR
(BUILD_DIR: a build with the demo data and models/benefit_model.json; FES settings as analysis.yml.)
"""
import sys
from pathlib import Path
import numpy as np, pandas as pd
from sonimage_utils.benefit.artifact import load_model, predict_model
from sonimage_utils.data.load import load_cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.external_validation.calibration import choose_calibration_knots, compute_smoothed_calibration
from sonimage_utils.survival.design import compute_rcs_basis
from sonimage_utils.survival import compute_calibration_slope

build = Path(sys.argv[1]); out = Path(sys.argv[2])
model = load_model(build / "models" / "benefit_model.json")
horizon = float(model["horizon"])
for name in ("sonimage", "impact_mbc", "et_fes"):
    data = load_cohort(build / "demo_data", name)
    analysis = build_analysis_set(data, fes_threshold=1.5, fes_excluded_organs=["liver"])
    pred = predict_model(model, data.patients, data.lesions, horizon=horizon)
    fr = analysis[["patient_id", "pfs1_months", "pfs1_event"]].merge(pred, on="patient_id")
    r = np.clip(fr["risk_t"].to_numpy(float), 1e-12, 1 - 1e-12)
    cll = np.log(-np.log1p(-r))
    knots = choose_calibration_knots(cll)
    basis = compute_rcs_basis(cll, knots)
    cal = compute_smoothed_calibration(fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"], horizon)
    df = pd.DataFrame({"time": fr["pfs1_months"], "event": fr["pfs1_event"], "lp": fr["lp"], "risk": fr["risk_t"],
                       "b1": basis[:, 0], "b2": basis[:, 1], "obs_py": cal.patients["observed"]})
    df.to_csv(out / f"{name}.csv", index=False, float_format="%.17g")
    s = compute_calibration_slope(df.time, df.event, df.lp)
    ev = df.time[df.event == 1]
    print(f"{name}: n={len(df)} events={int(df.event.sum())} tied event times={int(ev.duplicated().sum())} "
          f"slope={s['slope']:.10f} se={s['se']:.10f} ici={cal.values['ici']:.10f} horizon={horizon}")
