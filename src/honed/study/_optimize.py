"""``study.optimize``: the one loop that runs trials, over any executor.

Ask a trial, hand it to the executor, record what comes back; heartbeats, retries, the
budget (trials, time, ``study.stop()``, an exhausted grid), ``catch``, callbacks and progress
all live here. Executors only run objectives (:mod:`honed.execution`), and several processes
running ``optimize`` on one study coordinate through its storage.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from honed._display import in_jupyter
from honed._text import printable
from honed.errors import TrialStateError
from honed.execution import (
    Executor,
    InlineExecutor,
    Job,
    ProcessExecutor,
    RayExecutor,
    ThreadExecutor,
    TrialOutcome,
)
from honed.history import History
from honed.objective import Objective, StudyInfo
from honed.samplers.base import Sampler
from honed.schedulers.base import Scheduler
from honed.space import ParamValue
from honed.storage.base import Storage
from honed.storage.memory import InMemoryStorage
from honed.study._heartbeat import FaultPolicy, Heartbeats
from honed.study._trial import LocalTrial
from honed.trial import Direction, FrozenTrial, TrialState

logger = logging.getLogger("honed")

__all__ = ["run_optimize"]


class Study(Protocol):
    """What the loop needs of the study it runs (:class:`honed.Study` is one)."""

    name: str
    directions: tuple[Direction, ...]
    sampler: Sampler
    scheduler: Scheduler | None
    faults: FaultPolicy
    _storage: Storage
    _study_id: int
    _stop_flag: threading.Event

    @property
    def user_attrs(self) -> dict[str, Any]: ...

    @property
    def direction(self) -> Direction: ...

    @property
    def is_multi_objective(self) -> bool: ...

    def ask(
        self,
        space: Mapping[str, Any] | None = None,
        *,
        fixed_params: Mapping[str, ParamValue] | None = None,
    ) -> LocalTrial: ...

    def _history(self) -> History: ...

    def _retry(self, frozen: FrozenTrial) -> FrozenTrial | None: ...

    def _finish(
        self,
        trial: LocalTrial | int,
        values: Any = None,
        state: TrialState | None = None,
        *,
        fail_reason: str | None = None,
        attrs: Mapping[str, Any] | None = None,
        warn: bool = True,
    ) -> FrozenTrial: ...


Callback = Callable[[Any, FrozenTrial], None]
_EXECUTOR_NAMES = ("auto", "inline", "thread", "process", "ray")


def run_optimize(
    study: Study,
    objective: Objective,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callback],
    show_progress: bool,
    executor: str | Executor,
    space: Mapping[str, Any] | None = None,
    fixed_params: Mapping[str, ParamValue] | None = None,
) -> None:
    """Check the arguments, pick the executor, and drive it (see :meth:`Study.optimize`)."""
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}.")
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0
    ):
        raise ValueError(f"n_trials must be a non-negative int or None, got {n_trials!r}.")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}.")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive int or -1 (one per CPU), got {n_jobs!r}.")
    if not isinstance(catch, tuple):
        catch = tuple(catch) if isinstance(catch, list) else (catch,)
    runner = _executor_for(executor, n_jobs, study)
    deadline = None if timeout is None else time.monotonic() + timeout
    study._stop_flag.clear()
    progress = _Progress(study, n_trials, timeout, show_progress)
    try:
        _drive(
            study,
            objective,
            runner,
            n_trials,
            deadline,
            n_jobs,
            catch,
            (space, fixed_params),
            callbacks,
            progress,
        )
    finally:
        progress.close()


def _executor_for(executor: str | Executor, n_jobs: int, study: Study) -> Executor:
    if isinstance(executor, Executor):
        return executor
    if not isinstance(executor, str):
        raise TypeError(
            f"executor must be one of {list(_EXECUTOR_NAMES)} or an honed.execution.Executor, "
            f"got {type(executor).__name__}."
        )
    if executor not in _EXECUTOR_NAMES:
        raise ValueError(
            f"executor must be one of {list(_EXECUTOR_NAMES)} or an honed.execution.Executor, "
            f"got {executor!r}."
        )
    if executor == "ray":
        return RayExecutor()
    if executor == "process":
        return ProcessExecutor()
    if executor == "thread":
        return ThreadExecutor()
    if executor == "inline" or n_jobs == 1:
        return InlineExecutor()
    if isinstance(study._storage, InMemoryStorage):
        # Objectives that share state with the caller in memory (appending to a list, say)
        # keep working as written; processes are one argument away.
        warnings.warn(
            "n_jobs > 1 with in-memory storage runs trials in threads, which CPU-bound "
            "objectives share one core through; pass executor='process' to run them in "
            "worker processes, or give create_study a storage such as 'sqlite:///honed.db'.",
            stacklevel=4,
        )
        return ThreadExecutor()
    return ProcessExecutor()


def _drive(
    study: Study,
    objective: Objective,
    executor: Executor,
    n_trials: int | None,
    deadline: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    asked: tuple[Mapping[str, Any] | None, Mapping[str, ParamValue] | None],
    callbacks: Sequence[Callback],
    progress: _Progress,
) -> None:
    """Keep the executor's slots full until the budget is spent; record every outcome.
    ``asked``: the declared space and the fixed parameters every trial is asked with."""
    space, fixed_params = asked
    warned_unused = False
    capacity = executor.start(objective, catch, n_jobs)
    info = StudyInfo(study.name, study.directions, study.user_attrs)
    uses_seconds = bool(getattr(study.scheduler, "uses_report_seconds", False))
    exhausted = getattr(study.sampler, "is_exhausted", None)
    beats = Heartbeats(study._storage, study.faults.heartbeat_interval)
    inflight: dict[int, Job] = {}
    started = 0
    journal = _Journal(study)
    try:
        while True:
            while (
                len(inflight) < capacity
                and (n_trials is None or started < n_trials)
                and (deadline is None or time.monotonic() < deadline)
                and not study._stop_flag.is_set()
                and not (exhausted is not None and exhausted(study._history()))
            ):
                executor.check()
                trial = study.ask(space, fixed_params=fixed_params)
                job = Job(trial, info, uses_seconds)
                beats.add(trial._trial_id)
                inflight[trial.number] = job
                started += 1
                try:
                    executor.submit(job)
                except BaseException:
                    del inflight[trial.number]
                    beats.discard(trial._trial_id)
                    _tell_alive(study, trial, state=TrialState.FAILED, reason="not submitted")
                    raise
            if not inflight:
                break
            for job, outcome in executor.poll(timeout=0.1):
                done = job.trial
                assert isinstance(done, LocalTrial)
                del inflight[done.number]
                beats.discard(done._trial_id)
                frozen, retried = _record(study, done, outcome)
                if retried and outcome.kind == "lost":
                    started -= 1  # a dead worker's retry re-runs it within the same budget
                journal.note(frozen)
                progress.advance(frozen)
                for callback in callbacks:
                    callback(study, frozen)
                if done._bad_fixed is not None:
                    raise done._bad_fixed  # every trial would fail the same way
                # (a declared space checked its names at ask; a name in a branch not taken
                # is unused rightly)
                unused = done._unused_fixed() if space is None else []
                if unused and not warned_unused and frozen.state is TrialState.COMPLETE:
                    warned_unused = True
                    warnings.warn(
                        f"fixed_params {unused} were never asked for by the objective of trial "
                        f"{frozen.number} (it asked for {sorted(frozen.params)}); check their "
                        "spelling.",
                        stacklevel=4,
                    )
                if outcome.kind == "failed" and not outcome.caught:
                    if outcome.exception is not None:
                        raise outcome.exception
                    raise RuntimeError(f"a worker's objective raised:\n{outcome.traceback}")
                journal.stop_if_broken(outcome)
        journal.summarize()
    finally:
        beats.close()
        if inflight:  # stopping on an error or ^C: nothing may stay RUNNING
            executor.cancel(list(inflight.values()))
            for job in inflight.values():
                assert isinstance(job.trial, LocalTrial)
                _tell_alive(study, job.trial, state=TrialState.FAILED, reason="optimize stopped")
        executor.close()


# Errors that mean the objective itself is broken, not that a configuration is bad.
_PROGRAMMING_ERRORS = (NameError, AttributeError, TypeError, ImportError, SyntaxError)
_FIRST_FAILURES = 3


class _Journal:
    """What one ``optimize`` call has run so far: a log line per trial, a stop when the
    objective is plainly broken, and a summary when every trial failed."""

    def __init__(self, study: Study) -> None:
        self._study = study
        self._best: FrozenTrial | None = None
        # The best so far, from the history the sampler reads anyway: a sampler that needs
        # none (random search) keeps its process's memory flat, and the line names the best
        # of this call.
        if not study.is_multi_objective and getattr(study.sampler, "needs_history", True):
            complete = [t for t in study._history().complete if t.is_feasible]
            if complete:
                self._best = min(complete, key=self._loss)
        self._finished = 0
        self._failures: list[FrozenTrial] = []
        self._failed_only = True
        self._had_complete = study._storage.count_trials(study._study_id, [TrialState.COMPLETE]) > 0

    def _loss(self, t: FrozenTrial) -> float:
        assert t.values is not None
        return self._study.direction.sign * t.values[0]

    def note(self, t: FrozenTrial) -> None:
        self._finished += 1
        if t.state is TrialState.FAILED:
            self._failures.append(t)
        else:
            self._failed_only = False
        if t.state is TrialState.COMPLETE:
            self._had_complete = True
        if not logger.isEnabledFor(logging.INFO) or t.state is TrialState.FAILED:
            return  # failures were logged as warnings already
        if t.state is TrialState.COMPLETE and t.values is not None:
            shown = t.values[0] if len(t.values) == 1 else list(t.values)
            what = f"value {shown:.6g}" if len(t.values) == 1 else f"values {shown}"
        else:
            last = t.last_step
            what = f"pruned at step {last}" if last is not None else "pruned"
        line = f"trial {t.number} {what} with {dict(t.params)}"
        if not self._study.is_multi_objective:
            if (
                t.state is TrialState.COMPLETE
                and t.is_feasible
                and (self._best is None or self._loss(t) < self._loss(self._best))
            ):
                self._best = t
            if self._best is not None:
                assert self._best.values is not None
                line += f"; best is trial {self._best.number} ({self._best.values[0]:.6g})"
        logger.info("%s", line)

    def stop_if_broken(self, outcome: TrialOutcome) -> None:
        """The first trials of a study that all raise the same programming error (a NameError
        in the objective, say) would fail every trial: raise it instead."""
        first = self._failures[:_FIRST_FAILURES]
        if (
            self._had_complete
            or not self._failed_only
            or len(self._failures) != _FIRST_FAILURES
            or not isinstance(outcome.exception, _PROGRAMMING_ERRORS)
            or len({t.fail_reason for t in first}) != 1
        ):
            return
        error = outcome.exception
        error.add_note(
            f"honed: the first {_FIRST_FAILURES} trials of study {self._study.name!r} all "
            f"raised this ({first[0].fail_reason}), so the objective itself looks broken; "
            "optimize stopped. The failed trials are recorded with their tracebacks."
        )
        raise error

    def summarize(self) -> None:
        if self._failures and self._failed_only:
            reasons: dict[str, int] = {}
            for t in self._failures:
                reasons[t.fail_reason or "?"] = reasons.get(t.fail_reason or "?", 0) + 1
            reason, count = max(reasons.items(), key=lambda kv: kv[1])
            logger.warning(
                "all %d trials of this optimize call failed; the most common reason (%d of "
                "them): %s",
                len(self._failures),
                count,
                reason,
            )


def _record(study: Study, trial: LocalTrial, outcome: TrialOutcome) -> tuple[FrozenTrial, bool]:
    """Write an outcome; returns the finished record and whether a retry was enqueued."""
    attrs: dict[str, Any] = {}
    if outcome.worker:
        attrs["worker"] = outcome.worker
    if outcome.kind == "complete":
        frozen, _ = _tell_alive(
            study, trial, outcome.values, state=TrialState.COMPLETE, attrs=attrs
        )
        if frozen.state is TrialState.FAILED:
            logger.warning("trial %d failed: %s", trial.number, frozen.fail_reason)
        return frozen, False
    if outcome.kind == "pruned":
        return _tell_alive(study, trial, state=TrialState.PRUNED, attrs=attrs)[0], False
    if outcome.traceback:
        attrs["traceback"] = outcome.traceback
    frozen, told = _tell_alive(
        study, trial, state=TrialState.FAILED, reason=outcome.fail_reason, attrs=attrs
    )
    logger.warning("trial %d failed: %s", trial.number, outcome.fail_reason)
    # A lost worker is retried like a stale trial; a raising objective only when asked. Not
    # when the trial had gone stale first: whoever failed it enqueued the retry already.
    if told and (outcome.kind == "lost" or study.faults.retry_failed):
        return frozen, study._retry(frozen) is not None
    return frozen, False


def _tell_alive(
    study: Study,
    trial: LocalTrial,
    values: Any = None,
    *,
    state: TrialState | None = None,
    reason: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> tuple[FrozenTrial, bool]:
    """Finish ``trial``, unless it was failed as stale meanwhile (its worker stalled past the
    grace period): then its late result is dropped with a warning, since another attempt may
    already be running. Also says whether this call finished it."""
    try:
        return study._finish(
            trial, values, state, fail_reason=reason, attrs=attrs, warn=False
        ), True
    except TrialStateError:
        frozen = study._storage.get_trial(trial._trial_id)
        if not frozen.state.is_finished:
            raise
        logger.warning(
            "trial %d was already %s (%s); its late result is dropped.",
            frozen.number,
            frozen.state.name,
            frozen.fail_reason or "finished elsewhere",
        )
        return frozen, False


class _Progress:
    """A rich progress bar on a terminal, with the time left; silent otherwise."""

    def __init__(self, study: Study, n_trials: int | None, timeout: float | None, enabled: bool):
        self._bar: Any = None
        self._study = study
        self._best: float | None = None
        on_screen = sys.stderr.isatty() or in_jupyter()  # a terminal, or a notebook's widget
        if not enabled or not on_screen or (n_trials is None and timeout is None):
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}", markup=False, style="bold"),
            BarColumn(),
            MofNCompleteColumn() if n_trials else TextColumn(""),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[best]}"),
            transient=False,
            console=Console(stderr=True),  # the terminal checked above, not stdout
        )
        name = printable(study.name)  # a name is text, never markup or terminal codes
        self._task = self._bar.add_task(name, total=n_trials or timeout, best="")
        self._by_time = n_trials is None
        self._start = time.monotonic()
        self._bar.start()

    def advance(self, frozen: FrozenTrial) -> None:
        if self._bar is None:
            return
        if not self._study.is_multi_objective and frozen.state is TrialState.COMPLETE:
            assert frozen.values is not None
            v = frozen.values[0]
            sign = self._study.direction.sign
            if self._best is None or sign * v < sign * self._best:
                self._best = v
        best = "" if self._best is None else f"best {self._best:.6g}"
        if self._by_time:
            self._bar.update(self._task, completed=time.monotonic() - self._start, best=best)
        else:
            self._bar.update(self._task, advance=1, best=best)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
