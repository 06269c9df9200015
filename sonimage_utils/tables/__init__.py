"""L4, results -> display tables: one format table and one label table; no matplotlib.
"""

from .format import (
    NOT_ESTIMABLE, NOT_REACHED, Format, FORMATS, format_value, format_number, format_p, format_ci,
    format_estimate_ci, format_percent, format_count, is_missing,
)
from .labels import (
    LABELS, label, relabel,
)
from .survival import (
    format_km_table, format_cox_table, format_ph_table, format_hr_rows, format_power_table, describe_term,
)
from .validation import (
    format_performance_table, format_predictor_summary,
)

__all__ = [
    'NOT_ESTIMABLE', 'NOT_REACHED', 'Format', 'FORMATS', 'format_value', 'format_number', 'format_p',
    'format_ci', 'format_estimate_ci', 'format_percent', 'format_count', 'is_missing', 'LABELS', 'label',
    'relabel', 'format_km_table', 'format_cox_table', 'format_ph_table', 'format_hr_rows', 'format_power_table',
    'describe_term', 'format_performance_table', 'format_predictor_summary',
]
