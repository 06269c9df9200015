"""L5, the only layer that imports matplotlib and seaborn: results -> Figure.
"""

from .benefit import (
    plot_risk_group_effects, plot_benefit_distribution, plot_calibration_for_benefit,
    plot_bootstrap_calibration, plot_penalty_cv,
)
from .cohort import (
    plot_suv_by_organ, plot_heterogeneity_score, plot_scan_quality, plot_patient_flow,
)
from .figure import (
    write_figure, close_figure,
)
from .imaging import (
    plot_uptake_times,
)
from .lesions import (
    FES_COLORS, GROUP_COLORS, BOR_COLORS, plot_waterfall, plot_uptake_scatter, plot_bor_stacked, plot_spider,
    plot_swimmer,
)
from .survival import (
    plot_km, plot_km_panels, plot_schoenfeld, plot_forest, plot_interaction_power, PALETTE,
)
from .validation import (
    plot_calibration, plot_auc_curve, plot_decision_curve, plot_lp_distribution,
)

__all__ = [
    'plot_risk_group_effects', 'plot_benefit_distribution', 'plot_calibration_for_benefit',
    'plot_bootstrap_calibration', 'plot_penalty_cv', 'plot_suv_by_organ', 'plot_heterogeneity_score',
    'plot_scan_quality', 'plot_patient_flow',
    'write_figure', 'close_figure', 'plot_uptake_times', 'FES_COLORS', 'GROUP_COLORS',
    'BOR_COLORS', 'plot_waterfall', 'plot_uptake_scatter', 'plot_bor_stacked', 'plot_spider', 'plot_swimmer',
    'plot_km', 'plot_km_panels', 'plot_schoenfeld', 'plot_forest', 'plot_interaction_power', 'PALETTE',
    'plot_calibration', 'plot_auc_curve', 'plot_decision_curve', 'plot_lp_distribution',
]
