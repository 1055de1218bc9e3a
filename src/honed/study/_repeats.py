"""The guard against repeats: a sampled configuration is never one the study already has.

Every trial of a study (complete, pruned, failed, running or waiting) holds a configuration.
A deterministic objective gains nothing from running one twice, yet a sampler whose model
ignores some trials (pruned or failed ones) can propose the same point again and again. So
the study checks each sampled value, whatever the sampler: when the parameters sampled so
far, this value included, equal the configuration of another trial, the value is replaced
by a nearby one no trial has (a local perturbation in the unit encoding; for a choice, an
option not taken). Values are compared after their distribution's rounding.

Enqueued and retried trials keep their fixed values. A study declared ``noisy`` (a
configuration's value changes from run to run, so a second run is a new measurement) turns
the guard off, as does a sampler with ``guards_repeats = True`` (the grid walks its own free
points). When no free value is left, the repeat goes ahead and the study logs it once.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Float, Int, ParamValue
from honed.trial import FrozenTrial

__all__ = ["Items", "SeenConfigs", "config_key", "fresh_value", "guard_rng", "item"]

#: A configuration as a hashable set of (name, canonical value) pairs.
ConfigKey = frozenset[tuple[str, Any]]
#: ``(name, canonical value, distribution)`` of a trial's parameters in sampling order.
Items = list[tuple[str, Any, Distribution | None]]

# Discrete parameters with at most this many values are enumerated to find a free one.
_ENUMERATE = 4096
# Draws tried for a free value where enumerating is too costly (continuous, huge ranges).
_TRIES = 32
# Standard deviation of the perturbation, in the unit encoding.
_SCALE = 0.1


def _canonical(dist: Distribution | None, value: Any) -> Any:
    """``value`` as compared: a grid index for stepped floats, the typed option for choices
    (``True`` is not ``1``), the number itself otherwise."""
    kind = type(value)
    if type(dist) is Float:
        if dist.step is not None:
            return round((float(value) - dist.low) / dist.step)
        if kind is float:
            return value
    elif type(dist) is Int and kind is int:
        return float(value)
    if kind is bool or isinstance(dist, Choice):
        return (kind.__name__, value)
    if isinstance(value, int | float):
        return float(value)
    return (kind.__name__, repr(value))


def _items(
    params: Mapping[str, ParamValue], distributions: Mapping[str, Distribution]
) -> list[tuple[str, Any, Distribution | None]]:
    """``(name, canonical value, distribution)`` in sampling order, single-valued parameters
    left out (they tell configurations apart nowhere)."""
    out = []
    for name, value in params.items():
        dist = distributions.get(name)
        if dist is not None and dist.is_single:
            continue
        out.append((name, _canonical(dist, value), dist))
    return out


def config_key(
    params: Mapping[str, ParamValue], distributions: Mapping[str, Distribution]
) -> ConfigKey:
    """The hashable configuration of ``params``."""
    return frozenset((n, v) for n, v, _ in _items(params, distributions))


def _is_continuous(dist: Distribution | None) -> bool:
    return isinstance(dist, Float) and dist.step is None


def _size(dist: Distribution | None) -> float:
    """How many values ``dist`` has (infinite for continuous or unknown ones)."""
    if isinstance(dist, Choice):
        return len(dist.choices)
    if isinstance(dist, Int):
        return dist.n_values
    if isinstance(dist, Float) and dist.step is not None:
        return dist.n_steps or math.inf
    return math.inf


class SeenConfigs:
    """The configuration of every trial of a study, by trial number, with a count per
    configuration. Kept up to date from each read of the study's trials.

    It also counts, for each leading part of a configuration in sampling order, the
    distinct configurations that extend it and what parameters follow (only where few
    configurations can follow): a define-by-run trial that reaches a part every extension of
    which is taken has no free value left for its last parameter, so a value leading there
    counts as taken (:meth:`taken`).

    With ``lean=True`` (a sampler that needs no finished trials) finished trials with a
    continuous parameter are forgotten: such a configuration is never drawn again by chance,
    and forgetting it keeps a long study's memory flat."""

    def __init__(self) -> None:
        self._of: dict[int, ConfigKey] = {}
        self._count: Counter[ConfigKey] = Counter()
        # Leading parts of the distinct configurations: how many extend each, and the
        # parameters that follow it (``(name, distribution)`` tuples, counted).
        self._order: dict[ConfigKey, list[tuple[str, Any, Distribution | None]]] = {}
        self._below: Counter[ConfigKey] = Counter()
        self._rest: dict[ConfigKey, Counter[tuple]] = {}
        # Partial configurations every continuation of which turned out taken (a
        # define-by-run trial reached one and had to repeat).
        self._dead: set[ConfigKey] = set()
        # Trials sampled in this process and not seen finished yet.
        self._live: set[int] = set()
        #: Held by a live trial while it checks a value and records it, so trials sampled
        #: at once in threads never take the same configuration.
        self.lock = threading.RLock()
        self._lock = self.lock

    def __len__(self) -> int:
        return len(self._of)

    def update(self, trials: Iterable[FrozenTrial], lean: bool = False) -> None:
        with self._lock:
            for t in trials:
                finished = t.state.is_finished
                if not finished and t.number in self._live:
                    continue  # this process samples it: its own entry is the newer one
                self._live.discard(t.number)
                if lean and finished and any(_is_continuous(d) for d in t.distributions.values()):
                    self._drop(t.number)
                    continue
                self._set(t.number, _items(t.params, t.distributions), finished)

    def set(self, number: int, items: Items) -> None:
        """Record a live trial's parameters as they are sampled (so trials asked together in
        this process see each other at once)."""
        with self._lock:
            self._live.add(number)
            self._set(number, [i for i in items if i[2] is None or not i[2].is_single], False)

    def _set(self, number: int, items: Items, finished: bool) -> None:
        key = frozenset((n, v) for n, v, _ in items)
        old = self._of.get(number)
        if old == key:
            return
        if old is not None:
            self._uncount(old)
        self._of[number] = key
        self._count[key] += 1
        if self._count[key] == 1:
            self._order[key] = items
            self._walk(items, +1)

    def _walk(self, items: list[tuple[str, Any, Distribution | None]], sign: int) -> None:
        """Add (``+1``) or remove (``-1``) a distinct configuration's leading parts, those
        after which at most ``_ENUMERATE`` configurations can follow."""
        capacity = 1.0
        for j in range(len(items) - 1, -1, -1):
            capacity *= _size(items[j][2])
            if capacity > _ENUMERATE:
                break
            part = frozenset((n, v) for n, v, _ in items[:j])
            shape = tuple((n, d) for n, _, d in items[j:])
            self._below[part] += sign
            rest = self._rest.setdefault(part, Counter())
            rest[shape] += sign
            if rest[shape] <= 0:
                del rest[shape]
            if self._below[part] <= 0:
                del self._below[part]
                self._rest.pop(part, None)

    def _drop(self, number: int) -> None:
        old = self._of.pop(number, None)
        if old is not None:
            self._uncount(old)

    def _uncount(self, key: ConfigKey) -> None:
        self._count[key] -= 1
        if self._count[key] <= 0:
            del self._count[key]
            self._walk(self._order.pop(key), -1)

    def taken(self, key: ConfigKey, number: int) -> bool:
        """Whether a trial other than ``number`` has configuration ``key``, or every
        configuration that extends ``key`` is taken (as far as the trials tell)."""
        with self._lock:
            if key in self._dead:
                return True
            n = self._count.get(key, 0)
            if n - (self._of.get(number) == key) > 0:
                return True
            rest = self._rest.get(key)
            if not rest or len(rest) != 1:
                return False  # nothing follows, or different parameters on different paths
            (shape,) = rest
            return self._below[key] >= math.prod(_size(d) for _, d in shape)

    def mark_dead(self, key: ConfigKey) -> None:
        """Every continuation of the partial configuration ``key`` is taken."""
        with self._lock:
            self._dead.add(key)


