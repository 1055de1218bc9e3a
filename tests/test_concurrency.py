"""Many real processes on one SQLite file: no lost trials, dense unique numbers, no "database
is locked"; optimize(n_jobs) in processes; resuming after a SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

import honed
from honed import TrialState
from honed.samplers import GridSampler, QMCSampler

WORKER = textwrap.dedent(
    """
    import os, sys, time
    import honed
    url, worker, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    while not os.path.exists(go):  # start together, to collide as much as possible
        time.sleep(0.005)
    study = honed.create_study("shared", storage=url, load_if_exists=True, sampler="random",
                               seed=worker)
    for i in range(n):
        t = study.ask()
        x = t.float("x", -1, 1)
        t.set_user_attr("worker", worker)
        if i % 7 == 3:
            t.report(x, 0)
        study.tell(t, x * x)
    print("ok", worker)
    """
)


def _spawn(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


@pytest.mark.slow
def test_four_processes_share_one_file(tmp_path: Path) -> None:
    """Four processes create the same study at once (schema and study creation race too),
    then each runs ask/tell in a loop on one SQLite file."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    n = 30
    procs = [_spawn([str(script), url, str(w), str(n), str(go)]) for w in range(4)]
    time.sleep(0.5)
    go.touch()
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err.lower(), err
        assert out.startswith("ok")
    study = honed.load_study("shared", storage=url)
    trials = study.trials
    assert len(trials) == 4 * n  # none lost
    assert [t.number for t in trials] == list(range(4 * n))  # unique and dense
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert Counter(t.user_attrs["worker"] for t in trials) == {w: n for w in range(4)}
    assert all(t.value == pytest.approx(t.params["x"] ** 2) for t in trials)
    con = sqlite3.connect(tmp_path / "shared.db")
    (n_studies,) = con.execute("SELECT COUNT(*) FROM studies").fetchone()
    con.close()
    assert n_studies == 1


def _pid_objective(trial: honed.Trial) -> float:
    trial.set_user_attr("pid", os.getpid())
    time.sleep(0.02)  # long enough for every worker to get a share
    return trial.float("x", 0, 1)


@pytest.mark.slow
def test_optimize_n_jobs_uses_processes(sqlite_url: str) -> None:
    study = honed.create_study("par", storage=sqlite_url, sampler=QMCSampler(seed=0))
    study.optimize(_pid_objective, n_trials=24, n_jobs=4, show_progress=False)
    trials = study.trials
    assert len(trials) == 24  # exactly n_trials, not one more
    assert [t.number for t in trials] == list(range(24))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) > 1 and os.getpid() not in pids
    # QMC point n goes to trial n, whichever worker runs it: no two workers repeat a point.
    assert len({t.params["x"] for t in trials}) == 24
    # A second call runs exactly n_trials more, in the same study.
    study.optimize(_pid_objective, n_trials=5, n_jobs=2, show_progress=False)
    assert len(study.trials) == 29


@pytest.mark.slow
def test_grid_is_shared_by_worker_processes(sqlite_url: str) -> None:
    grid = {"a": [0, 1, 2, 3], "b": ["u", "v", "w"]}
    study = honed.create_study("grid", storage=sqlite_url, sampler=GridSampler(grid, seed=1))

    def objective(t: honed.Trial) -> float:
        time.sleep(0.01)
        return t.choice("a", [0, 1, 2, 3]) + len(t.choice("b", ["u", "v", "w"]))

    study.optimize(objective, n_jobs=4, show_progress=False)  # no n_trials: until exhausted
    points = Counter((t.params["a"], t.params["b"]) for t in study.trials)
    assert set(points) == {(a, b) for a in range(4) for b in "uvw"}
    # Workers asking at the very moment the grid runs out may share its last point, at most
    # one extra trial each.
    assert len(study.trials) <= 12 + 3


def test_errors_in_worker_processes_reach_the_caller(sqlite_url: str) -> None:
    study = honed.create_study("err", storage=sqlite_url)

    def objective(t: honed.Trial) -> float:
        t.float("x", 0, 1)
        raise ZeroDivisionError("in a worker")

    with pytest.raises(ZeroDivisionError, match="in a worker"):
        study.optimize(objective, n_trials=6, n_jobs=2, catch=(), show_progress=False)
    trials = study.trials
    assert trials and all(t.state is TrialState.FAILED for t in trials)
    study.optimize(objective, n_trials=4, n_jobs=2, show_progress=False)  # caught: goes on
    assert len(study.trials) == len(trials) + 4


