"""No identifier in any output of ``sonimage extract`` (issue 16): identifiers planted in every header field that
can hold one and in every path component, on every path of the run (success, load error, SUV errors, unmapped
series, refused pseudonyms), searched in every output file and in the console."""

import contextlib
import io
import os
import re
import shutil
import stat

import pandas as pd
import pydicom
import pytest
from pydicom import config

from sonimage_utils.imaging.errors import quote_value
from sonimage_utils.cli.extract import add_extract_arguments, do_command
from sonimage_utils.imaging.extract import run_extract
from sonimage_utils.imaging.phantom import HotSphere, write_pet_phantom
from sonimage_utils.imaging.privacy import IDENTIFYING_KEYWORDS, default_private_map, model_of, vendor_of

SMALL = dict(shape=(14, 24, 24), origin_mm=(-46.0, -46.0, -20.0), spheres=(HotSphere((0.0, 0.0, 0.0), 9.0, 6.0),))

#: One recognisable value per identifying attribute (shared by the patients; PatientID differs per patient).
PLANTED = dict(
    PatientName="Kwakernaak^Hendrika^Gerarda", OtherPatientIDs="MRN-55120-XY", IssuerOfPatientID="Zuidlarenissuer",
    OtherPatientNames="Oudshoorn^Trijntje", PatientBirthName="Veldkampje^Aaltje",
    PatientMotherBirthName="Moederveld^Grietje", PatientBirthDate="19580412", AccessionNumber="ACC77130042",
    StudyID="STU9931", MedicalRecordLocator="MRL-4455-KK", PatientAddress="Vismarkt 77 Zuidhorn",
    PatientTelephoneNumbers="0612345987", InstitutionName="Noordelijk Plantedziekenhuis",
    InstitutionAddress="Plantedstraat 12 Haren", InstitutionalDepartmentName="Afdeling Plantedkunde",
    StationName="PETSTATION-Q7", ReferringPhysicianName="Verwijzer^Bartholomeus",
    PerformingPhysicianName="Uitvoerder^Cornelis", OperatorsName="Laborant^Dieuwertje",
    PhysiciansOfRecord="Dossierarts^Evertjan", RequestingPhysician="Aanvrager^Folkert",
    DeviceSerialNumber="SN-PLANT-3321", StudyDescription="PET Kwakernaak follow-up",
    SeriesDescription="WB Hendrika Gerarda", ProtocolName="Protocol Laborantje", PatientComments="Trijntje comment",
    ImageComments="Aaltje image", AdditionalPatientHistory="history Moederveld", RequestingService="Plantedservice")
#: Patients: their planted PatientID and what is broken (None: a clean series).
PATIENTS = {"SON-P1": ("UMCG-8811-QRT", None), "SON-P2": ("UMCG-8821-QRT", "load"),
            "SON-P3": ("UMCG-8831-QRT", "Units"), "SON-P4": ("UMCG-8841-QRT", "PatientWeight"),
            "SON-P5": ("UMCG-8851-QRT", "SeriesDate"), "SON-P6": ("UMCG-8861-QRT", "DecayCorrection"),
            "SON-P7": ("UMCG-8871-QRT", "PatientSex")}
UNMAPPED_ID, SELF_ID = "UMCG-8881-QRT", "UMCG-8891-QRT"
BIRTH_FORMS = ("19580412", "1958-04-12", "12-04-1958", "12.04.1958", "12041958", "1958.04.12")


@contextlib.contextmanager
def no_validation():
    """Write and read invalid values as a scanner might (pydicom would warn, which pytest makes an error)."""
    modes = config.settings.reading_validation_mode, config.settings.writing_validation_mode
    config.settings.reading_validation_mode = config.settings.writing_validation_mode = config.IGNORE
    try:
        yield
    finally:
        config.settings.reading_validation_mode, config.settings.writing_validation_mode = modes


def _raw(ds, keyword, vr, text):
    """Set an element to text as stored bytes, padded to even length (a DS holding letters cannot be set as a
    value)."""
    ds.add_new(keyword, vr, None)
    ds[keyword]._value = (text + " " * (len(text) % 2)).encode("latin-1")


