"""Set-up for every test run, doctests of ``sonimage_utils`` included: a non-interactive matplotlib backend."""

import matplotlib

matplotlib.use("Agg")

#: Reference scripts (run by hand to make the R fixtures) are not test modules: doctest collection skips them.
collect_ignore_glob = ["tests/reference/*"]
