"""What a chapter module hands to its notebook: named results, display tables, figures and sentences.

A chapter module (one per notebook) assembles these and never displays anything; the notebook shows the
tables and figures and records the results (:func:`sonimage_utils.pipeline.report.record_section`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Result", "Section"]


@dataclass(frozen=True)
class Result:
    """One number for the results registry.

    Attributes
    ----------
    name : str
        Registry name (``objN_...`` or ``cohort_...``).
    value : float, int or None
        None (or NaN) where the statistic does not exist; ``description`` or the prose says why.
    description : str
        One line for ``results.csv``.
    kind : str
        A key of :data:`sonimage_utils.tables.format.FORMATS`.
    missing : str or None
        The word for a missing value where the kind's own word does not fit.
    """

    name: str
    value: object
    description: str
    kind: str
    missing: str | None = None


@dataclass
class Section:
    """The output of one section of a chapter.

    Attributes
    ----------
    results : list of Result
    tables : dict of str to pandas.DataFrame
        Display tables, by a short key the notebook uses.
    figures : dict of str to matplotlib.figure.Figure
        By a short key; built by the plots layer.
    text : dict of str to str
        Generated sentences (Markdown), chosen from the numbers.
    data : dict
        Anything else a later section of the same chapter needs (frames, fitted models).
    """

    results: list[Result] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    def add(self, name: str, value, description: str, kind: str, missing: str | None = None) -> None:
        """Append a :class:`Result`."""
        self.results.append(Result(name, value, description, kind, missing))

    def value(self, name: str):
        """The value of the result ``name``.

        Raises
        ------
        KeyError
            If the section has no such result.
        """
        for r in self.results:
            if r.name == name:
                return r.value
        raise KeyError(name)
