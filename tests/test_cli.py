"""The command line in one place: ``sonimage_utils/cli/``, one module per sub-command, exit statuses pinned."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sonimage_utils.cli.main import SUB_COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _sonimage(*argv):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "sonimage_utils.cli", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_01_every_sub_command_is_a_module_with_add_subparser_and_do_command():
    for module in SUB_COMMANDS:
        assert callable(module.add_subparser) and callable(module.do_command), module.__name__
    choices = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert list(choices) == ["simulate", "validate", "run", "build", "extract", "sap", "diff"]


def test_02_parsed_arguments_reach_their_command():
    parser = build_parser()
    for argv, module in ((["simulate", "out"], "simulate"), (["validate", "d"], "validate"),
                         (["run"], "run"), (["build"], "run"),
                         (["extract", "--dicom", "a", "--vois", "b", "--mapping", "c", "--out", "d"], "extract"),
                         (["sap", "freeze"], "sap")):
        assert parser.parse_args(argv).func.__module__ == f"sonimage_utils.cli.{module}"
    args = parser.parse_args(["simulate", "out"])
    assert (args.seed, args.n_patients) == (20191205, 100)          # the documented defaults


def test_03_help_of_each_command_works_without_a_traceback(capsys):
    for command in ("validate", "simulate", "extract", "run", "build", "sap", "diff"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0 and f"usage: sonimage {command}" in capsys.readouterr().out
    done = _sonimage("extract", "--help")                            # as `python -m sonimage_utils.cli`
    assert done.returncode == 0 and "--mtv-fraction" in done.stdout, done.stderr


def test_04_wrong_usage_exits_2_with_one_line(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "x"), "--n-patients", "1"]) == 2
    assert "sonimage simulate: --n-patients must be at least 2" in capsys.readouterr().err
    assert main(["run", "--build", str(tmp_path / "b"), "--jobs", "0"]) == 2
    assert capsys.readouterr().err.strip() == "sonimage run: --jobs must be at least 1"
    with pytest.raises(SystemExit) as exc:
        main(["extract", "--dicom", "x"])                            # --vois, --mapping, --out missing
    assert exc.value.code == 2


def test_05_extract_of_missing_inputs_exits_1_and_names_them(tmp_path, capsys):
    rc = main(["extract", "--dicom", str(tmp_path / "none"), "--vois", str(tmp_path / "VOIS.csv"),
               "--mapping", str(tmp_path / "MAP.csv"), "--out", str(tmp_path / "out")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "MAP.csv" in err and "VOIS.csv" in err and "Traceback" not in err


def test_06_package_entry_point_is_cli_main():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"sonimage": "sonimage_utils.cli:main"}
    import importlib

    import sonimage_utils.cli

    assert sonimage_utils.cli.main is importlib.import_module("sonimage_utils.cli.main").main
