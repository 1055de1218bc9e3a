"""A read-only, ordered view of a study's trials: what samplers and schedulers decide from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import overload

import numpy as np

from honed.pareto import non_dominated_mask
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["History", "Source"]


@dataclass(frozen=True)
class Source:
    """Trials of an earlier, related study that a warm-started study learns from
    (``create_study(warm_start=...)``): read-only data, never run again.

    Attributes:
        name: Where they came from (the source study's name, or ``"trials"``).
        directions: The source's directions (its values are losses by these, not by the
            target study's).
        trials: Its finished trials, as copied into the target's storage.
    """

    name: str
    directions: tuple[Direction, ...]
    trials: tuple[FrozenTrial, ...]

    @cached_property
    def complete(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state is TrialState.COMPLETE and t.values is not None]


class History(Sequence[FrozenTrial]):
    """Trials of one study ordered by number, plus the study's directions and its
    warm-start :attr:`sources`.

    Values are turned into *losses* (lower is better, one column per objective) by
    :meth:`losses`, so decision code never branches on the direction. ``History(trials,
    directions)`` builds one by hand (to test a sampler on a fixed history).
    """

    __slots__ = ("__dict__", "_trials", "directions", "sources")

    def __init__(
        self,
        trials: Sequence[FrozenTrial],
        directions: Sequence[Direction],
        sources: Sequence[Source] = (),
    ) -> None:
        self._trials = tuple(trials)
        self.directions = tuple(directions)
        #: Warm-start sources (:class:`Source`): earlier studies' trials a sampler may learn
        #: from, apart from this study's own (they are not in the sequence).
        self.sources: tuple[Source, ...] = tuple(sources)

    @overload
    def __getitem__(self, i: int) -> FrozenTrial: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[FrozenTrial, ...]: ...

    def __getitem__(self, i: int | slice) -> FrozenTrial | tuple[FrozenTrial, ...]:
        return self._trials[i]

    def __len__(self) -> int:
        return len(self._trials)

    def __iter__(self) -> Iterator[FrozenTrial]:
        return iter(self._trials)

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    @property
    def is_multi_objective(self) -> bool:
        return len(self.directions) > 1

    def with_states(self, *states: TrialState) -> list[FrozenTrial]:
        return [t for t in self._trials if t.state in states]

    @cached_property
    def complete(self) -> list[FrozenTrial]:
        return [t for t in self._trials if t.state is TrialState.COMPLETE]

    @cached_property
    def running(self) -> list[FrozenTrial]:
        """Trials started but not finished: the pending points parallel-aware samplers avoid."""
        return [t for t in self._trials if t.state is TrialState.RUNNING]

    def loss(self, trial: FrozenTrial) -> tuple[float, ...]:
        assert trial.values is not None
        return tuple(d.sign * v for d, v in zip(self.directions, trial.values, strict=True))

    def losses(self, trials: Sequence[FrozenTrial] | None = None) -> np.ndarray:
        """``(n, n_objectives)`` losses of ``trials`` (default: complete trials)."""
        trials = self.complete if trials is None else trials
        if not trials:
            return np.empty((0, self.n_objectives))
        signs = np.array([d.sign for d in self.directions])
        return np.array([t.values for t in trials], dtype=float) * signs

    def best_trial(self) -> FrozenTrial | None:
        """Best complete feasible trial of a single-objective study (lowest number on ties)."""
        if self.is_multi_objective:
            raise ValueError("best_trial is for single-objective studies; use best_trials.")
        feasible = [t for t in self.complete if t.is_feasible]
        if not feasible:
            return None
        sign = self.directions[0].sign
        return min(feasible, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]

    def best_trials(self) -> list[FrozenTrial]:
        """The feasible Pareto front (for one objective: every trial tied for best)."""
        feasible = [t for t in self.complete if t.is_feasible]
        if not feasible:
            return []
        mask = non_dominated_mask(self.losses(feasible))
        return [t for t, keep in zip(feasible, mask, strict=True) if keep]
