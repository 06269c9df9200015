"""Cross-table rules of the data contract: each kind implemented once, parameterised only from ``rules.yml``.

Every kind takes the typed tables of one cohort (``None`` for a table that is absent or unreadable), the cohort
name and the rule's parameters (:attr:`~sonimage_utils.data.dictionary.RuleSpec.params`: its thresholds,
windows and code lists, written nowhere but ``data_dictionary/rules.yml``), and returns
:class:`~sonimage_utils.data.problems.Problem` objects naming file, line, column and patient.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from sonimage_utils.data.dictionary import RULE_KINDS, load_dictionary, load_rules
from sonimage_utils.data.problems import Problem, line_of

__all__ = ["RULES", "check_rules"]


def _rows(df: pd.DataFrame, mask, cohort: str, table: str, column: str, message) -> list:
    """Problems for the rows of ``df`` selected by ``mask``; ``message`` is a str or row -> str."""
    rel = f"{cohort}/{load_dictionary()[table].file}"
    out = []
    for idx, row in df[mask].iterrows():
        text = message(row) if callable(message) else message
        out.append(Problem(rel, line_of(idx), column, text, str(row.get("patient_id") or "-")))
    return out


def rule_foreign_key(tables, cohort, params):
    """Rows of ``params['tables']`` whose patient_id is not in patients.csv."""
    known = set(tables["patients"]["patient_id"].dropna())
    out = []
    for name in params["tables"]:
        df = tables.get(name)
        if df is not None and "patient_id" in df:
            mask = df["patient_id"].notna() & ~df["patient_id"].isin(known)
            out += _rows(df, mask, cohort, name, "patient_id", "patient_id not found in patients.csv")
    return out


def rule_unique_keys(tables, cohort, params):
    """Rows of ``params['tables']`` repeating the table's primary key (from its YAML)."""
    out = []
    for name in params["tables"]:
        df, key = tables.get(name), list(load_dictionary()[name].primary_key)
        if df is None or not set(key) <= set(df.columns):
            continue
        mask = df.duplicated(key, keep="first") & df[key].notna().all(axis=1)
        out += _rows(df, mask, cohort, name, key[-1], f"duplicate key ({', '.join(key)}) seen on an earlier row")
    return out


def rule_pfs_dates(tables, cohort, params):
    """Patients whose pfs1_date is before randomization_date (no parameters)."""
    p = tables["patients"]
    return _rows(p, p["pfs1_date"] < p["randomization_date"], cohort, "patients", "pfs1_date",
                 "pfs1_date is before randomization_date")


def rule_event_type(tables, cohort, params):
    """pfs1_event_type is ``params['censored_type']`` exactly when pfs1_event is ``params['censored_event']``."""
    p = tables["patients"]
    ok = p["pfs1_event"].notna() & p["pfs1_event_type"].notna()
    censored = p["pfs1_event_type"].eq(params["censored_type"])
    mask = ok & ((p["pfs1_event"] == params["censored_event"]) != censored).fillna(False)
    return _rows(p, mask, cohort, "patients", "pfs1_event_type",
                 lambda r: f"pfs1_event_type {r['pfs1_event_type']!r} does not go with pfs1_event = {r['pfs1_event']}")


def _with_randomisation(df, tables):
    """Each row's randomisation date (NaT where unknown)."""
    p = tables["patients"]
    rand = p.dropna(subset=["patient_id"]).drop_duplicates("patient_id").set_index("patient_id")["randomization_date"]
    return df["patient_id"].map(rand)


def rule_scan_window(tables, cohort, params):
    """Scans outside ``params['days_before']`` days before to ``params['days_after']`` days after randomisation."""
    s = tables["scans"]
    before, after = params["days_before"], params["days_after"]
    days = (s["scan_date"] - _with_randomisation(s, tables)).dt.days
    mask = days.notna() & ((days < -before) | (days > after))
    return _rows(s, mask, cohort, "scans", "scan_date",
                 f"scan_date is outside {before} days before to {after} days after randomization_date")


