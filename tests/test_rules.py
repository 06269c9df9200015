"""One test per cross-table rule of data_dictionary/rules.yml, named ``test_rule_<id>_...``.

Each breaks a copy of a small simulated data folder (the demo data of ``sonimage simulate``) in one place and
asserts the exact problem lines of ``sonimage validate``. Then: every rule id has an implementation and a test,
every implemented kind has a YAML entry, a malformed rule fails naming its id and key, and the parameters in
the YAML are the ones the validator, the RECIST engine and the book's appendix use.
"""

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sonimage_utils.data import checks
from sonimage_utils.data.checks import RULES
from sonimage_utils.data.dictionary import RULE_KINDS, dictionary_dir, load_dictionary, load_rules
from sonimage_utils.data.validate import validate_folder
from sonimage_utils.pipeline.pages import data_dictionary_page
from sonimage_utils.recist.input import check_recist, parse_lesions, parse_recist
from sonimage_utils.simulate.cohort import simulate_data_folder

SEED = 20191205


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory) -> Path:
    """A small simulated development cohort (12 patients), valid as written."""
    out = tmp_path_factory.mktemp("demo")
    simulate_data_folder(out, seed=SEED, n_patients=12, n_impact=0, n_et_fes=0)
    assert validate_folder(out).problems == []
    return out


@pytest.fixture
def demo(demo_source, tmp_path) -> Path:
    """A copy of the demo folder, safe to break."""
    target = tmp_path / "data"
    shutil.copytree(demo_source, target)
    return target


def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / "sonimage" / f"{table}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, table: str, df: pd.DataFrame) -> None:
    df.to_csv(folder / "sonimage" / f"{table}.csv", index=False, lineterminator="\n")


def problems(folder: Path) -> list[str]:
    return [str(p) for p in validate_folder(folder).problems]


def line(index) -> int:
    return int(index) + 2


