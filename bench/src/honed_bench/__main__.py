"""``python -m honed_bench``: the ``honed-bench`` command."""

import sys

from honed_bench.cli import main

sys.exit(main())
