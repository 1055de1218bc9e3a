"""The Nevergrad peer (flat, conditional and simplex spaces, failed evaluations, seeding) and
``optuna:auto`` (OptunaHub's AutoSampler, loaded from a local registry folder or refused with
the reason)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

from honed.space import Choice, Float, Int, flatten_space, load_space
from honed_bench.adapter import MissingOptimizerError
from honed_bench.optimizers import available_optimizers, check_optimizer, make_optimizer
from honed_bench.problems import get_problem
from honed_bench.problems.base import Problem
from honed_bench.runner import run_one

FLAT_SPACE = {
    "lr": Float(1e-4, 1.0, log=True),
    "x": Float(-3.0, 2.0),
    "w": Float(0.0, 1.0, step=0.25),
    "n": Int(2, 20, step=2),
    "k": Int(1, 64, log=True),
    "depth": Int(1, 8),
    "fixed": Int(3, 3),
    "flag": Choice([False, True, None]),
}


def _flat_loss(params: dict[str, Any]) -> float:
    return (
        (math.log10(params["lr"]) + 2) ** 2
        + params["x"] ** 2
        + params["w"]
        + params["n"] / 20
        + math.log(params["k"])
        + params["depth"] / 8
        + (params["flag"] is None)
    )


def _drive(name: str, problem: Problem, seed: int, n: int) -> tuple[Any, list[dict[str, Any]]]:
    """The runner's loop, keeping every asked params dict (failures told as None). Warnings
    are ignored as the runner ignores them (NGOpt's delegates warn freely, e.g. COBYLA)."""
    asked = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adapter = make_optimizer(name, problem, seed, n)
        for _ in range(n):
            handle, params = adapter.ask()
            asked.append(params)
            try:
                value: float | None = float(problem.evaluate(params))  # type: ignore[arg-type]
            except ValueError:
                value = None
            adapter.tell(handle, None if value is None else [value])
    return adapter, asked


@pytest.mark.parametrize("name", ["nevergrad:ngopt", "nevergrad:random"])
def test_nevergrad_suggests_every_flat_parameter_inside_its_distribution(name: str) -> None:
    pytest.importorskip("nevergrad")
    problem = Problem("flat", "test", FLAT_SPACE, _flat_loss)
    adapter, asked = _drive(name, problem, seed=0, n=20)
    seen_flags = set()
    for params in asked:
        assert set(params) == set(FLAT_SPACE)
        for key, value in params.items():
            assert FLAT_SPACE[key].contains(value), (key, value)
        assert all(type(params[k]) is int for k in ("n", "k", "depth", "fixed"))
        assert params["fixed"] == 3
        seen_flags.add(params["flag"])
    assert adapter.optimizer.num_ask == adapter.optimizer.num_tell == 20
    if name == "nevergrad:random":
        assert seen_flags == {False, True, None}  # every option round-trips through its index


def test_nevergrad_passes_only_the_active_branch_of_a_conditional_space() -> None:
    pytest.importorskip("nevergrad")
    problem = get_problem("conditional-synthetic")
    flat = flatten_space(load_space(problem.space))
    branches = problem.space["family"].branches
    families = set()
    for name in ("nevergrad:ngopt", "nevergrad:random"):
        _, asked = _drive(name, problem, seed=1, n=30)
        for params in asked:
            family = params["family"]
            assert set(params) == {"family", *branches[family]}, params
            for key, value in params.items():
                assert flat[key].contains(value), (key, value)
            if name == "nevergrad:random":
                families.add(family)
    assert families == set(branches)


def test_nevergrad_goes_on_through_failed_evaluations() -> None:
    pytest.importorskip("nevergrad")

    def half_fails(params: dict[str, Any]) -> float:
        if params["x"] > 0.0:
            raise ValueError("diverged")
        return params["x"] ** 2 + params["y"] ** 2

    space = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}
    problem = Problem("half-fails", "test", space, half_fails, directions=("maximize",))
    adapter, asked = _drive("nevergrad:ngopt", problem, seed=0, n=24)
    failed = [p for p in asked if p["x"] > 0.0]
    assert 0 < len(failed) < 24
    assert adapter.optimizer.num_tell == 24
    # A failure is told as the worst loss there is, so it is never the recommendation.
    best = adapter.optimizer.provide_recommendation().value
    assert best["x"] <= 0.0