def shift(date: str, days: int) -> str:
    return (pd.Timestamp(date) + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


def randomised(folder: Path, patient_id: str) -> str:
    p = read(folder, "patients")
    return p.loc[p["patient_id"].eq(patient_id), "randomization_date"].iloc[0]


def baseline_rows(rec: pd.DataFrame) -> pd.Series:
    return rec["assessment_date"].eq(rec.groupby("patient_id")["assessment_date"].transform("min"))


# --- one test per rule id -----------------------------------------------------------------------------------

def test_rule_foreign_key_lesion_of_an_unknown_patient(demo):
    les = read(demo, "lesions")
    les = pd.concat([les, les.iloc[[0]].assign(patient_id="SON-999")], ignore_index=True)
    write(demo, "lesions", les)
    assert problems(demo) == [
        f"sonimage/lesions.csv:{line(len(les) - 1)}: patient_id: patient_id not found in patients.csv "
        "(patient_id=SON-999)"]


def test_rule_unique_keys_second_scan_with_the_same_tracer(demo):
    scans = read(demo, "scans")
    scans = pd.concat([scans, scans.iloc[[0]]], ignore_index=True)
    write(demo, "scans", scans)
    assert problems(demo) == [
        f"sonimage/scans.csv:{line(len(scans) - 1)}: tracer: duplicate key (patient_id, tracer) seen on an earlier "
        "row (patient_id=SON-001)"]


def test_rule_pfs_dates_pfs1_before_randomisation(demo):
    p = read(demo, "patients")
    p.loc[2, "pfs1_date"] = shift(p.loc[2, "randomization_date"], -1)
    write(demo, "patients", p)
    assert problems(demo) == [
        "sonimage/patients.csv:4: pfs1_date: pfs1_date is before randomization_date "
        f"(patient_id={p.loc[2, 'patient_id']})"]


def test_rule_event_type_censored_type_with_an_event_and_an_event_type_without(demo):
    p = read(demo, "patients")
    event, censored = p.index[p["pfs1_event"].eq("1")][0], p.index[p["pfs1_event"].eq("0")][0]
    p.loc[event, "pfs1_event_type"] = "censored"
    p.loc[censored, "pfs1_event_type"] = "progression"
    write(demo, "patients", p)
    expected = {
        event: f"sonimage/patients.csv:{line(event)}: pfs1_event_type: pfs1_event_type 'censored' does not go with "
               f"pfs1_event = 1 (patient_id={p.loc[event, 'patient_id']})",
        censored: f"sonimage/patients.csv:{line(censored)}: pfs1_event_type: pfs1_event_type 'progression' does not "
                  f"go with pfs1_event = 0 (patient_id={p.loc[censored, 'patient_id']})"}
    assert problems(demo) == [expected[i] for i in sorted(expected)]


def test_rule_scan_window_42_days_before_to_7_days_after_randomisation(demo):
    scans = read(demo, "scans")
    rand = {pid: randomised(demo, pid) for pid in scans["patient_id"].unique()}
    rows = {"edge_before": 0, "edge_after": 1, "early": 2, "late": 5}
    offsets = {"edge_before": -42, "edge_after": 7, "early": -43, "late": 8}
    for name, i in rows.items():
        scans.loc[i, "scan_date"] = shift(rand[scans.loc[i, "patient_id"]], offsets[name])
    write(demo, "scans", scans)
    message = "scan_date is outside 42 days before to 7 days after randomization_date"
    assert problems(demo) == [
        f"sonimage/scans.csv:{line(i)}: scan_date: {message} (patient_id={scans.loc[i, 'patient_id']})"
        for i in (rows["early"], rows["late"])]


def test_rule_glucose_fdg_only_fes_with_glucose_is_an_error_fdg_without_a_warning(demo):
    scans = read(demo, "scans")
    fes, fdg = scans.index[scans["tracer"].eq("FES")][0], scans.index[scans["tracer"].eq("FDG")][1]
    scans.loc[fes, "blood_glucose_mmol_l"] = "5.5"
    scans.loc[fdg, "blood_glucose_mmol_l"] = ""
    write(demo, "scans", scans)
    assert problems(demo) == [
        f"sonimage/scans.csv:{line(fes)}: blood_glucose_mmol_l: blood glucose given for an FES scan (FDG only) "
        f"(patient_id={scans.loc[fes, 'patient_id']})",
        f"sonimage/scans.csv:{line(fdg)}: blood_glucose_mmol_l: warning: blood glucose missing for an FDG scan "
        f"(patient_id={scans.loc[fdg, 'patient_id']})"]


def test_rule_baseline_window_first_assessment_after_randomisation_plus_7_days(demo):
    rec = read(demo, "recist")
    base = baseline_rows(rec)
    late, edge = "SON-002", "SON-003"
    for pid, days in ((late, 8), (edge, 7)):
        rec.loc[base & rec["patient_id"].eq(pid), "assessment_date"] = shift(randomised(demo, pid), days)
    write(demo, "recist", rec)
    first = rec.index[rec["patient_id"].eq(late)][0]
    assert problems(demo) == [
        f"sonimage/recist.csv:{line(first)}: assessment_date: baseline (first) assessment is later than "
        f"randomization_date + 7 days (patient_id={late})"]


def test_rule_recist_lesions_new_lesion_at_the_baseline_assessment(demo):
    rec = read(demo, "recist")
    first = rec.iloc[0]
    new = dict(patient_id=first["patient_id"], lesion_id="N9", assessment_date=first["assessment_date"],
               lesion_kind="new", is_lymph_node="false", diameter_mm="", status="equivocal")
    rec = pd.concat([rec, pd.DataFrame([new])], ignore_index=True)
    write(demo, "recist", rec)
    assert problems(demo) == [
        f"sonimage/recist.csv:{line(len(rec) - 1)}: lesion_kind: new lesion 'N9' at the baseline assessment "
        f"(patient_id={first['patient_id']})"]


def test_rule_recist_baseline_target_below_10_mm_or_node_below_15_mm(demo):
    rec = read(demo, "recist")
    target = baseline_rows(rec) & rec["lesion_kind"].eq("target")
    lesion = rec.index[target & rec["is_lymph_node"].eq("false")]
    node = rec.index[target & rec["is_lymph_node"].eq("true")]
    rec.loc[lesion[0], "diameter_mm"] = "9.5"   # not measurable
    rec.loc[lesion[1], "diameter_mm"] = "12.0"  # measurable: 12 mm >= 10 mm for a non-nodal lesion
    rec.loc[node[0], "diameter_mm"] = "12.0"    # not measurable: a node needs 15 mm short axis
    rec.loc[node[1], "diameter_mm"] = "15.0"    # measurable, at the limit
    write(demo, "recist", rec)
    expected = {
        lesion[0]: f"sonimage/recist.csv:{line(lesion[0])}: diameter_mm: baseline target "
                   f"{rec.loc[lesion[0], 'lesion_id']!r} is not measurable (9.5 mm < 10 mm) "
                   f"(patient_id={rec.loc[lesion[0], 'patient_id']})",
        node[0]: f"sonimage/recist.csv:{line(node[0])}: diameter_mm: baseline target "
                 f"{rec.loc[node[0], 'lesion_id']!r} is not measurable (12 mm < 15 mm) "
                 f"(patient_id={rec.loc[node[0], 'patient_id']})"}
    assert problems(demo) == [expected[i] for i in sorted(expected)]


def test_rule_target_limits_six_targets_and_three_in_one_organ(demo):
    rec, les = read(demo, "recist"), read(demo, "lesions")
    pid = "SON-001"
    assert not rec["patient_id"].eq(pid).pipe(lambda m: rec.loc[m, "lesion_kind"].eq("target").any())
    organs = ["lung", "lung", "lung", "liver", "breast", "pleura"]
    template = les[les["patient_id"].eq(pid)].iloc[0]
    new_les = [template.to_dict() | {"lesion_id": f"T{k}", "organ": o, "ct_diameter_mm": "20.0"}
               for k, o in enumerate(organs, 1)]
    write(demo, "lesions", pd.concat([les, pd.DataFrame(new_les)], ignore_index=True))
    date = rec.loc[rec["patient_id"].eq(pid), "assessment_date"].min()
    new_rec = [dict(patient_id=pid, lesion_id=f"T{k}", assessment_date=date, lesion_kind="target",
                    is_lymph_node="false", diameter_mm="20.0", status="") for k in range(1, 7)]
    rec = pd.concat([rec, pd.DataFrame(new_rec)], ignore_index=True)
    write(demo, "recist", rec)
    t3, t6 = len(rec) - 4, len(rec) - 1
    assert problems(demo) == [
        f"sonimage/recist.csv:{line(t3)}: lesion_id: more than 2 target lesions in organ 'lung': 'T3' is number 3 "
        f"(patient_id={pid})",
        f"sonimage/recist.csv:{line(t6)}: lesion_id: more than 5 target lesions: 'T6' is number 6 (patient_id={pid})"]


def test_rule_recist_fields_target_with_a_status_non_target_with_a_bad_status(demo):
    rec = read(demo, "recist")
    later = ~baseline_rows(rec)
    target = rec.index[later & rec["lesion_kind"].eq("target")][0]
    non_target = rec.index[later & rec["lesion_kind"].eq("non_target")][0]
    rec.loc[target, "status"] = "present"
    rec.loc[non_target, "status"] = "equivocal"
    write(demo, "recist", rec)
    expected = {
        target: f"sonimage/recist.csv:{line(target)}: status: target rows carry no status "
                f"(patient_id={rec.loc[target, 'patient_id']})",
        non_target: f"sonimage/recist.csv:{line(non_target)}: status: non_target status must be one of absent, "
                    "not_assessed, present, unequivocal_progression, got 'equivocal' "
                    f"(patient_id={rec.loc[non_target, 'patient_id']})"}
    assert problems(demo) == [expected[i] for i in sorted(expected)]


def test_rule_has_lesions_patient_without_a_lesion_row(demo):
    pid = "SON-004"
    for table in ("lesions", "recist"):
        df = read(demo, table)
        write(demo, table, df[df["patient_id"].ne(pid)])
    p = read(demo, "patients")
    row = p.index[p["patient_id"].eq(pid)][0]
    assert problems(demo) == [f"sonimage/patients.csv:{line(row)}: patient_id: patient has no row in lesions.csv "
                              f"(patient_id={pid})"]



def test_rule_case_duplicates_patient_and_lesion_ids_differing_only_in_case(demo):
    p, les = read(demo, "patients"), read(demo, "lesions")
    twin = p.iloc[[0]].assign(patient_id=p.loc[0, "patient_id"].lower())  # 'son-001' beside 'SON-001'
    write(demo, "patients", pd.concat([p, twin], ignore_index=True))
    lesion = les.iloc[[0]].assign(lesion_id=les.loc[0, "lesion_id"].lower())
    les = pd.concat([les, lesion], ignore_index=True)
    write(demo, "lesions", les)
    pid, lid = p.loc[0, "patient_id"], les.loc[0, "lesion_id"]
    found = problems(demo)
    assert (f"sonimage/patients.csv:{line(len(p))}: patient_id: warning: patient_id {pid.lower()!r} differs only in "
            f"case from {pid!r} on line 2 (patient_id={pid.lower()})") in found
    assert (f"sonimage/lesions.csv:{line(len(les) - 1)}: lesion_id: warning: patient_id + lesion_id "
            f"'{pid} + {lid.lower()}' differs only in case from '{pid} + {lid}' on line 2 (patient_id={pid})") in found
    # the twin has no lesion of her own: that error is the has_lesions rule's, and the only error
    assert [f for f in found if ": warning: " not in f] == [
        f"sonimage/patients.csv:{line(len(p))}: patient_id: patient has no row in lesions.csv "
        f"(patient_id={pid.lower()})"]


def test_rule_future_dates_pfs1_date_after_today_is_a_warning(demo):
    p = read(demo, "patients")
    p.loc[1, "pfs1_date"] = "2098-06-01"  # a 79-year PFS
    write(demo, "patients", p)
    today = pd.Timestamp.today().normalize()
    assert problems(demo) == [f"sonimage/patients.csv:3: pfs1_date: warning: pfs1_date 2098-06-01 is in the future "
                              f"(after {today:%Y-%m-%d}) (patient_id={p.loc[1, 'patient_id']})"]


def test_rule_assessment_after_death_recist_row_after_a_death_event(demo):
    p, rec = read(demo, "patients"), read(demo, "recist")
    pid = "SON-003"
    dates = sorted(rec.loc[rec["patient_id"].eq(pid), "assessment_date"].unique())
    assert len(dates) >= 3
    death = shift(dates[-2], 1)  # dies a day after the second-to-last CT: the last CT comes after her death
    row = p.index[p["patient_id"].eq(pid)][0]
    p.loc[row, ["pfs1_date", "pfs1_event", "pfs1_event_type"]] = [death, "1", "death"]
    write(demo, "patients", p)
    first = rec.index[rec["patient_id"].eq(pid) & rec["assessment_date"].eq(dates[-1])][0]
    assert problems(demo) == [f"sonimage/recist.csv:{line(first)}: assessment_date: warning: assessment on "
                              f"{dates[-1]} is after the patient's death (pfs1_date {death}, pfs1_event_type death) "
                              f"(patient_id={pid})"]


def test_rule_implausible_diameter_follow_up_diameter_of_4000_mm(demo):
    rec = read(demo, "recist")
    i = rec.index[~baseline_rows(rec) & rec["lesion_kind"].eq("target") & rec["diameter_mm"].ne("")][0]
    rec.loc[i, "diameter_mm"] = "4000"
    edge = rec.index[~baseline_rows(rec) & rec["lesion_kind"].eq("target") & rec["diameter_mm"].ne("")][1]
    rec.loc[edge, "diameter_mm"] = "300"  # at the bound: plausible
    write(demo, "recist", rec)
    assert problems(demo) == [f"sonimage/recist.csv:{line(i)}: diameter_mm: warning: diameter_mm 4000 mm is "
                              f"implausible (above 300 mm); check the unit (patient_id={rec.loc[i, 'patient_id']})"]


def test_rule_has_recist_patient_with_lesions_but_no_recist_rows(demo):
    pid = "SON-005"
    rec = read(demo, "recist")
    write(demo, "recist", rec[rec["patient_id"].ne(pid)])
    p = read(demo, "patients")
    row = p.index[p["patient_id"].eq(pid)][0]
    assert problems(demo) == [f"sonimage/patients.csv:{line(row)}: patient_id: warning: patient has lesions but no "
                              "row in recist.csv; she is left out of the RECIST analyses (objective 3) "
                              f"(patient_id={pid})"]

# --- the rules file, the kinds and the tests agree ----------------------------------------------------------

def test_every_rule_id_has_an_implementation_and_a_test():
    tests = [name for name in vars(sys.modules[__name__]) if name.startswith("test_rule_")]
    for rule_id, spec in load_rules().items():
        assert spec.kind in RULES, f"rule {rule_id!r}: kind {spec.kind!r} is not implemented"
        assert any(name.startswith(f"test_rule_{rule_id}_") for name in tests), f"rule {rule_id!r} has no test"


def test_every_implemented_kind_has_a_yaml_entry():
    assert set(RULES) == set(RULE_KINDS)
    assert set(RULES) <= {spec.kind for spec in load_rules().values()}


def test_a_kind_without_a_yaml_entry_stops_the_validator(demo, monkeypatch):
    rules = {rid: spec for rid, spec in load_rules().items() if spec.kind != "target_limits"}
    monkeypatch.setattr(checks, "load_rules", lambda: rules)
    with pytest.raises(ValueError,
                       match=r"rule kind\(s\) \['target_limits'\] have no entry in data_dictionary/rules.yml"):
        validate_folder(demo)


# --- a malformed rule fails loudly, naming the rule id and the key ------------------------------------------

def rules_with(tmp_path, rule_id, change) -> str:
    doc = yaml.safe_load((dictionary_dir() / "rules.yml").read_text(encoding="utf-8"))
    entry = next(r for r in doc["rules"] if r["id"] == rule_id)
    change(entry)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(tmp_path)


@pytest.mark.parametrize("rule_id, change, message", [
    ("scan_window", lambda r: r["params"].pop("days_before"),
     "rule 'scan_window': parameter 'days_before' is missing (kind 'scan_window' needs days_before, days_after)"),
    ("scan_window", lambda r: r["params"].update(days_after="a week"),
     "rule 'scan_window': parameter 'days_after' must be a whole number >= 0, got 'a week'"),
    ("target_limits", lambda r: r["params"].update(max_per_organ=2.5),
     "rule 'target_limits': parameter 'max_per_organ' must be a whole number >= 1, got 2.5"),
    ("target_limits", lambda r: r["params"].update(max_per_lung=1),
     "rule 'target_limits': parameter 'max_per_lung' is not one of kind 'target_limits'"),
    ("recist_baseline", lambda r: r["params"]["measurable_mm"].pop("lymph_node"),
     "rule 'recist_baseline': parameter 'measurable_mm' must be a mapping with keys lesion, lymph_node to numbers"),
    ("recist_fields", lambda r: r["params"]["status"].update(new="equivocal"),
     "rule 'recist_fields': parameter 'status' must be a mapping to non-empty lists of strings"),
    ("has_lesions", lambda r: r["params"].update(cohorts=["sonimage", "mars"]),
     "rule 'has_lesions': parameter 'cohorts' must be a non-empty list of strings among sonimage, impact_mbc, et_fes"),
    ("pfs_dates", lambda r: r.pop("params"), "rule 'pfs_dates': key 'params' is missing"),
    ("pfs_dates", lambda r: r.update(params=None), "rule 'pfs_dates': key 'params' must be a mapping"),
    ("event_type", lambda r: r.pop("kind"), "rule 'event_type': key 'kind' is missing"),
    ("event_type", lambda r: r.update(kind="event_types"), "rule 'event_type': key 'kind': unknown kind 'event_types'"),
    ("event_type", lambda r: r.update(threshold=1), "rule 'event_type': unknown key(s) ['threshold']"),
    ("baseline_window", lambda r: r.update(text="within {days_before} days"),
     "rule 'baseline_window': key 'text' names 'days_before' which is not a parameter of the rule"),
    ("unique_keys", lambda r: r.update(id="foreign_key"), "rule 'foreign_key': the id appears more than once"),
])
def test_malformed_rule_fails_naming_the_rule_and_the_key(tmp_path, rule_id, change, message):
    with pytest.raises(ValueError) as info:
        load_rules(rules_with(tmp_path, rule_id, change))
    assert str(info.value).startswith("data_dictionary/rules.yml: " + message)


# --- the parameters in the YAML are the ones every reader uses ---------------------------------------------

def use_rules(monkeypatch, folder: str) -> None:
    """Make the validator (and so the RECIST engine) read the rules of ``folder``."""
    monkeypatch.setattr(checks, "load_rules", lambda: load_rules(folder))


def test_validator_takes_the_window_from_the_yaml(demo, tmp_path, monkeypatch):
    scans = read(demo, "scans")
    scans.loc[0, "scan_date"] = shift(randomised(demo, scans.loc[0, "patient_id"]), -35)
    write(demo, "scans", scans)
    assert problems(demo) == []
    use_rules(monkeypatch, rules_with(tmp_path, "scan_window", lambda r: r["params"].update(days_before=30)))
    days = [(pd.Timestamp(d) - pd.Timestamp(randomised(demo, pid))).days
            for pid, d in zip(scans["patient_id"], scans["scan_date"])]
    early = [i for i, d in enumerate(days) if d < -30]
    assert 0 in early
    assert problems(demo) == [f"sonimage/scans.csv:{line(i)}: scan_date: scan_date is outside 30 days before to 7 "
                              f"days after randomization_date (patient_id={scans.loc[i, 'patient_id']})" for i in early]


def test_recist_engine_checks_measurability_with_the_yaml_parameters(demo, tmp_path, monkeypatch):
    rec = read(demo, "recist")
    node = rec.index[baseline_rows(rec) & rec["lesion_kind"].eq("target") & rec["is_lymph_node"].eq("true")][0]
    rec.loc[node, "diameter_mm"] = "14.0"
    pid, lid = rec.loc[node, "patient_id"], rec.loc[node, "lesion_id"]
    typed, les = parse_recist(rec), parse_lesions(read(demo, "lesions"))
    with pytest.raises(ValueError) as info:
        check_recist(typed, les)
    assert str(info.value) == (f"recist: baseline target {lid!r} is not measurable (14 mm < 15 mm) "
                               f"(patient_id={pid}, lesion_id={lid}, rule=recist_baseline)")
    use_rules(monkeypatch, rules_with(tmp_path, "recist_baseline",
                                      lambda r: r["params"]["measurable_mm"].update(lymph_node=14)))
    check_recist(typed, les)  # 14 mm is measurable for a node under these rules


def test_appendix_shows_each_rule_with_its_parameters():
    page = data_dictionary_page()
    rows = [r for r in page.splitlines() if r.startswith("| `") and r.count("|") == 4]
    assert [r.split("`")[1] for r in rows] == list(load_rules())
    assert ("| `scan_window` | A scan lies between 42 days before and 7 days after randomization_date. | "
            "`days_before` = 42; `days_after` = 7 |") in rows
    assert ("| `target_limits` | At most 5 target lesions per patient and at most 2 per organ. | "
            "`max_per_patient` = 5; `max_per_organ` = 2 |") in rows
    assert "`measurable_mm.lesion` = 10; `measurable_mm.lymph_node` = 15" in page
    assert "| `pfs_dates` | pfs1_date is not before randomization_date. | none |" in rows


def test_rule_code_lists_are_codes_the_column_dictionary_allows():
    rules = load_rules()
    columns = {c.name: c for c in load_dictionary()["recist"].columns("sonimage")}
    kinds, statuses = set(columns["lesion_kind"].allowed), set(columns["status"].allowed)
    assert set(rules["recist_lesions"].params["tracked_kinds"]) | {rules["recist_lesions"].params["new_kind"]} <= kinds
    status = rules["recist_fields"].params["status"]
    assert set(status) <= kinds and set().union(*status.values()) <= statuses
    assert rules["recist_baseline"].params["non_target_baseline_status"] in status["non_target"]
    tracers = {c.name: c for c in load_dictionary()["scans"].columns("sonimage")}["tracer"].allowed
    glucose = rules["glucose_fdg_only"].params
    assert {glucose["glucose_tracer"], *glucose["no_glucose_tracers"]} <= set(tracers)
    event = {c.name: c for c in load_dictionary()["patients"].columns("sonimage")}
    assert rules["event_type"].params["censored_type"] in event["pfs1_event_type"].allowed
    assert rules["event_type"].params["censored_event"] in event["pfs1_event"].allowed
