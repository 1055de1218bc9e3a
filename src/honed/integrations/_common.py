"""What the callbacks share: picking the watched metric and checking its direction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def pick(available: Iterable[str], wanted: str | None, what: str, example: str) -> str:
    names = list(available)
    if wanted is None:
        if len(names) == 1:
            return names[0]
        raise ValueError(
            f"several {what}s are logged ({names}); name the one to report, e.g. {example}."
        )
    if wanted not in names:
        raise ValueError(f"{what} {wanted!r} is not logged; logged {what}s: {names}.")
    return wanted


def check_direction(trial: Any, higher_is_better: bool | None, metric: str) -> None:
    """A metric where higher is better in a minimizing study (or the reverse) is a mistake that
    would stop the best trials first; say so at the first report."""
    if higher_is_better is None:
        return
    directions = trial.study.directions
    if len(directions) != 1:
        return
    maximize = directions[0].value == "maximize"
    if maximize != higher_is_better:
        want = "maximize" if higher_is_better else "minimize"
        raise ValueError(
            f"metric {metric!r} is better when {'higher' if higher_is_better else 'lower'}, but "
            f"the study is set to {directions[0].value}; create it with direction={want!r}."
        )


def higher_is_better(name: str) -> bool | None:
    """What a usual metric name says about its direction (``val_loss``: lower,
    ``eval_accuracy``: higher); ``None`` when the name does not tell."""
    base = name.lower()
    for prefix in ("val_", "eval_", "test_"):
        base = base.removeprefix(prefix)
    if "loss" in base or "error" in base or base in ("mse", "mae", "rmse", "mape", "msle"):
        return False
    if "acc" in base or "auc" in base or base in ("precision", "recall", "f1", "f1_score", "r2"):
        return True
    return None
