"""RECIST 1.1 decision rules on one assessment (no I/O, no pandas).

The rules of RECIST 1.1 (``book/methods.md``) as small pure functions, so that each can be tested on its own and the
table-driven cases of ``tests/cases/recist_cases.yaml`` read like the guideline. :mod:`sonimage_utils.recist`
strings them together over a patient's assessments.

No maintained Python library implements RECIST 1.1 response assessment (it lives in trial data systems and
SAS macros), so these few rules are written by hand.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-47.
"""

from __future__ import annotations

import math
from typing import Sequence

__all__ = [
    "CR",
    "PR",
    "SD",
    "PD",
    "NE",
    "NON_CR_NON_PD",
    "RESPONSE_CODES",
    "RESPONSE_RANK",
    "TOO_SMALL_MM",
    "NODE_NORMAL_MM",
    "compute_target_response",
    "compute_non_target_response",
    "compute_overall_response",
    "compute_best_overall_response",
]

CR, PR, SD, PD, NE, NON_CR_NON_PD = "CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"
#: All response codes the module returns.
RESPONSE_CODES = (CR, PR, SD, PD, NE, NON_CR_NON_PD)
#: Order for the best overall response: CR > PR > SD = non-CR/non-PD > PD > NE.
RESPONSE_RANK = {CR: 4, PR: 3, SD: 2, NON_CR_NON_PD: 2, PD: 1, NE: 0}
#: A non-nodal target lesion too small to measure counts this many mm.
TOO_SMALL_MM = 5.0
#: A lymph node with short axis below this is normal (nodal CR).
NODE_NORMAL_MM = 10.0

_EPS = 1e-9  # tolerance for the 20% / 30% / 5 mm comparisons on float diameters


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def compute_target_response(diameters: Sequence[float], is_node: Sequence[bool], baseline_sum: float,
                            nadir: float) -> tuple[str, float, float]:
    """Target-lesion response at one assessment.

    Parameters
    ----------
    diameters : sequence of float
        Diameters as used (too-small already replaced by 5 mm), one per baseline target lesion; NaN or None
        where the lesion was not assessed.
    is_node : sequence of bool
        Whether each target lesion is a lymph node (short axis).
    baseline_sum : float
        Sum of diameters at baseline (> 0).
    nadir : float
        Smallest sum of diameters at the earlier assessments, baseline included.

    Returns
    -------
    response : str
        ``CR``, ``PR``, ``SD``, ``PD`` or ``NE``.
    sum_diameters : float
        Sum of diameters, NaN when a lesion was not assessed.
    sum_measured : float
        Sum over the lesions that were measured.

    Notes
    -----
    Order of the rules: NE (a lesion not assessed) unless the measured lesions alone already give PD; CR when
    every non-nodal target is 0 mm and every nodal target is below 10 mm (nodes keep their short axis, so the
    sum need not be 0); PD when the sum is >= 20% and >= 5 mm above the nadir; PR when the sum is <= 70% of
    baseline; SD otherwise. CR is checked before PD: nodes that stay below 10 mm are normal whatever their
    growth (RECIST 1.1 section 4.3.1 and the 2016 clarification of the RECIST committee).

    Examples
    --------
    >>> compute_target_response([20.0, 14.0], [False, False], 50.0, 50.0)[0]
    'PR'
    >>> compute_target_response([float("nan"), 80.0], [False, False], 50.0, 50.0)[0]
    'PD'
    """
    if len(diameters) != len(is_node) or len(diameters) == 0:
        raise ValueError("diameters and is_node must have the same, non-zero length")
    measured = [float(d) for d in diameters if not _is_missing(d)]
    sum_measured = float(sum(measured))
    increase = sum_measured - nadir
    is_pd = increase >= 0.2 * nadir - _EPS and increase >= 5.0 - _EPS
    if len(measured) < len(diameters):
        return (PD if is_pd else NE), math.nan, sum_measured
    total = sum_measured
    all_normal = all((d < NODE_NORMAL_MM) if node else (d == 0.0) for d, node in zip(measured, is_node))
    if all_normal:
        return CR, total, total
    if is_pd:
        return PD, total, total
    if total <= 0.7 * baseline_sum + _EPS:
        return PR, total, total
    return SD, total, total


