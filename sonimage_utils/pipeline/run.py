"""``sonimage run``: demo data if none given, validate, execute the notebooks, write the results registry."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sonimage_utils.pipeline.params import parameter_values
from sonimage_utils.pipeline.execute import discover_notebooks, hash_files, run_notebooks, select_notebooks, write_results
from sonimage_utils.data.validate import validate_folder

__all__ = ["RunResult", "DEMO_SOURCES", "is_synthetic", "input_files", "demo_recipe", "ensure_demo_data",
           "run_analyses"]


@dataclass
class RunResult:
    """What a run did: where, from which data, with which values, and the results it gathered."""

    build: Path
    data_dir: Path
    synthetic: bool
    values: dict
    overrides: dict
    data_hash: str
    notebooks: list = field(default_factory=list)
    results_path: Path | None = None


def is_synthetic(data_dir) -> bool:
    """A data folder is synthetic when ``sonimage simulate`` made it (it carries ``truth.json``)."""
    return (Path(data_dir) / "truth.json").exists()


def input_files(data_dir) -> list[Path]:
    """Every CSV and JSON input file of a data folder, relative to it, sorted."""
    root = Path(data_dir)
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.suffix in (".csv", ".json"))


#: The subpackages whose source makes the demo data: the simulator and the imaging code (demo DICOM, extraction).
DEMO_SOURCES = ("simulate", "imaging")


def demo_recipe(seed: int, n_patients: int, package=None) -> str:
    """The recipe of the demo data folder: a hash of the source of :data:`DEMO_SOURCES`, the seed and the size.

    Parameters
    ----------
    seed, n_patients : int
        ``demo_seed`` and ``demo_n_patients`` of ``analysis.yml``.
    package : path-like, optional
        The package folder; default the installed ``sonimage_utils`` (tests pass a copy).
    """
    package = Path(__file__).resolve().parents[1] if package is None else Path(package)
    sources = [p.relative_to(package) for sub in DEMO_SOURCES for p in package.glob(f"{sub}/*.py")]
    return f"{hash_files(sources, root=package)}:{seed}:{n_patients}"


def ensure_demo_data(build: Path, seed: int, n_patients: int, log=print) -> Path:
    """The built-in synthetic demo cohort in ``build/demo_data``, regenerated when its recipe changed.

    The recipe is the simulator's and the imaging code's source, the seed and the size; the same recipe gives
    the same bytes. A few demo patients also get real PET DICOM (``build/demo_dicom``), extracted with
    ``sonimage extract``; its ``extraction_report.csv`` joins the data folder.
    """
    from sonimage_utils.simulate import cohort as simulate

    target = build / "demo_data"
    recipe = demo_recipe(seed, n_patients)
    stamp = target / ".recipe"
    if stamp.exists() and stamp.read_text() == recipe:
        return target
    log(f"generating the synthetic demo cohort (seed {seed}, {n_patients} patients) in {target}")
    if target.exists():
        shutil.rmtree(target)
    simulate.simulate_data_folder(target, seed=seed, n_patients=n_patients)
    _extract_demo_dicom(build, target, seed)
    stamp.write_text(recipe)
    return target


def _extract_demo_dicom(build: Path, data: Path, seed: int, n_patients: int = 4) -> None:
    """Real PET DICOM for a few demo patients, extracted as a study would: the extraction report joins the
    demo data folder so that chapter 00 shows scan quality from the headers."""
    import contextlib
    import io

    import pandas as pd

    from sonimage_utils.imaging.demo import write_demo_dicom
    from sonimage_utils.imaging.extract import run_extract

    folder = build / "demo_dicom"
    if folder.exists():
        shutil.rmtree(folder)
    lesions = pd.read_csv(data / "sonimage" / "lesions.csv", dtype={"patient_id": str, "lesion_id": str})
    scans = pd.read_csv(data / "sonimage" / "scans.csv", dtype={"patient_id": str})
    ids = sorted(set(scans.loc[scans["tracer"] == "FDG", "patient_id"]))[:n_patients]
    demo = write_demo_dicom(folder, seed, patient_ids=ids, lesions=lesions, scans=scans)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = run_extract(demo["dicom_dir"], demo["vois_csv"], demo["mapping_csv"], folder / "extracted")
    if status != 0:
        raise RuntimeError(f"demo DICOM extraction failed:\n{out.getvalue()}")
    shutil.copy2(folder / "extracted" / "extraction_report.csv", data / "sonimage" / "extraction_report.csv")


def run_analyses(data_dir=None, build="_build", only=None, jobs=1, overrides=None, log=print) -> RunResult:
    """Validate ``data_dir`` and execute the selected notebooks into ``build``.

    Parameters
    ----------
    data_dir : path, optional
        A data folder; default the built-in synthetic demo cohort (generated into ``build/demo_data``).
    build : path
    only : list of str, optional
        Notebook numbers to run (with what they need).
    jobs : int
    overrides : dict, optional
        Parameter values replacing those of ``analysis.yml``.

    Returns
    -------
    RunResult

    Raises
    ------
    sonimage_utils.data.InvalidDataError
        If the data folder has errors (nothing is executed).
    sonimage_utils.pipeline.execute.NotebookFailed
        If a notebook fails.
    """
    from sonimage_utils.data.load import InvalidDataError

    build = Path(build).resolve()
    build.mkdir(parents=True, exist_ok=True)
    values = parameter_values(overrides)
    if data_dir is None:
        data_dir = ensure_demo_data(build, values["demo_seed"], values["demo_n_patients"], log=log)
    data_dir = Path(data_dir).resolve()
    report = validate_folder(data_dir)
    for problem in report.warnings:
        log(str(problem))
    if not report.ok:
        raise InvalidDataError(report.errors)
    data_hash = hash_files(input_files(data_dir), root=data_dir)
    notebooks = select_notebooks(discover_notebooks(), only)
    synthetic = is_synthetic(data_dir)
    results = run_notebooks(notebooks, values, data_dir, build, jobs=jobs, data_hash=data_hash,
                            synthetic=synthetic, log=log)
    path = write_results(results, build)
    (build / "results" / "run.json").write_text(json.dumps({
        "data_dir": str(data_dir), "synthetic": synthetic, "data_hash": data_hash,
        "overrides": overrides or {}, "notebooks": [nb.stem for nb in notebooks]}, indent=2, sort_keys=True) + "\n")
    return RunResult(build, data_dir, synthetic, values, overrides or {}, data_hash,
                     [nb.stem for nb in notebooks], path)

