"""Chaos: worker processes share one study while a driver SIGKILLs them at random, over and
over, and starts new ones. Afterwards the study must be whole: every trial complete, pruned or
failed-and-retried; none lost, none duplicated, none left RUNNING; the best value intact."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import random
import signal
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

import honed
from honed.errors import TrialPruned
from honed.trial import TrialState

HEARTBEAT, GRACE, RETRIES = 0.2, 1.0, 20
# The kill phase ends on progress, not on the clock, so a loaded machine makes it longer
# rather than weaker; the cap only guards against a hang.
MIN_KILLS, MIN_COMPLETE, KILL_PHASE_CAP_S = 20, 25, 120.0


def value_of(x: float, y: int) -> float:
    return (x - 0.3) ** 2 + 0.01 * y


def objective(trial: honed.Trial) -> float:
    x = trial.float("x", 0.0, 1.0)
    y = trial.int("y", 0, 9)
    for step in range(3):
        time.sleep(random.uniform(0.005, 0.03))
        trial.report(value_of(x, y) + 1.0 / (step + 1), step)
    if x > 0.9:
        raise TrialPruned("too far right")
    return value_of(x, y)


def _worker(url: str, stop_file: str, seed: int) -> None:
    random.seed(seed)
    study = honed.load_study(
        "chaos",
        storage=url,
        sampler="random",
        seed=seed,
        faults=honed.FaultPolicy(HEARTBEAT, GRACE, retries=RETRIES),
    )
    sid = study._study_id
    storage = study.storage
    while True:
        if os.path.exists(stop_file):
            # Draining: run what is left to retry, help fail stale trials, then leave.
            waiting = storage.count_trials(sid, [TrialState.WAITING])
            if waiting == 0:
                study.fail_stale_trials()
                if storage.count_trials(sid, [TrialState.RUNNING, TrialState.WAITING]) == 0:
                    return
                time.sleep(0.1)
                continue
        study.optimize(objective, n_trials=1, show_progress=False)


@pytest.mark.slow
def _url(kind: str, tmp_path: Path, name: str, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / name}.db"
    if kind == "journal":
        return f"journal:///{tmp_path / name}.log"
    return request.getfixturevalue("pg_url")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgres"])
def test_random_sigkills_lose_and_duplicate_nothing(kind, tmp_path: Path, request):
    url = _url(kind, tmp_path, "chaos", request)
    honed.create_study("chaos", storage=url).storage.close()
    stop_file = str(tmp_path / "stop")
    ctx = mp.get_context("fork")  # workers start in milliseconds: honed is already imported
    rng = random.Random(0)
    seeds = iter(range(1, 10_000))

    def spawn() -> mp.Process:
        p = ctx.Process(target=_worker, args=(url, stop_file, next(seeds)), daemon=True)
        p.start()
        return p

    workers = [spawn() for _ in range(4)]
    kills = 0

    def n_complete() -> int:
        # Opened and closed each time: no connection of the driver's may cross a fork.
        storage = honed.load_study("chaos", storage=url).storage
        try:
            return storage.count_trials(storage.get_study_id("chaos"), [TrialState.COMPLETE])
        finally:
            storage.close()

    end = time.time() + KILL_PHASE_CAP_S
    while time.time() < end and (kills < MIN_KILLS or n_complete() < MIN_COMPLETE):
        time.sleep(rng.uniform(0.1, 0.4))
        i = rng.randrange(len(workers))
        os.kill(workers[i].pid, signal.SIGKILL)
        workers[i].join()
        kills += 1
        workers[i] = spawn()
    Path(stop_file).touch()
    deadline = time.time() + 60
    for p in workers:
        p.join(timeout=max(1.0, deadline - time.time()))
    alive = [p for p in workers if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive, "workers did not drain the study within 60 s"

    study = honed.load_study("chaos", storage=url)
    trials = study.trials
    by_number = {t.number: t for t in trials}
    states = Counter(t.state for t in trials)

    # Dense, unique numbers; nothing left RUNNING or WAITING.
    assert [t.number for t in trials] == list(range(len(trials)))
    assert states[TrialState.RUNNING] == 0 and states[TrialState.WAITING] == 0
    assert kills >= MIN_KILLS, f"only {kills} kills in {KILL_PHASE_CAP_S} s"
    assert states[TrialState.FAILED] > 0, "no kill ever hit a running trial"
    assert states[TrialState.COMPLETE] >= MIN_COMPLETE

    # Every failed trial went stale (workers were killed, objectives never raise) and was
    # retried exactly once, with the parameters it had.
    retries_of = Counter(t.system_attrs["retry_of"] for t in trials if "retry_of" in t.system_attrs)
    for t in trials:
        if t.state is TrialState.FAILED:
            assert t.fail_reason.startswith("stale"), t.fail_reason
            assert retries_of[t.number] == 1, f"trial {t.number} retried {retries_of[t.number]}x"
        else:
            assert retries_of[t.number] == 0
        if "retry_of" in t.system_attrs:
            before = by_number[t.system_attrs["retry_of"]]
            assert before.state is TrialState.FAILED
            # What the killed attempt had sampled is kept; the rest is sampled afresh.
            assert {k: t.params[k] for k in before.params} == dict(before.params)

    # Each configuration (chain of attempts) ended exactly once, complete or pruned, with the
    # value its parameters give: no lost result, no duplicated one.
    endings = Counter(
        t.system_attrs.get("first_attempt", t.number)
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
    )
    chains = {t.system_attrs.get("first_attempt", t.number) for t in trials}
    assert set(endings) == chains and set(endings.values()) == {1}
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    for t in complete:
        assert math.isclose(t.value, value_of(t.params["x"], t.params["y"]))
        assert t.params["x"] <= 0.9
    for t in trials:
        if t.state is TrialState.PRUNED:
            assert t.params["x"] > 0.9

    # The best value is intact, as the study and a summary straight from storage report it.
    best = min(t.value for t in complete)
    assert study.best_value == best
    (summary,) = [s for s in study.storage.list_studies() if s.name == "chaos"]
    assert summary.best_values == (best,)
    print(  # shown with -s: how hard the run was
        f"\n{kind}: {kills} kills, {len(trials)} trials: {states[TrialState.COMPLETE]} complete, "
        f"{states[TrialState.PRUNED]} pruned, {states[TrialState.FAILED]} failed+retried; "
        f"best {best:.5f}"
    )
    study.storage.close()


class _PendingRecorder(honed.samplers.RandomSampler):
    """Random search that notes, at each ask, how many trials the history shows running."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.pending_at_ask: list[int] = []

    def infer_relative_space(self, history, trial, declared_space=None):
        self.pending_at_ask.append(len(history.running))
        return super().infer_relative_space(history, trial, declared_space)