def rule_glucose_fdg_only(tables, cohort, params):
    """Glucose on a scan of ``params['no_glucose_tracers']`` (error), none on ``params['glucose_tracer']`` (warning)."""
    s = tables["scans"]
    only = params["glucose_tracer"]
    out = []
    for tracer in params["no_glucose_tracers"]:
        out += _rows(s, s["tracer"].eq(tracer) & s["blood_glucose_mmol_l"].notna(), cohort, "scans",
                     "blood_glucose_mmol_l", f"blood glucose given for an {tracer} scan ({only} only)")
    warn = _rows(s, s["tracer"].eq(only) & s["blood_glucose_mmol_l"].isna(), cohort, "scans",
                 "blood_glucose_mmol_l", f"blood glucose missing for an {only} scan")
    return out + [Problem(**{**w.__dict__, "level": "warning"}) for w in warn]


def _baseline(r: pd.DataFrame) -> pd.Series:
    return r.groupby("patient_id")["assessment_date"].transform("min")


def rule_baseline_window(tables, cohort, params):
    """First assessments later than randomisation + ``params['days_after']`` days."""
    r = tables["recist"].dropna(subset=["patient_id", "assessment_date"])
    after = params["days_after"]
    first = r["assessment_date"].eq(_baseline(r)) & ~r.duplicated(["patient_id", "assessment_date"])
    late = (r["assessment_date"] - _with_randomisation(r, tables)).dt.days > after
    return _rows(r, first & late, cohort, "recist", "assessment_date",
                 f"baseline (first) assessment is later than randomization_date + {after} days")


def rule_recist_lesions(tables, cohort, params):
    """Lesions of ``params['tracked_kinds']`` at baseline and in lesions.csv; ``params['new_kind']`` ones not."""
    r = tables["recist"]
    new = params["new_kind"]
    r = r.dropna(subset=["patient_id", "assessment_date", "lesion_id"])
    at_base = r["assessment_date"].eq(_baseline(r))
    key = pd.MultiIndex.from_frame(r[["patient_id", "lesion_id"]])
    seen_at_base = pd.Series(key.isin(key[at_base.to_numpy()]), index=r.index)
    tracked = r["lesion_kind"].isin(list(params["tracked_kinds"]))
    out = _rows(r, tracked & ~seen_at_base, cohort, "recist", "lesion_id",
                lambda x: f"{x['lesion_kind']} lesion {x['lesion_id']!r} is not recorded at the baseline assessment")
    out += _rows(r, r["lesion_kind"].eq(new) & at_base, cohort, "recist", "lesion_kind",
                 lambda x: f"{new} lesion {x['lesion_id']!r} at the baseline assessment")
    kinds = r.groupby(["patient_id", "lesion_id"])["lesion_kind"].transform("nunique")
    out += _rows(r, kinds > 1, cohort, "recist", "lesion_kind",
                 lambda x: f"lesion {x['lesion_id']!r} changes kind between assessments")
    les = tables.get("lesions")
    if les is not None and {"patient_id", "lesion_id"} <= set(les.columns):
        missing = pd.Series(~key.isin(pd.MultiIndex.from_frame(les[["patient_id", "lesion_id"]])), index=r.index)
        out += _rows(r, tracked & at_base & missing, cohort, "recist", "lesion_id",
                     lambda x: f"baseline {x['lesion_kind']} lesion {x['lesion_id']!r} is not in lesions.csv")
        out += _rows(r, r["lesion_kind"].eq(new) & ~missing, cohort, "recist", "lesion_id",
                     lambda x: f"{new} lesion reuses the id {x['lesion_id']!r} of a baseline lesion")
    return out


