"""Display tables of objective 3 (lesion-level response and RECIST 1.1): numbers to text, no computation.

Every estimate with its interval in the one style (:func:`~sonimage_utils.tables.format.format_estimate_ci`),
every p-value by the one rule, every name through the one label table.
"""

from __future__ import annotations

import pandas as pd

import numpy as np

from sonimage_utils.lesions import compute_joint_wald
from sonimage_utils.tables.format import (NOT_ESTIMABLE, format_ci, format_estimate_ci, format_number, format_p,
                                          format_value)
from sonimage_utils.tables.frames import format_columns
from sonimage_utils.tables.labels import label

__all__ = ["format_recist_flow", "format_fes_status_table", "format_lesion_model_table", "format_lmm_sensitivity",
           "format_orr_table", "format_bor_table", "format_bor_no_measurable", "format_recist_settings",
           "format_fes_form_table", "format_depth_nadir_table"]


def format_recist_flow(counts: dict) -> pd.DataFrame:
    """Patients and target lesions in the RECIST analyses: one row per step, ``n``.

    Parameters
    ----------
    counts : dict of str to int
        Step (as it reads in the table) -> count, in order.

    Examples
    --------
    >>> format_recist_flow({"Patients in the cohort": 10}).to_dict("list")
    {'': ['Patients in the cohort'], 'n': [10]}
    """
    return pd.DataFrame({"": list(counts), "n": [int(v) for v in counts.values()]})


def format_fes_status_table(by_status: pd.DataFrame, response_threshold: float) -> pd.DataFrame:
    """Target lesions by FES status (from ``derive_lesion_response_by_fes_status``) for display.

    Examples
    --------
    >>> t = pd.DataFrame({"fes_status": ["negative"], "lesions": [26], "patients": [13],
    ...                   "median_best_pct_change": [-3.68], "responding": [0.0385]})
    >>> format_fes_status_table(t, -30.0).to_dict("index")
    {'FES-negative': {'lesions': 26, 'patients': 13, 'median best change (%)': '-3.7', 'responding (<= -30%)': '4%'}}
    """
    t = by_status.assign(fes_status=[f"fes_{s}" for s in by_status["fes_status"]],
                         median_best_pct_change=[format_number(v, 1) for v in by_status["median_best_pct_change"]])
    return format_columns(t, {"responding": "percent"},
                          relabel_values=("fes_status",), index="FES status",
                          labels={"fes_status": "FES status", "median_best_pct_change": "median best change (%)",
                                  "responding": f"responding (<= {format_value(response_threshold, 'parameter')}%)"})


def format_lesion_model_table(summary: pd.DataFrame, *, odds: bool = False) -> pd.DataFrame:
    """Fixed effects of a lesion model (``LesionModelResult.summary``): estimate (95% CI), SE, p.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``term``, ``estimate``, ``ci_low``, ``ci_high``, ``std_error``, ``p_value`` (and ``odds_ratio``,
        ``or_ci_low``, ``or_ci_high`` when ``odds``).
    odds : bool
        Show the odds ratio (GEE) instead of the coefficient.

    Examples
    --------
    >>> s = pd.DataFrame({"term": ["fes_suvmax_assessable"], "estimate": [-3.2885], "ci_low": [-4.508],
    ...                   "ci_high": [-2.069], "std_error": [0.622], "p_value": [1e-7]})
    >>> format_lesion_model_table(s).to_dict("index")["FES SUVmax (FES-assessable lesions)"]
    {'coefficient, % points (95% CI)': '-3.29 (-4.51 to -2.07)', 'SE': '0.622', 'p': '<0.001'}
    """
    est, lo, hi = ("odds_ratio", "or_ci_low", "or_ci_high") if odds else ("estimate", "ci_low", "ci_high")
    head = "odds ratio (95% CI)" if odds else "coefficient, % points (95% CI)"
    return pd.DataFrame({
        "term": [label(t) for t in summary["term"]],
        head: [format_estimate_ci(e, a, b) for e, a, b in zip(summary[est], summary[lo], summary[hi])],
        "SE": [format_number(v, 3) for v in summary["std_error"]],
        "p": [format_p(v) for v in summary["p_value"]]}).set_index("term")


