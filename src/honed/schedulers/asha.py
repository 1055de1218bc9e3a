"""Successive halving, ASHA and Hyperband: stop trials at rungs unless they rank in the top
``1 / reduction_factor`` of the trials that reached the same rung.

The resource is the ``step`` of ``trial.report`` (epochs, boosting rounds, ...), counted from 1:
a report at step ``s`` means ``s`` units were spent. A trial reaches rung ``r`` at its first
report with ``step >= r``; its value there is its rung value.

How these differ from textbook successive halving, because a trial can only go on or stop
(never pause and resume later):

* A trial is judged when it reaches a rung, against the trials that reached that rung *so far*,
  never against later arrivals. Textbook (synchronous) SH ranks a full rung at once.
* While fewer than ``eta`` trials reached a rung, ``n // eta`` is 0; a trial then goes on only
  if no trial at the rung was better, so the first trial to reach each rung always goes on
  (Optuna's SuccessiveHalvingPruner does the same). The first trials of a study can thus train
  to the end whatever their value.
* A stopped trial is never promoted later, even if the trials reaching its rung afterwards are
  all worse (textbook SH and ASHA with pausing would resume it). Each trial is stopped at most
  once, so the total resource is bounded, but the top ``1 / eta`` of a full rung is only
  approximated: a good early trial can be stopped by a rung still holding few, good trials.
* ``SuccessiveHalving(min_trials_at_rung=k)`` lets the first ``k - 1`` arrivals at a rung go on
  unconditionally and judges later ones against all arrivals; that is still not the
  synchronous algorithm (nothing waits), only less eager than ASHA.
"""

from __future__ import annotations

import math

from honed.history import History
from honed.schedulers._util import (
    check_positive_int,
    first_at_or_after,
    previous_step,
    sign,
)
from honed.schedulers.base import Decision, Scheduler
from honed.trial import FrozenTrial

__all__ = ["ASHA", "Hyperband", "SuccessiveHalving", "rung_resources"]


def rung_resources(
    min_resource: int, reduction_factor: int, max_resource: int | None, offset: int = 0
) -> list[int]:
    """Rung levels ``min_resource * eta**(offset + k)`` strictly below ``max_resource``
    (where a trial ends anyway); up to 30 rungs when there is no maximum."""
    out = []
    k = offset
    while len(out) < 30:
        r = min_resource * reduction_factor**k
        if max_resource is not None and r >= max_resource:
            break
        out.append(r)
        k += 1
    return out


