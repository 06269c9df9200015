"""Bad input (issue 16, item 4): every fault is one clear line and an exit status, never a traceback or a hang.

One small simulated folder is made per session (``sonimage simulate OUT --n-patients 12 --seed 1``); each test
breaks a copy of it in one place. The warnings of the new cross-table rules have their ``test_rule_<id>_``
tests in ``tests/test_rules.py``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sonimage_utils.cli.main import main
from sonimage_utils.data.load import InvalidDataError, available_cohorts
from sonimage_utils.data.validate import validate_folder
from sonimage_utils.pipeline.pages import parameter_table
from sonimage_utils.pipeline.params import load_parameters, parameter_values

ROOT = Path(__file__).resolve().parents[1]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="session")
def base(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bad_input") / "data"
    assert main(["simulate", str(out), "--n-patients", "12", "--seed", "1"]) == 0
    assert validate_folder(out).problems == []
    return out


@pytest.fixture
def data(base, tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(base, target)
    return target


def validate(folder, capsys) -> tuple[int, list[str]]:
    """Exit status of ``sonimage validate`` and its problem lines."""
    status = main(["validate", str(folder)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return status, out.out.splitlines()


def csv_lines(folder, table) -> list[str]:
    return (folder / "sonimage" / f"{table}.csv").read_text().splitlines(keepends=True)


def write_lines(folder, table, lines) -> None:
    (folder / "sonimage" / f"{table}.csv").write_text("".join(lines))


def replace_field(line: str, index: int, value: str) -> str:
    fields = line.rstrip("\n").split(",")
    fields[index] = value
    return ",".join(fields) + "\n"


# --- tracebacks become one line, exit 1 ----------------------------------------------------------------------

def test_integer_overflow_in_a_whole_number_column_is_one_line(data, capsys):
    lines = csv_lines(data, "patients")
    col = lines[0].rstrip("\n").split(",").index("who_performance_status")
    lines[1] = replace_field(lines[1], col, "99999999999999999999")
    write_lines(data, "patients", lines)
    assert validate(data, capsys) == (1, [
        "sonimage/patients.csv:2: who_performance_status: '99999999999999999999' is out of range for a whole "
        "number (patient_id=SON-001)"])


def test_folder_in_place_of_a_csv_is_one_line(data, capsys):
    (data / "sonimage" / "recist.csv").unlink()
    (data / "sonimage" / "recist.csv").mkdir()
    assert validate(data, capsys) == (1, ["sonimage/recist.csv:0: -: is a folder; recist.csv must be a CSV file "
                                          "(patient_id=-)"])


@pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their mode; CI runs as root, so this runs for "
                                    "a normal user only")
def test_unreadable_csv_is_one_line(data, capsys):
    path = data / "sonimage" / "scans.csv"
    path.chmod(0)
    try:
        assert validate(data, capsys) == (1, ["sonimage/scans.csv:0: -: cannot be read: permission denied "
                                              "(patient_id=-)"])
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(AS_ROOT, reason="root reads folders whatever their mode; CI runs as root, so this runs for "
                                    "a normal user only")
def test_unreadable_cohort_folder_is_one_line(data, capsys):
    folder = data / "impact_mbc"
    folder.chmod(0)
    try:
        assert validate(data, capsys) == (1, ["impact_mbc/:0: -: folder cannot be read: permission denied "
                                              "(patient_id=-)"])
    finally:
        folder.chmod(0o755)


# --- a hang: a named pipe is never opened --------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_named_pipe_in_place_of_a_csv_is_refused_without_blocking(data):
    path = data / "sonimage" / "recist.csv"
    path.unlink()
    os.mkfifo(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "sonimage_utils.cli", "validate", str(data)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["sonimage/recist.csv:0: -: is not a regular file (a named pipe, socket or "
                                        "device); only regular CSV files are read (patient_id=-)"]


# --- accepted silently before, now rejected -------------------------------------------------------------------

@pytest.mark.parametrize("table", ["recist", "scans"])
def test_required_table_with_a_header_and_no_rows_is_one_error(data, capsys, table):
    write_lines(data, table, csv_lines(data, table)[:1])
    assert validate(data, capsys) == (1, [f"sonimage/{table}.csv:0: -: file has a header but no data rows "
                                          f"({table}.csv is required in sonimage) (patient_id=-)"])


def test_header_only_patients_csv_gives_one_line(data, capsys):
    write_lines(data, "patients", csv_lines(data, "patients")[:1])
    assert validate(data, capsys) == (1, ["sonimage/patients.csv:0: -: file has a header but no data rows "
                                          "(patients.csv is required in sonimage) (patient_id=-)"])


def test_nul_byte_inside_a_number_is_an_error(data, capsys):
    lines = csv_lines(data, "lesions")
    col = lines[0].rstrip("\n").split(",").index("fes_suvmax")
    value = lines[1].rstrip("\n").split(",")[col]
    assert "." in value
    broken = value.replace(".", ".\x00", 1)
    lines[1] = replace_field(lines[1], col, broken)
    write_lines(data, "lesions", lines)
    assert validate(data, capsys) == (1, [f"sonimage/lesions.csv:2: fes_suvmax: {broken!r} contains a NUL byte "
                                          "(\\x00); the export is damaged (patient_id=SON-001)"])


@pytest.mark.parametrize("kind, message", [
    ("file", "is a file; a cohort must be a folder"),
    ("dangling", "is a symbolic link to nothing (nowhere); a cohort must be a folder"),
    ("loop", "is a symbolic-link loop (impact_mbc); a cohort must be a folder"),
])
def test_external_cohort_path_that_is_no_folder_is_reported(data, capsys, kind, message):
    path = data / "impact_mbc"
    shutil.rmtree(path)
    if kind == "file":
        path.write_text("not a folder\n")
    else:
        path.symlink_to("nowhere" if kind == "dangling" else "impact_mbc")
    assert validate(data, capsys) == (1, [f"impact_mbc/:0: -: {message} (patient_id=-)"])
    with pytest.raises(InvalidDataError, match="impact_mbc/:0: -: " + message.split(" (")[0]):
        available_cohorts(data)


# --- messages: ROW is the physical line ----------------------------------------------------------------------

def test_row_is_the_physical_line_after_a_quoted_field_with_a_newline(data, capsys):
    lines = csv_lines(data, "patients")
    header = lines[0].rstrip("\n").split(",")
    lines[1] = replace_field(lines[1], header.index("center"), '"UM\nCG"')  # line 2 now spans lines 2-3
    lines[3] = replace_field(lines[3], header.index("menopausal_status"), "posty")  # the 3rd record, on line 5
    write_lines(data, "patients", lines)
    pid = lines[3].split(",")[0]
    assert validate(data, capsys) == (1, [f"sonimage/patients.csv:5: menopausal_status: 'posty' must be one of "
                                          f"pre, post (patient_id={pid})"])


def test_unclosed_quote_is_reported_where_it_opens(data, capsys):
    lines = csv_lines(data, "patients")
    header = lines[0].rstrip("\n").split(",")
    lines[3] = replace_field(lines[3], header.index("center"), '"UMCG')
    write_lines(data, "patients", lines)
    assert validate(data, capsys) == (1, ["sonimage/patients.csv:4: -: a quote opened on this line is never closed "
                                          "(patient_id=-)"])


# --- counted and shown: a patient with lesions but no RECIST rows --------------------------------------------

def test_patient_without_recist_rows_is_counted_in_the_chapter_03_flow_table(data):
    from sonimage_utils.chapters.lesion_response import prepare_lesion_data, section_assessable

    rec = pd.read_csv(data / "sonimage" / "recist.csv", dtype=str, keep_default_na=False)
    rec[rec["patient_id"].ne("SON-005")].to_csv(data / "sonimage" / "recist.csv", index=False, lineterminator="\n")
    values = parameter_values()
    d = prepare_lesion_data(data, **{k: values[k] for k in (
        "fes_threshold", "fes_excluded_organs", "fdg_threshold", "recist_sd_min_days", "recist_confirm",
        "lesion_response_threshold_pct", "lesion_fes_form_aic_margin")})
    flow = section_assessable(d)
    table = dict(zip(flow.tables["flow"][""], flow.tables["flow"]["n"]))
    assert d.no_recist == ["SON-005"]
    assert table["without RECIST assessments (left out)"] == 1
    assert table["Patients in the cohort"] == table["with RECIST assessments"] + 1
    assert "SON-005" in flow.text["caption"]


# --- parameters: type and range declared, checked at start ---------------------------------------------------

def test_bad_param_value_is_refused_before_any_notebook_runs_naming_it(data, tmp_path, capsys):
    build = tmp_path / "build"
    assert main(["run", "--data", str(data), "--build", str(build), "--param", "fes_threshold=abc"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "sonimage run: --param fes_threshold must be a number between 0.5 and 10, got 'abc'"]
    assert not (build / "notebooks").exists()


@pytest.mark.parametrize("item, message", [
    ("uptake_window_fes_min=[70, 50]", "uptake_window_fes_min must be a window [low, high], low <= high, between 0 "
                                       "and 240, got [70, 50]"),
    ("fes_excluded_organs=[livr]", "fes_excluded_organs must be a list of items from: bone, lymph_node, liver, "
                                   "lung, pleura, soft_tissue, breast, brain, other, got ['livr']"),
    ("benefit_n_boot=2.5", "benefit_n_boot must be a whole number between 10 and 100000, got 2.5"),
    ("recist_confirm=maybe", "recist_confirm must be true or false, got 'maybe'"),
    ("fdg_threshold=null", None),
])
def test_param_overrides_are_checked_against_type_and_range(item, message):
    key, raw = item.split("=", 1)
    import yaml
    override = {key: yaml.safe_load(raw)}
    if message is None:
        assert parameter_values(override)[key] == override[key]
    else:
        with pytest.raises(ValueError) as info:
            parameter_values(override)
        assert str(info.value) == f"--param {message}"


def test_every_parameter_declares_type_and_range_and_its_value_fits():
    for name, entry in load_parameters().items():
        check = entry["check"]
        assert check["type"], name
        assert {"min", "max"} <= set(check) or "choices" in check or "pattern" in check or check["type"] == "bool"
    parameter_values()  # every value of analysis.yml in its range


def test_parameter_without_a_check_in_analysis_yml_is_refused(tmp_path):
    path = tmp_path / "analysis.yml"
    path.write_text("parameters:\n  x:\n    value: 1\n    rationale: a number.\n")
    with pytest.raises(ValueError, match=r"analysis.yml: parameter 'x': `check` is missing"):
        load_parameters(path)


def test_sap_page_shows_type_and_range():
    table = parameter_table()
    assert table.splitlines()[0] == "| parameter | value | type and range | rationale |"
    assert "| `fes_threshold` | `1.5` | a number between 0.5 and 10 | " in table
    assert "| `recist_confirm` | `false` | true or false | " in table
