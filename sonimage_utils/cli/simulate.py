"""``sonimage simulate OUT``: write a synthetic data folder with ``truth.json``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["DEFAULT_SEED", "DEFAULT_N_PATIENTS", "add_subparser", "do_command"]

#: The documented defaults of ``sonimage simulate`` (the demo cohort's ``demo_seed`` and ``demo_n_patients`` in
#: ``analysis.yml``): the command line is where a seed may have a default, never the simulator's functions.
DEFAULT_SEED = 20191205
DEFAULT_N_PATIENTS = 100


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Add ``simulate`` to the sub-commands of the ``sonimage`` parser."""
    p = subparsers.add_parser("simulate", help="write a synthetic data folder with truth.json")
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--n-patients", type=int, default=DEFAULT_N_PATIENTS)
    p.add_argument("--truth", type=Path, default=None, metavar="FILE",
                   help="YAML of overrides of the generating parameters: any key of truth.json, nested or dotted "
                        "(e.g. 'pfs.hr_interaction: 0.5'); written into OUT/truth.json")
    p.set_defaults(func=do_command)
    return p


def do_command(args) -> int:
    """Write the folder; exit status 0, or 2 for fewer than 2 patients or an unreadable/unknown override."""
    from sonimage_utils.simulate.cohort import simulate_data_folder
    from sonimage_utils.simulate.truth import read_truth_overrides

    if args.n_patients < 2:
        print("sonimage simulate: --n-patients must be at least 2", file=sys.stderr)
        return 2
    overrides = None
    if getattr(args, "truth", None) is not None:
        try:
            overrides = read_truth_overrides(args.truth)
        except (OSError, ValueError) as exc:
            print(f"sonimage simulate: --truth {args.truth}: {exc}", file=sys.stderr)
            return 2
    try:
        simulate_data_folder(args.out, seed=args.seed, n_patients=args.n_patients, truth_overrides=overrides)
    except ValueError as exc:  # an override naming an unknown parameter or breaking a constraint
        print(f"sonimage simulate: {exc}", file=sys.stderr)
        return 2
    extra = f", truth overrides from {args.truth}" if overrides else ""
    print(f"wrote a synthetic data folder to {args.out} (seed {args.seed}, {args.n_patients} patients{extra})")
    return 0
