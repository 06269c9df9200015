"""Versions are kept, compared and never overwritten (issue 13, item 3).

Light builds: a 30-patient simulated folder, chapter 00 only; one build folder shared by the module holds
an explicitly named version ``0.0.0-a`` and two versions with default names (one with a ``--param`` override).
"""

import json

import pytest

from sonimage_utils.cli.main import main
from sonimage_utils.pipeline import versions as v

ONLY = ["--only", "00"]
OVERRIDE = ["--param", "fes_threshold=1.8"]


def _names(build):
    return [e["version"] for e in v.read_index(build)]


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    root = tmp_path_factory.mktemp("versions")
    data, build = root / "data", root / "build"
    assert main(["simulate", str(data), "--n-patients", "30", "--seed", "3"]) == 0
    common = ["--data", str(data), "--build", str(build), *ONLY]
    assert main(["build", *common, "--version", "0.0.0-a"]) == 0
    assert main(["build", *common, *OVERRIDE]) == 0  # default name
    with_override = _names(build)[-1]
    assert main(["build", *common]) == 0  # default name, the inputs of 0.0.0-a
    plain = _names(build)[-1]
    return data, build, with_override, plain


@pytest.mark.e2e
def test_01_default_names_are_derived_from_the_inputs_and_differ(kept):
    _, build, with_override, plain = kept
    assert _names(build) == ["0.0.0-a", with_override, plain]
    assert with_override != plain
    assert with_override.split(".")[-1] != plain.split(".")[-1]  # the inputs hash
    for name in (with_override, plain):
        inputs = json.loads((build / "versions" / name / "version.json").read_text())["inputs"]
        assert v.default_version_name(inputs) == name
    meta = json.loads((build / "versions" / with_override / "version.json").read_text())
    assert meta["inputs"]["overrides"] == {"fes_threshold": 1.8} and meta["inputs"]["scope"] == ["00_cohort"]
    assert meta["compared_with"] == "0.0.0-a"


@pytest.mark.e2e
@pytest.mark.parametrize("change, named", [(OVERRIDE, "parameters fes_threshold"),
                                           (["--only", "01"], "scope 00 -> ")])
