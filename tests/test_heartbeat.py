"""Heartbeats, stale trials and retries on every storage backend.

Tests that age a trial give the storage a :class:`~honed.testing.ManualClock` and move it
forward instead of sleeping; the ones that run ``study.optimize`` (a real heartbeat thread)
still wait in real time.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
import time

import pytest

import honed
from honed.storage.base import retry_attrs
from honed.storage.sql import SQLStorage
from honed.study._heartbeat import FaultPolicy
from honed.testing import ManualClock
from honed.trial import Direction, FrozenTrial, TrialState


@pytest.fixture(params=["memory", "sqlite", "journal", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path) -> str | None:
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hb.db'}"
    if request.param == "journal":
        return f"journal:///{tmp_path / 'hb.log'}"
    return request.getfixturevalue("pg_url")


_OPENED: list[honed.storage.Storage] = []


@pytest.fixture(autouse=True)
def _close_storages():
    yield
    while _OPENED:
        _OPENED.pop().close()  # PostgreSQL connections must not be left to the GC


def _open(url: str | None, clock: ManualClock) -> honed.storage.Storage:
    """A storage on ``url`` (None: in memory) that reads time from ``clock``."""
    if url is None:
        storage: honed.storage.Storage = honed.storage.InMemoryStorage(clock=clock)
    elif url.startswith("journal:///"):
        storage = honed.storage.JournalStorage(url[len("journal:///") :], clock=clock)
    else:
        storage = SQLStorage(url.replace("postgresql://", "postgresql+psycopg://", 1), clock=clock)
    _OPENED.append(storage)
    return storage


def _make(storage, **faults) -> honed.Study:
    if storage is None:
        storage = honed.storage.InMemoryStorage()
    storage = honed.storage.get_storage(storage)
    _OPENED.append(storage)
    policy = FaultPolicy(**faults) if faults else None
    return honed.create_study("hb", storage=storage, load_if_exists=True, faults=policy)


def test_stale_trial_is_failed_once_and_retried_with_same_params(storage_url):
    clock = ManualClock()
    study = _make(_open(storage_url, clock), heartbeat_interval=0.1, grace_period=0.3, retries=1)
    t = study.ask()
    x = t.float("x", 0, 1)
    k = t.choice("k", ["a", "b"])
    # The worker "dies": no tell, no heartbeat.
    clock.advance(0.45)
    failed = study.fail_stale_trials()
    assert [f.number for f in failed] == [t.number]
    assert failed[0].state is TrialState.FAILED
    assert failed[0].fail_reason.startswith("stale")
    assert study.fail_stale_trials() == []  # nobody fails it twice

    waiting = study.get_trials([TrialState.WAITING])
    assert len(waiting) == 1
    assert dict(waiting[0].params) == {"x": x, "k": k}
    assert waiting[0].system_attrs == {
        "retry_of": t.number,
        "attempt": 1,
        "first_attempt": 0,
        "heartbeat_interval": 0.1,  # the retry can go stale too
    }

    # The next ask claims the retry and the define-by-run objective gets the same values.
    t2 = study.ask()
    assert t2.number == waiting[0].number
    assert t2.float("x", 0, 1) == x and t2.choice("k", ["a", "b"]) == k
    study.tell(t2, 1.0)
    # t3 is a new configuration (attempt 0): it earns one retry, which t4 claims; when that
    # attempt goes stale too, its retries are used up and nothing is enqueued.
    t3 = study.ask()
    t3.float("x", 0, 1)
    clock.advance(0.45)
    assert len(study.fail_stale_trials()) == 1
    t4 = study.ask()
    assert t4._frozen.system_attrs["retry_of"] == t3.number
    clock.advance(0.45)
    assert [f.number for f in study.fail_stale_trials()] == [t4.number]
    states = [tr.state for tr in study.trials]
    assert states == [TrialState.FAILED, TrialState.COMPLETE, TrialState.FAILED, TrialState.FAILED]


def test_heartbeats_keep_a_long_trial_alive(storage_url):
    study = _make(storage_url, heartbeat_interval=0.1, grace_period=0.4)
    watcher_failed: list[FrozenTrial] = []
    done = threading.Event()

    def watch() -> None:  # another worker looking for stale trials the whole time
        other = _make(study.storage, heartbeat_interval=0.1, grace_period=0.4)
        while not done.is_set():
            watcher_failed.extend(other.fail_stale_trials())
            time.sleep(0.05)

    w = threading.Thread(target=watch)
    w.start()
    try:
        study.optimize(lambda t: time.sleep(1.2) or t.float("x", 0, 1), n_trials=1)
    finally:
        done.set()
        w.join()
    assert watcher_failed == []
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]


def test_a_stalled_worker_late_result_is_dropped(storage_url, caplog):
    study = _make(storage_url, heartbeat_interval=0.05, grace_period=0.2)

    def objective(trial: honed.Trial) -> float:
        # Simulate a stall the heartbeat thread cannot cover: another worker fails us first.
        time.sleep(0.3)
        study.storage.fail_stale_trials(study._study_id, -1.0)
        return 1.0

    with caplog.at_level(logging.WARNING, logger="honed"):
        study.optimize(objective, n_trials=1)
    (t,) = study.trials
    assert t.state is TrialState.FAILED and t.fail_reason.startswith("stale")
    assert "late result is dropped" in caplog.text


def test_raising_trials_are_retried_when_asked(storage_url):
    study = _make(storage_url, retries=2, retry_failed=True)
    seen: list[float] = []

    def objective(trial: honed.Trial) -> float:
        x = trial.float("x", 0, 1)
        seen.append(x)
        if len(seen) <= 2:
            raise RuntimeError("flaky")
        return x

    study.optimize(objective, n_trials=3)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.FAILED, TrialState.FAILED, TrialState.COMPLETE]
    assert seen == [seen[0]] * 3  # the same configuration, three attempts
    assert trials[2].system_attrs["attempt"] == 2
    assert trials[2].system_attrs["retry_of"] == 1
    assert trials[2].system_attrs["first_attempt"] == 0


def test_raising_trials_are_not_retried_by_default(storage_url):
    study = _make(storage_url, retries=2)
    study.optimize(lambda t: 1 / 0, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 2


def _race(url: str, clock: ManualClock, barrier, out) -> None:
    storage = _open(url, clock)
    clock.advance(0.3)  # this process's copy of the clock: the trials are 0.3 s old now
    study = honed.load_study("hb", storage=storage, faults=FaultPolicy(0.1, 0.2, retries=1))
    barrier.wait()
    out.put([t.number for t in study.fail_stale_trials()])
    study.storage.close()


@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgres"])
def test_concurrent_detectors_fail_each_stale_trial_exactly_once(kind, tmp_path, request):
    url = {
        "sqlite": lambda: f"sqlite:///{tmp_path / 'race.db'}",
        "journal": lambda: f"journal:///{tmp_path / 'race.log'}",
        "postgres": lambda: request.getfixturevalue("pg_url"),
    }[kind]()
    # Trials of a beating worker, but with a long grace here: only the racing detectors
    # (grace 0.2 s) fail them.
    clock = ManualClock()
    study = _make(_open(url, clock), heartbeat_interval=0.1, grace_period=100.0)
    for _ in range(30):
        study.ask().float("x", 0, 1)
    ctx = mp.get_context("fork")  # SQLStorage drops an inherited pool after a fork
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(url, clock, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    failed = sorted(n for r in results for n in r)
    assert failed == list(range(30))
    waiting = study.get_trials([TrialState.WAITING])
    assert sorted(t.system_attrs["retry_of"] for t in waiting) == list(range(30))
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(60))


def test_policy_validation():
    with pytest.raises(ValueError, match="heartbeat_interval"):
        FaultPolicy(0)
    with pytest.raises(ValueError, match="grace_period needs heartbeat_interval"):
        FaultPolicy(None, 5)
    with pytest.raises(ValueError, match="above heartbeat_interval"):
        FaultPolicy(10, 5)
    with pytest.raises(ValueError, match="retries"):
        FaultPolicy(None, None, -1)
    with pytest.raises(ValueError, match="retry_failed"):
        FaultPolicy(retry_failed="yes")  # type: ignore[arg-type]
    assert FaultPolicy(2).stale_after == 8.0 and FaultPolicy(2, 3).stale_after == 3
    assert FaultPolicy(None).stale_after is None
    with pytest.raises(honed.StudyError, match="heartbeat"):
        honed.create_study().fail_stale_trials()  # in memory: no heartbeats by default
    with pytest.raises(TypeError, match="FaultPolicy"):
        honed.create_study(faults={"retries": 2})  # type: ignore[arg-type]


def test_retry_attrs_chain():
    first = FrozenTrial(number=3, state=TrialState.FAILED)
    a1 = retry_attrs(first, 2)
    assert a1 == {"retry_of": 3, "attempt": 1, "first_attempt": 3}
    second = FrozenTrial(number=9, state=TrialState.FAILED, system_attrs=a1)
    assert retry_attrs(second, 2) == {"retry_of": 9, "attempt": 2, "first_attempt": 3}
    third = FrozenTrial(number=12, state=TrialState.FAILED, system_attrs=retry_attrs(second, 2))
    assert retry_attrs(third, 2) is None


def test_trials_of_workers_without_heartbeats_never_go_stale(storage_url):
    clock = ManualClock()
    quiet = _make(_open(storage_url, clock), heartbeat_interval=None)  # sends no heartbeats
    t = quiet.ask()
    t.float("x", 0, 1)
    watcher = _make(quiet.storage, heartbeat_interval=0.05, grace_period=0.1, retries=1)
    clock.advance(0.25)
    assert watcher.fail_stale_trials() == []
    beating = watcher.ask()
    assert beating._frozen.system_attrs["heartbeat_interval"] == 0.05
    clock.advance(0.25)
    assert [f.number for f in watcher.fail_stale_trials()] == [beating.number]
    quiet.tell(t, 0.5)
    assert [tr.state for tr in watcher.trials][:2] == [TrialState.COMPLETE, TrialState.FAILED]


def test_a_stale_trial_that_then_raises_is_retried_once(storage_url):
    study = _make(
        storage_url, heartbeat_interval=0.05, grace_period=0.2, retries=3, retry_failed=True
    )

    def objective(trial: honed.Trial) -> float:
        trial.float("x", 0, 1)
        if trial.number == 0:
            # Another worker fails us as stale (and enqueues the retry), then we raise.
            study.storage.fail_stale_trials(study._study_id, -1.0, retries=3)
            raise RuntimeError("late failure")
        return 1.0

    study.optimize(objective, n_trials=2)
    retries = [t for t in study.trials if t.system_attrs.get("retry_of") == 0]
    assert len(retries) == 1  # the detector's retry; the late failure adds none
    assert retries[0].state is TrialState.COMPLETE


def test_a_restarted_process_gets_the_stored_fault_settings(storage_url):
    # A worker created the study with heartbeats and a retry, asked a trial and died. The
    # process that takes over loads the study by name alone: it must still see the settings,
    # fail the orphan and re-enqueue its configuration.
    clock = ManualClock()
    study = _make(_open(storage_url, clock), heartbeat_interval=0.1, grace_period=0.3, retries=1)
    orphan = study.ask()
    x = orphan.float("x", 0, 1)
    if storage_url is None:
        again = honed.load_study("hb", storage=study._storage)
    else:
        again = honed.load_study("hb", storage=_open(storage_url, clock))
    assert again.faults == FaultPolicy(0.1, 0.3, 1, False)
    assert again.user_attrs == {}  # honed's own record is not the user's
    clock.advance(0.45)
    assert [f.number for f in again.fail_stale_trials()] == [orphan.number]
    retry = again.ask()
    assert retry.float("x", 0, 1) == x
    # Settings given on load win (and are not written back); none given: the stored ones.
    given = FaultPolicy(heartbeat_interval=None, retries=3)
    assert honed.load_study("hb", storage=again._storage, faults=given).faults == FaultPolicy(
        None, None, 3, False
    )
    assert honed.load_study("hb", storage=again._storage).faults.retries == 1


def test_default_fault_settings_are_not_stored(storage_url):
    study = _make(storage_url)
    assert study._storage.get_study_system_attrs(study._study_id) == {}
    # Heartbeats are on by default where another process could find a dead worker's trial.
    default = FaultPolicy(heartbeat_interval=None) if storage_url is None else FaultPolicy()
    assert study.faults == default
    assert honed.load_study("hb", storage=study._storage).faults == default
    if storage_url is not None:
        assert default.heartbeat_interval == 15.0 and default.stale_after == 60.0


# ---- the storage's own clock ---------------------------------------------------------------
def test_the_storage_judges_silence_by_its_clock(storage_url):
    clock = ManualClock()
    store = _open(storage_url, clock)
    sid = store.create_study("s", [Direction.MINIMIZE])
    beat = {"heartbeat_interval": 1.0}
    beating = store.create_trial(sid, system_attrs=beat)
    reporting = store.create_trial(sid, system_attrs=beat)
    silent = store.create_trial(sid, system_attrs=beat)
    quiet = store.create_trial(sid)  # its worker promised no heartbeats
    clock.advance(6.0)
    store.record_heartbeat(beating.trial_id)
    store.set_trial_intermediate_value(reporting.trial_id, 1, 0.5)  # a report is a sign of life
    assert store.fail_stale_trials(sid, grace_period=10.0) == []
    clock.advance(6.0)  # silent for 12 s, the other two for 6 s
    (failed,) = store.fail_stale_trials(sid, grace_period=10.0)
    assert failed.number == silent.number and failed.fail_reason.startswith("stale")
    clock.advance(5.0)  # now they are 11 s silent too
    later = store.fail_stale_trials(sid, grace_period=10.0)
    assert sorted(t.number for t in later) == [beating.number, reporting.number]
    assert store.get_trial(quiet.trial_id).state is TrialState.RUNNING
    assert store.clock is clock
    # Starts and finishes are stamped by the same clock.
    done = store.finish_trial(quiet.trial_id, TrialState.COMPLETE, [1.0])
    assert done.duration == pytest.approx(17.0, abs=1e-3)


def test_manual_clock_only_moves_forward():
    clock = ManualClock(start=100.0)
    assert clock() == 100.0
    clock.advance(2.5)
    assert clock() == 102.5
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds"):
            clock.advance(bad)
    assert clock() == 102.5
