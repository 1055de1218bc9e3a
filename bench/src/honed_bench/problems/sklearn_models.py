"""scikit-learn models tuned on data sets that ship with scikit-learn, scored by 3-fold
cross-validation, after Bayesmark.

Spaces follow Bayesmark's where sensible; the differences are deliberate, for speed on a small
machine (each evaluation should take well under ~100 ms on one core):

* Bayesmark warps some parameters with a logit scale; honed has no logit scale, so they are
  linear here.
* Iteration and ensemble-size caps are low (``max_iter``; AdaBoost 5-15 estimators instead of
  10-100; MLP hidden units 16-128 and batches of 32-256 instead of 50-200 and 10-250), digits is
  subsampled to 600 rows (stratified, fixed seed), and every model runs with ``n_jobs=1``.
* Features (and regression targets) are standardized once per data set, so the SVM ``gamma``
  range is widened to ``[1e-4, 1]`` (Bayesmark's ``[1e-4, 1e-3]`` fits unscaled pixel values).

Losses (minimized): classification error ``1 - accuracy``; regression ``1 - R^2`` clipped to
``[.., 2]`` so that a diverging model (SGD with a huge step) scores "much worse than the mean"
instead of an astronomically large number. Everything is deterministic given params (fixed
``random_state`` for the folds and the models).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import cache, partial
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Float, Int
from honed_bench.problems.base import Problem

__all__ = [
    "CLASSIFICATION",
    "DATASETS",
    "MODELS",
    "PROBLEMS",
    "REGRESSION",
    "cv_estimator_loss",
    "cv_loss",
    "cv_metric_loss",
    "load_dataset",
]

CLASSIFICATION = ("digits", "breast", "wine", "iris")
REGRESSION = ("diabetes",)
DATASETS = CLASSIFICATION + REGRESSION
_N_DIGITS = 600
_FOLDS = 3
_REG_LOSS_CAP = 2.0
# Bump when an evaluation changes meaning (caps, data handling): it is part of each problem's
# fingerprint, so cached references and resumed runs of the old definition are not reused.
EVAL_VERSION = 2


@cache
def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Standardized features and targets of a bundled data set, cached per process."""
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "breast": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
        "diabetes": datasets.load_diabetes,
    }
    if name not in loaders:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(loaders)}.")
    x, y = loaders[name](return_X_y=True)
    if name == "digits":
        from sklearn.model_selection import train_test_split

        x, _, y, _ = train_test_split(x, y, train_size=_N_DIGITS, stratify=y, random_state=0)
    x = np.asarray(x, dtype=float)
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    if name in REGRESSION:
        y = (y - y.mean()) / y.std()
    return x, np.asarray(y)


# ---- spaces ---------------------------------------------------------------------------------

_TREE: dict[str, Distribution] = {
    "max_depth": Int(1, 15),
    "max_features": Float(0.01, 0.99),
    "min_samples_split": Float(0.01, 0.99),
    "min_samples_leaf": Float(0.01, 0.49),
    "min_weight_fraction_leaf": Float(0.01, 0.49),
    "min_impurity_decrease": Float(0.0, 0.5),
}

SPACES: dict[str, dict[str, Distribution]] = {
    "dt": dict(_TREE),
    "rf": dict(_TREE),
    "mlp": {
        "hidden_layer_sizes": Int(16, 128),
        "alpha": Float(1e-5, 1e1, log=True),
        "batch_size": Int(32, 256),
        "learning_rate_init": Float(1e-5, 1e-1, log=True),
        "tol": Float(1e-5, 1e-1, log=True),
        "validation_fraction": Float(0.1, 0.9),
        "beta_1": Float(0.5, 0.99),
        "beta_2": Float(0.9, 1.0 - 1e-6),
        "epsilon": Float(1e-9, 1e-6, log=True),
    },
    "svm": {
        "C": Float(1.0, 1e3, log=True),
        "gamma": Float(1e-4, 1.0, log=True),
        "tol": Float(1e-5, 1e-1, log=True),
    },
    "knn": {"n_neighbors": Int(1, 25), "p": Int(1, 4)},
    "ada": {"n_estimators": Int(5, 15), "learning_rate": Float(1e-4, 1e1, log=True)},
    # LogisticRegression for classification, Lasso for regression: see _linear_space.
    "linear": {},
    "sgd": {
        "alpha": Float(1e-5, 1e2, log=True),
        "average": Choice([False, True]),
        "l1_ratio": Float(1e-4, 1.0),
        "eta0": Float(1e-5, 1e1, log=True),
        "power_t": Float(0.1, 0.9),
    },
}
MODELS = tuple(SPACES)


def _linear_space(task: str) -> dict[str, Distribution]:
    if task == "classification":
        return {"C": Float(1e-2, 1e2, log=True), "intercept_scaling": Float(1e-2, 1e2, log=True)}
    return {
        "alpha": Float(1e-2, 1e2, log=True),
        "fit_intercept": Choice([True, False]),
        "tol": Float(1e-5, 1e-1, log=True),
    }


def model_space(model: str, task: str) -> dict[str, Distribution]:
    if model not in SPACES:
        raise ValueError(f"unknown model {model!r}; choose one of {list(SPACES)}.")
    return _linear_space(task) if model == "linear" else dict(SPACES[model])


