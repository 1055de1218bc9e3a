"""GPPosterior: the GP's noise-free estimate of a study's objective at evaluated points."""

from __future__ import annotations

import numpy as np
import pytest

import honed
from honed.samplers import GPPosterior
from honed.trial import FrozenTrial, TrialState

SPACE = {"x": honed.Float(0.0, 1.0), "kind": honed.Choice(["a", "b"])}


def _truth(x: float, kind: str) -> float:
    return -((x - 0.3) ** 2) + (0.05 if kind == "b" else 0.0)


def _history(n: int, noise: float, seed: int = 0, objectives: int = 1) -> honed.History:
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n):
        params = {"x": float(rng.random()), "kind": ["a", "b"][i % 2]}
        value = _truth(**params) + noise * rng.standard_normal()
        trials.append(
            FrozenTrial(
                number=i,
                state=TrialState.COMPLETE,
                params=params,
                distributions=SPACE,
                values=(value,) * objectives,
            )
        )
    trials.append(FrozenTrial(number=n, state=TrialState.FAILED))
    return honed.History(trials, [honed.Direction.MAXIMIZE] * objectives)


def test_the_posterior_mean_is_closer_to_the_truth_than_the_noisy_values() -> None:
    history = _history(40, noise=0.05)
    post = GPPosterior(history)
    assert post.n_trials == 40 and list(post.space.names) == ["x", "kind"]
    assert 0.025 < post.noise_sd < 0.1  # the noise it was given: 0.05
    done = history.complete
    mean, sd = post.predict([t.params for t in done])
    truth = np.array([_truth(**t.params) for t in done])
    observed = np.array([t.values[0] for t in done])
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 0.6 * np.sqrt(np.mean((observed - truth) ** 2))
    assert np.all(sd > 0) and np.all(sd < 0.1)


def test_without_noise_the_posterior_interpolates() -> None:
    history = _history(20, noise=0.0)
    post = GPPosterior(history)
    mean, _ = post.predict([t.params for t in history.complete])
    observed = np.array([t.values[0] for t in history.complete])
    assert np.max(np.abs(mean - observed)) < 1e-3
    assert post.noise_sd < 1e-3


def test_bad_inputs_say_what_to_pass() -> None:
    history = _history(10, noise=0.0, objectives=2)
    with pytest.raises(TypeError, match=r"honed\.History"):
        GPPosterior([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="objective must be an index between 0 and 1, got 2"):
        GPPosterior(history, objective=2)
    with pytest.raises(ValueError, match="at least 2 complete trials"):
        GPPosterior(_history(1, noise=0.0))
    with pytest.raises(TypeError, match="GPTuning"):
        GPPosterior(history, tuning={"noise_prior_mean": -2})  # type: ignore[arg-type]
    post = GPPosterior(history, objective=1)
    with pytest.raises(ValueError, match=r"configuration 0 lacks \['kind'\]"):
        post.predict([{"x": 0.5}])
