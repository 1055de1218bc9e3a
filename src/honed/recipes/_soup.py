"""Model soups: average the weights of a study's fine-tuned models (Wortsman et al., 2022).

Models fine-tuned from one initialisation with different hyperparameters usually stay in one
basin of the loss, so their average is a model too, often better than each, at the inference
cost of one. :func:`soup` builds it from what trials saved with ``trial.save_checkpoint``.
"""

from __future__ import annotations

import math
import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import honed
from honed.recipes._common import (
    better,
    check_count,
    check_study,
    objective_index,
    ranked_trials,
    top_trials,
)
from honed.recipes._states import Mix
from honed.trial import Direction

__all__ = ["Soup", "SoupStep", "load_soup", "soup"]

METHODS = ("greedy", "uniform", "average_checkpoints")
SOUPS_ATTR = "soups"  # study system attr: name -> what went into each saved soup
_NAME = re.compile(r"^[A-Za-z0-9._\-]+$")


@dataclass(frozen=True)
class SoupStep:
    """One ingredient offered to the soup: the trial (and checkpoint step), the held-out
    score of the soup with it (greedy soups only), and whether it went in."""

    trial: int
    step: int | None
    score: float | None
    added: bool


@dataclass(frozen=True)
class Soup:
    """Averaged weights and what went into them.

    Attributes:
        method: ``"greedy"``, ``"uniform"`` or ``"average_checkpoints"``.
        state: The averaged weights, of the kind the trials saved (a ``state_dict`` or a
            mapping of numpy arrays): load it into the model as any checkpoint.
        trials: Numbers of the trials in the soup, in the order added (best first).
        steps: The checkpoint steps averaged (``average_checkpoints``), else ``None``.
        score: ``evaluate(state)``, the soup's held-out score.
        baseline: The held-out score of the best ingredient alone (the best trial's model;
            for ``average_checkpoints``, the trial's latest checkpoint).
        direction: Whether a higher or a lower score is better.
        log: Every ingredient offered, in order (:class:`SoupStep`).
        kept: Keys taken from the best model instead of averaged (integer and bool buffers,
            such as BatchNorm's ``num_batches_tracked``).
        name: The name it is saved under in the study (``None`` when not saved).
        key: Its key in the study's artifact store (``None`` when not saved).
    """

    method: str
    state: Any
    trials: tuple[int, ...]
    steps: tuple[int, ...] | None
    score: float
    baseline: float
    direction: Direction
    log: tuple[SoupStep, ...]
    kept: tuple[str, ...]
    name: str | None = None
    key: str | None = None

    @property
    def gain(self) -> float:
        """How much better than the best ingredient alone the soup scores (positive: better)."""
        return -self.direction.sign * (self.score - self.baseline)

    def __repr__(self) -> str:
        return (
            f"Soup(method={self.method!r}, trials={list(self.trials)}, score={self.score:.6g}, "
            f"baseline={self.baseline:.6g})"
        )


def soup(
    study: honed.Study,
    evaluate: Callable[[Any], float],
    *,
    method: str = "greedy",
    top_k: int | None = None,
    metric_direction: str | Direction | None = None,
    checkpoint: str | Callable[[Any], Any] | None = None,
    rank_by: int | None = None,
    trial: int | None = None,
    last_k: int | None = None,
    name: str | None = None,
    save: bool = True,
) -> Soup:
    """Average the weights of a study's trials into one model.

    Args:
        study: A study whose objective fine-tuned a model from one shared initialisation
            and saved its weights with ``trial.save_checkpoint(model.state_dict())`` (or a
            mapping of names to numpy arrays).
        evaluate: Scores a state on held-out data (a validation split, not the test split
            you will report): load it into the model, return accuracy or loss.
        method: ``"greedy"`` (default): trials best first by the study's value, each added
            only if the soup's held-out score does not get worse; ``"uniform"``: the mean of
            all ``top_k``; ``"average_checkpoints"``: the mean of the last ``last_k``
            checkpoints one trial saved with a step.
        top_k: The best trials to consider (greedy, uniform); ``None``: every complete one.
        metric_direction: ``"maximize"`` or ``"minimize"`` for ``evaluate``'s score;
            ``None``: the study's direction.
        checkpoint: How to get the weights from what a trial saved: ``None`` (the checkpoint
            is the weights), a key (``"model"`` for ``{"model": ..., "optimizer": ...}``), or
            a function of the checkpoint (e.g. ``torch.load`` for a saved file).
        rank_by: The objective that ranks trials, needed in a multi-objective study.
        trial: For ``average_checkpoints``: the trial (default: the best).
        last_k: For ``average_checkpoints``: how many of its latest step checkpoints
            (default: all).
        name: The name it is saved under (default: the method); saving again replaces it.
        save: Store the soup in the study's artifact store and record what went into it
            (:func:`load_soup` reads it back; ``honed report`` shows it).
    """
    check_study(study, "soup")
    if not callable(evaluate):
        raise TypeError(
            f"evaluate must be a function from a state to its held-out score, got "
            f"{type(evaluate).__name__}."
        )
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    index = objective_index(study, rank_by)
    direction = _direction(metric_direction, study.directions[index])
    if name is None:
        name = method
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"a soup name is letters, digits, '.', '_' and '-', got {name!r}; e.g. "
            "name='greedy-top8'."
        )
    if checkpoint is not None and not (isinstance(checkpoint, str) or callable(checkpoint)):
        raise TypeError(
            "checkpoint must be None, a key of the saved mapping or a function of the "
            f"checkpoint, got {type(checkpoint).__name__}."
        )
    if method == "average_checkpoints":
        if top_k is not None:
            raise ValueError(
                "top_k picks trials for greedy and uniform soups; average_checkpoints "
                "averages one trial's checkpoints: use trial= and last_k=."
            )
        result = _average_checkpoints(study, evaluate, index, direction, checkpoint, trial, last_k)
    else:
        for arg, value in (("trial", trial), ("last_k", last_k)):
            if value is not None:
                raise ValueError(
                    f"{arg}= is for method='average_checkpoints'; a {method} soup takes the "
                    "top_k best trials."
                )
        check_count("top_k", top_k, allow_none=True)
        ranked = top_trials(study, index, top_k, "make a soup of")
        result = _trial_soup(
            study, evaluate, method, [t.number for t in ranked], direction, checkpoint
        )
    if save:
        result = _save(study, result, name)
    return result


