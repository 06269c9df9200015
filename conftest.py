"""Set-up for every test run, doctests of ``sonimage_utils`` included: a non-interactive matplotlib backend."""

import matplotlib

matplotlib.use("Agg")