def promote(own: float, others: list[float], reduction_factor: int) -> bool:
    """Whether loss ``own`` ranks in the top ``n // eta`` of ``others + [own]``.

    When fewer than ``eta`` trials reached the rung, only a trial best so far goes on: trials
    cannot be paused, so asynchronous SH promotes without waiting for the rung to fill.
    """
    n = len(others) + 1
    top = max(1, n // reduction_factor)
    rank = sum(1 for o in others if o < own)
    return rank < top


class SuccessiveHalving(Scheduler):
    """Successive halving as a stopping rule.

    Args:
        min_resource: Resource of the first rung.
        reduction_factor: ``eta``: one in ``eta`` trials goes on at each rung.
        max_resource: Full resource of a trial (no rung at or above it); ``None``: unbounded.
        min_early_stopping_rate: Skip this many rungs (first rung at ``min * eta**rate``).
        min_trials_at_rung: Decide at a rung only once this many trials reached it (this one
            included); until then trials go on. ``1`` is ASHA: no waiting for a rung to fill.
    """

    def __init__(
        self,
        min_resource: int = 1,
        reduction_factor: int = 3,
        max_resource: int | None = None,
        min_early_stopping_rate: int = 0,
        min_trials_at_rung: int = 1,
    ) -> None:
        self.min_resource = check_positive_int("min_resource", min_resource, 1)
        self.reduction_factor = check_positive_int("reduction_factor", reduction_factor, 2)
        if max_resource is not None:
            check_positive_int("max_resource", max_resource, 1)
            if max_resource < min_resource:
                raise ValueError(
                    f"max_resource ({max_resource}) must be >= min_resource ({min_resource})."
                )
        self.max_resource = max_resource
        self.min_early_stopping_rate = check_positive_int(
            "min_early_stopping_rate", min_early_stopping_rate, 0
        )
        self.min_trials_at_rung = check_positive_int("min_trials_at_rung", min_trials_at_rung, 1)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(min_resource={self.min_resource}, "
            f"reduction_factor={self.reduction_factor}, max_resource={self.max_resource})"
        )

    def rungs(self, trial_number: int) -> list[int]:
        return rung_resources(
            self.min_resource,
            self.reduction_factor,
            self.max_resource,
            self.min_early_stopping_rate,
        )

    def _same_bracket(self, a: int, b: int) -> bool:
        return True

    def on_report(self, history: History, trial: FrozenTrial) -> Decision:
        if history.is_multi_objective:
            raise ValueError(
                f"{type(self).__name__} is for single-objective studies; use "
                "honed.schedulers.DominatedStopping for several objectives."
            )
        step = trial.last_step
        if step is None or not math.isfinite(trial.intermediate_values[step]):
            return Decision.CONTINUE
        prev = previous_step(trial)
        s = sign(history)
        own = s * trial.intermediate_values[step]
        for rung in self.rungs(trial.number):
            if rung > step:
                break
            if prev is not None and prev >= rung:
                continue  # decided at an earlier report
            others = []
            for t in history:
                if t.number == trial.number or not self._same_bracket(t.number, trial.number):
                    continue
                v = first_at_or_after(t.intermediate_values, rung)
                if v is not None:
                    others.append(s * v)
            if len(others) + 1 < self.min_trials_at_rung:
                continue
            if not promote(own, others, self.reduction_factor):
                return Decision.STOP
        return Decision.CONTINUE


class ASHA(SuccessiveHalving):
    """Asynchronous successive halving: a trial reaching a rung goes on at once if it ranks in
    the top ``1 / eta`` of the trials that reached that rung so far (Li et al., 2020)."""

    def __init__(
        self,
        min_resource: int = 1,
        reduction_factor: int = 3,
        max_resource: int | None = None,
        min_early_stopping_rate: int = 0,
    ) -> None:
        super().__init__(min_resource, reduction_factor, max_resource, min_early_stopping_rate, 1)


class Hyperband(SuccessiveHalving):
    """Hyperband over ASHA brackets.

    Bracket ``b`` (0 = most aggressive) starts stopping at rung ``min * eta**b``; the last
    bracket never stops a trial. Each trial's bracket follows from its number alone, through
    a fixed cycle in which bracket ``b`` appears in proportion to Hyperband's
    ``(B / (B - b)) * eta**(B - b - 1)`` configurations (``B`` brackets), so each bracket gets
    about the same budget. Trials compete only with trials of their own bracket.
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int = 81,
        reduction_factor: int = 3,
        n_brackets: int | None = None,
    ) -> None:
        super().__init__(min_resource, reduction_factor, max_resource, 0, 1)
        assert self.max_resource is not None
        s_max = 0
        while min_resource * reduction_factor ** (s_max + 1) <= self.max_resource:
            s_max += 1
        n = s_max + 1
        if n_brackets is not None:
            n = min(check_positive_int("n_brackets", n_brackets, 1), s_max + 1)
        self.n_brackets = n
        weights = [
            round((s_max + 1) / (s_max + 1 - b) * reduction_factor ** (s_max - b)) for b in range(n)
        ]
        self._cycle = _smooth_round_robin(weights)

    def __repr__(self) -> str:
        return (
            f"Hyperband(min_resource={self.min_resource}, max_resource={self.max_resource}, "
            f"reduction_factor={self.reduction_factor}, n_brackets={self.n_brackets})"
        )

    def bracket(self, trial_number: int) -> int:
        """The bracket of a trial, from its number alone."""
        return self._cycle[trial_number % len(self._cycle)]

    def rungs(self, trial_number: int) -> list[int]:
        return rung_resources(
            self.min_resource,
            self.reduction_factor,
            self.max_resource,
            self.bracket(trial_number),
        )

    def _same_bracket(self, a: int, b: int) -> bool:
        return self.bracket(a) == self.bracket(b)


def _smooth_round_robin(weights: list[int]) -> list[int]:
    """An order of ``sum(weights)`` slots, each index ``i`` appearing ``weights[i]`` times,
    spread evenly (nginx's smooth weighted round robin), so early trials visit every bracket."""
    total = sum(weights)
    current = [0] * len(weights)
    out = []
    for _ in range(total):
        for i, w in enumerate(weights):
            current[i] += w
        i = max(range(len(weights)), key=lambda j: (current[j], -j))
        current[i] -= total
        out.append(i)
    return out
