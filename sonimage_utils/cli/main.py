"""The ``sonimage`` command line: the parser and :func:`main`; each sub-command is a module of this package
with ``add_subparser(subparsers)`` and ``do_command(args)`` (pydicom's ``cli/`` pattern).

Exit status: 0 success, 1 invalid data or a failed analysis, 2 wrong usage. Bad data never produce a
traceback: every problem is one line. The commands are described in the README (section "Commands").
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from sonimage_utils.cli import diff, extract, run, sap, simulate, validate
from sonimage_utils.cli.errors import UsageError

__all__ = ["SUB_COMMANDS", "main", "build_parser", "UsageError"]

#: The sub-command modules, in the order ``sonimage --help`` lists them.
SUB_COMMANDS = (simulate, validate, run, extract, sap, diff)


def build_parser() -> argparse.ArgumentParser:
    """The ``sonimage`` parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="sonimage", description="SONImage analysis book")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUB_COMMANDS:
        module.add_subparser(subparsers)
    return parser


def main(argv=None) -> int:
    """Entry point of ``sonimage``; returns the exit status."""
    from sonimage_utils.data.load import InvalidDataError
    from sonimage_utils.pipeline.book import BuildFailed
    from sonimage_utils.pipeline.execute import NotebookFailed
    from sonimage_utils.pipeline.run import BuildFolderError, build_session
    from sonimage_utils.pipeline.versions import VersionConflict

    args = build_parser().parse_args(argv)
    try:  # run and build hold BUILD/.lock throughout and publish their outputs together, or nothing
        with build_session(args.build) if args.command in ("run", "build") else contextlib.nullcontext():
            return args.func(args)
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
    except VersionConflict as exc:  # a version name taken by other inputs: refused, nothing replaced
        print(f"sonimage {args.command}: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"sonimage {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
