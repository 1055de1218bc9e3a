"""Train every configuration of the multi-fidelity problems fully, in parallel, and cache the
curves (validation accuracy and CPU seconds per epoch) for ``honed-bench mf``.

Needs neither honed nor honed-bench installed (training uses scikit-learn, torch and rich only),
so it can run on a bigger machine: ``python bench/scripts/mf_build_table.py OUT_DIR [JOBS]
[MAX_EPOCHS]``, then ``honed-bench mf --cache-dir OUT_DIR ...``. With honed-bench installed,
``honed-bench mf --build-table JOBS --seeds 0 --cache-dir OUT_DIR`` does the same.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # one core per training process: costs are per-core CPU time
    # the spawned training processes import honed_bench too
    os.environ["PYTHONPATH"] = str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, str(SRC))
    from honed_bench import multifidelity as mf

    out = Path(sys.argv[1])
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count() or 1
    max_epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 81
    for name in mf.PROBLEMS:
        mf.build_table(mf.make_problem(name, out, max_epochs), jobs, quiet=False)
