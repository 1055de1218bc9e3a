"""Categorical-heavy scikit-learn pipelines (``--suite categorical``): a held-out check for
rules about spaces where choices are most of the parameters.

The development suite's categorical-heavy problems are synthetic (``dev-intcat-bqp-*``,
``dev-intcat-chain-*``), and only that family has such spaces, so leave-one-family-out cannot
choose a rule that fires on them alone. These problems are real pipelines of another kind
(preprocessing, model options and discretized hyperparameters, as tabular HPO benchmarks
present them), kept apart from the development suite to check such a rule after it was
chosen there. 3-fold cross-validated error, deterministic given params.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from honed.space import Choice, Float
from honed_bench.problems.base import Problem

__all__ = ["PROBLEMS", "pipeline_error"]


def _scaler(name: str) -> Any:
    from sklearn import preprocessing

    return {
        "none": "passthrough",
        "standard": preprocessing.StandardScaler(),
        "minmax": preprocessing.MinMaxScaler(),
        "robust": preprocessing.RobustScaler(),
        "quantile": preprocessing.QuantileTransformer(n_quantiles=50),
    }[name]


def _estimator(model: str, p: Mapping[str, Any]) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    if model == "rf":
        return RandomForestClassifier(
            n_estimators=10,
            criterion=p["criterion"],
            max_features=p["max_features"],
            bootstrap=p["bootstrap"],
            class_weight=p["class_weight"],
            min_samples_leaf=p["min_samples_leaf"],
            max_depth=p["max_depth"],
            random_state=0,
            n_jobs=1,
        )
    if model == "logistic":
        return make_pipeline(
            _scaler(p["scaler"]),
            SelectKBest(f_classif, k=p["k_features"]),
            # liblinear (the solver with both penalties) is binary: one-vs-rest
            OneVsRestClassifier(
                LogisticRegression(
                    penalty=p["penalty"],
                    C=p["C"],
                    class_weight=p["class_weight"],
                    fit_intercept=p["fit_intercept"],
                    tol=p["tol"],
                    solver="liblinear",
                    max_iter=100,
                )
            ),
        )
    pca = "passthrough" if p["pca"] == 0 else PCA(n_components=p["pca"], random_state=0)
    return make_pipeline(
        _scaler(p["scaler"]),
        pca,
        KNeighborsClassifier(
            n_neighbors=p["n_neighbors"], weights=p["weights"], metric=p["metric"], n_jobs=1
        ),
    )


def pipeline_error(model: str, dataset: str, params: Mapping[str, Any]) -> float:
    """3-fold cross-validated error of the pipeline ``model`` on ``dataset``."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from honed_bench.problems.sklearn_models import load_dataset

    x, y = load_dataset(dataset)
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        scores = cross_val_score(_estimator(model, params), x, y, cv=cv, error_score=np.nan)
    score = float(np.mean(scores))
    return 1.0 - score if math.isfinite(score) else 1.0


_SPACES: dict[str, dict[str, Any]] = {
    "rf": {
        "criterion": Choice(["gini", "entropy", "log_loss"]),
        "max_features": Choice(["sqrt", "log2", 0.5, None]),
        "bootstrap": Choice([True, False]),
        "class_weight": Choice([None, "balanced", "balanced_subsample"]),
        "min_samples_leaf": Choice([1, 2, 4, 8, 16, 32]),
        "max_depth": Choice([None, 2, 3, 4, 6, 8]),
    },
    "logistic": {
        "scaler": Choice(["none", "standard", "minmax", "robust", "quantile"]),
        "k_features": Choice([2, 4, 6, 9, 13]),
        "penalty": Choice(["l1", "l2"]),
        "C": Choice([0.001, 0.01, 0.1, 1.0, 10.0, 100.0]),
        "class_weight": Choice([None, "balanced"]),
        "fit_intercept": Choice([True, False]),
        "tol": Float(1e-5, 1e-1, log=True),
    },
    "knn": {
        "scaler": Choice(["none", "standard", "minmax", "robust"]),
        "pca": Choice([0, 4, 8, 16, 32]),
        "n_neighbors": Choice([1, 2, 3, 5, 8, 13, 21]),
        "weights": Choice(["uniform", "distance"]),
        "metric": Choice(["euclidean", "manhattan", "chebyshev", "cosine"]),
    },
}


def _build() -> list[Problem]:
    out = []
    for model, dataset in (("rf", "breast"), ("logistic", "wine"), ("knn", "digits")):
        out.append(
            Problem(
                name=f"categorical-{model}-{dataset}",
                suite="categorical",
                space=_SPACES[model],
                evaluate=partial(pipeline_error, model, dataset),
                optimum=None,
                tags={"model": model, "dataset": dataset, "version": 1},
            )
        )
    return out


PROBLEMS: list[Problem] = _build()
