"""``sonimage run`` (validate, execute the notebooks, write the results registry) and ``sonimage build`` (run,
then render the book)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sonimage_utils.cli.errors import UsageError

__all__ = ["add_subparser", "do_command"]


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help="data folder (data-contract layout); default: the built-in synthetic demo cohort")
    p.add_argument("--build", type=Path, default=Path("_build"), help="build folder (default: _build)")
    p.add_argument("--only", action="append", default=[], metavar="NN",
                   help="run notebook NN (and what it needs); repeatable")
    p.add_argument("--jobs", type=int, default=1, help="notebooks to execute in parallel")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override an analysis.yml parameter for this run (VALUE read as YAML); repeatable")


def add_subparser(subparsers) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Add ``run`` and ``build`` to the sub-commands of the ``sonimage`` parser."""
    run = subparsers.add_parser("run", help="validate, then execute the notebooks and write the results registry")
    _add_run_options(run)
    run.set_defaults(func=do_command)

    build = subparsers.add_parser("build", help="run, then render the book into BUILD/html")
    _add_run_options(build)
    build.add_argument("--version", default=None,
                       help="book version; refused if BUILD/versions has it from other inputs (default: package "
                            "version + git hash + a hash of the data, parameters and notebooks run)")
    build.add_argument("--pdf", action="store_true", help="also render BUILD/sonimage-sap-<version>.pdf (needs "
                       "WeasyPrint: pip install -e '.[pdf]')")

    build.set_defaults(func=do_command)
    return run, build


def _run(args):
    from sonimage_utils.pipeline.execute import discover_notebooks, select_notebooks
    from sonimage_utils.pipeline.params import load_parameters, parameter_values, parse_overrides
    from sonimage_utils.pipeline.run import run_analyses

    try:
        overrides = parse_overrides(args.param, set(load_parameters()))
        parameter_values(overrides)  # every value in its type and range, before any notebook runs
        select_notebooks(discover_notebooks(), args.only)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.command == "build" and args.version:
        _check_version(args, overrides)
    return run_analyses(args.data, args.build, only=args.only, jobs=args.jobs, overrides=overrides,
                        log=lambda m: print(m, file=sys.stderr))


def _check_version(args, overrides: dict) -> None:
    """Refuse ``--version V`` taken by a version of other inputs before any notebook runs."""
    from sonimage_utils.pipeline.book import git_state
    from sonimage_utils.pipeline.execute import discover_notebooks, select_notebooks
    from sonimage_utils.pipeline.params import parameter_values
    from sonimage_utils.pipeline.run import ensure_demo_data, is_synthetic
    from sonimage_utils.pipeline.versions import check_version, read_index, version_inputs

    if args.version not in {e["version"] for e in read_index(args.build)}:
        return
    values = parameter_values(overrides)
    data = args.data if args.data is not None else ensure_demo_data(
        Path(args.build).resolve(), values["demo_seed"], values["demo_n_patients"], log=lambda m: print(m, file=sys.stderr))
    notebooks = [nb.stem for nb in select_notebooks(discover_notebooks(), args.only)]
    check_version(args.build, args.version, version_inputs(data, values, overrides, notebooks, git_state(),
                                                           is_synthetic(data)))


def do_command(args) -> int:
    """Run (and for ``build`` render); exit status 0. Failures raise; :func:`sonimage_utils.cli.main.main`
    turns them into one line and the exit status."""
    if args.command == "build" and args.pdf:  # before any notebook runs
        from sonimage_utils.pipeline.pdf import toolchain_problem

        if problem := toolchain_problem():
            raise UsageError(problem)
    run = _run(args)
    if args.command == "run":
        print(f"results: {run.results_path}")
        return 0
    from sonimage_utils.pipeline.book import build_book

    html = build_book(run, version=args.version, pdf=args.pdf, log=lambda m: print(m, file=sys.stderr))
    print(f"book: {html / 'index.html'}")
    return 0
