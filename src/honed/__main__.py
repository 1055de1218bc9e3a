"""``python -m honed``: the ``honed`` command."""

import sys

from honed.cli import main

sys.exit(main())
