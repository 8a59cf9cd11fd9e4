"""``python -m alert``: the ``alert`` command."""

import sys

from alert.cli import main

sys.exit(main())
