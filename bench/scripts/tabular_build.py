"""Train every cell of the tabular problems' grids and write their tables
(``bench/src/honed_bench/problems/tabular_data/<name>.txt.gz``: one loss per line, in the grid's
row-major order). ``python bench/scripts/tabular_build.py [JOBS] [NAME ...]``; minutes on 2
cores. Deterministic: the same scikit-learn gives the same tables.
"""

from __future__ import annotations

import gzip
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _cell(args: tuple[str, dict]) -> float:
    from honed_bench.problems.tabular import _BY_NAME, cell_loss

    name, params = args
    return cell_loss(_BY_NAME[name], params)


def main(argv: list[str]) -> None:
    from honed_bench.problems.tabular import DATA_DIR, TABLES, cells

    jobs = int(argv[0]) if argv else os.cpu_count() or 1
    names = set(argv[1:])
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(jobs) as pool:
        for table in TABLES:
            if names and table.name not in names:
                continue
            start = time.perf_counter()
            grid = cells(table)
            losses = list(pool.map(_cell, [(table.name, c) for c in grid], chunksize=8))
            # mtime=0: an unchanged table rewrites the same bytes
            with open(table.path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
                f.write("".join(f"{v:.10g}\n" for v in losses).encode())
            print(
                f"{table.name}: {len(grid)} cells, best {min(losses):.4f}, "
                f"worst {max(losses):.4f}, {time.perf_counter() - start:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["PYTHONPATH"] = str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, str(SRC))
    main(sys.argv[1:])