def _plant(files, pid, broken, dicom):
    """Plant the identifiers into every file's header, break what ``broken`` names, and move the files into
    folders and names made of identifiers."""
    folder = dicom / f"Kwakernaak Hendrika 1958-04-12 {pid}" / "12-04-1958" / PLANTED["AccessionNumber"]
    folder.mkdir(parents=True)
    with no_validation():
        for k, path in enumerate(sorted(files)):
            ds = pydicom.dcmread(path)
            for keyword, value in PLANTED.items():
                setattr(ds, keyword, value)
            ds.PatientID = pid
            ds.Manufacturer, ds.ManufacturerModelName = pid, PLANTED["InstitutionName"]     # IDs in free text
            ds.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical = f"Fluorodeoxyglucose {pid}"
            if broken == "load" and k == 3:
                del ds.RescaleSlope
            elif broken == "PatientWeight":
                _raw(ds, "PatientWeight", "DS", pid)
            elif broken == "SeriesDate":
                ds.SeriesDate = "12-04-1958"
            elif broken in ("Units", "DecayCorrection", "PatientSex"):
                setattr(ds, broken, pid)
            target = folder / f"{PLANTED['OtherPatientIDs']}_Verwijzer_{PLANTED['StationName']}_{k:03d}.dcm"
            ds.save_as(target, enforce_file_format=True)
            os.remove(path)


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    dicom = root / "dicom"
    for i, (pseudonym, (pid, broken)) in enumerate({**PATIENTS, "unmapped": (UNMAPPED_ID, None),
                                                    "self": (SELF_ID, None)}.items()):
        series = write_pet_phantom(root / "raw" / pseudonym, seed=i, **SMALL)
        _plant(series.files, pid, broken, dicom)
    shutil.rmtree(root / "raw")
    mapping = [dict(dicom_patient_id=pid, patient_id=p, tracer="FDG") for p, (pid, _) in PATIENTS.items()]
    mapping += [dict(dicom_patient_id=SELF_ID, patient_id=SELF_ID, tracer="FDG"),          # pseudonym = PatientID
                dict(dicom_patient_id="NOT-IN-DICOM", patient_id=PLANTED["OtherPatientIDs"], tracer="FDG"),
                dict(dicom_patient_id="NOT-IN-DICOM-2", patient_id="SON-" + PLANTED["AccessionNumber"],
                     tracer="FES")]                                                       # contains an ID
    pd.DataFrame(mapping).to_csv(root / "MAP.csv", index=False)
    vois = [dict(patient_id=p, lesion_id="L1", tracer="FDG", organ="bone", x_mm=0, y_mm=0, z_mm=0, radius_mm=12)
            for p in [*PATIENTS, SELF_ID, PLANTED["OtherPatientIDs"]]]
    pd.DataFrame(vois).to_csv(root / "VOIS.csv", index=False)
    stream = io.StringIO()
    private = root / "secure" / "private_map.csv"
    rc = run_extract(dicom, root / "VOIS.csv", root / "MAP.csv", root / "out", suv_type="lbm-james",
                     private_map=private, stream=stream)
    return root, rc, stream.getvalue(), private


def _searched_forms():
    """Every planted value, each part of a name or address, each written form of the birth date, every
    PatientID; as written and as letters and digits only."""
    values = [*PLANTED.values(), *(pid for pid, _ in PATIENTS.values()), UNMAPPED_ID, SELF_ID, *BIRTH_FORMS]
    forms = set(values)
    forms |= {part for v in values for part in re.split(r"[\^ ]", v)}
    return sorted(f for f in forms if len(re.sub(r"[^0-9A-Za-z]", "", f)) >= 4
                  and f.lower() not in {"protocol", "image", "comment", "history", "follow-up"})


def _norm(text):
    return re.sub(r"[^0-9a-z]", "", text.lower())


def test_01_every_header_field_that_can_hold_an_identifier_is_planted():
    planted = set(PLANTED) | {"PatientID", "Manufacturer", "ManufacturerModelName"}
    assert set(IDENTIFYING_KEYWORDS) <= planted              # every attribute the pseudonym check knows, and more


def test_02_no_planted_identifier_in_any_output_or_the_console(planted_run):
    root, rc, log, private = planted_run
    assert rc == 1
    texts = {"console": log}
    for path in (root / "out").rglob("*"):
        if path.is_file():
            texts[path.name] = path.read_text(encoding="utf-8")
    assert set(texts) == {"console", "lesions.csv", "scans.csv", "extraction_report.csv", "extraction_errors.csv"}
    leaks = [(name, form) for name, text in texts.items() for form in _searched_forms()
             if form.lower() in text.lower() or _norm(form) in _norm(text)]
    assert leaks == []
    # the private map, outside the output folder and for its owner only, is the one place the paths are kept
    assert not str(private.resolve()).startswith(str((root / "out").resolve()))
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert "Kwakernaak Hendrika 1958-04-12" in private.read_text(encoding="utf-8")