def rule_recist_baseline(tables, cohort, params):
    """Baseline targets under ``params['measurable_mm']``; non-targets not ``params['non_target_baseline_status']``."""
    r = tables["recist"]
    r = r.dropna(subset=["patient_id", "assessment_date"])
    base = r["assessment_date"].eq(_baseline(r))
    node = r["is_lymph_node"].fillna(False).astype(bool)
    limit = node.map({True: params["measurable_mm"]["lymph_node"], False: params["measurable_mm"]["lesion"]})
    small = r["lesion_kind"].eq("target") & base & (r["diameter_mm"] > 0) & (r["diameter_mm"] < limit)
    out = _rows(r, small.fillna(False), cohort, "recist", "diameter_mm",
                lambda x: f"baseline target {x['lesion_id']!r} is not measurable "
                          f"({x['diameter_mm']:g} mm < {limit[x.name]:g} mm)")
    present = params["non_target_baseline_status"]
    out += _rows(r, r["lesion_kind"].eq("non_target") & base & r["status"].ne(present) & r["status"].notna(), cohort,
                 "recist", "status", lambda x: f"non-target {x['lesion_id']!r} must be `{present}` at baseline")
    flips = r.groupby(["patient_id", "lesion_id"])["is_lymph_node"].transform("nunique") > 1
    out += _rows(r, flips, cohort, "recist", "is_lymph_node",
                 lambda x: f"lesion {x['lesion_id']!r} changes is_lymph_node between assessments")
    return out


def rule_target_limits(tables, cohort, params):
    """Flag the targets of a patient after the first ``max_per_patient``, and those in one organ after the first
    ``max_per_organ`` (in row order)."""
    r = tables["recist"]
    most, most_in_organ = params["max_per_patient"], params["max_per_organ"]
    t = r[r["lesion_kind"].eq("target")].drop_duplicates(["patient_id", "lesion_id"])
    rank = t.groupby("patient_id").cumcount() + 1
    out = _rows(t, rank > most, cohort, "recist", "lesion_id",
                lambda x: f"more than {most} target lesions: {x['lesion_id']!r} is number {rank[x.name]}")
    les = tables.get("lesions")
    if les is not None and {"patient_id", "lesion_id", "organ"} <= set(les.columns):
        organ = les.drop_duplicates(["patient_id", "lesion_id"]).set_index(["patient_id", "lesion_id"])["organ"]
        t = t.assign(organ=[organ.get(k) for k in zip(t["patient_id"], t["lesion_id"])])
        in_organ = t.groupby(["patient_id", "organ"]).cumcount() + 1
        out += _rows(t, in_organ > most_in_organ, cohort, "recist", "lesion_id",
                     lambda x: f"more than {most_in_organ} target lesions in organ {x['organ']!r}: "
                               f"{x['lesion_id']!r} is number {in_organ[x.name]}")
    return out


def rule_recist_fields(tables, cohort, params):
    """Target rows: a diameter, no status; other kinds: a status of ``params['status'][kind]``, no diameter."""
    r = tables["recist"]
    target = r["lesion_kind"].eq("target")
    out = _rows(r, target & r["status"].notna(), cohort, "recist", "status", "target rows carry no status")
    base = r["assessment_date"].eq(_baseline(r.dropna(subset=["patient_id"])))
    out += _rows(r, target & base & ~(r["diameter_mm"] > 0).fillna(False), cohort, "recist", "diameter_mm",
                 "a target lesion needs a baseline diameter > 0")
    out += _rows(r, ~target & r["lesion_kind"].notna() & r["diameter_mm"].notna(), cohort, "recist", "diameter_mm",
                 lambda x: f"{x['lesion_kind']} rows carry no diameter")
    for kind, allowed in params["status"].items():
        mask = r["lesion_kind"].eq(kind) & ~r["status"].isin(allowed)
        out += _rows(r, mask, cohort, "recist", "status",
                     lambda x, a=allowed, k=kind: f"{k} status must be one of {', '.join(sorted(a))}, got {x['status']!r}")
    return out


def rule_has_lesions(tables, cohort, params):
    """Patients without a lesions.csv row, in the cohorts of ``params['cohorts']``."""
    if cohort not in params["cohorts"]:
        return []
    p = tables["patients"]
    mask = p["patient_id"].notna() & ~p["patient_id"].isin(set(tables["lesions"]["patient_id"]))
    return _rows(p, mask, cohort, "patients", "patient_id", "patient has no row in lesions.csv")


