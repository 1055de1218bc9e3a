"""``trial.seed``: stable, distinct per trial, the same in every executor, kept by retries, and
never one that confirmation runs use."""

from __future__ import annotations

from pathlib import Path

import pytest

import honed
from honed.trial import SEED_ATTR, TrialState, trial_seed


def test_seeds_are_pinned_distinct_and_in_their_ranges() -> None:
    # Pinned: a seed that changed between versions would change what every study reruns.
    assert trial_seed("digits", 0) == trial_seed("digits", 0) == 1760864537
    assert trial_seed("digits", 0, confirmation=True) == 2855887493
    tuning = {trial_seed("s", n) for n in range(20_000)}
    confirming = {trial_seed("s", n, confirmation=True) for n in range(20_000)}
    assert len(tuning) == len(confirming) == 20_000
    assert all(0 <= s < 2**31 for s in tuning)
    assert all(2**31 <= s < 2**32 for s in confirming)
    assert trial_seed("a", 5) != trial_seed("b", 5)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_a_bad_trial_number_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="trial number"):
        trial_seed("s", bad)  # type: ignore[arg-type]


def _seeded(trial: honed.Trial) -> float:
    trial.float("x", 0.0, 1.0)
    trial.set_user_attr("seen_seed", trial.seed)
    return float(trial.seed % 1000)


@pytest.mark.parametrize("executor", ["inline", "thread", "process"])
def test_the_objective_sees_the_derived_seed_in_every_executor(
    executor: str, sqlite_url: str
) -> None:
    study = honed.create_study("seeds", storage=sqlite_url, sampler="random", seed=0)
    n_jobs = 1 if executor == "inline" else 2
    study.optimize(_seeded, n_trials=4, n_jobs=n_jobs, executor=executor, show_progress=False)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    for t in trials:
        assert t.user_attrs["seen_seed"] == trial_seed("seeds", t.number)
    assert study.ask().seed == trial_seed("seeds", 4)
    study.storage.close()


def test_a_recorded_seed_wins_and_a_retry_keeps_its_originals_seed(tmp_path: Path) -> None:
    storage = honed.storage.get_storage(f"sqlite:///{tmp_path / 'r.db'}")
    study = honed.create_study(
        "r",
        storage=storage,
        sampler="random",
        faults=honed.FaultPolicy(retries=1, retry_failed=True),
    )
    study_id = storage.get_study_id("r")
    storage.create_trial(study_id, state=TrialState.WAITING, system_attrs={SEED_ATTR: 7})
    attempts: list[int] = []

    def fails_first(trial: honed.Trial) -> float:
        attempts.append(trial.seed)
        trial.float("x", 0.0, 1.0)
        if len(attempts) in (1, 3):
            raise RuntimeError("first attempt fails")
        return 0.0

    study.optimize(fails_first, n_trials=4, show_progress=False)
    trials = study.trials
    # 0: seed 7 failed; 1: its retry; 2: derived, failed; 3: its retry, with trial 2's seed.
    assert attempts == [7, 7, trial_seed("r", 2), trial_seed("r", 2)]
    assert [t.state for t in trials] == [
        TrialState.FAILED,
        TrialState.COMPLETE,
        TrialState.FAILED,
        TrialState.COMPLETE,
    ]
    assert trials[1].system_attrs[SEED_ATTR] == 7 and SEED_ATTR not in trials[3].system_attrs
    storage.close()
