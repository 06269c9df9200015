"""L3, RECIST 1.1: the response engine, its rules, input checks and summaries.
"""

from .engine import (
    assess, RecistAssessment,
)
from .input import (
    parse_recist, parse_lesions, check_recist, RECIST_COLUMNS,
)
from .rules import (
    CR, PR, SD, PD, NE, NON_CR_NON_PD, RESPONSE_CODES, RESPONSE_RANK, TOO_SMALL_MM, NODE_NORMAL_MM,
    compute_target_response, compute_non_target_response, compute_overall_response,
    compute_best_overall_response,
)
from .summary import (
    BOR_ORDER, derive_sod_trajectories, derive_swimmer_data, tabulate_bor,
)

__all__ = [
    'assess', 'RecistAssessment', 'parse_recist', 'parse_lesions', 'check_recist', 'RECIST_COLUMNS', 'CR', 'PR',
    'SD', 'PD', 'NE', 'NON_CR_NON_PD', 'RESPONSE_CODES', 'RESPONSE_RANK', 'TOO_SMALL_MM', 'NODE_NORMAL_MM',
    'compute_target_response', 'compute_non_target_response', 'compute_overall_response',
    'compute_best_overall_response', 'BOR_ORDER', 'derive_sod_trajectories', 'derive_swimmer_data',
    'tabulate_bor',
]
