"""The driver loop shared by remote executors, and what travels between driver and workers.

One driver asks and tells; workers only evaluate. The driver samples every configuration from a
declarative space (``optimize(..., space=...)``) before the trial leaves, so

* the sampler sees every pending trial (it is RUNNING in storage from the moment it is asked),
* workers need no storage, no sampler and no connection back to the driver: a task is a pure
  function of (objective, parameters), which is what a cluster scheduler can retry, move and
  kill safely, and
* samplers keep their state in one process.

What a task sends back (:class:`TrialOutcome`: the value or the error, reports, user attributes,
constraints) is written by the driver in one place. When the study has a scheduler, executors
that can (Ray) stream each ``trial.report`` to the driver, which records it and runs the
scheduler, and the answer goes back: a remote trial is stopped mid-run as a local one is.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from honed.errors import SpaceError, TrialPruned
from honed.space import Distribution, ParamValue
from honed.study._trial import ParameterAPI
from honed.trial import FrozenTrial, TrialState, check_report

if TYPE_CHECKING:
    from honed.study._study import Study

__all__ = ["Executor", "RemoteTrial", "TrialOutcome", "drive", "evaluate"]

logger = logging.getLogger("honed")

# A streamed report's seconds: (the objective's own ``elapsed`` or None, the worker's clock).
ReportSeconds = tuple[float | None, float | None]


@dataclass
class TrialOutcome:
    """What a worker reports about one trial."""

    kind: str  # "complete", "pruned", "failed" (the objective raised) or "lost" (the worker)
    values: Any = None
    intermediate_values: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    constraints: list[float] | None = None
    fail_reason: str | None = None
    traceback: str | None = None
    caught: bool = True  # False: the error is outside ``catch`` and stops the study
    exception: BaseException | None = None
    worker: str | None = None
    streamed: bool = False  # reports already went to the driver one by one


class RemoteTrial(ParameterAPI):
    """The trial an objective receives in a remote worker: its parameters were sampled by the
    driver, so ``float``/``int``/``choice`` return them; reports, user attributes and
    constraints are sent back with the result."""

    def __init__(
        self,
        number: int,
        trial_id: int,
        params: Mapping[str, ParamValue],
        distributions: Mapping[str, Distribution],
    ) -> None:
        self.number = number
        self._trial_id = trial_id
        self._params = dict(params)
        self._distributions = dict(distributions)
        self._intermediate: dict[int, float] = {}
        self._user_attrs: dict[str, Any] = {}
        self._constraints: list[float] | None = None
        # Set by executors that stream reports to the driver, where the scheduler decides.
        self._reporter: Any = None
        self._stopped = False
        # Set where the objective runs, so report seconds exclude queueing and dispatch.
        self._started: float | None = None

    def __repr__(self) -> str:
        return f"RemoteTrial(number={self.number}, params={self._params})"

    @property
    def params(self) -> dict[str, ParamValue]:
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        return dict(self._distributions)

    def suggest(self, name: str, distribution: Distribution) -> ParamValue:
        known = self._distributions.get(name)
        if known is None:
            raise SpaceError(
                f"parameter {name!r} is not in the space given to optimize(space=...); remote "
                "trials get their parameters from the driver, so add it to the space."
            )
        if known != distribution:
            raise SpaceError(
                f"parameter {name!r} is {known} in the space but the objective asks for "
                f"{distribution}; make them the same."
            )
        return self._params[name]

    def report(self, value: float, step: int, *, elapsed: float | None = None) -> None:
        """Record an intermediate value. When the study has a scheduler, the value goes to
        the driver at once and its answer comes back: :class:`honed.TrialPruned` is raised
        when the scheduler stops the trial. Otherwise it travels with the result.

        ``elapsed``: seconds this trial has spent so far, as in :meth:`honed.Trial.report`;
        without it, a scheduler that uses time (``ASHA(resource="time")``) gets the seconds
        since the objective started on its worker, not the driver's clock.
        """
        given = check_report(step, elapsed)
        value = float(value)
        self._intermediate[step] = value
        if self._reporter is None:
            return
        clock = None if self._started is None else time.monotonic() - self._started
        seconds = (given, clock)
        stop, params = self._reporter.call(self._trial_id, step, value, seconds)
        self._params.update(params)  # population-based training may have moved it
        if stop:
            self._stopped = True
            raise TrialPruned(f"stopped at step {step} by the study's scheduler")

    def should_stop(self) -> bool:
        """Whether the scheduler's answer to the latest report was to stop."""
        return self._stopped

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._intermediate)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._user_attrs[key] = value

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    def set_constraints(self, values: Sequence[float]) -> None:
        self._constraints = [float(v) for v in values]


