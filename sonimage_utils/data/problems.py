"""One problem in a data folder, and the CSV line of a data row: what validation and the rules both report.

Kept apart from :mod:`sonimage_utils.data.validate` and :mod:`sonimage_utils.data.checks` so that both can
import it without importing each other (the validate <-> checks cycle).

>>> str(Problem("sonimage/patients.csv", line_of(0), "age_years", "must be at least 18", "P001"))
'sonimage/patients.csv:2: age_years: must be at least 18 (patient_id=P001)'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "line_of"]


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a data folder."""

    file: str
    row: int
    column: str
    message: str
    patient_id: str = "-"
    level: str = "error"
    rule: str = ""  # cross-table rule id (rules.yml); empty for column checks

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        return f"{self.file}:{self.row}: {self.column}: {prefix}{self.message} (patient_id={self.patient_id})"


def line_of(index) -> int:
    """CSV line number of a 0-based data row index (header is line 1)."""
    return int(index) + 2
