"""NSGA-II / NSGA-III: ranking, constraint-domination, selection, and proposals as a pure
function of the History."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import honed
from honed.analysis import hypervolume
from honed.history import History
from honed.pareto import (
    constrained_ranks,
    crowding_distance,
    dominates,
    non_dominated_ranks,
    reference_points,
)
from honed.samplers import get_sampler
from honed.samplers.nsga import NSGAIIISampler, NSGAIISampler
from honed.space import Choice, Float, Int, SearchSpace
from honed.testing.samplers import SamplerTests
from honed.trial import Direction, FrozenTrial, TrialState


def _zdt1(params: dict) -> tuple[float, float]:
    x = np.array([params[f"x{i}"] for i in range(30)], dtype=float)
    f1 = float(x[0])
    g = 1.0 + 9.0 * float(np.sum(x[1:])) / 29
    return f1, g * (1.0 - math.sqrt(f1 / g))


# ZDT1 as honed-bench defines it: 30 parameters in [0, 1], two objectives, both minimized.
ZDT1 = SimpleNamespace(
    space={f"x{i}": Float(0.0, 1.0) for i in range(30)},
    directions=("minimize", "minimize"),
    reference_point=(1.1, 7.0),
    evaluate=_zdt1,
)


ALL_KINDS = {
    "f": Float(-2.0, 3.0),
    "flog": Float(1e-4, 1.0, log=True),
    "fstep": Float(0.0, 1.0, step=0.25),
    "i": Int(-3, 7),
    "ilog": Int(1, 1024, log=True),
    "istep": Int(0, 20, step=5),
    "c": Choice(["a", 1, 2.5, True, None]),
    "single": Float(1.0, 1.0),
}


def _complete(number: int, params: dict, values, constraints=None, space=ALL_KINDS) -> FrozenTrial:
    return FrozenTrial(
        number=number,
        state=TrialState.COMPLETE,
        params=params,
        distributions={k: space[k] for k in params},
        values=tuple(values),
        constraints=None if constraints is None else tuple(constraints),
    )


def test_non_dominated_ranks_follow_the_definition() -> None:
    rng = np.random.default_rng(0)
    losses = np.round(rng.random((40, 3)) * 5)
    ranks = non_dominated_ranks(losses)
    for i in range(len(losses)):
        dominators = [j for j in range(len(losses)) if dominates(losses[j], losses[i])]
        # Rank 0 exactly when nobody dominates; otherwise one more than the best dominator's.
        if not dominators:
            assert ranks[i] == 0
        else:
            assert ranks[i] == 1 + max(ranks[j] for j in dominators)


def test_constraint_domination_order() -> None:
    losses = np.array([[1.0, 1.0], [0.0, 0.0], [2.0, 0.5], [5.0, 5.0], [3.0, 3.0], [9.0, 9.0]])
    violations = np.array([0.0, 2.0, 0.0, 0.0, 0.5, 2.0])
    ranks = constrained_ranks(losses, violations)
    # Feasible first by Pareto rank: (1,1) and (2,.5) front 0, (5,5) front 1; then infeasible
    # by total violation, whatever their objectives: 0.5 before the two 2.0s (tied).
    assert ranks.tolist() == [0, 3, 0, 1, 2, 3]


def test_crowding_distance_values() -> None:
    losses = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])
    cd = crowding_distance(losses)
    assert np.isinf(cd[0]) and np.isinf(cd[3])
    assert cd[1] == pytest.approx(3 / 4 + 3 / 4)
    assert cd[2] == pytest.approx(3 / 4 + 3 / 4)


def test_reference_points_lie_on_the_simplex() -> None:
    refs = reference_points(4, 5)
    assert len(refs) == 56  # C(4 + 5 - 1, 5)
    assert np.allclose(refs.sum(axis=1), 1.0)
    assert len({tuple(r) for r in refs}) == 56


def test_sampler_selects_feasible_parents_first_from_history() -> None:
    # Hand-built history: 4 trials of generation 0; parents for generation 1 (population 2).
    space = {"x": Float(0.0, 1.0)}
    trials = [
        _complete(0, {"x": 0.1}, (0.0, 0.0), constraints=(1.0,), space=space),  # best, infeasible
        _complete(1, {"x": 0.2}, (3.0, 3.0), constraints=(0.0,), space=space),  # feasible
        _complete(2, {"x": 0.3}, (5.0, 5.0), constraints=(-1.0,), space=space),  # feasible, worse
        _complete(3, {"x": 0.4}, (0.1, 0.1), constraints=(0.2,), space=space),  # least violation
    ]
    history = History(trials, [Direction.MINIMIZE] * 2)
    sampler = NSGAIISampler(seed=0, population_size=2)
    losses = history.losses()
    violations = np.array([1.0, 0.0, 0.0, 0.2])
    chosen, _, _ = sampler.select(losses, violations)
    assert sorted(chosen.tolist()) == [1, 2]
    sampler3 = NSGAIISampler(seed=0, population_size=3)
    chosen3, _, _ = sampler3.select(losses, violations)
    assert sorted(chosen3.tolist()) == [1, 2, 3]
    # A child of generation 1 (trial 2 * 2 = 4) comes from those parents: SBX children stay
    # within the parents' span here when mutation is off and eta is large.
    s = NSGAIISampler(seed=1, population_size=2, mutation_prob=0.0, eta_crossover=200.0)
    child = s.sample_relative(
        history,
        FrozenTrial(number=4, state=TrialState.RUNNING),
        SearchSpace(space),
    )
    assert 0.15 <= child["x"] <= 0.35


@pytest.mark.parametrize("cls", [NSGAIISampler, NSGAIIISampler])
@pytest.mark.parametrize("n_objectives", [1, 2, 4])
def test_every_kind_gets_valid_values(cls: type, n_objectives: int) -> None:
    study = honed.create_study(
        directions=["minimize"] * n_objectives, sampler=cls(seed=3, population_size=6)
    )
    for _ in range(30):
        trial = study.ask(ALL_KINDS)
        p = trial.params
        for k, d in ALL_KINDS.items():
            assert d.contains(p[k]), (k, p[k])
        x = float(p["f"]) + float(np.log10(p["flog"])) + p["i"] + (p["c"] == "a")
        study.tell(trial, [x + j * p["fstep"] for j in range(n_objectives)])
    assert len(study.trials) == 30


def test_same_seed_same_proposals_and_cache_does_not_change_answers() -> None:
    problem = ZDT1

    def run(seed: int) -> tuple[list[dict], History]:
        study = honed.create_study(
            directions=list(problem.directions),
            sampler=NSGAIISampler(seed=seed, population_size=8),
        )
        for _ in range(40):
            t = study.ask(problem.space)
            study.tell(t, problem.evaluate(dict(t.params)))
        return [dict(t.params) for t in study.trials], study._history()

    a, history = run(5)
    b, _ = run(5)
    assert a == b
    assert a != run(6)[0]
    # A fresh sampler (cold: no cache) proposes for trial 40 what the warmed one proposes.
    warm = NSGAIISampler(seed=5, population_size=8)
    space = SearchSpace(problem.space)
    nxt = FrozenTrial(number=40, state=TrialState.RUNNING)
    for n in range(16, 41):
        sub = History([t for t in history if t.number < n], history.directions)
        warm.sample_relative(sub, FrozenTrial(number=n, state=TrialState.RUNNING), space)
    cold = NSGAIISampler(seed=5, population_size=8)
    assert warm.sample_relative(history, nxt, space) == cold.sample_relative(history, nxt, space)


def test_running_trials_are_pending_not_parents() -> None:
    space = {"x": Float(0.0, 1.0)}
    trials = [_complete(i, {"x": i / 10}, (i, -i), space=space) for i in range(3)]
    trials.append(FrozenTrial(number=3, state=TrialState.RUNNING, params={"x": 0.9}))
    history = History(trials, [Direction.MINIMIZE] * 2)
    s = NSGAIISampler(seed=0, population_size=4)
    # Trial 4 starts generation 1, parents from trials 0-2 (3 is still running).
    child = s.sample_relative(
        history, FrozenTrial(number=4, state=TrialState.RUNNING), SearchSpace(space)
    )
    assert 0.0 <= child["x"] <= 1.0
    ((pool, _),) = s._cache.values()
    assert [t.number for t in pool] == [0, 1, 2]


def test_nsga2_beats_random_on_zdt1() -> None:
    problem = ZDT1
    ref = np.array(problem.reference_point)

    def hv(sampler) -> float:
        study = honed.create_study(directions=list(problem.directions), sampler=sampler)
        losses = []
        for _ in range(200):
            t = study.ask(problem.space)
            v = problem.evaluate(dict(t.params))
            study.tell(t, v)
            losses.append(v)
        return hypervolume(np.array(losses), ref)

    assert hv(NSGAIISampler(seed=0)) > 1.05 * hv(get_sampler("random", seed=0))


def test_nsga3_niching_spreads_the_last_front() -> None:
    # One front of 4-objective points: a tight cluster near one axis plus a few spread points.
    rng = np.random.default_rng(0)
    cluster = np.array([1.0, 0.0, 0.0, 0.0]) + rng.random((20, 4)) * 0.01
    spread = np.eye(4)[1:] + 0.001
    losses = np.vstack([cluster, spread])
    losses = losses / losses.sum(
        axis=1, keepdims=True
    )  # all on one simplex: mutually non-dominated
    assert (non_dominated_ranks(losses) == 0).all()
    s3 = NSGAIIISampler(seed=0, population_size=4)
    chosen, _, _ = s3.select(losses, np.zeros(len(losses)))
    # Reference-point niching keeps every spread point, not four cluster members.
    assert {20, 21, 22} <= set(chosen.tolist())
    # "auto" picks reference points from 4 objectives on.
    assert NSGAIISampler()._uses_reference(4) and not NSGAIISampler()._uses_reference(3)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="population_size"):
        NSGAIISampler(population_size=1)
    with pytest.raises(ValueError, match="selection"):
        NSGAIISampler(selection="nearest")
    with pytest.raises(ValueError, match="crossover_prob"):
        NSGAIISampler(crossover_prob=1.5)


def _two_objectives(trial: honed.Trial) -> tuple[float, float]:
    x = trial.float("x", 0.0, 1.0)
    y = trial.float("y", 0.0, 1.0)
    c = trial.choice("c", ["near", "far"])
    g = 1.0 + y + 5.0 * (c == "far")
    return x, g * (1.0 - (x / g) ** 0.5)


def test_parallel_worker_processes(sqlite_url: str) -> None:
    study = honed.create_study(
        storage=sqlite_url,
        directions=["minimize", "minimize"],
        sampler=NSGAIISampler(seed=0, population_size=8),
    )
    study.optimize(_two_objectives, n_trials=40, n_jobs=2, executor="process", show_progress=False)
    trials = study.trials
    assert len(trials) == 40 and all(t.state is TrialState.COMPLETE for t in trials)
    # Which trials finish first varies between runs, so only robust facts are checked: the
    # front holds the better category, and every value is valid.
    assert any(t.params["c"] == "near" for t in study.best_trials)
    assert all(t.params["c"] in ("near", "far") and 0 <= t.params["x"] <= 1 for t in trials)


def test_hypervolume_truncation_keeps_the_extremes_and_drops_crowded_points() -> None:
    # A 2-D front with two near-duplicates in the middle: the hypervolume cut drops one of them.
    losses = np.array([[0.0, 1.0], [0.5, 0.5], [0.5001, 0.4999], [1.0, 0.0], [0.25, 0.8]])
    s = NSGAIISampler(population_size=4, selection="hypervolume")
    chosen, _, _ = s.select(losses, np.zeros(len(losses)))
    kept = set(chosen.tolist())
    assert {0, 3, 4} <= kept and len(kept & {1, 2}) == 1


@pytest.mark.parametrize(
    ("crossover", "mutation"),
    [("sbx", "polynomial"), ("uniform", "uniform"), ("sbx", "mixed")],
)
def test_variation_operators_stay_in_range(crossover: str, mutation: str) -> None:
    space = {"x": Float(0.0, 1.0), "i": Int(0, 3), "c": Choice(["a", "b"])}
    study = honed.create_study(
        directions=["minimize", "minimize"],
        sampler=NSGAIISampler(
            seed=0, population_size=6, crossover=crossover, mutation=mutation, mutation_prob=1.0
        ),
    )
    for _ in range(30):
        t = study.ask(space)
        assert all(d.contains(t.params[k]) for k, d in space.items())
        study.tell(t, [t.params["x"], 1 - t.params["x"] + t.params["i"]])
    with pytest.raises(ValueError, match="mutation"):
        NSGAIISampler(mutation="gaussian")


class TestNSGAIIConformance(SamplerTests):
    """The shared sampler checks, with enough trials for bred generations."""

    n_trials = 24

    def make_sampler(self, seed, space):
        return NSGAIISampler(seed=seed, population_size=6)


class TestNSGAIIIConformance(TestNSGAIIConformance):
    def make_sampler(self, seed, space):
        return NSGAIIISampler(seed=seed, population_size=6)


def test_thread_workers_and_pickling() -> None:
    import pickle

    problem = ZDT1

    def objective(trial: honed.Trial) -> tuple[float, ...]:
        params = {k: trial.float(k, d.low, d.high) for k, d in problem.space.items()}
        return problem.evaluate(params)

    study = honed.create_study(
        directions=list(problem.directions), sampler=NSGAIISampler(seed=0, population_size=8)
    )
    study.optimize(objective, n_trials=48, n_jobs=3, executor="thread", show_progress=False)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    clone = pickle.loads(pickle.dumps(study.sampler))
    nxt = FrozenTrial(number=48, state=TrialState.RUNNING)
    space = SearchSpace(problem.space)
    history = study._history()
    assert clone.sample_relative(history, nxt, space) == study.sampler.sample_relative(
        history, nxt, space
    )
