"""The executor interface: where objectives run, and nothing else.

The study's one driver loop (``honed.study``) asks for a trial, hands it to an executor as a
:class:`Job`, and records the :class:`TrialOutcome` the executor gives back. Executors never see
a study, a storage or a sampler: a job carries the live trial, and an executor that runs the
objective elsewhere (a worker process, a Ray task) hands the objective a
:class:`~honed.execution.RemoteTrial` whose calls (``float``, ``report``, ...) come back to the
driver, where :func:`serve_call` applies them to the live trial. So the driver keeps the only
sampler and writes every parameter as it is sampled, and a worker that dies loses nothing but
its own computation.
"""

from __future__ import annotations

import pickle
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from honed.errors import TrialPruned
from honed.objective import StudyInfo, Trial
from honed.space import ParamValue

__all__ = [
    "Executor",
    "Job",
    "Reply",
    "TrialOutcome",
    "evaluate",
    "serve_call",
]

#: Trial methods a remote trial forwards to the driver.
FORWARDED = frozenset(
    {"suggest", "report", "set_user_attr", "set_constraints", "save_checkpoint", "load_checkpoint"}
)


@dataclass
class Job:
    """One trial to run: the live trial (in the driver's process) and what a remote worker
    needs to stand in for it."""

    trial: Trial
    study: StudyInfo
    # Report seconds are recorded only where the scheduler reads them.
    uses_report_seconds: bool = False

    @property
    def number(self) -> int:
        return self.trial.number

    def spec(self) -> dict[str, Any]:
        """The picklable part a remote worker builds its :class:`RemoteTrial` from."""
        return {
            "number": self.trial.number,
            "seed": self.trial.seed,
            "study": self.study,
            "params": self.trial.params,
            "distributions": self.trial.distributions,
            "user_attrs": self.trial.user_attrs,
            "intermediate_values": self.trial.intermediate_values,
            "uses_report_seconds": self.uses_report_seconds,
        }


@dataclass
class TrialOutcome:
    """How one evaluation ended.

    ``kind`` is ``"complete"`` (``values`` holds what the objective returned), ``"pruned"``,
    ``"failed"`` (the objective raised; ``caught`` says whether ``catch`` covers it) or
    ``"lost"`` (the worker died: a killed process, a lost node).
    """

    kind: str
    values: Any = None
    fail_reason: str | None = None
    traceback: str | None = None
    caught: bool = True
    exception: BaseException | None = None
    worker: str | None = None


@dataclass
class Reply:
    """The driver's answer to one forwarded call: its result or error, and the trial's
    parameters after it (population-based training may replace them at a report)."""

    value: Any = None
    error: BaseException | None = None
    error_text: str | None = None
    params: dict[str, ParamValue] = field(default_factory=dict)
    exploited: Any = None


def evaluate(
    objective: Callable[[Any], Any],
    trial: Any,
    catch: tuple[type[BaseException], ...],
    worker: str | None = None,
) -> TrialOutcome:
    """Run the objective and describe what happened; never raises."""
    try:
        values = objective(trial)
    except TrialPruned:
        return TrialOutcome("pruned", worker=worker)
    except BaseException as e:
        return TrialOutcome(
            "failed",
            fail_reason=f"{type(e).__name__}: {e}",
            traceback=traceback.format_exc(limit=20),
            caught=isinstance(e, Exception) and isinstance(e, catch),
            exception=e,
            worker=worker,
        )
    if isinstance(values, Sequence) and not isinstance(values, str | bytes):
        values = list(values)  # tuples and numpy-backed sequences travel as plain lists
    return TrialOutcome("complete", values=values, worker=worker)


def serve_call(trial: Trial, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Reply:
    """Apply a call a remote trial forwarded to the live trial it stands for."""
    if method not in FORWARDED:
        return Reply(error=AttributeError(f"a remote trial cannot call {method!r}"))
    try:
        value = getattr(trial, method)(*args, **kwargs)
    except BaseException as e:
        reply = Reply(error=picklable(e), error_text=f"{type(e).__name__}: {e}")
    else:
        reply = Reply(value=value)
    reply.params = trial.params
    reply.exploited = trial.exploited
    return reply


def picklable(e: BaseException) -> BaseException | None:
    """``e`` if it survives pickling (to cross a process boundary), else ``None``."""
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return None
    return e


class Executor(ABC):
    """Runs trials' objectives for the study's driver loop.

    The driver calls :meth:`start` once per ``optimize``, then :meth:`submit` whenever fewer
    than its capacity are in flight and :meth:`poll` to collect outcomes (serving forwarded
    calls meanwhile), and :meth:`close` at the end; :meth:`cancel` when it stops early.
    """

    @abstractmethod
    def start(
        self, objective: Callable[[Any], Any], catch: tuple[type[BaseException], ...], n_jobs: int
    ) -> int:
        """Prepare to run ``objective``; return how many trials may run at once."""

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start running ``job``."""

    @abstractmethod
    def poll(self, timeout: float) -> list[tuple[Job, TrialOutcome]]:
        """Outcomes of jobs that ended within ``timeout`` seconds (maybe none)."""

    def check(self) -> None:  # noqa: B027 - optional
        """Raise the error that stops this executor from taking more jobs (workers that keep
        dying, say); the driver calls it before asking for each trial."""

    def cancel(self, jobs: Sequence[Job]) -> None:  # noqa: B027 - optional
        """Stop work whose outcome will not be recorded (the study is stopping)."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release what :meth:`start` took."""
