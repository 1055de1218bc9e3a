"""Train every configuration of the multi-fidelity problems fully, in parallel, and cache the
curves (validation accuracy and CPU seconds per epoch) for ``honed bench mf``.

Runs without installing honed (it loads only ``honed/bench/multifidelity.py``), so it can run
on a bigger machine: ``python benchmarks/mf_build_table.py OUT_DIR [JOBS] [MAX_EPOCHS]``, then
``honed bench mf --cache-dir OUT_DIR ...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "src" / "honed" / "bench"

if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # one core per training process: costs are per-core CPU time
    os.environ["PYTHONPATH"] = str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, str(HERE))
    import multifidelity as mf

    out = Path(sys.argv[1])
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count() or 1
    max_epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 81
    for name in mf.PROBLEMS:
        mf.build_table(mf.make_problem(name, out, max_epochs), jobs, print)
