"""CMA-ES rebuilt from the History: reproducibility, convergence, integers, restarts, warm
starts, and cached replay equal to cold replay."""

from __future__ import annotations

import numpy as np
import pytest

import honed
from honed.history import History
from honed.samplers import RandomSampler, get_sampler
from honed.samplers.cmaes import CmaEsSampler
from honed.space import Choice, Float, Int, SearchSpace
from honed.testing.samplers import SamplerTests
from honed.trial import Direction, FrozenTrial, TrialState

ALL_KINDS = {
    "f": Float(-2.0, 3.0),
    "flog": Float(1e-4, 1.0, log=True),
    "fstep": Float(0.0, 1.0, step=0.25),
    "i": Int(-3, 7),
    "ilog": Int(1, 1024, log=True),
    "istep": Int(0, 20, step=5),
    "c": Choice(["a", 1, 2.5, True, None]),
    "single": Int(4, 4),
}


def drive(sampler: CmaEsSampler, space: dict, objective, n: int) -> list[FrozenTrial]:
    """Sequential trials on a plain History, without a study: the sampler sees only records."""
    sspace = SearchSpace(space)
    trials: list[FrozenTrial] = []
    for number in range(n):
        history = History(trials, [Direction.MINIMIZE])
        running = FrozenTrial(number=number, state=TrialState.RUNNING)
        rel_space = sampler.infer_relative_space(history, running, sspace)
        params = sampler.sample_relative(history, running, rel_space)
        for k, d in space.items():
            if k not in params:
                params[k] = sampler.sample_independent(history, running, k, d)
        trials.append(
            FrozenTrial(
                number=number,
                state=TrialState.COMPLETE,
                params=params,
                distributions=dict(space),
                values=(float(objective(params)),),
            )
        )
    return trials


def sphere(p: dict) -> float:
    return sum((v - 0.3) ** 2 for v in p.values())


def test_same_seed_same_trials_and_different_seed_differs() -> None:
    space = {f"x{i}": Float(-1.0, 1.0) for i in range(3)}
    a = drive(CmaEsSampler(seed=1), space, sphere, 40)
    b = drive(CmaEsSampler(seed=1), space, sphere, 40)
    c = drive(CmaEsSampler(seed=2), space, sphere, 40)
    assert [t.params for t in a] == [t.params for t in b]
    assert [t.params for t in a] != [t.params for t in c]


def test_converges_on_a_sphere() -> None:
    space = {f"x{i}": Float(-1.0, 1.0) for i in range(4)}
    trials = drive(CmaEsSampler(seed=0), space, sphere, 300)
    best = min(t.values[0] for t in trials)
    assert best < 1e-4
    # Random search with the same budget is orders of magnitude worse.
    assert best < 1e-2 * min(t.values[0] for t in drive(_Random(0), space, sphere, 300))


class _Random(CmaEsSampler):
    """CMA-ES whose joint space is empty: everything comes from the random fallback."""

    def infer_relative_space(self, history, trial, declared_space=None):
        return SearchSpace({})


def test_integer_dimensions_keep_moving() -> None:
    space = {f"n{i}": Int(0, 10) for i in range(4)}
    space["x"] = Float(0.0, 1.0)

    def f(p: dict) -> float:
        return sum((p[f"n{i}"] - 3) ** 2 for i in range(4)) + (p["x"] - 0.5) ** 2

    sampler = CmaEsSampler(seed=1)
    trials = drive(sampler, space, f, 250)
    best = min(trials, key=lambda t: t.values[0])
    assert all(best.params[f"n{i}"] == 3 for i in range(4))
    # Long after converging, the margin still proposes neighbours of the optimum: the
    # integer coordinates have not collapsed onto a single value.
    late = trials[-60:]
    for i in range(4):
        assert len({t.params[f"n{i}"] for t in late}) >= 2
    state = sampler.state(History(trials, [Direction.MINIMIZE]), SearchSpace(space))
    assert type(state.optimizer).__name__ == "CMAwM"


