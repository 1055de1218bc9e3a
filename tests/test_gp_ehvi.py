"""log EHVI: the box decomposition against exact hypervolume, the expectation against Monte
Carlo, and the gradient against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from honed.pareto import hypervolume, non_dominated_mask, nondominated_boxes
from honed.samplers.gp._ehvi import LogEHVI
from honed.samplers.gp._model import fit_gp


def _front(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    pts = rng.random((n, m))
    return pts[non_dominated_mask(pts)]


def _improvement(lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> float:
    return float(np.prod(np.maximum(0.0, upper - np.maximum(y, lower)), axis=1).sum())


@pytest.mark.parametrize("m", [2, 3])
def test_boxes_give_the_exact_hypervolume_improvement(m: int) -> None:
    rng = np.random.default_rng(m)
    ref = np.full(m, 1.1)
    for _ in range(20):
        front = _front(rng, 25, m)
        lower, upper = nondominated_boxes(front, ref)
        y = rng.random(m) * 1.2 - 0.1
        expected = hypervolume(np.vstack([front, y]), ref) - hypervolume(front, ref)
        assert _improvement(lower, upper, y) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_boxes_are_disjoint_and_outside_the_dominated_region() -> None:
    rng = np.random.default_rng(7)
    front = _front(rng, 30, 3)
    ref = np.full(3, 1.0)
    lower, upper = nondominated_boxes(front, ref)
    # A sample point lies in at most one box and never in a dominated one.
    pts = rng.random((4000, 3))
    inside = np.all((pts[:, None, :] > lower[None]) & (pts[:, None, :] < upper[None]), axis=2)
    assert inside.sum(axis=1).max() <= 1
    dominated = np.any(np.all(front[None, :, :] <= pts[:, None, :], axis=2), axis=1)
    assert not np.any(inside.any(axis=1) & dominated)
    assert np.all(inside.any(axis=1) | dominated)


def test_empty_front_gives_one_box_below_the_reference() -> None:
    lower, upper = nondominated_boxes(np.empty((0, 2)), np.array([1.0, 2.0]))
    assert lower.shape == (1, 2) and np.all(np.isinf(lower))
    assert upper.tolist() == [[1.0, 2.0]]


def _models(m: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.random((25, 2))
    gps = []
    for j in range(m):
        y = np.sin(3 * x[:, 0] + j) + (x[:, 1] - 0.3 * j) ** 2
        y = (y - y.mean()) / y.std()
        gps.append(fit_gp(x, y, np.zeros(2, dtype=bool), rng))
    return gps


@pytest.mark.parametrize("m", [2, 3])
def test_ehvi_matches_monte_carlo(m: int) -> None:
    gps = _models(m, seed=m)
    rng = np.random.default_rng(0)
    front = _front(rng, 12, m) * 2.0 - 1.5
    ref = np.full(m, 1.0)
    acq = LogEHVI(gps, front, ref)
    lower, upper = acq.lower, acq.upper
    x = rng.random((5, 2))
    got = np.exp(acq(x))
    for i in range(len(x)):
        mus, sds = zip(*[(gp.predict(x[i : i + 1])) for gp in gps], strict=True)
        mu = np.array([float(v[0]) for v in mus])
        sd = np.sqrt(np.array([float(v[0]) for v in sds]))
        draws = mu + sd * rng.standard_normal((20000, m))
        hvi = np.prod(
            np.maximum(0.0, upper[None] - np.maximum(draws[:, None, :], lower[None])), axis=2
        ).sum(axis=1)
        mc, se = hvi.mean(), hvi.std() / np.sqrt(len(hvi))
        assert abs(got[i] - mc) <= 4 * se + 1e-9


def test_gradient_matches_finite_differences() -> None:
    gps = _models(2, seed=3)
    rng = np.random.default_rng(1)
    front = _front(rng, 10, 2) * 2.0 - 1.5
    acq = LogEHVI(gps, front, np.full(2, 1.5))
    x = rng.random((6, 2)) * 0.8 + 0.1
    val, g = acq(x, grad=True)
    assert np.all(np.isfinite(val))
    eps = 1e-6
    for k in range(2):
        dx = np.zeros_like(x)
        dx[:, k] = eps
        fd = (acq(x + dx) - acq(x - dx)) / (2 * eps)
        np.testing.assert_allclose(g[:, k], fd, rtol=1e-3, atol=1e-5)


def test_log_ehvi_stays_finite_where_improvement_underflows() -> None:
    gps = _models(2, seed=5)
    front = np.array([[-5.0, -5.0]])
    acq = LogEHVI(gps, front, np.array([-4.9, -4.9]))
    vals = acq(np.random.default_rng(0).random((8, 2)))
    assert np.all(np.isfinite(vals))


def _zdt1(trial) -> tuple[float, float]:
    xs = [trial.float(f"x{i}", 0.0, 1.0) for i in range(3)]
    g = 1.0 + 9.0 * sum(xs[1:]) / 2.0
    return xs[0], g * (1.0 - np.sqrt(xs[0] / g))


@pytest.mark.parametrize("seed", [0, 1])
def test_gp_sampler_with_ehvi_beats_random_search_on_hypervolume(seed: int) -> None:
    import honed
    from honed.samplers.gp import GPSampler

    def hv(sampler) -> float:
        study = honed.create_study(directions=["minimize", "minimize"], sampler=sampler)
        study.optimize(_zdt1, n_trials=30)
        vals = np.array([t.values for t in study.trials])
        return hypervolume(vals, np.array([1.1, 11.0]))

    assert hv(GPSampler(seed=seed)) > hv(honed.samplers.RandomSampler(seed=seed))


def test_gp_sampler_rejects_an_unknown_multi_objective_method() -> None:
    from honed.samplers.gp import GPSampler

    with pytest.raises(ValueError, match="multi_objective must be 'ehvi' or 'parego'"):
        GPSampler(multi_objective="qehvi")
