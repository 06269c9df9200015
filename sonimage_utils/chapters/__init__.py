"""L5, chapters: one module per notebook; each assembles frames, figures and named results, never displays.
"""

from .section import Result, Section
from . import lesion_response, benefit_model

__all__ = ["Result", "Section", "lesion_response", "benefit_model"]