def _reflect(u: float) -> float:
    """``u`` folded back into [0, 1] (a perturbation past a bound comes back inside)."""
    u = abs(u) % 2.0
    return 2.0 - u if u > 1.0 else u


def _values(dist: Distribution) -> list[ParamValue] | None:
    """Every value of a discrete distribution, when there are few enough to enumerate."""
    if isinstance(dist, Choice):
        return list(dist.choices)
    if isinstance(dist, Int) and dist.n_values <= _ENUMERATE:
        return list(range(dist.low, dist.high + 1, dist.step))
    n = dist.n_steps if isinstance(dist, Float) else None
    if n is not None and n <= _ENUMERATE:
        return [dist.from_unit(k / (n - 1)) for k in range(n)]
    return None


def guard_rng(seed: int | None, number: int, name: str) -> np.random.Generator:
    """The guard's random state for one parameter of one trial: reproducible under a seeded
    sampler, whatever ran before."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([seed % 2**32, number, zlib.crc32(name.encode())])


def item(name: str, dist: Distribution, value: ParamValue) -> tuple[str, Any, Distribution]:
    """One entry of :data:`Items`."""
    return (name, _canonical(dist, value), dist)


def fresh_value(
    seen: SeenConfigs,
    number: int,
    items: Items,
    name: str,
    dist: Distribution,
    value: ParamValue,
    rng: Callable[[], np.random.Generator],
) -> tuple[ParamValue, bool]:
    """``value``, or a nearby value of ``dist`` that makes the configuration ``items + {name:
    value}`` one no other trial has. Returns the value and whether it is fresh (False: every
    value tried repeats a configuration; ``value`` comes back unchanged). ``rng`` makes the
    random state, only when a value must move."""
    base = [(n, v) for n, v, d in items if d is None or not d.is_single]

    def repeats(v: ParamValue) -> bool:
        return seen.taken(frozenset([*base, (name, _canonical(dist, v))]), number)

    if dist.is_single or not repeats(value):
        return value, True
    gen = rng()
    u0 = dist.to_unit(value)
    values = _values(dist)
    if values is not None:
        free = [v for v in values if not repeats(v)]
        if not free:
            seen.mark_dead(frozenset(base))
            return value, False
        if isinstance(dist, Choice):
            return free[int(gen.integers(len(free)))], True
        # The free value nearest a perturbed point: a local move, ties broken at random.
        target = _reflect(u0 + gen.normal(0.0, _SCALE))
        units = np.array([dist.to_unit(v) for v in free])
        gap = np.abs(units - target) + 1e-12 * gen.random(len(free))
        return free[int(np.argmin(gap))], True
    for attempt in range(_TRIES):
        scale = _SCALE if attempt < _TRIES // 2 else 1.0
        v = dist.from_unit(_reflect(u0 + gen.normal(0.0, scale)))
        if not repeats(v) and (not isinstance(v, float) or math.isfinite(v)):
            return v, True
    return value, False
