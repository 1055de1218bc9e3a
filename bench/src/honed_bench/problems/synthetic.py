"""Synthetic test functions with known optima: Branin, Hartmann-6, and Ackley, Rosenbrock,
Levy and Styblinski-Tang at several dimensions, plus integer/categorical-mixed variants.

Every evaluation is a module-level function bound with :func:`functools.partial`, so problems
pickle into worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Float, Int
from honed_bench.problems.base import Problem

__all__ = [
    "DIMS",
    "PROBLEMS",
    "ackley",
    "branin",
    "hartmann6",
    "levy",
    "parametric",
    "rosenbrock",
    "styblinski_tang",
]

DIMS = (2, 5, 10, 20)

# ---- the functions, on plain arrays ---------------------------------------------------------


def branin(x: np.ndarray) -> float:
    x1, x2 = float(x[0]), float(x[1])
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray) -> float:
    inner = np.sum(_H6_A * (np.asarray(x) - _H6_P) ** 2, axis=1)
    return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


def ackley(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    d = len(x)
    a = -20 * math.exp(-0.2 * math.sqrt(float(np.sum(x**2)) / d))
    b = -math.exp(float(np.sum(np.cos(2 * math.pi * x))) / d)
    return a + b + 20 + math.e


def rosenbrock(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def levy(x: np.ndarray) -> float:
    w = 1 + (np.asarray(x, dtype=float) - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def styblinski_tang(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


ST_ARGMIN = -2.903534027771177  # per-coordinate minimizer of Styblinski-Tang
ST_MIN_PER_DIM = 0.5 * (ST_ARGMIN**4 - 16 * ST_ARGMIN**2 + 5 * ST_ARGMIN)


# ---- binding a function to a honed space ----------------------------------------------------


def _evaluate(
    fn: Callable[[np.ndarray], float], names: tuple[str, ...], params: Mapping[str, Any]
) -> float:
    return fn(np.array([float(params[n]) for n in names]))


def _box(
    name: str,
    fn: Callable[[np.ndarray], float],
    bounds: list[tuple[float, float]],
    optimum: float,
    **tags: Any,
) -> Problem:
    names = tuple(f"x{i}" for i in range(len(bounds)))
    space = {n: Float(lo, hi) for n, (lo, hi) in zip(names, bounds)}
    return Problem(
        name=name,
        suite="synthetic",
        space=space,
        evaluate=partial(_evaluate, fn, names),
        optimum=optimum,
        tags={"dim": len(bounds), **tags},
    )


def _mixed(
    name: str,
    fn: Callable[[np.ndarray], float],
    dim: int,
    low: float,
    high: float,
    choices: tuple[float, ...],
    optimum: float,
) -> Problem:
    """Half the coordinates continuous, a quarter integers, a quarter categorical (a handful
    of float levels that include the optimum or its neighbourhood)."""
    n_int = dim // 4
    n_cat = dim // 4
    n_float = dim - n_int - n_cat
    space: dict[str, Distribution] = {}
    for i in range(dim):
        if i < n_float:
            space[f"x{i}"] = Float(low, high)
        elif i < n_float + n_int:
            space[f"x{i}"] = Int(int(math.ceil(low)), int(math.floor(high)))
        else:
            space[f"x{i}"] = Choice(list(choices))
    names = tuple(space)
    return Problem(
        name=name,
        suite="synthetic",
        space=space,
        evaluate=partial(_evaluate, fn, names),
        optimum=optimum,
        tags={"dim": dim, "mixed": True, "n_int": n_int, "n_cat": n_cat},
    )


def _st_mixed_optimum(dim: int, choices: tuple[float, ...]) -> float:
    """Styblinski-Tang is separable: the optimum is the sum of per-coordinate minima over
    each coordinate's allowed values."""
    g = lambda v: 0.5 * (v**4 - 16 * v**2 + 5 * v)  # noqa: E731
    n_int = n_cat = dim // 4
    n_float = dim - n_int - n_cat
    best_int = min(g(v) for v in range(-5, 6))
    best_cat = min(g(v) for v in choices)
    return n_float * ST_MIN_PER_DIM + n_int * best_int + n_cat * best_cat


_SCALABLE: dict[str, tuple[Callable[[np.ndarray], float], float, float, float]] = {
    # name: (function, low, high, optimum per dimension)
    "ackley": (ackley, -32.768, 32.768, 0.0),
    "rosenbrock": (rosenbrock, -5.0, 10.0, 0.0),
    "levy": (levy, -10.0, 10.0, 0.0),
    "styblinski-tang": (styblinski_tang, -5.0, 5.0, ST_MIN_PER_DIM),
}


def parametric(name: str) -> Problem | None:
    """``"<function>-<dim>"`` at any dimension >= 2 (e.g. ``"ackley-7"``), or None."""
    base, _, dim = name.rpartition("-")
    if base not in _SCALABLE or not dim.isdigit() or int(dim) < 2:
        return None
    fn, lo, hi, opt = _SCALABLE[base]
    d = int(dim)
    return _box(name, fn, [(lo, hi)] * d, opt * d)


def _build() -> list[Problem]:
    out = [
        _box("branin", branin, [(-5.0, 10.0), (0.0, 15.0)], 0.39788735772973816),
        _box("hartmann6", hartmann6, [(0.0, 1.0)] * 6, -3.3223680114155147),
    ]
    for d in DIMS:
        for base in _SCALABLE:
            p = parametric(f"{base}-{d}")
            assert p is not None
            out.append(p)
    levy_levels = (-7.0, -3.0, 1.0, 5.0, 9.0)
    st_levels = (-4.0, ST_ARGMIN, 0.0, 2.5, 5.0)
    for d in (8, 16):
        out.append(_mixed(f"levy-mixed-{d}", levy, d, -10.0, 10.0, levy_levels, 0.0))
        out.append(
            _mixed(
                f"styblinski-tang-mixed-{d}",
                styblinski_tang,
                d,
                -5.0,
                5.0,
                st_levels,
                _st_mixed_optimum(d, st_levels),
            )
        )
    return out


PROBLEMS: list[Problem] = _build()
