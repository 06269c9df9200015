"""Shared computation for the SONImage analysis book.

Every statistical step of the book lives here as a small, tested function; the notebooks only load,
call, show and glue. Modules are layered after tern: statistics return numbers or DataFrames,
``formatting`` turns them into tables, ``*_plots`` modules return matplotlib Figures.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
