"""An incremental record of finished trials, kept sorted by trial number.

Finished trials never change, so their encodings and merits are computed once and appended as
trials finish. The record is checked against every history it is given (same trial objects,
or equal ones, for every number it holds) and rebuilt from scratch otherwise, so what a sampler
computes from it always equals a cold recomputation from that history.
"""

from __future__ import annotations

import math

import numpy as np

from honed.history import History
from honed.space import Distribution
from honed.trial import FrozenTrial, TrialState

__all__ = ["Observations"]

# Failed trials are observations too: ranked below every pruned one, they sit in the "above"
# group, so the model moves away from where the objective crashes.
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


def _same(a: FrozenTrial, b: FrozenTrial) -> bool:
    return (
        a.state == b.state
        and a.values == b.values
        and a.constraints == b.constraints
        and a.params == b.params
        and a.distributions == b.distributions
        and a.intermediate_values == b.intermediate_values
    )


class Observations:
    """Finished (complete, pruned or failed) trials in number order, with lazily built
    columns."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.trials: list[FrozenTrial] = []
        self._row: dict[int, int] = {}
        self._columns: dict[tuple[str, Distribution], np.ndarray] = {}
        self._arrays: dict[str, np.ndarray] | None = None
        # the latest distribution of every parameter name, by trial number
        self.dists: dict[str, Distribution] = {}
        self.n_complete = 0
        self._directions: tuple | None = None
        self._last: History | None = None

    def __len__(self) -> int:
        return len(self.trials)

    def update(self, history: History) -> None:
        """Bring the record up to date with ``history`` (appends new finished trials)."""
        self._update(history)
        self._last = history

    def _update(self, history: History) -> None:
        if history is self._last:
            return  # a History is immutable: nothing new since the last look
        if self._directions != history.directions:
            self.clear()
            self._directions = history.directions
        new: list[FrozenTrial] = []
        seen = 0
        row_of, trials = self._row, self.trials
        complete, pruned, failed = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED
        for t in history:
            st = t.state
            if st is not complete and st is not pruned and st is not failed:
                continue
            seen += 1
            r = row_of.get(t.number)
            if r is None:
                new.append(t)
            elif trials[r] is not t and not _same(trials[r], t):
                self._rebuild(history)
                return
        if seen != len(trials) + len(new):
            self._rebuild(history)
            return
        if not new:
            return
        if trials and min(t.number for t in new) < trials[-1].number:
            self._rebuild(history)  # a lower-numbered trial finished late: keep number order
            return
        start = len(trials)
        trials.extend(new)
        for i, t in enumerate(new, start):
            row_of[t.number] = i
        self._absorb(new)
        for (name, dist), col in list(self._columns.items()):
            self._columns[(name, dist)] = np.concatenate([col, _encode(new, name, dist)])
        if self._arrays is not None:
            more = _merits(new, self._directions or ())
            self._arrays = {k: np.concatenate([v, more[k]]) for k, v in self._arrays.items()}

    def _rebuild(self, history: History) -> None:
        self.clear()
        self._directions = history.directions
        self.trials = [t for t in history if t.state in _FINISHED]
        self.trials.sort(key=lambda t: t.number)
        self._row = {t.number: i for i, t in enumerate(self.trials)}
        self._absorb(self.trials)

    def _absorb(self, new: list[FrozenTrial]) -> None:
        for t in new:
            self.dists.update(t.distributions)
            self.n_complete += t.state is TrialState.COMPLETE

    def column(self, name: str, dist: Distribution) -> np.ndarray:
        """Unit encodings of ``name`` under ``dist`` per row; NaN where the trial lacks it
        (or holds a value outside ``dist``)."""
        key = (name, dist)
        col = self._columns.get(key)
        if col is None:
            col = self._columns[key] = _encode(self.trials, name, dist)
        return col

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-row merit data: numbers, losses, violation, pruned flag, last step and loss."""
        if self._arrays is None:
            self._arrays = _merits(self.trials, self._directions or ())
        return self._arrays


def _merits(trials: list[FrozenTrial], directions: tuple) -> dict[str, np.ndarray]:
    m = len(directions)
    n = len(trials)
    signs = np.array([d.sign for d in directions])
    losses = np.full((n, m), np.nan)
    viol = np.zeros(n)
    pruned = np.zeros(n, dtype=bool)
    step = np.full(n, -1.0)
    last = np.full(n, np.nan)
    for i, t in enumerate(trials):
        if t.state is TrialState.FAILED:
            pruned[i] = True  # ranked as a pruned trial that reached no step at all
            step[i] = -2.0
        elif t.state is TrialState.PRUNED:
            pruned[i] = True
            if t.intermediate_values:
                s = max(t.intermediate_values)
                step[i] = s
                last[i] = signs[0] * t.intermediate_values[s]
        elif t.values is not None and len(t.values) == m:
            losses[i] = t.values
        if t.constraints:
            viol[i] = sum(c for c in t.constraints if c > 0)
    losses *= signs
    losses[np.isnan(losses)] = np.inf
    return {
        "number": np.array([t.number for t in trials], dtype=float),
        "losses": losses,
        "violation": viol,
        "pruned": pruned,
        "last_step": step,
        "last_loss": np.nan_to_num(last, nan=np.inf),
    }


def _encode(trials: list[FrozenTrial], name: str, dist: Distribution) -> np.ndarray:
    out = np.full(len(trials), np.nan)
    for i, t in enumerate(trials):
        v = t.params.get(name, _MISSING)
        if v is not _MISSING and dist.contains(v):
            u = dist.to_unit(v)
            if math.isfinite(u):
                out[i] = u
    return out


_MISSING = object()
