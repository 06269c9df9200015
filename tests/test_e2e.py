"""End to end: simulate -> validate -> build, then determinism, caching and a failed build.

One synthetic folder and one full build are shared by the module (the expensive part); the parameter
overrides below only make resampling steps cheaper, they do not change what is computed.
"""

import json
import re
import shutil

import pytest

from sonimage_utils.cli.main import main
from sonimage_utils.pipeline.execute import discover_notebooks

pytestmark = pytest.mark.e2e

#: Required registry names per notebook (interface.md).
REQUIRED = {
    "00": ["cohort_n_patients", "cohort_n_lesions", "cohort_n_excluded_no_assessable_lesion"],
    "01": ["obj1_n_patients", "obj1_n_events", "obj1_n_homogeneous", "obj1_n_heterogeneous", "obj1_hr_heterogeneous",
           "obj1_hr_heterogeneous_ci_low", "obj1_hr_heterogeneous_ci_high", "obj1_hr_heterogeneous_p", "obj1_hr_arm",
           "obj1_hr_arm_ci_low", "obj1_hr_arm_ci_high", "obj1_logrank_p", "obj1_median_pfs_homogeneous",
           "obj1_median_pfs_heterogeneous"],
    "02": ["obj2_interaction_p", "obj2_hr_arm_homogeneous", "obj2_hr_arm_homogeneous_ci_low",
           "obj2_hr_arm_homogeneous_ci_high", "obj2_hr_arm_heterogeneous", "obj2_hr_arm_heterogeneous_ci_low",
           "obj2_hr_arm_heterogeneous_ci_high", "obj2_pfs24_difference_homogeneous",
           "obj2_pfs24_difference_heterogeneous", "obj2_pfs24_interaction", "obj2_pfs24_interaction_ci_low",
           "obj2_pfs24_interaction_ci_high"],
    "03": ["obj3_n_lesions", "obj3_orr_homogeneous", "obj3_orr_heterogeneous", "obj3_lmm_fes_coef",
           "obj3_lmm_fes_coef_ci_low", "obj3_lmm_fes_coef_ci_high"],
    "04": ["obj4_max_parameters", "obj4_c_apparent", "obj4_c_corrected", "obj4_slope_corrected", "obj4_c_for_benefit",
           "obj4_c_for_benefit_ci_low", "obj4_c_for_benefit_ci_high"],
    "05": [f"obj5_{c}_{m}" for c in ("impact_mbc", "et_fes")
           for m in ("harrell_c", "uno_c", "auc", "oe", "calibration_slope", "ici", "brier", "ipa")],
}

#: Cheaper resampling for the test build (see analysis.yml for the SAP values).
FAST = ["benefit_n_boot=20", "benefit_cfb_n_boot=20", "benefit_sensitivity_n_boot=10", "validation_n_boot=20", "validation_n_boot_curves=10",
        "power_n_sim=100"]


def fast_params():
    from sonimage_utils.pipeline.params import load_parameters

    known = set(load_parameters())
    return [a for p in FAST if p.split("=")[0] in known for a in ("--param", p)]


@pytest.fixture(scope="module")
def built(demo_build):
    """The session's demo build (conftest.py), shared with tests/test_browser.py."""
    return demo_build


def test_01_results_have_every_required_name(built):
    _, build = built
    results = json.loads((build / "results" / "results.json").read_text())
    for nb in discover_notebooks():
        missing = [n for n in REQUIRED.get(nb.number, []) if n not in results]
        assert not missing, (nb.stem, missing)
    assert results["cohort_n_patients"] == 100
    assert all(v is None or isinstance(v, (int, float)) for v in results.values())


def test_02_every_page_says_synthetic_and_its_version(built):
    _, build = built
    pages = [p for p in (build / "html").rglob("*.html")
             if p.name not in ("genindex.html", "search.html") and "_static" not in p.parts]
    assert len(pages) >= 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if 'http-equiv="Refresh"' in text and len(text) < 200:
            continue  # the root index.html only redirects to the introduction
        assert "SYNTHETIC DATA" in text, page
        assert "9.9.9-test" in text, page


def test_03_appendices_are_generated(built):
    data, build = built
    html = (build / "html" / "book" / "data_dictionary.html").read_text(encoding="utf-8")
    for column in ("patient_id", "pfs1_event_type", "fes_suvmax", "blood_glucose_mmol_l", "lesion_kind"):
        assert column in html
    prov = (build / "html" / "book" / "provenance.html").read_text(encoding="utf-8")
    import hashlib

    digest = hashlib.sha256((data / "sonimage" / "patients.csv").read_bytes()).hexdigest()
    assert digest in prov and "lifelines" in prov and "fes_threshold" in prov
    sap = (build / "html" / "book" / "sap.html").read_text(encoding="utf-8")
    assert "fes_threshold" in sap and "Groningen convention" in sap


def test_04_prose_numbers_are_glued(built):
    _, build = built
    results = json.loads((build / "results" / "results.json").read_text())
    html = (build / "html" / "notebooks" / "00_cohort.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)
    assert f"The development cohort has {results['cohort_n_patients']} patients" in re.sub(r"\s+", " ", text)


def test_05_versions_are_kept(built):
    _, build = built
    versions = json.loads((build / "versions" / "versions.json").read_text())
    assert [v["version"] for v in versions] == ["9.9.9-test"]
    assert (build / "versions" / "9.9.9-test" / "index.html").exists()


def test_06_same_inputs_give_identical_results_and_notebooks(built, tmp_path):
    data, build = built
    other = tmp_path / "again"
    assert main(["run", "--data", str(data), "--build", str(other), *fast_params()]) == 0
    assert (other / "results" / "results.json").read_bytes() == (build / "results" / "results.json").read_bytes()
    for nb in sorted((build / "notebooks").glob("*.ipynb")):
        assert (other / "notebooks" / nb.name).read_bytes() == nb.read_bytes(), nb.name


def test_07_unchanged_notebooks_are_not_re_executed(built, capsys):
    data, build = built
    assert main(["run", "--data", str(data), "--build", str(build), *fast_params()]) == 0
    err = capsys.readouterr().err
    assert "executing" not in err
    assert err.count("unchanged, not re-executed") == len(discover_notebooks())


def test_08_failed_build_leaves_the_previous_book(built, tmp_path, capsys, monkeypatch):
    data, build = built
    before = (build / "html" / "index.html").read_bytes()
    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    (broken / "sonimage" / "patients.csv").write_text("patient_id\n")
    assert main(["build", "--data", str(broken), "--build", str(build)]) == 1
    # a value outside its range is refused at start (exit 2); with that check bypassed the notebook's own guard
    # fails the build, which must leave the previous book in place
    assert main(["build", "--data", str(data), "--build", str(build), "--only", "00",
                 "--param", "fes_threshold=-1"]) == 2
    from sonimage_utils.pipeline import params
    monkeypatch.setattr(params, "check_value", lambda name, check, value: None)
    assert main(["build", "--data", str(data), "--build", str(build), "--only", "00",
                 "--param", "fes_threshold=-1"]) == 1
    err = capsys.readouterr().err
    assert "notebook 00_cohort failed" in err and "fes_threshold must be a positive number" in err
    assert (build / "html" / "index.html").read_bytes() == before


def test_09_wrong_usage_exits_2(built, capsys):
    data, build = built
    assert main(["run", "--data", str(data), "--build", str(build), "--param", "no_such=1"]) == 2
    assert main(["run", "--data", str(data), "--build", str(build), "--only", "42"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
