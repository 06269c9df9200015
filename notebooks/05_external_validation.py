# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   sonimage:
#     depends_on: ["04"]
# ---

# %% [markdown]
# (chapter-05)=
# # 05 External validation in IMPACT-MBC and ET-FES
#
# Objective 5: does the model frozen in chapter 04 predict PFS1 in patients it has never seen? The model
# is read from its JSON artifact and applied **unchanged** (no refitting) to each external cohort present
# in the data folder. Performance follows McLernon et al. (Ann Intern Med 2023) and Austin et al. (Stat Med
# 2020); every metric has a bootstrap 95% confidence interval. The metric code reproduces the paper's own
# worked example (Rotterdam -> GBSG) to the published figures (`tests/test_validation_reference.py`).
#
# :::{important}
# **What cannot be validated here.** Neither external cohort randomised the CDK4/6 inhibitor: IMPACT-MBC
# patients received physician's-choice first-line therapy, and ET-FES patients single-agent endocrine therapy
# without any CDK4/6 inhibitor. The *predicted benefit* of adding a CDK4/6 inhibitor (chapter 04) therefore
# cannot be validated in either cohort: there is no randomised contrast to compare it with. What these
# cohorts can test is the *prognostic* part of the model, the predicted risk of a PFS1 event, and that is what
# this chapter does.
# :::

# %% tags=["parameters", "hide-input"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
seed = 20240901
fes_threshold = 1.5
fes_excluded_organs = ["liver"]
validation_horizon_months = None
validation_n_boot = 500
validation_n_boot_curves = 200
validation_n_jobs = 2
calibration_n_groups = 5
auc_times_months = [6, 12, 18, 24, 30, 36]
et_fes_top_n_lesions = 3
et_fes_fes_threshold = 2.0

# %% tags=["remove-cell"]
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from sonimage_utils import descriptive as cohort
from sonimage_utils.derive.analysis_sets import build_analysis_set
from sonimage_utils.data.load import available_cohorts, load_cohort
from sonimage_utils.external_validation.decision_curve import compute_net_benefit
from sonimage_utils.tables.format import fmt_num
from sonimage_utils.benefit.artifact import load_model, predict_model
from sonimage_utils.benefit.features import FEATURE_DEFINITIONS
from sonimage_utils.pipeline.report import record, save_figure, save_table, synthetic_notice
from sonimage_utils.external_validation.performance import (METRIC_LABELS, PERFORMANCE_METRICS, format_estimate_ci,
                                       format_performance_table, summarise_predictors, survival_performance)
from sonimage_utils.external_validation.bootstrap import (bootstrap_auc_curve, bootstrap_calibration_curve,
                                                 bootstrap_performance)
from sonimage_utils.external_validation.calibration import (compute_expected_cumhaz, compute_grouped_calibration,
                                                   fit_recalibration)
from sonimage_utils.external_validation.metrics import compute_calibration_in_the_large
from sonimage_utils.plots.validation import (plot_auc_curve, plot_calibration, plot_decision_curve,
                                             plot_lp_distribution)

LABELS = {"sonimage": "SONImage (development)", "impact_mbc": "IMPACT-MBC", "et_fes": "ET-FES"}
EXTERNAL = ("impact_mbc", "et_fes")
FES_FEATURES = {"hs", "fes_heterogeneous", "log_mean_fes_suvmax", "log_min_fes_suvmax"}

model_path = Path(build_dir) / "models" / "benefit_model.json"
if not model_path.exists():
    raise FileNotFoundError(f"{model_path} not found: chapter 04 writes the frozen model; run it first")
model = load_model(model_path)
horizon = float(model["horizon"] if validation_horizon_months is None else validation_horizon_months)
features = list(model["features"])
stored = model["feature_settings"]
present = [c for c in EXTERNAL if c in available_cohorts(data_dir)]
absent = [c for c in EXTERNAL if c not in present]
HET = dict(fes_threshold=fes_threshold, fes_excluded_organs=fes_excluded_organs)


