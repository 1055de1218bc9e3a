"""Exhaustive search over a grid of values."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from honed.errors import SpaceError
from honed.history import History
from honed.samplers.base import Sampler
from honed.space import Choice, Distribution, Float, Int, ParamValue, SearchSpace
from honed.trial import FrozenTrial, TrialState

__all__ = ["GridSampler"]


def _grid_values(name: str, spec: Any) -> tuple[ParamValue, ...]:
    if isinstance(spec, Choice):
        return spec.choices
    if isinstance(spec, Int):
        return tuple(range(spec.low, spec.high + 1, spec.step))
    if isinstance(spec, Float):
        if spec.step is None:
            if spec.is_single:
                return (spec.low,)
            raise SpaceError(
                f"grid parameter {name!r} is a continuous Float; give it a step or list the "
                "values to try, e.g. GridSampler({'lr': [0.001, 0.01, 0.1]})."
            )
        assert spec.n_steps is not None
        return tuple(spec.low + k * spec.step for k in range(spec.n_steps))
    if isinstance(spec, Distribution):
        raise SpaceError(f"grid parameter {name!r}: unsupported distribution {spec}.")
    if isinstance(spec, str) or not isinstance(spec, Sequence) or not spec:
        raise SpaceError(f"grid parameter {name!r} needs a non-empty list of values, got {spec!r}.")
    return tuple(spec)


class GridSampler(Sampler):
    """Tries every combination of the given values once, in a seeded random order.

    Each new trial takes a grid point no earlier or running trial holds, so several workers
    share one grid. ``study.optimize`` stops when the grid is exhausted.

    Args:
        grid: ``name -> list of values`` (or a Choice, Int or stepped Float).
        seed: Seed of the visiting order.
    """

    def __init__(
        self, grid: Mapping[str, Sequence[ParamValue] | Distribution], seed: int | None = None
    ):
        super().__init__(seed)
        if not grid:
            raise SpaceError("GridSampler needs at least one parameter.")
        self._names = tuple(grid)
        self._values = {n: _grid_values(n, v) for n, v in grid.items()}
        self._points = list(itertools.product(*(self._values[n] for n in self._names)))

    @property
    def grid_size(self) -> int:
        return len(self._points)

    def _taken(self, history: History) -> set[int]:
        taken: set[int] = set()
        index = {p: i for i, p in enumerate(self._points)}
        for t in history:
            if t.state in (TrialState.FAILED,):
                continue
            key = tuple(t.params.get(n, object()) for n in self._names)
            i = index.get(key)  # type: ignore[arg-type]
            if i is not None:
                taken.add(i)
        return taken

    def is_exhausted(self, history: History) -> bool:
        """Whether every grid point is held by a complete, pruned or running trial."""
        return len(self._taken(history)) >= len(self._points)

    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        return SearchSpace({n: Choice(self._values[n]) for n in self._names})

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        taken = self._taken(history)
        free = [i for i in range(len(self._points)) if i not in taken]
        if not free:  # exhausted: repeat a point rather than fail the trial
            free = list(range(len(self._points)))
        rng = np.random.default_rng(None if self._seed is None else self._seed + trial.number)
        point = self._points[free[int(rng.integers(len(free)))]]
        return dict(zip(self._names, point, strict=True))

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        raise SpaceError(
            f"parameter {name!r} is not in the grid; add it to GridSampler({{...}}) "
            f"(known: {', '.join(self._names)})."
        )