@pytest.mark.parametrize("restart", ["ipop", "bipop"])
def test_restarts_after_convergence(restart: str) -> None:
    # A flat function: the optimizer's tolfun criterion fires after ~20 generations.
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}
    sampler = CmaEsSampler(seed=0, restart=restart)
    trials = drive(sampler, space, lambda p: 1.0, 260)
    state = sampler.state(History(trials, [Direction.MINIMIZE]), SearchSpace(space))
    assert state.n_restarts >= 1
    assert state.popsize0 == 6
    if restart == "ipop":
        assert state.population_size == 6 * 2**state.n_restarts
    no_restart = CmaEsSampler(seed=0, restart=None)
    trials = drive(no_restart, space, lambda p: 1.0, 260)
    assert no_restart.state(History(trials, [Direction.MINIMIZE]), SearchSpace(space)).run == 0


def test_cached_replay_equals_cold_replay_with_pending_trials() -> None:
    space = {"x": Float(-1.0, 1.0), "k": Int(0, 6)}
    sspace = SearchSpace(space)
    warm = CmaEsSampler(seed=4)
    trials = drive(warm, space, lambda p: (p["x"] - 0.2) ** 2 + (p["k"] - 2) ** 2, 45)
    # Mark two trials of the last generation as still running, as in a parallel run.
    trials[41] = FrozenTrial(number=41, state=TrialState.RUNNING, params=trials[41].params)
    trials[43] = FrozenTrial(number=43, state=TrialState.FAILED, params=trials[43].params)
    history = History(trials, [Direction.MINIMIZE])
    nxt = FrozenTrial(number=45, state=TrialState.RUNNING)
    s_warm = warm.state(history, sspace)
    cold = CmaEsSampler(seed=4)
    s_cold = cold.state(history, sspace)
    assert s_warm.told == s_cold.told
    assert 41 not in s_warm.told and 43 not in s_warm.told
    assert np.array_equal(s_warm.mean, s_cold.mean)
    assert s_warm.generation == s_cold.generation
    assert warm.sample_relative(history, nxt, sspace) == cold.sample_relative(history, nxt, sspace)
    # The generation holding the running trial stays open: once it completes, it is told.
    done = list(trials)
    done[41] = FrozenTrial(
        number=41,
        state=TrialState.COMPLETE,
        params=trials[40].params,
        distributions=dict(space),
        values=(1.0,),
    )
    later = warm.state(History(done, [Direction.MINIMIZE]), sspace)
    assert 41 in later.told


def test_every_kind_gets_valid_values_through_a_study() -> None:
    study = honed.create_study(sampler=get_sampler("cmaes", seed=3))
    for _ in range(40):
        trial = study.ask(ALL_KINDS)
        p = trial.params
        for k, d in ALL_KINDS.items():
            assert d.contains(p[k]), (k, p[k])
        study.tell(trial, p["f"] ** 2 + np.log10(p["flog"]) ** 2 + p["i"] ** 2 + (p["c"] == 1))
    # Categorical and single-valued parameters are left to the fallback / fixed.
    space = study.sampler.infer_relative_space(study._history(), study.trials[-1], ALL_KINDS)
    assert set(space) == {"f", "flog", "fstep", "i", "ilog", "istep"}


class _CountingRandom(RandomSampler):
    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.names: list[str] = []

    def sample_independent(self, history, trial, name, distribution):
        self.names.append(name)
        return super().sample_independent(history, trial, name, distribution)


def test_categoricals_come_from_the_configured_fallback() -> None:
    fallback = _CountingRandom(0)
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0), "c": Choice(["a", "b", "c"])}
    drive(CmaEsSampler(seed=0, fallback=fallback), space, lambda p: p["x"] + p["y"], 20)
    assert fallback.names.count("c") == 20
    assert fallback.names.count("x") == 0


def test_warm_start_from_source_trials() -> None:
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}

    def shifted(p: dict) -> float:
        return (p["x"] - 0.85) ** 2 + (p["y"] - 0.15) ** 2

    source = drive(_Random(0), space, shifted, 60)
    sampler = CmaEsSampler(seed=0, source_trials=source)
    state = sampler.state(History([], [Direction.MINIMIZE]), SearchSpace(space))
    assert abs(state.mean[0] - 0.85) < 0.15 and abs(state.mean[1] - 0.15) < 0.15
    cold = drive(CmaEsSampler(seed=0), space, shifted, 30)
    warm = drive(sampler, space, shifted, 30)
    assert min(t.values[0] for t in warm) < min(t.values[0] for t in cold)


