"""L4, results -> display tables: one format table and one label table; no matplotlib.
"""

from .format import (fmt_num, fmt_p, fmt_ci, fmt_est_ci, fmt_pct)
from .survival import (format_km_table, format_cox_table, format_ph_table, format_hr_rows, format_power_table, describe_term, P_VALUE_FORMAT)

__all__ = ['fmt_num', 'fmt_p', 'fmt_ci', 'fmt_est_ci', 'fmt_pct', 'format_km_table', 'format_cox_table', 'format_ph_table', 'format_hr_rows', 'format_power_table', 'describe_term', 'P_VALUE_FORMAT']
