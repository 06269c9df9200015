"""The frozen SAP, the deviations of a build from it, and the results summary's sentences."""

import json
import shutil

import pytest

from sonimage_utils.pipeline.pages import summary_page
from sonimage_utils.pipeline.params import project_root
from sonimage_utils.pipeline.sap import (SAP_FILES, FrozenSapExists, compute_deviations, deviations_page,
                                         freeze_sap, latest_frozen_sap)
from sonimage_utils.tables.summary import format_interaction_conclusion, format_results_summary

ROOT = project_root()


@pytest.fixture
def repo(tmp_path):
    """A copy of the SAP files in a folder that is not a git work tree."""
    for rel in SAP_FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, tmp_path / rel)
    return tmp_path


def _values(root):
    from sonimage_utils.pipeline.params import parameter_values

    return parameter_values(path=root / "analysis.yml")


def test_01_freeze_writes_a_dated_hashed_snapshot_and_refuses_to_overwrite(repo):
    path = freeze_sap("2026-11-30", root=repo)
    assert path == repo / "sap" / "frozen" / "sap-2026-11-30.json"
    snap = json.loads(path.read_text())
    assert set(snap["files"]) == set(SAP_FILES) and snap["git_commit"] == "unknown"
    assert snap["parameters"]["fes_threshold"] == _values(repo)["fes_threshold"]
    before = path.read_bytes()
    with pytest.raises(FrozenSapExists, match="never overwritten"):
        freeze_sap("2026-11-30", root=repo)
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        freeze_sap("30-11-2026", root=repo)


def test_02_hashes_change_when_a_sap_page_changes(repo):
    first = json.loads(freeze_sap("2026-11-30", root=repo).read_text())
    with open(repo / "book" / "sap.md", "a", encoding="utf-8") as fh:
        fh.write("\nAn amendment.\n")
    second = json.loads(freeze_sap("2026-12-01", root=repo).read_text())
    assert second["files"]["book/sap.md"]["sha256"] != first["files"]["book/sap.md"]["sha256"]
    assert second["files"]["book/methods.md"]["sha256"] == first["files"]["book/methods.md"]["sha256"]
    assert second["sap_sha256"] != first["sap_sha256"]
    assert latest_frozen_sap(repo)["date"] == "2026-12-01"          # the latest is the one checked against


def test_02b_an_amendment_on_the_same_day_is_a_new_snapshot_and_the_latest(repo):
    first = freeze_sap("2026-11-30", root=repo)
    with open(repo / "book" / "sap.md", "a", encoding="utf-8") as fh:
        fh.write("\nAn amendment.\n")
    second = freeze_sap("2026-11-30", root=repo, amendment=True)
    third = freeze_sap("2026-11-30", root=repo, amendment=True)
    assert (second.name, third.name) == ("sap-2026-11-30.2.json", "sap-2026-11-30.3.json")
    assert first.read_bytes() != second.read_bytes()
    freeze_sap("2026-11-29", root=repo)                          # an earlier date never becomes the latest
    latest = latest_frozen_sap(repo)
    assert (latest["path"], latest["amendment"]) == ("sap/frozen/sap-2026-11-30.3.json", 3)
    assert [h["amendment"] for h in latest["history"]] == [1, 1, 2, 3]
    page = deviations_page(latest, [])
    assert "frozen SAP of 2026-11-30, amendment 3" in page and page.count("| `sap/frozen/") == 4


def test_03_a_hand_edited_snapshot_is_refused(repo):
    path = freeze_sap("2026-11-30", root=repo)
    snap = json.loads(path.read_text())
    snap["files"]["analysis.yml"]["text"] += "# edited\n"
    path.write_text(json.dumps(snap))
    with pytest.raises(ValueError, match="never edited"):
        latest_frozen_sap(repo)


