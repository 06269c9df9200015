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
    p.set_defaults(func=do_command)
    return p


def do_command(args) -> int:
    """Write the folder; exit status 0, or 2 for fewer than 2 patients."""
    from sonimage_utils.simulate.cohort import simulate_data_folder

    if args.n_patients < 2:
        print("sonimage simulate: --n-patients must be at least 2", file=sys.stderr)
        return 2
    simulate_data_folder(args.out, seed=args.seed, n_patients=args.n_patients)
    print(f"wrote a synthetic data folder to {args.out} (seed {args.seed}, {args.n_patients} patients)")
    return 0
