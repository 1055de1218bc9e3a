"""What an objective receives: the :class:`Trial` protocol.

Every kind of trial satisfies it: the trial of a study in this process
(:class:`honed.study.LocalTrial`, what ``study.ask()`` returns) and the one a worker process or
a Ray task gets (:class:`honed.execution.RemoteTrial`, which forwards each call to the study's
process). Annotate objectives and integrations with ``honed.Trial`` and they work with every
executor.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from honed._migration import TRIAL_HINTS, attribute_error
from honed.errors import SpaceError
from honed.space import Choice, Distribution, Float, Int, ParamValue, Simplex
from honed.trial import Direction

__all__ = ["Objective", "ParameterAPI", "StudyInfo", "StudyView", "Trial"]


class StudyView(Protocol):
    """What a trial tells about its study: a :class:`honed.Study`, or a :class:`StudyInfo`
    snapshot in a remote worker."""

    @property
    def name(self) -> str: ...

    @property
    def directions(self) -> tuple[Direction, ...]: ...

    @property
    def user_attrs(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class StudyInfo:
    """A remote trial's view of its study, taken when ``optimize`` started."""

    name: str
    directions: tuple[Direction, ...]
    user_attrs: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Trial(Protocol):
    """One evaluation of the objective, while it runs.

    Parameters come from :meth:`float`, :meth:`int` and :meth:`choice`; conditional
    parameters follow from Python control flow. :meth:`report` records intermediate values
    and raises :class:`honed.TrialPruned` when the study's scheduler stops the trial.
    """

    @property
    def number(self) -> int:
        """0-based, dense and unique within the study."""

    @property
    def seed(self) -> int:
        """A seed for the objective's own randomness (data split, initialisation): stable,
        derived from the study's name and the trial number, distinct for every trial and
        shared by the retries of one (:func:`honed.trial.trial_seed`); confirmation runs of
        :func:`honed.recipes.confirm` get seeds tuning never gives."""

    @property
    def study(self) -> StudyView:
        """The study this trial belongs to (name, directions, user attributes)."""

    @property
    def params(self) -> dict[str, ParamValue]:
        """Parameters sampled so far."""

    @property
    def distributions(self) -> dict[str, Distribution]:
        """The range each parameter was sampled from."""

    def suggest(self, name: str, distribution: Distribution) -> ParamValue:
        """The value of ``name`` drawn from ``distribution``."""

    def float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float:
        """A real number in ``[low, high]``, on a log scale or a ``step`` grid if asked."""

    def int(self, name: str, low: int, high: int, *, log: bool = False, step: int = 1) -> int:
        """An integer in ``[low, high]``, on a log scale or a ``step`` grid if asked."""

    def choice(self, name: str, choices: Sequence[ParamValue]) -> Any:
        """One of ``choices``."""

    def simplex(
        self, name: str, components: Sequence[str], *, min_weight: builtins.float = 0.0
    ) -> dict[str, builtins.float]:
        """Mixture weights ``{component: weight}``, each ``>= min_weight``, summing to 1;
        stored as the parameters ``f"{name}.{component}"`` (see :class:`honed.Simplex`)."""

    # (``float`` and ``int`` are methods from here on: annotations name the builtins.)
    def report(
        self,
        value: builtins.float | Sequence[builtins.float],
        step: builtins.int,
        *,
        elapsed: builtins.float | None = None,
    ) -> None:
        """Record an intermediate value at ``step``; raises :class:`honed.TrialPruned` when
        the study's scheduler stops the trial."""

    def should_stop(self) -> bool:
        """Whether the scheduler's answer to the latest report was to stop."""

    @property
    def intermediate_values(self) -> dict[builtins.int, builtins.float]:
        """``step -> value`` reported so far."""

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serializable value with the trial."""

    @property
    def user_attrs(self) -> dict[str, Any]:
        """The user attributes stored so far."""

    def set_constraints(self, values: Sequence[builtins.float]) -> None:
        """Constraint values; the trial is feasible when every value is ``<= 0``."""

    def save_checkpoint(self, obj: Any, step: builtins.int | None = None) -> None:
        """Save this trial's state in the study's artifact store."""

    def load_checkpoint(self, step: builtins.int | None = None) -> Any:
        """This trial's latest checkpoint (or the one at ``step``), ``None`` if none."""

    @property
    def exploited(self) -> Any:
        """Set by the latest :meth:`report` when population-based training replaced this
        trial's state with another trial's (an :class:`honed.schedulers.Exploit`)."""


#: An objective: takes a :class:`Trial`, returns a number (one per objective).
Objective = Callable[[Trial], Any]


class ParameterAPI(ABC):
    """``float``, ``int`` and ``choice`` built on one :meth:`suggest`, shared by every trial
    kind so that each validates parameter definitions the same way."""

    @abstractmethod
    def suggest(self, name: str, distribution: Distribution) -> ParamValue:
        """The value of ``name`` drawn from ``distribution``."""

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup failed: name Optuna's spelling's honed twin.
        raise attribute_error(type(self).__name__, name, TRIAL_HINTS)

    def float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float:
        """A real number in ``[low, high]``, on a log scale or a ``step`` grid if asked."""
        value = self.suggest(name, _build(name, Float, low, high, log=log, step=step))
        return value  # type: ignore[return-value]

    def int(self, name: str, low: int, high: int, *, log: bool = False, step: int = 1) -> int:
        """An integer in ``[low, high]``, on a log scale or a ``step`` grid if asked."""
        value = self.suggest(name, _build(name, Int, low, high, log=log, step=step))
        return value  # type: ignore[return-value]

    def choice(self, name: str, choices: Sequence[ParamValue]) -> Any:
        """One of ``choices``."""
        try:
            dist = Choice(choices)
        except SpaceError as e:
            raise SpaceError(f"parameter {name!r}: {e}") from None
        return self.suggest(name, dist)

    def simplex(
        self, name: str, components: Sequence[str], *, min_weight: builtins.float = 0.0
    ) -> dict[str, builtins.float]:
        """Mixture weights ``{component: weight}``: each at least ``min_weight``, and
        ``sum(weights.values()) == 1.0`` exactly. They are sampled as one point (uniform on
        the simplex for random search) and stored as the parameters ``f"{name}.{component}"``
        (:func:`honed.simplex_weights` collects them again)."""
        try:
            dists = Simplex(components, min_weight).distributions(name)
        except SpaceError as e:
            raise SpaceError(f"parameter {name!r}: {e}") from None
        return {
            d.component: builtins.float(self.suggest(pname, d))  # type: ignore[arg-type]
            for pname, d in dists.items()
        }


def _build(name: str, cls: type[Float] | type[Int], low: Any, high: Any, **kw: Any) -> Distribution:
    try:
        return cls(low, high, **kw)
    except (SpaceError, TypeError) as e:
        raise SpaceError(f"parameter {name!r}: {e}") from None
