"""Chapter 04's procedure recovers where the benefit is, on a large simulated cohort with a strong interaction.

Issue 12 ("Truth recovery"): on a simulated development cohort of 1,000 patients with a strong heterogeneity x
arm interaction, the chapter's own procedure (``sonimage simulate --truth``, then
:mod:`sonimage_utils.chapters.benefit_model` with the SAP's parameters from ``analysis.yml``) predicts larger
benefit where the truth puts it, with a c-for-benefit above 0.5.

Scenario: ``pfs.hr_interaction: 0.3`` (the ET+CDK4/6i hazard ratio is 0.59 in FES-homogeneous and
0.59 x 0.3 = 0.18 in FES-heterogeneous patients), seed 20261130. The truth's absolute benefit at the horizon is
larger in heterogeneous patients (computed below from ``truth.json``). Tolerances: the effect model's mean
predicted benefit is larger in the heterogeneous group by at least half the true difference at reference
covariates, and the effect model's c-for-benefit exceeds 0.5 with the lower limit of its 95% bootstrap CI
(200 resamples) above 0.5. About 1 minute on one core.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sonimage_utils.benefit.metrics import c_for_benefit
from sonimage_utils.chapters import benefit_model as bm
from sonimage_utils.cli.main import main
from sonimage_utils.derive.heterogeneity import derive_patient_heterogeneity
from sonimage_utils.pipeline.params import parameter_values

SEED = 20261130
HR_INTERACTION = 0.3


@pytest.mark.slow
def test_strong_interaction_direction_of_benefit_and_c_for_benefit_recovered(tmp_path):
    scenario = tmp_path / "scenario.yml"
    scenario.write_text(f"pfs.hr_interaction: {HR_INTERACTION}\n", encoding="utf-8")
    out = tmp_path / "data"
    assert main(["simulate", str(out), "--n-patients", "1000", "--seed", str(SEED), "--truth", str(scenario)]) == 0
    truth = json.loads((out / "truth.json").read_text())
    p = bm.BenefitSettings.from_parameters({**parameter_values(), "benefit_n_jobs": 1})
    d = bm.prepare_benefit_data(out, p)
    bm.section_sample_size(d, p)
    assert "hs" in d.features  # the heterogeneity score, first of the priority-ordered candidates
    bm.fit_development_model(d, p)
    dev = d.fit["dev"]

    # the truth at the horizon, at reference covariates (not visceral, WHO 0, mean FDG): S(t) = exp(-H0(t) hr)
    pfs = truth["pfs"]
    h0 = (p.horizon / pfs["weibull_scale_months"]) ** pfs["weibull_shape"]
    surv = lambda hr: math.exp(-h0 * hr)  # noqa: E731
    true_benefit = {"homogeneous": surv(pfs["hr_arm"]) - surv(1.0),
                    "heterogeneous": surv(pfs["hr_heterogeneous"] * pfs["hr_arm"] * HR_INTERACTION)
                    - surv(pfs["hr_heterogeneous"])}
    true_gap = true_benefit["heterogeneous"] - true_benefit["homogeneous"]
    assert true_gap > 0.1  # the scenario is strong: the truth puts the benefit in heterogeneous patients

    het = derive_patient_heterogeneity(d.cohort.lesions, fes_threshold=p.fes_threshold,
                                       fes_excluded_organs=p.fes_excluded_organs, fdg_threshold=None)
    group = het.set_index("patient_id")["het_group"].reindex(dev.index)
    mean = dev.groupby(group.astype(object))["effect_benefit_t"].mean()
    assert mean["heterogeneous"] - mean["homogeneous"] > 0.5 * true_gap

    cfb = c_for_benefit(dev["effect_benefit_t"], dev["treated"], dev["time"], dev["event"], p.horizon, n_boot=200,
                        seed=SEED)
    assert cfb.c > 0.5 and cfb.ci_low > 0.5, (cfb.c, cfb.ci_low, cfb.ci_high)