def test_04_deviations_list_overrides_amendments_chapters_and_reported_analyses(repo):
    frozen = (freeze_sap("2026-11-30", root=repo), latest_frozen_sap(repo))[1]
    values = _values(repo)
    assert compute_deviations(frozen, values, {}, [], {}, root=repo) == []
    (repo / "book" / "methods.md").write_text("changed\n")
    devs = compute_deviations(frozen, {**values, "fes_threshold": 1.8}, {"fes_threshold": 1.8},
                              ["03_lesion_response"], {"04_benefit_model": [{"text": "HS quartiles: 3 groups"}]},
                              root=repo)
    assert [d["kind"] for d in devs] == ["parameter", "plan", "chapter", "analysis"]
    assert "`fes_threshold` = `1.8`, frozen SAP `1.5` (`--param` override)" in devs[0]["text"]
    page = deviations_page(frozen, devs)
    assert "frozen SAP of 2026-11-30" in page and "**4 deviations**" in page and "HS quartiles: 3 groups" in page


def test_05_without_a_frozen_sap_the_build_says_so(repo):
    assert latest_frozen_sap(repo) is None
    devs = compute_deviations(None, _values(repo), {"seed": 1}, [], {}, root=repo)
    assert len(devs) == 1 and "override" in devs[0]["text"]
    assert deviations_page(None, []).startswith("**No frozen SAP.**")


def test_06_the_repository_has_a_frozen_sap_that_matches_its_text():
    frozen = latest_frozen_sap(ROOT)
    assert frozen is not None and frozen["path"].startswith("sap/frozen/sap-")


REGISTRY = {"obj1_hr_heterogeneous": 1.35, "obj1_hr_heterogeneous_ci_low": 0.85, "obj1_hr_heterogeneous_ci_high": 2.14,
            "obj1_hr_heterogeneous_p": 0.198, "obj2_hr_interaction": 1.34, "obj2_hr_interaction_ci_low": 0.53,
            "obj2_hr_interaction_ci_high": 3.37, "obj2_interaction_p": 0.53, "obj2_power_ratio_0_5": 0.299}


def test_07_summary_sentence_flips_when_the_interval_moves_off_1():
    table = format_results_summary(REGISTRY, ran=["01", "02"])
    primary = table.iloc[0]
    assert primary["label"] == "confirmatory" and primary["estimate (95% CI)"] == "1.35 (0.85 to 2.14)"
    assert "includes 1" in primary["conclusion"] and "not evidence of no difference" in primary["conclusion"]
    shifted = {**REGISTRY, "obj1_hr_heterogeneous_ci_low": 1.05, "obj1_hr_heterogeneous_p": 0.02}
    assert "higher hazard" in format_results_summary(shifted).iloc[0]["conclusion"]
    lower = {**REGISTRY, "obj1_hr_heterogeneous": 0.6, "obj1_hr_heterogeneous_ci_low": 0.4,
             "obj1_hr_heterogeneous_ci_high": 0.9}
    assert "lower hazard" in format_results_summary(lower).iloc[0]["conclusion"]
    assert (table["label"].iloc[1:] == "exploratory").all()
    assert "Chapter 03 was not run" in table.iloc[2]["conclusion"]


def test_08_interaction_sentence_is_chosen_from_interval_and_power():
    low_power = format_interaction_conclusion(1.34, 0.53, 3.37, 0.299, relevant_ratio=0.5)
    assert low_power.startswith("The interaction has 30% power at a ratio of 0.5, so the data can neither show "
                                "nor exclude a clinically relevant interaction")
    narrow = format_interaction_conclusion(1.05, 0.7, 1.5, 0.92, relevant_ratio=0.5)
    assert "argue against an interaction of that size" in narrow and "92% power" in narrow
    shown = format_interaction_conclusion(0.3, 0.15, 0.6, 0.299, relevant_ratio=0.5)
    assert "below 1" in shown and "exploratory" in shown
    assert "not estimable" in format_interaction_conclusion(None, None, None, 0.3, relevant_ratio=0.5)


def test_09_summary_page_reads_the_registry_without_typed_numbers():
    page = summary_page(REGISTRY, ["01_pfs_heterogeneity", "02_treatment_interaction"])
    assert "| **confirmatory** | 1.35 (0.85 to 2.14) | 0.198 |" in page
    assert "30% power at a ratio of 0.5" in page
