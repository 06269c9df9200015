"""``sonimage sap freeze [--date YYYY-MM-DD]``: write a dated, hashed snapshot of the SAP into the repository."""

from __future__ import annotations

import argparse

from sonimage_utils.cli.errors import UsageError

__all__ = ["add_subparser", "do_command"]


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Add ``sap`` (with its action ``freeze``) to the sub-commands of the ``sonimage`` parser."""
    p = subparsers.add_parser("sap", help="freeze the statistical analysis plan (sap/frozen/sap-DATE.json)")
    p.add_argument("action", choices=["freeze"],
                   help="freeze: snapshot analysis.yml and the SAP pages with their SHA-256 and the git commit")
    p.add_argument("--date", default=None, metavar="YYYY-MM-DD",
                   help="the date the SAP is signed (default: today, UTC); an existing snapshot is never overwritten")
    p.add_argument("--amendment", action="store_true",
                   help="if the date has a snapshot already, write the next amendment sap-DATE.N.json beside it")
    p.set_defaults(func=do_command)
    return p


def do_command(args) -> int:
    """Freeze; exit status 0, 1 if that date's snapshot exists, 2 for a malformed date."""
    import sys

    from sonimage_utils.pipeline.params import project_root
    from sonimage_utils.pipeline.sap import FrozenSapExists, freeze_sap

    try:
        path = freeze_sap(args.date, amendment=args.amendment)
    except FrozenSapExists as exc:
        print(f"sonimage sap freeze: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"froze the SAP into {path.relative_to(project_root())}; commit it with the plan it freezes")
    return 0
