"""L3, objective 4: model features, Riley sample size, the benefit procedure, risk groups,
c-for-benefit, bootstrap internal validation and the frozen model artifact.
"""

from .artifact import (
    SCHEMA_VERSION, compute_data_hash, compute_file_hashes, freeze_model, write_model, load_model, predict_model,
)
from .features import (
    FEATURE_DEFINITIONS, SUV_FLOOR, complete_feature_settings, derive_model_features, derive_outcome,
    fit_preprocessing, apply_preprocessing,
)
from .internal_validation import (
    compute_observed_risk_curve, bootstrap_optimism, OptimismResult, compute_optimism_stability,
)
from .metrics import (
    c_for_benefit_pairs, match_on_predicted_benefit, c_for_benefit, CForBenefitResult,
    compute_calibration_for_benefit, assign_quantile_groups, compute_group_collapse,
)
from .procedure import (
    fit_benefit_procedure, predict_from_features, compute_survival_at, compute_rmst, fit_for_bootstrap,
    evaluate_benefit_model, compute_risk_grid, bootstrap_benefit_procedure, derive_penalty_cv_table,
    predict_benefit_columns,
)
from .uncertainty import (
    compute_prediction_intervals, compute_benefit_distribution, summarise_prediction_intervals,
)
from .risk_groups import (
    assign_risk_groups, compute_risk_group_effects,
)
from .sample_size import (
    riley_sample_size, riley_max_parameters, riley_n_criterion3, select_model_features,
)

__all__ = [
    'SCHEMA_VERSION', 'compute_data_hash', 'compute_file_hashes', 'freeze_model', 'write_model', 'load_model',
    'predict_model', 'FEATURE_DEFINITIONS', 'SUV_FLOOR', 'complete_feature_settings', 'derive_model_features',
    'derive_outcome', 'fit_preprocessing', 'apply_preprocessing', 'compute_observed_risk_curve',
    'bootstrap_optimism', 'OptimismResult', 'compute_optimism_stability', 'c_for_benefit_pairs',
    'match_on_predicted_benefit', 'c_for_benefit', 'CForBenefitResult', 'compute_calibration_for_benefit',
    'assign_quantile_groups', 'compute_group_collapse', 'fit_benefit_procedure', 'predict_from_features',
    'compute_survival_at', 'compute_rmst', 'fit_for_bootstrap', 'evaluate_benefit_model', 'compute_risk_grid',
    'bootstrap_benefit_procedure', 'derive_penalty_cv_table', 'assign_risk_groups',
    'compute_risk_group_effects', 'riley_sample_size', 'riley_max_parameters', 'riley_n_criterion3',
    'select_model_features', 'compute_prediction_intervals', 'compute_benefit_distribution',
    'summarise_prediction_intervals', 'predict_benefit_columns',
]
