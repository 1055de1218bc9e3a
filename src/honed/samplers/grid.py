"""Exhaustive search over a grid of values."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from honed.errors import SpaceError
from honed.history import History
from honed.samplers.base import Sampler
from honed.space import (
    Choice,
    Distribution,
    Float,
    Int,
    ParamValue,
    SearchSpace,
    Simplex,
    SimplexWeight,
)
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


def _gather_simplexes(
    grid: Mapping[str, Sequence[ParamValue] | Distribution | Simplex],
) -> dict[str, Sequence[ParamValue] | Distribution | Simplex]:
    """``grid`` with the weights of each simplex (a flattened declared space holds one
    SimplexWeight per component) gathered back into one Simplex under the simplex's name."""
    out: dict[str, Sequence[ParamValue] | Distribution | Simplex] = {}
    for name, spec in grid.items():
        if not isinstance(spec, SimplexWeight):
            out[name] = spec
            continue
        if name != f"{spec.group}.{spec.component}" or any(
            n not in grid for n in spec.param_names()
        ):
            raise SpaceError(
                f"grid parameter {name!r} is one weight of simplex {spec.group!r}; give the "
                f"grid the whole simplex as {spec.group!r}: honed.Simplex([...])."
            )
        out.setdefault(spec.group, Simplex(spec.components, spec.min_weight))
    return out


def _key(weights: Sequence[ParamValue]) -> tuple[float, ...]:
    """A lattice point's weights rounded, so a stored point finds its lattice slot."""
    return tuple(round(float(w), 9) for w in weights)  # type: ignore[arg-type]


