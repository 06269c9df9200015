"""Collections of hazard ratios for summary tables and forest plots (statistics layer, no formatting).

* :func:`compute_hr_rows` fits a list of Cox models (sensitivity analyses) and returns one row per reported
  coefficient, each with its own patients, events and status.
* :func:`compute_subgroup_hrs` gives the treatment HR within each level of a grouping variable from an
  interaction model (``group * arm``), as linear combinations of its coefficients, with the patients and
  events of each subgroup.
"""

from __future__ import annotations

import pandas as pd

from sonimage_utils.survival.cox import CoxResult, extract_hr, fit_cox
from sonimage_utils.survival.design import _parse

__all__ = ["compute_hr_rows", "compute_subgroup_hrs"]


def compute_hr_rows(specs: list, *, time: str = "pfs1_months", event: str = "pfs1_event",
                    reference: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Fit each specified model and collect the hazard ratios asked for.

    Parameters
    ----------
    specs : list of dict
        Each with ``analysis`` (row label), ``data`` (DataFrame), ``formula`` and ``report`` (dict of design
        column -> comparison label, e.g. ``{"het_group[heterogeneous]": "heterogeneous vs homogeneous"}``);
        optional ``strata`` (column(s) passed to :func:`~sonimage_utils.survival.cox.fit_cox`) and ``group``
        (a categorical column whose patients and events per level, in the model's complete cases, are
        reported in ``group_counts``).
    time, event : str
    reference : dict, optional
        Reference levels passed to :func:`~sonimage_utils.survival.cox.fit_cox`.

    Returns
    -------
    rows : pandas.DataFrame
        ``analysis``, ``comparison``, ``name``, ``n``, ``n_events``, ``hr``, ``hr_ci_low``, ``hr_ci_high``,
        ``p``, ``status``, ``message``, ``group_counts`` (list of ``(level, patients, events)``, empty
        without ``group``).
    fits : dict
        ``analysis`` -> :class:`~sonimage_utils.survival.cox.CoxResult`.

    Raises
    ------
    ValueError
        If a spec lacks a key or reports a coefficient its model does not have.
    """
    rows, fits = [], {}
    for spec in specs:
        missing = {"analysis", "data", "formula", "report"} - set(spec)
        if missing:
            raise ValueError(f"spec {spec.get('analysis', '?')!r} lacks {sorted(missing)}")
        fit = fit_cox(spec["data"], spec["formula"], time=time, event=event, reference=reference,
                      strata=spec.get("strata"))
        fits[spec["analysis"]] = fit
        counts = []
        if spec.get("group"):
            used = sorted({v for t in _parse(spec["formula"]) for v in t} | {spec["group"]}
                          | set([spec["strata"]] if isinstance(spec.get("strata"), str) else spec.get("strata") or []))
            cc = spec["data"].dropna(subset=[time, event, *used])
            col = cc[spec["group"]]
            levels = ([c for c in col.cat.categories if (col == c).any()]
                      if isinstance(col.dtype, pd.CategoricalDtype) else sorted(col.unique().tolist(), key=str))
            counts = [(str(lv), int((col == lv).sum()), int(cc.loc[col == lv, event].sum())) for lv in levels]
        for name, comparison in spec["report"].items():
            row = extract_hr(fit, name, comparison)
            rows.append({"analysis": spec["analysis"], "comparison": row.pop("label"), "name": name, **row,
                         "group_counts": counts})
    return pd.DataFrame(rows), fits


def compute_subgroup_hrs(interaction: CoxResult, data: pd.DataFrame, group: str, arm: str = "arm",
                         treated: str = "ET+CDK4/6i", *, event: str = "pfs1_event") -> pd.DataFrame:
    """Treatment HR within each level of ``group`` from a ``group * arm`` Cox model.

    Parameters
    ----------
    interaction : CoxResult
        Fit of ``"<group> * <arm>"`` (treatment coding).
    data : pandas.DataFrame
        The data the model was fitted on (for patients and events per subgroup).
    group, arm : str
        Column names.
    treated : str
        Arm level whose HR against the reference arm is reported.
    event : str

    Returns
    -------
    pandas.DataFrame
        One row per group level: ``label``, ``n``, ``n_events``, ``coef``, ``se``, ``hr``, ``hr_ci_low``,
        ``hr_ci_high``, ``p``, ``status``, ``message`` (NaN estimates, and the model's message, when the model
        is not ``ok``).

    Raises
    ------
    ValueError
        If a fitted model has no ``arm`` or interaction coefficient for ``treated``.
    """
    arm_name = f"{arm}[{treated}]"
    names = list(interaction.summary["name"])
    sub = data.dropna(subset=[group])
    if not interaction.ok:
        # nothing to combine: one row per level present, estimates missing, the model's reason attached
        levels = list(pd.unique(sub[group])) if not isinstance(sub[group].dtype, pd.CategoricalDtype) else \
            [c for c in sub[group].cat.categories if (sub[group] == c).any()]
        nan = {k: float("nan") for k in ("coef", "se", "hr", "hr_ci_low", "hr_ci_high", "z", "p")}
        return pd.DataFrame([{"label": str(lv), "n": int((sub[group] == lv).sum()),
                              "n_events": int(sub.loc[sub[group] == lv, event].sum()), **nan,
                              "status": interaction.status, "message": interaction.message} for lv in levels])
    if arm_name not in names:
        raise ValueError(f"{arm_name!r} is not a coefficient of {interaction.formula!r}")
    ref = interaction.reference.get(group)
    levels = [ref] + [n[len(group) + 1:-1] for n in names if n.startswith(f"{group}[") and ":" not in n]
    rows = []
    for level in levels:
        weights = {arm_name: 1.0}
        if level != ref:
            inter = f"{group}[{level}]:{arm_name}"
            if inter not in names:
                raise ValueError(f"{inter!r} is not a coefficient: is the model '{group} * {arm}'?")
            weights[inter] = 1.0
        est = interaction.contrast(weights)
        part = sub[sub[group] == level]
        rows.append({"label": str(level), "n": len(part), "n_events": int(part[event].sum()), **est,
                     "status": interaction.status, "message": interaction.message})
    return pd.DataFrame(rows)
