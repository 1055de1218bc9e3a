"""Conditional (tree-shaped) spaces: a choice of family, each with its own parameters, written
with ``honed.Choice`` branches. One synthetic function with a known optimum and one
scikit-learn model-family selection."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from honed.space import Choice, Float, Int
from honed_bench.problems.base import Problem
from honed_bench.problems.sklearn_models import EVAL_VERSION
from honed_bench.problems.synthetic import levy, rosenbrock

__all__ = ["PROBLEMS", "conditional_synthetic"]


def conditional_synthetic(params: Mapping[str, Any]) -> float:
    """Three families with different optima; the global optimum 0 is in ``levy`` with
    ``levy_k == 2``. ``rosen`` bottoms out at 0.5 and ``sphere`` at 1.0, so a sampler that
    commits to the wrong branch early pays for it."""
    family = params["family"]
    if family == "rosen":
        x = np.array([params["rosen_x0"], params["rosen_x1"]])
        return 0.5 + 0.1 * rosenbrock(x)
    if family == "levy":
        x = np.array([params[f"levy_x{i}"] for i in range(3)])
        return levy(x) + 0.2 * abs(int(params["levy_k"]) - 2)
    if family == "sphere":
        lr = float(params["sphere_lr"])
        act = 0.0 if params["sphere_act"] == "tanh" else 0.3
        return 1.0 + (math.log10(lr) + 2.0) ** 2 + act + (float(params["sphere_w"]) - 0.3) ** 2
    raise ValueError(f"unknown family {family!r}")


_SYNTHETIC_SPACE = {
    "family": Choice(
        {
            "rosen": {"rosen_x0": Float(-2.0, 2.0), "rosen_x1": Float(-2.0, 2.0)},
            "levy": {
                "levy_x0": Float(-10.0, 10.0),
                "levy_x1": Float(-10.0, 10.0),
                "levy_x2": Float(-10.0, 10.0),
                "levy_k": Int(0, 4),
            },
            "sphere": {
                "sphere_lr": Float(1e-4, 1.0, log=True),
                "sphere_act": Choice(["relu", "tanh"]),
                "sphere_w": Float(0.0, 1.0),
            },
        }
    )
}


def sklearn_family_loss(dataset: str, params: Mapping[str, Any]) -> float:
    """Cross-validated loss of the chosen family with its (prefix-stripped) parameters."""
    from honed_bench.problems.sklearn_models import cv_loss

    family = str(params["model"])
    prefix = family + "_"
    own = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
    return cv_loss(family, dataset, own)


def _sklearn_space() -> dict[str, Any]:
    from honed_bench.problems.sklearn_models import model_space

    branches = {}
    for family in ("svm", "knn", "dt", "linear"):
        sub = model_space(family, "classification")
        branches[family] = {f"{family}_{k}": d for k, d in sub.items()}
    return {"model": Choice(branches)}


def _build() -> list[Problem]:
    out = [
        Problem(
            name="conditional-synthetic",
            suite="conditional",
            space=_SYNTHETIC_SPACE,
            evaluate=conditional_synthetic,
            optimum=0.0,
            tags={"families": 3},
        )
    ]
    for dataset in ("digits", "breast"):
        out.append(
            Problem(
                name=f"conditional-sklearn-{dataset}",
                suite="conditional",
                space=_sklearn_space(),
                evaluate=partial(sklearn_family_loss, dataset),
                optimum=None,
                tags={"families": 4, "dataset": dataset, "version": EVAL_VERSION},
            )
        )
    return out


PROBLEMS: list[Problem] = _build()
