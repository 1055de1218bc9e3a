"""What an objective receives: the :class:`Trial` protocol.

Every kind of trial satisfies it: the trial of a study in this process
(:class:`honed.study.LocalTrial`, what ``study.ask()`` returns) and the one a worker process or
a Ray task gets (:class:`honed.execution.RemoteTrial`, which forwards each call to the study's
process). Annotate objectives and integrations with ``honed.Trial`` and they work with every
executor.
"""

from __future__ import annotations

import builtins
import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from honed._migration import TRIAL_HINTS, attribute_error
from honed.errors import SpaceError
from honed.space import Choice, Distribution, Float, Int, ParamValue, Simplex
from honed.trial import Direction, check_report, trial_seed

__all__ = ["FixedTrial", "Objective", "ParameterAPI", "StudyInfo", "StudyView", "Trial"]


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


def redefined(name: str, known: Distribution, asked: Distribution, where: str) -> SpaceError:
    """The error for a parameter asked again from another distribution; ``where`` says how
    it was first asked ("sampled in trial 3", "asked")."""
    return SpaceError(
        f"parameter {name!r} was already {where} from {known}, and is now asked from {asked}; "
        "use one definition per name, or another name."
    )


def _build(name: str, cls: type[Float] | type[Int], low: Any, high: Any, **kw: Any) -> Distribution:
    try:
        return cls(low, high, **kw)
    except (SpaceError, TypeError) as e:
        raise SpaceError(f"parameter {name!r}: {e}") from None


class FixedTrial(ParameterAPI):
    """A trial whose parameters are given: run an objective once on known values, outside
    any study (to re-train the winner, or to test an objective), through the same
    :class:`Trial` API.

    ``float``, ``int`` and ``choice`` return the given value, checked against the range the
    objective asks for; a name not given is an error that lists the names given.
    :meth:`report` records intermediate values and never prunes; checkpoints stay in memory.

    Args:
        params: ``name -> value`` of every parameter the objective asks for.
        number: The trial number the objective sees.
        seed: :attr:`seed`; by default the seed trial ``number`` of a study named
            ``"fixed"`` would get (:func:`honed.trial.trial_seed`).

    ::

        best = honed.FixedTrial(study.best_params, seed=0)
        objective(best)
    """

    def __init__(
        self,
        params: Mapping[str, ParamValue],
        *,
        number: builtins.int = 0,
        seed: builtins.int | None = None,
    ) -> None:
        if not isinstance(params, Mapping):
            raise TypeError(
                f"FixedTrial needs a dict of parameter values such as {{'lr': 1e-3}}, got "
                f"{type(params).__name__}."
            )
        if isinstance(number, bool) or not isinstance(number, builtins.int) or number < 0:
            raise ValueError(f"number must be an int >= 0, got {number!r}.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, builtins.int)):
            raise TypeError(f"seed must be an int or None, got {seed!r}.")
        self._given = dict(params)
        self._number = number
        self._seed = trial_seed("fixed", number) if seed is None else seed
        self._study = StudyInfo("fixed", (Direction.MINIMIZE,))
        self._params: dict[str, ParamValue] = {}
        self._distributions: dict[str, Distribution] = {}
        self._intermediate: dict[builtins.int, builtins.float] = {}
        self._user_attrs: dict[str, Any] = {}
        self._constraints: tuple[builtins.float, ...] | None = None
        self._checkpoints: dict[builtins.int | None, Any] = {}

    def __repr__(self) -> str:
        return f"FixedTrial(params={self._given!r}, number={self._number})"

    @property
    def number(self) -> builtins.int:
        return self._number

    @property
    def seed(self) -> builtins.int:
        return self._seed

    @property
    def study(self) -> StudyInfo:
        """A stand-in study named ``"fixed"``, minimizing."""
        return self._study

    @property
    def params(self) -> dict[str, ParamValue]:
        """The parameters the objective has asked for so far."""
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        return dict(self._distributions)

    def suggest(self, name: str, distribution: Distribution) -> ParamValue:
        """The given value of ``name``, checked against ``distribution``."""
        known = self._distributions.get(name)
        if known is not None:
            if known != distribution:
                raise redefined(name, known, distribution, "asked")
            return self._params[name]
        if name not in self._given:
            raise SpaceError(
                f"FixedTrial has no value for parameter {name!r}; it was given "
                f"{sorted(self._given)}. Add {name!r} to its params."
            )
        value = self._given[name]
        if not distribution.contains(value):
            raise SpaceError(
                f"FixedTrial's value {value!r} of parameter {name!r} is outside "
                f"{distribution}, the range the objective asks for."
            )
        if isinstance(distribution, Int):
            value = builtins.int(value)  # type: ignore[arg-type]
        elif isinstance(distribution, Float):
            value = builtins.float(value)  # type: ignore[arg-type]
        elif isinstance(distribution, Choice):
            value = distribution.choices[distribution.index(value)]
        self._params[name] = value
        self._distributions[name] = distribution
        return value

    def report(
        self,
        value: builtins.float | Sequence[builtins.float],
        step: builtins.int,
        *,
        elapsed: builtins.float | None = None,
    ) -> None:
        """Record an intermediate value (the first, if several objectives); never prunes."""
        check_report(step, elapsed)
        if isinstance(value, Sequence) and not isinstance(value, str):
            if not value:
                raise ValueError("report needs a value, got an empty list.")
            value = value[0]
        try:
            number = builtins.float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"report value must be a number, got {value!r} ({type(value).__name__})."
            ) from None
        self._intermediate[step] = number

    def should_stop(self) -> bool:
        """Always False: nothing stops a fixed trial."""
        return False

    @property
    def intermediate_values(self) -> dict[builtins.int, builtins.float]:
        return dict(self._intermediate)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._user_attrs[key] = value

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    def set_constraints(self, values: Sequence[builtins.float]) -> None:
        """Record constraint values (see :attr:`constraints`)."""
        try:
            floats = tuple(builtins.float(v) for v in values)
        except (TypeError, ValueError):
            raise ValueError(f"constraints must be a list of numbers, got {values!r}.") from None
        if any(math.isnan(v) for v in floats):
            raise ValueError(f"constraints must not be NaN, got {list(floats)}.")
        self._constraints = floats

    @property
    def constraints(self) -> tuple[builtins.float, ...] | None:
        """The constraint values set, if any."""
        return self._constraints

    def save_checkpoint(self, obj: Any, step: builtins.int | None = None) -> None:
        """Keep a copy of ``obj`` in memory (as the latest, and under ``step`` if given)."""
        saved = copy.deepcopy(obj)
        self._checkpoints[None] = saved
        if step is not None:
            self._checkpoints[step] = saved

    def load_checkpoint(self, step: builtins.int | None = None) -> Any:
        """A copy of the latest checkpoint (or the one at ``step``); ``None`` if none."""
        if step not in self._checkpoints:
            return None
        return copy.deepcopy(self._checkpoints[step])

    @property
    def exploited(self) -> None:
        """Always None: no population-based training here."""
        return None
