"""Shared computation for the SONImage analysis book.

Every statistical step of the book lives here as a small, tested function; the notebooks only load,
call, show and record. Subpackages are layered, bottom to top: ``data`` (the contract), ``derive``, the
statistics (``survival``, ``recist``, ``lesions``, ``benefit``, ``external_validation``, ``imaging``,
``descriptive``; ``simulate`` beside them), ``tables``, ``plots`` (Figures), ``chapters``, ``pipeline`` and
``cli``; a layer imports only from those below it (``CONTRIBUTING.md``; checked by ``tests/test_layers.py``).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
