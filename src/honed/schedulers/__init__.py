"""Early stopping and multi-fidelity schedulers. Each is a pure decision over a History.

The sampler that learns from every rung a stopped trial reached (BOHB-style) is a sampler:
:class:`honed.samplers.MultiFidelitySampler`.
"""

from __future__ import annotations

import importlib
from typing import Any

from honed.schedulers.asha import ASHA, Hyperband, SuccessiveHalving
from honed.schedulers.base import (
    Answer,
    Decision,
    Exploit,
    Judgement,
    NoStopping,
    Scheduler,
    decision_of,
    info_of,
)
from honed.schedulers.median import MedianStopping, PercentileStopping

__all__ = [
    "ASHA",
    "Answer",
    "Decision",
    "DominatedStopping",
    "Exploit",
    "Hyperband",
    "Judgement",
    "LearningCurveStopping",
    "MedianStopping",
    "NoStopping",
    "PB2",
    "PercentileStopping",
    "PopulationBasedTraining",
    "Scheduler",
    "SuccessiveHalving",
    "decision_of",
    "get_scheduler",
    "info_of",
    "lineage",
]

# Modules pulling scipy load on first use.
_LAZY = {
    "DominatedStopping": "honed.schedulers.multiobjective",
    "LearningCurveStopping": "honed.schedulers.curves",
    "PopulationBasedTraining": "honed.schedulers.pbt",
    "PB2": "honed.schedulers.pb2",
    "lineage": "honed.schedulers.pbt",
}

_REGISTRY: dict[str, str] = {
    "none": "honed.schedulers.base:NoStopping",
    "median": "honed.schedulers.median:MedianStopping",
    "percentile": "honed.schedulers.median:PercentileStopping",
    "sh": "honed.schedulers.asha:SuccessiveHalving",
    "successive_halving": "honed.schedulers.asha:SuccessiveHalving",
    "asha": "honed.schedulers.asha:ASHA",
    "hyperband": "honed.schedulers.asha:Hyperband",
    "pbt": "honed.schedulers.pbt:PopulationBasedTraining",
    "pb2": "honed.schedulers.pb2:PB2",
    "dominated": "honed.schedulers.multiobjective:DominatedStopping",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'honed.schedulers' has no attribute {name!r}")


def get_scheduler(scheduler: Scheduler | str | None, **kwargs: Any) -> Scheduler | None:
    """A scheduler from an instance (returned as is), a name (``"median"``, ``"asha"``,
    ``"hyperband"``, ``"pbt"``, ...; defaults of the class) or ``None`` (no stopping)."""
    if scheduler is None or isinstance(scheduler, Scheduler):
        return scheduler
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be a Scheduler or a name, got {type(scheduler).__name__}.")
    key = scheduler.lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"unknown scheduler {scheduler!r}; choose one of {sorted(_REGISTRY)} or pass an "
            "instance such as honed.schedulers.ASHA(max_resource=81)."
        )
    module, _, cls = _REGISTRY[key].partition(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)
