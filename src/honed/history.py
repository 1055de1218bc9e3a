"""A read-only, ordered view of a study's trials: what samplers and schedulers decide from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property

import numpy as np

from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["History", "dominates", "non_dominated_mask", "non_dominated_ranks"]


class History(Sequence[FrozenTrial]):
    """Trials of one study ordered by number, plus the study's directions.

    Values are turned into *losses* (lower is better, one column per objective) by
    :meth:`losses`, so decision code never branches on the direction.
    """

    __slots__ = ("__dict__", "_trials", "directions")

    def __init__(self, trials: Sequence[FrozenTrial], directions: Sequence[Direction]) -> None:
        self._trials = tuple(trials)
        self.directions = tuple(directions)

    def __getitem__(self, i):  # type: ignore[override]
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


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether loss vector ``a`` Pareto-dominates ``b``."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated_mask(losses: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``losses`` no other row dominates (duplicates all kept).
    Vectorized ``O(n^2 m)``, in chunks so memory stays bounded."""
    pts = np.asarray(losses, dtype=float)
    n = len(pts)
    keep = np.ones(n, dtype=bool)
    if n <= 1:
        return keep
    chunk = max(1, 2_000_000 // max(1, n * pts.shape[1]))
    for start in range(0, n, chunk):
        block = pts[start : start + chunk]
        le = np.all(pts[None, :, :] <= block[:, None, :], axis=2)
        lt = np.any(pts[None, :, :] < block[:, None, :], axis=2)
        keep[start : start + chunk] = ~np.any(le & lt, axis=1)
    return keep


def non_dominated_ranks(losses: np.ndarray) -> np.ndarray:
    """Front index of each row (0 = non-dominated), by repeated peeling of the Pareto front."""
    losses = np.asarray(losses, dtype=float)
    n = len(losses)
    ranks = np.full(n, -1, dtype=int)
    if n == 0:
        return ranks
    if losses.shape[1] == 1:
        # One objective: the rank is the position among distinct values.
        _, inv = np.unique(losses[:, 0], return_inverse=True)
        return inv.ravel().astype(int)
    le = np.all(losses[:, None, :] <= losses[None, :, :], axis=2)
    lt = np.any(losses[:, None, :] < losses[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    n_dominators = dom.sum(axis=0)
    rank = 0
    remaining = np.ones(n, dtype=bool)
    while remaining.any():
        front = remaining & (n_dominators == 0)
        ranks[front] = rank
        remaining &= ~front
        n_dominators = n_dominators - dom[front].sum(axis=0)
        rank += 1
    return ranks
