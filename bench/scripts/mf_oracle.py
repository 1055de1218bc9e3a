"""How fast could any method reach the multi-fidelity benchmark's target? Reference points
from the cached learning curves, on the benchmark's 2-worker clock (decision time left out).

* ``random, no stopping``: configurations in a random order, each trained to the end.
* ``random + ASHA``: the same with ASHA(1, 3, 81) stopping (as ``honed:asha``, no model).
* ``region ...``: as above, but drawing only from the best 10% of the grid (the two highest
  learning rates x the two widest layers, which hold most of the configurations that ever
  reach the target: 10 of 15 on mlp-digits, 14 of 17 on torch-mlp-digits): a sampler told in
  advance where to look.
* ``hitters only``: only configurations that reach the target, each trained until it does.

    python bench/scripts/mf_oracle.py --cache-dir /tmp/mfcache --seeds 40

The cache is what ``honed-bench mf --cache-dir DIR`` writes (every curve trained to 81 epochs).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

MAX_EPOCHS = 81


def load(cache_dir: Path, problem: str) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    table = json.loads((cache_dir / f"mf-{problem}-{MAX_EPOCHS}.json").read_text())
    keys = list(table)
    acc = np.array([table[k]["acc"][:MAX_EPOCHS] for k in keys])
    cost = np.array([table[k]["cost"][:MAX_EPOCHS] for k in keys])
    return [tuple(int(x) for x in k.split(",")) for k in keys], acc, cost


def time_to_target(
    order: Sequence[int],
    acc: np.ndarray,
    cost: np.ndarray,
    target: float,
    stop: Callable[[int, int], bool] | None = None,
    workers: int = 2,
) -> float:
    """Seconds until some epoch of some configuration reaches ``target``; configurations
    start in ``order`` on the first free worker; ``stop(config, epochs_done)`` may end one."""
    clocks = [0.0] * workers
    jobs: list[list[int] | None] = [None] * workers
    queue = iter(order)
    while True:
        w = int(np.argmin(clocks))
        job = jobs[w]
        if job is None:
            nxt = next(queue, None)
            if nxt is None:
                if all(j is None for j in jobs):
                    return math.inf
                clocks[w] = math.inf  # this worker is idle for good
                continue
            job = jobs[w] = [nxt, 0]
        i, e = job
        clocks[w] += cost[i, e]
        if acc[i, e] >= target:
            return clocks[w]
        job[1] += 1
        if job[1] >= MAX_EPOCHS or (stop is not None and stop(i, job[1])):
            jobs[w] = None


def asha(acc: np.ndarray, eta: int = 3, rungs: Sequence[int] = (1, 3, 9, 27)):
    """A fresh stopping rule with ASHA's promotion test against earlier arrivals."""
    seen: dict[int, list[float]] = {r: [] for r in rungs}

    def stop(i: int, epochs: int) -> bool:
        if epochs not in seen:
            return False
        value, others = acc[i, epochs - 1], seen[epochs]
        top = max(1, (len(others) + 1) // eta)
        rank = sum(1 for o in others if o > value)
        others.append(value)
        return rank >= top

    return stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--problems", nargs="+", default=["mlp-digits", "torch-mlp-digits"])
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args()
    print("| problem | reference | configurations (hitters) | median (s) | mean (s) | reached |")
    print("|---|---|---|---|---|---|")
    for problem in args.problems:
        configs, acc, cost = load(args.cache_dir, problem)
        peaks = np.sort(acc.max(axis=1))
        target = peaks[int(0.99 * (len(peaks) - 1))]  # as the benchmark: top 1% of peaks
        everything = list(range(len(configs)))
        region = [j for j, c in enumerate(configs) if c[0] >= 6 and c[1] >= 3]
        hitters = [j for j in everything if acc[j].max() >= target]
        rows = [
            ("random, no stopping", everything, False),
            ("random + ASHA", everything, True),
            ("region, no stopping", region, False),
            ("region + ASHA", region, True),
            ("hitters only", hitters, False),
        ]
        for label, pool, stopping in rows:
            times = []
            for seed in range(args.seeds):
                order = np.random.default_rng(seed).permutation(pool).tolist()
                stop = asha(acc) if stopping else None
                times.append(time_to_target(order, acc, cost, target, stop))
            capped = np.minimum(times, 20.0)  # the benchmark's budget
            reached = sum(t <= 20.0 for t in times)
            n_hit = sum(1 for j in pool if j in hitters)
            print(
                f"| {problem} | {label} | {len(pool)} ({n_hit}) | {np.median(capped):.2f} | "
                f"{np.mean(capped):.2f} | {reached}/{len(times)} |"
            )


if __name__ == "__main__":
    main()
