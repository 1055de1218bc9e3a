"""The development suite (``honed-bench --suite dev``): 78 problems in 9 families that differ
in kind, for choosing the default sampler's rules by leave-one-family-out (issue 20).

None of these problems was used to choose any rule or constant of honed's samplers before the
suite existed (the older panel is the ``synthetic``, ``sklearn`` and ``conditional`` suites);
the scikit-learn problems reuse those suites' models and data sets with other metrics and
pairings. Each problem's ``tags`` carry its ``family`` and its trial ``budget``.

Families, and why each is there:

* ``sklearn`` (12): scikit-learn models of every kind the issue names (trees, boosting, SVM,
  kNN, linear, MLP, SGD) on every bundled data set, scored by 3-fold cross-validation with
  several metrics (error, balanced error, log-loss, 1 - R^2, mean absolute error). Real
  response surfaces: plateaus, steps, integer parameters, log scales.
* ``bbob`` (12): BBOB functions from COCO (``coco-experiment``) at 2-40 dimensions and several
  instances (shifted and rotated optima): ill-conditioning, multimodality, weak structure and
  dimensions where GP-BO is known to struggle.
* ``conditional`` (8): tree-shaped and mixed spaces: model selection with per-model
  parameters, optimiser choice with per-optimiser parameters, nested choices.
* ``intcat`` (8): integer- and categorical-heavy spaces: integer lattices, binary quadratic
  programs, categorical interaction tables, mixed integer/float/categorical functions.
* ``noisy`` (8): repeated evaluations disagree (additive, multiplicative and heavy-tailed noise,
  cross-validation on random folds); scored by the noiseless value of the configuration the
  optimizer observed as best.
* ``long`` (6): 200-trial budgets on harder functions, where a model that stalls shows it.
* ``failing`` (8): objectives that raise in a region of the space (often next to the
  optimum, as a diverging learning rate is next to the best one).
* ``tabular`` (8): lookup tables of real training runs (every cell of a small grid of
  scikit-learn settings, trained once; ``problems/tabular.py``), as in the tabular benchmarks
  optimizers are usually compared on: few values per parameter, ordinal numbers presented as
  choices in half of them. Added after the first leave-one-family-out round, where the rule
  for mostly-categorical spaces fired in one family only and could not be chosen.

Known bias: the Ackley- and Levy-based problems (and BBOB's f19) have their optimum at or near
the centre of the box, so an optimizer that starts from the centre gains there (Nevergrad's
NGOpt runs COBYLA from it at these budgets); BBOB's other functions have shifted optima.
* ``pruning`` (8): learning curves (SGD and MLP trained epoch by epoch on bundled data, and
  synthetic curves where fast configurations look good early but finish worse), on which the
  runner applies the median stopping rule to every optimizer alike: most trials are stopped,
  and the optimizer is told so with the curve so far (honed and Optuna as pruned trials,
  the others as the last value, as their users would have to). Scored on completed trials.
  It checks what issue 20 found broken: a sampler that repeats or circles configurations the
  rule keeps stopping.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from functools import cache, partial
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Float, Int
from honed_bench.problems.base import Problem
from honed_bench.problems.synthetic import ackley, branin, hartmann6, levy, rosenbrock

__all__ = ["BBOB_OPTIMA", "FAMILIES", "PROBLEMS", "bbob_value", "family_of"]

FAMILIES = (
    "sklearn",
    "bbob",
    "conditional",
    "intcat",
    "noisy",
    "long",
    "failing",
    "tabular",
    "pruning",
)
SUITE = "dev"
# Part of every problem's fingerprint: bump when an evaluation changes meaning.
EVAL_VERSION = 1
DEFAULT_BUDGET = 100


def family_of(problem: Problem) -> str:
    return str(problem.tags["family"])


def _problem(
    name: str,
    family: str,
    space: Mapping[str, Any],
    evaluate: Any,
    optimum: float | None,
    budget: int = DEFAULT_BUDGET,
    noiseless: Any = None,
    curve: Any = None,
    **tags: Any,
) -> Problem:
    return Problem(
        name=f"dev-{family}-{name}",
        suite=SUITE,
        space=space,
        evaluate=evaluate,
        optimum=optimum,
        noiseless=noiseless,
        curve=curve,
        tags={"family": family, "budget": budget, "version": EVAL_VERSION, **tags},
    )


# ---- scikit-learn with several metrics -------------------------------------------------------


def sklearn_loss(model: str, dataset: str, metric: str, params: Mapping[str, Any]) -> float:
    """3-fold cross-validated ``metric`` (as a loss) of ``model`` on ``dataset``."""
    from honed_bench.problems.sklearn_models import cv_metric_loss

    return cv_metric_loss(model, dataset, metric, params)


def _sklearn_family() -> list[Problem]:
    from honed_bench.problems.sklearn_models import model_space

    combos = [
        ("dt", "wine", "balanced_error"),
        ("dt", "diabetes", "mae"),
        ("rf", "breast", "logloss"),
        ("rf", "digits", "error"),
        ("ada", "wine", "logloss"),
        ("ada", "breast", "balanced_error"),
        ("svm", "digits", "balanced_error"),
        ("svm", "diabetes", "mae"),
        ("knn", "iris", "logloss"),
        ("linear", "breast", "logloss"),
        ("mlp", "wine", "logloss"),
        ("sgd", "diabetes", "r2"),
    ]
    out = []
    for model, dataset, metric in combos:
        task = "regression" if dataset == "diabetes" else "classification"
        out.append(
            _problem(
                f"{model}-{dataset}-{metric}",
                "sklearn",
                model_space(model, task),
                partial(sklearn_loss, model, dataset, metric),
                None,
                model=model,
                dataset=dataset,
                metric=metric,
            )
        )
    return out


# ---- BBOB (COCO) -------------------------------------------------------------------------


@cache
def _bbob(function: int, dim: int, instance: int) -> Any:
    import cocoex

    suite = cocoex.Suite(
        "bbob", "", f"function_indices:{function} dimensions:{dim} instance_indices:{instance}"
    )
    return suite.get_problem_by_function_dimension_instance(function, dim, instance)


def bbob_value(function: int, dim: int, instance: int, params: Mapping[str, Any]) -> float:
    """BBOB function ``function`` of COCO, ``dim`` dimensions, instance ``instance``."""
    x = np.array([float(params[f"x{i}"]) for i in range(dim)])
    return float(_bbob(function, dim, instance)(x))


# The optimum of each BBOB problem used here: COCO's value at its ``_best_parameter``
# (checked against cocoex in bench/tests/test_dev_suite.py).
BBOB_OPTIMA: dict[tuple[int, int, int], float] = {
    (1, 40, 1): 79.48,
    (3, 5, 2): 77.66,
    (6, 10, 1): 35.9,
    (8, 5, 3): 98.62,
    (10, 20, 1): -54.94,
    (12, 2, 2): -254.82,
    (15, 10, 1): 1000.0,
    (17, 5, 2): 18.81,
    (20, 3, 1): -546.5,
    (21, 10, 3): -370.84,
    (23, 2, 1): 6.87,
    (24, 5, 1): 102.61,
    (7, 10, 2): 35.35,
    (16, 5, 1): 71.35,
    (19, 10, 2): 71.69,
    (22, 20, 1): -1000.0,
}


def _bbob_problem(
    function: int, dim: int, instance: int, family: str = "bbob", budget: int = DEFAULT_BUDGET
) -> Problem:
    return _problem(
        f"f{function}-d{dim}-i{instance}",
        family,
        {f"x{i}": Float(-5.0, 5.0) for i in range(dim)},
        partial(bbob_value, function, dim, instance),
        BBOB_OPTIMA[(function, dim, instance)],
        budget=budget,
        function=function,
        dim=dim,
        instance=instance,
    )


_BBOB = [
    (1, 40, 1),  # sphere, many dimensions
    (3, 5, 2),  # separable Rastrigin
    (6, 10, 1),  # attractive sector
    (8, 5, 3),  # Rosenbrock
    (10, 20, 1),  # ellipsoid, ill-conditioned
    (12, 2, 2),  # bent cigar
    (15, 10, 1),  # rotated Rastrigin
    (17, 5, 2),  # Schaffer F7
    (20, 3, 1),  # Schwefel
    (21, 10, 3),  # Gallagher 101 peaks
    (23, 2, 1),  # Katsuura
    (24, 5, 1),  # Lunacek bi-Rastrigin
]


# ---- conditional and mixed spaces ------------------------------------------------------------


def _fn_of(name: str) -> Any:
    return {"branin": branin, "hartmann6": hartmann6, "levy": levy, "ackley": ackley}[name]


def optimiser_choice(params: Mapping[str, Any]) -> float:
    """A training-recipe response surface: validation loss after choosing an optimiser.

    SGD wants a larger learning rate and momentum near 0.9; Adam a small rate and beta2 near
    0.999; both share weight decay and warmup. The best SGD configuration is better than the
    best Adam one by a margin, so choosing the branch matters.
    """
    wd = math.log10(float(params["weight_decay"]))
    warm = float(params["warmup"])
    base = 0.05 * (wd + 4.0) ** 2 + 0.3 * (warm - 0.1) ** 2
    if params["optimizer"] == "sgd":
        lr = math.log10(float(params["sgd_lr"]))
        mom = float(params["sgd_momentum"])
        nesterov = 0.0 if params["sgd_nesterov"] else 0.05
        return 0.3 * (lr + 1.0) ** 2 + 2.0 * (mom - 0.9) ** 2 + nesterov + base
    lr = math.log10(float(params["adam_lr"]))
    b2 = float(params["adam_beta2"])
    amsgrad = 0.02 if params["adam_amsgrad"] else 0.0
    return 0.1 + 0.4 * (lr + 3.3) ** 2 + 40.0 * (b2 - 0.999) ** 2 + amsgrad + base


_OPTIMISER_SPACE: dict[str, Any] = {
    "optimizer": Choice(
        {
            "sgd": {
                "sgd_lr": Float(1e-4, 1.0, log=True),
                "sgd_momentum": Float(0.0, 0.99),
                "sgd_nesterov": Choice([False, True]),
            },
            "adam": {
                "adam_lr": Float(1e-5, 1e-1, log=True),
                "adam_beta2": Float(0.9, 0.9999),
                "adam_amsgrad": Choice([False, True]),
            },
        }
    ),
    "weight_decay": Float(1e-6, 1e-1, log=True),
    "warmup": Float(0.0, 0.5),
}


def function_choice(offsets: Mapping[str, float], params: Mapping[str, Any]) -> float:
    """Pick a test function (each with its own parameters), then minimise it; ``offsets``
    make one branch the best."""
    which = str(params["fn"])
    if which == "branin":
        x = np.array([params["branin_x0"], params["branin_x1"]], dtype=float)
        return (branin(x) - 0.397887) / 10.0 + offsets[which]
    if which == "hartmann6":
        x = np.array([params[f"h6_x{i}"] for i in range(6)], dtype=float)
        return hartmann6(x) + 3.32237 + offsets[which]
    x = np.array([params[f"levy_x{i}"] for i in range(4)], dtype=float)
    return levy(x) / 5.0 + offsets[which]


def _function_choice_space() -> dict[str, Any]:
    return {
        "fn": Choice(
            {
                "branin": {"branin_x0": Float(-5.0, 10.0), "branin_x1": Float(0.0, 15.0)},
                "hartmann6": {f"h6_x{i}": Float(0.0, 1.0) for i in range(6)},
                "levy": {f"levy_x{i}": Float(-10.0, 10.0) for i in range(4)},
            }
        )
    }


def nested_choice(params: Mapping[str, Any]) -> float:
    """Two levels of branches: an architecture, then (for one of them) a block type with its
    own parameters; integers and floats at every level."""
    depth = int(params["depth"])
    lr = math.log10(float(params["lr"]))
    common = 0.2 * (lr + 2.5) ** 2 + 0.05 * (depth - 6) ** 2
    if params["arch"] == "mlp":
        width = int(params["mlp_width"])
        return 0.4 + common + 0.3 * (math.log2(width) - 8) ** 2 / 9
    # residual networks: the block type decides
    if params["res_block"] == "bottleneck":
        ratio = float(params["res_bottleneck_ratio"])
        return common + 1.5 * (ratio - 0.25) ** 2
    kernel = int(params["res_basic_kernel"])
    drop = float(params["res_basic_dropout"])
    return 0.15 + common + 0.02 * (kernel - 3) ** 2 + 0.5 * (drop - 0.1) ** 2


_NESTED_SPACE: dict[str, Any] = {
    "arch": Choice(
        {
            "mlp": {"mlp_width": Int(16, 1024, log=True)},
            "resnet": {
                "res_block": Choice(
                    {
                        "bottleneck": {"res_bottleneck_ratio": Float(0.05, 1.0)},
                        "basic": {
                            "res_basic_kernel": Int(1, 7),
                            "res_basic_dropout": Float(0.0, 0.5),
                        },
                    }
                )
            },
        }
    ),
    "depth": Int(2, 20),
    "lr": Float(1e-5, 1.0, log=True),
}


def _pipeline_space() -> dict[str, Any]:
    from honed_bench.problems.sklearn_models import model_space

    branches = {}
    for family in ("knn", "svm", "ada"):
        sub = model_space(family, "classification")
        branches[family] = {f"{family}_{k}": d for k, d in sub.items()}
    return {"scale": Choice([False, True]), "model": Choice(branches)}


def sklearn_pipeline(dataset: str, params: Mapping[str, Any]) -> float:
    """Model selection with an optional (harmful here: data are standardized) rescaling."""
    from honed_bench.problems.sklearn_models import cv_loss

    family = str(params["model"])
    prefix = family + "_"
    own = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
    loss = cv_loss(family, dataset, own)
    return loss if params["scale"] else loss + 0.01


def _conditional_family() -> list[Problem]:
    out = [
        _problem("optimiser", "conditional", _OPTIMISER_SPACE, optimiser_choice, 0.0),
        _problem("nested", "conditional", _NESTED_SPACE, nested_choice, 0.0),
    ]
    for name, offsets in (
        ("fn-hartmann-best", {"branin": 0.3, "hartmann6": 0.0, "levy": 0.5}),
        ("fn-levy-best", {"branin": 0.2, "hartmann6": 0.4, "levy": 0.0}),
    ):
        out.append(
            _problem(
                name,
                "conditional",
                _function_choice_space(),
                partial(function_choice, offsets),
                0.0,
            )
        )
    for dataset in ("wine", "iris", "breast"):
        out.append(
            _problem(
                f"pipeline-{dataset}",
                "conditional",
                _pipeline_space(),
                partial(sklearn_pipeline, dataset),
                None,
                dataset=dataset,
            )
        )
    out.append(_mixed_conditional())
    return out


def mixed_conditional(params: Mapping[str, Any]) -> float:
    """A flat mixed part (integers, floats, a categorical) plus an optional regulariser whose
    strength only exists when it is on."""
    x = np.array([params[f"x{i}"] for i in range(3)], dtype=float)
    k = np.array([params[f"k{i}"] for i in range(2)], dtype=float)
    value = float(np.sum((x - 0.3) ** 2) + 0.1 * np.sum((k - 3) ** 2))
    value += {"relu": 0.0, "gelu": 0.05, "tanh": 0.3}[str(params["act"])]
    if params["reg"]:
        strength = math.log10(float(params["reg_strength"]))
        return value - 0.2 + 0.1 * (strength + 3.0) ** 2
    return value


def _mixed_conditional() -> Problem:
    space: dict[str, Any] = {f"x{i}": Float(-1.0, 1.0) for i in range(3)}
    space.update({f"k{i}": Int(0, 10) for i in range(2)})
    space["act"] = Choice(["relu", "gelu", "tanh"])
    space["reg"] = Choice({False: {}, True: {"reg_strength": Float(1e-6, 1.0, log=True)}})
    return _problem("mixed-reg", "conditional", space, mixed_conditional, -0.2)


# ---- integer- and categorical-heavy ------------------------------------------------------


def lattice(fn_name: str, step: float, params: Mapping[str, Any]) -> float:
    """A continuous function on an integer lattice ``x = step * k``."""
    keys = sorted((k for k in params if k.startswith("k")), key=lambda k: int(k[1:]))
    x = np.array([step * int(params[k]) for k in keys], dtype=float)
    return float({"ackley": ackley, "levy": levy, "rosenbrock": rosenbrock}[fn_name](x))


@cache
def _bqp_matrix(n: int, seed: int) -> np.ndarray:
    """A sparse random binary quadratic program (the 'BQP' benchmark of COMBO/BOCS)."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.3)
    return (q + q.T) / 2


