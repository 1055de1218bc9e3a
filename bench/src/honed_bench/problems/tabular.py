"""Tabular problems: every configuration of a small grid of scikit-learn settings was trained
once (3-fold cross-validation on a bundled data set) and the losses ship as a table, so a
trial is a lookup, as in the tabular benchmarks of real training runs (HPOBench, LCBench,
FCNet) that practitioners and papers compare optimizers on.

Why a family of its own: every parameter takes a few values only, and most are ordinal
numbers (learning rates, depths, regularization strengths) next to a few true categories.
Half the tables present their numeric axes as ``Choice`` of the grid's values (as such a
benchmark is usually handed to an optimizer: a mostly-categorical space), the other half as
an integer index along the axis (an ordinal presentation). The optimum is exact: the least
loss in the table.

The tables are built by ``python bench/scripts/tabular_build.py`` (minutes on 2 cores) into
``problems/tabular_data/`` and checked in; ``bench/tests/test_tabular.py`` re-trains a few
cells and checks them against the table.
"""

from __future__ import annotations

import gzip
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Int
from honed_bench.problems.base import Problem

__all__ = ["TABLES", "Table", "cell_loss", "lookup", "table_losses", "tabular_problems"]

DATA_DIR = Path(__file__).resolve().parent / "tabular_data"
# Bump when a table's meaning changes (part of every problem's fingerprint).
EVAL_VERSION = 1


@dataclass(frozen=True)
class Table:
    """One grid: ``axes`` (name -> values), the model, data set and metric it was trained with,
    which axes are numeric (ordinal), and how the problem presents them."""

    name: str
    model: str
    dataset: str
    metric: str
    axes: Mapping[str, Sequence[Any]]
    ordinal: tuple[str, ...]
    presentation: str  # "choice": every axis a Choice; "ordinal": numeric axes as Int index

    def space(self) -> dict[str, Distribution]:
        out: dict[str, Distribution] = {}
        for axis, values in self.axes.items():
            if self.presentation == "ordinal" and axis in self.ordinal:
                out[axis] = Int(0, len(values) - 1)
            else:
                out[axis] = Choice(list(values))
        return out

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    @property
    def path(self) -> Path:
        return DATA_DIR / f"{self.name}.txt.gz"


_NONE = "none"  # grid values that mean "no limit" are strings, so every adapter can pass them

