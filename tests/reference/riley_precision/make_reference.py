"""Reference for sonimage_utils.external_validation.precision: the authors' own implementation of Riley et al.
(Stat Med 2021), PyPI ``pmvalsampsize`` 0.2.1 (no R package of it is in Debian). Run with pmvalsampsize on the
path (``pip install --target DIR pmvalsampsize``; not a project dependency); writes expected.json."""
import json

import numpy as np
from pmvalsampsize.pmvalsampsize import pmvalsampsize

cases = []
for prev, c in [(0.5, 0.7), (0.6, 0.6), (0.75, 0.55)]:
    r = pmvalsampsize(type="b", prevalence=prev, cstatistic=c, oe=1, oeciwidth=0.2, cstatciwidth=0.1,
                      lpnormal=(0, 1), noprint=True)  # the LP distribution matters only for the C-slope criterion
    tab = {row[0]: row for row in r["results_table"] if isinstance(row, list)}
    cases.append({"prevalence": prev, "cstatistic": c, "n_oe": int(tab["Criteria 1 - O/E"][1]),
                  "se_oe": float(r["se_oe"]), "width_oe": float(r["width_oe"]),
                  "n_cstat": int(tab["Criteria 3 - C statistic"][1]), "se_cstat": float(r["se_cstat"])})
json.dump(cases, open("expected.json", "w"), indent=1)
print(cases)
