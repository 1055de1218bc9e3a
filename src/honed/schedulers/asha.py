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

Time as the resource (``resource="time"``): rungs are seconds of the trial's own clock, read
from ``FrozenTrial.report_seconds`` (``trial.report`` records them for these schedulers, or
takes ``elapsed=``). Trials are then compared at equal *cost* instead of equal epochs: when an
epoch's cost varies across configurations (batch size, width), a cheap configuration gets
proportionally more epochs before each rung. ``min_resource="auto"`` sets the first rung to
the median of the first report's seconds over the study's first five reporting trials (fixed
once they reported), so it needs no knowledge of the cost of a step. Which resource is better
depends on the problem: on the digits benchmarks (``bench/results/multifidelity.md``,
40 seeds) time rungs reached the target 1.4x sooner than Optuna's best pruner by median on a
PyTorch MLP whose epoch cost varies 26x with the batch size (epoch rungs: 0.9x), but on a
scikit-learn MLP epoch rungs did better (1.6x; time rungs 1.3x): time rungs favour what learns
most per second early, which is not always what ends best. The default stays ``"step"``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

from honed.history import History
from honed.schedulers._util import (
    check_positive_int,
    first_at_or_after,
    previous_step,
    sign,
)
from honed.schedulers.base import Decision, Scheduler
from honed.trial import FrozenTrial, is_finite_number

__all__ = ["ASHA", "Hyperband", "SuccessiveHalving", "rung_resources"]


def rung_resources(
    min_resource: float, reduction_factor: int, max_resource: float | None, offset: int = 0
) -> list[float]:
    """Rung levels ``min_resource * eta**(offset + k)`` strictly below ``max_resource``
    (where a trial ends anyway); up to 30 rungs when there is no maximum."""
    out: list[float] = []
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


# Trials whose first report sets ``min_resource="auto"`` (median of their first-report seconds).
AUTO_CALIBRATION_TRIALS = 5


