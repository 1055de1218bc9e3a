"""Quick sample-efficiency comparison: honed TPE (variants) vs Optuna's default TPESampler.

Each problem is written once against a tiny trial API (``float``/``int``/``choice``) that both
honed trials and an Optuna adapter provide, so both optimizers see the same define-by-run
objective (conditional branches included).

    nice -n 10 python bench/scripts/tpe_compare.py --trials 50 --seeds 10
    nice -n 10 python bench/scripts/tpe_compare.py --variant wide:n_ei_candidates=64 --no-optuna

Reported per problem: mean normalized regret ``(best - optimum) / (random_median - optimum)``
over seeds (lower is better; 0 = optimum found, 1 = as good as a typical random point), and
the mean over problems. Optuna results are cached in /tmp so variants can be tuned quickly.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import honed
from honed.samplers import TPESampler

# ---- problems --------------------------------------------------------------------------------


def branin(t: Any) -> float:
    x = t.float("x", -5.0, 10.0)
    y = t.float("y", 0.0, 15.0)
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


_H6A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6C = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(t: Any) -> float:
    x = np.array([t.float(f"x{i}", 0.0, 1.0) for i in range(6)])
    return float(-(_H6C * np.exp(-(_H6A * (x - _H6P) ** 2).sum(axis=1))).sum())


def _ackley(x: np.ndarray) -> float:
    d = len(x)
    return float(
        -20 * np.exp(-0.2 * np.sqrt((x**2).sum() / d))
        - np.exp(np.cos(2 * np.pi * x).sum() / d)
        + 20
        + math.e
    )


def ackley5(t: Any) -> float:
    return _ackley(np.array([t.float(f"x{i}", -32.768, 32.768) for i in range(5)]))


def ackley10(t: Any) -> float:
    return _ackley(np.array([t.float(f"x{i}", -32.768, 32.768) for i in range(10)]))


def rosenbrock5(t: Any) -> float:
    x = np.array([t.float(f"x{i}", -5.0, 10.0) for i in range(5)])
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum())


def styblinski10(t: Any) -> float:
    x = np.array([t.float(f"x{i}", -5.0, 5.0) for i in range(10)])
    return float(0.5 * (x**4 - 16 * x**2 + 5 * x).sum())


def mixed(t: Any) -> float:
    """Int, log-int, stepped float, log float and categories, like a model's hyperparameters."""
    depth = t.int("depth", 1, 12)
    n = t.int("n_estimators", 10, 1000, log=True)
    lr = t.float("lr", 1e-4, 1.0, log=True)
    sub = t.float("subsample", 0.5, 1.0, step=0.05)
    booster = t.choice("booster", ["gbtree", "dart", "linear"])
    crit = t.choice("criterion", ["a", "b", "c", "d", "e"])
    v = (depth - 7) ** 2 / 10 + (math.log10(n) - 2.5) ** 2 + (math.log10(lr) + 2) ** 2
    v += 4 * (sub - 0.8) ** 2 + {"gbtree": 0.0, "dart": 0.3, "linear": 1.0}[booster]
    return v + {"a": 0.5, "b": 0.5, "c": 0.0, "d": 0.8, "e": 0.5}[crit]


def conditional(t: Any) -> float:
    """A tree-shaped space: three model families, each with its own parameters."""
    model = t.choice("model", ["svm", "tree", "knn"])
    shared = t.float("scale", 0.0, 1.0)
    base = (shared - 0.3) ** 2
    if model == "svm":
        c = t.float("svm_C", 1e-3, 1e3, log=True)
        g = t.float("svm_gamma", 1e-4, 1.0, log=True)
        return base + 0.2 + 0.1 * (math.log10(c) - 1) ** 2 + 0.1 * (math.log10(g) + 2) ** 2
    if model == "tree":
        d = t.int("tree_depth", 1, 30)
        leaf = t.int("tree_min_leaf", 1, 50, log=True)
        return base + 0.05 * abs(d - 9) + 0.3 * abs(math.log10(leaf) - 0.5)
    k = t.int("knn_k", 1, 50)
    w = t.choice("knn_weights", ["uniform", "distance"])
    return base + 0.5 + 0.02 * abs(k - 7) + (0.2 if w == "uniform" else 0.0)


