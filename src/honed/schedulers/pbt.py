"""Population-based training (Jaderberg et al., 2017), asynchronous form.

At every ``interval`` steps a trial is ranked among all trials, each by its value at its latest
step within the last ``interval`` steps (so members of a population reporting one after the
other are compared at once, and finished trials by their value at that step). A
trial in the bottom ``quantile`` *exploits* one from the top ``quantile`` (the study copies that
trial's checkpoint into it) and *explores* (perturbs or resamples) the copied parameters. The
objective sees this through ``trial.exploited`` after ``trial.report`` returns, then reloads
its state with ``trial.load_checkpoint()`` and re-reads its parameters. Each exploit is recorded
in the trial's system attribute ``"pbt_exploits"``; :func:`lineage` follows them back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from honed.history import History
from honed.schedulers._util import check_fraction, check_positive_int, sign
from honed.schedulers.base import Decision, Exploit, Scheduler
from honed.space import (
    Choice,
    Distribution,
    Float,
    Int,
    ParamValue,
    SimplexWeight,
    project_simplexes,
)
from honed.trial import FrozenTrial, TrialState

__all__ = ["EXPLOITS_ATTR", "LineageSegment", "PopulationBasedTraining", "lineage", "params_at"]

#: The trial system attribute listing each exploit (step, source trial, new parameters).
EXPLOITS_ATTR = "pbt_exploits"


class PopulationBasedTraining(Scheduler):
    """Exploit better trials' checkpoints and explore their parameters.

    Args:
        interval: Consider exploiting at steps that are multiples of this.
        quantile: Bottom fraction that exploits, and top fraction it copies from.
        perturb_factors: A numeric parameter is multiplied by one of these (then clipped).
        resample_probability: Chance of redrawing a parameter from its range instead.
        hyperparams: Names that explore may change (default: all); others are copied as is.
        min_population: Exploit only once this many trials reported at the step.
        seed: Decisions are a pure function of (seed, trial number, step).
    """

    def __init__(
        self,
        interval: int = 1,
        quantile: float = 0.25,
        perturb_factors: Sequence[float] = (0.8, 1.25),
        resample_probability: float = 0.25,
        hyperparams: Sequence[str] | None = None,
        min_population: int = 4,
        seed: int | None = None,
    ) -> None:
        self.interval = check_positive_int("interval", interval, 1)
        self.quantile = check_fraction("quantile", quantile, 0.0, 0.5)
        if not perturb_factors or any(
            not isinstance(f, int | float) or f <= 0 for f in perturb_factors
        ):
            raise ValueError(
                f"perturb_factors must be positive numbers such as (0.8, 1.25), got "
                f"{perturb_factors!r}."
            )
        self.perturb_factors = tuple(float(f) for f in perturb_factors)
        self.resample_probability = check_fraction("resample_probability", resample_probability)
        self.hyperparams = None if hyperparams is None else tuple(hyperparams)
        self.min_population = check_positive_int("min_population", min_population, 2)
        self.seed = seed

    def __repr__(self) -> str:
        return (
            f"PopulationBasedTraining(interval={self.interval}, quantile={self.quantile}, "
            f"min_population={self.min_population})"
        )

    def on_report(self, history: History, trial: FrozenTrial) -> Decision | Exploit:
        if history.is_multi_objective:
            raise ValueError("PopulationBasedTraining is for single-objective studies.")
        step = trial.last_step
        if step is None or step == 0 or step % self.interval:
            return Decision.CONTINUE
        own = trial.intermediate_values[step]
        if not math.isfinite(own):
            return Decision.CONTINUE
        s = sign(history)
        peers: list[tuple[float, int, FrozenTrial]] = [(s * own, trial.number, trial)]
        peer_step: dict[int, int] = {}
        for t in history:
            if t.number == trial.number or t.state is TrialState.FAILED:
                continue
            recent = [k for k in t.intermediate_values if step - self.interval < k <= step]
            if not recent:
                continue
            k = max(recent)
            v = t.intermediate_values[k]
            if math.isfinite(v):
                peers.append((s * v, t.number, t))
                peer_step[t.number] = k
        if len(peers) < self.min_population:
            return Decision.CONTINUE
        peers.sort(key=lambda p: (p[0], p[1]))
        k = max(1, int(math.floor(len(peers) * self.quantile)))
        bottom = {p[1] for p in peers[-k:]}
        top = [p[2] for p in peers[:k]]
        if trial.number not in bottom or any(t.number == trial.number for t in top):
            return Decision.CONTINUE
        rng = np.random.default_rng([self.seed or 0, trial.number, step])
        source = top[int(rng.integers(len(top)))]
        params = self.explore_from(history, trial, source, step, rng)
        return Exploit(
            source=source.number, step=step, params=params, source_step=peer_step[source.number]
        )

    def explore_from(
        self,
        history: History,
        trial: FrozenTrial,
        source: FrozenTrial,
        step: int,
        rng: np.random.Generator,
    ) -> dict[str, ParamValue]:
        """The parameters ``trial``, exploiting ``source`` at ``step``, continues with. PBT
        perturbs ``source``'s (:meth:`explore`); :class:`~honed.schedulers.PB2` chooses them
        with a GP bandit over the whole history."""
        return self.explore(source.params, source.distributions, rng)

    def explore(
        self,
        params: Mapping[str, ParamValue],
        distributions: Mapping[str, Distribution],
        rng: np.random.Generator,
    ) -> dict[str, ParamValue]:
        """Perturb or resample the explorable parameters of ``params``."""
        out = dict(params)
        for name, value in params.items():
            dist = distributions.get(name)
            if dist is None or dist.is_single:
                continue
            if self.hyperparams is not None and name not in self.hyperparams:
                continue
            if rng.random() < self.resample_probability:
                out[name] = dist.from_unit(float(rng.random()))
            elif isinstance(dist, Float | Int):
                num = cast(float, value)  # a Float or Int parameter's value is a number
                factor = self.perturb_factors[int(rng.integers(len(self.perturb_factors)))]
                x = float(np.clip(float(num) * factor, dist.low, dist.high))
                new = dist.from_unit(dist.to_unit(x))
                if new == value and isinstance(dist, Int):
                    # integers too small to move by a factor step by one instead
                    new = int(np.clip(num + (1 if factor > 1 else -1), dist.low, dist.high))
                out[name] = new
            elif isinstance(dist, Choice):
                i = dist.index(value) + int(rng.choice([-1, 1]))
                out[name] = dist.choices[min(max(i, 0), len(dist.choices) - 1)]
            elif isinstance(dist, SimplexWeight):
                factor = self.perturb_factors[int(rng.integers(len(self.perturb_factors)))]
                out[name] = float(np.clip(float(cast(float, value)) * factor, dist.low, dist.high))
        # a simplex whose weights moved one by one is made one point of it again
        return project_simplexes(out, distributions)


@dataclass(frozen=True)
class LineageSegment:
    """Steps ``(start, end]`` of a model's training done by ``trial`` with ``params``."""

    trial: int
    start: int
    end: int
    params: Mapping[str, Any]


def lineage(history: History, trial_number: int) -> list[LineageSegment]:
    """The chain of trials whose training produced ``trial_number``'s final model, oldest
    first: follows each exploit back to the source trial and the step it was copied at."""
    by_number = {t.number: t for t in history}
    segments: list[LineageSegment] = []
    number = trial_number
    end = by_number[number].last_step or 0
    for _ in range(len(history) * 1000):  # cycles are impossible; bound the walk anyway
        t = by_number[number]
        events = [e for e in t.system_attrs.get(EXPLOITS_ATTR, []) if e["step"] <= end]
        if not events:
            segments.append(LineageSegment(number, 0, end, params_at(t, end)))
            break
        e = events[-1]
        segments.append(LineageSegment(number, e["step"], end, params_at(t, end)))
        number, end = e["source"], e["source_step"] if e["source_step"] is not None else e["step"]
    return segments[::-1]


def params_at(t: FrozenTrial, step: int) -> dict[str, Any]:
    """The parameters a trial trained with just before ``step``."""
    params = dict(t.system_attrs.get("pbt_initial_params") or t.params)
    for e in t.system_attrs.get(EXPLOITS_ATTR, []):
        if e["step"] < step:
            params = dict(e["params"])
    return params
