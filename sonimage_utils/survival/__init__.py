"""L2, time-to-event statistics, each estimator once: Kaplan-Meier, Cox, proportional hazards,
hazard-ratio rows, ridge Cox and the interaction power simulation.
"""

from .baseline import (
    check_survival_inputs, compute_km_table, compute_km_at, compute_km_risk, SurvivalOutcome,
    compute_baseline_cumhaz, evaluate_step,
)
from .cox import (
    CoxResult, build_design, fit_cox, compute_lr_test, extract_hr,
)
from .design import (
    compute_rcs_basis,
)
from .efron import (
    EfronCoxResult, fit_cox_efron,
)
from .hazard_ratios import (
    compute_hr_rows, compute_subgroup_hrs,
)
from .km import (
    KaplanMeierResult, LogrankResult, fit_km, compute_logrank, compute_survival_quantile, compute_km_crossings,
)
from .measures import (
    compute_harrell_c, compute_harrell_c_from_counts, compute_concordance_counts, compute_calibration_slope,
)
from .ph import (
    PHTestResult, compute_ph_test, compute_zph, compute_zph_smooth,
)
from .piecewise import (
    PiecewiseHRResult, derive_episodes, fit_piecewise_cox, format_interval,
)
from .power import (
    simulate_interaction_trials, fit_cox_batch, compute_interaction_power, compute_censoring_rate,
)
from .km_difference import (
    compute_km_cell_at, compute_km_interaction_at,
)
from .ridge_cox import (
    RidgeCoxResult, PenaltyCVResult, fit_ridge_cox, compute_log_partial_likelihood, cv_ridge_penalty,
    fit_ridge_cox_cv, DEFAULT_PENALTIES,
)
from .rmst import (
    compute_rmst_km, compute_rmst_difference,
)

__all__ = [
    'check_survival_inputs', 'compute_km_table', 'compute_km_at', 'compute_km_risk', 'SurvivalOutcome',
    'compute_baseline_cumhaz', 'evaluate_step', 'CoxResult', 'build_design', 'fit_cox', 'compute_lr_test',
    'extract_hr', 'compute_rcs_basis', 'EfronCoxResult', 'fit_cox_efron', 'compute_hr_rows', 'compute_subgroup_hrs',
    'KaplanMeierResult', 'LogrankResult', 'fit_km', 'compute_logrank', 'compute_survival_quantile',
    'compute_km_crossings', 'compute_harrell_c', 'compute_harrell_c_from_counts', 'compute_concordance_counts',
    'compute_calibration_slope', 'PHTestResult', 'compute_ph_test', 'compute_zph', 'compute_zph_smooth',
    'PiecewiseHRResult', 'derive_episodes', 'fit_piecewise_cox', 'format_interval', 'simulate_interaction_trials',
    'fit_cox_batch', 'compute_interaction_power', 'RidgeCoxResult', 'PenaltyCVResult', 'fit_ridge_cox',
    'compute_log_partial_likelihood', 'cv_ridge_penalty', 'fit_ridge_cox_cv', 'DEFAULT_PENALTIES',
    'compute_rmst_km', 'compute_rmst_difference', 'compute_censoring_rate', 'compute_km_cell_at',
    'compute_km_interaction_at',
]