def bqp(n: int, seed: int, params: Mapping[str, Any]) -> float:
    z = np.array([int(params[f"b{i}"]) for i in range(n)], dtype=float)
    q = _bqp_matrix(n, seed)
    return float(z @ q @ z - 0.1 * np.sum(z))


def bqp_optimum(n: int, seed: int) -> float:
    q = _bqp_matrix(n, seed)
    z = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)  # every bit vector
    return float(np.min(np.einsum("bi,ij,bj->b", z, q, z) - 0.1 * z.sum(axis=1)))


@cache
def _interaction_tables(n: int, levels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    main = rng.normal(size=(n, levels))
    pair = rng.normal(scale=0.5, size=(n - 1, levels, levels))
    return main, pair


def categorical_chain(n: int, levels: int, seed: int, params: Mapping[str, Any]) -> float:
    """Categorical variables with main effects and neighbour interactions (a chain), the shape
    of tabular recipe choices (augmentation, optimiser, scheduler, ...)."""
    main, pair = _interaction_tables(n, levels, seed)
    c = [int(str(params[f"c{i}"])[1:]) for i in range(n)]
    value = sum(main[i, c[i]] for i in range(n))
    value += sum(pair[i, c[i], c[i + 1]] for i in range(n - 1))
    return float(value)


def categorical_chain_optimum(n: int, levels: int, seed: int) -> float:
    """Exact minimum by dynamic programming over the chain."""
    main, pair = _interaction_tables(n, levels, seed)
    best = main[0].copy()
    for i in range(1, n):
        best = np.min(best[:, None] + pair[i - 1], axis=0) + main[i]
    return float(best.min())


def mixed_ackley(params: Mapping[str, Any]) -> float:
    """Ackley on 3 floats and 3 integers, plus 3 categoricals that each shift the floats'
    optimum or add a penalty."""
    shifts = {"a": 0.0, "b": 1.0, "c": -1.5, "d": 2.0}
    penalty = {"a": 0.5, "b": 0.0, "c": 1.0, "d": 0.25}
    x = np.array([params[f"x{i}"] for i in range(3)], dtype=float)
    x = x - shifts[str(params["c0"])]
    k = np.array([params[f"k{i}"] for i in range(3)], dtype=float) * 0.5
    value = ackley(np.concatenate([x, k]))
    return value + penalty[str(params["c1"])] + penalty[str(params["c2"])]


def int_float_quadratic(params: Mapping[str, Any]) -> float:
    """A rotated quadratic over 4 integers (wide ranges) and 4 floats."""
    v = np.array([params[f"k{i}"] for i in range(4)] + [params[f"x{i}"] for i in range(4)], float)
    v = v / np.array([50.0] * 4 + [1.0] * 4)
    target = np.array([0.34, -0.62, 0.1, 0.78, 0.25, -0.4, 0.6, -0.05])
    rot = _rotation(8, 11)
    d = rot @ (v - target)
    return float(np.sum(np.array([1, 2, 4, 8, 16, 32, 64, 128]) * d**2) / 100.0)


@cache
def _rotation(n: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q


def _intcat_family() -> list[Problem]:
    # (function, dimension, integer range, lattice step)
    lattices = [
        ("ackley", 4, (-10, 20), 0.5),
        ("rosenbrock", 6, (-8, 16), 0.25),
        ("levy", 10, (-10, 10), 1.0),
    ]
    out = [
        _problem(
            f"lattice-{fn_name}-{dim}",
            "intcat",
            {f"k{i}": Int(lo, hi) for i in range(dim)},
            partial(lattice, fn_name, step),
            0.0,
        )
        for fn_name, dim, (lo, hi), step in lattices
    ]
    for n, seed in ((12, 1), (16, 2)):
        out.append(
            _problem(
                f"bqp-{n}",
                "intcat",
                {f"b{i}": Choice([0, 1]) for i in range(n)},
                partial(bqp, n, seed),
                bqp_optimum(n, seed),
            )
        )
    n, levels, seed = 8, 5, 3
    out.append(
        _problem(
            f"chain-{n}x{levels}",
            "intcat",
            {f"c{i}": Choice([f"v{j}" for j in range(levels)]) for i in range(n)},
            partial(categorical_chain, n, levels, seed),
            categorical_chain_optimum(n, levels, seed),
        )
    )
    space: dict[str, Distribution] = {f"x{i}": Float(-5.0, 5.0) for i in range(3)}
    space.update({f"k{i}": Int(-6, 6) for i in range(3)})
    space.update({f"c{i}": Choice(["a", "b", "c", "d"]) for i in range(3)})
    out.append(_problem("mixed-ackley-9", "intcat", space, mixed_ackley, 0.0))
    space = {f"k{i}": Int(-50, 50) for i in range(4)}
    space.update({f"x{i}": Float(-1.0, 1.0) for i in range(4)})
    out.append(_problem("int-float-quadratic-8", "intcat", space, int_float_quadratic, None))
    return out


# ---- noisy -------------------------------------------------------------------------------

_NOISE_DRAWS = itertools.count()


def _noise_rng(params: Mapping[str, Any]) -> np.random.Generator:
    # A fresh draw per evaluation, so repeated evaluations of one configuration disagree.
    key = hash(tuple(sorted((k, repr(v)) for k, v in params.items()))) & 0xFFFFFFFF
    return np.random.default_rng([key, next(_NOISE_DRAWS)])


def noiseless_box(fn_name: str, dim: int, scale: float, params: Mapping[str, Any]) -> float:
    x = np.array([float(params[f"x{i}"]) for i in range(dim)]) * scale
    return float(_fn_of(fn_name)(x) if fn_name != "rosenbrock" else rosenbrock(x))


def noisy_box(
    fn_name: str, dim: int, scale: float, kind: str, sd: float, params: Mapping[str, Any]
) -> float:
    """A test function with noise: ``additive`` Gaussian, ``multiplicative`` (log-normal with
    mean 1, so a loss keeps its sign, as real losses do) or ``student`` (heavy-tailed, 2
    degrees of freedom)."""
    value = noiseless_box(fn_name, dim, scale, params)
    rng = _noise_rng(params)
    if kind == "additive":
        return value + sd * float(rng.normal())
    if kind == "multiplicative":
        return value * math.exp(sd * float(rng.normal()) - sd * sd / 2)
    return value + sd * float(rng.standard_t(2))


def sklearn_noiseless(model: str, dataset: str, params: Mapping[str, Any]) -> float:
    """Mean error over 5 fixed shuffles of 3-fold cross-validation."""
    return float(np.mean([_cv_error(model, dataset, s, params) for s in range(5)]))


def sklearn_noisy(model: str, dataset: str, params: Mapping[str, Any]) -> float:
    """Error of one 3-fold cross-validation on one of the 5 shuffles, drawn at random."""
    return _cv_error(model, dataset, int(_noise_rng(params).integers(5)), params)


def _cv_error(model: str, dataset: str, shuffle: int, params: Mapping[str, Any]) -> float:
    from honed_bench.problems.sklearn_models import cv_metric_loss

    return cv_metric_loss(model, dataset, "error", params, shuffle)


def _noisy_family() -> list[Problem]:
    from honed_bench.problems.sklearn_models import model_space

    out = []
    # (function, dim, bounds, scale, optimum, noise kind, sd)
    cases = [
        ("branin", 2, [(-5.0, 10.0), (0.0, 15.0)], 1.0, 0.397887, "additive", 2.0),
        ("hartmann6", 6, [(0.0, 1.0)] * 6, 1.0, -3.32237, "additive", 0.3),
        ("levy", 5, [(-10.0, 10.0)] * 5, 1.0, 0.0, "multiplicative", 0.3),
        ("ackley", 4, [(-5.0, 5.0)] * 4, 1.0, 0.0, "student", 0.5),
        ("rosenbrock", 4, [(-2.0, 2.0)] * 4, 1.0, 0.0, "multiplicative", 0.5),
        ("levy", 3, [(-10.0, 10.0)] * 3, 1.0, 0.0, "additive", 3.0),
    ]
    for fn_name, dim, bounds, scale, opt, kind, sd in cases:
        space = {f"x{i}": Float(lo, hi) for i, (lo, hi) in enumerate(bounds)}
        out.append(
            _problem(
                f"{fn_name}-{dim}-{kind}-{sd:g}",
                "noisy",
                space,
                partial(noisy_box, fn_name, dim, scale, kind, sd),
                opt,
                noiseless=partial(noiseless_box, fn_name, dim, scale),
                # (multiplicative noise was Gaussian, which flipped the sign of large losses)
                **({"noise": "lognormal"} if kind == "multiplicative" else {}),
            )
        )
    for model, dataset in (("knn", "wine"), ("svm", "breast")):
        out.append(
            _problem(
                f"cv-{model}-{dataset}",
                "noisy",
                model_space(model, "classification"),
                partial(sklearn_noisy, model, dataset),
                None,
                noiseless=partial(sklearn_noiseless, model, dataset),
            )
        )
    return out


# ---- long budgets --------------------------------------------------------------------------


def box(fn_name: str, params: Mapping[str, Any]) -> float:
    keys = sorted(params, key=lambda k: int(k[1:]))
    return float(_fn_of(fn_name)(np.array([float(params[k]) for k in keys])))


def _long_family() -> list[Problem]:
    out = [
        _bbob_problem(function, dim, instance, family="long", budget=200)
        for function, dim, instance in ((7, 10, 2), (16, 5, 1), (19, 10, 2), (22, 20, 1))
    ]
    out.append(
        _problem(
            "levy-12",
            "long",
            {f"x{i}": Float(-10.0, 10.0) for i in range(12)},
            partial(box, "levy"),
            0.0,
            budget=200,
        )
    )
    out.append(
        _problem(
            "ackley-8",
            "long",
            {f"x{i}": Float(-32.768, 32.768) for i in range(8)},
            partial(box, "ackley"),
            0.0,
            budget=200,
        )
    )
    return out


# ---- objectives that fail in a region --------------------------------------------------------


class DivergedError(RuntimeError):
    """The configuration crashed (as training with too large a step does)."""


def failing_box(fn_name: str, region: str, params: Mapping[str, Any]) -> float:
    """``fn_name`` that raises where ``region`` says (the optimum is left feasible)."""
    keys = sorted(params, key=lambda k: int(k[1:]))
    x = np.array([float(params[k]) for k in keys])
    if region == "upper-corner" and x[0] > 4.0 and x[1] > 5.0:
        raise DivergedError("diverged")
    if region == "sum" and float(np.sum(x)) > 3.2:
        raise DivergedError("diverged")
    if region == "diagonal" and float(x[0] + x[1]) > 2.5:
        raise DivergedError("diverged")
    if region == "half" and x[0] > 1.2:
        raise DivergedError("diverged")
    if region == "band" and 0.3 < x[1] < 0.6:
        raise DivergedError("diverged")
    return float(_fn_of(fn_name)(x) if fn_name != "rosenbrock" else rosenbrock(x))


def failing_sklearn(model: str, dataset: str, params: Mapping[str, Any]) -> float:
    """Cross-validated error, raising where training diverges (large steps)."""
    from honed_bench.problems.sklearn_models import cv_loss

    if model == "sgd" and float(params["eta0"]) > 0.3:
        raise DivergedError("SGD diverged")
    if model == "mlp" and float(params["learning_rate_init"]) > 0.02:
        raise DivergedError("MLP diverged")
    return cv_loss(model, dataset, params)


def failing_categorical(params: Mapping[str, Any]) -> float:
    """A solver choice where one solver crashes on most inputs and one never does."""
    x = np.array([params[f"x{i}"] for i in range(4)], dtype=float)
    solver = str(params["solver"])
    if solver == "fast" and float(np.max(np.abs(x))) > 0.4:
        raise DivergedError("solver 'fast' failed")
    bonus = {"fast": -0.3, "safe": 0.0, "approx": 0.2}[solver]
    return float(np.sum((x - 0.2) ** 2)) + bonus


def _failing_family() -> list[Problem]:
    from honed_bench.problems.sklearn_models import model_space

    def box_problem(
        fn_name: str, bounds: list[tuple[float, float]], region: str, optimum: float
    ) -> Problem:
        return _problem(
            f"{fn_name}-{len(bounds)}-{region}",
            "failing",
            {f"x{i}": Float(lo, hi) for i, (lo, hi) in enumerate(bounds)},
            partial(failing_box, fn_name, region),
            optimum,
        )

    out = [
        box_problem("branin", [(-5.0, 10.0), (0.0, 15.0)], "upper-corner", 0.397887),
        box_problem("hartmann6", [(0.0, 1.0)] * 6, "sum", -3.32237),
        box_problem("levy", [(-10.0, 10.0)] * 6, "diagonal", 0.0),
        box_problem("rosenbrock", [(-2.0, 2.0)] * 5, "half", 0.0),
        box_problem("hartmann6", [(0.0, 1.0)] * 6, "band", -3.32237),
    ]
    for model, dataset in (("sgd", "wine"), ("mlp", "digits")):
        out.append(
            _problem(
                f"{model}-{dataset}",
                "failing",
                model_space(model, "classification"),
                partial(failing_sklearn, model, dataset),
                None,
            )
        )
    space: dict[str, Any] = {f"x{i}": Float(-1.0, 1.0) for i in range(4)}
    space["solver"] = Choice(["fast", "safe", "approx"])
    out.append(_problem("solver-choice", "failing", space, failing_categorical, -0.3))
    return out


# ---- pruning-heavy runs ----------------------------------------------------------------------

_EPOCHS = 12


@cache
def _split(dataset: str) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    from honed_bench.problems.sklearn_models import load_dataset

    x, y = load_dataset(dataset)
    return tuple(train_test_split(x, y, test_size=0.33, stratify=y, random_state=0))


def _epoch_curve(clf: Any, dataset: str, loss: Any) -> list[float]:
    """``loss(clf, x_valid, y_valid)`` after each of 12 epochs of ``clf.partial_fit``."""
    import warnings

    xtr, xva, ytr, yva = _split(dataset)
    classes = np.unique(ytr)
    out = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(_EPOCHS):
            clf.partial_fit(xtr, ytr, classes=classes)
            out.append(float(loss(clf, xva, yva, classes)))
    return out


def _error(clf: Any, x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> float:
    return float(np.mean(clf.predict(x) != y))


def _capped_log_loss(clf: Any, x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import log_loss

    loss = float(log_loss(y, clf.predict_proba(x), labels=classes))
    return min(loss, 5.0) if np.isfinite(loss) else 5.0


def sgd_curve(dataset: str, params: Mapping[str, Any]) -> list[float]:
    """Validation error after each of 12 epochs of ``SGDClassifier.partial_fit``."""
    from sklearn.linear_model import SGDClassifier

    clf = SGDClassifier(
        loss=str(params["loss"]),
        penalty="elasticnet",
        alpha=float(params["alpha"]),
        l1_ratio=float(params["l1_ratio"]),
        learning_rate=str(params["learning_rate"]),
        eta0=float(params["eta0"]),
        random_state=0,
    )
    return _epoch_curve(clf, dataset, _error)


def mlp_curve(dataset: str, params: Mapping[str, Any]) -> list[float]:
    """Validation log-loss (capped at 5) after each of 12 epochs of ``MLPClassifier``."""
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(int(params["width"]),),
        alpha=float(params["alpha"]),
        learning_rate_init=float(params["learning_rate_init"]),
        batch_size=int(params["batch_size"]),
        random_state=0,
    )
    return _epoch_curve(clf, dataset, _capped_log_loss)


def crossing_curve(fn_name: str, params: Mapping[str, Any]) -> list[float]:
    """A synthetic curve whose final value is ``fn(x)``, approached at a rate set by the
    parameter ``speed``: fast configurations look good early, so the median rule stops slow
    ones that would have finished better (the trap pruning sets for a sampler)."""
    keys = sorted((k for k in params if k.startswith("x")), key=lambda k: int(k[1:]))
    x = np.array([float(params[k]) for k in keys])
    final = float(_fn_of(fn_name)(x))
    # slower configurations finish better: speed costs a little at the end
    speed = float(params["speed"])
    final += 0.3 * speed
    rate = 0.15 + 1.5 * speed
    return [final + 2.0 * math.exp(-rate * (t + 1)) for t in range(_EPOCHS)]


def _last(curve: Any, params: Mapping[str, Any]) -> float:
    return float(curve(params)[-1])


def _pruning_family() -> list[Problem]:
    sgd = {
        "loss": Choice(["hinge", "log_loss", "modified_huber"]),
        "alpha": Float(1e-6, 1e-1, log=True),
        "l1_ratio": Float(0.0, 1.0),
        "learning_rate": Choice(["optimal", "constant", "invscaling", "adaptive"]),
        "eta0": Float(1e-4, 1.0, log=True),
    }
    mlp = {
        "width": Int(8, 128, log=True),
        "alpha": Float(1e-6, 1e-1, log=True),
        "learning_rate_init": Float(1e-4, 1e-1, log=True),
        "batch_size": Int(16, 128, log=True),
    }
    out = []
    for dataset in ("digits", "breast"):
        curve = partial(sgd_curve, dataset)
        out.append(
            _problem(f"sgd-{dataset}", "pruning", sgd, partial(_last, curve), None, curve=curve)
        )
    for dataset in ("digits", "iris", "wine"):
        curve = partial(mlp_curve, dataset)
        out.append(
            _problem(f"mlp-{dataset}", "pruning", mlp, partial(_last, curve), None, curve=curve)
        )
    for fn_name, dim, low, high in (
        ("hartmann6", 6, 0.0, 1.0),
        ("branin", 2, None, None),
        ("levy", 5, -10.0, 10.0),
    ):
        if fn_name == "branin":
            space: dict[str, Any] = {"x0": Float(-5.0, 10.0), "x1": Float(0.0, 15.0)}
        else:
            space = {f"x{i}": Float(low, high) for i in range(dim)}
        space["speed"] = Float(0.0, 1.0)
        curve = partial(crossing_curve, fn_name)
        out.append(
            _problem(
                f"crossing-{fn_name}", "pruning", space, partial(_last, curve), None, curve=curve
            )
        )
    return out


# ---- tabular benchmarks -------------------------------------------------------------------


def _tabular_family() -> list[Problem]:
    from honed_bench.problems.tabular import tabular_problems

    def make(name: str, space: Any, evaluate: Any, optimum: float, **tags: Any) -> Problem:
        return _problem(name, "tabular", space, evaluate, optimum, **tags)

    return tabular_problems(make)


def _build() -> list[Problem]:
    return [
        *_sklearn_family(),
        *[_bbob_problem(*args) for args in _BBOB],
        *_conditional_family(),
        *_intcat_family(),
        *_noisy_family(),
        *_long_family(),
        *_failing_family(),
        *_tabular_family(),
        *_pruning_family(),
    ]


PROBLEMS: list[Problem] = _build()
