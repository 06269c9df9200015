"""L5, chapters: one module per notebook; each assembles frames, figures and named results, never displays.
"""

from . import cohort, pfs_heterogeneity, treatment_interaction
from .section import Result, Section

__all__ = ["Result", "Section", "cohort", "pfs_heterogeneity", "treatment_interaction"]