def evaluate(
    objective: Callable[[Any], Any],
    trial: RemoteTrial,
    catch: tuple[type[BaseException], ...],
    worker: str | None = None,
) -> TrialOutcome:
    """Run the objective on a remote trial and describe what happened; never raises."""
    out = TrialOutcome("complete", worker=worker)
    trial._started = time.monotonic()
    try:
        out.values = objective(trial)
    except TrialPruned:
        out.kind = "pruned"
    except BaseException as e:
        out.kind = "failed"
        out.fail_reason = f"{type(e).__name__}: {e}"
        out.traceback = traceback.format_exc(limit=20)
        out.caught = isinstance(e, Exception) and isinstance(e, catch)
        out.exception = e
    out.intermediate_values = trial._intermediate
    out.streamed = trial._reporter is not None
    out.user_attrs = trial._user_attrs
    out.constraints = trial._constraints
    if isinstance(out.values, Sequence) and not isinstance(out.values, str | bytes):
        out.values = list(out.values)  # e.g. numpy values arrive as plain lists
    return out


class Executor(ABC):
    """Runs trials somewhere else while the driver asks and tells.

    Subclasses move work and results: :meth:`start` once per ``optimize``, then
    :meth:`submit` and :meth:`wait` until done, then :meth:`close`.
    """

    @abstractmethod
    def start(
        self, objective: Callable[[Any], Any], catch: tuple[type[BaseException], ...], n_jobs: int
    ) -> int:
        """Prepare to run ``objective``; return how many trials may run at once."""

    @abstractmethod
    def submit(self, trial: RemoteTrial) -> Hashable:
        """Start evaluating ``trial``; return a handle."""

    @abstractmethod
    def wait(
        self, handles: Sequence[Hashable], timeout: float
    ) -> list[tuple[Hashable, TrialOutcome]]:
        """Outcomes of the handles that finished within ``timeout`` seconds (maybe none)."""

    def cancel(self, handles: Sequence[Hashable]) -> None:  # noqa: B027 - optional
        """Stop work that will not be told (the study is stopping)."""

    def stream_reports(self) -> bool:
        """Start streaming ``trial.report`` calls of the coming trials to the driver, so the
        study's scheduler can stop them mid-run; False if this executor cannot."""
        return False

    def take_reports(self) -> list[tuple[int, int, float, ReportSeconds, Hashable]]:
        """Reports waiting for an answer: (trial id, step, value, seconds, key), where seconds
        is (the ``elapsed`` the objective gave or None, the worker's clock or None)."""
        return []

    def answer_reports(self, answers: Sequence[tuple[Hashable, bool, dict[str, Any]]]) -> None:  # noqa: B027
        """Send each waiting report its answer: (key, stop, the trial's parameters)."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release what :meth:`start` took."""


