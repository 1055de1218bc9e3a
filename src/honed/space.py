"""Parameter kinds, their numeric encodings, and declarative search spaces.

Every parameter kind maps to and from a *unit encoding*: a float in ``[0, 1]``. Samplers share
these encodings instead of writing their own:

* ``Float``: linear or log scale; a ``step`` snaps to the grid ``low, low + step, ..., high``.
* ``Int``: each integer owns an equal slice of ``[0, 1]`` (on the log scale when ``log=True``),
  so rounding a continuous proposal never favours the end points.
* ``Choice``: index ``i`` of ``n`` owns ``[i / n, (i + 1) / n)``; samplers that need one-hot
  vectors or indices use :meth:`Choice.index` and ``len(choice.choices)``.
* ``Simplex``: ``k`` mixture weights that sum to 1, stored as one ``SimplexWeight`` parameter
  per component (``"mix.web"``). Weight ``w`` of a component encodes as ``1 - exp(-k s)``,
  ``s = (w - min_weight) / (1 - k min_weight)`` its share of the free mass; a point of
  ``[0, 1]^k`` decodes to the simplex by reading each column as an exponential variable
  ``-log(1 - u)`` and normalising them. Uniform points of the cube so decode to uniform points
  of the simplex (normalised exponentials are Dirichlet(1)), every stored weight has its own
  per-parameter encoding (plots, importance and per-dimension models read it as a number), and
  ``decode(encode(w)) == w``. A proposal off the encodings of the simplex is a scaled copy of
  the point it decodes to; :meth:`SearchSpace.project` moves it there, so a model scores the
  point that would run.

A declarative space is a mapping from names to distributions. A ``Choice`` may carry
``branches``: one sub-space per choice, active only when that choice is taken. That is how
tree-shaped (conditional) spaces are written declaratively.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import numpy as np

from honed.errors import SpaceError

#: A parameter's value as the objective sees it and storage keeps it.
ParamValue: TypeAlias = float | int | str | bool | None

__all__ = [
    "Choice",
    "Distribution",
    "Float",
    "Int",
    "ParamValue",
    "SearchSpace",
    "Simplex",
    "SimplexWeight",
    "distribution_from_json",
    "flatten_space",
    "load_space",
    "simplex_weights",
]

_CHOICE_TYPES = (str, int, float, bool, type(None))


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def _check_log_flag(kind: str, log: object) -> None:
    # A string such as "false" from a config file is truthy; refuse it rather than guess.
    if not isinstance(log, bool | np.bool_):
        raise SpaceError(f"{kind} log must be True or False, got {log!r}.")


class Distribution(ABC):
    """A parameter's range. Immutable, hashable, JSON round-trippable."""

    kind: ClassVar[str]

    @abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a valid value of this parameter."""

    @abstractmethod
    def to_unit(self, value: Any) -> float:
        """Encode a valid value into ``[0, 1]``."""

    @abstractmethod
    def from_unit(self, u: float) -> ParamValue:
        """Decode a point of ``[0, 1]`` (clipped) into a valid value."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict that :func:`distribution_from_json` reads back."""

    @property
    @abstractmethod
    def is_single(self) -> bool:
        """Whether the range holds exactly one value."""

    @property
    def is_numeric(self) -> bool:
        return not isinstance(self, Choice)

    def to_unit_array(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        return np.array([self.to_unit(v) for v in values], dtype=float)

    def from_unit_array(self, u: np.ndarray) -> list[ParamValue]:
        return [self.from_unit(float(x)) for x in np.asarray(u, dtype=float).ravel()]

    def check_value(self, name: str, value: Any) -> None:
        if not self.contains(value):
            raise SpaceError(f"value {value!r} of parameter {name!r} is outside its range {self}.")


@dataclass(frozen=True)
class Float(Distribution):
    """A real-valued parameter in ``[low, high]``.

    Args:
        low: Lower bound, inclusive.
        high: Upper bound, inclusive.
        log: Sample on a log scale (``low`` must be positive).
        step: Snap to ``low + k * step``. As for :class:`Int`, ``high - low`` must be a
            multiple of ``step`` (up to floating-point rounding: ``low + k * step`` within
            ``1e-12`` of the range's magnitude of ``high``), else the error names the
            ``high`` that fits; and the step must be at least ``1e-9`` of that magnitude,
            where float64 can still place every grid point exactly (a finer grid is a
            continuous range: drop ``step``).
    """

    low: float
    high: float
    log: bool = False
    step: float | None = None
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        for attr in ("low", "high"):
            v = getattr(self, attr)
            if not _is_number(v) or not math.isfinite(v):
                raise SpaceError(f"Float {attr} must be a finite number, got {v!r}.")
            object.__setattr__(self, attr, float(v))
        _check_log_flag("Float", self.log)
        if self.low > self.high:
            raise SpaceError(
                f"Float needs low <= high, got low={self.low} > high={self.high}; swap them."
            )
        if self.log and self.low <= 0:
            raise SpaceError(
                f"Float with log=True needs low > 0, got low={self.low}; "
                "use a positive lower bound or log=False."
            )
        if self.step is not None:
            if self.log:
                raise SpaceError("Float cannot have both step and log=True; drop one of them.")
            if not _is_number(self.step) or not 0 < self.step < math.inf:
                raise SpaceError(f"Float step must be a positive number, got {self.step!r}.")
            object.__setattr__(self, "step", float(self.step))
            magnitude = max(abs(self.low), abs(self.high))
            if self.step < 1e-9 * magnitude:
                raise SpaceError(
                    f"Float step {self.step:g} is too fine for values up to {magnitude:g}: "
                    f"below 1e-9 of them floating point cannot place the grid points "
                    f"exactly; use step >= {1e-9 * magnitude:.3g}, or no step."
                )
            n = (self.high - self.low) / self.step
            if not self._on_grid(self.high):
                fixed = self._snap(self.low + math.floor(n) * self.step)
                raise SpaceError(
                    f"Float range {self.high} - {self.low} is not a multiple of step "
                    f"{self.step}; use high={fixed:.12g}."
                )

    def __str__(self) -> str:
        extra = ", log=True" if self.log else (f", step={self.step:g}" if self.step else "")
        return f"Float({self.low:g}, {self.high:g}{extra})"

    @property
    def is_single(self) -> bool:
        return self.low == self.high

    @property
    def n_steps(self) -> int | None:
        """Number of grid points when ``step`` is set."""
        if self.step is None:
            return None
        return int(round((self.high - self.low) / self.step)) + 1

    def _snap(self, x: float) -> float:
        """Drop the binary noise of ``low + k * step`` (0.30000000000000004 -> 0.3), keeping
        14 significant digits relative to the range's magnitude."""
        scale = max(abs(self.low), abs(self.high), self.step or 0.0)
        return round(x, 14 - math.floor(math.log10(scale))) if scale > 0 else x

    def _grid_tolerance(self) -> float:
        """How far a value may sit from ``low + k * step`` (rounding, not a different value):
        a billionth of a step, or 1e-12 of the range's magnitude where that is larger."""
        assert self.step is not None
        return max(1e-9 * self.step, 1e-12 * max(abs(self.low), abs(self.high)))

    def _on_grid(self, value: float) -> bool:
        assert self.step is not None
        k = round((value - self.low) / self.step)
        return abs(self.low + k * self.step - value) <= self._grid_tolerance()

    def contains(self, value: Any) -> bool:
        if not _is_number(value) or not math.isfinite(value):
            return False
        if not self.low <= value <= self.high:
            return False
        return self.step is None or bool(self._on_grid(float(value)))

    def to_unit(self, value: Any) -> float:
        if self.is_single:
            return 0.5
        if self.step is not None:
            n = self.n_steps
            assert n is not None
            k = round((float(value) - self.low) / self.step)
            return (k + 0.5) / n
        if self.log:
            return (math.log(value) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low)
            )
        return (float(value) - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.is_single:
            return self.low
        if self.step is not None:
            n = self.n_steps
            assert n is not None
            k = min(int(u * n), n - 1)
            return min(max(self._snap(self.low + k * self.step), self.low), self.high)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return min(max(x, self.low), self.high)

    def to_unit_array(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if self.is_single:
            return np.full(v.shape, 0.5)
        if self.step is not None:
            n = self.n_steps
            assert n is not None
            return (np.round((v - self.low) / self.step) + 0.5) / n
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return (np.log(v) - lo) / (hi - lo)
        return (v - self.low) / (self.high - self.low)

    def encode_numbers(self, v: np.ndarray) -> np.ndarray:
        """:meth:`to_unit` of an array of plain numbers, NaN where :meth:`contains` is false
        (the vectorized form of encoding a column of stored values)."""
        ok = np.isfinite(v) & (v >= self.low) & (v <= self.high)
        if self.step is not None:
            with np.errstate(invalid="ignore"):
                k = np.round((v - self.low) / self.step)
                ok &= np.abs(self.low + k * self.step - v) <= self._grid_tolerance()
        with np.errstate(invalid="ignore", divide="ignore"):
            u = self.to_unit_array(np.where(ok, v, self.low))
        return np.where(ok, u, np.nan)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step is not None:
            d["step"] = self.step
        return d


@dataclass(frozen=True)
class Int(Distribution):
    """An integer parameter in ``[low, high]``.

    Args:
        low: Lower bound, inclusive.
        high: Upper bound, inclusive.
        log: Sample on a log scale (``low`` must be >= 1, ``step`` must be 1).
        step: Only ``low + k * step`` are valid; ``high - low`` must be a multiple of ``step``.
    """

    low: int
    high: int
    log: bool = False
    step: int = 1
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        for attr in ("low", "high", "step"):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                else:
                    raise SpaceError(f"Int {attr} must be an integer, got {v!r}.")
            object.__setattr__(self, attr, int(v))
        _check_log_flag("Int", self.log)
        if self.low > self.high:
            raise SpaceError(
                f"Int needs low <= high, got low={self.low} > high={self.high}; swap them."
            )
        if self.step < 1:
            raise SpaceError(f"Int step must be >= 1, got {self.step}.")
        if self.log:
            if self.low < 1:
                raise SpaceError(
                    f"Int with log=True needs low >= 1, got low={self.low}; use low=1 or log=False."
                )
            if self.step != 1:
                raise SpaceError("Int cannot have both log=True and step > 1; drop one of them.")
        if (self.high - self.low) % self.step:
            fixed = self.low + (self.high - self.low) // self.step * self.step
            raise SpaceError(
                f"Int range {self.high} - {self.low} is not a multiple of step {self.step}; "
                f"use high={fixed}."
            )

    def __str__(self) -> str:
        extra = ", log=True" if self.log else (f", step={self.step}" if self.step != 1 else "")
        return f"Int({self.low}, {self.high}{extra})"

    @property
    def is_single(self) -> bool:
        return self.low == self.high

    @property
    def n_values(self) -> int:
        return (self.high - self.low) // self.step + 1

    def contains(self, value: Any) -> bool:
        is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
        is_whole_float = isinstance(value, float | np.floating) and float(value).is_integer()
        if not (is_int or is_whole_float):
            return False
        return bool(self.low <= value <= self.high and (int(value) - self.low) % self.step == 0)

    def _log_edges(self) -> tuple[float, float]:
        return math.log(self.low - 0.5), math.log(self.high + 0.5)

    def to_unit(self, value: Any) -> float:
        if self.is_single:
            return 0.5
        if self.log:
            lo, hi = self._log_edges()
            return (math.log(value) - lo) / (hi - lo)
        k = (int(value) - self.low) // self.step
        return (k + 0.5) / self.n_values

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.is_single:
            return self.low
        if self.log:
            lo, hi = self._log_edges()
            x = int(round(math.exp(lo + u * (hi - lo))))
            return min(max(x, self.low), self.high)
        k = min(int(u * self.n_values), self.n_values - 1)
        return self.low + k * self.step

    def to_unit_array(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if self.is_single:
            return np.full(v.shape, 0.5)
        if self.log:
            lo, hi = self._log_edges()
            return (np.log(v) - lo) / (hi - lo)
        return (np.floor_divide(v - self.low, self.step) + 0.5) / self.n_values

    def encode_numbers(self, v: np.ndarray) -> np.ndarray:
        """:meth:`to_unit` of an array of plain numbers, NaN where :meth:`contains` is false
        (whole floats count as integers, as in :meth:`contains`)."""
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(v) & (v == np.floor(v)) & (v >= self.low) & (v <= self.high)
            ok &= np.mod(np.where(ok, v, self.low) - self.low, self.step) == 0
        u = self.to_unit_array(np.where(ok, v, self.low))
        return np.where(ok, u, np.nan)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step != 1:
            d["step"] = self.step
        return d


@dataclass(frozen=True)
class Choice(Distribution):
    """A categorical parameter: one of ``choices``.

    Args:
        choices: The options (str, int, float, bool or None). A dict maps each option to the
            sub-space that is active only when that option is chosen (a tree-shaped space).
    """

    choices: tuple[ParamValue, ...]
    branches: Mapping[ParamValue, Mapping[str, Any]] | None = field(
        default=None, compare=False, hash=False, repr=False
    )
    kind: ClassVar[str] = "choice"

    def __init__(
        self,
        choices: Iterable[ParamValue] | Mapping[ParamValue, Mapping[str, Any]],
        branches: Mapping[ParamValue, Mapping[str, Any]] | None = None,
    ) -> None:
        if isinstance(choices, str | bytes) or not isinstance(choices, Iterable):
            raise SpaceError(
                f"Choice needs a list of options, got {choices!r}; write Choice([{choices!r}])."
            )
        if isinstance(choices, Mapping):
            branches = {k: v for k, v in choices.items() if v}
            choices = tuple(choices.keys())
        opts = tuple(choices)
        if not opts:
            raise SpaceError("Choice needs at least one option, got an empty list.")
        for c in opts:
            if not isinstance(c, _CHOICE_TYPES) or (isinstance(c, float) and not math.isfinite(c)):
                raise SpaceError(
                    f"Choice options must be str, int, float, bool or None, got {c!r} "
                    f"({type(c).__name__}); pass a name and map it to the object yourself."
                )
        keys = [(type(c).__name__, c) for c in opts]
        if len(set(keys)) != len(keys):
            dups = sorted({repr(c) for i, c in enumerate(opts) if keys.index(keys[i]) != i})
            raise SpaceError(f"Choice options must be distinct, repeated: {', '.join(dups)}.")
        if branches:
            unknown = [k for k in branches if k not in opts]
            if unknown:
                raise SpaceError(f"Choice branches name options that do not exist: {unknown!r}.")
        object.__setattr__(self, "choices", opts)
        object.__setattr__(self, "branches", dict(branches) if branches else None)

    def __str__(self) -> str:
        return f"Choice({list(self.choices)!r})"

    # Type-aware identity: plain tuple equality says (0, 1) == (False, True) and 1 == 1.0,
    # which would let a trial re-ask a name with a different set of options unnoticed.
    def _key(self) -> tuple[tuple[str, ParamValue], ...]:
        return tuple((type(c).__name__, c) for c in self.choices)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Choice):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def is_single(self) -> bool:
        return len(self.choices) == 1

    def index(self, value: Any) -> int:
        """Position of ``value`` among the options (type-exact: ``1`` is not ``True``)."""
        # Exact type first, so Choice([1, 1.0]).index(1.0) is 1; then numeric equality, so a
        # numpy integer or a float read back from JSON finds its option.
        for i, c in enumerate(self.choices):
            if type(c) is type(value) and c == value:
                return i
        if _is_number(value):
            for i, c in enumerate(self.choices):
                if _is_number(c) and c == value:
                    return i
        raise SpaceError(f"{value!r} is not one of the options {list(self.choices)!r}.")

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except SpaceError:
            return False
        return True

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> ParamValue:
        n = len(self.choices)
        return self.choices[min(int(min(max(float(u), 0.0), 1.0) * n), n - 1)]

    def to_json(self) -> dict[str, Any]:
        return {"type": "choice", "choices": list(self.choices)}


#: How far a stored weight may sit outside its range, or a group's sum from 1 (rounding).
_SIMPLEX_TOL = 1e-9


def _check_simplex(components: Any, min_weight: Any) -> tuple[tuple[str, ...], float]:
    """The checked components and min_weight of a simplex; a SpaceError names the fix."""
    if isinstance(components, str | bytes) or not isinstance(components, Iterable):
        raise SpaceError(
            f"a simplex needs a list of component names, got {components!r}; write "
            "Simplex(['web', 'code', 'books'])."
        )
    comps = tuple(components)
    for c in comps:
        if not isinstance(c, str) or not c:
            raise SpaceError(
                f"simplex component names must be non-empty strings, got {c!r}; name each "
                "component, e.g. ['web', 'code']."
            )
        if "." in c or c != c.strip():
            raise SpaceError(
                f"simplex component name {c!r} contains "
                + ("a '.'" if "." in c else "leading or trailing spaces")
                + "; each weight is stored as '<name>.<component>', so a component name must "
                "be a plain word (use '_' or '-' instead)."
            )
    if len(comps) < 2:
        raise SpaceError(
            f"a simplex needs at least 2 components, got {list(comps)!r}; a single weight is "
            "always 1 (use a Float for one free number)."
        )
    if len(set(comps)) != len(comps):
        dups = sorted({c for c in comps if comps.count(c) > 1})
        raise SpaceError(f"simplex components must be distinct, repeated: {', '.join(dups)}.")
    if not _is_number(min_weight) or not math.isfinite(min_weight) or min_weight < 0:
        raise SpaceError(f"simplex min_weight must be a number >= 0, got {min_weight!r}.")
    m = float(min_weight)
    k = len(comps)
    if m * k > 1 + 1e-12:
        raise SpaceError(
            f"simplex min_weight={m:g} times {k} components is {m * k:g} > 1, so no weights can "
            f"sum to 1; use min_weight <= {1 / k:.6g} (1 / {k})."
        )
    m = min(m, 1.0 / k)
    while sum([m] * k) > 1.0:  # a full floor (k * m == 1): the floats must fit under 1.0
        m = float(np.nextafter(m, 0.0))
    return comps, m


@dataclass(frozen=True)
class SimplexWeight(Distribution):
    """The weight of one component of a simplex (a :class:`Simplex` or ``trial.simplex``),
    stored as the parameter ``f"{group}.{component}"``. It records the whole group, so a
    sampler can rebuild the simplex from a history's distributions alone.

    Args:
        group: The simplex's name (``"mix"``).
        components: All its component names, in order.
        component: Which of them this weight is.
        min_weight: The least weight of every component.
    """

    group: str
    components: tuple[str, ...]
    component: str
    min_weight: float = 0.0
    kind: ClassVar[str] = "simplex"

    def __post_init__(self) -> None:
        _check_name(self.group)
        comps, m = _check_simplex(self.components, self.min_weight)
        if self.component not in comps:
            raise SpaceError(
                f"SimplexWeight component {self.component!r} is not one of {list(comps)!r}."
            )
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "min_weight", m)

    def __str__(self) -> str:
        extra = f", min_weight={self.min_weight:g}" if self.min_weight else ""
        return f"Simplex({list(self.components)!r}{extra}).{self.component}"

    @property
    def k(self) -> int:
        return len(self.components)

    @property
    def index(self) -> int:
        """Position of this component in :attr:`components`."""
        return self.components.index(self.component)

    @property
    def low(self) -> float:
        return self.min_weight

    @property
    def high(self) -> float:
        """The largest weight: every other component at ``min_weight``."""
        return 1.0 - (self.k - 1) * self.min_weight

    @property
    def _span(self) -> float:
        return max(1.0 - self.k * self.min_weight, 0.0)

    @property
    def is_single(self) -> bool:
        return self._span <= 1e-12

    def param_names(self) -> tuple[str, ...]:
        """The parameter names of the whole group, in component order."""
        return tuple(f"{self.group}.{c}" for c in self.components)

    def with_component(self, component: str) -> SimplexWeight:
        return SimplexWeight(self.group, self.components, component, self.min_weight)

    def contains(self, value: Any) -> bool:
        if not _is_number(value) or not math.isfinite(value):
            return False
        return bool(self.low - _SIMPLEX_TOL <= value <= self.high + _SIMPLEX_TOL)

    def to_unit(self, value: Any) -> float:
        if self.is_single:
            return 0.5
        s = min(max((float(value) - self.min_weight) / self._span, 0.0), 1.0)
        return -math.expm1(-self.k * s)

    def to_unit_array(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if self.is_single:
            return np.full(v.shape, 0.5)
        s = np.clip((v - self.min_weight) / self._span, 0.0, 1.0)
        return -np.expm1(-self.k * s)

    def from_unit(self, u: float) -> float:
        """The weight whose encoding is ``u`` (the other components being unknown, a share
        above the whole free mass is cut to it; whole points decode with
        :meth:`SearchSpace.decode`)."""
        if self.is_single:
            return 1.0 / self.k
        u = min(max(float(u), 0.0), 1.0)
        s = min(-math.log1p(-u) / self.k, 1.0) if u < 1.0 else 1.0
        return min(max(self.min_weight + self._span * s, self.low), self.high)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": "simplex",
            "group": self.group,
            "components": list(self.components),
            "component": self.component,
        }
        if self.min_weight:
            d["min_weight"] = self.min_weight
        return d


@dataclass(frozen=True)
class Simplex:
    """Mixture weights: one non-negative weight per component, summing to 1.

    In a declarative space ``{"mix": Simplex(["web", "code", "books"])}`` (also inside a
    ``Choice`` branch, or ``type: simplex`` with ``components:`` and ``min_weight:`` in YAML)
    it becomes one :class:`SimplexWeight` parameter per component, named ``"mix.web"``,
    ``"mix.code"``, ...; :func:`simplex_weights` collects them from ``trial.params`` or
    ``study.best_params``. The objective-side twin is ``trial.simplex``.

    Args:
        components: Distinct names (no ``'.'``), at least two.
        min_weight: The least weight of every component; ``min_weight * len(components)``
            must be at most 1. The weights are uniform on the simplex shrunk by it.
    """

    components: Sequence[str]  # kept as a tuple
    min_weight: float = 0.0

    def __post_init__(self) -> None:
        comps, m = _check_simplex(self.components, self.min_weight)
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "min_weight", m)

    def distributions(self, name: str) -> dict[str, SimplexWeight]:
        """``{f"{name}.{component}": SimplexWeight}`` for every component, in order."""
        _check_name(name)
        return {
            f"{name}.{c}": SimplexWeight(name, tuple(self.components), c, self.min_weight)
            for c in self.components
        }

    def lattice(self, divisions: int) -> list[tuple[float, ...]]:
        """The simplex-lattice design: every point whose weights are ``min_weight`` plus a
        multiple of ``(1 - k min_weight) / divisions`` (``C(divisions + k - 1, k - 1)``
        points; each weight tuple sums to exactly 1). What ``GridSampler`` tries."""
        if isinstance(divisions, bool) or not isinstance(divisions, int) or divisions < 1:
            raise SpaceError(
                f"simplex lattice divisions must be an integer >= 1, got {divisions!r}."
            )
        k = len(self.components)
        span = max(1.0 - k * self.min_weight, 0.0)
        out: list[tuple[float, ...]] = []

        def walk(prefix: list[int], left: int) -> None:
            if len(prefix) == k - 1:
                counts = [*prefix, left]
                w = [self.min_weight + span * c / divisions for c in counts]
                out.append(exact_weights(w, self.min_weight))
                return
            for c in range(left, -1, -1):
                walk([*prefix, c], left - c)

        walk([], divisions)
        return out


