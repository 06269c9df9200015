"""A partial build with a parameter override lists its deviations from the frozen SAP (e2e, light: 30 patients,
chapter 00 only)."""

import json

import pytest

from sonimage_utils.cli.main import main
from sonimage_utils.pipeline.sap import latest_frozen_sap

pytestmark = pytest.mark.e2e


def test_01_a_build_with_an_override_lists_it_and_counts_it(tmp_path, capsys):
    data, build = tmp_path / "data", tmp_path / "build"
    assert main(["simulate", str(data), "--n-patients", "30", "--seed", "3"]) == 0
    assert main(["build", "--data", str(data), "--build", str(build), "--only", "00", "--version", "0.0.0-sap",
                 "--param", "fes_threshold=1.8"]) == 0
    capsys.readouterr()
    sap = json.loads((build / "results" / "deviations.json").read_text())
    frozen = latest_frozen_sap()
    assert sap["frozen_sap"]["path"] == frozen["path"]
    texts = [d["text"] for d in sap["deviations"]]
    assert any(t.startswith("`fes_threshold` = `1.8`") and "`--param` override" in t for t in texts)
    left_out = [d["source"] for d in sap["deviations"] if d["kind"] == "chapter"]
    assert left_out and "00_cohort" not in left_out
    registry = json.loads((build / "results" / "results.json").read_text())
    assert registry["sap_n_deviations"] == len(sap["deviations"])
    page = (build / "html" / "book" / "deviations.html").read_text()
    assert "fes_threshold" in page and f"frozen SAP of {frozen['date']}" in page
    assert f"frozen SAP of {frozen['date']}" in (build / "html" / "book" / "provenance.html").read_text()
    assert f"frozen SAP of {frozen['date']}" in (build / "html" / "book" / "sap.html").read_text()
