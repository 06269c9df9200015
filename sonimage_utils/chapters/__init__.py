"""L5, chapters: one module per notebook; each assembles frames, figures and named results, never displays.
"""

from .section import Result, Section

__all__ = ["Result", "Section"]
