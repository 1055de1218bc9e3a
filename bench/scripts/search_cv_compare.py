"""HonedSearchCV against RandomizedSearchCV and Optuna's OptunaSearchCV, as a user calls them.

Five datasets bundled with scikit-learn (breast cancer, digits, iris and wine: accuracy;
diabetes: R^2) times three estimators (an RBF SVM, a decision tree, k-nearest neighbours; the
SVM and k-NN behind a StandardScaler), the same search space for every method (written as
``scipy.stats`` distributions and lists for scikit-learn and honed, as Optuna distributions for
Optuna), the same budget (``--n-trials`` settings), the same folds (``--cv`` shuffled folds
seeded by the run's seed) and the same scoring. Per seed each method's ``best_score_`` (mean CV
score of the best setting) and the wall time of ``fit`` (search plus refit) are recorded.

Methods: ``random`` (RandomizedSearchCV), ``optuna`` (OptunaSearchCV, its default TPE sampler
seeded with ``random_state``), ``honed`` (HonedSearchCV, its default sampler, seeded),
``honed+median`` (HonedSearchCV with ``MedianStopping(min_trials=3)`` between folds: a setting
whose running mean after a fold is below the median of finished ones stops there).

Run: ``nice -n 10 python bench/scripts/search_cv_compare.py --seeds 5 --n-trials 20 --cv 3``
(one process; ``OMP_NUM_THREADS=1`` is set so every method fits on one core).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from scipy.stats import loguniform, randint, uniform
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.model_selection import KFold, RandomizedSearchCV, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import honed
from honed.integrations import HonedSearchCV

DATASETS: dict[str, tuple[Callable[..., Any], bool]] = {
    "breast": (load_breast_cancer, True),
    "digits": (load_digits, True),
    "iris": (load_iris, True),
    "wine": (load_wine, True),
    "diabetes": (load_diabetes, False),
}
METHODS = ("random", "optuna", "honed", "honed+median")

# (kind, low, high) for numbers, ("choice", [options]) for lists; the step prefix of the
# pipeline is added per estimator.
SPACES: dict[str, dict[str, tuple[Any, ...]]] = {
    "svm": {"C": ("logfloat", 1e-2, 1e3), "gamma": ("logfloat", 1e-4, 1.0)},
    "tree": {
        "max_depth": ("int", 1, 20),
        "min_samples_leaf": ("int", 1, 30),
        "max_features": ("float", 0.1, 1.0),
    },
    "knn": {
        "n_neighbors": ("int", 1, 40),
        "weights": ("choice", ["uniform", "distance"]),
        "p": ("choice", [1, 2]),
    },
}


def estimator(name: str, classification: bool) -> tuple[Any, str]:
    """The estimator and the prefix of its parameters."""
    if name == "svm":
        return make_pipeline(StandardScaler(), SVC() if classification else SVR()), "svc__" if (
            classification
        ) else "svr__"
    if name == "knn":
        model = KNeighborsClassifier() if classification else KNeighborsRegressor()
        prefix = "kneighborsclassifier__" if classification else "kneighborsregressor__"
        return make_pipeline(StandardScaler(), model), prefix
    model = DecisionTreeClassifier if classification else DecisionTreeRegressor
    return model(random_state=0), ""


def scipy_space(spec: dict[str, tuple[Any, ...]], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (kind, *args) in spec.items():
        if kind == "logfloat":
            out[prefix + name] = loguniform(args[0], args[1])
        elif kind == "float":
            out[prefix + name] = uniform(args[0], args[1] - args[0])
        elif kind == "int":
            out[prefix + name] = randint(args[0], args[1] + 1)
        else:
            out[prefix + name] = list(args[0])
    return out


def optuna_space(spec: dict[str, tuple[Any, ...]], prefix: str) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, (kind, *args) in spec.items():
        if kind == "logfloat":
            out[prefix + name] = FloatDistribution(args[0], args[1], log=True)
        elif kind == "float":
            out[prefix + name] = FloatDistribution(args[0], args[1])
        elif kind == "int":
            out[prefix + name] = IntDistribution(args[0], args[1])
        else:
            out[prefix + name] = CategoricalDistribution(list(args[0]))
    return out


def run_one(
    method: str, dataset: str, est_name: str, seed: int, n_trials: int, n_folds: int
) -> tuple[float, float]:
    """(best CV score, seconds of fit) of one method on one cell and seed."""
    load, classification = DATASETS[dataset]
    x, y = load(return_X_y=True)
    model, prefix = estimator(est_name, classification)
    splitter = StratifiedKFold if classification else KFold
    cv = splitter(n_folds, shuffle=True, random_state=seed)
    scoring = "accuracy" if classification else "r2"
    spec = SPACES[est_name]
    if method == "random":
        search: Any = RandomizedSearchCV(
            model,
            scipy_space(spec, prefix),
            n_iter=n_trials,
            cv=cv,
            scoring=scoring,
            random_state=seed,
        )
    elif method == "optuna":
        from optuna_integration import OptunaSearchCV

        search = OptunaSearchCV(
            model,
            optuna_space(spec, prefix),
            n_trials=n_trials,
            cv=cv,
            scoring=scoring,
            random_state=seed,
            verbose=0,
        )
    else:
        scheduler = (
            honed.schedulers.MedianStopping(min_trials=3) if method.endswith("median") else None
        )
        search = HonedSearchCV(
            model,
            scipy_space(spec, prefix),
            n_trials=n_trials,
            cv=cv,
            scoring=scoring,
            random_state=seed,
            scheduler=scheduler,
        )
    start = time.perf_counter()
    search.fit(x, y)
    return float(search.best_score_), time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n-trials", type=int, default=20)
    ap.add_argument("--cv", type=int, default=3)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--estimators", default=",".join(SPACES))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--json", help="also write every run's (score, seconds) here")
    args = ap.parse_args()
    import logging

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("honed").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    methods = args.methods.split(",")
    runs: dict[str, dict[str, list[list[float]]]] = {}
    for dataset in args.datasets.split(","):
        for est_name in args.estimators.split(","):
            cell = f"{dataset}/{est_name}"
            runs[cell] = {m: [] for m in methods}
            for seed in range(args.seeds):
                for m in methods:
                    score, secs = run_one(m, dataset, est_name, seed, args.n_trials, args.cv)
                    runs[cell][m].append([score, secs])
            row = "  ".join(
                f"{m} {statistics.mean(r[0] for r in runs[cell][m]):.4f} "
                f"{statistics.mean(r[1] for r in runs[cell][m]):.2f}s"
                for m in methods
            )
            print(f"{cell:16s} {row}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs}, f)
    print_tables(runs, methods, args.seeds)


def print_tables(runs: dict[str, dict[str, list[list[float]]]], methods: list[str], seeds: int):
    print(f"\n| cell | {' | '.join(methods)} |")
    print("|---|" + "---|" * len(methods))
    wins = dict.fromkeys(methods, 0.0)
    for cell, by in runs.items():
        means = {m: statistics.mean(r[0] for r in by[m]) for m in methods}
        best = max(means.values())
        tied = [m for m in methods if means[m] == best]
        for m in tied:
            wins[m] += 1 / len(tied)
        cells = []
        for m in methods:
            sd = statistics.stdev(r[0] for r in by[m]) if seeds > 1 else 0.0
            mark = "**" if m in tied else ""
            cells.append(f"{mark}{means[m]:.4f}{mark} ± {sd:.4f}")
        print(f"| {cell} | {' | '.join(cells)} |")
    print(f"\nBest mean score (ties split): {', '.join(f'{m} {wins[m]:g}' for m in methods)}")
    # rank per (cell, seed): 1 = best score
    ranks = {m: [] for m in methods}
    for by in runs.values():
        for s in range(seeds):
            scores = sorted((-by[m][s][0], m) for m in methods)
            for m in methods:
                ranks[m].append(1 + sum(1 for v, _ in scores if v < -by[m][s][0]))
    print(
        "Mean rank over (cell, seed), 1 = best: "
        + ", ".join(f"{m} {statistics.mean(ranks[m]):.2f}" for m in methods)
    )
    print(f"\n| cell | {' | '.join(m + ' s' for m in methods)} |")
    print("|---|" + "---|" * len(methods))
    totals = dict.fromkeys(methods, 0.0)
    for cell, by in runs.items():
        secs = {m: statistics.mean(r[1] for r in by[m]) for m in methods}
        for m in methods:
            totals[m] += secs[m]
        print(f"| {cell} | {' | '.join(f'{secs[m]:.2f}' for m in methods)} |")
    print(f"| total | {' | '.join(f'{totals[m]:.1f}' for m in methods)} |")


if __name__ == "__main__":
    main()