def prepare(name, feature_settings=None):
    """Outcome and frozen-model predictions of one cohort, one row per patient."""
    data = load_cohort(data_dir, name)
    analysis = build_analysis_set(data, **HET, fdg_threshold=None)  # no FDG grouping in this chapter
    pred = predict_model(model, data.patients, data.lesions, horizon=horizon, feature_settings=feature_settings)
    frame = analysis[["patient_id", "arm", "pfs1_months", "pfs1_event"]].merge(pred, on="patient_id")
    return data, analysis, frame


cohorts = {"sonimage": prepare("sonimage")}
for name in present:
    cohorts[name] = prepare(name)

# %% tags=["remove-input"]
synthetic_notice(synthetic)
notes = [f"**{LABELS[c]}**: no `{c}/` folder in this data folder; its validation is skipped and its `obj5_{c}_*` "
         "results do not exist." for c in absent]
if notes:
    display(Markdown(":::{note}\n" + "\n\n".join(notes) + "\n:::"))
display(Markdown(f"The frozen model predicts the risk of a PFS1 event by **{horizon:g} months** from "
                 f"{len(features)} predictors ({', '.join(f'`{f}`' for f in features)}); its linear predictor "
                 "and baseline hazard are those of the artifact written by chapter 04."))

# %% [markdown]
# ## Flow and case mix
#
# A model travels only as far as the patients resemble those it was built on. The tables compare the
# cohorts before any prediction is judged: who is in each, how many events, what first-line therapy,
# what disease, and the distribution of each predictor as measured (before the development-mean imputation
# that the frozen model applies to a missing predictor).

# %% tags=["remove-input"]
flow_rows = {}
for name, (data, analysis, frame) in cohorts.items():
    flow_rows[LABELS[name]] = {
        "patients in patients.csv": len(data.patients),
        "with a prediction": int(frame["lp"].notna().sum()),
        "with >= 1 predictor imputed (development mean)": int((frame["n_imputed"] > 0).sum()),
        f"PFS1 events by {horizon:g} months": int(((frame["pfs1_months"] <= horizon)
                                                    & (frame["pfs1_event"] == 1)).sum()),
        f"followed event-free beyond {horizon:g} months": int((frame["pfs1_months"] > horizon).sum()),
    }
flow = pd.DataFrame(flow_rows)
save_table(flow, "05_flow", build_dir)
display(Markdown("**Table 05.1.** Patient flow per cohort. Every patient with a PFS1 outcome enters the "
                 "validation; a missing predictor is imputed with the development mean, as frozen."))
display(flow)

# %% tags=["remove-input"]
case_mix = cohort.compute_case_mix({LABELS[k]: v[1] for k, v in cohorts.items()})
save_table(case_mix, "05_case_mix", build_dir)
display(Markdown(f"**Table 05.2.** Case mix of the development and external cohorts (heterogeneity at FES "
                 f"threshold {fes_threshold:g})."))
display(case_mix)

# %% tags=["remove-input"]
from sonimage_utils.benefit.features import derive_model_features  # noqa: E402

raw = {LABELS[k]: derive_model_features(v[0].patients, v[0].lesions, features, stored) for k, v in cohorts.items()}
pred_table = summarise_predictors(raw, {f: f"{f}: {FEATURE_DEFINITIONS.get(f, '')}" for f in features})
save_table(pred_table, "05_predictors", build_dir)
display(Markdown("**Table 05.3.** Model predictors per cohort, as derived with the frozen settings: median "
                 "[Q1, Q3], or n (%) for yes/no predictors; missing values before imputation."))
display(pred_table)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Distribution of the frozen model's linear predictor in each cohort (density; dashed: median). A shift means a different case mix; a narrower spread means less room to discriminate.", "name": "fig-05-lp"}}
fig = plot_lp_distribution({LABELS[k]: v[2]["lp"] for k, v in cohorts.items()})
save_figure(fig, "05_lp_distribution", build_dir)

# %% [markdown]
# ## Harmonising the predictors
#
# ET-FES measured FES SUVmax in its largest lesions only and used its own positivity threshold; SONImage
# measured every lesion. Applied unchanged, the model reads the ET-FES lesions as they are: FES-derived
# predictors come from the lesions with an FES value, with the model's own threshold. To show what that
# restriction costs, the development cohort is re-derived the same way (FES of its largest lesions only, by
# CT diameter), and with ET-FES's threshold as well, and the frozen model's apparent performance is
# compared. IMPACT-MBC measured FES in every lesion, like SONImage: no harmonisation is needed there.

