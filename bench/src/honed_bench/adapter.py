"""The one ask/tell protocol every optimizer is driven through: :class:`Adapter`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from honed_bench.problems.base import Problem

__all__ = ["Adapter", "MissingOptimizerError"]


class MissingOptimizerError(RuntimeError):
    """The named optimizer exists but cannot run here (an uninstalled library, a honed sampler
    that is not written yet)."""


class Adapter(ABC):
    """One optimizer on one problem, with one seed.

    ``ask`` returns ``(handle, params)``; ``tell`` takes the handle back with the objective
    value(s), or ``None`` when the evaluation failed. The runner times these two calls only,
    so everything the optimizer does per suggestion belongs inside them.
    """

    def __init__(self, problem: Problem, seed: int, n_trials: int = 1000) -> None:
        self.problem = problem
        self.seed = seed
        self.n_trials = n_trials  # the run's budget; some peers (SMAC) want it up front

    def require_single_objective(self, peer: str) -> None:
        """Refuse a multi-objective problem for a peer that optimizes one objective only."""
        if self.problem.n_objectives != 1:
            raise MissingOptimizerError(
                f"the {peer} adapter runs single-objective problems only; "
                f"{self.problem.name!r} has {self.problem.n_objectives} objectives."
            )

    @abstractmethod
    def ask(self) -> tuple[Any, dict[str, Any]]: ...

    @abstractmethod
    def tell(self, handle: Any, values: Sequence[float] | None) -> None: ...

    def tell_pruned(self, handle: Any, curve: Sequence[float]) -> None:
        """The trial was stopped after ``len(curve)`` steps (its losses so far). An optimizer
        with no notion of a pruned trial is told its last value, as its user would have to."""
        self.tell(handle, [curve[-1]])
