"""``python -m sonimage_utils.cli``: the same as the ``sonimage`` command."""

import sys

from sonimage_utils.cli.main import main

sys.exit(main())