def compute_non_target_response(statuses: Sequence[str | None]) -> str | None:
    """Non-target response at one assessment.

    Parameters
    ----------
    statuses : sequence of str or None
        One per baseline non-target lesion: ``present``, ``absent``, ``unequivocal_progression`` or
        ``not_assessed`` (None counts as not assessed).

    Returns
    -------
    str or None
        ``PD`` if any unequivocal progression, else ``NE`` if any not assessed, else ``CR`` if all absent
        (a node counts absent once normal, < 10 mm), else ``NON_CR_NON_PD``; None when there are no
        non-target lesions.

    Examples
    --------
    >>> compute_non_target_response(["absent", "present"])
    'NON_CR_NON_PD'
    >>> compute_non_target_response([]) is None
    True
    """
    if len(statuses) == 0:
        return None
    statuses = ["not_assessed" if _is_missing(s) else s for s in statuses]
    if "unequivocal_progression" in statuses:
        return PD
    if "not_assessed" in statuses:
        return NE
    if all(s == "absent" for s in statuses):
        return CR
    return NON_CR_NON_PD


def compute_overall_response(target: str | None, non_target: str | None, new_lesion: bool) -> str:
    """Overall response at one assessment (RECIST 1.1 tables 1 and 2).

    Parameters
    ----------
    target : str or None
        Target response, None when the patient has no target lesion.
    non_target : str or None
        Non-target response, None when the patient has no non-target lesion.
    new_lesion : bool
        An unequivocal new lesion (or an equivocal one later confirmed) at this assessment.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If both ``target`` and ``non_target`` are None (no disease to assess).

    Examples
    --------
    >>> compute_overall_response("CR", "NON_CR_NON_PD", False)
    'PR'
    >>> compute_overall_response(None, "CR", True)
    'PD'
    """
    if target is None and non_target is None:
        raise ValueError("a patient needs target or non-target lesions to be assessed")
    if new_lesion or target == PD or non_target == PD:
        return PD
    if target is None:  # table 2: no target disease
        return {CR: CR, NE: NE, NON_CR_NON_PD: NON_CR_NON_PD}[non_target]
    if target == CR:
        return CR if non_target in (CR, None) else PR
    if target == PR:
        return PR
    if target == SD:
        return SD
    return NE  # target NE, no PD anywhere


def compute_best_overall_response(days: Sequence[float], responses: Sequence[str], *, sd_min_days: float = 42,
                                  confirm: bool = False, confirm_min_days: float = 28,
                                  has_target: bool = True) -> tuple[str, int | None]:
    """Best overall response over the follow-up assessments of one patient.

    Parameters
    ----------
    days : sequence of float
        Days from the baseline assessment of each follow-up assessment, increasing.
    responses : sequence of str
        Overall response at each assessment (after dating back PD of confirmed equivocal new lesions).
    sd_min_days : float
        SD (or non-CR/non-PD) counts only at an assessment at least this many days after baseline.
    confirm : bool
        Require CR/PR to be seen again at least ``confirm_min_days`` later (before any PD); an unconfirmed
        CR/PR counts as SD (non-CR/non-PD without target disease) if the SD minimum is met.
    confirm_min_days : float
        Minimum interval for confirmation (RECIST 1.1: 4 weeks).
    has_target : bool
        Whether the patient has target disease (sets the name of the stable category).

    Returns
    -------
    best : str
        ``CR``, ``PR``, ``SD``, ``NON_CR_NON_PD``, ``PD`` or ``NE``.
    index : int or None
        Position of the first assessment giving ``best`` (None when ``best`` is NE by default).

    Notes
    -----
    Only assessments up to and including the first PD count. A confirming assessment may follow with any
    response other than PD in between; CR followed by PR confirms PR (the first CR is then read as a PR,
    RECIST 1.1 table 3, footnote).

    Examples
    --------
    >>> compute_best_overall_response([30, 60], ["SD", "PD"])
    ('PD', 1)
    >>> compute_best_overall_response([30, 60], ["PR", "SD"], confirm=True)  # unconfirmed PR at day 30
    ('SD', 1)
    """
    if len(days) != len(responses):
        raise ValueError("days and responses must have the same length")
    stable = SD if has_target else NON_CR_NON_PD
    end = len(responses)
    for i, r in enumerate(responses):
        if r == PD:
            end = i + 1
            break
    best, best_i = NE, None
    for i in range(end):
        r = responses[i]
        if r in (CR, PR) and confirm:
            r = stable
            for j in range(i + 1, end):
                if responses[j] in (CR, PR) and days[j] - days[i] >= confirm_min_days:
                    r = CR if (responses[i] == CR and responses[j] == CR) else PR
                    if r == CR:
                        break
        if r in (SD, NON_CR_NON_PD) and days[i] < sd_min_days:
            continue
        if r == NE:
            continue
        if best_i is None or RESPONSE_RANK[r] > RESPONSE_RANK[best]:
            best, best_i = r, i
    return best, best_i