def exact_weights(weights: Sequence[float], min_weight: float = 0.0) -> tuple[float, ...]:
    """``weights`` (near a point of the simplex) with the last component fixed so that
    ``sum()`` of them is exactly 1.0 and none is below ``min_weight``."""
    w = [max(float(x), min_weight) for x in weights]
    k = len(w)
    last = 1.0
    for _ in range(k + 2):
        last = 1.0 - sum(w[:-1])
        if last >= min_weight:
            break
        # rounding pushed the others too high: take the shortfall from the largest of them
        i = max(range(k - 1), key=lambda j: w[j])
        w[i] = max(w[i] - (min_weight - last), min_weight)
    w[-1] = max(last, min_weight)
    for _ in range(64):  # the last rounding steps of the sum itself
        total = sum(w)
        if total == 1.0:
            break
        if total < 1.0:
            w[-1] = float(np.nextafter(w[-1], np.inf))
            continue
        down = float(np.nextafter(w[-1], -np.inf))
        if down >= min_weight:
            w[-1] = down
        else:
            i = max(range(k - 1), key=lambda j: w[j])
            w[i] = float(np.nextafter(w[i], -np.inf))
    return tuple(w)


def decode_simplex(unit: np.ndarray, min_weight: float = 0.0) -> np.ndarray:
    """Weights from a ``(n, k)`` matrix of one simplex's unit encodings (columns in component
    order): each ``u`` read as the exponential variable ``-log(1 - u)``, then normalised.
    Rows sum to exactly 1.0; uniform rows give uniform (Dirichlet(1)) weights."""
    u = np.clip(np.atleast_2d(np.asarray(unit, dtype=float)), 0.0, 1.0 - 2.0**-53)
    k = u.shape[1]
    e = -np.log1p(-u)
    total = e.sum(axis=1, keepdims=True)
    share = np.where(total > 0, e / np.where(total > 0, total, 1.0), 1.0 / k)
    span = max(1.0 - k * min_weight, 0.0)
    w = min_weight + span * share
    return np.array([exact_weights(row, min_weight) for row in w.tolist()], dtype=float)