# %% tags=["remove-input"]
display(Markdown(f"Here: ET-FES measured FES in the **{et_fes_top_n_lesions} largest lesions** and called a lesion "
                 f"endocrine-sensitive at SUVmax >= **{et_fes_fes_threshold:g}** (parameters `et_fes_top_n_lesions`, "
                 f"`et_fes_fes_threshold`); the frozen model calls a lesion FES-positive at SUVmax >= "
                 f"**{stored['fes_threshold']:g}**, excluding {', '.join(stored['fes_excluded_organs']) or 'no'} "
                 "lesions."))
fes_used = sorted(set(features) & FES_FEATURES)
harm_rows = []
for f in features:
    harm_rows.append({
        "predictor": f,
        "SONImage": "all lesions" if f in FES_FEATURES else "as recorded",
        "IMPACT-MBC": "all lesions, as SONImage" if f in FES_FEATURES else "as recorded",
        "ET-FES": (f"{et_fes_top_n_lesions} largest lesions only (own threshold {et_fes_fes_threshold:g}); model "
                   f"threshold {stored['fes_threshold']:g} applied to the SUVmax values" if f in FES_FEATURES
                   else "as recorded"),
    })
harm = pd.DataFrame(harm_rows).set_index("predictor")
display(Markdown("**Table 05.4.** How each predictor is measured in each cohort and how it is harmonised."))
display(harm)

