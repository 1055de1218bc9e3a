"""The simplex suite: its problems, the Optuna workaround encodings, uniform reference draws."""

from __future__ import annotations

import numpy as np
import pytest

from honed import simplex_weights
from honed_bench.optimizers import make_optimizer
from honed_bench.problems import get_problem, select_problems
from honed_bench.problems.simplex import kl_target
from honed_bench.runner import sample_uniform


def test_kl_problems_reach_zero_at_the_target() -> None:
    for k in (3, 5, 10, 20):
        prob = get_problem(f"mixture-kl-{k}")
        p = kl_target(k)
        params = {f"mix.s{i:02d}": float(v) for i, v in enumerate(p)}
        assert abs(prob.evaluate(params)) < 1e-12
        assert prob.evaluate({n: 1 / k for n in params}) > 0


def test_digit_mixtures_are_deterministic_and_weights_matter() -> None:
    prob = get_problem("mixture-digits-5")
    rng = np.random.default_rng(0)
    values = []
    for _ in range(4):
        params = sample_uniform(prob.space, rng)
        a, b = prob.evaluate(params), prob.evaluate(params)
        assert a == b and 0.0 <= a <= 1.0
        values.append(a)
    assert len(set(values)) > 1


def test_reference_draws_are_uniform_on_the_simplex() -> None:
    prob = get_problem("mixture-kl-3")
    rng = np.random.default_rng(1)
    w = np.array(
        [
            list(simplex_weights(sample_uniform(prob.space, rng), "mix").values())
            for _ in range(4000)
        ]
    )
    assert np.all(w.sum(axis=1) == 1.0)
    assert abs(np.mean(w[:, 0] < 0.5) - 0.75) < 0.03  # Beta(1, 2) marginal


@pytest.mark.parametrize("opt", ["optuna:tpe", "optuna:tpe[simplex=exp]", "honed:auto"])
def test_every_adapter_proposes_weights_summing_to_one(opt: str) -> None:
    prob = get_problem("mixture-kl-5")
    adapter = make_optimizer(opt, prob, seed=0, n_trials=12)
    for _ in range(12):
        handle, params = adapter.ask()
        w = simplex_weights(params, "mix")
        assert len(w) == 5 and abs(sum(w.values()) - 1.0) < 1e-12
        assert min(w.values()) >= 0.0
        adapter.tell(handle, [prob.evaluate(params)])


def test_unknown_simplex_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="normalize"):
        make_optimizer("optuna:tpe[simplex=softmax]", get_problem("mixture-kl-3"), seed=0)


def test_the_suite_is_listed() -> None:
    names = {p.name for p in select_problems(["simplex"])}
    assert {"mixture-kl-3", "mixture-kl-20", "mixture-digits-10"} <= names