def project_simplexes(
    params: Mapping[str, Any], distributions: Mapping[str, Distribution]
) -> dict[str, Any]:
    """``params`` with the weights of each simplex (all of whose components are there) made
    one point of it again: kept when they already are (the sum fixed to exactly 1), else
    their encodings decoded together. For code that changes weights one at a time (PBT's
    perturbations, a per-component proposal)."""
    out = dict(params)
    done: set[str] = set()
    for d in distributions.values():
        if not isinstance(d, SimplexWeight) or d.group in done:
            continue
        done.add(d.group)
        names = d.param_names()
        if not all(n in out for n in names):
            continue
        group = SearchSpace(
            {n: d.with_component(c) for n, c in zip(names, d.components, strict=True)}
        )
        values = [out[n] for n in names]
        ok = all(group[n].contains(v) for n, v in zip(names, values, strict=True))
        if ok and abs(math.fsum(float(v) for v in values) - 1.0) <= _SIMPLEX_TOL:
            out.update(zip(names, exact_weights(values, d.min_weight), strict=True))
            continue
        unit = [
            group[n].to_unit(v) if group[n].contains(v) else 0.5
            for n, v in zip(names, values, strict=True)
        ]
        out.update(group.decode(np.array([unit]))[0])
    return out


def simplex_weights(params: Mapping[str, Any], name: str) -> dict[str, float]:
    """The weights of simplex ``name`` in a parameter mapping (``trial.params``,
    ``study.best_params``, a row of an export): ``{component: weight}`` from the parameters
    ``f"{name}.{component}"``, in their order there.

    Raises:
        KeyError: ``params`` holds no weights of ``name``.
        ValueError: what it holds does not sum to 1 (a component is missing, or another
            parameter is named like one).
    """
    if isinstance(params, SearchSpace) or not isinstance(params, Mapping):
        raise TypeError(
            f"simplex_weights takes a mapping of parameter values (trial.params), got "
            f"{type(params).__name__}."
        )
    prefix = f"{name}."
    out = {
        k[len(prefix) :]: float(v)
        for k, v in params.items()
        if isinstance(k, str) and k.startswith(prefix) and "." not in k[len(prefix) :]
    }
    if not out:
        raise KeyError(
            f"no weights of simplex {name!r} in these parameters (expected names such as "
            f"'{name}.<component>'; have {sorted(map(str, params))[:10]})."
        )
    total = math.fsum(out.values())
    if len(out) < 2 or abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"the parameters {[prefix + c for c in out]} sum to {total:.12g}, not 1: not the "
            f"weights of one simplex {name!r} (a component is missing, or another parameter "
            f"is named '{name}.<something>')."
        )
    return out


