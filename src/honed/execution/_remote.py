"""The trial an objective gets in a worker process or a Ray task."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from honed.errors import TrialPruned, TrialStateError
from honed.execution._base import Reply
from honed.objective import ParameterAPI, StudyInfo, redefined
from honed.space import Distribution, ParamValue
from honed.trial import check_report, trial_seed

__all__ = ["Channel", "RemoteTrial"]


class Channel(Protocol):
    """How a remote trial reaches the driver: one blocking round trip per call."""

    def call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Reply: ...


class RemoteTrial(ParameterAPI):
    """A :class:`honed.Trial` in a worker: each call that samples or records goes to the
    study's process over a :class:`Channel` and is applied there to the live trial, so
    parameters are sampled by the study's one sampler (define-by-run works as in process),
    every report reaches the scheduler at once, and nothing is lost if the worker dies.

    Reads (``params``, ``user_attrs``, ``intermediate_values``, ``study``) are answered
    locally from what the driver sent and what the trial has recorded since.
    """

    def __init__(
        self,
        number: int,
        study: StudyInfo,
        channel: Channel | None,
        params: Mapping[str, ParamValue] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        intermediate_values: Mapping[int, float] | None = None,
        uses_report_seconds: bool = False,
        seed: int | None = None,
    ) -> None:
        self._number = number
        self._seed = trial_seed(study.name, number) if seed is None else int(seed)
        self._study = study
        self._channel = channel
        self._params: dict[str, ParamValue] = dict(params or {})
        self._distributions: dict[str, Distribution] = dict(distributions or {})
        self._user_attrs: dict[str, Any] = dict(user_attrs or {})
        self._intermediate: dict[int, float] = dict(intermediate_values or {})
        self._uses_seconds = uses_report_seconds
        self._stopped = False
        self._exploited: Any = None
        self._started = time.monotonic()  # report seconds exclude queueing and dispatch
        self._finished = False

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], channel: Channel) -> RemoteTrial:
        """Build the stand-in for :meth:`honed.execution.Job.spec`."""
        return cls(channel=channel, **spec)

    def __repr__(self) -> str:
        return f"RemoteTrial(number={self._number}, params={self._params})"

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._finished:
            raise TrialStateError(
                f"trial {self._number} is already finished; ask for a new trial instead."
            )
        if self._channel is None:
            raise RuntimeError("this remote trial has no channel to the study's process")
        reply = self._channel.call(method, args, kwargs)
        self._params = dict(reply.params)
        self._exploited = reply.exploited
        if reply.error is not None:
            raise reply.error
        if reply.error_text is not None:  # an error that could not cross the boundary
            raise RuntimeError(f"trial.{method} failed in the study's process: {reply.error_text}")
        return reply.value

    # ---- what the trial is -----------------------------------------------------------------
    @property
    def number(self) -> int:
        return self._number

    @property
    def seed(self) -> int:
        """The live trial's seed, sent with the job."""
        return self._seed

    @property
    def study(self) -> StudyInfo:
        return self._study

    @property
    def params(self) -> dict[str, ParamValue]:
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        return dict(self._distributions)

    # ---- parameters ------------------------------------------------------------------------
    def suggest(self, name: str, distribution: Distribution) -> ParamValue:
        known = self._distributions.get(name)
        if known is not None:
            if known != distribution:
                raise redefined(name, known, distribution, f"sampled in trial {self._number}")
            return self._params[name]
        value = self._call("suggest", name, distribution)
        self._distributions[name] = distribution
        return value

    # ---- reports and attributes ------------------------------------------------------------
    def report(
        self, value: float | Sequence[float], step: int, *, elapsed: float | None = None
    ) -> None:
        """As :meth:`honed.Trial.report`; without ``elapsed``, a scheduler that uses time
        gets the seconds since the objective started here, not the driver's clock."""
        elapsed = check_report(step, elapsed)
        if elapsed is None and self._uses_seconds:
            elapsed = time.monotonic() - self._started
        try:
            self._call("report", value, step, elapsed=elapsed)
        except TrialPruned:
            self._stopped = True
            raise
        finally:
            if isinstance(value, int | float):
                self._intermediate[step] = float(value)

    def should_stop(self) -> bool:
        return self._stopped

    @property
    def exploited(self) -> Any:
        return self._exploited

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._intermediate)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._call("set_user_attr", key, value)
        self._user_attrs[key] = value

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    def set_constraints(self, values: Sequence[float]) -> None:
        self._call("set_constraints", [float(v) for v in values])

    # ---- checkpoints (the object travels to the study's process) --------------------------
    def save_checkpoint(self, obj: Any, step: int | None = None) -> None:
        self._call("save_checkpoint", obj, step)

    def load_checkpoint(self, step: int | None = None) -> Any:
        return self._call("load_checkpoint", step)