def test_03_each_problem_names_reference_tag_and_pseudonym(planted_run):
    root, rc, log, private = planted_run
    lines = log.splitlines()
    paths = pd.read_csv(private, dtype=str, keep_default_na=False).set_index("reference").path

    def line_with(tag, pseudonym):
        (line,) = [x for x in lines if tag in x and x.endswith(f"(patient_id={pseudonym})")]
        return line

    load = line_with("(0028,1053) RescaleSlope", "SON-P2")          # the file that fails to load ...
    ref = load.split(": ")[0]
    assert re.fullmatch(r"SON-P2 series \d+ instance 4", ref)
    assert pydicom.dcmread(paths[ref], stop_before_pixels=True).get("RescaleSlope") is None   # ... is found
    assert "a value that is not shown: only BQML" in line_with("(0054,1001) Units", "SON-P3")
    assert "patient weight (kg) is not a number" in line_with("(0010,1030) PatientWeight", "SON-P4")
    assert "cannot be parsed as a DICOM DA" in line_with("(0008,0021) SeriesDate", "SON-P5")
    assert "a value that is not shown: only START" in line_with("(0054,1102) DecayCorrection", "SON-P6")
    assert "the lean body mass formulas need M or F" in line_with("(0010,0040) PatientSex", "SON-P7")
    unmapped = [x for x in lines if "PT series not in MAP.csv" in x]
    assert len(unmapped) == 2 and all(re.match(r"series \d+: ", x) for x in unmapped)   # no pseudonym to give
    refused = [x for x in lines if "equals a DICOM identifier" in x]
    assert [x.split(": ")[0] for x in refused] == ["MAP.csv:9", "MAP.csv:10", "MAP.csv:11"]
    assert "(0010,0020) PatientID" in refused[0] and "(0010,1000) OtherPatientIDs" in refused[1]
    assert "(0008,0050) AccessionNumber" in refused[2]
    assert all(x.endswith("(patient_id=unknown)") for x in refused)
    voi_lines = [x for x in lines if x.startswith(("VOIS.csv:9:", "VOIS.csv:10:"))]
    assert len(voi_lines) == 2 and all(x.endswith("(patient_id=unknown)") for x in voi_lines)


def test_04_vendor_and_model_come_from_the_list_and_refused_pseudonyms_reach_no_table(planted_run):
    root, rc, log, private = planted_run
    report = pd.read_csv(root / "out" / "extraction_report.csv").set_index("patient_id")
    assert report.loc["SON-P1", ["manufacturer", "model", "status"]].tolist() == ["other", "other", "ok"]
    assert report.loc["SON-P7", "status"] == "bw_only"
    assert report.series_ref.str.fullmatch(r"SON-P\d series \d+").all()
    lesions = pd.read_csv(root / "out" / "lesions.csv")
    scans = pd.read_csv(root / "out" / "scans.csv")
    assert lesions.patient_id.tolist() == ["SON-P1", "SON-P7"] and scans.patient_id.tolist() == ["SON-P1", "SON-P7"]
    assert vendor_of("Siemens  Healthineers") == "SIEMENS" and vendor_of("SIEMENS UMCG-4711") == "other"
    assert model_of("Discovery MI") == "Discovery MI" and model_of("") == "other"


def test_05_header_values_are_quoted_only_as_numbers_or_defined_terms():
    assert quote_value("RadionuclideTotalDose", "3.7e8") == "'3.7e8'"
    assert quote_value("CorrectedImage", "ATTN\\NORM") == "'ATTN\\\\NORM'"
    for keyword, text in (("PatientWeight", "UMCG-4711"), ("Units", "BQML UMCG"), ("PatientSex", "Jansen"),
                          ("SeriesDate", "19580412"), ("Manufacturer", "SIEMENS")):
        assert quote_value(keyword, text) == "a value that is not shown"


def test_06_private_map_is_never_written_inside_the_output_folder(tmp_path):
    args = (tmp_path / "dicom", tmp_path / "VOIS.csv", tmp_path / "MAP.csv", tmp_path / "out")
    for bad in (tmp_path / "out" / "map.csv", tmp_path / "out" / "sub" / "map.csv", tmp_path / "MAP.csv"):
        with pytest.raises(ValueError, match="private map"):
            run_extract(*args, private_map=bad, stream=io.StringIO())
    assert not (tmp_path / "out").exists()
    # the command line writes it beside MAP.csv, and refuses when MAP.csv sits in the output folder
    assert default_private_map(tmp_path / "secure" / "MAP.csv") == str(tmp_path / "secure" / "sonimage_private_map.csv")
    import argparse

    parser = add_extract_arguments(argparse.ArgumentParser())
    inside = parser.parse_args(["--dicom", str(tmp_path), "--vois", str(tmp_path / "out" / "VOIS.csv"),
                                "--mapping", str(tmp_path / "out" / "MAP.csv"), "--out", str(tmp_path / "out")])
    with pytest.raises(ValueError, match="inside the output folder"):
        do_command(inside)


def test_07_the_book_shows_listed_vendors_even_from_an_old_report():
    from sonimage_utils.imaging.quality import summarize_extraction
    from sonimage_utils.pipeline.params import load_parameters

    params = load_parameters()
    windows = {"FES": tuple(params["uptake_window_fes_min"]["value"]),
               "FDG": tuple(params["uptake_window_fdg_min"]["value"])}

    old = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "tracer": ["FDG"] * 3, "uptake_time_min": [60.0] * 3,
                        "manufacturer": ["SIEMENS", PLANTED["InstitutionName"], None]})
    levels = summarize_extraction(old, windows).query("characteristic == 'Vendor'").set_index("level").FDG
    assert levels.to_dict() == {"SIEMENS": "1", "other": "1"}
