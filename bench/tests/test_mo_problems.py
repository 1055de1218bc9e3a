"""ZDT / DTLZ benchmark problems: definitions at known Pareto-optimal points, reference points
and the true fronts' hypervolumes."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from honed.analysis import hypervolume
from honed_bench.problems.multiobjective import PROBLEMS, pareto_front

BY_NAME = {p.name: p for p in PROBLEMS}


def test_suite_contents() -> None:
    assert {"zdt1", "zdt2", "zdt3", "zdt4", "zdt6", "dtlz1", "dtlz2", "dtlz7"} <= set(BY_NAME)
    assert any(p.n_objectives >= 4 for p in PROBLEMS)
    for p in PROBLEMS:
        assert p.suite == "multiobjective"
        assert p.reference_point is not None and len(p.reference_point) == p.n_objectives
        assert p.optimum is not None and p.optimum > 0
        # Problems travel to worker processes.
        clone = pickle.loads(pickle.dumps(p))
        x = {k: (d.low + d.high) / 2 for k, d in p.space.items()}
        assert clone.evaluate(x) == p.evaluate(x)
        assert len(p.evaluate(x)) == p.n_objectives


def _point(problem: str, head: list[float], tail: float) -> tuple[float, ...]:
    p = BY_NAME[problem]
    names = list(p.space)
    x = {n: (head[i] if i < len(head) else tail) for i, n in enumerate(names)}
    return p.evaluate(x)


@pytest.mark.parametrize("x1", [0.0, 0.25, 0.64, 1.0])
def test_zdt_pareto_optimal_points(x1: float) -> None:
    f1, f2 = _point("zdt1", [x1], 0.0)
    assert (f1, f2) == pytest.approx((x1, 1 - math.sqrt(x1)))
    assert _point("zdt2", [x1], 0.0) == pytest.approx((x1, 1 - x1**2))
    f3 = _point("zdt3", [x1], 0.0)
    assert f3[1] == pytest.approx(1 - math.sqrt(x1) - x1 * math.sin(10 * math.pi * x1))
    assert _point("zdt4", [x1], 0.0) == pytest.approx((x1, 1 - math.sqrt(x1)))
    f6 = _point("zdt6", [x1], 0.0)
    assert f6[1] == pytest.approx(1 - f6[0] ** 2)
    # Off the optimal manifold, the second objective is worse.
    assert _point("zdt1", [x1], 0.5)[1] > f2


def test_dtlz_pareto_optimal_points() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        head = rng.random(4).tolist()
        assert sum(_point("dtlz1", head[:2], 0.5)) == pytest.approx(0.5)
        f = np.array(_point("dtlz2", head[:2], 0.5))
        assert np.linalg.norm(f) == pytest.approx(1.0)
        f5 = np.array(_point("dtlz2-5obj", head, 0.5))
        assert np.linalg.norm(f5) == pytest.approx(1.0)
        f7 = _point("dtlz7", head[:2], 0.0)
        h = 3 - sum(fi / 2 * (1 + math.sin(3 * math.pi * fi)) for fi in head[:2])
        assert f7 == pytest.approx((head[0], head[1], 2 * h))


def test_optimum_is_the_true_fronts_hypervolume() -> None:
    for p in PROBLEMS:
        if p.n_objectives > 3:
            continue  # checked by Monte Carlo below; exact volumes of dense 4-5-D fronts are slow
        front = pareto_front(str(p.tags["front"]), p.n_objectives)
        hv = hypervolume(front, np.array(p.reference_point))
        # A finite sample of a front slightly under-covers it.
        assert hv <= p.optimum * (1 + 1e-9)
        assert hv >= p.optimum * 0.995, p.name


def test_random_points_score_above_zero_and_below_the_front() -> None:
    rng = np.random.default_rng(1)
    for p in PROBLEMS:
        xs = [{k: d.from_unit(rng.random()) for k, d in p.space.items()} for _ in range(100)]
        losses = np.array([p.evaluate(x) for x in xs])
        hv = hypervolume(losses, np.array(p.reference_point))
        assert 0 < hv < p.optimum, p.name


def test_many_objective_optimum_agrees_with_monte_carlo() -> None:
    # DTLZ2's front is the unit sphere: the box minus the ball's positive orthant is dominated.
    rng = np.random.default_rng(2)
    for p in PROBLEMS:
        if p.n_objectives <= 3:
            continue
        ref = np.array(p.reference_point)
        samples = rng.random((200_000, len(ref))) * ref
        frac = float(np.mean(np.linalg.norm(samples, axis=1) >= 1.0))
        se = math.sqrt(frac * (1 - frac) / len(samples))
        assert abs(frac - p.optimum / np.prod(ref)) < 4 * se + 1e-12, p.name
