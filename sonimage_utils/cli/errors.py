"""The one error of the command line itself: wrong usage (exit status 2)."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(ValueError):
    """Wrong usage of the command line (exit status 2)."""
