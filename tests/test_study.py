"""The trial lifecycle on in-memory and SQLite storage: ask/tell, optimize, best trials,
enqueue, reports, failures, constraints, immutability."""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import pty
import re
import select
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import honed
from honed import (
    Direction,
    DuplicatedStudyError,
    SpaceError,
    StudyError,
    StudyNotFoundError,
    TrialPruned,
    TrialState,
    TrialStateError,
)
from honed.samplers import GridSampler
from honed.storage import Storage


def quadratic(trial: honed.Trial) -> float:
    x = trial.float("x", -5, 5)
    y = trial.int("y", 0, 4)
    return (x - 1) ** 2 + y


# ---- creating and loading ------------------------------------------------------------------
def test_create_load_delete(storage: Storage) -> None:
    s = honed.create_study("a", storage=storage, direction="maximize")
    assert s.direction is Direction.MAXIMIZE and not s.is_multi_objective
    with pytest.raises(DuplicatedStudyError, match="load_if_exists"):
        honed.create_study("a", storage=storage)
    same = honed.create_study("a", storage=storage, load_if_exists=True)
    assert same.direction is Direction.MAXIMIZE
    with pytest.raises(StudyError, match="directions"):
        honed.create_study("a", storage=storage, direction="minimize", load_if_exists=True)
    assert honed.load_study("a", storage=storage).name == "a"
    with pytest.raises(StudyNotFoundError, match="'b'"):
        honed.load_study("b", storage=storage)
    honed.delete_study("a", storage=storage)
    with pytest.raises(StudyNotFoundError):
        honed.load_study("a", storage=storage)


def test_direction_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="'minimise'"):
        honed.create_study(direction="minimise")
    with pytest.raises(ValueError, match="not both"):
        honed.create_study(direction="minimize", directions=["minimize"])
    with pytest.raises(ValueError, match="non-empty list"):
        honed.create_study(directions="minimize")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty string"):
        honed.create_study(name="  ")
    mo = honed.create_study(directions=["minimize", "MAXIMIZE"])
    assert mo.directions == (Direction.MINIMIZE, Direction.MAXIMIZE)
    with pytest.raises(StudyError, match="several objectives"):
        _ = mo.direction


# ---- ask / tell and best -------------------------------------------------------------------
def test_ask_tell_and_best(storage: Storage) -> None:
    s = honed.create_study(storage=storage, seed=0)
    with pytest.raises(StudyError, match="no complete feasible trial"):
        _ = s.best_trial
    values = {}
    for _ in range(12):
        t = s.ask()
        v = quadratic(t)
        values[t.number] = v
        done = s.tell(t, v)
        assert done.state is TrialState.COMPLETE and done.value == v
    best_number = min(values, key=values.get)
    assert s.best_trial.number == best_number
    assert s.best_value == values[best_number]
    assert s.best_params == s.best_trial.params
    assert set(s.best_params) == {"x", "y"}
    assert [t.number for t in s.best_trials] == [best_number]
    assert [t.number for t in s.trials] == list(range(12))


def test_maximize_best_and_ties(storage: Storage) -> None:
    s = honed.create_study(storage=storage, direction="maximize")
    for v in (1.0, 5.0, 3.0, 5.0):
        s.tell(s.ask(), v)
    assert s.best_trial.number == 1 and s.best_value == 5.0  # lowest number wins a tie
    assert [t.number for t in s.best_trials] == [1, 3]


