"""The immutable trial record and trial states: the bottom of the stack, beside ``space``."""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, SupportsFloat, TypeGuard

from honed._frozen import EMPTY, FrozenDict, freeze
from honed.space import Distribution, ParamValue

__all__ = ["SEED_ATTR", "Direction", "FrozenTrial", "TrialState", "trial_seed"]

# Mappings of plain values (parameters, distributions, reports) and of JSON attributes.
_FLAT = ("params", "distributions", "intermediate_values", "report_seconds", "intermediate_vectors")
_JSON = ("user_attrs", "system_attrs")


class Direction(enum.Enum):
    """Whether an objective is minimized or maximized."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @property
    def sign(self) -> float:
        """Multiply a value by this to get a loss (lower is better)."""
        return 1.0 if self is Direction.MINIMIZE else -1.0

    @classmethod
    def parse(cls, value: str | Direction) -> Direction:
        if isinstance(value, Direction):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ValueError(
                f"direction must be 'minimize' or 'maximize', got {value!r}."
            ) from None


class TrialState(enum.IntEnum):
    """Life of a trial. States only move forward: WAITING -> RUNNING -> a finished state."""

    WAITING = 0
    RUNNING = 1
    COMPLETE = 2
    PRUNED = 3
    FAILED = 4

    @property
    def is_finished(self) -> bool:
        return self >= TrialState.COMPLETE

    def can_move_to(self, new: TrialState) -> bool:
        return new > self and not self.is_finished


@dataclass(frozen=True, slots=True)
class FrozenTrial:
    """A read-only snapshot of one trial (its mappings too: copy one to change it).

    Attributes:
        number: 0-based, dense and unique within the study.
        state: Where the trial is in its life.
        params: Parameter values, in the order they were sampled.
        distributions: The range each parameter was sampled from.
        values: Objective values (one per direction) when complete; the last reported value
            when pruned; ``None`` otherwise.
        intermediate_values: ``step -> value`` from ``trial.report``.
        constraints: Constraint values; the trial is feasible when all are ``<= 0``.
        user_attrs: Whatever the objective stored with ``trial.set_user_attr``.
        system_attrs: honed's own bookkeeping (``fail_reason``, ``retry_of``, ...).
        intermediate_vectors: ``step -> objective vector`` from ``trial.report`` in a
            multi-objective study (``intermediate_values`` holds single-objective reports).
        report_seconds: ``step -> seconds`` from the trial's start to each report, when
            recorded: always when ``trial.report`` was given ``elapsed=``, else when the
            study's scheduler uses time as its resource (e.g. ``ASHA(resource="time")``).
            Empty otherwise.
    """

    number: int
    state: TrialState
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    distributions: Mapping[str, Distribution] = field(default_factory=dict)
    values: tuple[float, ...] | None = None
    intermediate_values: Mapping[int, float] = field(default_factory=dict)
    constraints: tuple[float, ...] | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None
    trial_id: int = -1
    report_seconds: Mapping[int, float] = field(default_factory=dict)
    intermediate_vectors: Mapping[int, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Deeply read-only: a record handed out (or cached and shared) cannot be changed
        # through its mappings, nor through lists inside its attributes.
        for name in _FLAT:
            value = getattr(self, name)
            if type(value) is not FrozenDict:
                object.__setattr__(self, name, FrozenDict(value) if value else EMPTY)
        for name in _JSON:
            value = getattr(self, name)
            if type(value) is not FrozenDict:
                object.__setattr__(
                    self, name, freeze(value if type(value) is dict else dict(value))
                )

    @property
    def value(self) -> float | None:
        """The single objective value; raises for multi-objective trials."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise ValueError(
                f"trial {self.number} has {len(self.values)} objective values; use .values."
            )
        return self.values[0]

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, or ``None`` while unfinished."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return (self.datetime_complete - self.datetime_start).total_seconds()

    @property
    def is_feasible(self) -> bool:
        return self.constraints is None or all(c <= 0 for c in self.constraints)

    @property
    def last_step(self) -> int | None:
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def fail_reason(self) -> str | None:
        return self.system_attrs.get("fail_reason")

    def _repr_html_(self) -> str:
        """A table in Jupyter."""
        from honed._display import trial_html

        return trial_html(self)

    def __repr__(self) -> str:
        vals = "" if self.values is None else f", values={list(self.values)}"
        return (
            f"FrozenTrial(number={self.number}, state={self.state.name}{vals}, "
            f"params={dict(self.params)})"
        )


#: System attr holding a trial's seed when it was set rather than derived (confirmation runs).
SEED_ATTR = "seed"

# An odd multiplier makes ``number -> seed`` one-to-one modulo 2**31.
_SEED_STRIDE = 0x9E3779B1
_HALF = 2**31


def trial_seed(study_name: str, number: int, *, confirmation: bool = False) -> int:
    """The seed ``trial.seed`` gives trial ``number`` of study ``study_name``.

    Tuning seeds lie in ``[0, 2**31)`` and are distinct for every trial of a study; seeds of
    confirmation runs (``confirmation=True``, ``number`` then counts the seeds) lie in
    ``[2**31, 2**32)``, so a configuration is never confirmed on a seed tuning used. Both fit
    every library's seed (numpy, scikit-learn's ``random_state``, ``torch.manual_seed``) and
    depend on the name and number only, so every process computes the same one.
    """
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"a trial number is an int >= 0, got {number!r}.")
    salt = b"confirm:" if confirmation else b"tune:"
    digest = hashlib.blake2b(salt + study_name.encode(), digest_size=8).digest()
    seed = (int.from_bytes(digest, "little") + number * _SEED_STRIDE) % _HALF
    return seed + _HALF if confirmation else seed


def is_finite_number(x: object) -> TypeGuard[SupportsFloat]:
    """Whether ``x`` is a finite number (not a bool) that ``float()`` accepts."""
    try:
        # float() of any object: the TypeError of a non-number is caught below.
        return not isinstance(x, bool) and math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def check_report(step: object, elapsed: object) -> float | None:
    """Validate ``trial.report``'s ``step`` and ``elapsed``; returns ``elapsed`` as a float."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"report step must be a non-negative int, got {step!r}.")
    if elapsed is None:
        return None
    if not is_finite_number(elapsed) or float(elapsed) < 0:
        raise ValueError(
            f"report elapsed must be a finite number of seconds >= 0, got {elapsed!r}."
        )
    return float(elapsed)