dev_time, dev_event = cohorts["sonimage"][2]["pfs1_months"], cohorts["sonimage"][2]["pfs1_event"]
variants = {
    "as frozen": None,
    f"FES of the {et_fes_top_n_lesions} largest lesions": {"top_n_lesions": et_fes_top_n_lesions},
    f"... and threshold {et_fes_fes_threshold:g}": {"top_n_lesions": et_fes_top_n_lesions,
                                                      "fes_threshold": et_fes_fes_threshold},
}
harm_perf = {}
for label, settings in variants.items():
    fr = prepare("sonimage", settings)[2]
    harm_perf[label] = survival_performance(fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"], fr["lp"], horizon)
    harm_perf[label]["lp correlation with frozen"] = float(np.corrcoef(fr["lp"], cohorts["sonimage"][2]["lp"])[0, 1])
harm_tab = pd.DataFrame(harm_perf).rename(index=METRIC_LABELS)
save_table(harm_tab, "05_harmonisation_cost", build_dir)
display(Markdown("**Table 05.5.** Apparent performance of the frozen model in the development cohort with the "
                 "FES predictors derived as measured in ET-FES (no refitting; apparent, so optimistic in level, "
                 "but the differences between columns show what the restricted measurement costs)."))
display(harm_tab.style.format(precision=3))
if not fes_used:
    display(Markdown("*The frozen model uses no FES-derived predictor, so the harmonisation changes nothing.*"))

# %% tags=["remove-input"]
if "et_fes" in cohorts:
    et_variants = {f"model threshold {stored['fes_threshold']:g} (primary)": None,
                   f"ET-FES threshold {et_fes_fes_threshold:g}": {"fes_threshold": et_fes_fes_threshold}}
    et_perf = {}
    for label, settings in et_variants.items():
        fr = prepare("et_fes", settings)[2]
        et_perf[label] = survival_performance(fr["pfs1_months"], fr["pfs1_event"], fr["risk_t"], fr["lp"], horizon)
    et_tab = pd.DataFrame(et_perf).rename(index=METRIC_LABELS)
    save_table(et_tab, "05_et_fes_threshold", build_dir)
    display(Markdown(f"**Table 05.5b.** ET-FES: the frozen model with FES positivity at the model's threshold "
                     f"(primary analysis) and at ET-FES's own threshold of {et_fes_fes_threshold:g} (sensitivity; "
                     "point estimates)."))
    display(et_tab.style.format(precision=3))

# %% [markdown]
# ## Performance of the frozen model
#
# Discrimination (Harrell's C over follow-up, Uno's C truncated at the horizon, the cumulative/dynamic
# AUC at the horizon), calibration (observed/expected at the horizon, calibration slope, and the integrated
# calibration index with E50 and E90 from the smoothed calibration curve) and overall accuracy (IPCW Brier
# score and the index of prediction accuracy, IPA, against the Kaplan-Meier null model of the same cohort).
# The censoring distribution of the IPCW metrics is estimated in each cohort. Intervals: bootstrap percentile
# intervals (patients resampled, metrics recomputed, model fixed). The development column is apparent
# performance, shown for reference; chapter 04 gives its optimism-corrected values.

# %% tags=["remove-cell"]
boots, perf_rows, citl = {}, [], {}
for name, (data, analysis, frame) in cohorts.items():
    tt, ee = frame["pfs1_months"], frame["pfs1_event"]
    if name == "sonimage":
        est = survival_performance(tt, ee, frame["risk_t"], frame["lp"], horizon)
        perf_rows += [{"cohort": LABELS[name], "metric": m, "estimate": est[m], "ci_low": np.nan, "ci_high": np.nan}
                      for m in PERFORMANCE_METRICS]
    else:
        boots[name] = bootstrap_performance(tt, ee, frame["risk_t"], frame["lp"], horizon, n_boot=validation_n_boot,
                                            seed=seed, n_jobs=validation_n_jobs)
        perf_rows += boots[name].summary.assign(cohort=LABELS[name]).to_dict("records")
    base = model["model"]["prognostic"]["baseline"]
    expected = compute_expected_cumhaz(base["time"], base["cumhaz"], frame["lp"].to_numpy(), tt.to_numpy())
    citl[name] = compute_calibration_in_the_large(ee, expected, frame["lp"])
perf = pd.DataFrame(perf_rows)

# %% tags=["remove-input"]
for name in present:
    s = boots[name].summary.set_index("metric")
    frame = cohorts[name][2]
    record(f"obj5_{name}_n_patients", len(frame), f"{LABELS[name]}: patients validated", fmt="{:.0f}")
    record(f"obj5_{name}_n_events", int(frame["pfs1_event"].sum()), f"{LABELS[name]}: PFS1 events", fmt="{:.0f}")
    for m in PERFORMANCE_METRICS:
        fmt = "{:.3f}" if m == "brier" else "{:.2f}"
        record(f"obj5_{name}_{m}", s.loc[m, "estimate"], f"{LABELS[name]}: {METRIC_LABELS[m]} (frozen model, "
               f"t = {horizon:g} months)", fmt=fmt)
        record(f"obj5_{name}_{m}_ci_low", s.loc[m, "ci_low"], f"{LABELS[name]}: {METRIC_LABELS[m]}, lower 95% "
               "bootstrap limit", fmt=fmt)
        record(f"obj5_{name}_{m}_ci_high", s.loc[m, "ci_high"], f"{LABELS[name]}: {METRIC_LABELS[m]}, upper 95% "
               "bootstrap limit", fmt=fmt)
    record(f"obj5_{name}_citl", citl[name]["ratio"], f"{LABELS[name]}: calibration-in-the-large over follow-up "
           "(observed/expected events, Poisson)")
table = format_performance_table(perf)
extra = pd.DataFrame({LABELS[k]: [format_estimate_ci(v["ratio"], v["ci_low"], v["ci_high"])] for k, v in citl.items()},
                     index=["Calibration-in-the-large over follow-up (O/E events, Poisson)"])
table = pd.concat([table, extra[table.columns]])[[LABELS[k] for k in cohorts]]
save_table(table, "05_performance", build_dir)
display(Markdown(f"**Table 05.6.** Performance of the frozen model at {horizon:g} months: estimate (95% "
                 f"bootstrap interval, {validation_n_boot} resamples; seed {seed}). Development: apparent, no "
                 "interval. Calibration-in-the-large: Wald interval of the Poisson model; beyond the last "
                 "development event time the frozen baseline hazard is flat, so expected events there are "
                 "underestimated."))
display(table)

# %% tags=["remove-input"]
lines = []
for name in present:
    s = boots[name].summary.set_index("metric")

    def ci(m, d=2):
        return format_estimate_ci(s.loc[m, "estimate"], s.loc[m, "ci_low"], s.loc[m, "ci_high"], digits=d)

    lines.append(f"In **{LABELS[name]}** ({len(cohorts[name][2])} patients), Harrell's C was {ci('harrell_c')} "
                 f"and the AUC at {horizon:g} months {ci('auc')} (0.5: no discrimination). The observed/expected "
                 f"ratio was {ci('oe')} (above 1: more PFS1 events by {horizon:g} months than the model predicts), "
                 f"the calibration slope {ci('calibration_slope')} (below 1: predictions too extreme; above 1: too "
                 f"moderate) and the ICI {ci('ici')}. The IPA was {ci('ipa')} (above 0: better than giving "
                 "everybody the cohort's Kaplan-Meier risk).")
if lines:
    display(Markdown("\n\n".join(lines)))

# %% [markdown]
# IMPACT-MBC patients received physician's-choice first-line therapy, chemotherapy included, whereas the
# model was built on patients starting endocrine therapy (with or without a CDK4/6 inhibitor). Restricting
# IMPACT-MBC to endocrine-based first-line therapy shows whether the case mix of treatment drives the result
# (a sensitivity analysis; point estimates, the subgroup is small).

# %% tags=["remove-input"]
if "impact_mbc" in cohorts:
    fr = cohorts["impact_mbc"][2]
    endo = fr["arm"].isin(["ET", "ET+CDK4/6i"])
    sub = {"all patients": fr, "endocrine-based first line": fr[endo], "chemotherapy/other first line": fr[~endo]}
    sub_perf = {}
    for label, f in sub.items():
        try:
            sub_perf[f"{label} (n = {len(f)})"] = survival_performance(f["pfs1_months"], f["pfs1_event"],
                                                                         f["risk_t"], f["lp"], horizon)
        except ValueError as exc:  # too small or no follow-up beyond the horizon
            display(Markdown(f"*{label}: not estimable ({exc}).*"))
    sub_tab = pd.DataFrame(sub_perf).rename(index=METRIC_LABELS)
    save_table(sub_tab, "05_impact_mbc_by_therapy", build_dir)
    display(Markdown("**Table 05.6b.** IMPACT-MBC: performance of the frozen model by first-line therapy "
                     "(point estimates)."))
    display(sub_tab.style.format(precision=3))

# %% [markdown]
# ## Calibration at the horizon
#
# The smoothed curve is a secondary Cox model of the outcome on a restricted cubic spline (3 knots) of the
# complementary log-log predicted risk; its band is a pointwise bootstrap interval. The points are quantile
# groups of predicted risk with their Kaplan-Meier risk. The grey histogram shows where the predictions
# lie: the curve means little where there are few of them.

# %% tags=["remove-cell"]
cal_parts = {}
for name in present:
    frame = cohorts[name][2]
    band = bootstrap_calibration_curve(frame["pfs1_months"], frame["pfs1_event"], frame["risk_t"], horizon,
                                       n_boot=validation_n_boot_curves, seed=seed, n_jobs=validation_n_jobs)
    groups = compute_grouped_calibration(frame["pfs1_months"], frame["pfs1_event"], frame["risk_t"], horizon,
                                         n_groups=calibration_n_groups)
    save_table(groups, f"05_calibration_groups_{name}", build_dir)
    cal_parts[name] = (band, groups, frame["risk_t"])

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration of the frozen model in IMPACT-MBC at the horizon: smoothed calibration curve with 95% bootstrap band, quantile groups (Kaplan-Meier, 95% CI) and the distribution of predicted risks.", "name": "fig-05-cal-impact"}}
if "impact_mbc" in cal_parts:
    fig = plot_calibration(*cal_parts["impact_mbc"], horizon_label=f"{horizon:g} months", title=LABELS["impact_mbc"])
    save_figure(fig, "05_calibration_impact_mbc", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Calibration of the frozen model in ET-FES at the horizon (FES predictors from the largest lesions, as measured there): smoothed calibration curve with 95% bootstrap band, quantile groups (Kaplan-Meier, 95% CI) and the distribution of predicted risks.", "name": "fig-05-cal-etfes"}}
if "et_fes" in cal_parts:
    fig = plot_calibration(*cal_parts["et_fes"], horizon_label=f"{horizon:g} months", title=LABELS["et_fes"])
    save_figure(fig, "05_calibration_et_fes", build_dir)

# %% [markdown]
# ## Discrimination over time
#
# The cumulative/dynamic AUC at each time compares patients with a PFS1 event by then with those still
# event-free; it shows whether the model's ranking holds early and late, not only at the horizon.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Cumulative/dynamic AUC(t) of the frozen model's linear predictor over follow-up in each cohort, with pointwise 95% bootstrap intervals (development: apparent). Dashed: the horizon; dotted: no discrimination.", "name": "fig-05-auc"}}
auc_parts = []
for name, (_, _, frame) in cohorts.items():
    tmax = frame["pfs1_months"].max()
    times = [u for u in auc_times_months if u < tmax]
    if times:
        part = bootstrap_auc_curve(frame["pfs1_months"], frame["pfs1_event"], frame["lp"], times,
                                   n_boot=validation_n_boot_curves, seed=seed, n_jobs=validation_n_jobs)
        auc_parts.append(part.assign(cohort=LABELS[name]))
auc_curve = pd.concat(auc_parts, ignore_index=True)
save_table(auc_curve, "05_auc_curve", build_dir)
fig = plot_auc_curve(auc_curve, horizon=horizon, time_label="Months since start of first-line therapy")
save_figure(fig, "05_auc_curve", build_dir)

# %% [markdown]
# ## Decision curve
#
# Net benefit at the horizon weighs true against false positives at each threshold risk; "treating" here
# means any action reserved for patients whose predicted risk of early progression exceeds the threshold.
# A model is useful at thresholds where its curve lies above both "treat all" and "treat none". Observed
# risks above a threshold are Kaplan-Meier estimates (Vickers et al. 2008).

# %% tags=["remove-cell"]
recal, dca = {}, {}
for name in present:
    frame = cohorts[name][2]
    tt, ee = frame["pfs1_months"], frame["pfs1_event"]
    recal[name] = {m: fit_recalibration(tt, ee, frame["risk_t"], frame["lp"], horizon, method=m)
                   for m in ("intercept", "slope")}
    dca[name] = {"frozen": compute_net_benefit(tt, ee, frame["risk_t"], horizon),
                 "recalibrated": compute_net_benefit(tt, ee, recal[name]["slope"].risk, horizon)}
    save_table(dca[name]["frozen"], f"05_decision_curve_{name}", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Decision curve at the horizon in IMPACT-MBC: net benefit of acting on the frozen model's predicted risk (solid), of the model after recalibration of intercept and slope (dashed; apparent, fitted in these data), of acting for all and for none.", "name": "fig-05-dca-impact"}}
if "impact_mbc" in dca:
    fig = plot_decision_curve(dca["impact_mbc"]["frozen"], model_label="Frozen model",
                              extra={"Recalibrated (apparent)": dca["impact_mbc"]["recalibrated"]},
                              title=LABELS["impact_mbc"])
    save_figure(fig, "05_decision_curve_impact_mbc", build_dir)

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Decision curve at the horizon in ET-FES: net benefit of acting on the frozen model's predicted risk (solid), of the model after recalibration of intercept and slope (dashed; apparent, fitted in these data), of acting for all and for none.", "name": "fig-05-dca-etfes"}}
if "et_fes" in dca:
    fig = plot_decision_curve(dca["et_fes"]["frozen"], model_label="Frozen model",
                              extra={"Recalibrated (apparent)": dca["et_fes"]["recalibrated"]},
                              title=LABELS["et_fes"])
    save_figure(fig, "05_decision_curve_et_fes", build_dir)

# %% [markdown]
# ## Model updating (sensitivity analysis)
#
# If the model is miscalibrated in a new setting, the simplest repairs keep its ranking and change its
# scale: re-estimating the baseline hazard with the linear predictor as an offset (recalibration of the
# intercept), or also re-estimating the slope of the linear predictor (recalibration of intercept and slope).
# Both are fitted in the validation cohort itself, so their performance below is apparent and optimistic;
# discrimination cannot change, since the ranking of patients is kept. This is a sensitivity analysis: the
# validation above is of the model as frozen.

# %% tags=["remove-input"]
upd_rows = []
for name in present:
    frame = cohorts[name][2]
    tt, ee = frame["pfs1_months"], frame["pfs1_event"]
    versions = {"frozen": (frame["risk_t"], frame["lp"]),
                "intercept recalibrated": (recal[name]["intercept"].risk, frame["lp"]),
                "intercept and slope recalibrated": (recal[name]["slope"].risk,
                                                     recal[name]["slope"].slope * frame["lp"])}
    for label, (risk, lp) in versions.items():
        p = survival_performance(tt, ee, risk, lp, horizon)
        upd_rows.append({"cohort": LABELS[name], "model": label,
                         **{METRIC_LABELS[m]: p[m] for m in ("harrell_c", "oe", "calibration_slope", "ici", "brier",
                                                            "ipa")}})
    record(f"obj5_{name}_recalibration_slope", recal[name]["slope"].slope,
           f"{LABELS[name]}: slope of the linear predictor re-estimated in the cohort")
    record(f"obj5_{name}_recalibration_baseline_ratio", recal[name]["intercept"].summary["baseline_ratio"].iloc[0],
           f"{LABELS[name]}: re-estimated / frozen baseline cumulative hazard at the horizon")
if upd_rows:
    upd = pd.DataFrame(upd_rows).set_index(["cohort", "model"])
    save_table(upd, "05_model_updating", build_dir)
    display(Markdown(f"**Table 05.7.** The frozen model and its recalibrated versions at {horizon:g} months "
                     "(recalibrated versions: apparent performance in the cohort they were fitted in)."))
    display(upd.style.format(precision=3))
    txt = []
    for name in present:
        r0 = recal[name]["intercept"].summary["baseline_ratio"].iloc[0]
        txt.append(f"In {LABELS[name]} the baseline cumulative hazard at {horizon:g} months re-estimated with the "
                   f"linear predictor as offset is {fmt_num(r0)} times the frozen one, and the re-estimated slope "
                   f"of the linear predictor is {fmt_num(recal[name]['slope'].slope)}.")
    display(Markdown(" ".join(txt)))
else:
    display(Markdown("*No external cohort present: nothing to update.*"))

# %% [markdown]
# ## What can and cannot be validated
#
# The model of chapter 04 has two parts: a prognostic risk (validated above, as far as the cohorts allow)
# and a predicted benefit of adding a CDK4/6 inhibitor. Validating the second needs patients comparable in
# everything but the treatment, which only randomisation provides. IMPACT-MBC did not randomise (its
# first-line therapies, chosen by physicians, differ by prognosis), and ET-FES gave no CDK4/6 inhibitor at
# all. The predicted benefits below are therefore shown only to describe how the model would sort these
# patients; they are **not** a validation, and no c-for-benefit or calibration-for-benefit is computed here.

# %% tags=["remove-input"]
ben_rows = {}
for name, (_, analysis, frame) in cohorts.items():
    b = frame["benefit_t"]
    q1, q2, q3 = np.quantile(b, [0.25, 0.5, 0.75])
    arms = analysis["arm"].value_counts()
    ben_rows[LABELS[name]] = {
        "first-line therapy": "; ".join(f"{k} {v}" for k, v in arms.items()),
        "randomised CDK4/6i": "yes (SONIA)" if name == "sonimage" else "no",
        f"predicted benefit at {horizon:g} months, median [Q1, Q3]": f"{q2:.3f} [{q1:.3f}, {q3:.3f}]",
        "benefit validated here": "internally, chapter 04" if name == "sonimage" else "no (not identifiable)",
    }
ben = pd.DataFrame(ben_rows)
save_table(ben, "05_benefit_not_validated", build_dir)
display(Markdown("**Table 05.8.** What each cohort can say about predicted benefit (predicted benefit: "
                 "difference in PFS1 probability at the horizon, ET+CDK4/6i minus ET, from the frozen model)."))
display(ben)
