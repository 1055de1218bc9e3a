"""Regret ratio of the best Optuna simplex workaround to honed's default sampler, per problem.

Reads the ``results.json`` a ``honed-bench`` run wrote (final budget = its ``--n-trials``) and,
for every problem, compares ``--honed`` with the best of the ``optuna:*`` optimizers in it (the
one with the lowest mean regret on that problem, chosen after the fact, which favours the
peer). The interval is a paired bootstrap over seeds (the same seeds resampled for both).

    python bench/scripts/simplex_ratio.py --results runs/simplex/results.json
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", required=True, help="results.json of a honed-bench run")
    p.add_argument("--honed", default="honed:auto")
    p.add_argument("--boot", type=int, default=5000)
    args = p.parse_args()
    with open(args.results) as f:
        summary = json.load(f)["summary"]
    rng = np.random.default_rng(0)
    print("| problem | honed regret | best Optuna workaround | its regret | ratio | 90% interval |")
    print("|---|---|---|---|---|---|")
    logs = []
    for name, prob in summary["problems"].items():
        opts = prob["optimizers"]
        mine = opts[args.honed]["final_regret_by_seed"]
        peers = {k: v for k, v in opts.items() if k.startswith("optuna:")}
        best = min(peers, key=lambda k: np.mean(list(peers[k]["final_regret_by_seed"].values())))
        theirs = peers[best]["final_regret_by_seed"]
        seeds = sorted(set(mine) & set(theirs))
        a = np.array([mine[s] for s in seeds])
        b = np.array([theirs[s] for s in seeds])
        ratio = b.mean() / a.mean() if a.mean() > 0 else math.inf
        idx = rng.integers(len(seeds), size=(args.boot, len(seeds)))
        am, bm = a[idx].mean(axis=1), b[idx].mean(axis=1)
        boots = np.where(am > 0, bm / np.maximum(am, 1e-300), np.inf)
        lo, hi = np.quantile(boots, [0.05, 0.95])
        if math.isfinite(ratio) and ratio > 0:
            logs.append(math.log(ratio))
        print(
            f"| {name} | {a.mean():.4f} | `{best}` | {b.mean():.4f} | {ratio:.2f} | "
            f"[{lo:.2f}, {hi:.2f}] |"
        )
    if logs:
        gm = math.exp(np.mean(logs))
        print(f"\nGeometric mean of the ratios (Optuna/honed) of {len(logs)} problems: {gm:.2f}")


if __name__ == "__main__":
    main()
