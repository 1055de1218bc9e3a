"""The scheduler interface: a pure decision, made each time a trial reports a value.

A scheduler gets the read-only :class:`~honed.history.History` of the study and the reporting
trial's :class:`~honed.trial.FrozenTrial` (its intermediate values include the new report) and
answers whether the trial continues or stops. It never touches storage or processes.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod

from honed.history import History
from honed.trial import FrozenTrial

__all__ = ["Decision", "NoStopping", "Scheduler"]


class Decision(enum.Enum):
    CONTINUE = "continue"
    STOP = "stop"


class Scheduler(ABC):
    """Base class of early-stopping and multi-fidelity schedulers."""

    @abstractmethod
    def on_report(self, history: History, trial: FrozenTrial) -> Decision:
        """Decide whether ``trial``, which just reported at ``trial.last_step``, goes on."""


class NoStopping(Scheduler):
    """Never stops a trial (the default)."""

    def on_report(self, history: History, trial: FrozenTrial) -> Decision:
        return Decision.CONTINUE
