"""One test per rule of data-contract.md: a small broken folder each, asserting the message names the file,
row, column and patient. The base folder is tests/data/valid_min (3 patients, all tables)."""

import re
import shutil

import pandas as pd
import pytest

from sonimage_utils.cli.main import main
from sonimage_utils.data.checks import RULES
from sonimage_utils.data.dictionary import load_rules
from sonimage_utils.data.validate import validate_folder

LINE = re.compile(r"^(?P<file>[\w/.-]+):(?P<row>\d+): (?P<column>[\w.-]+): (?P<message>.+) \(patient_id=(?P<pid>[^)]+)\)$")


def edit(folder, rel, fn):
    """Apply ``fn`` to the table ``rel`` read as strings, write it back."""
    path = folder / rel
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False, lineterminator="\n")


def set_cell(rel, row, column, value):
    def fn(folder):
        def change(df):
            df.loc[row, column] = value
            return df
        edit(folder, rel, change)
    return fn


def add_row(rel, **values):
    def fn(folder):
        edit(folder, rel, lambda df: pd.concat([df, pd.DataFrame([values])], ignore_index=True).fillna(""))
    return fn


def errors(folder):
    report = validate_folder(folder)
    return [str(p) for p in report.errors], report


# (case id, mutation, expected file, row, column, message fragment, patient)
CASES = [
    ("01_patient_id_pattern", set_cell("sonimage/patients.csv", 0, "patient_id", "Jane Doe"),
     "sonimage/patients.csv", 2, "patient_id", "must match", "Jane Doe"),
    ("02_patient_id_unique", set_cell("sonimage/patients.csv", 1, "patient_id", "P001"),
     "sonimage/patients.csv", 3, "patient_id", "duplicate value", "P001"),
    ("03_required_value_missing", set_cell("sonimage/patients.csv", 1, "arm", ""),
     "sonimage/patients.csv", 3, "arm", "missing (required)", "P002"),
    ("04_unknown_category_code", set_cell("sonimage/patients.csv", 1, "arm", "AI+palbo"),
     "sonimage/patients.csv", 3, "arm", "must be one of", "P002"),
    ("05_unparsable_date", set_cell("sonimage/patients.csv", 0, "randomization_date", "02/03/2020"),
     "sonimage/patients.csv", 2, "randomization_date", "is not a date", "P001"),
    ("06_unparsable_number", set_cell("sonimage/patients.csv", 0, "age_years", "sixty"),
     "sonimage/patients.csv", 2, "age_years", "is not a number", "P001"),
    ("07_unparsable_bool", set_cell("sonimage/patients.csv", 2, "visceral_disease", "yes"),
     "sonimage/patients.csv", 4, "visceral_disease", "is not `true` or `false`", "P003"),
    ("08_age_range", set_cell("sonimage/patients.csv", 0, "age_years", "17"),
     "sonimage/patients.csv", 2, "age_years", "must be >= 18", "P001"),
    ("09_er_above_10_in_sonimage", set_cell("sonimage/patients.csv", 0, "er_percent", "5"),
     "sonimage/patients.csv", 2, "er_percent", "must be > 10", "P001"),
    ("10_who_0_to_2_in_sonimage", set_cell("sonimage/patients.csv", 0, "who_performance_status", "3"),
     "sonimage/patients.csv", 2, "who_performance_status", "must be one of", "P001"),
    ("11_event_is_0_or_1", set_cell("sonimage/patients.csv", 0, "pfs1_event", "2"),
     "sonimage/patients.csv", 2, "pfs1_event", "must be one of", "P001"),
    ("12_pfs_date_not_before_randomisation", set_cell("sonimage/patients.csv", 0, "pfs1_date", "2020-01-01"),
     "sonimage/patients.csv", 2, "pfs1_date", "before randomization_date", "P001"),
    ("13_progression_is_not_censored", set_cell("sonimage/patients.csv", 0, "pfs1_event", "0"),
     "sonimage/patients.csv", 2, "pfs1_event_type", "does not go with pfs1_event = 0", "P001"),
    ("14_censored_goes_with_event_0", set_cell("sonimage/patients.csv", 2, "pfs1_event", "1"),
     "sonimage/patients.csv", 4, "pfs1_event_type", "'censored' does not go with pfs1_event = 1", "P003"),
    ("15_lesion_foreign_key", set_cell("sonimage/lesions.csv", 5, "patient_id", "P999"),
     "sonimage/lesions.csv", 7, "patient_id", "not found in patients.csv", "P999"),
    ("16_lesion_id_unique_within_patient", set_cell("sonimage/lesions.csv", 1, "lesion_id", "L1"),
     "sonimage/lesions.csv", 3, "lesion_id", "duplicate key", "P001"),
    ("17_organ_code", set_cell("sonimage/lesions.csv", 0, "organ", "Lung"),
     "sonimage/lesions.csv", 2, "organ", "must be one of", "P001"),
    ("18_suv_below_100", set_cell("sonimage/lesions.csv", 0, "fes_suvmax", "120"),
     "sonimage/lesions.csv", 2, "fes_suvmax", "must be < 100", "P001"),
    ("19_diameter_positive", set_cell("sonimage/lesions.csv", 0, "ct_diameter_mm", "0"),
     "sonimage/lesions.csv", 2, "ct_diameter_mm", "must be > 0", "P001"),
    ("20_patient_has_lesions", lambda f: edit(f, "sonimage/lesions.csv", lambda d: d[d.patient_id != "P002"]),
     "sonimage/patients.csv", 3, "patient_id", "no row in lesions.csv", "P002"),
    ("21_scan_window", set_cell("sonimage/scans.csv", 0, "scan_date", "2019-12-01"),
     "sonimage/scans.csv", 2, "scan_date", "outside 42 days before to 7 days after", "P001"),
    ("22_one_scan_per_tracer", set_cell("sonimage/scans.csv", 1, "tracer", "FES"),
     "sonimage/scans.csv", 3, "tracer", "duplicate key", "P001"),
    ("23_activity_range", set_cell("sonimage/scans.csv", 0, "injected_activity_mbq", "900"),
     "sonimage/scans.csv", 2, "injected_activity_mbq", "must be <= 500", "P001"),
    ("24_glucose_fdg_only", set_cell("sonimage/scans.csv", 0, "blood_glucose_mmol_l", "5.0"),
     "sonimage/scans.csv", 2, "blood_glucose_mmol_l", "FDG only", "P001"),
    ("25_baseline_assessment_window", lambda f: edit(f, "sonimage/recist.csv", lambda d: d.assign(
        assessment_date=d.assessment_date.where(~((d.patient_id == "P003") & (d.assessment_date == "2020-05-30")),
                                                 "2020-06-20"))),
     "sonimage/recist.csv", 11, "assessment_date", "later than randomization_date + 7 days", "P003"),
    ("26_target_present_at_baseline", add_row("sonimage/recist.csv", patient_id="P001", lesion_id="L3",
                                              assessment_date="2020-05-25", lesion_kind="target",
                                              is_lymph_node="false", diameter_mm="12"),
     "sonimage/recist.csv", 13, "lesion_id", "not recorded at the baseline assessment", "P001"),
    ("27_no_new_lesion_at_baseline", add_row("sonimage/recist.csv", patient_id="P001", lesion_id="N0",
                                             assessment_date="2020-02-28", lesion_kind="new",
                                             is_lymph_node="false", status="unequivocal"),
     "sonimage/recist.csv", 13, "lesion_kind", "new lesion 'N0' at the baseline assessment", "P001"),
    ("28_diameter_only_for_targets", set_cell("sonimage/recist.csv", 1, "diameter_mm", "12"),
     "sonimage/recist.csv", 3, "diameter_mm", "non_target rows carry no diameter", "P001"),
    ("29_status_not_for_targets", set_cell("sonimage/recist.csv", 0, "status", "present"),
     "sonimage/recist.csv", 2, "status", "target rows carry no status", "P001"),
    ("30_non_target_status_codes", set_cell("sonimage/recist.csv", 1, "status", "equivocal"),
     "sonimage/recist.csv", 3, "status", "non_target status must be one of", "P001"),
    ("31_target_lesion_in_lesions_csv", lambda f: edit(f, "sonimage/recist.csv", lambda d: d.replace(
        {"lesion_id": {"L1": "LX"}}).where(d.patient_id != "P002", d)),
     "sonimage/recist.csv", 2, "lesion_id", "is not in lesions.csv", "P001"),
    ("48_baseline_target_measurable", set_cell("sonimage/recist.csv", 0, "diameter_mm", "8"),
     "sonimage/recist.csv", 2, "diameter_mm", "is not measurable (8 mm < 10 mm)", "P001"),
    ("49_baseline_node_target_15mm", set_cell("sonimage/recist.csv", 9, "diameter_mm", "12"),
     "sonimage/recist.csv", 11, "diameter_mm", "is not measurable (12 mm < 15 mm)", "P003"),
    ("50_non_target_present_at_baseline", set_cell("sonimage/recist.csv", 1, "status", "absent"),
     "sonimage/recist.csv", 3, "status", "must be `present` at baseline", "P001"),
    ("51_is_lymph_node_stable", set_cell("sonimage/recist.csv", 10, "is_lymph_node", "false"),
     "sonimage/recist.csv", 12, "is_lymph_node", "changes is_lymph_node", "P003"),
    ("52_new_lesion_has_a_new_id", add_row("sonimage/recist.csv", patient_id="P001", lesion_id="L3",
                                           assessment_date="2021-09-14", lesion_kind="new", is_lymph_node="false",
                                           status="equivocal"),
     "sonimage/recist.csv", 13, "lesion_id", "reuses the id 'L3' of a baseline lesion", "P001"),
    ("32_target_diameter_at_baseline", set_cell("sonimage/recist.csv", 0, "diameter_mm", ""),
     "sonimage/recist.csv", 2, "diameter_mm", "needs a baseline diameter > 0", "P001"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_names_file_row_column_patient(valid_folder, case):
    _, mutate, file, row, column, fragment, pid = case
    mutate(valid_folder)
    found, _ = errors(valid_folder)
    expected = [line for line in found if line.startswith(f"{file}:{row}: {column}: ") and fragment in line]
    assert expected, f"no error {file}:{row}: {column}: ...{fragment}... in\n" + "\n".join(found)
    assert expected[0].endswith(f"(patient_id={pid})")


def test_33_valid_folder_has_no_problem(valid_folder):
    report = validate_folder(valid_folder)
    assert report.ok and report.problems == []


def test_34_every_line_has_the_contract_shape(valid_folder):
    for _, mutate, *_ in CASES[:10]:
        mutate(valid_folder)
    found, report = errors(valid_folder)
    assert len(found) >= 8
    assert all(LINE.match(line) for line in found), [line for line in found if not LINE.match(line)]


def test_35_more_than_5_targets_and_2_per_organ(valid_folder):
    lesions = [dict(patient_id="P001", lesion_id=f"T{i}", organ="lung", fes_suvmax="2", fdg_suvmax="3",
                    ct_diameter_mm="15") for i in range(6)]
    recist = [dict(patient_id="P001", lesion_id=f"T{i}", assessment_date="2020-02-28", lesion_kind="target",
                   is_lymph_node="false", diameter_mm="15", status="") for i in range(6)]
    edit(valid_folder, "sonimage/lesions.csv", lambda d: pd.concat([d, pd.DataFrame(lesions)]).fillna(""))
    edit(valid_folder, "sonimage/recist.csv", lambda d: pd.concat([d, pd.DataFrame(recist)]).fillna(""))
    found, _ = errors(valid_folder)
    # only the excess lesions are flagged: with L1 (lung) first, T4 and T5 are targets 6 and 7 of P001,
    # and T1 to T5 are the 3rd to 7th in the lung
    too_many = [f for f in found if "more than 5 target lesions" in f]
    assert too_many == [f"sonimage/recist.csv:{17 + i}: lesion_id: more than 5 target lesions: 'T{4 + i}' is number "
                        f"{6 + i} (patient_id=P001)" for i in range(2)]
    in_lung = [f for f in found if "more than 2 target lesions in organ 'lung'" in f]
    assert [f.split("'")[3] for f in in_lung] == ["T1", "T2", "T3", "T4", "T5"]


def test_36_missing_file(valid_folder):
    (valid_folder / "sonimage" / "scans.csv").unlink()
    found, _ = errors(valid_folder)
    assert found == ["sonimage/scans.csv:0: -: required file is missing (patient_id=-)"]


def test_37_empty_file(valid_folder):
    (valid_folder / "sonimage" / "lesions.csv").write_text("")
    found, _ = errors(valid_folder)
    assert "sonimage/lesions.csv:0: -: file is empty (no header row) (patient_id=-)" in found


def test_38_wrong_encoding_names_the_line(valid_folder):
    path = valid_folder / "sonimage" / "patients.csv"
    path.write_bytes(path.read_bytes().replace(b"VUmc", "VUmc Zoë".encode("latin-1")))
    found, _ = errors(valid_folder)
    assert len(found) == 1 and found[0].startswith("sonimage/patients.csv:3: -: file is not UTF-8")


def test_39_ragged_row(valid_folder):
    path = valid_folder / "sonimage" / "lesions.csv"
    path.write_text(path.read_text() + "P002,L9,bone,1.0\n")
    found, _ = errors(valid_folder)
    assert any(f.startswith("sonimage/lesions.csv:8: -: row has 4 fields, the header has 6") for f in found)


def test_40_missing_column(valid_folder):
    edit(valid_folder, "sonimage/patients.csv", lambda d: d.drop(columns=["pfs1_event"]))
    found, _ = errors(valid_folder)
    assert "sonimage/patients.csv:1: pfs1_event: required column is missing from the header (patient_id=-)" in found


def test_41_unknown_column_is_a_warning(valid_folder):
    edit(valid_folder, "sonimage/patients.csv", lambda d: d.assign(site_note="x"))
    report = validate_folder(valid_folder)
    assert report.ok
    assert [str(w) for w in report.warnings] == [
        "sonimage/patients.csv:1: site_note: warning: unknown column, kept and ignored (patient_id=-)"]


def test_42_missing_development_cohort(tmp_path):
    report = validate_folder(tmp_path)
    assert [str(p) for p in report.errors] == ["sonimage/:0: -: development cohort folder is missing (patient_id=-)"]


def external(valid_folder, name="impact_mbc"):
    folder = valid_folder / name
    folder.mkdir()
    for f in ("patients.csv", "lesions.csv"):
        shutil.copy(valid_folder / "sonimage" / f, folder / f)
    return folder


def test_43_external_cohort_rules_differ(valid_folder):
    external(valid_folder)
    edit(valid_folder, "impact_mbc/patients.csv", lambda d: d.assign(arm="chemotherapy", er_percent="5",
                                                                   who_performance_status="3"))
    assert validate_folder(valid_folder).ok


def test_44_present_external_cohort_is_validated_whole(valid_folder):
    external(valid_folder, "et_fes")
    set_cell("et_fes/lesions.csv", 0, "organ", "kidney")(valid_folder)
    found, _ = errors(valid_folder)
    assert found == ["et_fes/lesions.csv:2: organ: 'kidney' must be one of bone, lymph_node, liver, lung, pleura, "
                     "soft_tissue, breast, brain, other (patient_id=P001)"]


def test_45_every_cross_table_rule_is_listed_once():
    assert list(RULES) == list(load_rules())


def test_46_cli_exit_codes_and_no_traceback(valid_folder, capsys):
    assert main(["validate", str(valid_folder)]) == 0
    set_cell("sonimage/patients.csv", 0, "arm", "X")(valid_folder)
    assert main(["validate", str(valid_folder)]) == 1
    out, err = capsys.readouterr()
    assert "sonimage/patients.csv:2: arm: 'X' must be one of ET+CDK4/6i, ET (patient_id=P001)" in out
    assert "Traceback" not in out + err


def test_47_run_stops_on_invalid_data(valid_folder, tmp_path, capsys):
    set_cell("sonimage/patients.csv", 0, "pfs1_date", "yesterday")(valid_folder)
    assert main(["run", "--data", str(valid_folder), "--build", str(tmp_path / "b")]) == 1
    _, err = capsys.readouterr()
    assert "nothing was executed" in err and "Traceback" not in err
    assert not (tmp_path / "b" / "notebooks").exists()


@pytest.mark.parametrize("table", ["patients", "lesions", "scans", "recist"])
def test_53_header_only_or_key_column_missing_never_crashes(valid_folder, table):
    for header in ("patient_id\n", "center\n"):
        (valid_folder / "sonimage" / f"{table}.csv").write_text(header)
        found, _ = errors(valid_folder)
        assert found and all(LINE.match(line) for line in found)


def test_54_any_missing_column_gives_lines_not_a_traceback(valid_folder):
    import io
    from contextlib import redirect_stdout

    for table in ("patients", "lesions", "scans", "recist"):
        path = valid_folder / "sonimage" / f"{table}.csv"
        original = path.read_text()
        for column in pd.read_csv(io.StringIO(original), nrows=0).columns:
            edit(valid_folder, f"sonimage/{table}.csv", lambda d, c=column: d.drop(columns=[c]))
            found, _ = errors(valid_folder)
            assert f"sonimage/{table}.csv:1: {column}: required column is missing from the header (patient_id=-)" in found
            path.write_text(original)


def test_55_repeated_header_name(valid_folder):
    path = valid_folder / "sonimage" / "lesions.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",organ"] + [line + ",bone" for line in lines[1:]]) + "\n")
    found, report = errors(valid_folder)
    assert found == ["sonimage/lesions.csv:1: organ: column appears more than once in the header (patient_id=-)"]
    assert [str(w) for w in report.warnings] == [
        "sonimage/lesions.csv:1: organ.1: warning: unknown column, kept and ignored (patient_id=-)"]


def test_56_blank_lines_are_skipped(valid_folder):
    path = valid_folder / "sonimage" / "scans.csv"
    path.write_text(path.read_text().replace("\n", "\n\n", 2))
    assert validate_folder(valid_folder).ok


def test_plain_text_fast_path_reads_the_same_frame_as_the_csv_module():
    """Rule: the C-parser fast path for plain CSV gives the frame (values, columns, line index) of the csv path."""
    from hypothesis import given, settings, strategies as st

    import sonimage_utils.data.validate as v

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet="ab1 ,\n", min_size=1, max_size=40))
    def check(body):
        text = "id,x,y\n" + body
        fast = v._read_plain_rows(text)
        if fast is None:
            return
        original, v._read_plain_rows = v._read_plain_rows, lambda _: None
        try:
            slow, problems = v._read_rows(text, "t.csv")
        finally:
            v._read_plain_rows = original
        assert problems == [] and slow is not None
        pd.testing.assert_frame_equal(fast, slow)

    check()
    assert v._read_plain_rows("id,x,y\n1,a,b\n\n2,,\n").index.tolist() == [0, 2]   # the fast path is taken
