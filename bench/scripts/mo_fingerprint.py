"""Do two versions of honed propose the same multi-objective trials? A before/after check.

    mkdir /tmp/before && git archive <commit> src | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before/src python bench/scripts/mo_fingerprint.py --out /tmp/before.pkl
    PYTHONPATH=src python bench/scripts/mo_fingerprint.py --out /tmp/after.pkl
    PYTHONPATH=src python bench/scripts/mo_fingerprint.py --compare /tmp/before.pkl /tmp/after.pkl

Runs TPE, NSGA-II (crowding and hypervolume selection) and, on the 2-3 objective problems,
the GP's EHVI on every multi-objective problem of honed.bench for a few seeds, and stores
each run's trials. ``--compare`` prints, per run, whether the trials are identical, the
largest difference of any parameter, and the relative difference of the final hypervolume.
"""

from __future__ import annotations

import argparse
import pickle
from typing import Any

import numpy as np

import honed
from honed.analysis import hypervolume
from honed.samplers import GPSampler, NSGAIISampler, TPESampler
from honed_bench.problems.multiobjective import PROBLEMS


def _samplers(seed: int, n_objectives: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tpe": TPESampler(seed=seed),
        "nsga-crowding": NSGAIISampler(seed=seed, population_size=20),
        "nsga-hypervolume": NSGAIISampler(seed=seed, population_size=20, selection="hypervolume"),
    }
    if n_objectives <= 3:
        out["gp-ehvi"] = GPSampler(seed=seed)
    return out


def _run(args: argparse.Namespace) -> None:
    runs: dict[str, list[tuple[dict, tuple]]] = {}
    for p in PROBLEMS:
        for seed in range(args.seeds):
            for name, sampler in _samplers(seed, p.n_objectives).items():
                n = args.gp_trials if name == "gp-ehvi" else args.n_trials
                study = honed.create_study(sampler=sampler, directions=list(p.directions))
                for _ in range(n):
                    t = study.ask(p.space)
                    study.tell(t, p.evaluate(t.params))
                key = f"{p.name}/{name}/seed{seed}"
                runs[key] = [(dict(t.params), tuple(t.values)) for t in study.trials]
                print(key, flush=True)
    with open(args.out, "wb") as f:
        pickle.dump(runs, f)


def _compare(before_path: str, after_path: str) -> None:
    with open(before_path, "rb") as f:
        before = pickle.load(f)
    with open(after_path, "rb") as f:
        after = pickle.load(f)
    refs = {p.name: np.array(p.reference_point) for p in PROBLEMS}
    print("| run | trials | largest parameter difference | final hypervolume, relative diff |")
    print("|---|---|---|---|")
    for key in sorted(before):
        a, b = before[key], after[key]
        diff = max(
            (abs(x[k] - y[k]) for (x, _), (y, _) in zip(a, b) for k in x if x[k] != y[k]),
            default=0.0,
        )
        ref = refs[key.split("/")[0]]
        hv_a = hypervolume(np.array([v for _, v in a]), ref)
        hv_b = hypervolume(np.array([v for _, v in b]), ref)
        same = "identical" if a == b else "differ"
        print(f"| {key} | {same} | {diff:.1e} | {abs(hv_a - hv_b) / hv_a:.1e} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--n-trials", type=int, default=200)
    ap.add_argument("--gp-trials", type=int, default=40)
    args = ap.parse_args()
    if args.compare:
        _compare(*args.compare)
    elif args.out:
        _run(args)
    else:
        ap.error("give --out FILE to record runs or --compare BEFORE AFTER")


if __name__ == "__main__":
    main()