def _direction(value: str | Direction | None, default: Direction) -> Direction:
    if value is None:
        return default
    try:
        return Direction.parse(value)
    except ValueError:
        raise ValueError(
            f"metric_direction must be 'maximize' or 'minimize' (or None for the study's), "
            f"got {value!r}."
        ) from None


def _weights(study: honed.Study, number: int, step: int | None, checkpoint: Any) -> Any:
    """What trial ``number`` saved (at ``step``), reduced to its weights by ``checkpoint``."""
    where = f"trial {number}" + ("" if step is None else f" at step {step}")
    saved = study.checkpoints.load(number, step)
    if saved is None:
        raise ValueError(
            f"{where} has no checkpoint in {study.artifact_store!r}; save the weights in the "
            "objective with trial.save_checkpoint(model.state_dict()), or leave the trial out "
            "with top_k."
        )
    if checkpoint is None:
        if isinstance(saved, Path):
            raise TypeError(
                f"{where}'s checkpoint is a saved file or folder ({saved}), not weights; pass "
                "checkpoint= a function that reads them, e.g. checkpoint=torch.load."
            )
        return saved
    if isinstance(checkpoint, str):
        if not hasattr(saved, "keys") or checkpoint not in saved:
            keys = list(saved.keys()) if hasattr(saved, "keys") else []
            raise ValueError(
                f"{where}'s checkpoint has no key {checkpoint!r}"
                + (f" (its keys: {keys[:8]})" if keys else f" (it is a {type(saved).__name__})")
                + "; pass the key the weights are saved under."
            )
        return saved[checkpoint]
    return checkpoint(saved)


def _score(evaluate: Callable[[Any], float], state: Any, what: str) -> float:
    value = evaluate(state)
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"evaluate returned {value!r} for {what}; it must return the held-out score, a number."
        ) from None
    if isinstance(value, bool) or not math.isfinite(score):
        raise ValueError(f"evaluate returned {value!r} for {what}; it must be a finite number.")
    return score


def _label(number: int, step: int | None = None) -> str:
    return f"trial {number}'s checkpoint" + ("" if step is None else f" at step {step}")


def _trial_soup(
    study: honed.Study,
    evaluate: Callable[[Any], float],
    method: str,
    numbers: list[int],
    direction: Direction,
    checkpoint: Any,
) -> Soup:
    mix = Mix()
    first = _weights(study, numbers[0], None, checkpoint)
    mix.add(first, _label(numbers[0]))
    baseline = _score(evaluate, mix.mean(), f"trial {numbers[0]} alone")
    log = [SoupStep(numbers[0], None, baseline if method == "greedy" else None, True)]
    current = baseline
    kept = [numbers[0]]
    for number in numbers[1:]:
        state = mix.check(_weights(study, number, None, checkpoint), _label(number))
        if method == "uniform":
            mix.add(state, _label(number))
            log.append(SoupStep(number, None, None, True))
            kept.append(number)
            continue
        score = _score(evaluate, mix.mean(extra=state), f"the soup with trial {number}")
        added = not better(direction, current, score)  # no worse on held-out data
        if added:
            mix.add(state, _label(number))
            kept.append(number)
            current = score
        log.append(SoupStep(number, None, score, added))
    if method == "uniform":
        current = _score(evaluate, mix.mean(), "the uniform soup")
    return Soup(
        method=method,
        state=mix.mean(),
        trials=tuple(kept),
        steps=None,
        score=current,
        baseline=baseline,
        direction=direction,
        log=tuple(log),
        kept=tuple(mix.kept),
    )


