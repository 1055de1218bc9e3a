"""honed.pareto against moocore: hypervolume, exclusive contributions and non-dominated sorting.

    PYTHONPATH=src python bench/scripts/pareto_moocore.py > bench/results/moocore-table.md

For 2-5 objectives and 10, 100 and 1,000 points, on two kinds of point sets -- ``cloud``:
uniform in the unit cube (few points on the front) and ``front``: on the positive unit sphere
(every point non-dominated, the hard case for hypervolume) -- prints the time of one call of
each honed.pareto function and of its moocore counterpart (best of repeats), their ratio
(honed / moocore: above 1, moocore is faster), and whether the results agree: the largest
relative difference of hypervolumes and contributions, identical masks and ranks. A call of
honed's that took longer than ``--limit`` seconds skips the larger sizes of the same case.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import moocore
import numpy as np

from honed.pareto import (
    hypervolume,
    hypervolume_contributions,
    non_dominated_mask,
    non_dominated_ranks,
)


def _points(kind: str, n: int, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "cloud":
        return rng.random((n, m))
    x = np.abs(rng.normal(size=(n, m)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _time(fn: Callable[[], object], budget: float = 0.3) -> tuple[float, object]:
    """Best time of one call over repeats filling about ``budget`` seconds, and its result."""
    t0 = time.perf_counter()
    out = fn()
    best = time.perf_counter() - t0
    spent, reps = best, 1
    while spent < budget and reps < 200:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, reps = min(best, dt), spent + dt, reps + 1
    return best, out


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def _rel(a: np.ndarray | float, b: np.ndarray | float) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--objectives", default="2,3,4,5")
    ap.add_argument("--limit", type=float, default=60.0)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    objectives = [int(s) for s in args.objectives.split(",")]
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"moocore {moocore.__version__}, {platform.machine()}\n"
    )
    print("| operation | m | points | n | honed | moocore | honed / moocore | agree |")
    print("|---|---|---|---|---|---|---|---|")
    ops: list[tuple[str, Callable, Callable, str]] = [
        (
            "hypervolume",
            hypervolume,
            lambda p, r: moocore.hypervolume(p, ref=r),
            "rel",
        ),
        (
            "contributions",
            hypervolume_contributions,
            lambda p, r: moocore.hv_contributions(p, ref=r, ignore_dominated=False),
            "rel",
        ),
        (
            "non-dominated mask",
            lambda p, r: non_dominated_mask(p),
            lambda p, r: moocore.is_nondominated(p, keep_weakly=True),
            "equal",
        ),
        (
            "non-dominated ranks",
            lambda p, r: non_dominated_ranks(p),
            lambda p, r: moocore.pareto_rank(p),
            "equal",
        ),
    ]
    for name, ours, theirs, check in ops:
        for m in objectives:
            for kind in ("cloud", "front"):
                too_slow = False
                for n in sizes:
                    pts = _points(kind, n, m, seed=1000 * m + n)
                    ref = np.full(m, 1.1)
                    t_theirs, b = _time(lambda: theirs(pts, ref))  # noqa: B023
                    if too_slow:
                        print(
                            f"| {name} | {m} | {kind} | {n} | > {args.limit:g} s "
                            f"| {_fmt(t_theirs)} | skipped | |",
                            flush=True,
                        )
                        continue
                    t_ours, a = _time(lambda: ours(pts, ref))  # noqa: B023
                    too_slow = t_ours > args.limit
                    if check == "rel":
                        agree = f"{_rel(a, b):.1e}"
                    else:
                        agree = "yes" if np.array_equal(np.asarray(a), np.asarray(b)) else "NO"
                    print(
                        f"| {name} | {m} | {kind} | {n} | {_fmt(t_ours)} | {_fmt(t_theirs)} "
                        f"| {t_ours / t_theirs:.3g} | {agree} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
