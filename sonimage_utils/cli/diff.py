"""``sonimage diff V1 V2 [--build BUILD]``: what changed between two kept versions of the book.

Prints what the page "What changed" of a version shows: a summary line, then one line per changed registry
name (``changed``, ``added``, ``removed``), per changed parameter (``parameter``) and data file (``data``),
and the scope and code when they changed; fields are tab-separated. Exit 0 (also when something changed),
2 with one line for a version the build folder does not have.
"""

from __future__ import annotations

from pathlib import Path

from sonimage_utils.cli.errors import UsageError

__all__ = ["add_subparser", "do_command"]


def add_subparser(subparsers):
    """Add ``diff`` to the sub-commands of the ``sonimage`` parser."""
    p = subparsers.add_parser("diff", help="list every registry value, parameter and data file that differs "
                                           "between two kept versions")
    p.add_argument("old", metavar="V1", help="the earlier version (as listed in BUILD/versions/versions.json)")
    p.add_argument("new", metavar="V2", help="the later version")
    p.add_argument("--build", type=Path, default=Path("_build"), help="build folder (default: _build)")
    p.set_defaults(func=do_command)
    return p


def do_command(args) -> int:
    """Print the differences; raise :class:`UsageError` for an unknown version."""
    from sonimage_utils.pipeline.versions import compare_versions, format_changes_lines, load_version

    try:
        old, new = load_version(args.build, args.old), load_version(args.build, args.new)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    for line in format_changes_lines(compare_versions(old, new), args.old, args.new):
        print(line)
    return 0
