"""Multi-objective TPE variants: final hypervolume on honed.bench's ZDT/DTLZ problems.

    nice -n 10 python benchmarks/tpe_mo.py --trials 60 --seeds 5 \
        --variant multi: --variant uni:multivariate=false
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import honed
from honed.analysis import hypervolume
from honed.bench.problems import get_problem
from honed.samplers.tpe import TPESampler


def run(problem_name: str, seed: int, n: int, kwargs: dict) -> float:
    p = get_problem(problem_name)
    signs = np.array([1.0 if d == "minimize" else -1.0 for d in p.directions])
    study = honed.create_study(
        directions=list(p.directions), sampler=TPESampler(seed=seed, **kwargs)
    )
    for _ in range(n):
        trial = study.ask(p.space)
        study.tell(trial, list(p.evaluate(dict(trial.params))))
    losses = np.array([t.values for t in study.trials]) * signs
    return hypervolume(losses, np.asarray(p.reference_point) * signs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--problems", default="zdt1,zdt2,dtlz2")
    ap.add_argument("--variant", action="append", default=[])
    args = ap.parse_args()
    variants = []
    for spec in args.variant or ["multi:"]:
        name, _, rest = spec.partition(":")
        kw = {}
        for item in filter(None, rest.split(",")):
            k, _, v = item.partition("=")
            kw[k] = json.loads(v)
        variants.append((name, kw))
    for prob in args.problems.split(","):
        row = []
        for name, kw in variants:
            hv = [run(prob, s, args.trials, kw) for s in range(args.seeds)]
            row.append(f"{name}={np.mean(hv):.4f}±{np.std(hv) / np.sqrt(len(hv)):.4f}")
        print(prob.ljust(8), "  ".join(row), flush=True)


if __name__ == "__main__":
    main()