class _Beats:
    """One thread sending heartbeats for every trial the driver has in flight."""

    def __init__(self, study: Study) -> None:
        self._study = study
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = study.faults.heartbeat_interval
        self._thread: threading.Thread | None = None
        if self._interval is not None:
            self._thread = threading.Thread(target=self._run, name="honed-beats", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._interval is not None
        while not self._stop.wait(self._interval):
            with self._lock:
                ids = list(self._ids)
            for tid in ids:
                try:
                    self._study._storage.record_heartbeat(tid)
                except Exception as e:
                    logger.warning("heartbeat of trial id %d failed: %s", tid, e)

    def add(self, trial_id: int) -> None:
        with self._lock:
            self._ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


def _record(study: Study, trial: Any, outcome: TrialOutcome) -> tuple[FrozenTrial, bool]:
    """Write a worker's outcome: reports, attributes, constraints, then the final state.
    Also says whether a retry was enqueued."""
    from honed.study._optimize import _tell_alive, _tell_alive_ex

    storage, tid = study._storage, trial._trial_id
    try:
        if not outcome.streamed:  # streamed reports were written as they came
            for step, value in sorted(outcome.intermediate_values.items()):
                storage.set_trial_intermediate_value(tid, step, value)
        for key, value in outcome.user_attrs.items():
            storage.set_trial_user_attr(tid, key, value)
        if outcome.constraints is not None:
            storage.set_trial_constraints(tid, outcome.constraints)
        if outcome.worker is not None:
            storage.set_trial_system_attr(tid, "worker", outcome.worker)
    except Exception as e:  # e.g. the trial went stale meanwhile; the tell below says so
        logger.warning("trial %d: could not record its reports: %s", trial.number, e)
    if outcome.kind == "complete":
        return _tell_alive(study, trial, outcome.values), False
    if outcome.kind == "pruned":
        return _tell_alive(study, trial, state=TrialState.PRUNED), False
    frozen, told = _tell_alive_ex(
        study,
        trial,
        state=TrialState.FAILED,
        fail_reason=outcome.fail_reason,
        _extra_attrs={"traceback": outcome.traceback} if outcome.traceback else None,
    )
    # A lost worker is retried like a stale trial; a raising objective only when asked. Not
    # when the trial had gone stale first: whoever failed it enqueued the retry already.
    retried = None
    if (
        told
        and frozen.state is TrialState.FAILED
        and (outcome.kind == "lost" or study.faults.retry_failed)
    ):
        retried = study._retry(frozen)
    return frozen, retried is not None


def _answer_reports(executor: Executor, inflight: Mapping[Hashable, Any]) -> None:
    """Put remote reports through the real trial (storage, scheduler) and answer them."""
    reports = executor.take_reports()
    if not reports:
        return
    by_id = {trial._trial_id: trial for trial in inflight.values()}
    answers = []
    for trial_id, step, value, (given, clock), key in reports:
        trial = by_id.get(trial_id)
        stop = True  # a trial the driver no longer runs has nothing to go on for
        if trial is not None:
            # The worker's clock only where the scheduler reads seconds: plain studies write
            # nothing extra per report (as in Trial.report).
            uses_seconds = getattr(trial.study.scheduler, "uses_report_seconds", False)
            elapsed = given if given is not None else (clock if uses_seconds else None)
            try:
                trial.report(value, step, elapsed=elapsed)
                stop = False
            except TrialPruned:
                pass
            except Exception as e:  # e.g. failed as stale meanwhile
                logger.warning("trial %d: report at step %d failed: %s", trial.number, step, e)
        answers.append((key, stop, trial.params if trial is not None else {}))
    executor.answer_reports(answers)


def drive(
    study: Study,
    objective: Callable[[Any], Any],
    executor: Executor,
    *,
    space: Mapping[str, Any],
    n_trials: int | None,
    deadline: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    on_trial: Callable[[FrozenTrial], None],
) -> None:
    """Ask, ship, collect, tell: keep the executor's slots full until the budget is spent."""
    capacity = executor.start(objective, catch, n_jobs)
    streaming = study.scheduler is not None and executor.stream_reports()
    exhausted = getattr(study.sampler, "is_exhausted", None)
    inflight: dict[Hashable, Any] = {}
    beats = _Beats(study)
    submitted = 0
    try:
        while True:
            while (
                len(inflight) < capacity
                and (n_trials is None or submitted < n_trials)
                and (deadline is None or time.time() < deadline)
                and not study._stop_flag.is_set()
                and not (exhausted is not None and exhausted(study._history()))
            ):
                trial = study.ask(space)
                remote = RemoteTrial(
                    trial.number, trial._trial_id, trial.params, trial.distributions
                )
                try:
                    handle = executor.submit(remote)
                except BaseException:
                    study.tell(trial, state=TrialState.FAILED, fail_reason="could not be submitted")
                    raise
                inflight[handle] = trial
                beats.add(trial._trial_id)
                submitted += 1
            if not inflight:
                break
            if streaming:
                _answer_reports(executor, inflight)
            for handle, outcome in executor.wait(
                list(inflight), timeout=0.05 if streaming else 0.2
            ):
                trial = inflight.pop(handle)
                beats.discard(trial._trial_id)
                frozen, retried = _record(study, trial, outcome)
                if retried:  # the retry re-runs this configuration within the same budget
                    submitted -= 1
                if outcome.kind == "failed":
                    logger.warning("trial %d failed: %s", trial.number, outcome.fail_reason)
                    if not outcome.caught:
                        if outcome.exception is not None:
                            raise outcome.exception
                        raise RuntimeError(f"a worker's objective raised:\n{outcome.traceback}")
                elif outcome.kind == "lost":
                    logger.warning("trial %d: %s", trial.number, outcome.fail_reason)
                on_trial(frozen)
    finally:
        beats.close()
        if inflight:  # stopping on an error or ^C: nothing may stay RUNNING
            executor.cancel(list(inflight))
            for trial in inflight.values():
                try:
                    study.tell(
                        trial, state=TrialState.FAILED, fail_reason="the driver stopped early"
                    )
                except Exception as e:
                    logger.warning("trial %d left RUNNING: %s", trial.number, e)
        executor.close()
