"""L5, chapters: one module per notebook; each assembles frames, figures and named results, never displays.
"""

from . import cohort, pfs_heterogeneity, treatment_interaction
from .section import Result, Section
from . import lesion_response, benefit_model

__all__ = ["Result", "Section", "cohort", "pfs_heterogeneity", "treatment_interaction", "lesion_response",
           "benefit_model"]
