"""A notebook that reads only some files of a dependency (``needs``) starts once that dependency has written them,
before it ends, and never on a previous build's copies (chapter 05 on chapter 04's frozen model)."""

from __future__ import annotations

import json

import pytest

from sonimage_utils.pipeline.execute import discover_notebooks
from sonimage_utils.pipeline.run import run_analyses

HEADER = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
{meta}# ---

# %% tags=["parameters"]
data_dir = "demo_data"
build_dir = "."
synthetic = True
'''

#: Writes the model (whole, then renamed), then waits for the dependent to start: it ends only if the dependent
#: started before it ended.
PRODUCER = HEADER.format(meta="") + '''
# %%
import os, time
from pathlib import Path
import pandas as pd
from sonimage_utils.pipeline.report import record
n = len(pd.read_csv(Path(data_dir) / "sonimage" / "patients.csv"))
model = Path(build_dir) / "models" / "m.json"
model.parent.mkdir(exist_ok=True)
time.sleep(1)  # a previous build's copy, were it not removed, would be read meanwhile
partial = model.with_name(".m.json.partial")
partial.write_text(str(n))
os.replace(partial, model)
marker = Path(build_dir) / "models" / "dependent_started"
end = time.monotonic() + 60
while not marker.exists():
    if time.monotonic() > end:
        raise RuntimeError("the dependent did not start before this notebook ended")
    time.sleep(0.1)
marker.unlink()
record("t00_n", n, "patients", kind="count")
'''

DEPENDENT = HEADER.format(meta='#   sonimage:\n#     depends_on: ["00"]\n#     needs: {"00": ["models/m.json"]}\n') + '''
# %%
from pathlib import Path
from sonimage_utils.pipeline.report import record
(Path(build_dir) / "models" / "dependent_started").write_text("yes")
record("t01_model_n", int((Path(build_dir) / "models" / "m.json").read_text()), "patients in the model", kind="count")
'''


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from sonimage_utils.simulate.cohort import simulate_data_folder

    root = tmp_path_factory.mktemp("early")
    for name, n in (("A", 20), ("B", 24)):
        simulate_data_folder(root / name, seed=n, n_patients=n)
    nbs = root / "notebooks"
    nbs.mkdir()
    (nbs / "00_producer.py").write_text(PRODUCER)
    (nbs / "01_dependent.py").write_text(DEPENDENT)
    return root


def _registry(build):
    return json.loads((build / "results" / "results.json").read_text())


def test_01_a_dependent_starts_once_the_files_it_needs_exist_before_its_dependency_ends(world, tmp_path):
    build = tmp_path / "build"
    run_analyses(world / "A", build, jobs=2, log=lambda m: None, notebooks_dir=world / "notebooks")
    assert _registry(build)["t01_model_n"] == 20 == _registry(build)["t00_n"]


def test_02_a_previous_builds_copy_of_a_needed_file_is_never_read(world, tmp_path):
    build = tmp_path / "build"
    run_analyses(world / "A", build, jobs=2, log=lambda m: None, notebooks_dir=world / "notebooks")
    assert (build / "models" / "m.json").read_text() == "20"  # carried into the next build's stage
    run_analyses(world / "B", build, jobs=2, log=lambda m: None, notebooks_dir=world / "notebooks")
    assert _registry(build)["t01_model_n"] == 24 == _registry(build)["t00_n"]


def test_03_needs_must_name_a_dependency(tmp_path):
    (tmp_path / "01_dependent.py").write_text(DEPENDENT.replace('depends_on: ["00"]', "depends_on: []"))
    with pytest.raises(ValueError, match=r"01_dependent.py: `needs` names \['00'\], which are not in `depends_on`"):
        discover_notebooks(tmp_path)
