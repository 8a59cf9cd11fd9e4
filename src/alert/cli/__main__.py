"""``python -m alert.cli``: the ``alert`` command (same as ``python -m alert``)."""

import sys

from alert.cli import main

sys.exit(main())
