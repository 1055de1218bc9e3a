"""Small helpers shared by the schedulers: curves as losses, values at a step."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from honed.history import History
from honed.trial import FrozenTrial


def sign(history: History) -> float:
    """Multiply a single-objective value by this to get a loss."""
    return history.directions[0].sign


def loss_curve(history: History, trial: FrozenTrial) -> tuple[list[int], list[float]]:
    """The trial's finite reports as (steps, losses), ordered by step."""
    s = sign(history)
    items = sorted((k, s * v) for k, v in trial.intermediate_values.items() if math.isfinite(v))
    return [k for k, _ in items], [v for _, v in items]


def previous_step(trial: FrozenTrial) -> int | None:
    """The step reported just before the trial's last one (``None`` for the first report)."""
    steps = sorted(trial.intermediate_values)
    return steps[-2] if len(steps) >= 2 else None


def first_at_or_after(values: Mapping[Any, float], step: float) -> float | None:
    """The finite value at the smallest reported step ``>= step``, if any (keys are steps or,
    for time resources, seconds)."""
    v = values.get(step)
    if v is not None and math.isfinite(v):
        return v  # reported exactly there: the common case, no scan
    best_k: Any = None
    for k, v in values.items():
        if k >= step and math.isfinite(v) and (best_k is None or k < best_k):
            best_k = k
    return None if best_k is None else values[best_k]


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return value


def check_fraction(name: str, value: Any, low: float = 0.0, high: float = 1.0) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}.") from None
    if not low <= f <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}.")
    return f