TABLES: tuple[Table, ...] = (
    Table(
        "hgb-breast-logloss",
        "hgb",
        "breast",
        "logloss",
        {
            "learning_rate": [0.01, 0.03, 0.1, 0.3, 1.0],
            "max_depth": [2, 3, 5, _NONE],
            "min_samples_leaf": [1, 5, 20, 50],
            "l2_regularization": [0.0, 0.1, 1.0, 10.0],
            "max_bins": [32, 255],
        },
        ("learning_rate", "max_depth", "min_samples_leaf", "l2_regularization", "max_bins"),
        "choice",
    ),
    Table(
        "dt-digits-error",
        "dt",
        "digits",
        "error",
        {
            "criterion": ["gini", "entropy", "log_loss"],
            "max_depth": [2, 4, 6, 8, 12, _NONE],
            "min_samples_leaf": [1, 2, 4, 8, 16],
            "max_features": ["sqrt", "log2", 0.5, 1.0],
            "splitter": ["best", "random"],
        },
        ("max_depth", "min_samples_leaf"),
        "ordinal",
    ),
    Table(
        "knn-wine-logloss",
        "knn",
        "wine",
        "logloss",
        {
            "k_features": [2, 4, 8, 13],
            "n_neighbors": [1, 2, 3, 5, 8, 12, 20, 30],
            "weights": ["uniform", "distance"],
            "p": [1, 2, 3],
        },
        ("k_features", "n_neighbors", "p"),
        "choice",
    ),
    Table(
        "svm-breast-balanced_error",
        "svm",
        "breast",
        "balanced_error",
        {
            "C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0],
            "gamma": [1e-4, 1e-3, 1e-2, 0.1, 1.0, "scale"],
            "kernel": ["rbf", "poly", "sigmoid", "linear"],
            "class_weight": [_NONE, "balanced"],
        },
        ("C",),
        "ordinal",
    ),
    Table(
        "mlp-iris-logloss",
        "mlp",
        "iris",
        "logloss",
        {
            "hidden_layer_sizes": [4, 8, 16, 32, 64],
            "activation": ["relu", "tanh", "logistic"],
            "alpha": [1e-5, 1e-3, 1e-1, 1.0],
            "learning_rate_init": [1e-3, 1e-2, 1e-1],
            "batch_size": [16, 64],
        },
        ("hidden_layer_sizes", "alpha", "learning_rate_init", "batch_size"),
        "choice",
    ),
    Table(
        "rf-diabetes-mae",
        "rf",
        "diabetes",
        "mae",
        {
            "n_estimators": [10, 30],
            "max_depth": [2, 4, 8, _NONE],
            "max_features": [0.2, 0.5, 1.0, "sqrt"],
            "min_samples_leaf": [1, 3, 10, 30],
            "bootstrap": [True, False],
        },
        ("n_estimators", "max_depth", "min_samples_leaf"),
        "ordinal",
    ),
    Table(
        "sgd-digits-error",
        "sgd",
        "digits",
        "error",
        {
            "loss": ["hinge", "log_loss", "modified_huber", "perceptron"],
            "penalty": ["l2", "l1", "elasticnet"],
            "alpha": [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
            "learning_rate": ["optimal", "invscaling", "adaptive", "constant"],
            "eta0": [0.001, 0.01, 0.1, 1.0],
        },
        ("alpha", "eta0"),
        "choice",
    ),
    Table(
        "gb-wine-balanced_error",
        "gb",
        "wine",
        "balanced_error",
        {
            "n_estimators": [20, 50],
            "learning_rate": [0.03, 0.1, 0.3, 1.0],
            "max_depth": [1, 2, 3, 5],
            "subsample": [0.5, 0.8, 1.0],
            "max_features": ["sqrt", _NONE],
        },
        ("n_estimators", "learning_rate", "max_depth", "subsample"),
        "ordinal",
    ),
)


def _value(v: Any) -> Any:
    return None if v == _NONE else v


def build_estimator(table: Table, params: Mapping[str, Any]) -> Any:
    """The estimator of one grid cell (``params``: axis -> grid value)."""
    p = {k: _value(v) for k, v in params.items()}
    model = table.model
    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=40, early_stopping=False, random_state=0, **p
        )
    if model == "dt":
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(random_state=0, **p)
    if model == "knn":
        from sklearn.feature_selection import SelectKBest, f_classif
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import make_pipeline

        k = p.pop("k_features")
        return make_pipeline(SelectKBest(f_classif, k=k), KNeighborsClassifier(**p))
    if model == "svm":
        from sklearn.svm import SVC

        # probability is off: balanced error needs labels only
        return SVC(max_iter=20_000, **p)
    if model == "mlp":
        from sklearn.neural_network import MLPClassifier

        p["hidden_layer_sizes"] = (p["hidden_layer_sizes"],)
        return MLPClassifier(max_iter=50, random_state=0, **p)
    if model == "rf":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(random_state=0, n_jobs=1, **p)
    if model == "sgd":
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(max_iter=30, tol=None, random_state=0, **p)
    if model == "gb":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(random_state=0, **p)
    raise ValueError(f"unknown tabular model {model!r}")


def cell_loss(table: Table, params: Mapping[str, Any]) -> float:
    """Train one grid cell (``params``: axis -> grid value): its 3-fold cross-validated loss."""
    from honed_bench.problems.sklearn_models import cv_estimator_loss

    return cv_estimator_loss(build_estimator(table, params), table.dataset, table.metric)


def cells(table: Table) -> list[dict[str, Any]]:
    """Every configuration of the grid, in row-major order (the order of the stored table)."""
    names = list(table.axes)
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*table.axes.values())
    ]


@cache
def table_losses(name: str) -> np.ndarray:
    """The stored losses of table ``name``, shaped as its grid."""
    table = _BY_NAME[name]
    with gzip.open(table.path, "rt") as f:
        values = np.array([float(line) for line in f if line.strip()])
    if values.size != math.prod(table.shape):
        raise ValueError(
            f"table {table.path} holds {values.size} losses for a grid of {table.shape}; "
            "rebuild it with bench/scripts/tabular_build.py."
        )
    return values.reshape(table.shape)


def lookup(name: str, params: Mapping[str, Any]) -> float:
    """The stored loss of the cell ``params`` (grid values, or indices on ordinal axes)."""
    table = _BY_NAME[name]
    index = []
    for axis, values in table.axes.items():
        v = params[axis]
        if table.presentation == "ordinal" and axis in table.ordinal:
            index.append(int(v))
        else:
            index.append(list(values).index(v))
    return float(table_losses(name)[tuple(index)])


_BY_NAME = {t.name: t for t in TABLES}


def tabular_problems(make: Any) -> list[Problem]:
    """The tabular problems, made by ``make(name, space, evaluate, optimum, **tags)``."""
    out = []
    for t in TABLES:
        if not t.path.exists():
            continue  # not built yet (bench/scripts/tabular_build.py)
        out.append(
            make(
                t.name,
                t.space(),
                partial(lookup, t.name),
                float(np.min(table_losses(t.name))),
                model=t.model,
                dataset=t.dataset,
                metric=t.metric,
                presentation=t.presentation,
                table_version=EVAL_VERSION,
            )
        )
    return out
