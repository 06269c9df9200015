"""environment.yml (conda) and requirements.lock (pip) pin the same versions; the stack pins hold."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def lock():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            pins[norm(name)] = version.strip()
    return pins


def test_01_environment_pins_equal_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = lock()
    conda = [d for d in env["dependencies"] if isinstance(d, str) and "==" in d]
    assert len(conda) >= 15
    for dep in conda:
        name, version = dep.split("==")
        assert pins.get(norm(name)) == version, dep


def test_02_every_direct_dependency_is_locked_and_in_the_environment():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    env_names = {norm(d.split("==")[0]) for d in env["dependencies"] if isinstance(d, str)}
    pins = lock()
    extras = project["optional-dependencies"]
    for dep in project["dependencies"] + extras["test"] + extras["pdf"]:
        name = norm(re.split(r"[<>=!~ \[]", dep, maxsplit=1)[0])
        assert name in pins, dep
        assert name in env_names, dep


def test_03_stack_pins():
    pins = lock()
    assert pins["jupyter-book"].startswith("1.")
    assert int(pins["pandas"].split(".")[0]) < 3
    assert pins["lifelines"] == "0.30.3"