def format_lmm_sensitivity(fits: dict, term: str = "fes_suvmax_assessable") -> pd.DataFrame:
    """One coefficient across sensitivity models: model, lesions, patients, coefficient, 95% CI, p.

    Parameters
    ----------
    fits : dict of str to LesionModelResult or to (LesionModelResult, list of str)
        Model description -> fitted model (with its FES terms), in display order. With two or more FES terms
        (a spline) there is no single coefficient: it reads "not estimable" and p is the joint Wald test.
    term : str
        The coefficient shown for a fit given without its terms.
    """
    rows = []
    for name, item in fits.items():
        fit, terms = item if isinstance(item, tuple) else (item, [term])
        if len(terms) == 1:
            c = fit.coef(terms[0])
            est, ci, p = format_number(c["estimate"]), format_ci(c["ci_low"], c["ci_high"]), c["p_value"]
        else:
            est, ci, p = NOT_ESTIMABLE, NOT_ESTIMABLE, compute_joint_wald(fit, terms)["p_value"]
        rows.append({"model": name, "lesions": fit.n_obs, "patients": fit.n_groups,
                     "FES coefficient": est, "95% CI": ci, "p": format_p(p)})
    return pd.DataFrame(rows)


def format_fes_form_table(selection: dict) -> pd.DataFrame:
    """The SAP rule's comparison of FES forms (``compute_fes_form_selection``): form, ML AIC, difference, chosen.

    Examples
    --------
    >>> sel = {"form": "log", "aic": {"linear": 885.0, "log": 866.0, "spline": 865.0},
    ...        "delta_aic": {"linear": 0.0, "log": -19.0, "spline": -20.0}}
    >>> format_fes_form_table(sel)["chosen"].tolist()
    ['', 'yes', '']
    """
    names = {"linear": "linear (per unit SUVmax)", "log": "log2 (per doubling of SUVmax)",
             "spline": "restricted cubic spline, 3 knots"}
    forms = list(selection["aic"])
    return pd.DataFrame({
        "FES SUVmax form": [names.get(f, f) for f in forms],
        "ML AIC": [format_number(selection["aic"][f], 1) if np.isfinite(selection["aic"][f]) else "not a candidate"
                   for f in forms],
        "AIC minus linear": [format_number(selection["delta_aic"][f], 1) if np.isfinite(selection["delta_aic"][f])
                             else "" for f in forms],
        "chosen": ["yes" if f == selection["form"] else "" for f in forms]})


def format_depth_nadir_table(depth: pd.DataFrame, group: str = "het_group") -> pd.DataFrame:
    """Depth of response and time to nadir by group (``derive_depth_and_nadir`` with the group column).

    Medians with the interquartile range; time to nadir among patients whose sum of diameters fell below
    baseline.

    Examples
    --------
    >>> t = pd.DataFrame({"het_group": ["homogeneous"] * 3, "depth_pct": [-40.0, -10.0, 5.0],
    ...                   "months_to_nadir": [4.0, 2.0, float("nan")]})
    >>> [str(v) for v in format_depth_nadir_table(t).iloc[0]]
    ['3', '-10.0 (-25.0 to -2.5)', '2', '3.0 (2.5 to 3.5)']
    """
    rows = {}
    d = depth[depth[group].notna()]
    for g, sub in d.groupby(group, sort=True, observed=True):
        def med(x):
            x = x.dropna()
            if not len(x):
                return NOT_ESTIMABLE
            q = np.quantile(x, [0.25, 0.5, 0.75])
            return f"{format_number(q[1], 1)} ({format_number(q[0], 1)} to {format_number(q[2], 1)})"
        rows[label(str(g))] = {"patients": len(sub), "depth of response, % (median, IQR)": med(sub["depth_pct"]),
                               "with shrinkage": int(sub["months_to_nadir"].notna().sum()),
                               "months to nadir (median, IQR)": med(sub["months_to_nadir"])}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "heterogeneity group"
    return out


