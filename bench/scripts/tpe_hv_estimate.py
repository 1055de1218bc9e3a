"""Estimated vs exact hypervolume contributions and subset selection, as TPE uses them.

    nice -n 10 python bench/scripts/tpe_hv_estimate.py --sizes 20,60,150 --objectives 4,5

For fronts on the unit sphere (DTLZ2-like) of each size and number of objectives, prints the
time of exact contributions (``honed.pareto.hypervolume_contributions``) and of the estimate
(``honed.pareto.estimate_contributions``), the estimate's largest error relative
to the largest contribution, and the hypervolume kept by the estimated greedy selection of a
quarter of the front relative to keeping the points with the largest exact contributions.
Exact timings above ``--exact-limit`` seconds are skipped for larger fronts.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from honed.pareto import (
    estimate_contributions,
    greedy_hv_subset,
    hypervolume,
    hypervolume_contributions,
)


def _front(n: int, m: int, seed: int) -> np.ndarray:
    x = np.abs(np.random.default_rng(seed).normal(size=(n, m)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20,60,150")
    ap.add_argument("--objectives", default="4,5")
    ap.add_argument("--exact-limit", type=float, default=20.0)
    args = ap.parse_args()
    print("m    n  exact_s  estimate_s  max_err/max  greedy_hv/top_contrib_hv  greedy_s")
    for m in map(int, args.objectives.split(",")):
        too_slow = False
        for n in map(int, args.sizes.split(",")):
            front = _front(n, m, seed=n + m)
            ref = np.full(m, 1.1)
            t = time.perf_counter()
            est = estimate_contributions(front, ref)
            t_est = time.perf_counter() - t
            k = max(1, n // 4)
            t = time.perf_counter()
            pick = greedy_hv_subset(front, k, ref)
            t_greedy = time.perf_counter() - t
            if too_slow:
                print(f"{m} {n:4d}  {'-':>7}  {t_est:10.4f}  {'-':>11}  {'-':>24}  {t_greedy:8.4f}")
                continue
            t = time.perf_counter()
            exact = hypervolume_contributions(front, ref)
            t_exact = time.perf_counter() - t
            too_slow = t_exact > args.exact_limit
            err = np.max(np.abs(est - exact)) / exact.max()
            top = np.argsort(-exact)[:k]
            kept = hypervolume(front[pick], ref) / hypervolume(front[top], ref)
            print(
                f"{m} {n:4d}  {t_exact:7.3f}  {t_est:10.4f}  {err:11.3f}  {kept:24.3f}  "
                f"{t_greedy:8.4f}"
            )


if __name__ == "__main__":
    main()