def test_nevergrad_is_seeded_by_the_benchmark_seed() -> None:
    pytest.importorskip("nevergrad")
    problem = Problem("flat", "test", FLAT_SPACE, _flat_loss)
    first = _drive("nevergrad:ngopt", problem, seed=3, n=8)[1]
    assert _drive("nevergrad:ngopt", problem, seed=3, n=8)[1] == first
    assert _drive("nevergrad:ngopt", problem, seed=4, n=8)[1] != first


def test_nevergrad_simplex_weights_sum_to_one_and_multiobjective_is_refused() -> None:
    pytest.importorskip("nevergrad")
    problem = get_problem("mixture-kl-3")
    simplex = next(iter(problem.space.values()))
    _, asked = _drive("nevergrad:ngopt", problem, seed=0, n=6)
    for params in asked:
        weights = [v for k, v in params.items() if "." in k]
        assert len(weights) == len(simplex.components)
        assert sum(weights) == pytest.approx(1.0)
        assert min(weights) >= simplex.min_weight - 1e-12
    with pytest.raises(MissingOptimizerError, match="single-objective"):
        make_optimizer("nevergrad:ngopt", get_problem("zdt1"), 0, 5)
    with pytest.raises(ValueError, match="no options"):
        make_optimizer("nevergrad:ngopt[popsize=4]", get_problem("branin"), 0, 5)


def test_optuna_auto_is_unavailable_without_a_local_registry_and_says_why(
    monkeypatch, tmp_path
) -> None:
    pytest.importorskip("optunahub")
    monkeypatch.delenv("HONED_BENCH_OPTUNAHUB_REGISTRY", raising=False)
    with pytest.raises(MissingOptimizerError, match=r"no package registry.*not set"):
        check_optimizer("optuna:auto")
    status = dict(available_optimizers())["optuna:auto"]
    assert status.startswith("unavailable:") and "HONED_BENCH_OPTUNAHUB_REGISTRY" in status
    monkeypatch.setenv("HONED_BENCH_OPTUNAHUB_REGISTRY", str(tmp_path))
    with pytest.raises(MissingOptimizerError, match="holds no samplers/auto_sampler"):
        check_optimizer("optuna:auto")


def test_optuna_auto_loads_the_sampler_from_a_local_registry(monkeypatch, tmp_path) -> None:
    pytest.importorskip("optunahub")
    pytest.importorskip("optuna")
    # A stand-in for the registry's samplers/auto_sampler package, laid out as OptunaHub's is
    # (a package whose __init__ imports AutoSampler from a sibling module).
    package = tmp_path / "samplers" / "auto_sampler"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ._sampler import AutoSampler\n")
    (package / "_sampler.py").write_text(
        "import optuna\n\n"
        "SEEDS = []\n\n"
        "class AutoSampler(optuna.samplers.RandomSampler):\n"
        "    def __init__(self, *, seed=None):\n"
        "        SEEDS.append(seed)\n"
        "        super().__init__(seed=seed)\n"
    )
    monkeypatch.setenv("HONED_BENCH_OPTUNAHUB_REGISTRY", str(tmp_path))
    check_optimizer("optuna:auto")
    adapter = make_optimizer("optuna:auto", get_problem("branin"), 7, 5)
    assert type(adapter.study.sampler).__name__ == "AutoSampler"
    assert type(adapter.study.sampler).__module__.endswith("auto_sampler._sampler")
    assert __import__("sys").modules[type(adapter.study.sampler).__module__].SEEDS == [7]
    for _ in range(5):
        handle, params = adapter.ask()
        assert set(params) == {"x0", "x1"}
        adapter.tell(handle, [1.0])
    assert len(adapter.study.trials) == 5


def test_smac_goes_on_past_crashed_evaluations() -> None:
    # A crash told with an infinite cost made SMAC's random forest fail on NaN targets and
    # sank every run on a problem that fails in a region (the dev suite's failing family).
    trace = run_one("smac:hpo", "dev-failing-solver-choice", 0, 20)
    assert trace["n_failed"] >= 1
    assert sum(v is not None for v in trace["values"]) >= 1
    assert len(trace["values"]) == 20
