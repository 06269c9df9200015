"""The `sonimage` command line: one module per sub-command (pydicom's ``cli/`` pattern)."""

from .main import main

__all__ = ["main"]
