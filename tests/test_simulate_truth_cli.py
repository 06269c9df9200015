"""``sonimage simulate OUT --truth FILE``: a YAML of overrides of the generating parameters (issue 12)."""

from __future__ import annotations

import json

import pytest

from sonimage_utils.cli.main import main
from sonimage_utils.simulate.truth import expand_dotted_overrides


def test_truth_yaml_dotted_and_nested_overrides_are_written_into_truth_json(tmp_path):
    f = tmp_path / "scenario.yml"
    f.write_text("pfs.hr_interaction: 0.4\npfs:\n  hr_heterogeneous: 2.5\n", encoding="utf-8")
    out = tmp_path / "data"
    assert main(["simulate", str(out), "--n-patients", "20", "--seed", "3", "--truth", str(f)]) == 0
    truth = json.loads((out / "truth.json").read_text())
    assert truth["pfs"]["hr_interaction"] == 0.4
    assert truth["pfs"]["hr_heterogeneous"] == 2.5
    assert truth["overrides"] == {"pfs": {"hr_interaction": 0.4, "hr_heterogeneous": 2.5}}


def test_truth_without_overrides_has_no_overrides_key(tmp_path):
    out = tmp_path / "data"
    assert main(["simulate", str(out), "--n-patients", "10", "--seed", "3"]) == 0
    assert "overrides" not in json.loads((out / "truth.json").read_text())


def test_truth_unknown_key_fails_with_its_name(tmp_path, capsys):
    f = tmp_path / "bad.yml"
    f.write_text("pfs.hr_nonsense: 2\n", encoding="utf-8")
    assert main(["simulate", str(tmp_path / "d"), "--n-patients", "10", "--truth", str(f)]) == 2
    assert "pfs.hr_nonsense" in capsys.readouterr().err


def test_dotted_key_given_twice_is_an_error():
    with pytest.raises(ValueError, match="given twice"):
        expand_dotted_overrides({"pfs.hr_arm": 0.5, "pfs": {"hr_arm": 0.6}})