def _warnings(problems: list) -> list:
    return [replace(p, level="warning") for p in problems]


def rule_case_duplicates(tables, cohort, params):
    """Rows of ``params['tables']`` whose primary key equals an earlier row's when upper/lower case is ignored,
    but not exactly (exact repeats are :func:`rule_unique_keys`); a warning."""
    out = []
    for name in params["tables"]:
        df, key = tables.get(name), list(load_dictionary()[name].primary_key)
        if df is None or not set(key) <= set(df.columns):
            continue
        d = df.dropna(subset=key)
        exact = d[key].reset_index(drop=True)
        folded = exact.apply(lambda c: c.str.casefold() if c.dtype == object else c)
        group = folded.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
        first = pd.Series(np.arange(len(d))).groupby(group).transform("first").to_numpy()
        earlier = pd.Series(d.index.to_numpy()[first], index=d.index)
        # only rows whose key differs in case from the first one: exact repeats are rule unique_keys
        differs = (exact.to_numpy() != exact.to_numpy()[first]).any(axis=1)
        mask = pd.Series(differs, index=d.index, dtype=bool)
        what = " + ".join(key)
        out += _rows(d, mask, cohort, name, key[-1],
                     lambda x, d=d, key=key, what=what, earlier=earlier: (
                         f"{what} {' + '.join(str(x[k]) for k in key)!r} differs only in case from "
                         f"{' + '.join(str(d.at[earlier[x.name], k]) for k in key)!r} on line "
                         f"{line_of(earlier[x.name])}"))
    return _warnings(out)


def _today() -> pd.Timestamp:
    """The day of validation (a function, so that a test can move it)."""
    return pd.Timestamp.today().normalize()


def rule_future_dates(tables, cohort, params):
    """Dates in the columns ``params['columns'][table]`` after today; a warning."""
    today, out = _today(), []
    for name, columns in params["columns"].items():
        df = tables.get(name)
        for column in columns:
            if df is None or column not in df.columns:
                continue
            out += _rows(df, df[column] > today, cohort, name, column,
                         lambda x, c=column: f"{c} {x[c]:%Y-%m-%d} is in the future (after {today:%Y-%m-%d})")
    return _warnings(out)


def rule_assessment_after_death(tables, cohort, params):
    """RECIST assessments after pfs1_date of patients whose pfs1_event_type is ``params['death_type']`` (one line
    per patient and date); a warning."""
    p, r = tables["patients"], tables["recist"]
    dead = p[p["pfs1_event_type"].eq(params["death_type"])].dropna(subset=["patient_id"])
    died = dead.drop_duplicates("patient_id").set_index("patient_id")["pfs1_date"]
    r = r.dropna(subset=["patient_id", "assessment_date"])
    death = r["patient_id"].map(died)
    mask = (r["assessment_date"] > death) & ~r.duplicated(["patient_id", "assessment_date"])
    return _warnings(_rows(r, mask.fillna(False), cohort, "recist", "assessment_date",
                           lambda x: f"assessment on {x['assessment_date']:%Y-%m-%d} is after the patient's death "
                                     f"(pfs1_date {death[x.name]:%Y-%m-%d}, pfs1_event_type "
                                     f"{params['death_type']})"))


def rule_implausible_diameter(tables, cohort, params):
    """Diameters in ``params['columns'][table]`` above ``params['max_mm']`` mm; a warning."""
    most, out = params["max_mm"], []
    for name, columns in params["columns"].items():
        df = tables.get(name)
        for column in columns:
            if df is None or column not in df.columns:
                continue
            out += _rows(df, (df[column] > most).fillna(False), cohort, name, column,
                         lambda x, c=column: f"{c} {x[c]:g} mm is implausible (above {most:g} mm); check the unit")
    return _warnings(out)