def _pending_objective(trial: honed.Trial) -> float:
    time.sleep(0.2)
    return trial.float("x", 0.0, 1.0)


def test_worker_processes_see_each_others_pending_trials(tmp_path: Path):
    sampler = _PendingRecorder()
    study = honed.create_study(storage=f"sqlite:///{tmp_path / 'p.db'}", sampler=sampler)
    study.optimize(_pending_objective, n_trials=12, n_jobs=3, executor="process")
    # What the sampler saw when each trial was asked: the trials other workers were running.
    seen = sampler.pending_at_ask
    assert len(seen) == 12
    assert max(seen) == 2  # three workers: up to two others in flight at each ask
    assert sum(s > 0 for s in seen) >= len(seen) // 2
    study.storage.close()


def _kill_own_process_on_trial_3(trial: honed.Trial) -> float:
    x = trial.float("x", 0.0, 1.0)
    marker = Path(trial.study.user_attrs["marker"])
    if trial.number == 3 and not marker.exists():
        marker.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return x


@pytest.mark.parametrize("retries", [0, 1])
def test_optimize_survives_a_killed_worker_process(tmp_path: Path, retries: int):
    study = honed.create_study(
        storage=f"sqlite:///{tmp_path / 'k.db'}",
        sampler="random",
        seed=1,
        faults=honed.FaultPolicy(retries=retries),
    )
    study.set_user_attr("marker", str(tmp_path / "marker"))
    study.optimize(_kill_own_process_on_trial_3, n_trials=12, n_jobs=2, executor="process")
    trials = study.trials
    states = Counter(t.state for t in trials)
    assert (tmp_path / "marker").exists()
    assert states[TrialState.RUNNING] == 0 and states[TrialState.WAITING] == 0
    # The killed attempt uses its slot of the budget, unless it is retried.
    assert len(trials) == 12 + retries
    failed = [t for t in trials if t.state is TrialState.FAILED]
    assert [t.number for t in failed] == [3]
    assert "SIGKILL" in failed[0].fail_reason
    assert states[TrialState.COMPLETE] == 11 + retries
    if retries:
        again = [t for t in trials if t.system_attrs.get("retry_of") == 3]
        assert len(again) == 1 and again[0].state is TrialState.COMPLETE
        assert again[0].params == failed[0].params or not failed[0].params
    study.storage.close()


def _always_kill_own_process(trial: honed.Trial) -> float:
    trial.float("x", 0.0, 1.0)
    os.kill(os.getpid(), signal.SIGKILL)
    return 0.0


