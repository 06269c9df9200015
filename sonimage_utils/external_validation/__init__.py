"""L3, objective 5: performance metrics, calibration, bootstrap CIs and decision curves
of a frozen survival model in an external cohort.
"""

from .bootstrap import (
    BootstrapPerformance, bootstrap_performance, bootstrap_calibration_curve, bootstrap_auc_curve,
    draw_bootstrap_indices,
)
from .calibration import (
    choose_calibration_knots, SmoothedCalibration, compute_smoothed_calibration, compute_grouped_calibration,
    compute_calibration_by_value, compute_calibration_rule, count_distinct_predictions, Recalibration,
    fit_recalibration, compute_expected_cumhaz,
)
from .decision_curve import (
    compute_net_benefit,
)
from .metrics import (
    check_survival_inputs, compute_km_risk, compute_harrell_c, compute_uno_c, compute_uno_c_from, compute_cd_auc,
    compute_cd_auc_from, compute_observed_expected, compute_observed_expected_from, compute_calibration_slope,
    compute_brier, compute_brier_from, compute_calibration_in_the_large,
)
from .performance import (
    PERFORMANCE_METRICS, survival_performance,
)
from .precision import (
    compute_expected_precision,
)

__all__ = [
    'BootstrapPerformance', 'bootstrap_performance', 'bootstrap_calibration_curve', 'bootstrap_auc_curve',
    'draw_bootstrap_indices', 'choose_calibration_knots', 'SmoothedCalibration', 'compute_smoothed_calibration',
    'compute_grouped_calibration', 'compute_calibration_by_value', 'compute_calibration_rule',
    'count_distinct_predictions', 'Recalibration', 'fit_recalibration', 'compute_expected_cumhaz',
    'compute_net_benefit', 'check_survival_inputs', 'compute_km_risk', 'compute_harrell_c', 'compute_uno_c',
    'compute_uno_c_from', 'compute_cd_auc', 'compute_cd_auc_from', 'compute_observed_expected',
    'compute_observed_expected_from', 'compute_calibration_slope', 'compute_brier', 'compute_brier_from',
    'compute_calibration_in_the_large', 'PERFORMANCE_METRICS', 'survival_performance',
    'compute_expected_precision',
]
