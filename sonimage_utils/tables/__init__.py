"""L4, results -> display tables: one format table and one label table; no matplotlib.
"""

from .benefit import (
    format_riley_table, format_predictor_table, format_coefficient_table, format_risk_group_table,
    format_benefit_summary, format_optimism_table, format_calibration_for_benefit_table,
)
from .cohort import (
    TABLE1_VARIABLES, format_table1, format_case_mix, format_lesions_by_organ, format_scan_quality,
    format_patient_flow, format_event_types, format_scan_timing,
)
from .format import (
    NOT_ESTIMABLE, NOT_REACHED, Format, FORMATS, format_value, format_number, format_p, format_ci,
    format_estimate_ci, format_percent, format_count, is_missing, format_p_prose,
)
from .frames import (
    format_columns,
)
from .labels import (
    LABELS, label, relabel,
)
from .lesions import (
    format_recist_flow, format_fes_status_table, format_lesion_model_table, format_lmm_sensitivity,
    format_orr_table, format_bor_table, format_bor_no_measurable, format_recist_settings,
)
from .summary import (
    SummaryRow, SUMMARY_ROWS, format_conclusion, format_interaction_conclusion, format_results_summary,
)
from .survival import (
    format_km_table, format_cox_table, format_ph_table, format_hr_rows, format_power_table, describe_term,
    format_piecewise_table, format_rmst_table, format_km_difference_table, format_lr_tests,
    format_km_difference_note,
)
from .validation import (
    format_performance_table, format_estimate_rows, format_metric_frame, format_median_iqr,
    format_predictor_summary,
)

__all__ = [
    'format_riley_table', 'format_predictor_table', 'format_coefficient_table', 'format_risk_group_table',
    'format_benefit_summary', 'format_optimism_table', 'format_calibration_for_benefit_table',
    'TABLE1_VARIABLES', 'format_table1', 'format_case_mix', 'format_lesions_by_organ', 'format_scan_quality',
    'format_patient_flow', 'format_event_types', 'format_scan_timing',
    'NOT_ESTIMABLE', 'NOT_REACHED', 'Format', 'FORMATS', 'format_value', 'format_number', 'format_p',
    'format_ci', 'format_estimate_ci', 'format_percent', 'format_count', 'is_missing', 'format_p_prose',
    'format_columns', 'LABELS', 'label', 'relabel', 'format_recist_flow', 'format_fes_status_table',
    'format_lesion_model_table', 'format_lmm_sensitivity', 'format_orr_table', 'format_bor_table',
    'format_bor_no_measurable', 'format_recist_settings', 'SummaryRow', 'SUMMARY_ROWS', 'format_conclusion',
    'format_interaction_conclusion', 'format_results_summary', 'format_km_table', 'format_cox_table',
    'format_ph_table', 'format_hr_rows', 'format_power_table', 'describe_term', 'format_piecewise_table',
    'format_rmst_table', 'format_km_difference_table', 'format_lr_tests', 'format_km_difference_note',
    'format_performance_table', 'format_estimate_rows', 'format_metric_frame',
    'format_median_iqr', 'format_predictor_summary',
]
