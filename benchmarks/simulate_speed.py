"""Time ``simulate_data_folder`` (all three cohorts written to disk) for several development-cohort sizes.

Run: ``.venv/bin/python benchmarks/simulate_speed.py [N ...]`` (default 100 1000 10000). Prints seconds and
the number of RECIST rows written.
"""

import sys
import tempfile
import time

from sonimage_utils.simulate.cohort import simulate_data_folder


def main(sizes):
    for n in sizes:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            truth = simulate_data_folder(out, seed=20191205, n_patients=n)  # the demo seed (analysis.yml: demo_seed)
            seconds = time.perf_counter() - start
            with open(f"{out}/sonimage/recist.csv", encoding="utf-8") as fh:
                rows = sum(1 for _ in fh) - 1
        print(f"n_patients={n:>6}  {seconds:6.2f} s  lesions={truth['realized']['sonimage']['n_lesions']}"
              f"  recist_rows={rows}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 10000])