_KINDS: dict[str, type[Distribution]] = {
    "float": Float,
    "int": Int,
    "choice": Choice,
    "simplex": SimplexWeight,
}


def distribution_from_json(d: Mapping[str, Any]) -> Distribution:
    """Inverse of :meth:`Distribution.to_json`."""
    d = dict(d)
    kind = d.pop("type", None)
    if kind not in _KINDS:
        raise SpaceError(f"unknown parameter type {kind!r}; use one of {sorted(_KINDS)}.")
    if kind == "choice":
        return Choice(d["choices"])
    if kind == "simplex":
        return SimplexWeight(
            d["group"], tuple(d["components"]), d["component"], d.get("min_weight", 0.0)
        )
    return _KINDS[kind](**d)


class SearchSpace(Mapping[str, Distribution]):
    """An ordered, flat, immutable mapping of parameter names to distributions.

    It encodes lists of parameter dicts to a matrix of unit encodings (NaN where a parameter is
    absent, as in conditional spaces) and decodes matrices back.
    """

    __slots__ = ("_dists", "_groups", "_names")

    def __init__(self, distributions: Mapping[str, Distribution]) -> None:
        for name, d in distributions.items():
            _check_name(name)
            if not isinstance(d, Distribution):
                hint = " (expand it: Simplex.distributions(name))" if isinstance(d, Simplex) else ""
                raise SpaceError(
                    f"parameter {name!r} must be a honed.Float, honed.Int, honed.Choice or "
                    f"honed.SimplexWeight, got {d!r}{hint}."
                )
        self._dists = dict(distributions)
        self._names = tuple(self._dists)
        self._groups = _simplex_groups(self._dists)

    def __getitem__(self, name: str) -> Distribution:
        return self._dists[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {v}" for k, v in self._dists.items())
        return f"SearchSpace({{{inner}}})"

    def __hash__(self) -> int:
        return hash(tuple(self._dists.items()))

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def encode(self, params: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Unit encodings of ``params``, shape ``(len(params), len(self))``; NaN when absent
        or when a stored value lies outside this range."""
        out = np.full((len(params), len(self._names)), np.nan)
        for j, name in enumerate(self._names):
            dist = self._dists[name]
            if isinstance(dist, Float | Int):
                col = [p.get(name) for p in params]
                # plain Python numbers (what storage hands back) are encoded as one array;
                # numpy scalars, bools and the rest go through contains/to_unit one by one
                if all(type(v) is float or type(v) is int for v in col):
                    arr = np.array(col, dtype=float)
                    if np.max(np.abs(arr), initial=0.0) < 2.0**53:
                        out[:, j] = dist.encode_numbers(arr)
                        continue
            for i, p in enumerate(params):
                if name in p and dist.contains(p[name]):
                    out[i, j] = dist.to_unit(p[name])
        return out

    def decode(self, unit: np.ndarray) -> list[dict[str, ParamValue]]:
        """Parameter dicts from a ``(n, len(self))`` matrix of unit encodings."""
        unit = np.atleast_2d(np.asarray(unit, dtype=float))
        if unit.shape[1] != len(self._names):
            raise ValueError(f"expected {len(self._names)} columns, got {unit.shape[1]}.")
        cols = [self._dists[n].from_unit_array(unit[:, j]) for j, n in enumerate(self._names)]
        for idx, m in self._groups:
            weights = decode_simplex(unit[:, idx], m)
            for c, j in enumerate(idx):
                cols[j] = weights[:, c].tolist()
        return [dict(zip(self._names, row, strict=True)) for row in zip(*cols, strict=True)]

    def project(self, unit: np.ndarray) -> np.ndarray:
        """``unit`` with each simplex's columns moved to the encodings of the weights they
        decode to (other columns unchanged): the point a model should score is the one that
        would run, and many encodings decode to one point of a simplex."""
        if not self._groups:
            return unit
        out = np.array(unit, dtype=float, copy=True)
        flat = out.ndim == 1
        out2 = np.atleast_2d(out)
        for idx, m in self._groups:
            w = decode_simplex(out2[:, idx], m)
            d = self._dists[self._names[idx[0]]]
            out2[:, idx] = d.to_unit_array(w)
        return out2[0] if flat else out2

    @property
    def simplex_columns(self) -> list[list[int]]:
        """Column indices (in component order) of each simplex whose weights are all here."""
        return [list(idx) for idx, _ in self._groups]

    def to_json(self) -> dict[str, Any]:
        return {name: d.to_json() for name, d in self._dists.items()}


def _simplex_groups(dists: Mapping[str, Distribution]) -> list[tuple[list[int], float]]:
    """``(columns in component order, min_weight)`` of each simplex all of whose components
    are in ``dists`` under their own names."""
    names = list(dists)
    col = {n: j for j, n in enumerate(names)}
    out: list[tuple[list[int], float]] = []
    seen: set[str] = set()
    for d in dists.values():
        if not isinstance(d, SimplexWeight) or d.group in seen:
            continue
        seen.add(d.group)
        want = d.param_names()
        if all(n in col and dists[n] == d.with_component(n[len(d.group) + 1 :]) for n in want):
            out.append(([col[n] for n in want], d.min_weight))
    return out


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise SpaceError(f"parameter names must be non-empty strings, got {name!r}.")


def _parse_simplex(name: str, spec: Any) -> Simplex | None:
    """The :class:`Simplex` that ``spec`` declares (``type: simplex`` in a file), if any."""
    if isinstance(spec, Simplex):
        return spec
    if not (isinstance(spec, Mapping) and spec.get("type") == "simplex"):
        return None
    spec = dict(spec)
    spec.pop("type")
    try:
        if "components" not in spec:
            raise SpaceError(
                "a simplex needs 'components' (a list of names), e.g. "
                "{type: simplex, components: [web, code, books], min_weight: 0.05}."
            )
        unknown = sorted(set(spec) - {"components", "min_weight"})
        if unknown:
            raise SpaceError(
                f"unknown simplex keys {unknown}; a simplex takes 'components' and 'min_weight'."
            )
        return Simplex(spec["components"], spec.get("min_weight", 0.0))
    except SpaceError as e:
        raise SpaceError(f"parameter {name!r}: {e}") from None


def _parse_entry(name: str, spec: Any) -> Distribution:
    if isinstance(spec, Distribution):
        return spec
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise SpaceError(
            f"parameter {name!r}: expected a honed.Float/Int/Choice/Simplex or a mapping with a "
            f"'type' key (float, int, choice or simplex), got {spec!r}."
        )
    spec = dict(spec)
    kind = spec.pop("type")
    try:
        if kind == "choice":
            if "branches" in spec:
                branches = spec.pop("branches")
                if not isinstance(branches, Mapping):
                    raise SpaceError("'branches' must map each option to a sub-space.")
                return Choice({k: (v or {}) for k, v in branches.items()})
            if "choices" not in spec:
                raise SpaceError("a choice needs 'choices' (a list) or 'branches' (a mapping).")
            return Choice(spec.pop("choices"), **spec)
        if kind not in ("float", "int"):
            raise SpaceError(f"unknown type {kind!r}; use float, int, choice or simplex.")
        missing = [k for k in ("low", "high") if k not in spec]
        if missing:
            raise SpaceError(f"a {kind} needs {' and '.join(missing)}.")
        return _KINDS[kind](**spec)
    except SpaceError as e:
        raise SpaceError(f"parameter {name!r}: {e}") from None
    except TypeError as e:
        raise SpaceError(f"parameter {name!r}: {e}") from None


def normalize_space(space: Mapping[str, Any]) -> dict[str, Distribution]:
    """Turn a user-given dict (distributions or JSON/YAML-style mappings, possibly with
    branches) into a dict of distributions, checking that every name is unique across
    branches."""
    if not isinstance(space, Mapping):
        raise SpaceError(
            f"a search space must be a dict of parameters, got {type(space).__name__}."
        )
    seen: set[str] = set()

    def claim(name: str) -> None:
        if name in seen:
            raise SpaceError(
                f"parameter {name!r} appears twice in the space; names must be unique "
                "across all branches (a simplex 'mix' holds the names 'mix.<component>')."
            )
        seen.add(name)

    def walk(sub: Mapping[str, Any]) -> dict[str, Distribution]:
        out: dict[str, Distribution] = {}
        for name, spec in sub.items():
            _check_name(name)
            simplex = _parse_simplex(name, spec)
            if simplex is not None:
                for pname, weight in simplex.distributions(name).items():
                    claim(pname)
                    out[pname] = weight
                continue
            claim(name)
            dist = _parse_entry(name, spec)
            if isinstance(dist, Choice) and dist.branches:
                dist = Choice({c: walk(dist.branches.get(c, {})) for c in dist.choices})
            out[name] = dist
        return out

    return walk(space)


def flatten_space(space: Mapping[str, Distribution]) -> SearchSpace:
    """Every parameter of a (possibly tree-shaped) space of distributions, the parameters of
    every branch included, as one flat :class:`SearchSpace`: what a library without
    conditional spaces searches over (each trial then uses the parameters of the branches it
    took). ``flatten_space(load_space(spec))`` flattens a JSON/YAML-style spec."""
    flat: dict[str, Distribution] = {}

    def walk(sub: Mapping[str, Distribution]) -> None:
        for name, dist in sub.items():
            flat[name] = dist
            if isinstance(dist, Choice) and dist.branches:
                for b in dist.branches.values():
                    walk(b)

    walk(space)
    return SearchSpace(flat)


def load_space(source: str | Path | Mapping[str, Any]) -> dict[str, Distribution]:
    """Load a declarative space from a dict, or a YAML/JSON file path.

    File format, one entry per parameter::

        lr: {type: float, low: 1.0e-5, high: 0.1, log: true}
        depth: {type: int, low: 2, high: 12}
        mix: {type: simplex, components: [web, code, books], min_weight: 0.05}
        model:
          type: choice
          branches:
            svm: {C: {type: float, low: 0.001, high: 1000, log: true}}
            tree: {max_depth: {type: int, low: 1, high: 20}}
    """
    if isinstance(source, Mapping):
        return normalize_space(source)
    if not isinstance(source, str | Path):
        raise SpaceError(
            f"load_space takes a dict or a YAML/JSON file path, got {type(source).__name__}."
        )
    path = Path(source)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise SpaceError(f"search space file {str(path)!r} {what}.")
    data, lines = _read_yaml(path)
    if not isinstance(data, Mapping):
        raise SpaceError(
            f"{path}, line 1: the file must hold a mapping of parameter names to specs, such "
            "as 'lr: {type: float, low: 1.0e-5, high: 0.1, log: true}'."
        )
    try:
        return normalize_space(data)
    except SpaceError as e:
        line = next((n for name, n in lines.items() if f"parameter {name!r}" in str(e)), None)
        where = f"{path}, line {line}" if line else str(path)
        raise SpaceError(f"{where}: {e}") from None


def _read_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    """The document in ``path`` and the line of each string key; every problem (bad YAML, a
    key written twice, not UTF-8 text) is a :class:`SpaceError` naming the file and line."""
    import yaml  # YAML is a superset of JSON, so one parser serves both

    lines: dict[str, int] = {}

    class StrictLoader(yaml.SafeLoader):
        """PyYAML keeps the last of two equal keys; a space file that says a thing twice is
        refused instead."""

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *base" may be overridden
                continue
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                raise SpaceError(
                    f"{path}, line {line}: a key must be a name, not a {type(key).__name__}."
                ) from None
            if first is not None:
                raise SpaceError(
                    f"{path}, line {line}: the key {key!r} is written twice (first on line "
                    f"{first}); YAML would silently keep the last one. Remove or rename one."
                )
            seen[key] = line
            if isinstance(key, str):
                lines.setdefault(key, line)
        return loader.construct_mapping(node, deep=True)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SpaceError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}).") from None
    except OSError as e:
        raise SpaceError(f"{path}: cannot be read ({e.strerror or e}).") from None
    try:
        return yaml.load(text, Loader=StrictLoader), lines
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        what = e.problem or e.context or "not valid YAML"
        if e.context and e.problem:
            start = f" that starts on line {e.context_mark.line + 1}" if e.context_mark else ""
            what += f" ({e.context}{start})"
        raise SpaceError(
            f"{where}: {what}. Fix the YAML there: a space file maps each parameter name to "
            "a spec such as '{type: int, low: 1, high: 8}' (indent nested branches with "
            "spaces, quote names with ':' or '#')."
        ) from None
    except yaml.YAMLError as e:
        raise SpaceError(f"{path}: not valid YAML ({e}).") from None
    except SpaceError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError, RecursionError) as e:
        # PyYAML's own slips on odd input (an empty "!!int ", a 10,000-deep nest)
        raise SpaceError(
            f"{path}: cannot be read as YAML ({type(e).__name__}: {e}); look for an empty or "
            "odd '!!tag' value or very deep nesting."
        ) from None
