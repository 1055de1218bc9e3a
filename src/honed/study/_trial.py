"""The live trial handed to an objective: it samples parameters and records reports."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from honed.errors import SpaceError, TrialPruned
from honed.schedulers.base import Decision
from honed.space import Choice, Distribution, Float, Int, ParamValue
from honed.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from honed.study._study import Study

__all__ = ["Trial"]


class Trial:
    """One evaluation of the objective, while it runs.

    Parameters come from ``float``, ``int`` and ``choice``; conditional parameters follow from
    Python control flow. Each call records the parameter in storage, so a crash keeps them.
    """

    def __init__(
        self,
        study: Study,
        frozen: FrozenTrial,
        relative_params: Mapping[str, ParamValue] | None = None,
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
        self._relative = dict(relative_params or {})
        self._user_attrs: dict[str, Any] = dict(frozen.user_attrs)
        self._intermediate: dict[int, float] = dict(frozen.intermediate_values)
        self._last_decision = Decision.CONTINUE
        self._buffered: dict[str, ParamValue] | None = None

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self._params})"

    # ---- parameters ------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, ParamValue]:
        """Parameters sampled so far."""
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        return dict(self._distributions)

    def float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float:
        """A real number in ``[low, high]``, on a log scale or a ``step`` grid if asked."""
        return self.suggest(name, _build(name, Float, low, high, log=log, step=step))  # type: ignore[return-value]

    def int(self, name: str, low: int, high: int, *, log: bool = False, step: int = 1) -> int:
        """An integer in ``[low, high]``, on a log scale or a ``step`` grid if asked."""
        return self.suggest(name, _build(name, Int, low, high, log=log, step=step))  # type: ignore[return-value]

    def choice(self, name: str, choices: Sequence[ParamValue]) -> Any:
        """One of ``choices``."""
        try:
            dist = Choice(choices)
        except SpaceError as e:
            raise SpaceError(f"parameter {name!r}: {e}") from None
        return self.suggest(name, dist)

    def suggest(self, name: str, distribution: Distribution) -> ParamValue:
        """Sample ``name`` from ``distribution`` (the common path of float, int and choice)."""
        if not isinstance(name, str) or not name:
            raise SpaceError(f"parameter names must be non-empty strings, got {name!r}.")
        known = self._distributions.get(name)
        if known is not None:
            if known != distribution:
                raise SpaceError(
                    f"parameter {name!r} was already sampled in trial {self.number} from "
                    f"{known}, and is now asked from {distribution}; use one definition per "
                    "name, or another name."
                )
            return self._params[name]
        if name in self._fixed:
            value = self._fixed.pop(name)
            if not distribution.contains(value):
                raise SpaceError(
                    f"enqueued value {value!r} of parameter {name!r} is outside {distribution}; "
                    "enqueue a value inside the range."
                )
            value = _canonical(distribution, value)
        elif distribution.is_single:
            value = distribution.from_unit(0.5)
        elif name in self._relative and distribution.contains(self._relative[name]):
            value = _canonical(distribution, self._relative[name])
        else:
            value = self.study.sampler.sample_independent(
                self.study._history(), self._snapshot(), name, distribution
            )
            if not distribution.contains(value):
                raise SpaceError(
                    f"{self.study.sampler!r} proposed {value!r} for {name!r}, outside "
                    f"{distribution}; this is a bug in the sampler."
                )
        self._params[name] = value
        self._distributions[name] = distribution
        if self._buffered is not None:
            self._buffered[name] = value
        else:
            self.study._storage.set_trial_params(
                self._trial_id, {name: value}, {name: distribution}
            )
        return value

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
            system_attrs=f.system_attrs,
            datetime_start=f.datetime_start,
            trial_id=f.trial_id,
        )

    # ---- reports and attributes ------------------------------------------------------------
    def report(self, value: float, step: int) -> None:
        """Record an intermediate value at ``step`` (an epoch, a number of trees, ...).

        The study's scheduler then decides whether the trial goes on; when it says stop,
        this raises :class:`honed.TrialPruned`, which ends the objective and records the
        trial as pruned.
        """
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"report step must be a non-negative int, got {step!r}.")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"report value must be a number, got {value!r} ({type(value).__name__})."
            ) from None
        self.study._storage.set_trial_intermediate_value(self._trial_id, step, value)
        self._intermediate[step] = value
        if self.study.scheduler is not None and not math.isnan(value):
            self._last_decision = self.study.scheduler.on_report(
                self.study._history(), self._snapshot()
            )
            if self._last_decision is Decision.STOP:
                raise TrialPruned(
                    f"stopped at step {step} by {type(self.study.scheduler).__name__}"
                )

    def should_stop(self) -> bool:
        """Whether the scheduler's answer to the latest report was to stop."""
        return self._last_decision is Decision.STOP

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


def _build(name: str, cls: type[Distribution], low: Any, high: Any, **kw: Any) -> Distribution:
    try:
        return cls(low, high, **kw)
    except SpaceError as e:
        raise SpaceError(f"parameter {name!r}: {e}") from None
    except TypeError as e:
        raise SpaceError(f"parameter {name!r}: {e}") from None


def _canonical(distribution: Distribution, value: Any) -> ParamValue:
    if isinstance(distribution, Int):
        return int(value)
    if isinstance(distribution, Float):
        return float(value)
    if isinstance(distribution, Choice):
        return distribution.choices[distribution.index(value)]
    return value
