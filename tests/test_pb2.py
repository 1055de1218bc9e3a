"""PB2: PBT's exploit with a GP-bandit explore, as a pure decision and inside a study."""

from __future__ import annotations

import math

import numpy as np
import pytest

import honed
from honed.history import History
from honed.schedulers import PB2, Exploit, PopulationBasedTraining, get_scheduler
from honed.trial import Direction, FrozenTrial, TrialState

LR = honed.Float(1e-4, 1e-1, log=True)


def gain(lr: float) -> float:
    """Improvement per interval: best at lr = 1e-2."""
    return math.exp(-((math.log10(lr) + 2.0) ** 2))


def population(extra_params=None) -> list[FrozenTrial]:
    """Eight trials over steps 2..10 (interval 2). The two with the lowest loss started far
    ahead but train with poor rates; the rate that improves most is 1e-2."""
    lrs = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-4, 2e-4, 1e-4]
    starts = [14.0, 13.0, 12.0, 12.5, 13.5, 11.0, 4.0, 3.0]
    trials = []
    for i, (lr, start) in enumerate(zip(lrs, starts, strict=True)):
        params = {"lr": lr, **(extra_params or {})}
        dists = {"lr": LR, **({"opt": honed.Choice(["sgd", "adam"])} if extra_params else {})}
        trials.append(
            FrozenTrial(
                number=i,
                state=TrialState.RUNNING,
                params=params,
                distributions=dists,
                intermediate_values={k: start - gain(lr) * k / 2 for k in (2, 4, 6, 8, 10)},
            )
        )
    return trials


def test_explores_towards_the_rate_that_improved_most():
    trials = population()
    history = History(trials, (Direction.MINIMIZE,))
    answer = PB2(interval=2, seed=0).on_report(history, trials[0])
    assert isinstance(answer, Exploit) and answer.source in (6, 7) and answer.step == 10
    lr = answer.params["lr"]
    assert 10**-2.5 < lr < 10**-1.5, lr
    # PBT, from the same state, stays near the source's poor rate
    pbt = PopulationBasedTraining(interval=2, seed=0).on_report(history, trials[0])
    assert pbt.source == answer.source and pbt.params["lr"] < 1e-3
    # a pure decision: the same answer again
    assert PB2(interval=2, seed=0).on_report(history, trials[0]) == answer


def test_maximizing_studies_and_choices():
    trials = [
        FrozenTrial(
            number=t.number,
            state=t.state,
            params=t.params,
            distributions=t.distributions,
            intermediate_values={k: -v for k, v in t.intermediate_values.items()},
        )
        for t in population(extra_params={"opt": "sgd"})
    ]
    history = History(trials, (Direction.MAXIMIZE,))
    answer = PB2(interval=2, seed=1).on_report(history, trials[0])
    assert 10**-2.5 < answer.params["lr"] < 10**-1.5
    assert answer.params["opt"] in ("sgd", "adam")  # explored as PBT does


def test_too_little_data_falls_back_to_pbts_explore():
    trials = [
        FrozenTrial(
            number=i,
            state=TrialState.RUNNING,
            params={"lr": lr},
            distributions={"lr": LR},
            intermediate_values={2: 10.0 - i},
        )
        for i, lr in enumerate([1e-3, 1e-2, 1e-1, 1e-4])
    ]
    history = History(trials, (Direction.MINIMIZE,))
    pb2 = PB2(interval=2, seed=3).on_report(history, trials[0])
    pbt = PopulationBasedTraining(interval=2, seed=3).on_report(history, trials[0])
    assert pb2 == pbt


def test_checks_its_arguments_and_is_registered():
    with pytest.raises(ValueError, match="kappa"):
        PB2(kappa=-1)
    with pytest.raises(ValueError, match="n_candidates"):
        PB2(n_candidates=0)
    assert isinstance(get_scheduler("pb2"), PB2)


def _train_population(tmp_path, scheduler):
    """Four members starting from poor rates (two too low, two too high); each step adds
    ``1 - gain(lr)`` to a member's loss."""
    study = honed.create_study(
        type(scheduler).__name__, storage=tmp_path / "pb2.db", scheduler=scheduler
    )
    for lr in (1e-4, 1.5e-4, 1e-1, 7e-2):
        study.enqueue({"lr": lr})
    trials = [study.ask() for _ in range(4)]
    state = {t.number: 0.0 for t in trials}  # each member's "model": its loss so far
    for step in range(1, 13):
        for t in trials:
            lr = t.float("lr", 1e-4, 1e-1, log=True)
            state[t.number] += 1.0 - gain(lr)
            t.save_checkpoint(state[t.number], step=step)
            t.report(state[t.number], step)
            if t.exploited is not None:
                state[t.number] = t.load_checkpoint()
    for t in trials:
        study.tell(t, state[t.number])
    exploits = [e for t in study.trials for e in t.system_attrs.get("pbt_exploits", [])]
    assert exploits and all(e["checkpoint_copied"] for e in exploits)
    late = [e["params"]["lr"] for e in exploits if e["step"] >= 8]
    return float(np.median(np.abs(np.log10(late) + 2)))  # decades from the best rate


def test_in_a_study_the_bandit_finds_the_rate_pbt_perturbs_towards(tmp_path):
    pb2 = _train_population(tmp_path, PB2(interval=2, min_population=4, seed=0))
    pbt = _train_population(tmp_path, PopulationBasedTraining(interval=2, min_population=4, seed=0))
    # from a poor start PB2's later exploits sit within a quarter decade of the best rate;
    # PBT's x0.8 / x1.25 steps (and redraws) are still far off
    assert pb2 < 0.25 < pbt