# ---- SIGKILL and resume ------------------------------------------------------------------
RUNNER = textwrap.dedent(
    """
    import sys, time
    import honed
    url, n_jobs = sys.argv[1], int(sys.argv[2])
    study = honed.create_study("long", storage=url, sampler="random", seed=0,
                               load_if_exists=True)
    def objective(t):
        x = t.float("x", -5, 5)
        t.set_user_attr("tag", "before")
        time.sleep(0.05)
        return (x - 1) ** 2
    study.optimize(objective, n_trials=100000, n_jobs=n_jobs, show_progress=False)
    """
)


def _count_complete(path: Path) -> int:
    if not path.exists():
        return 0
    con = sqlite3.connect(path, timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM trials WHERE state = 2").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        con.close()


def _count_all(path: Path) -> int:
    con = sqlite3.connect(path, timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_resume_after_sigkill(tmp_path: Path, n_jobs: int) -> None:
    path = tmp_path / "killed.db"
    url = f"sqlite:///{path}"
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    proc = _spawn([str(script), url, str(n_jobs)])
    deadline = time.time() + 120
    while _count_complete(path) < 8:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.time() < deadline, "the runner made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # Worker processes must notice that their parent is gone and stop starting trials.
    time.sleep(1.0)
    settled = _count_all(path)
    time.sleep(1.0)
    assert _count_all(path) == settled

    study = honed.load_study("long", storage=url, sampler="random", seed=1)
    before = study.trials
    assert [t.number for t in before] == list(range(len(before)))
    finished = [t for t in before if t.state.is_finished]
    unfinished = [t for t in before if not t.state.is_finished]
    assert len(finished) >= 8
    # The orphans are the trials that were running when the kill came, at most one per worker.
    assert len(unfinished) <= n_jobs
    assert all(t.state is TrialState.RUNNING for t in unfinished)
    for t in finished:
        assert t.state is TrialState.COMPLETE
        assert t.value == pytest.approx((t.params["x"] - 1) ** 2)
        assert t.user_attrs == {"tag": "before"}

    def objective(t: honed.Trial) -> float:
        x = t.float("x", -5, 5)
        t.set_user_attr("tag", "after")
        return (x - 1) ** 2

    study.optimize(objective, n_trials=5, show_progress=False)
    after = study.trials
    assert [t.number for t in after] == list(range(len(before) + 5))
    new = after[len(before) :]
    assert all(t.state is TrialState.COMPLETE and t.user_attrs["tag"] == "after" for t in new)
    for old, same in zip(before, after, strict=False):  # finished trials are intact
        if old.state.is_finished:
            assert same == old
    assert study.best_value == min(t.value for t in after if t.state is TrialState.COMPLETE)


# ---- fork safety ---------------------------------------------------------------------------
def _fork_child(storage, study_id: int, n: int, out) -> None:
    # The pool inherited from the parent must be empty here: no shared connections.
    out.put(storage._engine.pool.checkedin())
    for _ in range(n):
        t = storage.create_trial(study_id)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [float(t.number)])


def test_storages_are_fork_safe(tmp_path: Path) -> None:
    """A storage object used before a fork (so its pool holds an open connection) keeps
    working in the children and in the parent, with no connection shared between them."""
    import multiprocessing as mp

    from honed.storage.sql import SQLStorage
    from honed.trial import Direction

    storage = SQLStorage(f"sqlite:///{tmp_path / 'fork.db'}")
    sid = storage.create_study("fork", (Direction.MINIMIZE,))
    storage.finish_trial(storage.create_trial(sid).trial_id, TrialState.COMPLETE, [0.0])
    assert storage._engine.pool.checkedin() >= 1
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_fork_child, args=(storage, sid, 25, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for _ in range(25):  # the parent keeps writing through its own connections meanwhile
        t = storage.create_trial(sid)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [float(t.number)])
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert [out.get(timeout=5) for _ in procs] == [0, 0]
    trials = storage.get_trials(sid)
    assert [t.number for t in trials] == list(range(76))
    assert all(t.state is TrialState.COMPLETE and t.value == t.number for t in trials)
