"""L1, derivations (frame -> frame): lesion FES status, patient heterogeneity, the analysis set.
"""

from .analysis_sets import (
    derive_pfs_months, build_analysis_set,
)
from .covariates import (
    derive_model_covariates,
)
from .scan_timing import (
    derive_baseline_scan_timing, derive_scan_window_set,
)
from .heterogeneity import (
    HET_LEVELS, HET3_LEVELS, PATTERN_LEVELS, derive_lesion_fes_status, derive_patient_heterogeneity,
)

__all__ = [
    'derive_pfs_months', 'build_analysis_set', 'derive_model_covariates', 'HET_LEVELS', 'HET3_LEVELS',
    'PATTERN_LEVELS', 'derive_lesion_fes_status', 'derive_patient_heterogeneity', 'derive_baseline_scan_timing',
    'derive_scan_window_set',
]
