"""Known-truth generators for the synthetic cohorts; imports only the data contract.
"""

from .benefit import (
    TRUE_LOG_HR, simulate_benefit_cohort,
)
from .cohort import (
    simulate_cohort, simulate_data_folder, simulate_folder_cohorts, write_table, COLUMNS, DECIMALS,
)
from .lesions import (
    simulate_lesions, derive_simulated_heterogeneity,
)
from .patients import (
    simulate_baseline, simulate_pfs, simulate_scans,
)
from .recist import (
    simulate_recist, select_targets,
)
from .truth import (
    DEFAULT_TRUTH, build_truth, mixture_median_months, expand_dotted_overrides, read_truth_overrides,
)

__all__ = [
    'TRUE_LOG_HR', 'simulate_benefit_cohort', 'simulate_cohort', 'simulate_data_folder',
    'simulate_folder_cohorts', 'write_table', 'COLUMNS', 'DECIMALS', 'simulate_lesions',
    'derive_simulated_heterogeneity', 'simulate_baseline', 'simulate_pfs', 'simulate_scans', 'simulate_recist',
    'select_targets', 'DEFAULT_TRUTH', 'build_truth', 'mixture_median_months', 'expand_dotted_overrides',
    'read_truth_overrides',
]