def format_orr_table(orr: pd.DataFrame, by: str = "heterogeneity group") -> pd.DataFrame:
    """Objective response rate per group (``compute_orr``): n, responders, ORR (exact 95% CI).

    Examples
    --------
    >>> o = pd.DataFrame({"group": ["homogeneous"], "n": [39], "n_responders": [16], "orr": [0.41],
    ...                   "ci_low": [0.256], "ci_high": [0.579]})
    >>> format_orr_table(o).to_dict("index")
    {'ER-homogeneous': {'n': 39, 'responders': 16, 'ORR (95% CI)': '41% (26% to 58%)'}}
    """
    return pd.DataFrame({
        by: [label(str(g)) for g in orr["group"]], "n": orr["n"].to_list(),
        "responders": orr["n_responders"].to_list(),
        "ORR (95% CI)": [format_estimate_ci(o, a, b, 0, percent=True)
                         for o, a, b in zip(orr["orr"], orr["ci_low"], orr["ci_high"])]}).set_index(by)


def format_bor_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Best overall response by group (``tabulate_bor`` counts): response codes as labels.

    Examples
    --------
    >>> t = pd.DataFrame({"PR": [1], "NON_CR_NON_PD": [2], "n": [3]}, index=["homogeneous"])
    >>> format_bor_table(t).columns.tolist()
    ['PR', 'non-CR/non-PD', 'n']
    """
    out = counts.copy()
    out.columns = [label(str(c)) for c in counts.columns]
    out.index = [label(str(i)) for i in counts.index]
    out.index.name = "heterogeneity group"
    return out


def format_bor_no_measurable(best: pd.DataFrame, group: str = "het_group") -> pd.DataFrame:
    """Best overall response by group of patients without measurable disease, with totals.

    A missing group reads "not assessable" (no FES-assessable lesion).

    Examples
    --------
    >>> b = pd.DataFrame({"best_overall_response": ["NON_CR_NON_PD", "PD"], "het_group": ["homogeneous", None]})
    >>> format_bor_no_measurable(b).loc["non-CR/non-PD"].tolist()  # ER-homogeneous, ER-heterogeneous, not assessable, all
    [1, 0, 0, 1]
    """
    cols = pd.Categorical(best[group].astype(object).where(best[group].notna(), "not assessable"),
                          categories=["homogeneous", "heterogeneous", "not assessable"])
    tab = pd.crosstab(best["best_overall_response"].rename("best overall response"),
                      pd.Series(cols, index=best.index, name="heterogeneity group"),
                      margins=True, margins_name="all", dropna=False)
    tab.index = [label(str(i)) for i in tab.index]
    tab.columns = [label(str(c)) for c in tab.columns]
    return tab


def format_recist_settings(*, confirm: bool, sd_min_days: int, response_threshold: float,
                           fes_threshold: float) -> pd.DataFrame:
    """The RECIST settings of a run, as the book states them.

    Examples
    --------
    >>> format_recist_settings(confirm=False, sd_min_days=42, response_threshold=-30.0,
    ...                        fes_threshold=1.5)["value"].tolist()
    ['no (randomised trial)', '42', '-30', '1.5']
    """
    return pd.DataFrame({"setting": ["confirmation of CR/PR", "minimum interval for SD (days)",
                                     "lesion response threshold (%)", "FES threshold (SUVmax)"],
                         "value": ["yes" if confirm else "no (randomised trial)", str(sd_min_days),
                                   format_value(response_threshold, "parameter"),
                                   format_value(fes_threshold, "parameter")]}).set_index("setting")
