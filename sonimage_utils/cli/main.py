"""The ``sonimage`` command line (interface.md). Exit status: 0 success, 1 invalid data or a failed
analysis, 2 wrong usage. Bad data never produce a traceback: every problem is one line."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help="data folder (data-contract layout); default: the built-in synthetic demo cohort")
    p.add_argument("--build", type=Path, default=Path("_build"), help="build folder (default: _build)")
    p.add_argument("--only", action="append", default=[], metavar="NN",
                   help="run notebook NN (and what it needs); repeatable")
    p.add_argument("--jobs", type=int, default=1, help="notebooks to execute in parallel")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override an analysis.yml parameter for this run (VALUE read as YAML); repeatable")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sonimage", description="SONImage analysis book")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="write a synthetic data folder with truth.json")
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=20191205)
    p.add_argument("--n-patients", type=int, default=100)

    p = sub.add_parser("validate", help="check a data folder against the data dictionary")
    p.add_argument("data", type=Path)

    p = sub.add_parser("run", help="validate, then execute the notebooks and write the results registry")
    _add_run_options(p)

    p = sub.add_parser("build", help="run, then render the book into BUILD/html")
    _add_run_options(p)
    p.add_argument("--version", default=None, help="book version (default: package version + git hash)")
    p.add_argument("--pdf", action="store_true", help="also render a PDF (needs LaTeX)")

    p = sub.add_parser("extract", help="SUV and lesion features from PET DICOM")
    from sonimage_utils.imaging.extract import add_extract_arguments

    add_extract_arguments(p)
    return parser


def _cmd_simulate(args) -> int:
    from sonimage_utils.simulate.cohort import simulate_data_folder

    if args.n_patients < 2:
        print("sonimage simulate: --n-patients must be at least 2", file=sys.stderr)
        return 2
    simulate_data_folder(args.out, seed=args.seed, n_patients=args.n_patients)
    print(f"wrote a synthetic data folder to {args.out} (seed {args.seed}, {args.n_patients} patients)")
    return 0


def _cmd_validate(args) -> int:
    from sonimage_utils.data.validate import validate_folder

    report = validate_folder(args.data)
    for problem in report.problems:
        print(problem)
    n_err, n_warn = len(report.errors), len(report.warnings)
    cohorts = ", ".join(report.tables) or "none"
    print(f"{args.data}: {n_err} error(s), {n_warn} warning(s); cohorts checked: {cohorts}",
          file=sys.stderr)
    return 0 if report.ok else 1


class UsageError(ValueError):
    """Wrong usage of the command line (exit status 2)."""


def _run(args):
    from sonimage_utils.pipeline.params import load_parameters, parse_overrides
    from sonimage_utils.pipeline.execute import discover_notebooks, select_notebooks
    from sonimage_utils.pipeline.run import run_analyses

    try:
        overrides = parse_overrides(args.param, set(load_parameters()))
        select_notebooks(discover_notebooks(), args.only)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    return run_analyses(args.data, args.build, only=args.only, jobs=args.jobs, overrides=overrides,
                        log=lambda m: print(m, file=sys.stderr))


def _cmd_run(args) -> int:
    run = _run(args)
    print(f"results: {run.results_path}")
    return 0


def _cmd_build(args) -> int:
    from sonimage_utils.pipeline.book import build_book

    run = _run(args)
    html = build_book(run, version=args.version, pdf=args.pdf, log=lambda m: print(m, file=sys.stderr))
    print(f"book: {html / 'index.html'}")
    return 0


def _cmd_extract(args) -> int:
    from sonimage_utils.imaging.extract import run_extract_from_args

    return run_extract_from_args(args)


def main(argv=None) -> int:
    """Entry point of ``sonimage``; returns the exit status."""
    from sonimage_utils.pipeline.book import BuildFailed
    from sonimage_utils.data.load import InvalidDataError
    from sonimage_utils.pipeline.execute import NotebookFailed
    from sonimage_utils.pipeline.run import BuildFolderError, build_session

    args = build_parser().parse_args(argv)
    handlers = {"simulate": _cmd_simulate, "validate": _cmd_validate, "run": _cmd_run, "build": _cmd_build,
                "extract": _cmd_extract}
    try:  # run and build hold BUILD/.lock throughout and publish their outputs together, or nothing
        with build_session(args.build) if args.command in ("run", "build") else contextlib.nullcontext():
            return handlers[args.command](args)
    except BuildFolderError as exc:  # locked, read-only or full: one line, the published book untouched
        print(f"sonimage {args.command}: {exc}", file=sys.stderr)
        return 1
    except InvalidDataError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"sonimage {args.command}: the data folder is not valid ({len(exc.problems)} error(s)); "
              "nothing was executed", file=sys.stderr)
        return 1
    except NotebookFailed as exc:
        print(f"sonimage {args.command}: {exc}; see the executed notebook in "
              f"{Path(args.build) / 'failed' / (exc.notebook + '.ipynb')}", file=sys.stderr)
        return 1
    except BuildFailed as exc:
        print(exc.log, file=sys.stderr)
        print(f"sonimage {args.command}: {exc}; the previous book was left in place", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"sonimage {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