def test_optimize_gives_up_on_a_crash_loop_and_keeps_the_study_usable(tmp_path: Path):
    study = honed.create_study(storage=f"sqlite:///{tmp_path / 'loop.db'}", sampler="random")
    with pytest.raises(RuntimeError, match=r"worker processes died .*SIGKILL"):
        study.optimize(_always_kill_own_process, n_trials=50, n_jobs=2, executor="process")
    trials = study.trials
    assert trials and all(t.state is TrialState.FAILED for t in trials)
    assert len(trials) <= 2 * 2 + 2 + 2  # the first workers plus every replacement, once each
    study.optimize(lambda t: t.float("x", 0.0, 1.0), n_trials=3)
    assert sum(t.state is TrialState.COMPLETE for t in study.trials) == 3
    study.storage.close()


def _trial_0_dies_mid_message(trial: honed.Trial) -> float:
    if trial.number == 0:
        # a message header that promises 1000 bytes, 10 of them, and death mid-write: what a
        # worker killed by the OOM killer while reporting leaves in its pipe
        import struct

        conn = trial._channel._conn  # the worker's pipe to the study's process
        os.write(conn.fileno(), struct.pack("!i", 1000) + b"x" * 10)
        os.kill(os.getpid(), signal.SIGKILL)
    x = trial.float("x", 0.0, 1.0)
    for step in range(3):
        trial.report(x + step, step)
    return x


def test_a_worker_killed_mid_message_blocks_no_other_worker():
    # Each worker talks to the study's process over a pipe of its own. (A shared
    # multiprocessing.Queue hung the study when a worker died while holding its write lock.)
    study = honed.create_study(sampler="random", seed=0)
    study.optimize(_trial_0_dies_mid_message, n_trials=6, n_jobs=2, executor="process")
    trials = study.trials
    assert len(trials) == 6
    assert trials[0].state is TrialState.FAILED and "SIGKILL" in trials[0].fail_reason
    assert [t.state for t in trials[1:]] == [TrialState.COMPLETE] * 5
    assert all(len(t.intermediate_values) == 3 for t in trials[1:])


# ---- whole process groups killed (the OOM killer, a node going down, Ctrl-C twice) --------
GROUP = textwrap.dedent(
    """
    import os, sys, time
    import honed
    url, log = sys.argv[1], sys.argv[2]
    study = honed.create_study("storm", storage=url, sampler="random", load_if_exists=True,
                               faults=honed.FaultPolicy(0.1, 0.6, retries=1))
    def objective(trial):
        x = trial.float("x", 0.0, 1.0)
        y = trial.int("y", 0, 9)
        with open(log, "a") as f:  # the objective has started with this configuration
            f.write(f"{trial.number} {x!r} {y}\\n")
        time.sleep(0.05 + 0.2 * x)
        return x + y
    study.optimize(objective, n_trials=100_000, n_jobs=4, executor="process",
                   show_progress=False)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgres"])
def test_killed_process_groups_leave_nothing_running_and_lose_no_configuration(
    kind, tmp_path: Path, request
):
    import subprocess
    import sys

    url = _url(kind, tmp_path, "storm", request)
    script, log = tmp_path / "group.py", tmp_path / "started.log"
    script.write_text(GROUP)
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, str(script), url, str(log)],
            start_new_session=True,  # its own process group, killed whole below
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        before = log.read_text().count("\n") if log.exists() else 0
        deadline = time.monotonic() + 60
        while (log.read_text().count("\n") if log.exists() else 0) < before + 4:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the study made no progress"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    time.sleep(0.3)  # the workers follow their parent (PR_SET_PDEATHSIG)

    study = honed.load_study("storm", storage=url)
    assert study.faults == honed.FaultPolicy(0.1, 0.6, retries=1)  # stored, not given again
    orphans = study.get_trials([TrialState.RUNNING])
    assert orphans, "the kills should have left trials running"
    # The next process to touch the study fails the dead trials within the grace period.
    time.sleep(0.7)
    study.optimize(lambda t: t.float("x", 0.0, 1.0) + t.int("y", 0, 9), n_trials=2)
    trials = {t.number: t for t in study.trials}
    assert not [t for t in trials.values() if t.state is TrialState.RUNNING]
    for t in orphans:
        assert trials[t.number].state is TrialState.FAILED
        assert trials[t.number].fail_reason.startswith("stale")
    # Every configuration an objective started with is stored with its trial.
    started = [line.split() for line in log.read_text().splitlines()]
    assert len(started) >= 8 * 4
    for number, x, y in started:
        assert trials[int(number)].params == {"x": float(x), "y": int(y)}
    # ... and a retry re-runs exactly that configuration (a trial killed between two
    # parameters has the rest sampled afresh).
    retries = [t for t in trials.values() if "retry_of" in t.system_attrs]
    assert retries
    for t in retries:
        original = trials[t.system_attrs["retry_of"]].params
        assert {k: t.params[k] for k in original} == original
    study.storage.close()
