"""Multi-objective benchmark problems: ZDT1/2/3/4/6 (two objectives) and DTLZ1/2/7 (three
objectives, plus DTLZ2 with four and five for reference-point methods such as NSGA-III).

All objectives are minimized. Each problem carries a hypervolume reference point chosen so that
every optimizer scores above zero within a few hundred trials (a reference point at the nadir
of the true front would give zero to all but the best runs), and ``optimum``: the hypervolume of
the true Pareto front with respect to that point (computed from a dense sample of the front),
so ``hypervolume / optimum`` is a normalized score in ``[0, 1]``.

Definitions follow Zitzler, Deb and Thiele (2000) and Deb, Thiele, Laumanns and Zitzler (2002).
Every evaluation is a module-level function bound with :func:`functools.partial`, so problems
pickle into worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import numpy as np

from honed.bench.problems.base import Problem
from honed.space import Float

__all__ = [
    "PROBLEMS",
    "dtlz1",
    "dtlz2",
    "dtlz7",
    "pareto_front",
    "zdt1",
    "zdt2",
    "zdt3",
    "zdt4",
    "zdt6",
]


# ---- the functions, on plain arrays (x is the decision vector) ------------------------------


def _zdt_g(x: np.ndarray) -> float:
    return 1.0 + 9.0 * float(np.sum(x[1:])) / (len(x) - 1)


def zdt1(x: np.ndarray) -> tuple[float, float]:
    f1 = float(x[0])
    g = _zdt_g(x)
    return f1, g * (1.0 - math.sqrt(f1 / g))


def zdt2(x: np.ndarray) -> tuple[float, float]:
    f1 = float(x[0])
    g = _zdt_g(x)
    return f1, g * (1.0 - (f1 / g) ** 2)


def zdt3(x: np.ndarray) -> tuple[float, float]:
    f1 = float(x[0])
    g = _zdt_g(x)
    r = f1 / g
    return f1, g * (1.0 - math.sqrt(r) - r * math.sin(10.0 * math.pi * f1))


def zdt4(x: np.ndarray) -> tuple[float, float]:
    # x[0] in [0, 1], the others in [-5, 5]; 21^9 local fronts.
    f1 = float(x[0])
    rest = np.asarray(x[1:], dtype=float)
    g = 1.0 + 10.0 * len(rest) + float(np.sum(rest**2 - 10.0 * np.cos(4.0 * math.pi * rest)))
    return f1, g * (1.0 - math.sqrt(f1 / g))


def zdt6(x: np.ndarray) -> tuple[float, float]:
    x1 = float(x[0])
    f1 = 1.0 - math.exp(-4.0 * x1) * math.sin(6.0 * math.pi * x1) ** 6
    g = 1.0 + 9.0 * (float(np.sum(x[1:])) / (len(x) - 1)) ** 0.25
    return f1, g * (1.0 - (f1 / g) ** 2)


def dtlz1(x: np.ndarray, n_objectives: int) -> tuple[float, ...]:
    x = np.asarray(x, dtype=float)
    m = n_objectives
    xm = x[m - 1 :]
    g = 100.0 * (len(xm) + float(np.sum((xm - 0.5) ** 2 - np.cos(20.0 * math.pi * (xm - 0.5)))))
    f = []
    for i in range(m):
        v = 0.5 * (1.0 + g) * float(np.prod(x[: m - 1 - i]))
        if i > 0:
            v *= 1.0 - float(x[m - 1 - i])
        f.append(v)
    return tuple(f)


def dtlz2(x: np.ndarray, n_objectives: int) -> tuple[float, ...]:
    x = np.asarray(x, dtype=float)
    m = n_objectives
    g = float(np.sum((x[m - 1 :] - 0.5) ** 2))
    angles = x[: m - 1] * (math.pi / 2.0)
    f = []
    for i in range(m):
        v = (1.0 + g) * float(np.prod(np.cos(angles[: m - 1 - i])))
        if i > 0:
            v *= math.sin(float(angles[m - 1 - i]))
        f.append(v)
    return tuple(f)


def dtlz7(x: np.ndarray, n_objectives: int) -> tuple[float, ...]:
    x = np.asarray(x, dtype=float)
    m = n_objectives
    xm = x[m - 1 :]
    g = 1.0 + 9.0 * float(np.mean(xm))
    f = [float(v) for v in x[: m - 1]]
    h = m - sum(fi / (1.0 + g) * (1.0 + math.sin(3.0 * math.pi * fi)) for fi in f)
    return (*f, (1.0 + g) * h)


# ---- true Pareto fronts (dense samples) for the normalizing hypervolume --------------------


def _simplex_grid(m: int, divisions: int) -> np.ndarray:
    """Points of the unit simplex in ``m`` dimensions with coordinates ``k / divisions``."""
    out: list[list[float]] = []

    def rec(prefix: list[int], left: int, k: int) -> None:
        if k == 1:
            out.append([*prefix, left])
            return
        for i in range(left + 1):
            rec([*prefix, i], left - i, k - 1)

    rec([], divisions, m)
    return np.array(out, dtype=float) / divisions


def pareto_front(
    name: str, n_objectives: int = 2, n_points: int = 20_000, *, filtered: bool = True
) -> np.ndarray:
    """A dense sample of the true Pareto front of problem ``name`` (a ZDT or DTLZ name).

    For DTLZ1/2 it is a simplex-lattice sample; every point lies on the front."""
    if name.startswith("zdt"):
        x1 = np.linspace(0.0, 1.0, n_points)
        if name in ("zdt1", "zdt4"):
            pts = np.column_stack([x1, 1.0 - np.sqrt(x1)])
        elif name == "zdt2":
            pts = np.column_stack([x1, 1.0 - x1**2])
        elif name == "zdt3":
            pts = np.column_stack([x1, 1.0 - np.sqrt(x1) - x1 * np.sin(10 * np.pi * x1)])
        elif name == "zdt6":
            f1 = 1.0 - np.exp(-4.0 * x1) * np.sin(6.0 * np.pi * x1) ** 6
            pts = np.column_stack([f1, 1.0 - f1**2])
        else:
            raise ValueError(f"unknown problem {name!r}.")
    elif name in ("dtlz1", "dtlz2"):
        div = {2: 2000, 3: 100, 4: 25}.get(n_objectives, 12)
        w = _simplex_grid(n_objectives, div)
        if name == "dtlz1":
            return 0.5 * w
        return w / np.linalg.norm(w, axis=1, keepdims=True)
    elif name == "dtlz7":
        side = max(2, int(round(min(n_points, 4000) ** (1.0 / (n_objectives - 1)))))
        grids = np.meshgrid(*[np.linspace(0, 1, side)] * (n_objectives - 1))
        f = np.column_stack([gr.ravel() for gr in grids])
        h = n_objectives - np.sum(f / 2.0 * (1.0 + np.sin(3.0 * np.pi * f)), axis=1)
        pts = np.column_stack([f, 2.0 * h])
        if not filtered:
            return pts
        from honed.analysis import pareto_mask

        return pts[pareto_mask(pts)]
    else:
        raise ValueError(f"unknown problem {name!r}.")
    if not filtered:
        return pts
    # Two objectives: a sort keeps the points whose f2 beats every point left of them.
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    best_before = np.minimum.accumulate(np.concatenate([[np.inf], pts[:-1, 1]]))
    return pts[pts[:, 1] < best_before]


@cache
def _front_hypervolume(name: str, n_objectives: int, ref: tuple[float, ...]) -> float:
    from honed.analysis import hypervolume

    m = n_objectives
    if name == "dtlz1" and min(ref) >= 0.5:
        # The front is the simplex sum(f) = 1/2: the box minus the simplex below it.
        return float(np.prod(ref)) - 0.5**m / math.factorial(m)
    if name == "dtlz2" and min(ref) >= 1.0:
        # The front is the unit sphere's positive orthant: the box minus 1/2^m of the ball.
        ball = math.pi ** (m / 2) / math.gamma(m / 2 + 1)
        return float(np.prod(ref)) - ball / 2**m

    # Dominated sample points do not change the volume, so skip the O(n^2) filter.
    return hypervolume(pareto_front(name, n_objectives, filtered=False), np.array(ref))


# ---- problems ---------------------------------------------------------------------------


def _evaluate(
    fn: Callable[..., tuple[float, ...]], names: tuple[str, ...], params: dict[str, Any], **kw: Any
) -> tuple[float, ...]:
    x = np.array([params[n] for n in names], dtype=float)
    return tuple(float(v) for v in fn(x, **kw))


def _problem(
    name: str,
    fn: Callable[..., tuple[float, ...]],
    bounds: list[tuple[float, float]],
    ref: tuple[float, ...],
    front: str,
    **kw: Any,
) -> Problem:
    names = tuple(f"x{i}" for i in range(len(bounds)))
    m = len(ref)
    return Problem(
        name=name,
        suite="multiobjective",
        space={n: Float(lo, hi) for n, (lo, hi) in zip(names, bounds)},
        evaluate=partial(_evaluate, fn, names, **kw),
        directions=("minimize",) * m,
        optimum=None,
        reference_point=ref,
        tags={"dim": len(bounds), "n_objectives": m, "front": front},
    )


def _build() -> list[Problem]:
    unit = [(0.0, 1.0)]
    probs = [
        _problem("zdt1", zdt1, unit * 30, (1.1, 7.0), "zdt1"),
        _problem("zdt2", zdt2, unit * 30, (1.1, 7.0), "zdt2"),
        _problem("zdt3", zdt3, unit * 30, (1.1, 7.0), "zdt3"),
        _problem("zdt4", zdt4, unit + [(-5.0, 5.0)] * 9, (1.1, 150.0), "zdt4"),
        _problem("zdt6", zdt6, unit * 10, (1.1, 10.0), "zdt6"),
        _problem("dtlz1", dtlz1, unit * 7, (400.0,) * 3, "dtlz1", n_objectives=3),
        _problem("dtlz2", dtlz2, unit * 12, (2.5,) * 3, "dtlz2", n_objectives=3),
        _problem("dtlz7", dtlz7, unit * 22, (1.1, 1.1, 25.0), "dtlz7", n_objectives=3),
        _problem("dtlz2-4obj", dtlz2, unit * 13, (2.5,) * 4, "dtlz2", n_objectives=4),
        _problem("dtlz2-5obj", dtlz2, unit * 14, (2.5,) * 5, "dtlz2", n_objectives=5),
    ]
    # The normalizing optimum: hypervolume of the true front (objects are frozen, so rebuild).
    out = []
    for p in probs:
        hv = _front_hypervolume(str(p.tags["front"]), p.n_objectives, p.reference_point)
        out.append(
            Problem(
                name=p.name,
                suite=p.suite,
                space=p.space,
                evaluate=p.evaluate,
                directions=p.directions,
                optimum=hv,
                reference_point=p.reference_point,
                tags=p.tags,
            )
        )
    return out


PROBLEMS: list[Problem] = _build()
