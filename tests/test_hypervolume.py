"""Exact hypervolume and exclusive contributions, checked against brute-force computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from honed.analysis import hypervolume, hypervolume_contributions, pareto_mask


def brute_hypervolume(pts: np.ndarray, ref: np.ndarray) -> float:
    """Exact volume on the grid of all coordinates: a cell counts when a point dominates its
    lower corner."""
    pts = np.asarray(pts, dtype=float).reshape(-1, len(ref))
    axes = [np.unique(np.append(np.clip(pts[:, j], None, ref[j]), ref[j])) for j in range(len(ref))]
    total = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lo = np.array([axes[j][c] for j, c in enumerate(cell)])
        hi = np.array([axes[j][c + 1] for j, c in enumerate(cell)])
        if len(pts) and np.any(np.all(pts <= lo, axis=1)):
            total += float(np.prod(hi - lo))
    return total


def _cases(m: int, n_cases: int, max_n: int, seed: int):
    rng = np.random.default_rng(seed)
    for k in range(n_cases):
        n = int(rng.integers(1, max_n + 1))
        pts = rng.random((n, m))
        if k % 3 == 0:
            pts = np.round(pts * 4) / 4  # ties, duplicates, points on the reference edge
        ref = np.full(m, rng.uniform(0.7, 1.2))
        yield pts, ref


@pytest.mark.parametrize(("m", "max_n"), [(1, 8), (2, 12), (3, 10), (4, 7), (5, 6)])
def test_hypervolume_matches_brute_force(m: int, max_n: int) -> None:
    for pts, ref in _cases(m, 15, max_n, seed=m):
        assert hypervolume(pts, ref) == pytest.approx(brute_hypervolume(pts, ref), abs=1e-12)


@pytest.mark.parametrize(("m", "max_n"), [(1, 6), (2, 10), (3, 8), (4, 6)])
def test_contributions_match_leave_one_out(m: int, max_n: int) -> None:
    for pts, ref in _cases(m, 10, max_n, seed=10 + m):
        full = brute_hypervolume(pts, ref)
        contrib = hypervolume_contributions(pts, ref)
        for i in range(len(pts)):
            rest = np.delete(pts, i, axis=0)
            assert contrib[i] == pytest.approx(full - brute_hypervolume(rest, ref), abs=1e-12)


def test_known_values() -> None:
    stairs = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    assert hypervolume(stairs, [4.0, 4.0]) == pytest.approx(6.0)
    assert hypervolume_contributions(stairs, [4.0, 4.0]) == pytest.approx([1.0, 1.0, 1.0])
    assert hypervolume([[0.0, 0.0, 0.0]], [1.0, 2.0, 3.0]) == pytest.approx(6.0)
    # Outside or on the reference point: nothing.
    assert hypervolume([[1.0, 0.0], [0.5, 2.0]], [1.0, 1.0]) == 0.0
    assert hypervolume(np.empty((0, 3)), [1.0, 1.0, 1.0]) == 0.0
    # A dominated point changes nothing; an exact duplicate contributes 0.
    assert hypervolume([[0.2, 0.2], [0.5, 0.5]], [1.0, 1.0]) == pytest.approx(0.64)
    dup = np.array([[0.2, 0.5], [0.2, 0.5], [0.6, 0.1]])
    assert hypervolume_contributions(dup, [1.0, 1.0])[:2].tolist() == [0.0, 0.0]


def test_sphere_front_converges_to_analytic_volume() -> None:
    # Points on the unit sphere's positive orthant (DTLZ2's front): the dominated volume in
    # [0, 1]^3 tends to 1 - pi/6 as the sample gets denser.
    rng = np.random.default_rng(0)
    w = np.abs(rng.normal(size=(3000, 3)))
    pts = w / np.linalg.norm(w, axis=1, keepdims=True)
    hv = hypervolume(pts, np.ones(3))
    assert 0.95 * (1 - math.pi / 6) < hv < 1 - math.pi / 6


def test_three_and_four_objectives_agree_with_monte_carlo() -> None:
    rng = np.random.default_rng(1)
    for m in (3, 4):
        pts = rng.random((60, m)) ** 0.5
        pts = pts / np.linalg.norm(pts, axis=1, keepdims=True)
        ref = np.full(m, 1.1)
        samples = rng.random((100_000, m)) * ref
        covered = np.zeros(len(samples), dtype=bool)
        for p in pts:
            covered |= np.all(samples >= p, axis=1)
        mc = covered.mean() * float(np.prod(ref))
        se = math.sqrt(covered.mean() * (1 - covered.mean()) / len(samples)) * np.prod(ref)
        assert abs(hypervolume(pts, ref) - mc) < 4 * se


def test_removing_a_point_loses_its_contribution_in_3d() -> None:
    rng = np.random.default_rng(2)
    pts = rng.random((40, 3))
    ref = np.full(3, 1.0)
    full = hypervolume(pts, ref)
    contrib = hypervolume_contributions(pts, ref)
    assert np.all(contrib >= 0)
    assert np.all(contrib[~pareto_mask(pts)] == 0)
    for i in np.argsort(-contrib)[:5]:
        assert full - hypervolume(np.delete(pts, i, 0), ref) == pytest.approx(contrib[i])


def test_large_fronts_are_fast_enough_to_finish() -> None:
    # 2-D and 3-D sweeps on thousands of points (this would take minutes if quadratic in Python).
    rng = np.random.default_rng(3)
    for m, n in ((2, 20_000), (3, 3000)):
        w = np.abs(rng.normal(size=(n, m)))
        pts = w / np.linalg.norm(w, axis=1, keepdims=True)
        assert 0 < hypervolume(pts, np.full(m, 1.1)) < 1.1**m


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="reference point"):
        hypervolume(np.zeros((3, 2)), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        hypervolume([[np.nan, 0.0]], [1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        hypervolume([[0.0, 0.0]], [1.0, np.inf])
    with pytest.raises(ValueError, match="-inf"):
        hypervolume_contributions([[-np.inf, 0.0, 0.5]], [1.0, 1.0, 1.0])
    # +inf is simply outside the box.
    assert hypervolume([[np.inf, 0.0], [0.5, 0.5]], [1.0, 1.0]) == pytest.approx(0.25)


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_contributions_keep_their_scale(m: int) -> None:
    """Losses on a tiny scale (error rates, seconds/1e6) keep contributions of the same shape:
    scaling losses and reference by ``s`` scales every contribution by ``s**m``, with no
    absolute cut-off that would set small ones to 0, dominated points taking part."""
    rng = np.random.default_rng(10 + m)
    pts = rng.random((30, m))
    ref = np.full(m, 1.1)
    base = hypervolume_contributions(pts, ref)
    assert (base > 0).sum() >= 3
    for s in (1e-3, 1e3):
        np.testing.assert_allclose(
            hypervolume_contributions(pts * s, ref * s), base * s**m, rtol=1e-9, atol=0
        )