class SuccessiveHalving(Scheduler):
    """Successive halving as a stopping rule.

    Args:
        min_resource: Resource of the first rung (steps; seconds with ``resource="time"``, where
            ``"auto"`` calibrates it from the first reports, see the module docstring).
        reduction_factor: ``eta``: one in ``eta`` trials goes on at each rung.
        max_resource: Full resource of a trial (no rung at or above it); ``None``: unbounded.
        min_early_stopping_rate: Skip this many rungs (first rung at ``min * eta**rate``).
        min_trials_at_rung: Decide at a rung only once this many trials reached it (this one
            included); until then trials go on. ``1`` is ASHA: no waiting for a rung to fill.
        resource: ``"step"`` (default: the ``step`` of ``trial.report``) or ``"time"``
            (seconds since the trial started, ``FrozenTrial.report_seconds``).
    """

    def __init__(
        self,
        min_resource: float | str = 1,
        reduction_factor: int = 3,
        max_resource: float | None = None,
        min_early_stopping_rate: int = 0,
        min_trials_at_rung: int = 1,
        resource: str = "step",
    ) -> None:
        if resource not in ("step", "time"):
            raise ValueError(f"resource must be 'step' or 'time', got {resource!r}.")
        self.resource = resource
        if resource == "step":
            self.min_resource: float | str = check_positive_int("min_resource", min_resource, 1)
            if max_resource is not None:
                check_positive_int("max_resource", max_resource, 1)
        else:
            if min_resource != "auto":
                self.min_resource = _check_seconds("min_resource", min_resource)
            else:
                self.min_resource = "auto"
            if max_resource is not None:
                max_resource = _check_seconds("max_resource", max_resource)
        if (
            max_resource is not None
            and not isinstance(self.min_resource, str)
            and max_resource < self.min_resource
        ):
            raise ValueError(
                f"max_resource ({max_resource}) must be >= min_resource ({min_resource})."
            )
        self.reduction_factor = check_positive_int("reduction_factor", reduction_factor, 2)
        self.max_resource = max_resource
        self.min_early_stopping_rate = check_positive_int(
            "min_early_stopping_rate", min_early_stopping_rate, 0
        )
        self.min_trials_at_rung = check_positive_int("min_trials_at_rung", min_trials_at_rung, 1)
        self._curves: dict[int, tuple[FrozenTrial, Any]] = {}

    @property
    def uses_report_seconds(self) -> bool:
        """Whether ``trial.report`` must record each report's seconds for this scheduler."""
        return self.resource == "time"

    def __repr__(self) -> str:
        extra = ", resource='time'" if self.resource == "time" else ""
        return (
            f"{type(self).__name__}(min_resource={self.min_resource!r}, "
            f"reduction_factor={self.reduction_factor}, max_resource={self.max_resource}{extra})"
        )

    def rungs(
        self,
        trial_number: int,
        history: History | None = None,
        trial: FrozenTrial | None = None,
    ) -> list[float]:
        """Rung resources of a trial (steps, or seconds). With ``min_resource="auto"`` the
        ``history`` (and the reporting ``trial``'s newer snapshot) calibrates them; no rungs
        before any trial reported."""
        low = self.base_resource(history, trial)
        if low is None:
            return []
        return rung_resources(
            low, self.reduction_factor, self.max_resource, self.min_early_stopping_rate
        )

    def base_resource(
        self, history: History | None, trial: FrozenTrial | None = None
    ) -> float | None:
        """The first rung before any offset: ``min_resource``, or its auto calibration (the
        median first-report seconds of the first reporting trials by number)."""
        if not isinstance(self.min_resource, str):  # not "auto"
            return self.min_resource
        firsts: list[float] = []
        seen = False
        for t in history or ():
            if trial is not None and t.number >= trial.number and not seen:
                seen = True
                self._add_first(firsts, trial)
                if t.number == trial.number:
                    continue
            if len(firsts) >= AUTO_CALIBRATION_TRIALS:
                break
            self._add_first(firsts, t)
        if trial is not None and not seen:
            self._add_first(firsts, trial)
        firsts = firsts[:AUTO_CALIBRATION_TRIALS]
        if not firsts:
            return None
        return float(sorted(firsts)[(len(firsts) - 1) // 2])

    def curve(self, trial: FrozenTrial) -> Mapping[float, float]:
        """The trial's reports as ``resource -> value`` (time: only reports with seconds)."""
        if self.resource == "step":
            # int steps are float resources, but Mapping keys are invariant for the type checker
            return trial.intermediate_values  # type: ignore[return-value]
        keys, values, _ = self._timeline(trial)
        return dict(zip(keys, values))

    def value_at(self, trial: FrozenTrial, rung: float) -> float | None:
        """The trial's finite value at its first report at or after resource ``rung``."""
        if self.resource == "step":
            return first_at_or_after(trial.intermediate_values, rung)
        keys, values, _ = self._timeline(trial)
        i = bisect_left(keys, rung)
        return values[i] if i < len(keys) else None

    def _timeline(self, trial: FrozenTrial) -> tuple[list[float], list[float], float | None]:
        """(seconds, values) of the finite reports sorted by seconds, and the first report's
        seconds (``None``: no report has seconds)."""
        cached = self._curves.get(id(trial))
        if cached is not None and cached[0] is trial:
            return cached[1]
        iv = trial.intermediate_values
        pairs = []
        first = None
        for k, sec in trial.report_seconds.items():
            first = sec if first is None or sec < first else first
            v = iv.get(k)
            if v is not None and math.isfinite(v):
                pairs.append((sec, v))
        pairs.sort()
        out = ([p[0] for p in pairs], [p[1] for p in pairs], first)
        if trial.state.is_finished:
            # finished trials never change and the study hands out the same objects: keep
            # (the reference pins the id) so each report does not re-read every curve
            self._curves[id(trial)] = (trial, out)
        return out

    def _add_first(self, firsts: list[float], t: FrozenTrial) -> None:
        secs = t.report_seconds
        if secs:
            # reports are recorded in order: the first entry is the first report (O(1); the
            # full timeline of a running trial is rebuilt on every read)
            firsts.append(next(iter(secs.values())))

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
        if self.resource == "time":
            secs = trial.report_seconds
            if step not in secs:
                return Decision.CONTINUE  # a report without seconds cannot be placed
            at = secs[step]
            earlier = [secs[k] for k in trial.intermediate_values if k in secs and k < step]
            prev = max(earlier) if earlier else None
            rungs = self.rungs(trial.number, history, trial)
            if len(self._curves) > 2 * len(history) + 64:
                # a scheduler reused across studies (or one whose history objects were
                # replaced) would otherwise pin every trial it ever read
                self._curves.clear()
        else:
            at = step
            prev = previous_step(trial)
            rungs = self.rungs(trial.number)
        s = sign(history)
        own = s * trial.intermediate_values[step]
        for rung in rungs:
            if rung > at:
                break
            if prev is not None and prev >= rung:
                continue  # decided at an earlier report
            others = []
            for t in history:
                if t.number == trial.number or not self._same_bracket(t.number, trial.number):
                    continue
                # (time rungs: finished trials' timelines are cached, so this is a bisect)
                v = self.value_at(t, rung)
                if v is not None:
                    others.append(s * v)
            if len(others) + 1 < self.min_trials_at_rung:
                continue
            if not promote(own, others, self.reduction_factor):
                return Decision.STOP
        return Decision.CONTINUE


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not is_finite_number(value) or float(value) <= 0:
        alt = " (or 'auto')" if name == "min_resource" else ""
        raise ValueError(
            f"{name} must be a number of seconds > 0{alt} with resource='time', got {value!r}."
        )
    return float(value)


class ASHA(SuccessiveHalving):
    """Asynchronous successive halving: a trial reaching a rung goes on at once if it ranks in
    the top ``1 / eta`` of the trials that reached that rung so far (Li et al., 2020).

    ``ASHA(resource="time", min_resource="auto")`` measures rungs in seconds of each trial's
    own clock, so trials are compared at equal cost (see the module docstring)."""

    def __init__(
        self,
        min_resource: float | str = 1,
        reduction_factor: int = 3,
        max_resource: float | None = None,
        min_early_stopping_rate: int = 0,
        resource: str = "step",
    ) -> None:
        super().__init__(
            min_resource, reduction_factor, max_resource, min_early_stopping_rate, 1, resource
        )


class Hyperband(SuccessiveHalving):
    """Hyperband over ASHA brackets.

    Bracket ``b`` (0 = most aggressive) starts stopping at rung ``min * eta**b``; the last
    bracket never stops a trial. Each trial's bracket follows from its number alone, through
    a fixed cycle in which bracket ``b`` appears in proportion to Hyperband's
    ``(B / (B - b)) * eta**(B - b - 1)`` configurations (``B`` brackets), so each bracket gets
    about the same budget. Trials compete only with trials of their own bracket.

    ``n_brackets`` keeps only the most aggressive brackets (default: all that fit between
    ``min_resource`` and ``max_resource``); the other arguments are those of
    :class:`SuccessiveHalving`.
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

    def rungs(
        self,
        trial_number: int,
        history: History | None = None,
        trial: FrozenTrial | None = None,
    ) -> list[float]:
        return rung_resources(
            self.min_resource,  # type: ignore[arg-type]  # a number: Hyperband takes no "auto"
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