class GridSampler(Sampler):
    """Tries every combination of the given values once, in a seeded random order.

    Each new trial takes a grid point that no earlier trial holds (running, complete, pruned
    or failed: a failing point is not retried forever; ``retry_failed=True`` on the study
    retries it). Trial ``n`` starts its search for a free point at position ``n`` of the
    visiting order, so workers that ask at the same moment take different points.
    ``study.optimize`` stops when the grid is exhausted.

    A :class:`honed.Simplex` in the grid is tried on its simplex lattice: every point whose
    weights are ``min_weight`` plus a multiple of ``(1 - k * min_weight) / simplex_divisions``
    (:meth:`honed.Simplex.lattice`; ``C(simplex_divisions + k - 1, k - 1)`` points, the
    corners, edge midpoints and, when ``k`` divides ``simplex_divisions``, the centre among
    them).

    Args:
        grid: ``name -> list of values`` (or a Choice, Int, stepped Float or Simplex).
        seed: Seed of the visiting order.
        simplex_divisions: Lattice divisions of each Simplex in the grid.
    """

    guards_repeats = True  # it takes free grid points itself

    def __init__(
        self,
        grid: Mapping[str, Sequence[ParamValue] | Distribution | Simplex],
        seed: int | None = None,
        *,
        simplex_divisions: int = 4,
    ):
        super().__init__(seed)
        if not grid:
            raise SpaceError("GridSampler needs at least one parameter.")
        grid = _gather_simplexes(grid)
        self._names = tuple(grid)
        # A simplex is one grid dimension whose values index its lattice points.
        self._simplex: dict[str, tuple[dict[str, SimplexWeight], list[tuple[float, ...]]]] = {}
        for n, v in grid.items():
            if isinstance(v, Simplex):
                try:
                    lattice = v.lattice(simplex_divisions)
                except SpaceError as e:
                    raise SpaceError(f"GridSampler simplex_divisions: {e}") from None
                self._simplex[n] = (v.distributions(n), lattice)
        self._lattice_index = {
            n: {_key(p): i for i, p in enumerate(lattice)}
            for n, (_, lattice) in self._simplex.items()
        }
        self._values = {
            n: tuple(range(len(self._simplex[n][1]))) if n in self._simplex else _grid_values(n, v)
            for n, v in grid.items()
        }
        self._choices: dict[str, Choice] = {}
        for n, values in self._values.items():
            try:  # type-aware lookup of a stored value (True is not 1, 1 finds 1.0's slot)
                self._choices[n] = Choice(values)
            except SpaceError as e:
                raise SpaceError(f"grid parameter {n!r}: {e}") from None
        self._sizes = [len(self._values[n]) for n in self._names]
        self._size = int(np.prod(self._sizes, dtype=object))
        rng = np.random.default_rng(seed)
        if self._size <= 1_000_000:
            self._perm: np.ndarray | None = rng.permutation(self._size)
        else:  # too big to hold: an affine bijection k -> (a k + b) mod size instead
            self._perm = None
            a = int(rng.integers(1, self._size))
            while math.gcd(a, self._size) != 1:
                a += 1
            self._affine = (a, int(rng.integers(self._size)))

    @property
    def grid_size(self) -> int:
        return self._size

    @property
    def grid_names(self) -> tuple[str, ...]:
        """The parameters the grid enumerates."""
        return self._names

    def _order(self, k: int) -> int:
        """The grid point visited ``k``-th."""
        if self._perm is not None:
            return int(self._perm[k])
        a, b = self._affine
        return (a * k + b) % self._size

    def _point_index(self, params: Mapping[str, ParamValue]) -> int | None:
        """Mixed-radix index of the grid point ``params`` holds, or None if off the grid."""
        index = 0
        for name, size in zip(self._names, self._sizes, strict=True):
            if name in self._simplex:
                comps = self._simplex[name][0]
                if not all(c in params for c in comps):
                    return None
                found = self._lattice_index[name].get(_key([params[c] for c in comps]))
                if found is None:
                    return None
                index = index * size + found
                continue
            if name not in params:
                return None
            try:
                i = self._choices[name].index(params[name])
            except SpaceError:
                return None
            index = index * size + i
        return index

    def _point(self, index: int) -> dict[str, ParamValue]:
        out: dict[str, ParamValue] = {}
        for name, size in zip(reversed(self._names), reversed(self._sizes), strict=True):
            index, i = divmod(index, size)
            out[name] = self._values[name][i]
        point: dict[str, ParamValue] = {}
        for n in self._names:
            if n in self._simplex:
                comps, lattice = self._simplex[n]
                point.update(zip(comps, lattice[int(out[n])], strict=True))  # type: ignore[arg-type]
            else:
                point[n] = out[n]
        return point

    def _taken(self, history: History) -> set[int]:
        """Grid points held by a trial. A running trial whose parameters are not written yet
        (a worker process writes them with its result) is counted at the point its number
        starts from: otherwise other workers would ask for more trials as the grid runs out
        and all take the same last free points."""
        taken: set[int] = set()
        for t in history:
            if t.state is TrialState.WAITING:
                continue
            i = self._point_index(t.params)
            if i is not None:
                taken.add(i)
            elif (
                t.state is TrialState.RUNNING
                and t.number < self._size
                and self._on_grid_so_far(t.params)
            ):
                taken.add(self._order(t.number))
        return taken

    def _on_grid_so_far(self, params: Mapping[str, ParamValue]) -> bool:
        for name, value in params.items():
            if name not in self._choices:
                continue
            try:
                self._choices[name].index(value)
            except SpaceError:
                return False
        return True

    def is_exhausted(self, history: History) -> bool:
        """Whether every grid point is held by an earlier trial."""
        return len(self._taken(history)) >= self._size

    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        space: dict[str, Distribution] = {}
        for n, c in self._choices.items():
            space.update(self._simplex[n][0] if n in self._simplex else {n: c})
        return SearchSpace(space)

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        taken = self._taken(history)
        if trial.number < self._size:
            for k in range(self._size):
                candidate = self._order((trial.number + k) % self._size)
                if candidate not in taken:
                    return self._point(candidate)
        elif len(taken) < self._size:
            # Past the grid's size (retries, ask/tell): trials asking together spread over
            # the free points instead of all taking the first.
            free = [k for k in range(self._size) if self._order(k) not in taken]
            return self._point(self._order(free[trial.number % len(free)]))
        # Exhausted (only reachable through ask/tell): repeat a point rather than fail.
        return self._point(self._order(trial.number % self._size))

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        if isinstance(distribution, SimplexWeight) and distribution.group in self._simplex:
            raise SpaceError(
                f"simplex {distribution.group!r} is asked with components or min_weight other "
                "than the grid's Simplex; use the same ones."
            )
        raise SpaceError(
            f"parameter {name!r} is not in the grid, or asked with a range that excludes its "
            f"grid values; add it to GridSampler({{...}}) (known: {', '.join(self._names)})."
        )

    def sample_simplex(
        self, history: History, trial: FrozenTrial, group: SearchSpace
    ) -> dict[str, ParamValue]:
        first = group.names[0]
        return {first: self.sample_independent(history, trial, first, group[first])}
