"""Estimated hypervolume contributions and the many-objective TPE split built on them."""

from __future__ import annotations

import numpy as np
import pytest

import honed
from honed.pareto import (
    estimate_contributions,
    greedy_hv_subset,
    hypervolume,
    hypervolume_contributions,
    non_dominated_ranks,
)
from honed.samplers import RandomSampler
from honed.samplers.tpe import TPESampler
from honed.samplers.tpe._split import below_weights, split
from honed.space import Float


def _sphere_front(n: int, m: int, seed: int) -> np.ndarray:
    """``n`` mutually non-dominated points on the positive unit sphere (a DTLZ2-like front)."""
    x = np.abs(np.random.default_rng(seed).normal(size=(n, m)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(("m", "n"), [(3, 40), (4, 40), (5, 16)])
def test_estimate_matches_exact_contributions(m: int, n: int) -> None:
    front = _sphere_front(n, m, seed=m)
    ref = np.full(m, 1.1)
    exact = hypervolume_contributions(front, ref)
    est = estimate_contributions(front, ref)
    assert np.all(est >= 0)
    # every point within 5% of the largest contribution, and the total within 3%
    assert np.max(np.abs(est - exact)) <= 0.05 * exact.max()
    assert abs(est.sum() - exact.sum()) <= 0.03 * exact.sum()
    # the order is what a sampler uses: the smallest and largest contributors agree
    assert np.argmax(est) == np.argmax(exact)
    assert np.corrcoef(est, exact)[0, 1] > 0.99


def test_estimate_is_exact_where_no_other_point_enters_the_box() -> None:
    pts = np.array([[0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0]])
    ref = np.full(4, 2.0)
    np.testing.assert_allclose(estimate_contributions(pts, ref), [1.0, 1.0, 1.0])
    alone = estimate_contributions(np.array([[0.5, 0.5, 0.5, 0.5]]), ref)
    np.testing.assert_allclose(alone, [1.5**4])


def test_estimate_gives_nothing_to_dominated_duplicate_and_outside_rows() -> None:
    front = _sphere_front(10, 4, seed=1)
    ref = np.full(4, 1.1)
    pts = np.vstack([front, front[0] + 0.01, front[1], [[1.5, 0.0, 0.0, 0.0]]])
    est = estimate_contributions(pts, ref)
    assert est[10] == 0.0  # dominated by row 0
    assert est[1] == est[11] == 0.0  # exact duplicates: removing one loses nothing
    assert est[12] == 0.0  # outside the reference box
    assert np.all(est[[0, *range(2, 10)]] > 0)


def test_estimate_is_deterministic_and_seeded() -> None:
    front = _sphere_front(30, 4, seed=2)
    ref = np.full(4, 1.1)
    a = estimate_contributions(front, ref, seed=0)
    np.testing.assert_array_equal(a, estimate_contributions(front, ref, seed=0))
    b = estimate_contributions(front, ref, seed=1)
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(a, b, atol=0.1 * a.max())  # each within 5% of the truth


def _exact_greedy(front: np.ndarray, k: int, ref: np.ndarray) -> np.ndarray:
    picked: list[int] = []
    for _ in range(k):
        rest = [i for i in range(len(front)) if i not in picked]
        gains = [hypervolume(front[[*picked, i]], ref) for i in rest]
        picked.append(rest[int(np.argmax(gains))])
    return np.array(picked)


@pytest.mark.parametrize("m", [4, 5])
def test_greedy_subset_keeps_the_hypervolume_of_the_exact_greedy(m: int) -> None:
    front = _sphere_front(24, m, seed=10 + m)
    ref = np.full(m, 1.1)
    k = 6
    est = greedy_hv_subset(front, k, ref)
    assert len(set(est.tolist())) == k
    exact = _exact_greedy(front, k, ref)
    assert est[0] == exact[0]  # the first pick is exact: the largest box
    hv_est, hv_exact = hypervolume(front[est], ref), hypervolume(front[exact], ref)
    assert hv_est >= 0.98 * hv_exact
    # and clearly better than an arbitrary subset of the same size
    assert hv_est > 1.05 * hypervolume(front[:k], ref)


def test_estimators_reject_bad_input() -> None:
    pts = _sphere_front(5, 4, seed=0)
    with pytest.raises(ValueError, match="shape"):
        estimate_contributions(pts, np.ones(3))
    with pytest.raises(ValueError, match="n_samples"):
        estimate_contributions(pts, np.full(4, 1.1), n_samples=0)
    with pytest.raises(ValueError, match="k must"):
        greedy_hv_subset(pts, 6, np.full(4, 1.1))


@pytest.mark.parametrize("m", [4, 5])
def test_many_objective_split_breaks_ties_by_hypervolume(m: int) -> None:
    """With four or more objectives the cut front is thinned by hypervolume (estimated), not
    by crowding distance, which keeps the extremes: here the far-off points."""
    rng = np.random.default_rng(m)
    near = _sphere_front(30, m, seed=m)
    # extreme points: one objective tiny, the others large (far from the sphere)
    far = np.full((m, m), 1.6) + 0.01 * rng.random((m, m))
    far[np.diag_indices(m)] = -0.01
    losses = np.vstack([near, far])
    assert np.all(non_dominated_ranks(losses) == 0)
    n, k = len(losses), 8
    below, _ = split(
        losses, np.zeros(n), np.zeros(n, bool), np.full(n, -1.0), np.full(n, np.inf), k
    )
    assert len(below) == k
    ref = losses.max(axis=0) + 0.1 * (losses.max(axis=0) - losses.min(axis=0))
    exact = _exact_greedy(losses, k, ref)
    assert hypervolume(losses[below], ref) >= 0.97 * hypervolume(losses[exact], ref)


def test_many_objective_good_trials_weigh_by_estimated_contribution() -> None:
    front = _sphere_front(12, 4, seed=3)
    losses = np.vstack([front, front[0] + 0.05])  # the last row is dominated
    w = below_weights(losses)
    assert w[-1] < 1e-9 and w.max() == 1.0 and np.all(w[:-1] > 0)
    hi, lo = losses.max(axis=0), losses.min(axis=0)
    exact = hypervolume_contributions(losses, hi + 0.1 * (hi - lo))
    # the weights are the shares (relative to the largest contribution)
    np.testing.assert_allclose(w, exact / exact.max(), atol=0.06)


def test_many_objective_tpe_runs_and_beats_random() -> None:
    space = {f"x{i}": Float(0.0, 1.0) for i in range(6)}

    def dtlz2(p: dict) -> list[float]:
        x = np.array([p[f"x{i}"] for i in range(6)])
        g = float(np.sum((x[3:] - 0.5) ** 2))
        a = x[:3] * np.pi / 2
        return [
            (1 + g) * np.cos(a[0]) * np.cos(a[1]) * np.cos(a[2]),
            (1 + g) * np.cos(a[0]) * np.cos(a[1]) * np.sin(a[2]),
            (1 + g) * np.cos(a[0]) * np.sin(a[1]),
            (1 + g) * np.sin(a[0]),
        ]

    ref = np.full(4, 2.0)
    hv = {}
    for name, sampler in [("tpe", TPESampler(seed=0)), ("random", RandomSampler(seed=0))]:
        study = honed.create_study(sampler=sampler, directions=["minimize"] * 4)
        for _ in range(60):
            t = study.ask(space)
            study.tell(t, dtlz2(t.params))
        hv[name] = hypervolume(np.array([t.values for t in study.trials]), ref)
    assert hv["tpe"] > hv["random"], hv


def test_estimates_use_fewer_samples_only_for_large_fronts() -> None:
    from honed.samplers.tpe._split import _samples_for

    # the sizes of a few hundred trials keep the full sample
    assert _samples_for(200 * 20, 2e7) == 512 and _samples_for(20**2, 2e6) == 512
    # long studies get fewer, never below 32
    assert _samples_for(2000 * 500, 2e7) == 32 and 32 < _samples_for(100**2, 2e6) < 512
    # and a large many-objective split still returns a valid, front-first good set
    losses = np.vstack([_sphere_front(600, 4, seed=5), _sphere_front(50, 4, seed=6) + 1.0])
    n = len(losses)
    below, above = split(
        losses, np.zeros(n), np.zeros(n, bool), np.full(n, -1.0), np.full(n, np.inf), 300
    )
    assert len(below) == 300 and len(above) == n - 300 and below.max() < 600
    w = below_weights(losses[below])
    assert w.shape == (300,) and np.all(w > 0) and w.max() == 1.0
