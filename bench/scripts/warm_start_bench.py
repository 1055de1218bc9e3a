"""Warm start measured: a study started from earlier, related studies against the same study
started cold, and against a deliberately misleading source (issue 18).

Task families (each target study runs ``--trials`` trials; each source study ``--trials``
trials of the same sampler on its own instance, seeded apart from the target):

* ``synthetic``: BBOB-like functions on [-5, 5]^4 with shifted optima. Per seed, the target's
  optimum ``o`` is drawn in [1, 4]^4 and the related source's is ``o`` plus N(0, 0.5) noise
  per coordinate (an ill-conditioned ellipsoid, a shifted Ackley, a shifted Rosenbrock).
* ``sklearn``: an RBF SVM (C, gamma, tol; 3-fold CV error) on breast cancer, warm-started
  from the same model tuned on wine (``svm-breast<wine``), or on wine and iris.
* ``misleading``: the source's optimum at the opposite corner (``-o``; ellipsoid, Ackley),
  or the wine source with its values negated (its worst configurations claimed best).

Reported per task, paired over seeds (the cold and warm targets share the sampler seed):
the trial at which the cold study first reached its 50-trial best, the trial at which the warm
study reached it (budget + 1 when it never did), their ratio of medians (how many times fewer
trials warm needs),
and regret at 10, 25 and 50 trials (synthetic: against the known optimum 0; SVM: against
the best value any run of that task found), with the warm/cold ratio of mean regret and a
bootstrap 90% interval over seeds.

Run from the repository root (about 15 minutes on 2 cores):
``python bench/scripts/warm_start_bench.py --seeds 10 --jobs 2``
(``--sampler tpe`` for TPE instead of the default sampler).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

import honed
from honed import Float
from honed_bench.problems.sklearn_models import cv_loss

DIM = 4
CHECKPOINTS = (10, 25, 50)


# ---- objectives ----------------------------------------------------------------------------


def _ellipsoid(z: np.ndarray) -> float:
    w = 10.0 ** (2.0 * np.arange(len(z)) / (len(z) - 1))
    return float(np.sum(w * z**2))


def _ackley(z: np.ndarray) -> float:
    d = len(z)
    return float(
        -20 * math.exp(-0.2 * math.sqrt(np.sum(z**2) / d))
        - math.exp(np.sum(np.cos(2 * math.pi * z)) / d)
        + 20
        + math.e
    )


def _rosenbrock(z: np.ndarray) -> float:
    x = z + 1.0  # optimum of the classic form at 1, moved to 0
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


SYNTH: dict[str, Callable[[np.ndarray], float]] = {
    "ellipsoid": _ellipsoid,
    "ackley": _ackley,
    "rosenbrock": _rosenbrock,
}

SYNTH_SPACE = {f"x{i}": Float(-5.0, 5.0) for i in range(DIM)}
SVM_SPACE = {
    "C": Float(1e-2, 1e3, log=True),
    "gamma": Float(1e-4, 1.0, log=True),
    "tol": Float(1e-5, 1e-1, log=True),
}


def _synthetic(fn: str, optimum: np.ndarray, sign: float = 1.0) -> Callable[[Any], float]:
    f = SYNTH[fn]

    def objective(trial: Any) -> float:
        x = np.array([trial.params[f"x{i}"] for i in range(DIM)])
        return sign * f(x - optimum)

    return objective


def _svm(dataset: str, sign: float = 1.0) -> Callable[[Any], float]:
    def objective(trial: Any) -> float:
        return sign * cv_loss("svm", dataset, dict(trial.params))

    return objective


# ---- tasks ---------------------------------------------------------------------------------


def _task(name: str, seed: int) -> tuple[str, Callable, dict, list[Callable]]:
    """(target key, target objective, space, source objectives) of task ``name``."""
    rng = np.random.default_rng([seed, 18])
    o = rng.uniform(1.0, 4.0, DIM)
    near = np.clip(o + rng.normal(0.0, 0.5, DIM), -5, 5)
    family, _, fn = name.partition(":")
    if family in ("related", "misleading") and fn in SYNTH:
        src = near if family == "related" else -o
        return f"{fn}", _synthetic(fn, o), SYNTH_SPACE, [_synthetic(fn, src)]
    if name == "related:svm-breast<wine":
        return "svm-breast", _svm("breast"), SVM_SPACE, [_svm("wine")]
    if name == "related:svm-breast<wine+iris":
        return "svm-breast", _svm("breast"), SVM_SPACE, [_svm("wine"), _svm("iris")]
    if name == "misleading:svm-breast<-wine":
        return "svm-breast", _svm("breast"), SVM_SPACE, [_svm("wine", sign=-1.0)]
    raise ValueError(f"unknown task {name!r}")


TASKS = [
    "related:ellipsoid",
    "related:ackley",
    "related:rosenbrock",
    "related:svm-breast<wine",
    "related:svm-breast<wine+iris",
    "misleading:ellipsoid",
    "misleading:ackley",
    "misleading:svm-breast<-wine",
]


def _sampler(kind: str, seed: int) -> Any:
    return None if kind == "auto" else honed.samplers.get_sampler(kind, seed=seed)


def _run(
    objective: Callable, space: dict, n: int, seed: int, kind: str, warm: Any = None
) -> list[float]:
    study = honed.create_study(sampler=_sampler(kind, seed), seed=seed, warm_start=warm)
    study.optimize(objective, n_trials=n, space=space, show_progress=False)
    return [t.value for t in study.trials]  # type: ignore[misc]


def one(task: str, seed: int, n: int, kind: str) -> dict[str, Any]:
    """Cold and warm traces of one task and seed."""
    logging.getLogger("honed").setLevel(logging.WARNING)
    target, objective, space, sources = _task(task, seed)
    t0 = time.process_time()
    studies = []
    for i, src in enumerate(sources):
        s = honed.create_study(
            sampler=_sampler(kind, 1000 + 7 * seed + i), seed=1000 + 7 * seed + i
        )
        s.optimize(src, n_trials=n, space=space, show_progress=False)
        studies.append(s)
    cold = _run(objective, space, n, seed, kind)
    warm = _run(objective, space, n, seed, kind, warm=studies)
    return {
        "task": task,
        "target": target,
        "seed": seed,
        "cold": cold,
        "warm": warm,
        "cpu_s": time.process_time() - t0,
    }


# ---- scoring -------------------------------------------------------------------------------


def _boot_ratio(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """90% bootstrap interval over seeds of mean(a) / mean(b)."""
    idx = rng.integers(0, len(a), (2000, len(a)))
    ratios = a[idx].mean(axis=1) / np.maximum(b[idx].mean(axis=1), 1e-300)
    return float(np.quantile(ratios, 0.05)), float(np.quantile(ratios, 0.95))


def score(rows: list[dict[str, Any]], n: int) -> str:
    by_task: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_task.setdefault(r["task"], []).append(r)
    # Reference of each target: 0 for synthetic functions, else the best value seen anywhere.
    ref: dict[str, float] = {}
    for r in rows:
        best = min(min(r["cold"]), min(r["warm"]))
        ref[r["target"]] = 0.0 if r["target"] in SYNTH else min(ref.get(r["target"], best), best)
    rng = np.random.default_rng(0)
    out = [
        "| task | seeds | cold reaches its 50-trial best at (median) | warm reaches it at "
        "(median) | warm reached it | fewer trials (cold / warm medians) | mean regret "
        "cold -> warm at 10 | at 25 | at 50 | ratio warm/cold at 50 [90% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task in TASKS:
        rs = by_task.get(task)
        if not rs:
            continue
        t_cold, t_warm, reached = [], [], 0
        regrets: dict[int, tuple[list[float], list[float]]] = {k: ([], []) for k in CHECKPOINTS}
        for r in rs:
            cold = np.minimum.accumulate(r["cold"])
            warm = np.minimum.accumulate(r["warm"])
            target = cold[n - 1]
            t_cold.append(int(np.argmax(cold <= target)) + 1)
            hit = np.flatnonzero(warm <= target)
            t_warm.append(int(hit[0]) + 1 if len(hit) else n + 1)
            reached += bool(len(hit))
            for k in CHECKPOINTS:
                regrets[k][0].append(cold[k - 1] - ref[r["target"]])
                regrets[k][1].append(warm[k - 1] - ref[r["target"]])
        cells = []
        for k in CHECKPOINTS:
            c, w = np.array(regrets[k][0]), np.array(regrets[k][1])
            cells.append(f"{c.mean():.3g} -> {w.mean():.3g}")
        c, w = np.array(regrets[CHECKPOINTS[-1]][0]), np.array(regrets[CHECKPOINTS[-1]][1])
        if c.mean() > 1e-12:
            lo, hi = _boot_ratio(w, c, rng)
            cells.append(f"{w.mean() / c.mean():.2f} [{lo:.2f}, {hi:.2f}]")
        else:
            cells.append("both at the best value")
        med_cold, med_warm = float(np.median(t_cold)), float(np.median(t_warm))
        out.append(
            f"| {task} | {len(rs)} | {med_cold:.0f} | {med_warm:.0f} | "
            f"{reached}/{len(rs)} | {med_cold / med_warm:.1f}x | " + " | ".join(cells) + " |"
        )
    return "\n".join(out)


def time_add_trials(n: int, folder: Path) -> str:
    """Seconds to import ``n`` finished trials into a SQLite study: ``add_trials`` (one
    transaction) against telling them one by one (ask + tell, two transactions each)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = honed.create_study(sampler="random", seed=0)
    source.optimize(
        lambda t: t.params["x0"] ** 2, n_trials=n, space=SYNTH_SPACE, show_progress=False
    )
    trials = source.trials
    lines = []
    for how in ("add_trials", "ask/tell"):
        db = folder / f"import-{how.replace('/', '-')}-{n}.db"
        db.unlink(missing_ok=True)
        study = honed.create_study("import", db)
        t0 = time.perf_counter()
        if how == "add_trials":
            study.add_trials(trials)
        else:
            for t in trials:
                live = study.ask()
                for name, dist in t.distributions.items():
                    live.suggest(name, dist)
                study.tell(live, t.values)
        lines.append(f"{how}: {n} trials in {time.perf_counter() - t0:.2f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sampler", default="auto", help="auto (the default sampler), tpe, gp")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--out", type=Path, default=Path("warm-start-runs.jsonl"))
    parser.add_argument(
        "--time-add-trials", type=int, default=0, help="only time importing this many trials"
    )
    args = parser.parse_args()
    if args.time_add_trials:
        print(time_add_trials(args.time_add_trials, args.out.parent / "warm-start-import"))
        return
    tasks = args.tasks.split(",")
    done: list[dict[str, Any]] = []
    if args.out.exists():
        done = [json.loads(line) for line in args.out.read_text().splitlines() if line]
    have = {(r["task"], r["seed"]) for r in done}
    todo = [(t, s) for s in range(args.seeds) for t in tasks if (t, s) not in have]
    with ProcessPoolExecutor(args.jobs) as pool, args.out.open("a") as f:
        futures = [pool.submit(one, t, s, args.trials, args.sampler) for t, s in todo]
        for fut in futures:
            row = fut.result()
            f.write(json.dumps(row) + "\n")
            f.flush()
            done.append(row)
            print(
                f"{row['task']} seed {row['seed']}: cold {min(row['cold']):.4g} warm "
                f"{min(row['warm']):.4g} ({row['cpu_s']:.0f} s CPU)",
                flush=True,
            )
    print(f"\nsampler: {args.sampler}, {args.trials} trials\n")
    print(score([r for r in done if r["task"] in tasks and r["seed"] < args.seeds], args.trials))


if __name__ == "__main__":
    main()
