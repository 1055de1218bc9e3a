"""Where objectives run. ``study.optimize`` runs them inline, in threads or in forked worker
processes itself (``executor="thread" | "process"``); the executors here run them elsewhere:
``executor="ray"`` or :class:`RayExecutor` runs each trial as a Ray task on a cluster while one
driver asks and tells.
"""

from __future__ import annotations

from honed.execution._base import Executor, RemoteTrial, TrialOutcome
from honed.execution._ray import RayExecutor

__all__ = ["Executor", "RayExecutor", "RemoteTrial", "TrialOutcome"]