def rule_has_recist(tables, cohort, params):
    """Patients with lesions.csv rows but no recist.csv row, in the cohorts of ``params['cohorts']``; a
    warning."""
    if cohort not in params["cohorts"]:
        return []
    p = tables["patients"]
    with_lesions = set(tables["lesions"]["patient_id"].dropna())
    assessed = set(tables["recist"]["patient_id"].dropna())
    mask = p["patient_id"].isin(with_lesions - assessed)
    return _warnings(_rows(p, mask, cohort, "patients", "patient_id",
                           "patient has lesions but no row in recist.csv; she is left out of the RECIST analyses "
                           "(objective 3)"))


#: Rule kind (``kind`` in data_dictionary/rules.yml) -> (implementation, {table: columns it needs}).
RULES = {
    "foreign_key": (rule_foreign_key, {"patients": ["patient_id"]}),
    "unique_keys": (rule_unique_keys, {}),
    "pfs_dates": (rule_pfs_dates, {"patients": ["pfs1_date", "randomization_date"]}),
    "event_type": (rule_event_type, {"patients": ["pfs1_event", "pfs1_event_type"]}),
    "scan_window": (rule_scan_window, {"patients": ["patient_id", "randomization_date"], "scans": ["patient_id", "scan_date"]}),
    "glucose_fdg_only": (rule_glucose_fdg_only, {"scans": ["patient_id", "tracer", "blood_glucose_mmol_l"]}),
    "baseline_window": (rule_baseline_window, {"patients": ["patient_id", "randomization_date"], "recist": ["patient_id", "assessment_date"]}),
    "recist_lesions": (rule_recist_lesions, {"recist": ["patient_id", "lesion_id", "assessment_date", "lesion_kind"]}),
    "recist_baseline": (rule_recist_baseline, {"recist": ["patient_id", "lesion_id", "assessment_date", "lesion_kind", "diameter_mm", "status", "is_lymph_node"]}),
    "target_limits": (rule_target_limits, {"recist": ["patient_id", "lesion_id", "lesion_kind"]}),
    "recist_fields": (rule_recist_fields, {"recist": ["patient_id", "lesion_id", "assessment_date", "lesion_kind", "diameter_mm", "status"]}),
    "has_lesions": (rule_has_lesions, {"patients": ["patient_id"], "lesions": ["patient_id"]}),
    "case_duplicates": (rule_case_duplicates, {}),
    "future_dates": (rule_future_dates, {}),
    "assessment_after_death": (rule_assessment_after_death, {"patients": ["patient_id", "pfs1_date", "pfs1_event_type"],
                                                             "recist": ["patient_id", "assessment_date"]}),
    "implausible_diameter": (rule_implausible_diameter, {}),
    "has_recist": (rule_has_recist, {"patients": ["patient_id"], "lesions": ["patient_id"], "recist": ["patient_id"]}),
}

def check_rules(tables: dict, cohort: str) -> list:
    """Run every cross-table rule of ``rules.yml`` (in its order) on one cohort's typed tables.

    A rule is skipped when a table or column it needs is absent (already reported by the column checks).

    Raises
    ------
    ValueError
        If a kind implemented here has no rule in rules.yml (the book would not show it), or a rule there
        names a kind not implemented here; from :func:`~sonimage_utils.data.dictionary.load_rules` when a
        rule's parameters are missing or malformed.
    """
    rules = load_rules()
    if set(RULES) != set(RULE_KINDS):
        raise ValueError(f"rule kind(s) {sorted(set(RULES) ^ set(RULE_KINDS))} are declared in "
                         "sonimage_utils/data/dictionary.py (RULE_KINDS) or implemented here, not both")
    unused = [kind for kind in RULES if kind not in {r.kind for r in rules.values()}]
    if unused:
        raise ValueError(f"rule kind(s) {unused} have no entry in data_dictionary/rules.yml")
    out = []
    for rule_id, spec in rules.items():
        rule, needs = RULES[spec.kind]
        # a rule whose table or column is absent cannot be checked; that absence is already an error line
        if all(tables.get(t) is not None and set(cols) <= set(tables[t].columns) for t, cols in needs.items()):
            out += [replace(p, rule=rule_id) for p in rule(tables, cohort, spec.params)]
    return out
