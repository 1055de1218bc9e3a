"""The guard against repeats (honed.study._repeats) and the GP's use of pruned and failed
trials: what the conformance checks (SamplerTests) do not cover."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import honed
from honed import Choice, Float, Int, TrialState
from honed.history import History
from honed.samplers import GPSampler, RandomSampler, TPESampler
from honed.samplers.gp._sampler import _Encoder, _impute, _stopped
from honed.space import SearchSpace
from honed.study._repeats import SeenConfigs, config_key, item
from honed.trial import Direction, FrozenTrial

SMALL = {"n": Int(0, 2), "c": Choice(["a", "b"])}  # six configurations


def _configs(study: honed.Study) -> Counter:
    return Counter(tuple(sorted(t.params.items())) for t in study.trials)


def test_configurations_compare_after_rounding_and_by_type() -> None:
    step = {"f": Float(0.0, 1.0, step=0.1)}
    assert config_key({"f": 0.30000000000000004}, step) == config_key({"f": 0.3}, step)
    choice = {"c": Choice([True, 1])}
    assert config_key({"c": True}, choice) != config_key({"c": 1}, choice)
    single = {"x": Float(0.0, 1.0), "k": Int(3, 3)}
    assert config_key({"x": 0.5, "k": 3}, single) == config_key({"x": 0.5}, single)


def test_a_trial_is_never_compared_with_itself() -> None:
    seen = SeenConfigs()
    dist = Int(0, 2)
    seen.set(0, [item("n", dist, 1)])
    key = config_key({"n": 1}, {"n": dist})
    assert not seen.taken(key, 0)
    assert seen.taken(key, 1)
    seen.set(0, [item("n", dist, 2)])  # a live trial's entry moves with its parameters
    assert not seen.taken(key, 1)


def test_a_part_every_extension_of_which_is_taken_counts_as_taken() -> None:
    seen = SeenConfigs()
    n, c = Int(0, 2), Choice(["a", "b"])
    finished = [
        FrozenTrial(
            number=i,
            state=TrialState.COMPLETE,
            params={"n": 1, "c": v},
            distributions={"n": n, "c": c},
            values=(0.0,),
            trial_id=i,
        )
        for i, v in enumerate(["a", "b"])
    ]
    seen.update(finished[:1])
    assert not seen.taken(config_key({"n": 1}, {"n": n}), 5)  # n=1, c="b" is still free
    seen.update(finished[1:])
    assert seen.taken(config_key({"n": 1}, {"n": n}), 5)
    assert not seen.taken(config_key({"n": 0}, {"n": n}), 5)


@pytest.mark.parametrize("declared", [False, True])
def test_an_exhausted_space_repeats_and_says_so_once(
    declared: bool, caplog: pytest.LogCaptureFixture
) -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))

    def objective(trial: honed.Trial) -> float:
        return trial.int("n", 0, 2) + (trial.choice("c", ["a", "b"]) == "b")

    with caplog.at_level(logging.WARNING, logger="honed"):
        if declared:
            for _ in range(9):
                trial = study.ask(SMALL)
                study.tell(trial, float(trial.params["n"]))
        else:
            study.optimize(objective, n_trials=9, show_progress=False)
    first_six = Counter(tuple(sorted(t.params.items())) for t in study.trials[:6])
    assert len(first_six) == 6  # every configuration once before any repeat
    said = [r for r in caplog.records if "looks exhausted" in r.getMessage()]
    assert len(said) == 1 and "noisy=True" in said[0].getMessage()


def test_noisy_studies_may_repeat_and_the_setting_is_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'noisy.db'}"
    study = honed.create_study("s", storage=url, sampler=RandomSampler(seed=1), noisy=True)
    assert study.noisy
    study.optimize(lambda t: float(t.int("n", 0, 2)), n_trials=12, show_progress=False)
    assert max(_configs(study).values()) > 1  # 3 values, 12 draws: repeats, as asked
    assert honed.load_study("s", url).noisy
    assert not honed.load_study("s", url, noisy=False).noisy
    plain = honed.create_study("p", storage=url, sampler=RandomSampler(seed=1))
    assert not plain.noisy and not honed.load_study("p", url).noisy
    study.storage.close()
    with pytest.raises(TypeError, match="noisy must be True or False"):
        honed.create_study(noisy="yes")  # type: ignore[arg-type]


def test_enqueued_configurations_run_as_given() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))
    study.enqueue({"n": 1})
    study.enqueue({"n": 1})
    study.optimize(lambda t: float(t.int("n", 0, 9)), n_trials=2, show_progress=False)
    assert [t.params["n"] for t in study.trials] == [1, 1]


def test_thread_workers_take_different_configurations() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))
    space = {"n": Int(0, 3), "c": Choice(["a", "b", "c"])}  # twelve configurations

    def objective(trial: honed.Trial) -> float:
        return float(trial.int("n", 0, 3)) + len(trial.choice("c", ["a", "b", "c"]))

    study.optimize(objective, n_trials=12, n_jobs=2, executor="thread", show_progress=False)
    assert len(_configs(study)) == 12 and set(space) == set(study.trials[0].params)


def test_random_search_remembers_discrete_configurations_only(sqlite_url: str) -> None:
    """With a sampler that needs no finished trials, the guard keeps the configurations that
    can be drawn again (all discrete) and forgets the others: memory stays flat on
    continuous spaces."""
    study = honed.create_study(storage=sqlite_url, sampler="random", seed=0)
    study.optimize(lambda t: t.float("x", 0.0, 1.0), n_trials=30, show_progress=False)
    assert len(study._seen) <= 1 and study._ordered == []
    other = honed.create_study(storage=sqlite_url, sampler="random", seed=0)
    other.optimize(lambda t: float(t.int("n", 0, 19)), n_trials=20, show_progress=False)
    assert len(_configs(other)) == 20  # every value once
    study.storage.close()


def test_tpe_gets_the_guard_on_a_pruned_history() -> None:
    study = honed.create_study(sampler=TPESampler(seed=0, n_startup_trials=3), scheduler="median")

    def objective(trial: honed.Trial) -> float:
        n = trial.int("n", 0, 24)
        for step in range(3):
            trial.report(n + 1.0 / (step + 1), step)
        return float(n)

    study.optimize(objective, n_trials=25, show_progress=False)
    assert len(_configs(study)) == 25  # the whole range, each value once


# ---- the GP's view of stopped trials ----------------------------------------------------
def _trial(number: int, x: float, state: TrialState, **kw: object) -> FrozenTrial:
    return FrozenTrial(
        number=number,
        state=state,
        params={"x": x},
        distributions={"x": Float(0.0, 1.0)},
        trial_id=number,
        **kw,  # type: ignore[arg-type]
    )


def test_pruned_and_failed_trials_enter_the_gp_at_pessimistic_values() -> None:
    space = SearchSpace({"x": Float(0.0, 1.0)})
    complete = [
        _trial(i, x, TrialState.COMPLETE, values=(v,))
        for i, (x, v) in enumerate([(0.1, 1.0), (0.2, 2.0), (0.3, 3.0)])
    ]
    stopped = [
        _trial(3, 0.4, TrialState.PRUNED, intermediate_values={0: 9.0, 1: 0.5}),  # to median
        _trial(4, 0.5, TrialState.PRUNED, intermediate_values={0: 50.0}),  # capped at worst
        _trial(5, 0.6, TrialState.PRUNED, intermediate_values={0: 2.5}),  # as reported
        _trial(6, 0.7, TrialState.FAILED),  # the worst
        _trial(7, 0.8, TrialState.PRUNED),  # pruned before any report: the worst
        _trial(8, 0.1, TrialState.FAILED),  # failed, then completed on a retry: left out
    ]
    partial = FrozenTrial(number=9, state=TrialState.FAILED, trial_id=9)  # no parameters
    two = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    assert _impute(
        History([*complete, partial], [Direction.MINIMIZE]),
        [_trial(9, 0.5, TrialState.FAILED)],  # crashed before asking y: no point to place
        np.array([1.0, 2.0, 3.0]),
        _Encoder(two),
    ) == (None, None)
    history = History(complete + stopped, [Direction.MINIMIZE])
    found = _stopped(history, space)
    assert [t.number for t in found] == [3, 4, 5, 6, 7, 8]
    x, y = _impute(history, found, history.losses()[:, 0], _Encoder(space))
    assert x is not None and y is not None
    np.testing.assert_allclose(x[:, 0], [0.4, 0.5, 0.6, 0.7, 0.8])
    np.testing.assert_allclose(y, [2.0, 3.0, 2.5, 3.0, 3.0])
    maximize = History(complete + stopped, [Direction.MAXIMIZE])
    _, y_max = _impute(maximize, found, maximize.losses()[:, 0], _Encoder(space))
    assert y_max is not None
    # Maximized, reports are read as losses too: 0.5 is worse than the worst (1.0), 50 and 2.5
    # better than the median (2.0).
    np.testing.assert_allclose(y_max, [-1.0, -2.0, -2.0, -1.0, -1.0])


def test_the_gp_moves_away_from_a_failing_corner() -> None:
    """The defect of issue 20: the optimum's corner crashes the objective and the GP kept
    proposing it. With failures modelled, most trials land elsewhere."""
    study = honed.create_study(sampler=GPSampler(seed=0), noisy=True)  # the model alone

    def objective(trial: honed.Trial) -> float:
        x, y = trial.float("x", 0.0, 1.0), trial.float("y", 0.0, 1.0)
        if x > 0.75 and y > 0.75:
            raise RuntimeError("crash")
        return (x - 0.9) ** 2 + (y - 0.9) ** 2

    study.optimize(objective, n_trials=25, show_progress=False)
    failed = sum(t.state is TrialState.FAILED for t in study.trials)
    assert failed <= 8, failed
    assert study.best_value < 0.04
