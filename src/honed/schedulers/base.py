"""The scheduler interface: a pure decision, made each time a trial reports a value.

A scheduler gets the read-only :class:`~honed.history.History` of the study and the reporting
trial's :class:`~honed.trial.FrozenTrial` (its intermediate values include the new report) and
answers whether the trial continues or stops. It never touches storage or processes.

An answer is one of:

* :class:`Decision` (``CONTINUE`` or ``STOP``), the plain case;
* :class:`Judgement`: a decision plus JSON-serializable ``info`` the study stores in the trial's
  system attributes (a learning-curve prediction, the rung a trial was promoted from, ...);
* :class:`Exploit` (population-based training): go on, but from ``source``'s checkpoint and with
  new ``params``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from honed.history import History
from honed.space import ParamValue
from honed.trial import FrozenTrial

__all__ = [
    "Answer",
    "Decision",
    "Exploit",
    "Judgement",
    "NoStopping",
    "Scheduler",
    "decision_of",
    "info_of",
]


class Decision(enum.Enum):
    """What a scheduler says about a trial that just reported: go on, or stop (pruned)."""

    CONTINUE = "continue"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Judgement:
    """A decision with what the scheduler saw, for users to inspect later.

    Attributes:
        decision: Continue or stop.
        info: JSON-serializable; each key is stored as a system attribute of the trial.
    """

    decision: Decision
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Exploit:
    """Population-based training: continue from another trial's state with new parameters.

    Attributes:
        source: Number of the better trial whose checkpoint is copied.
        step: The step at which the exploit happens (the reporting trial's last step).
        params: The complete new parameter set (copied from ``source``, then explored).
        source_step: Step of ``source`` whose checkpoint to copy (``None``: its latest).
    """

    source: int
    step: int
    params: Mapping[str, ParamValue]
    source_step: int | None = None

    @property
    def decision(self) -> Decision:
        return Decision.CONTINUE

    @property
    def info(self) -> Mapping[str, Any]:
        return {}


#: What `Scheduler.on_report` may return: a bare decision, one with what the scheduler saw, or
#: (PBT) an instruction to continue from another trial's checkpoint with new parameters.
Answer: TypeAlias = Decision | Judgement | Exploit


def decision_of(answer: Answer) -> Decision:
    """The continue/stop part of any scheduler answer."""
    return answer if isinstance(answer, Decision) else answer.decision


def info_of(answer: Answer) -> Mapping[str, Any]:
    """What the scheduler saw when it answered (empty for a bare decision)."""
    return {} if isinstance(answer, Decision) else answer.info


class Scheduler(ABC):
    """Base class of early-stopping and multi-fidelity schedulers."""

    @abstractmethod
    def on_report(self, history: History, trial: FrozenTrial) -> Answer:
        """Decide whether ``trial``, which just reported at ``trial.last_step``, goes on."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NoStopping(Scheduler):
    """Never stops a trial (the default)."""

    def on_report(self, history: History, trial: FrozenTrial) -> Decision:
        return Decision.CONTINUE
