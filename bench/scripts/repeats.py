"""How often does a sampler propose a configuration it has already evaluated?

Two problems where repeats showed up (issue 20):

* ``sgd-pruning``: Optuna's most common pruning example. ``SGDClassifier`` on a bundled data
  set (wine by default; a new split and shuffle each trial, seeded by ``trial.seed``),
  ``alpha`` on a log scale, 100 epochs of ``partial_fit`` each reported, the median
  scheduler (``scheduler="median"``). Most trials are pruned; a sampler that learns from
  complete trials only sees a handful of points.
* ``fail-corner``: a 2-D quadratic whose optimum (0.9, 0.9) sits in a corner where the
  objective raises (``x > 0.75 and y > 0.75``): a sampler that ignores failed trials keeps
  proposing the failing point it believes best.

For each sampler and seed it counts how many times the most repeated configuration was
proposed (1 = no repeat), and prints per problem: the count for each seed, the number of
distinct configurations (mean), the best value (mean) and seconds per run.

    nice -n 10 python bench/scripts/repeats.py --seeds 5 --trials 40

``--noisy`` creates the studies with ``noisy=True``, which turns the study's guard against
repeats off: what the samplers themselves propose.
"""

from __future__ import annotations

import argparse
import collections
import logging
import statistics
import time
import warnings
from collections.abc import Callable

import honed

SAMPLERS = ["auto", "gp", "tpe", "cmaes", "random", "qmc", "nsga2"]


def _dataset(name: str) -> tuple:
    from sklearn import datasets

    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine}.get(name)
    loader = loader or {"breast": datasets.load_breast_cancer, "digits": datasets.load_digits}[name]
    return tuple(loader(return_X_y=True))


def sgd_pruning(trial: honed.Trial) -> float:
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    x, y = _DATA["data"]
    # As in Optuna's example: a new split and a new shuffle every trial (seeded here).
    train_x, valid_x, train_y, valid_y = train_test_split(
        x, y, test_size=0.25, random_state=trial.seed % 2**32
    )
    alpha = trial.float("alpha", 1e-5, 1e-1, log=True)
    clf = SGDClassifier(alpha=alpha, random_state=trial.seed % 2**32)
    classes = sorted(set(train_y))
    error = 1.0
    for step in range(100):
        clf.partial_fit(train_x, train_y, classes=classes)
        error = 1.0 - clf.score(valid_x, valid_y)
        trial.report(error, step)  # raises TrialPruned when the median scheduler says stop
    return error


def fail_corner(trial: honed.Trial) -> float:
    x = trial.float("x", 0.0, 1.0)
    y = trial.float("y", 0.0, 1.0)
    if x > 0.75 and y > 0.75:
        raise RuntimeError("this corner of the space crashes the objective")
    return (x - 0.9) ** 2 + (y - 0.9) ** 2


PROBLEMS: dict[str, tuple[Callable[[honed.Trial], float], str | None]] = {
    "sgd-pruning": (sgd_pruning, "median"),
    "fail-corner": (fail_corner, None),
}
_DATA: dict[str, tuple] = {}


def run(problem: str, sampler: str, seed: int, n_trials: int, noisy: bool) -> dict[str, float]:
    objective, scheduler = PROBLEMS[problem]
    extra = {"noisy": True} if noisy else {}  # (so the script also runs on older honed)
    # A fixed name: trial.seed (the split and shuffle of sgd-pruning) derives from it.
    name = f"{problem}-{sampler}-{seed}"
    study = honed.create_study(name, sampler=sampler, scheduler=scheduler, seed=seed, **extra)
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, show_progress=False)
    seconds = time.perf_counter() - start
    configs = collections.Counter(tuple(sorted(t.params.items())) for t in study.trials)
    complete = [t.value for t in study.trials if t.value is not None]
    return {
        "most": max(configs.values()),
        "distinct": len(configs),
        "best": min(complete) if complete else float("nan"),
        "seconds": seconds,
        "pruned": sum(t.state.name == "PRUNED" for t in study.trials),
        "failed": sum(t.state.name == "FAILED" for t in study.trials),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument(
        "--dataset", default="wine", help="of sgd-pruning: wine (default), iris, breast, digits"
    )
    parser.add_argument(
        "--noisy",
        action="store_true",
        help="create the studies with noisy=True (the guard against repeats off)",
    )
    args = parser.parse_args()
    logging.getLogger("honed").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    _DATA["data"] = _dataset(args.dataset)
    for problem in args.problems.split(","):
        print(f"\n{problem}, {args.trials} trials, seeds 0..{args.seeds - 1}\n")
        print(
            "| sampler | most repeated configuration, per seed | max | distinct (mean) "
            "| pruned / failed (mean) | best value (mean) | s per run |"
        )
        print("|---|---|---|---|---|---|---|")
        for sampler in args.samplers.split(","):
            rows = [run(problem, sampler, s, args.trials, args.noisy) for s in range(args.seeds)]
            most = [int(r["most"]) for r in rows]

            def mean(key: str, rows: list[dict[str, float]] = rows) -> float:
                return statistics.fmean(r[key] for r in rows)

            print(
                f"| {sampler} | {' '.join(map(str, most))} | {max(most)} | "
                f"{mean('distinct'):.1f} | {mean('pruned'):.1f} / {mean('failed'):.1f} | "
                f"{mean('best'):.4f} | {mean('seconds'):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
