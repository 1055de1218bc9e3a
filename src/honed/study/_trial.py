"""The live trial handed to an objective: it samples parameters and records reports."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from honed.artifacts import Checkpoints
from honed.errors import SpaceError, TrialPruned, TrialStateError
from honed.history import History
from honed.objective import ParameterAPI, redefined
from honed.samplers.base import Sampler
from honed.schedulers.base import Decision, Exploit, Scheduler, decision_of, info_of
from honed.space import (
    Choice,
    Distribution,
    Float,
    Int,
    ParamValue,
    SearchSpace,
    SimplexWeight,
    exact_weights,
    project_simplexes,
)
from honed.storage.base import Storage
from honed.study._repeats import Items, SeenConfigs, fresh_value, guard_rng, item
from honed.trial import SEED_ATTR, Direction, FrozenTrial, TrialState, check_report, trial_seed

__all__ = ["LocalTrial"]


class TrialHost(Protocol):
    """What a live trial needs of its study (:class:`honed.Study` is one)."""

    name: str
    directions: tuple[Direction, ...]
    sampler: Sampler
    scheduler: Scheduler | None
    noisy: bool
    _seen: SeenConfigs

    @property
    def user_attrs(self) -> dict[str, Any]: ...

    @property
    def checkpoints(self) -> Checkpoints: ...

    @property
    def _storage(self) -> Storage: ...

    def _history(self) -> History: ...

    def _note_repeat(self, number: int, name: str) -> None: ...


logger = logging.getLogger("honed")


class LocalTrial(ParameterAPI):
    """A trial of a study in this process: what ``study.ask()`` returns and what inline and
    threaded objectives get (a :class:`honed.Trial`).

    Parameters come from ``float``, ``int`` and ``choice``; conditional parameters follow from
    Python control flow. Each is written to storage as it is sampled, so a trial whose
    process dies keeps the configuration it ran with, and a retry runs exactly that.
    """

    def __init__(
        self,
        study: TrialHost,
        frozen: FrozenTrial,
        relative_params: Mapping[str, ParamValue] | None = None,
        fixed_params: Mapping[str, ParamValue] | None = None,
    ) -> None:
        self.study = study
        self._frozen = frozen
        self._trial_id = frozen.trial_id
        self.number = frozen.number
        self._params: dict[str, ParamValue] = dict(frozen.params)
        self._distributions: dict[str, Distribution] = dict(frozen.distributions)
        # Enqueued trials arrive with fixed values but possibly no distributions yet.
        self._fixed: dict[str, ParamValue] = {
            k: v for k, v in frozen.params.items() if k not in frozen.distributions
        }
        for k in self._fixed:
            self._params.pop(k)
        # ``fixed_params`` of ask/optimize: given for every trial, so they win over enqueued
        # values; a retry's recorded parameters (with distributions) stay as they ran.
        given = fixed_params or {}
        self._fixed_given = frozenset(k for k in given if k not in self._params)
        self._fixed.update({k: v for k, v in given.items() if k in self._fixed_given})
        # A fixed value outside the range the objective asks for: set so that optimize stops
        # (every trial would fail the same way) once this trial is recorded.
        self._bad_fixed: SpaceError | None = None
        self._relative = dict(relative_params or {})
        self._user_attrs: dict[str, Any] = dict(frozen.user_attrs)
        self._intermediate: dict[int, float] = dict(frozen.intermediate_values)
        self._seconds: dict[int, float] = dict(frozen.report_seconds)
        self._vectors: dict[int, tuple[float, ...]] = dict(frozen.intermediate_vectors)
        self._last_decision = Decision.CONTINUE
        self._system_attrs: dict[str, Any] = dict(frozen.system_attrs)
        self._exploited: Exploit | None = None
        # Start of the trial's own clock, for report_seconds (time-resource schedulers).
        self._started = time.monotonic()
        # Set while a declared space is sampled at ask: its parameters are written at once.
        self._buffered: dict[str, ParamValue] | None = None
        self._told = False
        # The history this trial was asked with: its parameters are all sampled from the same
        # view, and a define-by-run objective costs no storage read per parameter.
        self._history: History | None = None
        # Set to the parameter's name when a sampled value had to repeat a configuration
        # (no free value left); and, while a declared space is sampled afresh, the random
        # state that replaces the sampler.
        self._repeated: str | None = None
        self._uniform: np.random.Generator | None = None
        # The parameters in the guard's terms, in sampling order (honed.study._repeats).
        self._items: Items = [
            item(k, d, self._params[k]) for k, d in self._distributions.items() if k in self._params
        ]

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self._params})"

    @property
    def seed(self) -> int:
        """A seed for the objective's randomness: the one recorded with the trial (a
        confirmation run's), else derived from the study's name and the number of the trial's
        first attempt, so a retry runs with its original's seed."""
        recorded = self._system_attrs.get(SEED_ATTR)
        if recorded is not None:
            return int(recorded)
        first = int(self._system_attrs.get("first_attempt", self.number))
        return trial_seed(self.study.name, first)

    # ---- parameters ------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, ParamValue]:
        """Parameters sampled so far."""
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        return dict(self._distributions)

    def suggest(self, name: str, distribution: Distribution) -> ParamValue:
        """Sample ``name`` from ``distribution`` (the common path of float, int and choice)."""
        if self._told:
            raise TrialStateError(
                f"trial {self.number} is already finished and cannot sample {name!r}; "
                "ask for a new trial instead."
            )
        if not isinstance(name, str) or not name:
            raise SpaceError(f"parameter names must be non-empty strings, got {name!r}.")
        self._check_simplex_names(name, distribution)
        if isinstance(distribution, SimplexWeight) and name not in self._distributions:
            self._suggest_simplex(distribution)
        known = self._distributions.get(name)
        if known is not None:
            if known != distribution:
                raise redefined(name, known, distribution, f"sampled in trial {self.number}")
            return self._params[name]
        if name in self._fixed:
            value = self._fixed.pop(name)
            if not distribution.contains(value):
                if name in self._fixed_given:
                    self._bad_fixed = SpaceError(
                        f"fixed value {value!r} of parameter {name!r} is outside {distribution}, "
                        "the range the objective asks for; fix it to a value inside that range, "
                        "or leave it out of fixed_params."
                    )
                    raise self._bad_fixed
                raise SpaceError(
                    f"enqueued value {value!r} of parameter {name!r} is outside {distribution}; "
                    "enqueue a value inside the range."
                )
            value = _canonical(distribution, value)
        elif distribution.is_single:
            value = distribution.from_unit(0.5)
        else:
            if self._uniform is not None:
                value = distribution.from_unit(self._uniform.random())
            elif name in self._relative and distribution.contains(self._relative[name]):
                value = _canonical(distribution, self._relative[name])
            else:
                history = self._history if self._history is not None else self.study._history()
                value = self.study.sampler.sample_independent(
                    history, self._snapshot(), name, distribution
                )
                if not distribution.contains(value):
                    raise SpaceError(
                        f"{self.study.sampler!r} proposed {value!r} for {name!r}, outside "
                        f"{distribution}; this is a bug in the sampler."
                    )
            with self.study._seen.lock:  # check and claim at once: threads ask together
                value = self._fresh(name, distribution, value)
                self._claim(name, distribution, value)
        if name not in self._params:
            self._claim(name, distribution, value)
        if self._buffered is not None:
            self._buffered[name] = value
        else:
            self._write_params({name: value})
        return value

    def _check_simplex_names(self, name: str, distribution: Distribution) -> None:
        """A simplex ``g`` owns the names ``g.<component>``: no other parameter may take one."""
        if isinstance(distribution, SimplexWeight):
            if name != f"{distribution.group}.{distribution.component}":
                raise SpaceError(
                    f"parameter {name!r} holds the weight of {distribution.component!r} in "
                    f"simplex {distribution.group!r}, so it must be named "
                    f"'{distribution.group}.{distribution.component}'; ask for it with "
                    "trial.simplex."
                )
            mine = set(distribution.param_names())
            prefix = distribution.group + "."
            me = (distribution.group, distribution.components, distribution.min_weight)
            for k, d in self._distributions.items():
                if (
                    isinstance(d, SimplexWeight)
                    and d.group == distribution.group
                    and (d.group, d.components, d.min_weight) != me
                ):
                    raise SpaceError(
                        f"simplex {distribution.group!r} was already sampled in trial "
                        f"{self.number} as {d} ('{k}'), and is now asked as {distribution}; a "
                        "simplex name takes one set of components and min_weight: use the same "
                        "ones, or another name."
                    )
                if k.startswith(prefix) and k not in mine and not isinstance(d, SimplexWeight):
                    raise SpaceError(
                        f"simplex {distribution.group!r}: this trial already has the parameter "
                        f"{k!r}, named like one of its weights; rename that parameter or the "
                        "simplex."
                    )
            return
        groups = {d for d in self._distributions.values() if isinstance(d, SimplexWeight)}
        for g in groups:
            if name.startswith(g.group + ".") and name not in g.param_names():
                raise SpaceError(
                    f"parameter {name!r} is named like a weight of simplex {g.group!r} "
                    f"(its names are {list(g.param_names())}); rename it."
                )

    def _suggest_simplex(self, dist: SimplexWeight) -> None:
        """Sample all weights of ``dist``'s simplex as one point and record them."""
        names = dist.param_names()
        group = SearchSpace(
            {n: dist.with_component(c) for n, c in zip(names, dist.components, strict=True)}
        )
        fixed = [n for n in names if n in self._fixed]
        if fixed:
            # Weights given by fixed_params (every trial would fail alike: optimize stops) or
            # by an enqueued trial.
            given = any(n in self._fixed_given for n in fixed)
            verb = "fix" if given else "enqueue"
            if len(fixed) != len(names):
                missing = [n for n in names if n not in self._fixed]
                error = SpaceError(
                    f"{'fixed_params' if given else 'the enqueued trial'} sets {fixed} of "
                    f"simplex {dist.group!r} but not {missing}; {verb} every weight of a "
                    "simplex, or none."
                )
                if given:
                    self._bad_fixed = error
                raise error
            values = {n: self._fixed.pop(n) for n in names}
            weights = _on_simplex(group, values)
            if weights is None:
                error = SpaceError(
                    f"{'fixed' if given else 'enqueued'} weights {values} of simplex "
                    f"{dist.group!r} are not on its simplex (each in [{dist.low:g}, "
                    f"{dist.high:g}], summing to 1); {verb} weights that sum to 1."
                )
                if given:
                    self._bad_fixed = error
                raise error
        elif all(n in self._relative for n in names):
            weights = _to_simplex(group, {n: self._relative[n] for n in names})
        else:
            history = self._history if self._history is not None else self.study._history()
            proposal = self.study.sampler.sample_simplex(history, self._snapshot(), group)
            if set(proposal) != set(names):
                raise SpaceError(
                    f"{self.study.sampler!r} proposed {proposal!r} for simplex {dist.group!r}, "
                    f"not its weights {list(names)}; this is a bug in the sampler."
                )
            weights = _to_simplex(group, proposal)
        for n, w in weights.items():
            self._claim(n, group[n], w)  # continuous weights: the repeat guard only records them
        if self._buffered is not None:
            self._buffered.update(weights)
        else:
            self._write_params(weights)

    def _unused_fixed(self) -> list[str]:
        """Names of ``fixed_params`` the objective has not asked for (yet)."""
        return sorted(k for k in self._fixed_given if k in self._fixed)

    def _claim(self, name: str, distribution: Distribution, value: ParamValue) -> None:
        self._params[name] = value
        self._distributions[name] = distribution
        self._items.append(item(name, distribution, value))
        self.study._seen.set(self.number, self._items)

    def _fresh(self, name: str, distribution: Distribution, value: ParamValue) -> ParamValue:
        """``value``, or a nearby one when it would make this trial repeat the configuration
        of another (the guard against repeats, :mod:`honed.study._repeats`)."""
        study = self.study
        if study.noisy or getattr(study.sampler, "guards_repeats", False):
            return value
        seed = getattr(study.sampler, "seed", None)
        value, fresh = fresh_value(
            study._seen,
            self.number,
            self._items,
            name,
            distribution,
            value,
            lambda: guard_rng(seed, self.number, name),
        )
        if not fresh:
            self._repeated = name
            if self._buffered is None:  # define-by-run: nothing else can change now
                study._note_repeat(self.number, name)
        return value

    def _write_params(self, params: Mapping[str, ParamValue]) -> None:
        self.study._storage.set_trial_params(
            self._trial_id, params, {k: self._distributions[k] for k in params}
        )

    def _snapshot(self) -> FrozenTrial:
        """What samplers and schedulers see of this trial."""
        f = self._frozen
        return FrozenTrial(
            number=f.number,
            state=TrialState.RUNNING,
            params=dict(self._params),
            distributions=dict(self._distributions),
            intermediate_values=dict(self._intermediate),
            user_attrs=dict(self._user_attrs),
            system_attrs=dict(self._system_attrs),
            datetime_start=f.datetime_start,
            trial_id=f.trial_id,
            report_seconds=dict(self._seconds),
            intermediate_vectors=dict(self._vectors),
        )

    # ---- reports and attributes ------------------------------------------------------------
    def report(
        self, value: float | Sequence[float], step: int, *, elapsed: float | None = None
    ) -> None:
        """Record an intermediate value at ``step`` (an epoch, a number of trees, ...).

        The study's scheduler then decides whether the trial goes on; when it says stop,
        this raises :class:`honed.TrialPruned`, which ends the objective and records the
        trial as pruned. In a multi-objective study ``value`` is one number per objective.
        After population-based training exploited another trial, :attr:`exploited` is set.

        ``elapsed``: seconds this trial has spent so far (e.g. its own training clock); it is
        then recorded in ``FrozenTrial.report_seconds``. Without it, the seconds since the
        trial started are recorded only when the scheduler uses time as its resource
        (``ASHA(resource="time")``), so plain studies write nothing extra per report.
        """
        seconds = check_report(step, elapsed)
        if seconds is None and getattr(self.study.scheduler, "uses_report_seconds", False):
            seconds = time.monotonic() - self._started
        self._exploited = None
        n_obj = len(self.study.directions)
        if n_obj > 1:
            self._report_vector(value, step, n_obj, seconds)
        else:
            if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 1:
                value = value[0]
            try:
                value = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError(
                    f"report value must be a number, got {value!r} ({type(value).__name__})."
                ) from None
            self.study._storage.set_trial_intermediate_value(self._trial_id, step, value, seconds)
            self._intermediate[step] = value
            self._note_seconds(step, seconds)
            if math.isnan(value):
                return
        if self.study.scheduler is None:
            return
        answer = self.study.scheduler.on_report(self.study._history(), self._snapshot())
        self._last_decision = decision_of(answer)
        for key, info in info_of(answer).items():
            self._set_system_attr(key, info)
        if isinstance(answer, Exploit):
            self._exploit(answer)
        if self._last_decision is Decision.STOP:
            raise TrialPruned(f"stopped at step {step} by {type(self.study.scheduler).__name__}")

    def _report_vector(self, value: Any, step: int, n_obj: int, seconds: float | None) -> None:
        if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != n_obj:
            raise ValueError(
                f"this study has {n_obj} objectives: report one number per objective, e.g. "
                f"trial.report([v1, v2], step), got {value!r}."
            )
        try:
            vec = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"report values must be numbers, got {value!r}.") from None
        self.study._storage.set_trial_intermediate_value(self._trial_id, step, vec, seconds)
        self._vectors[step] = vec
        self._note_seconds(step, seconds)

    def _note_seconds(self, step: int, seconds: float | None) -> None:
        if seconds is None:
            self._seconds.pop(step, None)
        else:
            self._seconds[step] = seconds

    def _set_system_attr(self, key: str, value: Any) -> None:
        self.study._storage.set_trial_system_attr(self._trial_id, key, value)
        self._system_attrs[key] = value

    def _exploit(self, answer: Exploit) -> None:
        """Population-based training: take the source's checkpoint and the new parameters."""
        from honed.schedulers.pbt import EXPLOITS_ATTR

        copied = self.study.checkpoints.copy(answer.source, self.number, answer.source_step)
        source = next((t for t in self.study._history() if t.number == answer.source), None)
        dists = dict(source.distributions) if source is not None else {}
        dists.update(self._distributions)
        params = {k: v for k, v in answer.params.items() if k in dists}
        if "pbt_initial_params" not in self._system_attrs:
            self._set_system_attr("pbt_initial_params", dict(self._params))
        self.study._storage.set_trial_params(self._trial_id, params, {k: dists[k] for k in params})
        self._params.update(params)
        self._distributions.update({k: dists[k] for k in params})
        events = list(self._system_attrs.get(EXPLOITS_ATTR) or [])
        events.append(
            {
                "step": answer.step,
                "source": answer.source,
                "source_step": answer.source_step,
                "params": dict(params),
                "checkpoint_copied": copied,
            }
        )
        self._set_system_attr(EXPLOITS_ATTR, events)
        self._exploited = answer

    @property
    def exploited(self) -> Exploit | None:
        """Set by the latest :meth:`report` when population-based training replaced this
        trial's state: reload it with :meth:`load_checkpoint` and re-read :attr:`params`."""
        return self._exploited

    def should_stop(self) -> bool:
        """Whether the scheduler's answer to the latest report was to stop."""
        return self._last_decision is Decision.STOP

    # ---- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, obj: Any, step: int | None = None) -> None:
        """Save this trial's state: any picklable object (a ``state_dict``, a model), or a
        :class:`pathlib.Path` to a file or folder the objective wrote. With ``step``, the
        checkpoint is also kept under that step (PBT copies a peer's state at a step)."""
        self.study.checkpoints.save(self.number, obj, step)

    def load_checkpoint(self, step: int | None = None) -> Any:
        """This trial's latest checkpoint (or the one at ``step``), ``None`` if it has none.
        After an exploit it is the source trial's state. Saved paths come back as a Path."""
        return self.study.checkpoints.load(self.number, step)

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._intermediate)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serializable value with the trial."""
        self.study._storage.set_trial_user_attr(self._trial_id, key, value)
        self._user_attrs[key] = value

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    def set_constraints(self, values: Sequence[float]) -> None:
        """Constraint values; the trial is feasible when every value is ``<= 0``."""
        try:
            floats = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"constraints must be a list of numbers, got {values!r}.") from None
        if any(math.isnan(v) for v in floats):
            raise ValueError(f"constraints must not be NaN, got {floats}.")
        self.study._storage.set_trial_constraints(self._trial_id, floats)


def _on_simplex(group: SearchSpace, values: Mapping[str, Any]) -> dict[str, ParamValue] | None:
    """``values`` with the sum made exactly 1, if they are weights of ``group``'s simplex."""
    if not all(group[n].contains(values[n]) for n in group):
        return None
    w = [float(values[n]) for n in group]
    if abs(math.fsum(w) - 1.0) > 1e-9:
        return None
    first = group[group.names[0]]
    assert isinstance(first, SimplexWeight)
    return dict(zip(group.names, exact_weights(w, first.min_weight), strict=True))


def _to_simplex(group: SearchSpace, values: Mapping[str, Any]) -> dict[str, ParamValue]:
    """A sampler's proposal for a simplex as weights summing to exactly 1: kept when it is
    on the simplex, else (values proposed one component at a time) its encodings decoded
    as one point."""
    projected = project_simplexes({n: values[n] for n in group}, group)
    return {n: projected[n] for n in group}


def _canonical(distribution: Distribution, value: Any) -> ParamValue:
    if isinstance(distribution, Int):
        return int(value)
    if isinstance(distribution, Float | SimplexWeight):
        return float(value)
    if isinstance(distribution, Choice):
        return distribution.choices[distribution.index(value)]
    return value
