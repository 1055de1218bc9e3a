"""What every recipe needs of a study: which objective ranks its trials, and its best ones."""

from __future__ import annotations

import json
from typing import Any

import honed
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = [
    "better",
    "check_count",
    "check_study",
    "objective_index",
    "params_key",
    "ranked_trials",
    "top_trials",
]


def check_study(study: Any, recipe: str) -> honed.Study:
    if not isinstance(study, honed.Study):
        raise TypeError(
            f"{recipe} needs a honed.Study (honed.load_study(name, storage=...)), got "
            f"{type(study).__name__}."
        )
    return study


def objective_index(study: honed.Study, rank_by: int | None) -> int:
    """The objective that ranks trials: the only one, or ``rank_by`` in a multi-objective
    study (which must say)."""
    n = len(study.directions)
    if rank_by is None:
        if n > 1:
            raise ValueError(
                f"study {study.name!r} has {n} objectives "
                f"({', '.join(d.value for d in study.directions)}); choose the one that ranks "
                f"its trials with rank_by=0..{n - 1}."
            )
        return 0
    if isinstance(rank_by, bool) or not isinstance(rank_by, int) or not 0 <= rank_by < n:
        raise ValueError(
            f"rank_by must be the index of an objective of study {study.name!r}, between 0 and "
            f"{n - 1}; got {rank_by!r}."
        )
    return rank_by


def check_count(name: str, value: Any, low: int = 1, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return value


def ranked_trials(study: honed.Study, index: int) -> list[FrozenTrial]:
    """Complete feasible trials, best first by objective ``index`` (lower number first on
    ties, as ``study.best_trial``)."""
    sign = study.directions[index].sign
    done = [
        t for t in study.get_trials([TrialState.COMPLETE]) if t.values is not None and t.is_feasible
    ]
    return sorted(done, key=lambda t: (sign * t.values[index], t.number))  # type: ignore[index]


def top_trials(study: honed.Study, index: int, top_k: int | None, what: str) -> list[FrozenTrial]:
    """The ``top_k`` best trials (all complete ones when None), with a clear error when the
    study has fewer."""
    ranked = ranked_trials(study, index)
    if not ranked:
        raise ValueError(f"study {study.name!r} has no complete feasible trial to {what}.")
    if top_k is not None and top_k > len(ranked):
        raise ValueError(
            f"top_k={top_k} but study {study.name!r} has {len(ranked)} complete feasible "
            f"trial(s); pass top_k={len(ranked)} or less, or run more trials."
        )
    return ranked if top_k is None else ranked[:top_k]


def params_key(params: Any) -> str:
    """One string per configuration, whatever the order its parameters were sampled in."""
    return json.dumps({k: params[k] for k in sorted(params)}, sort_keys=True, default=str)


def better(direction: Direction, a: float, b: float) -> bool:
    """Whether ``a`` is strictly better than ``b``."""
    return direction.sign * a < direction.sign * b