def _average_checkpoints(
    study: honed.Study,
    evaluate: Callable[[Any], float],
    index: int,
    direction: Direction,
    checkpoint: Any,
    trial: int | None,
    last_k: int | None,
) -> Soup:
    check_count("last_k", last_k, allow_none=True)
    if trial is None:
        ranked = ranked_trials(study, index)
        if not ranked:
            raise ValueError(
                f"study {study.name!r} has no complete feasible trial; pass trial= to "
                "average the checkpoints of a given one."
            )
        number = ranked[0].number
    else:
        check_count("trial", trial, low=0)
        if trial not in {t.number for t in study.trials}:
            raise ValueError(f"study {study.name!r} has no trial number {trial}.")
        number = trial
    steps = study.checkpoints.steps(number)
    if not steps:
        raise ValueError(
            f"trial {number} has no checkpoint saved with a step; save one per epoch with "
            "trial.save_checkpoint(model.state_dict(), step=epoch) to average them."
        )
    if last_k is not None and last_k > len(steps):
        raise ValueError(
            f"last_k={last_k} but trial {number} has {len(steps)} checkpoint(s) with a step "
            f"({steps}); pass last_k={len(steps)} or less."
        )
    chosen = steps[-last_k:] if last_k is not None else steps
    mix = Mix()
    latest_first = list(reversed(chosen))  # counts and flags come from the latest
    mix.add(_weights(study, number, latest_first[0], checkpoint), _label(number, latest_first[0]))
    baseline = _score(evaluate, mix.mean(), f"trial {number}'s checkpoint at step {chosen[-1]}")
    for step in latest_first[1:]:
        mix.add(_weights(study, number, step, checkpoint), _label(number, step))
    state = mix.mean()
    score = _score(
        evaluate, state, f"the average of trial {number}'s last {len(chosen)} checkpoints"
    )
    return Soup(
        method="average_checkpoints",
        state=state,
        trials=(number,),
        steps=tuple(chosen),
        score=score,
        baseline=baseline,
        direction=direction,
        log=tuple(SoupStep(number, s, None, True) for s in latest_first),
        kept=tuple(mix.kept),
    )


def _key(study: honed.Study, name: str) -> str:
    return f"{study.checkpoints.prefix}/soups/{name}"


def _records(study: honed.Study) -> dict[str, Any]:
    storage = study.storage
    attrs = storage.get_study_system_attrs(storage.get_study_id(study.name))
    return dict(attrs.get(SOUPS_ATTR) or {})


def _save(study: honed.Study, result: Soup, name: str) -> Soup:
    key = _key(study, name)
    study.artifact_store.put_bytes(
        key, pickle.dumps(result.state, protocol=pickle.HIGHEST_PROTOCOL)
    )
    record = {
        "method": result.method,
        "trials": list(result.trials),
        "steps": None if result.steps is None else list(result.steps),
        "score": result.score,
        "baseline": result.baseline,
        "direction": result.direction.value,
        "log": [[s.trial, s.step, s.score, s.added] for s in result.log],
        "kept": list(result.kept),
        "key": key,
        "saved_at": time.time(),
    }
    records = _records(study)
    records[name] = record
    storage = study.storage
    storage.set_study_system_attr(storage.get_study_id(study.name), SOUPS_ATTR, records)
    return _from_record(name, record, result.state)


def _from_record(name: str, record: dict[str, Any], state: Any) -> Soup:
    return Soup(
        method=record["method"],
        state=state,
        trials=tuple(record["trials"]),
        steps=None if record["steps"] is None else tuple(record["steps"]),
        score=float(record["score"]),
        baseline=float(record["baseline"]),
        direction=Direction(record["direction"]),
        log=tuple(SoupStep(*entry) for entry in record["log"]),
        kept=tuple(record["kept"]),
        name=name,
        key=record["key"],
    )


def saved_soups(study: honed.Study) -> list[Soup]:
    """Every soup saved in ``study``, without its weights (``state`` is ``None``)."""
    return [_from_record(name, rec, None) for name, rec in sorted(_records(study).items())]


def load_soup(study: honed.Study, name: str = "greedy") -> Soup:
    """A soup :func:`soup` saved in ``study`` under ``name``, weights included."""
    check_study(study, "load_soup")
    records = _records(study)
    if name not in records:
        known = sorted(records) or "none"
        raise ValueError(f"study {study.name!r} has no soup named {name!r} (saved: {known}).")
    record = records[name]
    try:
        state = pickle.loads(study.artifact_store.get_bytes(record["key"]))
    except KeyError:
        raise ValueError(
            f"soup {name!r} of study {study.name!r} is recorded but its weights are not in "
            f"{study.artifact_store!r} (key {record['key']!r}); open the study with the "
            "artifact store it was made with (create_study/load_study artifacts=)."
        ) from None
    return _from_record(name, record, state)