# ---- estimators -----------------------------------------------------------------------------


def build_estimator(model: str, task: str, params: Mapping[str, Any]) -> Any:
    """A scikit-learn estimator for ``model`` with ``params`` (and the fixed speed caps)."""
    p = dict(params)
    clf = task == "classification"
    if model == "dt":
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        cls = DecisionTreeClassifier if clf else DecisionTreeRegressor
        return cls(random_state=0, **p)
    if model == "rf":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if clf else RandomForestRegressor
        return cls(n_estimators=10, n_jobs=1, random_state=0, **p)
    if model == "mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPClassifier if clf else MLPRegressor
        p["hidden_layer_sizes"] = (int(p["hidden_layer_sizes"]),)
        return cls(solver="adam", early_stopping=True, max_iter=8, random_state=0, **p)
    if model == "svm":
        from sklearn.svm import SVC, SVR

        return SVC(kernel="rbf", **p) if clf else SVR(kernel="rbf", **p)
    if model == "knn":
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsClassifier if clf else KNeighborsRegressor
        return cls(n_jobs=1, **p)
    if model == "ada":
        from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor

        cls = AdaBoostClassifier if clf else AdaBoostRegressor
        return cls(random_state=0, **p)
    if model == "linear":
        if clf:
            from sklearn.linear_model import LogisticRegression
            from sklearn.multiclass import OneVsRestClassifier

            # liblinear (Bayesmark's solver, the one that uses intercept_scaling) is binary.
            return OneVsRestClassifier(LogisticRegression(solver="liblinear", max_iter=50, **p))
        from sklearn.linear_model import Lasso

        return Lasso(max_iter=200, random_state=0, **p)
    if model == "sgd":
        from sklearn.linear_model import SGDClassifier, SGDRegressor

        cls = SGDClassifier if clf else SGDRegressor
        return cls(
            penalty="elasticnet",
            learning_rate="invscaling",
            max_iter=20,
            tol=None,
            random_state=0,
            **p,
        )
    raise ValueError(f"unknown model {model!r}; choose one of {list(SPACES)}.")


# the scorer behind each metric; every loss is "lower is better"
_SCORERS = {
    "error": "accuracy",
    "balanced_error": "balanced_accuracy",
    "logloss": "neg_log_loss",
    "r2": "r2",
    "mae": "neg_mean_absolute_error",
}


def cv_metric_loss(
    model: str, dataset: str, metric: str, params: Mapping[str, Any], shuffle: int = 0
) -> float:
    """3-fold cross-validated ``metric`` of ``model`` on ``dataset`` as a loss (see
    :func:`cv_estimator_loss`). ``shuffle`` seeds the folds."""
    task = "classification" if dataset in CLASSIFICATION else "regression"
    return cv_estimator_loss(build_estimator(model, task, params), dataset, metric, shuffle)


def cv_estimator_loss(estimator: Any, dataset: str, metric: str, shuffle: int = 0) -> float:
    """3-fold cross-validated ``metric`` of ``estimator`` on ``dataset`` as a loss: ``error``
    and ``balanced_error`` are 1 - accuracy, ``r2`` is 1 - R^2 capped at 2, ``logloss`` and
    ``mae`` are capped at 5 and 2 (a diverging model is "very bad", not astronomically bad;
    standardized targets: the MAE of the mean is about 0.8). ``shuffle`` seeds the folds."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    x, y = load_dataset(dataset)
    clf = dataset in CLASSIFICATION
    cv = (StratifiedKFold if clf else KFold)(n_splits=_FOLDS, shuffle=True, random_state=shuffle)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Convergence and overflow warnings are expected for bad configurations; the score
        # says how bad they are.
        warnings.simplefilter("ignore")
        scores = cross_val_score(
            estimator, x, y, cv=cv, scoring=_SCORERS[metric], error_score=np.nan
        )
    score = float(np.mean(scores))
    if metric in ("error", "balanced_error"):
        return 1.0 - score if np.isfinite(score) else 1.0
    if metric == "r2":
        return min(1.0 - score, _REG_LOSS_CAP) if np.isfinite(score) else _REG_LOSS_CAP
    cap = 5.0 if metric == "logloss" else _REG_LOSS_CAP
    return min(-score, cap) if np.isfinite(score) else cap


def cv_loss(model: str, dataset: str, params: Mapping[str, Any]) -> float:
    """3-fold cross-validated loss of ``model`` on ``dataset`` (lower is better): error for
    classification, 1 - R^2 for regression."""
    metric = "error" if dataset in CLASSIFICATION else "r2"
    return cv_metric_loss(model, dataset, metric, params)


def _problem(model: str, dataset: str) -> Problem:
    task = "classification" if dataset in CLASSIFICATION else "regression"
    return Problem(
        name=f"sklearn-{model}-{dataset}",
        suite="sklearn",
        space=model_space(model, task),
        evaluate=partial(cv_loss, model, dataset),
        optimum=None,
        tags={"model": model, "dataset": dataset, "task": task, "version": EVAL_VERSION},
    )


PROBLEMS: list[Problem] = [_problem(m, d) for m in MODELS for d in DATASETS]
