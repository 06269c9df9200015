"""``run_extract`` end to end on phantom DICOM: outputs, the mapping, every error case, no identifier in any
output, determinism and parallel runs. (Identifiers planted everywhere: ``test_imaging_privacy.py``.)"""

import glob
import io
import os

import numpy as np
import pandas as pd
import pydicom
import pytest

from sonimage_utils.imaging.extract import LESION_COLUMNS, REPORT_COLUMNS, SCAN_COLUMNS, run_extract, suv_type_columns
from sonimage_utils.imaging.demo import write_demo_dicom
from sonimage_utils.imaging.phantom import DEFAULT_IDENTIFIERS, HotSphere, write_pet_phantom

SMALL = dict(shape=(14, 24, 24), origin_mm=(-46.0, -46.0, -20.0), spheres=(HotSphere((0.0, 0.0, 0.0), 9.0, 6.0),))
IDS_B = dict(DEFAULT_IDENTIFIERS, PatientID="HOSP-B-99127", PatientName="Pietersen^Geertruida",
             PatientBirthDate="19491231", AccessionNumber="ACCB55501")


def two_patients(tmp_path, variant_b="siemens_bqml", folder_b="b"):
    """Patient A (fine) and patient B (to be broken by a test), one FDG series each, VOIs and mapping."""
    dicom = tmp_path / "dicom"
    a = write_pet_phantom(dicom / "a", seed=1, **SMALL)
    b = write_pet_phantom(dicom / folder_b, seed=2, variant=variant_b, identifiers=IDS_B, **SMALL)
    pd.DataFrame([dict(dicom_patient_id=DEFAULT_IDENTIFIERS["PatientID"], patient_id="SON-A", tracer="FDG"),
                  dict(dicom_patient_id=IDS_B["PatientID"], patient_id="SON-B", tracer="FDG")]).to_csv(
        tmp_path / "MAP.csv", index=False)
    pd.DataFrame([dict(patient_id=p, lesion_id="L1", tracer="FDG", organ="bone", x_mm=0, y_mm=0, z_mm=0,
                       radius_mm=12) for p in ("SON-A", "SON-B")]).to_csv(tmp_path / "VOIS.csv", index=False)
    return dicom, a, b


def run(tmp_path, dicom, out="out", **kwargs):
    stream = io.StringIO()
    rc = run_extract(dicom, tmp_path / "VOIS.csv", tmp_path / "MAP.csv", tmp_path / out, stream=stream,
                     private_map=tmp_path / f"private_{out}.csv", **kwargs)
    return rc, stream.getvalue()


def reference_of(tmp_path, path, out="out"):
    """The reference under which the run named a file: read back from its private map."""
    private = pd.read_csv(tmp_path / f"private_{out}.csv", dtype=str, keep_default_na=False)
    (ref,) = private.loc[private.path == os.path.abspath(path), "reference"]
    return ref


