"""``sonimage validate DATA``: check a data folder against the data dictionary, one line per problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_subparser", "do_command"]


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Add ``validate`` to the sub-commands of the ``sonimage`` parser."""
    p = subparsers.add_parser("validate", help="check a data folder against the data dictionary")
    p.add_argument("data", type=Path)
    p.set_defaults(func=do_command)
    return p


def do_command(args) -> int:
    """Print every problem; exit status 0 when there is no error, 1 otherwise."""
    from sonimage_utils.data.validate import validate_folder

    report = validate_folder(args.data)
    for problem in report.problems:
        print(problem)
    n_err, n_warn = len(report.errors), len(report.warnings)
    cohorts = ", ".join(report.tables) or "none"
    print(f"{args.data}: {n_err} error(s), {n_warn} warning(s); cohorts checked: {cohorts}",
          file=sys.stderr)
    return 0 if report.ok else 1