def test_tell_by_number_and_states(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    a, b, c = s.ask(), s.ask(), s.ask()
    assert s.tell(1, 0.5).number == 1
    pruned = s.tell(a, state=TrialState.PRUNED)
    assert pruned.state is TrialState.PRUNED and pruned.values is None
    failed = s.tell(c, state=TrialState.FAILED, fail_reason="out of memory")
    assert failed.fail_reason == "out of memory"
    with pytest.raises(ValueError, match="no trial number 99"):
        s.tell(99, 1.0)
    with pytest.raises(TypeError, match="Trial or a trial number"):
        s.tell("0", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="RUNNING"):
        s.tell(s.ask(), 1.0, state=TrialState.RUNNING)
    assert b.number == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        ("0.5x", "not a number"),
        (None, "no value"),
        ([1.0, 2.0], "2 value(s)"),
        ({"loss": 1.0}, "not a number"),
    ],
)
def test_bad_values_fail_the_trial(storage: Storage, value: object, reason: str) -> None:
    s = honed.create_study(storage=storage)
    t = s.ask()
    t.float("x", 0, 1)
    if value is None:
        done = s.tell(t, value)
    else:
        with pytest.warns(UserWarning, match="failed"):
            done = s.tell(t, value)
    assert done.state is TrialState.FAILED and done.values is None
    assert reason in done.fail_reason
    # The study goes on.
    s.tell(s.ask(), 1.0)
    assert s.best_trial.number == 1


def test_multi_objective_wrong_count(storage: Storage) -> None:
    s = honed.create_study(storage=storage, directions=["minimize", "minimize"])
    with pytest.warns(UserWarning):
        done = s.tell(s.ask(), 1.0)
    assert done.state is TrialState.FAILED
    assert "1 value(s) but the study has 2 direction(s)" in done.fail_reason