def test_02_an_explicit_version_with_other_inputs_is_refused_before_running(kept, capsys, change, named):
    data, build, _, _ = kept
    before = (build / "versions" / "0.0.0-a" / "version.json").read_bytes()
    html = (build / "html" / "index.html").read_bytes()
    capsys.readouterr()
    args = ["build", "--data", str(data), "--build", str(build), "--version", "0.0.0-a"]
    assert main([*args, *(ONLY if change is OVERRIDE else []), *change]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sonimage build: version 0.0.0-a exists") and named in err[0], err
    assert (build / "versions" / "0.0.0-a" / "version.json").read_bytes() == before
    assert (build / "html" / "index.html").read_bytes() == html
    assert len(_names(build)) == 3


@pytest.mark.e2e
def test_03_each_version_keeps_its_registry_and_the_switcher_lists_all(kept):
    _, build, with_override, plain = kept
    last = json.loads((build / "results" / "results.json").read_text())
    assert json.loads((build / "versions" / plain / "results" / "results.json").read_text()) == last
    for name in _names(build):
        assert (build / "versions" / name / "index.html").is_file()
        assert (build / "versions" / name / "results" / "deviations.json").is_file()
    switcher = json.loads((build / "versions" / "switcher.json").read_text())
    assert [e["version"] for e in switcher] == [plain, with_override, "0.0.0-a"]
    assert all(e["url"] == f"/versions/{e['version']}/" for e in switcher)
    page = (build / "html" / "notebooks" / "00_cohort.html").read_text(encoding="utf-8")
    assert "version-switcher__container" in page and v.SWITCHER_JSON_URL in page and plain in page
    listing = (build / "versions" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{n}/index.html"' in listing for n in _names(build))
    # the book's list works from a file: from BUILD/html/book and, rewritten, from the kept copy
    assert f'href="../../versions/{with_override}/index.html"' in (build / "html" / "book" / "versions.html").read_text()
    kept_page = (build / "versions" / plain / "book" / "versions.html").read_text()
    assert f'href="../../{with_override}/index.html"' in kept_page and "../../versions/" not in kept_page


@pytest.mark.e2e
def test_04_diff_lists_every_changed_registry_name_one_per_line(kept, capsys):
    _, build, with_override, _ = kept
    capsys.readouterr()
    assert main(["diff", "0.0.0-a", with_override, "--build", str(build)]) == 0
    lines = capsys.readouterr().out.splitlines()
    old = json.loads((build / "versions" / "0.0.0-a" / "results" / "results.json").read_text())
    new = json.loads((build / "versions" / with_override / "results" / "results.json").read_text())
    differ = {k for k in old.keys() & new.keys() if old[k] != new[k]}
    assert "sap_n_deviations" in differ  # the override is a deviation from the frozen SAP
    assert {line.split("\t")[1] for line in lines if line.startswith("changed\t")} == differ
    assert f"changed\tsap_n_deviations\t{old['sap_n_deviations']} -> {new['sap_n_deviations']}\t+1" in lines
    assert "parameter\tfes_threshold\t1.5 -> 1.8" in lines
    assert not [line for line in lines if line.startswith(("data\t", "scope\t", "added\t", "removed\t"))]


@pytest.mark.e2e
def test_05_diff_of_an_unknown_version_exits_2_with_one_line(kept, capsys):
    _, build, with_override, _ = kept
    capsys.readouterr()
    assert main(["diff", "9.9.9-none", with_override, "--build", str(build)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no version 9.9.9-none" in err[0] and "0.0.0-a" in err[0]


@pytest.mark.e2e
def test_06_what_changed_page_lists_old_new_and_difference(kept):
    _, build, with_override, plain = kept
    import re

    def text(name):
        html = (build / "versions" / name / "book" / "changes.html").read_text(encoding="utf-8")
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))

    page = text(with_override)
    assert "compared with the version kept before it, 0.0.0-a" in page
    assert re.search(r"sap_n_deviations \d+ \d+ \+1", page) and "fes_threshold 1.5 1.8" in page
    assert "parameters changed: 1; data files changed: 0" in page
    back = text(plain)  # the override removed again
    assert f"compared with the version kept before it, {with_override}" in back
    assert "fes_threshold 1.8 1.5" in back
    assert "is the first version kept" in text("0.0.0-a")


@pytest.mark.e2e
def test_07_the_same_explicit_version_with_the_same_inputs_is_rebuilt_in_place(kept):
    data, build, _, _ = kept
    names = _names(build)
    assert main(["build", "--data", str(data), "--build", str(build), *ONLY, "--version", "0.0.0-a"]) == 0
    assert _names(build) == names  # same place in the list, no second entry
    assert not [p for p in (build / "versions").iterdir() if p.name.startswith(".")]


def _inputs(**change):
    inputs = {"data_hash": "d", "files": {"sonimage/patients.csv": "a" * 64}, "parameters": {"fes_threshold": 1.5},
              "overrides": {}, "scope": ["00_cohort"], "git_commit": "abc1234", "git_dirty": False, "synthetic": True}
    return {**inputs, **change}


def test_08_a_version_kept_without_its_inputs_is_never_replaced(tmp_path):
    (tmp_path / "versions").mkdir()
    (tmp_path / "versions" / "versions.json").write_text(json.dumps([{"version": "0.1.0+abc1234", "path": "x"}]))
    with pytest.raises(v.VersionConflict, match="without a record of its inputs"):
        v.check_version(tmp_path, "0.1.0+abc1234", _inputs())
    assert v.check_version(tmp_path, "other", _inputs()) is False


def test_09_identity_is_data_parameters_scope_and_code():
    base = v.inputs_id(_inputs())
    assert v.inputs_id(_inputs(files={"changed": "b"}, overrides={"x": 1}, synthetic=False)) == base
    for change in ({"data_hash": "e"}, {"parameters": {"fes_threshold": 1.8}}, {"scope": ["00_cohort", "01_x"]},
                   {"git_commit": "def5678"}, {"git_dirty": True}):
        assert v.inputs_id(_inputs(**change)) != base, change


def test_10_compare_reports_files_scope_code_and_non_numbers():
    old = {"version": "a", "results": {"x": 1, "y": None, "z": 2.0}, "inputs": _inputs()}
    new = {"version": "b", "results": {"x": 1.0, "y": None, "z": 2.5},
           "inputs": _inputs(files={"sonimage/patients.csv": "b" * 64, "sonimage/new.csv": "c" * 64},
                             scope=["00_cohort", "01_x"], git_commit="def5678")}
    c = v.compare_versions(old, new)
    assert c["changed"] == [("x", 1, 1.0, 0.0), ("z", 2.0, 2.5, 0.5)]  # 1 -> 1.0 is a change of type only
    assert c["files"] == [("sonimage/new.csv", None, "c" * 64), ("sonimage/patients.csv", "a" * 64, "b" * 64)]
    assert c["scope"] == (["00_cohort"], ["00_cohort", "01_x"]) and c["code"] == ("abc1234", "def5678")
    lines = v.format_changes_lines(c, "a", "b")
    assert "data\tsonimage/new.csv\t(absent) -> cccccccccccc" in lines and "code\tabc1234 -> def5678" in lines
    page = v.changes_page(old, new)
    assert "| `z` | 2.0 | 2.5 | +0.5 |" in page and "## Data files that changed" in page
    assert "Nothing changed" in v.changes_page(old, {**old, "version": "c"})


def test_11_a_version_keeps_its_bundle_and_pdf_but_not_an_earlier_builds_bundle(tmp_path):
    build = tmp_path
    (build / "html" / "book").mkdir(parents=True)
    (build / "html" / "index.html").write_text("<html></html>")
    (build / "results").mkdir()
    (build / "results" / "results.json").write_text('{"x": 1}\n')
    (build / "publication").mkdir()
    (build / "publication" / "manifest.json").write_text('{"version": "1.0"}')
    (build / "sonimage-sap-1.0.pdf").write_bytes(b"%PDF-1.7")
    logged = []
    target = v.record_version(build, "1.0", build / "html", _inputs(), pdf=build / "sonimage-sap-1.0.pdf",
                              publication=build / "publication", log=logged.append)
    assert (target / "publication" / "manifest.json").is_file() and (target / "sonimage-sap-1.0.pdf").is_file()
    assert (target / "results" / "results.json").read_text() == '{"x": 1}\n'
    other = v.record_version(build, "1.1", build / "html", _inputs(scope=["01_x"]), pdf=build / "none.pdf",
                             publication=build / "publication", log=logged.append)
    assert not (other / "publication").exists() and logged == ["publication/ was made for version 1.0: not kept with 1.1"]
    with pytest.raises(v.VersionConflict, match=r"version 1.0 exists .* \(scope 00 -> 01\)"):
        v.record_version(build, "1.0", build / "html", _inputs(scope=["01_x"]))
    assert _names(build) == ["1.0", "1.1"]