def test_startup_trials_seed_the_initial_distribution() -> None:
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}

    def corner(p: dict) -> float:
        return (p["x"] - 0.9) ** 2 + (p["y"] - 0.9) ** 2

    sampler = CmaEsSampler(seed=0, n_startup_trials=16)
    trials = drive(sampler, space, corner, 16)
    state = sampler.state(History(trials, [Direction.MINIMIZE]), SearchSpace(space))
    assert state.startup_done and state.told == list(range(16))
    assert np.linalg.norm(state.mean - 0.9) < np.linalg.norm(np.full(2, 0.5) - 0.9)


def test_multi_objective_and_bad_arguments_are_refused() -> None:
    study = honed.create_study(directions=["minimize", "minimize"], sampler="cmaes")
    with pytest.raises(ValueError, match="nsga2"):
        study.ask({"x": Float(0.0, 1.0)})
    with pytest.raises(ValueError, match="restart"):
        CmaEsSampler(restart="lbfgs")
    with pytest.raises(ValueError, match="sigma0"):
        CmaEsSampler(sigma0=0.0)
    with pytest.raises(ValueError, match="x0"):
        CmaEsSampler(x0={"x": 5.0}).state(
            History([], [Direction.MINIMIZE]), SearchSpace({"x": Float(0.0, 1.0)})
        )


def _quadratic(trial: honed.Trial) -> float:
    x = trial.float("x", -1.0, 1.0)
    k = trial.int("k", 0, 8)
    return (x - 0.3) ** 2 + (k - 5) ** 2


def test_parallel_worker_processes_share_one_replayed_state(sqlite_url: str) -> None:
    study = honed.create_study(storage=sqlite_url, sampler="cmaes", seed=0)
    study.optimize(_quadratic, n_trials=48, n_jobs=2, executor="process", show_progress=False)
    trials = study.trials
    assert len(trials) == 48 and all(t.state is TrialState.COMPLETE for t in trials)
    sampler = CmaEsSampler(seed=0)
    space = SearchSpace(dict(trials[-1].distributions))
    state = sampler.state(study._history(), space)
    # Generations were formed from trials written by both workers, in trial-number order.
    assert state.told == [t.number for t in trials]
    assert study.best_trial.params["k"] == 5


def test_learning_rate_adaptation_option_reaches_the_optimizer() -> None:
    space = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}
    sampler = CmaEsSampler(seed=0, lr_adapt=True)
    trials = drive(sampler, space, sphere, 60)
    state = sampler.state(History(trials, [Direction.MINIMIZE]), SearchSpace(space))
    assert state.optimizer._lr_adapt is True
    assert min(t.values[0] for t in trials) < 0.05


class TestCmaEsConformance(SamplerTests):
    """The shared sampler checks, with enough trials for two CMA-ES generations."""

    n_trials = 24

    def make_sampler(self, seed, space):
        return CmaEsSampler(seed=seed, population_size=6)

    def test_multi_objective_with_failed_and_pruned_history(self) -> None:
        # CMA-ES is single-objective: it refuses clearly instead of proposing.
        study = self._study(self.search_space(), directions=["minimize", "maximize"])
        with pytest.raises(ValueError, match="one objective"):
            study.ask(self.search_space())


def test_thread_workers_share_one_sampler_safely() -> None:
    import pickle

    study = honed.create_study(sampler=CmaEsSampler(seed=0))
    study.optimize(_quadratic, n_trials=60, n_jobs=3, executor="thread", show_progress=False)
    trials = study.trials
    assert len(trials) == 60 and all(t.state is TrialState.COMPLETE for t in trials)
    space = SearchSpace(dict(trials[-1].distributions))
    # The shared (threaded) cache ends equal to a cold replay.
    warm = study.sampler.state(study._history(), space)
    cold = CmaEsSampler(seed=0).state(study._history(), space)
    assert warm.told == cold.told and np.array_equal(warm.mean, cold.mean)
    # Samplers travel to other processes without their lock and cache.
    clone = pickle.loads(pickle.dumps(study.sampler))
    assert clone.state(study._history(), space).told == cold.told
