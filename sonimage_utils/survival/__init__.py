"""L2, time-to-event statistics, each estimator once: Kaplan-Meier, Cox, proportional hazards,
hazard-ratio rows, ridge Cox and the interaction power simulation.
"""

from .cox import (
    CoxResult, build_design, fit_cox, compute_lr_test, extract_hr,
)
from .hazard_ratios import (
    compute_hr_rows, compute_subgroup_hrs,
)
from .km import (
    KaplanMeierResult, LogrankResult, fit_km, compute_logrank, compute_survival_quantile,
)
from .ph import (
    PHTestResult, compute_ph_test, compute_zph,
)
from .power import (
    simulate_interaction_trials, fit_cox_batch, compute_interaction_power,
)
from .ridge_cox import (
    RidgeCoxResult, PenaltyCVResult, fit_ridge_cox, compute_log_partial_likelihood, compute_breslow_baseline,
    cv_ridge_penalty, fit_ridge_cox_cv, DEFAULT_PENALTIES,
)

__all__ = [
    'CoxResult', 'build_design', 'fit_cox', 'compute_lr_test', 'extract_hr', 'compute_hr_rows',
    'compute_subgroup_hrs', 'KaplanMeierResult', 'LogrankResult', 'fit_km', 'compute_logrank',
    'compute_survival_quantile', 'PHTestResult', 'compute_ph_test', 'compute_zph',
    'simulate_interaction_trials', 'fit_cox_batch', 'compute_interaction_power', 'RidgeCoxResult',
    'PenaltyCVResult', 'fit_ridge_cox', 'compute_log_partial_likelihood', 'compute_breslow_baseline',
    'cv_ridge_penalty', 'fit_ridge_cox_cv', 'DEFAULT_PENALTIES',
]
