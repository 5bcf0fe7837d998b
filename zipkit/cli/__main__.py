"""``python -m zipkit.cli``: the ``zipkit`` command."""

import sys

from . import main

sys.exit(main())
