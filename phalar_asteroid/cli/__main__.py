"""``python -m phalar_asteroid.cli``: the ``phalar`` command without its console script."""

import sys

from . import main

sys.exit(main())