def test_01_outputs_have_contract_columns_and_known_values(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    rc, log = run(tmp_path, dicom)
    assert rc == 0, log
    lesions = pd.read_csv(tmp_path / "out" / "lesions.csv")
    scans = pd.read_csv(tmp_path / "out" / "scans.csv")
    report = pd.read_csv(tmp_path / "out" / "extraction_report.csv")
    assert tuple(lesions.columns) == LESION_COLUMNS and tuple(scans.columns) == SCAN_COLUMNS
    assert tuple(report.columns) == REPORT_COLUMNS
    assert lesions.fdg_suvmax.tolist() == pytest.approx([6.0, 6.0], abs=1e-4)
    assert lesions.fdg_suvpeak.tolist() == pytest.approx([6.0, 6.0], abs=1e-4)
    assert scans.uptake_time_min.tolist() == pytest.approx([a.uptake_min, b.uptake_min])
    assert scans.injected_activity_mbq.tolist() == pytest.approx([250.0, 250.0])
    assert scans.weight_kg.tolist() == pytest.approx([72.5, 72.5])
    assert (report.status == "ok").all() and report.units.eq("BQML").all()


def _edit(files, change):
    for path in files:
        ds = pydicom.dcmread(path)
        change(ds)
        ds.save_as(path, enforce_file_format=True)


def _drop_rp(keyword):
    return lambda ds: delattr(ds.RadiopharmaceuticalInformationSequence[0], keyword)


def _set(keyword, value):
    return lambda ds: setattr(ds, keyword, value)


ERROR_CASES = {
    "weight": (lambda ds: delattr(ds, "PatientWeight"), "(0010,1030) PatientWeight"),
    "dose": (_drop_rp("RadionuclideTotalDose"), "(0018,1074) RadionuclideTotalDose"),
    "half_life": (_drop_rp("RadionuclideHalfLife"), "(0018,1075) RadionuclideHalfLife"),
    "units": (_set("Units", "PROPCNTS"), "(0054,1001) Units"),
    "decay": (_set("DecayCorrection", "NONE"), "(0054,1102) DecayCorrection"),
    "not_decay_corrected": (_set("CorrectedImage", ["ATTN", "NORM"]), "(0028,0051) CorrectedImage"),
    "injection_time": (lambda ds: (_drop_rp("RadiopharmaceuticalStartTime")(ds),
                                   _drop_rp("RadiopharmaceuticalStartDateTime")(ds)),
                       "(0018,1072) RadiopharmaceuticalStartTime"),
    "rescale": (lambda ds: delattr(ds, "RescaleSlope"), "(0028,1053) RescaleSlope"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_02_each_error_names_file_tag_and_pseudonym_and_other_series_go_on(tmp_path, case):
    dicom, a, b = two_patients(tmp_path)
    change, tag = ERROR_CASES[case]
    _edit(b.files, change)
    rc, log = run(tmp_path, dicom)
    assert rc == 1
    lines = [line for line in log.splitlines() if tag in line]
    assert len(lines) == 1 and lines[0].endswith("(patient_id=SON-B)"), log
    assert lines[0].split(": ")[0] in {reference_of(tmp_path, f) for f in b.files} | {"SON-B series 2"}
    assert lines[0].startswith("SON-B series 2")         # a, then b: series numbered by their first path
    assert "Traceback" not in log
    lesions = pd.read_csv(tmp_path / "out" / "lesions.csv")
    assert lesions.patient_id.tolist() == ["SON-A"]
    report = pd.read_csv(tmp_path / "out" / "extraction_report.csv").set_index("patient_id")
    assert report.loc["SON-A", "status"] == "ok" and report.loc["SON-B", "status"] == "error"
    errors = pd.read_csv(tmp_path / "out" / "extraction_errors.csv")
    assert errors.patient_id.tolist() == ["SON-B"]


def test_03_missing_slice_gives_inconsistent_spacing_error(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    by_z = sorted(b.files, key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))
    os.remove(by_z[6])
    rc, log = run(tmp_path, dicom)
    assert rc == 1 and "(0020,0032) ImagePositionPatient: inconsistent slice spacing" in log
    assert "(patient_id=SON-B)" in log


def test_04_philips_cnts_without_private_scale_factors_is_an_error(tmp_path):
    dicom, a, b = two_patients(tmp_path, variant_b="philips_cnts_activity")

    def strip(ds):
        for tag in [t for t in ds.keys() if t.group == 0x7053]:
            del ds[tag]
    _edit(b.files, strip)
    rc, log = run(tmp_path, dicom)
    assert rc == 1 and "(7053,1000)" in log and "(patient_id=SON-B)" in log


def test_05_voi_outside_the_image_names_the_voi_row(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    vois = pd.read_csv(tmp_path / "VOIS.csv")
    vois.loc[1, "z_mm"] = 40.0
    vois.to_csv(tmp_path / "VOIS.csv", index=False)
    rc, log = run(tmp_path, dicom)
    assert rc == 1
    assert "VOIS.csv:3: x_mm,y_mm,z_mm,radius_mm: lesion L1: VOI sphere" in log and "(patient_id=SON-B)" in log
    report = pd.read_csv(tmp_path / "out" / "extraction_report.csv").set_index("patient_id")
    assert report.loc["SON-B", "status"] == "vois_failed" and report.loc["SON-B", "n_vois_failed"] == 1


def test_06_mapping_problems_are_reported_not_guessed(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    pd.DataFrame([dict(dicom_patient_id=DEFAULT_IDENTIFIERS["PatientID"], patient_id="SON-A", tracer="FES"),
                  dict(dicom_patient_id="NOT-THERE", patient_id="SON-C", tracer="FDG")]).to_csv(
        tmp_path / "MAP.csv", index=False)
    rc, log = run(tmp_path, dicom)
    assert rc == 1
    assert "cannot assign the series to a row of MAP.csv: no row for its tracer" in log   # A's FDG, map says FES
    assert "PT series not in MAP.csv (skipped)" in log                                    # B unmapped
    assert "MAP.csv:3: series_instance_uid: no PT series found" in log and "(patient_id=SON-C)" in log
    assert "VOIS.csv:2: patient_id,tracer: no FDG scan for this patient in MAP.csv" in log
    for ident in (DEFAULT_IDENTIFIERS["PatientID"], IDS_B["PatientID"]):
        assert ident not in log


def _all_output_text(out_dir, log):
    texts = [log]
    for path in glob.glob(os.path.join(out_dir, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                texts.append(handle.read())
    return "\n".join(texts)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The four-patient demo (every vendor variant), extracted once with jobs=1."""
    root = tmp_path_factory.mktemp("demo")
    demo = write_demo_dicom(root, seed=0)
    stream = io.StringIO()
    rc = run_extract(demo["dicom_dir"], demo["vois_csv"], demo["mapping_csv"], root / "out", stream=stream)
    return demo, root / "out", rc, stream.getvalue()


def test_07_no_identifier_leaves_the_extraction_step(tmp_path, demo_run):
    demo, demo_out, demo_rc, demo_log = demo_run
    dicom, a, b = two_patients(tmp_path, folder_b=f"{IDS_B['PatientID']}_pietersen")   # a folder named by patient
    _edit(b.files, lambda ds: delattr(ds, "RescaleSlope"))           # an error while loading the planted patient
    planted = []
    for files in (a.files, b.files, glob.glob(os.path.join(demo["dicom_dir"], "export*", "*", "*"))):
        for path in files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            planted += [str(ds.get(k)) for k in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
                                                 "InstitutionName", "InstitutionAddress", "ReferringPhysicianName")]
    planted = sorted(set(planted))
    planted += [p for name in planted if "^" in name for p in name.split("^")]   # name parts alone
    assert "Jansen^Wilhelmina^Petronella" in planted and "19491231" in planted and "Pietersen" in planted
    rc, log = run(tmp_path, dicom)
    assert rc == 1 and demo_rc == 0
    (line,) = [line for line in log.splitlines() if "RescaleSlope" in line]   # B's file named by reference
    assert reference_of(tmp_path, b.files[0]).startswith("SON-B series 1 instance ")   # its folder sorts first
    assert line.split(": ")[0] in {reference_of(tmp_path, f) for f in b.files}
    text = _all_output_text(tmp_path / "out", log) + _all_output_text(demo_out, demo_log)
    leaked = [p for p in planted if len(p) >= 4 and p.lower() in text.lower()]
    assert leaked == []


def test_08_demo_cohort_extraction_recovers_lesion_suvmax(demo_run):
    demo, out, rc, log = demo_run
    assert rc == 0, log
    lesions = pd.read_csv(out / "lesions.csv", dtype={"lesion_id": str})
    truth = demo["truth"].pivot_table(index=["patient_id", "lesion_id"], columns="tracer", values="suv")
    got = lesions.set_index(["patient_id", "lesion_id"]).loc[truth.index]
    # other spheres in the same slice set the stored step: at most 12 / 32000 / 2 SUV
    assert got.fes_suvmax.to_numpy() == pytest.approx(truth.FES.to_numpy(), abs=2e-4)
    assert got.fdg_suvmax.to_numpy() == pytest.approx(truth.FDG.to_numpy(), abs=2e-4)
    report = pd.read_csv(out / "extraction_report.csv")
    assert set(report.units) == {"BQML", "CNTS", "GML"} and set(report.decay_correction) == {"START", "ADMIN"}
    assert report.midnight_crossing.any()


def _read_outputs(out):
    return {name: (out / name).read_bytes() for name in ("lesions.csv", "scans.csv", "extraction_report.csv",
                                                         "extraction_errors.csv")}


def _bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_09_same_seed_same_dicom_bytes(tmp_path):
    demo1 = write_demo_dicom(tmp_path / "d1", seed=7, n_patients=1)
    demo2 = write_demo_dicom(tmp_path / "d2", seed=7, n_patients=1)
    files1 = sorted(glob.glob(os.path.join(demo1["dicom_dir"], "**", "*"), recursive=True))
    files2 = sorted(glob.glob(os.path.join(demo2["dicom_dir"], "**", "*"), recursive=True))
    assert [os.path.relpath(f, demo1["dicom_dir"]) for f in files1] == \
        [os.path.relpath(f, demo2["dicom_dir"]) for f in files2]
    assert all(_bytes(f1) == _bytes(f2) for f1, f2 in zip(files1, files2) if os.path.isfile(f1))
    assert _bytes(demo1["vois_csv"]) == _bytes(demo2["vois_csv"])


def test_10_parallel_jobs_give_byte_identical_outputs(tmp_path, demo_run):
    demo, out, _, _ = demo_run
    args = (demo["dicom_dir"], demo["vois_csv"], demo["mapping_csv"])
    assert run_extract(*args, tmp_path / "o2", jobs=2, backend="threading", stream=io.StringIO()) == 0
    assert _read_outputs(out) == _read_outputs(tmp_path / "o2")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_11_process_and_dask_backends_give_the_same_outputs(tmp_path, backend, demo_run):
    demo, out, _, _ = demo_run
    args = (demo["dicom_dir"], demo["vois_csv"], demo["mapping_csv"])
    assert run_extract(*args, tmp_path / "o2", jobs=2, backend=backend, stream=io.StringIO()) == 0
    assert _read_outputs(out) == _read_outputs(tmp_path / "o2")


def test_12_wrong_arguments_raise_but_bad_files_do_not(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        run_extract(tmp_path, tmp_path / "v.csv", tmp_path / "m.csv", tmp_path / "o", jobs=0)
    stream = io.StringIO()
    assert run_extract(tmp_path / "nowhere", tmp_path / "v.csv", tmp_path / "m.csv", tmp_path / "o",
                       stream=stream) == 1
    assert "m.csv: -: cannot read the file" in stream.getvalue()


def test_13_two_series_for_one_scan_without_series_uid_is_an_error(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    write_pet_phantom(dicom / "a2", seed=9, series_number=7, **SMALL)   # a second FDG series of patient A
    rc, log = run(tmp_path, dicom)
    assert rc == 1 and ("MAP.csv:2: series_instance_uid: 2 PT series match (SON-A series 1, SON-A series 2); "
                        "give series_instance_uid") in log
    mapping = pd.read_csv(tmp_path / "MAP.csv").fillna("")
    mapping["series_instance_uid"] = [a.series_uid, ""]
    mapping.to_csv(tmp_path / "MAP.csv", index=False)
    rc, log = run(tmp_path, dicom, out="out2")
    assert "PT series not in MAP.csv (skipped)" in log          # the extra series is named, not used
    assert pd.read_csv(tmp_path / "out2" / "lesions.csv").patient_id.tolist() == ["SON-A", "SON-B"]


def test_14_argparse_options_reach_run_extract(tmp_path):
    import argparse

    from sonimage_utils.cli.extract import add_extract_arguments, do_command
    dicom, a, b = two_patients(tmp_path)
    args = add_extract_arguments(argparse.ArgumentParser()).parse_args(
        ["--dicom", str(dicom), "--vois", str(tmp_path / "VOIS.csv"), "--mapping", str(tmp_path / "MAP.csv"),
         "--out", str(tmp_path / "cli"), "--mtv-fraction", "0.5"])
    assert (args.jobs, args.backend, args.mtv_fraction) == (1, "loky", 0.5)
    assert do_command(args) == 0
    assert (tmp_path / "cli" / "lesions.csv").exists()


def test_15_demo_dicom_from_cohort_tables_gives_back_their_values(tmp_path):
    lesions = pd.DataFrame({
        "patient_id": ["P1", "P1", "P1", "P2", "P2"], "lesion_id": ["a", "b", "c", "a", "b"],
        "organ": ["bone", "liver", "lymph_node", "bone", "bone"],
        "fes_suvmax": [3.21, np.nan, 1.12, 0.84, 5.5], "fdg_suvmax": [7.5, 9.25, 4.1, np.nan, np.nan]})
    scans = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "tracer": ["FES", "FDG", "FES"],
                          "scan_date": ["2020-05-04", "2020-05-06", "2020-06-01"],
                          "injected_activity_mbq": [201.0, 250.0, 188.0], "uptake_time_min": [58.0, 63.0, 66.0],
                          "weight_kg": [71.2, 71.0, 64.5], "blood_glucose_mmol_l": [np.nan, 5.4, np.nan]})
    demo = write_demo_dicom(tmp_path, seed=2, lesions=lesions, scans=scans)
    rc = run_extract(demo["dicom_dir"], demo["vois_csv"], demo["mapping_csv"], tmp_path / "out",
                     stream=io.StringIO())
    assert rc == 0
    got = pd.read_csv(tmp_path / "out" / "lesions.csv").set_index(["patient_id", "lesion_id"])
    want = lesions.set_index(["patient_id", "lesion_id"])
    for column in ("fes_suvmax", "fdg_suvmax"):
        assert got[column].isna().tolist() == want[column].isna().tolist()
        assert got[column].dropna().to_numpy() == pytest.approx(want[column].dropna().to_numpy(), abs=2e-4)
    out_scans = pd.read_csv(tmp_path / "out" / "scans.csv")
    merged = scans.merge(out_scans, on=["patient_id", "tracer"], suffixes=("", "_dicom"))
    assert len(merged) == 3 and len(out_scans) == 3                  # P2 has no FDG scan
    for column in ("scan_date", "injected_activity_mbq", "uptake_time_min", "weight_kg"):
        assert merged[column].tolist() == merged[f"{column}_dicom"].tolist()


# --- issue 14 -------------------------------------------------------------------------------------------------

def _lbm_james_female(weight, height_m):
    return 1.07 * weight - 148 * (weight / (height_m * 100)) ** 2


def test_16_sul_is_reported_beside_suvbw_and_the_report_names_type_and_formula(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    rc, log = run(tmp_path, dicom, suv_type="lbm-james")
    assert rc == 0, log
    lesions = pd.read_csv(tmp_path / "out" / "lesions.csv")
    assert tuple(lesions.columns) == LESION_COLUMNS + suv_type_columns("lbm-james")
    assert "fdg_sulpeak_james" in lesions.columns and lesions.fes_sulpeak_james.isna().all()
    # phantom: female, 1.68 m, 72.5 kg, sphere SUVbw 6: SUL = 6 LBM / 72.5, LBM = 1.07 x 72.5 - 148 (72.5/168)^2
    ratio = _lbm_james_female(72.5, 1.68) / 72.5
    for column in ("fdg_sulmax_james", "fdg_sulpeak_james"):
        assert lesions[column].tolist() == pytest.approx([6.0 * ratio] * 2, abs=1e-4 * ratio)
    assert lesions.fdg_sulmean_james.to_numpy() == pytest.approx(lesions.fdg_suvmean.to_numpy() * ratio, rel=1e-5)
    assert lesions.fdg_suvmax.tolist() == pytest.approx([6.0, 6.0], abs=1e-4)          # SUVbw unchanged
    report = pd.read_csv(tmp_path / "out" / "extraction_report.csv")
    assert (report.suv_type == "lbm-james").all() and report.suv_formula.str.contains("James 1976").all()
    assert report.lbm_kg.tolist() == pytest.approx([_lbm_james_female(72.5, 1.68)] * 2, rel=1e-5)   # %.6g in the csv
    assert report.suv_type_factor.to_numpy() == pytest.approx(report.suv_factor.to_numpy() * ratio, rel=1e-5)


def test_17_missing_height_gives_one_problem_per_series_and_suvbw_still_works(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    _edit(b.files, lambda ds: delattr(ds, "PatientSize"))
    rc, log = run(tmp_path, dicom, suv_type="lbm-janmahasatian")
    assert rc == 1
    lines = [line for line in log.splitlines() if "(0010,1020) PatientSize" in line]
    assert len(lines) == 1 and lines[0].endswith("(patient_id=SON-B)") and "SUL cannot be computed" in lines[0]
    lesions = pd.read_csv(tmp_path / "out" / "lesions.csv").set_index("patient_id")
    assert lesions.fdg_suvmax.tolist() == pytest.approx([6.0, 6.0], abs=1e-4)
    lbm = 9270 * 72.5 / (8780 + 244 * 72.5 / 1.68 ** 2)                  # Janmahasatian, female
    assert lesions.loc["SON-A", "fdg_sulpeak_janmahasatian"] == pytest.approx(6.0 * lbm / 72.5, abs=1e-4)
    assert np.isnan(lesions.loc["SON-B", "fdg_sulpeak_janmahasatian"])
    report = pd.read_csv(tmp_path / "out" / "extraction_report.csv").set_index("patient_id")
    assert report.loc["SON-A", "status"] == "ok" and report.loc["SON-B", "status"] == "bw_only"


def test_18_bsa_from_the_command_line(tmp_path):
    import argparse

    from sonimage_utils.cli.extract import add_extract_arguments, do_command
    dicom, a, b = two_patients(tmp_path)
    parser = add_extract_arguments(argparse.ArgumentParser())
    base = ["--dicom", str(dicom), "--vois", str(tmp_path / "VOIS.csv"), "--mapping", str(tmp_path / "MAP.csv"),
            "--out", str(tmp_path / "cli")]
    assert parser.parse_args(base).suv_type == "bw"
    assert do_command(parser.parse_args(base + ["--suv-type", "bsa"])) == 0
    lesions = pd.read_csv(tmp_path / "cli" / "lesions.csv")
    bsa_cm2 = 0.007184 * 72.5 ** 0.425 * 168 ** 0.725 * 1e4              # Du Bois, 72.5 kg, 168 cm
    assert lesions.fdg_suvmax_bsa.tolist() == pytest.approx([6.0 * bsa_cm2 / 72500] * 2, rel=2e-5)
    with pytest.raises(SystemExit):
        parser.parse_args(base + ["--suv-type", "lbm"])


def test_19_dose_alternating_between_slices_is_refused_naming_tag_and_slices(tmp_path):
    dicom, a, b = two_patients(tmp_path)
    by_z = sorted(b.files, key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))
    for k, path in enumerate(by_z):
        ds = pydicom.dcmread(path)
        ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = "370000000" if k % 2 else "185000000"
        ds.save_as(path, enforce_file_format=True)
    rc, log = run(tmp_path, dicom)
    assert rc == 1
    (line,) = [line for line in log.splitlines() if "(0018,1074) RadionuclideTotalDose" in line]
    first, second = (reference_of(tmp_path, f) for f in by_z[:2])
    assert line.startswith(second + ": ") and f"'185000000' in {first}" in line
    assert line.endswith("(patient_id=SON-B)")
    assert pd.read_csv(tmp_path / "out" / "lesions.csv").patient_id.tolist() == ["SON-A"]


def test_20_philips_suv_scale_factor_0_is_extracted_through_the_activity_factor(tmp_path):
    dicom, a, b = two_patients(tmp_path, variant_b="philips_cnts_activity")
    _edit(b.files, lambda ds: ds.private_block(0x7053, "Philips PET Private Group").add_new(0x00, "DS", "0"))
    rc, log = run(tmp_path, dicom)
    assert rc == 0, log
    assert pd.read_csv(tmp_path / "out" / "lesions.csv").fdg_suvmax.tolist() == pytest.approx([6.0, 6.0], abs=1e-4)
    assert pd.read_csv(tmp_path / "out" / "extraction_report.csv").units.tolist() == ["BQML", "CNTS"]


def test_21_multi_frame_series_is_extracted_and_a_bad_frame_is_named(tmp_path):
    dicom = tmp_path / "dicom"
    two_patients(tmp_path)
    import shutil
    shutil.rmtree(dicom / "b")
    b = write_pet_phantom(dicom / "b", seed=2, identifiers=IDS_B, layout="multi-frame", **SMALL)
    rc, log = run(tmp_path, dicom, suv_type="lbm-janmahasatian")
    assert rc == 0, log
    lesions = pd.read_csv(tmp_path / "out" / "lesions.csv")
    assert lesions.fdg_suvmax.tolist() == pytest.approx([6.0, 6.0], abs=1e-4)
    assert lesions.fdg_sulpeak_janmahasatian.tolist()[0] == pytest.approx(lesions.fdg_sulpeak_janmahasatian[1],
                                                                           rel=1e-5)
    report = pd.read_csv(tmp_path / "out" / "extraction_report.csv")
    assert report.n_slices.tolist() == [14, 14]              # 14 files; 1 file of 14 frames
    ds = pydicom.dcmread(b.files[0])
    del ds.PerFrameFunctionalGroupsSequence[4].PixelValueTransformationSequence[0].RescaleSlope
    ds.save_as(b.files[0], enforce_file_format=True)
    rc, log = run(tmp_path, dicom, out="out2")
    (line,) = [line for line in log.splitlines() if "(0028,1053) RescaleSlope" in line]
    assert line.startswith(reference_of(tmp_path, b.files[0], "out2") + " frame 5: ")
    assert line.endswith("(patient_id=SON-B)")