PROBLEMS: dict[str, tuple[Callable[[Any], float], float]] = {
    "branin": (branin, 0.397887),
    "hartmann6": (hartmann6, -3.32237),
    "ackley5": (ackley5, 0.0),
    "ackley2": (
        lambda t: _ackley(np.array([t.float(f"x{i}", -32.768, 32.768) for i in range(2)])),
        0.0,
    ),
    "ackley10": (ackley10, 0.0),
    "rosenbrock5": (rosenbrock5, 0.0),
    "styblinski10": (styblinski10, -39.16617 * 10),
    "mixed": (mixed, 0.0),
    "conditional": (conditional, 0.0),
}

# ---- runners ---------------------------------------------------------------------------------


class _OptunaTrial:
    def __init__(self, trial: Any) -> None:
        self._t = trial

    def float(self, name: str, low: float, high: float, log: bool = False, step=None) -> float:
        return self._t.suggest_float(name, low, high, log=log, step=step)

    def int(self, name: str, low: int, high: int, log: bool = False) -> int:
        return self._t.suggest_int(name, low, high, log=log)

    def choice(self, name: str, choices: list) -> Any:
        return self._t.suggest_categorical(name, choices)


def run_honed(fn: Callable, n: int, seed: int, kwargs: dict) -> list[float]:
    sampler = TPESampler(seed=seed, **kwargs) if kwargs.get("_random") is None else None
    if sampler is None:
        sampler = honed.samplers.RandomSampler(seed=seed)
    study = honed.create_study(f"b{seed}", sampler=sampler)
    vals = []
    for _ in range(n):
        trial = study.ask()
        v = fn(trial)
        study.tell(trial, v)
        vals.append(v)
    return vals


def run_optuna(fn: Callable, n: int, seed: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    vals = []
    for _ in range(n):
        trial = study.ask()
        v = fn(_OptunaTrial(trial))
        study.tell(trial, v)
        vals.append(v)
    return vals


def random_median(fn: Callable) -> float:
    vals = run_honed(fn, 300, 12345, {"_random": True})
    return float(np.median(vals))


def regret(vals: list[float], opt: float, ref: float) -> float:
    return max(min(vals) - opt, 0.0) / max(ref - opt, 1e-12)


def parse_variant(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    kw: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        try:
            kw[k] = json.loads(v)
        except json.JSONDecodeError:
            kw[k] = v
    return name, kw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--variant", action="append", default=[], help="name:key=val,key=val")
    ap.add_argument("--no-optuna", action="store_true")
    args = ap.parse_args()
    variants = [parse_variant(v) for v in args.variant] or [("honed", {})]
    cache = Path(f"/tmp/tpe_compare_optuna_{args.trials}_{args.seeds}.json")
    ocache = json.loads(cache.read_text()) if cache.exists() else {}
    probs = args.problems.split(",")
    cols = [v[0] for v in variants] + ([] if args.no_optuna else ["optuna"])
    table: dict[str, dict[str, float]] = {}
    timing: dict[str, float] = dict.fromkeys(cols, 0.0)
    for p in probs:
        fn, opt = PROBLEMS[p]
        ref = random_median(fn)
        table[p] = {}
        for name, kw in variants:
            t0 = time.perf_counter()
            r = [regret(run_honed(fn, args.trials, s, kw), opt, ref) for s in range(args.seeds)]
            timing[name] += time.perf_counter() - t0
            table[p][name] = float(np.mean(r))
        if not args.no_optuna:
            if p not in ocache:
                t0 = time.perf_counter()
                ocache[p] = [
                    regret(run_optuna(fn, args.trials, s), opt, ref) for s in range(args.seeds)
                ]
                timing["optuna"] += time.perf_counter() - t0
                cache.write_text(json.dumps(ocache))
            table[p]["optuna"] = float(np.mean(ocache[p]))
        print(p.ljust(13), "  ".join(f"{c}={table[p][c]:.4f}" for c in cols), flush=True)
    print("-" * 60)
    means = {c: float(np.mean([table[p][c] for p in probs])) for c in cols}
    print("MEAN".ljust(13), "  ".join(f"{c}={means[c]:.4f}" for c in cols))
    if not args.no_optuna:
        for c in cols[:-1]:
            wins = sum(table[p][c] < table[p]["optuna"] for p in probs)
            print(
                f"{c}: mean regret ratio vs optuna = {means[c] / means['optuna']:.3f}, "
                f"better on {wins}/{len(probs)} problems"
            )
    print("seconds:", {k: round(v, 1) for k, v in timing.items()})


if __name__ == "__main__":
    main()