def test_finished_trials_are_immutable(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    t = s.ask()
    t.float("x", 0, 1)
    frozen = s.tell(t, 0.25)
    with pytest.raises(TrialStateError, match="COMPLETE"):
        s.tell(t, 0.5)
    with pytest.raises(TrialStateError):
        s.tell(t, state=TrialState.FAILED)
    with pytest.raises(TrialStateError):
        t.report(0.1, 1)
    with pytest.raises(TrialStateError):
        t.set_user_attr("late", 1)
    with pytest.raises(TrialStateError):
        t.float("z", 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.state = TrialState.FAILED  # type: ignore[misc]
    again = s.trials[0]
    assert again.state is TrialState.COMPLETE and again.value == 0.25
    assert set(again.params) == {"x"} and again.user_attrs == {}


def test_user_attrs_and_reports(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    s.set_user_attr("dataset", "digits")
    t = s.ask()
    t.set_user_attr("pid", os.getpid())
    t.set_user_attr("scores", [0.1, 0.2])
    for step, v in enumerate([0.9, 0.7, 0.6]):
        t.report(v, step)
    assert t.intermediate_values == {0: 0.9, 1: 0.7, 2: 0.6}
    with pytest.raises(ValueError, match="non-negative int"):
        t.report(0.5, -1)
    with pytest.raises(ValueError, match="must be a number"):
        t.report("high", 3)  # type: ignore[arg-type]
    s.tell(t, 0.6)
    back = honed.load_study(s.name, storage=storage).trials[0]
    assert back.user_attrs == {"pid": os.getpid(), "scores": [0.1, 0.2]}
    assert back.intermediate_values == {0: 0.9, 1: 0.7, 2: 0.6}
    assert s.user_attrs == {"dataset": "digits"}


def test_pruned_trial_keeps_last_report(storage: Storage) -> None:
    s = honed.create_study(storage=storage)

    def objective(trial: honed.Trial) -> float:
        for step in range(3):
            trial.report(10.0 - step, step)
        raise TrialPruned("enough")

    s.optimize(objective, n_trials=2, show_progress=False)
    assert [t.state for t in s.trials] == [TrialState.PRUNED] * 2
    assert s.trials[0].values == (8.0,)
    with pytest.raises(StudyError):
        _ = s.best_trial  # pruned trials are never best


# ---- enqueue -------------------------------------------------------------------------------
def test_enqueue(storage: Storage) -> None:
    s = honed.create_study(storage=storage, seed=1)
    s.enqueue({"x": 1.0, "y": 3})
    s.enqueue({"x": 4.5})
    s.enqueue({"x": 1.0, "y": 3}, skip_if_exists=True)  # already queued: no third entry
    s.optimize(quadratic, n_trials=4, show_progress=False)
    trials = s.trials
    assert len(trials) == 4
    assert trials[0].params == {"x": 1.0, "y": 3} and trials[0].value == 3.0
    assert trials[1].params["x"] == 4.5 and 0 <= trials[1].params["y"] <= 4
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert s.best_trial.number == min(trials, key=lambda t: t.value).number
    with pytest.raises(TypeError, match="dict"):
        s.enqueue([("x", 1.0)])  # type: ignore[arg-type]


def test_enqueued_value_outside_range(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    s.enqueue({"x": 99.0})
    t = s.ask()
    with pytest.raises(SpaceError, match=r"'x'.*inside the range"):
        t.float("x", 0, 1)


def test_enqueued_choice_keeps_type(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    s.enqueue({"c": True, "d": 1})
    t = s.ask()
    assert t.choice("c", [1, True, "a"]) is True
    d = t.choice("d", [True, 1])
    assert d == 1 and type(d) is int


# ---- optimize: failures ---------------------------------------------------------------------
def test_objective_errors_are_recorded_and_the_study_goes_on(storage: Storage) -> None:
    s = honed.create_study(storage=storage, seed=0)

    def objective(trial: honed.Trial) -> float:
        x = trial.float("x", 0, 1)
        if trial.number % 2:
            raise RuntimeError(f"boom {trial.number}")
        return x

    s.optimize(objective, n_trials=6, show_progress=False)
    states = [t.state for t in s.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED] * 3
    failed = s.trials[1]
    assert failed.fail_reason == "RuntimeError: boom 1"
    assert "Traceback" in failed.system_attrs["traceback"]
    assert "raise RuntimeError" in failed.system_attrs["traceback"]
    assert "x" in failed.params  # parameters sampled before the crash are kept


def test_catch_nothing_reraises(storage: Storage) -> None:
    s = honed.create_study(storage=storage)

    def objective(trial: honed.Trial) -> float:
        trial.float("x", 0, 1)
        raise KeyError("missing column")

    with pytest.raises(KeyError, match="missing column"):
        s.optimize(objective, n_trials=5, catch=(), show_progress=False)
    assert len(s.trials) == 1
    assert s.trials[0].state is TrialState.FAILED
    assert "KeyError" in s.trials[0].fail_reason
    # catch a different type: still re-raised
    with pytest.raises(KeyError):
        s.optimize(objective, n_trials=5, catch=(ValueError,), show_progress=False)
    assert len(s.trials) == 2


def test_objective_returning_nan_in_optimize(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    s.optimize(lambda t: math.nan if t.number == 0 else t.float("x", 0, 1), n_trials=3,
               show_progress=False)  # fmt: skip
    assert [t.state for t in s.trials] == [TrialState.FAILED] + [TrialState.COMPLETE] * 2
    assert "not a finite number" in s.trials[0].fail_reason


class _BadFloat:
    def __float__(self) -> float:
        raise ZeroDivisionError("no float here")


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        (10**400, "too large for a float"),
        (_BadFloat(), "ZeroDivisionError: no float here"),
        (True, "(bool), not a number"),
        ("1.5", "(str), not a number"),
        (None, "the objective returned None"),
        (np.array([[1.0]]), "shape (1, 1)"),
        ([1.0, 2.0], "2 value(s) but the study has 1"),
        (float("inf"), "not a finite number"),
    ],
)
def test_a_bad_objective_value_fails_its_trial_only(returned, reason, storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    calls = iter([returned, 1.0])
    s.optimize(lambda t: t.float("x", 0, 1) and next(calls), n_trials=2, show_progress=False)
    bad, good = s.trials
    assert bad.state is TrialState.FAILED and reason in bad.fail_reason
    assert good.state is TrialState.COMPLETE and good.value == 1.0
    assert s.storage.count_trials(s._study_id, [TrialState.RUNNING]) == 0


def test_numpy_values_are_numbers() -> None:
    s = honed.create_study()
    s.optimize(lambda t: np.float32(t.float("x", 0.5, 1)), n_trials=1, show_progress=False)
    s.optimize(lambda t: np.array([t.float("x", 0.5, 1)]), n_trials=1, show_progress=False)
    assert [t.state for t in s.trials] == [TrialState.COMPLETE] * 2
    mo = honed.create_study(directions=["minimize", "maximize"])
    mo.optimize(lambda t: np.array([t.float("x", 0, 1), 2.0]), n_trials=2, show_progress=False)
    assert [t.values[1] for t in mo.trials] == [2.0, 2.0]
    assert all(type(v) is float for t in mo.trials for v in t.values)


def test_optimize_arguments_are_checked() -> None:
    s = honed.create_study()
    for kwargs, fragment in [
        ({"n_trials": -1}, "n_trials"),
        ({"n_trials": 1.5}, "n_trials"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"timeout": 0}, "timeout"),
        ({"executor": "gpu"}, "executor"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            s.optimize(quadratic, show_progress=False, **kwargs)
    with pytest.raises(TypeError, match="callable"):
        s.optimize(42, n_trials=1)  # type: ignore[arg-type]
    assert s.trials == []


def _pid_of_worker(trial: honed.Trial) -> float:
    trial.set_user_attr("pid", os.getpid())
    return trial.float("x", 0, 1)


def test_worker_processes_run_an_in_memory_study() -> None:
    # Workers only run objectives; the study's process samples and records, so memory works.
    s = honed.create_study(sampler="random", seed=0)
    s.optimize(_pid_of_worker, n_trials=6, n_jobs=2, executor="process", show_progress=False)
    trials = s.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    pids = {t.user_attrs["pid"] for t in trials}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_callbacks_stop_and_timeout(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    seen: list[int] = []

    def cb(study: honed.Study, frozen: honed.FrozenTrial) -> None:
        seen.append(frozen.number)
        if len(seen) == 3:
            study.stop()

    s.optimize(quadratic, n_trials=50, callbacks=[cb], show_progress=False)
    assert seen == [0, 1, 2] and len(s.trials) == 3
    s.optimize(quadratic, timeout=0.3, show_progress=False)  # stop() does not stick
    assert len(s.trials) > 3
    assert all(t.state is TrialState.COMPLETE for t in s.trials)


def test_threads_on_memory_warn_and_run_exactly_n() -> None:
    s = honed.create_study(seed=0)
    with pytest.warns(UserWarning, match="threads"):
        s.optimize(quadratic, n_trials=20, n_jobs=3, show_progress=False)
    assert len(s.trials) == 20 and sorted(t.number for t in s.trials) == list(range(20))
    s2 = honed.create_study()
    s2.optimize(quadratic, n_trials=7, n_jobs=2, executor="thread", show_progress=False)
    assert len(s2.trials) == 7


def test_grid_sampler_stops_when_exhausted(storage: Storage) -> None:
    grid = {"a": [1, 2, 3], "b": ["u", "v"]}
    s = honed.create_study(storage=storage, sampler=GridSampler(grid, seed=0))
    s.optimize(lambda t: t.int("a", 1, 3) + len(t.choice("b", ["u", "v"])), show_progress=False)
    seen = sorted((t.params["a"], t.params["b"]) for t in s.trials)
    assert seen == [(a, b) for a in (1, 2, 3) for b in ("u", "v")]


# ---- declarative ask -------------------------------------------------------------------------
def test_ask_with_declared_space(storage: Storage) -> None:
    s = honed.create_study(storage=storage, seed=4)
    space = {
        "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "units": honed.Int(8, 64, step=8),
    }
    t = s.ask(space)
    assert set(t.params) == {"lr", "units"}
    s.tell(t, t.params["lr"])
    assert set(s.trials[0].params) == {"lr", "units"}
    assert s.trials[0].distributions["units"] == honed.Int(8, 64, step=8)
    n = len(s.trials)
    with pytest.raises(SpaceError, match="'bad'"):
        s.ask({"bad": {"type": "float", "low": 1, "high": 0}})
    assert len(s.trials) == n  # an invalid space starts no trial


# ---- multi-objective and constraints -------------------------------------------------------
def test_pareto_front(storage: Storage) -> None:
    s = honed.create_study(storage=storage, directions=["minimize", "maximize"])
    points = [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (0.5, 0.5), (2.0, 3.0), (4.0, 4.0)]
    for p in points:
        s.tell(s.ask(), list(p))
    # (3, 2) is dominated by (2, 3); the duplicate (2, 3) stays; (4, 4) is not dominated.
    assert sorted(t.number for t in s.best_trials) == [0, 1, 3, 4, 5]
    with pytest.raises(StudyError, match="best_trials"):
        _ = s.best_trial


def test_constraints_exclude_infeasible(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    for value, cons in [(0.0, [1.0]), (2.0, [-1.0, 0.0]), (1.0, [0.5, -2.0]), (3.0, [-0.1])]:
        t = s.ask()
        t.set_constraints(cons)
        s.tell(t, value)
    assert s.best_trial.number == 1 and s.best_value == 2.0
    assert [t.number for t in s.best_trials] == [1]
    with pytest.raises(ValueError, match="NaN"):
        s.ask().set_constraints([math.nan])
    with pytest.raises(ValueError, match="list of numbers"):
        s.ask().set_constraints(["a"])

    mo = honed.create_study(storage=storage, directions=["minimize", "minimize"])
    for vals, cons in [([0.0, 0.0], [1.0]), ([1.0, 2.0], [0.0]), ([2.0, 1.0], [-1.0])]:
        t = mo.ask()
        t.set_constraints(cons)
        mo.tell(t, vals)
    assert [t.number for t in mo.best_trials] == [1, 2]


# ---- progress bar --------------------------------------------------------------------------
@pytest.mark.slow
def test_progress_bar_on_a_terminal(tmp_path) -> None:
    """The bar shows on a real terminal (a pty) with the count, the best value and the study's
    name as text (markup and terminal codes in it are shown, not obeyed), and the objective's
    stdout is not mixed into it."""
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            """
            import honed
            s = honed.create_study("bar [/red] \x1b]0;title\x07", seed=0)
            s.optimize(lambda t: t.float("x", 1, 2), n_trials=5)
            print("DONE", len(s.trials))
            """
        )
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=slave, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert out.decode().strip() == "DONE 5"  # stdout carries the program's output only
    assert "5/5" in terminal and "best 1" in terminal
    assert "bar [/red] \\x1b]0;title\\x07" in terminal and "\x1b]0;" not in terminal


def test_no_progress_output_without_terminal_but_a_log_line_per_trial(capfd) -> None:
    s = honed.create_study()
    s.optimize(quadratic, n_trials=3)
    out, err = capfd.readouterr()
    assert out == ""  # stdout is the program's
    lines = err.splitlines()
    assert [line.split()[:4] for line in lines] == [
        ["[honed", "INFO]", "trial", str(n)] for n in range(3)
    ]
    assert "\x1b" not in err and "3/3" not in err  # no progress bar outside a terminal
    best = s.best_trial
    assert lines[-1].endswith(f"best is trial {best.number} ({best.value:.6g})")


def test_verbosity_from_the_environment_and_set_verbosity(capfd) -> None:
    code = (
        "import honed\n"
        "s = honed.create_study()\n"
        "s.optimize(lambda t: t.float('x', 0, 1), n_trials=2)\n"
        "honed.set_verbosity('INFO')\n"
        "s.optimize(lambda t: t.float('x', 0, 1), n_trials=1)\n"
    )
    env = {**os.environ, "HONED_LOG_LEVEL": "warning"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("[honed INFO] trial") == 1  # only after set_verbosity('INFO')
    with pytest.raises(ValueError, match="verbosity"):
        honed.set_verbosity("loud")


# ---- parameters are written as they are sampled ---------------------------------------------
def test_params_reach_storage_as_they_are_sampled(sqlite_url: str) -> None:
    """An objective that samples and then trains quietly (or is killed): its parameters are
    in storage the moment it has them, for other workers and for a retry."""
    study = honed.create_study("quiet", storage=sqlite_url)
    t = study.ask()
    x = t.float("x", 0, 1)
    other = honed.load_study("quiet", storage=sqlite_url)  # another handle, as another worker
    assert other.trials[0].params == {"x": x}
    n = t.int("n", 1, 8)
    assert other.trials[0].params == {"x": x, "n": n}
    assert other.trials[0].state is TrialState.RUNNING
    study.tell(t, x)
    assert other.trials[0].params == {"x": x, "n": n}


def test_other_writes_carry_the_params_first(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    t = s.ask()
    x = t.float("x", 0, 1)
    t.report(0.5, 0)  # immediately: no waiting for the timer
    assert s.trials[0].params == {"x": x}
    y = t.float("y", 0, 1)
    t.set_user_attr("k", 1)
    assert s.trials[0].params == {"x": x, "y": y}


def test_tell_by_number_carries_unsaved_params(storage: Storage) -> None:
    s = honed.create_study(storage=storage)
    t = s.ask()
    x = t.float("x", 0, 1)
    c = t.choice("c", [True, 1])
    done = s.tell(t.number, 1.0)
    assert done.params == {"x": x, "c": c}
    assert type(s.trials[0].params["c"]) is type(c)


def test_write_transactions_per_trial(sqlite_url: str) -> None:
    """ask + three define-by-run parameters + tell costs one write to create the trial, one
    per parameter as it is sampled (a process killed mid-trial keeps its configuration) and
    one to finish it, plus one incremental read; a declared space is written in one go. The
    budget behind honed's ask/tell overhead: a regression here shows up as lost throughput
    under many processes."""
    from sqlalchemy import event

    study = honed.create_study("tx", storage=sqlite_url, sampler="random", seed=0)
    study.tell(study.ask(), 0.0)  # warm up: first-read caches
    kinds: list[str] = []

    @event.listens_for(study.storage._engine, "begin")
    def _count(conn) -> None:
        kinds.append("read" if conn.get_execution_options().get("honed_read") else "write")

    for _ in range(5):
        t = study.ask()
        t.float("x", -1, 1)
        t.int("k", 1, 64, log=True)
        t.choice("c", ["a", "b"])
        study.tell(t, 1.0)
    assert kinds.count("write") == (2 + 3) * 5
    assert kinds.count("read") == 1 * 5
    assert all(len(tr.params) == 3 for tr in study.trials[1:])
    kinds.clear()
    space = {
        "x": honed.Float(-1, 1),
        "k": honed.Int(1, 64, log=True),
        "c": honed.Choice(["a", "b"]),
    }
    for _ in range(5):
        study.tell(study.ask(space), 1.0)
    assert kinds.count("write") == 3 * 5
    assert all(len(tr.params) == 3 for tr in study.trials[6:])


def test_enqueue_values_are_checked_and_compared_by_type(storage: Storage) -> None:
    import numpy as np

    s = honed.create_study(storage=storage)
    s.enqueue({"c": True})
    s.enqueue({"c": 1}, skip_if_exists=True)  # 1 is not True: queued
    s.enqueue({"c": True}, skip_if_exists=True)  # the same: skipped
    s.enqueue({"n": np.int64(3), "f": np.float32(0.5)})
    waiting = s.get_trials([TrialState.WAITING])
    assert [t.params for t in waiting] == [{"c": True}, {"c": 1}, {"n": 3, "f": 0.5}]
    assert type(waiting[1].params["c"]) is int and type(waiting[2].params["n"]) is int
    for bad in ([1, 2], math.nan, object()):
        with pytest.raises(SpaceError, match="'lr'"):
            s.enqueue({"lr": bad})
    assert len(s.trials) == 3


def test_random_search_workers_cache_no_finished_trials(sqlite_url: str) -> None:
    """A sampler that needs no history gets none: a worker's memory stays flat however long
    the study runs (bench/scripts/load_memory.py measures it), and enqueued trials still run."""
    study = honed.create_study(storage=sqlite_url, sampler="random", seed=0)
    study.enqueue({"x": 0.25})
    study.optimize(lambda t: t.float("x", 0.0, 1.0), n_trials=40, show_progress=False)
    assert study._ordered == []
    trials = study.trials  # reading the study as a user still sees everything
    assert len(trials) == 40 and trials[0].params == {"x": 0.25}
    assert len({t.params["x"] for t in trials}) == 40
    study.storage.close()


# ---- coming from Optuna, and the first run ----------------------------------------------
def test_optuna_spellings_name_the_honed_ones() -> None:
    s = honed.create_study()
    t = s.ask()
    for name, hint in [
        ("suggest_float", "trial.float("),
        ("suggest_int", "trial.int("),
        ("suggest_categorical", "trial.choice("),
        ("suggest_loguniform", "log=True"),
        ("should_prune", "trial.should_stop()"),
    ]:
        with pytest.raises(AttributeError, match=re.escape(hint)):
            getattr(t, name)
    with pytest.raises(AttributeError, match=r"no attribute 'nonsense'$"):
        t.nonsense  # noqa: B018 - a plain typo gets the plain message
    for name, hint in [
        ("trials_dataframe", "study.to_dataframe()"),
        ("enqueue_trial", "study.enqueue(params)"),
        ("add_trial", "study.add_trials"),
    ]:
        with pytest.raises(AttributeError, match=re.escape(hint)):
            getattr(s, name)
    with pytest.raises(TypeError, match="study_name= is Optuna's spelling; honed's is name="):
        honed.create_study(study_name="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="pruner= is Optuna's spelling; honed's is scheduler="):
        honed.create_study(pruner=None)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"show_progress_bar= .* show_progress="):
        s.optimize(quadratic, n_trials=1, show_progress_bar=False)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        honed.create_study(bogus=1)  # type: ignore[call-arg]
    with pytest.raises(AttributeError, match=r"honed\.schedulers"):
        honed.pruners  # noqa: B018
    with pytest.raises(AttributeError, match=r"honed\.plots"):
        honed.visualization  # noqa: B018
    with pytest.raises(ModuleNotFoundError, match=r"honed\.schedulers"):
        importlib.import_module("honed.pruners")
    assert len(s.trials) == 1  # the asked trial only: nothing ran


def _broken(trial: honed.Trial) -> float:
    x = trial.float("x", 0, 1)
    return undefined_in_the_objective + x  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_broken_objective_stops_after_its_first_failures(n_jobs: int) -> None:
    s = honed.create_study()
    executor = "process" if n_jobs > 1 else "auto"
    with pytest.raises(NameError, match="undefined_in_the_objective") as info:
        s.optimize(_broken, n_trials=100, n_jobs=n_jobs, executor=executor)
    assert any("the first 3 trials" in note for note in info.value.__notes__)
    trials = s.trials
    assert 3 <= len(trials) <= 3 + n_jobs and all(t.state is TrialState.FAILED for t in trials)
    assert sum("traceback" in t.system_attrs for t in trials) == 3  # the rest: stopped
    # A study that has worked once keeps going through the same error: it is data then.
    ok = honed.create_study()
    ok.optimize(quadratic, n_trials=1)
    ok.optimize(_broken, n_trials=5)
    assert len(ok.trials) == 6
    # Failures that are about configurations (ValueError) are recorded, never a stop.
    values = honed.create_study()
    values.optimize(lambda t: t.float("x", 0, 1) and math.sqrt(-1), n_trials=5)
    assert len(values.trials) == 5
    with pytest.raises(honed.StudyError, match="all 5 of its trials failed, 5 of them with"):
        values.best_trial  # noqa: B018


def test_loading_a_missing_study_lists_the_ones_there(sqlite_url: str) -> None:
    honed.create_study("demo-1", storage=sqlite_url)
    honed.create_study("other", storage=sqlite_url)
    with pytest.raises(honed.StudyNotFoundError, match="Did you mean 'demo-1'") as info:
        honed.load_study("demo1", sqlite_url)
    assert "Studies there: 'demo-1', 'other'." in str(info.value)
    with pytest.raises(honed.StudyNotFoundError, match="has no study yet"):
        honed.load_study("x", honed.storage.InMemoryStorage())
