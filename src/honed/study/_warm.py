"""Trials from elsewhere: ``study.add_trials`` and warm-start sources (``create_study(
warm_start=...)``), checked where they enter and kept in the study's own storage."""

from __future__ import annotations

import logging
import math
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from honed.history import Source
from honed.space import Distribution
from honed.storage import Storage
from honed.trial import Direction, FrozenTrial, TrialState

if TYPE_CHECKING:
    from honed.study._study import Study

__all__ = [
    "PART_OF_ATTR",
    "WARM_START_ATTR",
    "check_trials",
    "load_sources",
    "parse_sources",
    "store_sources",
]

_log = logging.getLogger("honed.warm_start")

#: System attribute of a study kept on behalf of another (confirmation runs, warm-start
#: sources): the other's name. Deleting that study deletes this one too.
PART_OF_ATTR = "part_of"

#: System attribute of a warm-started study: its sources, as
#: ``[{"study": <copy's name in this storage>, "source": <the source's name>}, ...]``.
WARM_START_ATTR = "warm_start"

_MAX_SHOWN = 10


def check_trials(
    trials: object,
    directions: Sequence[Direction],
    space: Mapping[str, Distribution] | None = None,
    *,
    what: str = "add_trials",
) -> list[FrozenTrial]:
    """``trials`` as records a study with ``directions`` can hold, or ValueError listing
    every bad one (its index and number, what is wrong, and the fix); nothing is half-added.

    With ``space``, every parameter must be in it and inside its range, and the trials take
    its distributions; without, each parameter needs a distribution of its own that holds
    its value. A FAILED trial's values are dropped (they mean nothing)."""
    if isinstance(trials, FrozenTrial) or not isinstance(trials, Sequence):
        raise TypeError(
            f"{what} takes a list of honed.FrozenTrial (e.g. other_study.trials), got "
            f"{type(trials).__name__}."
        )
    n_obj = len(directions)
    out: list[FrozenTrial] = []
    problems: list[str] = []
    for i, t in enumerate(trials):
        if not isinstance(t, FrozenTrial):
            problems.append(
                f"trial at index {i} is a {type(t).__name__}, not a FrozenTrial: build it as "
                "honed.FrozenTrial(number=0, state=TrialState.COMPLETE, params={...}, "
                "distributions={...}, values=(...))."
            )
            continue
        problem, fixed = _check_one(t, n_obj, space)
        if problem is not None:
            problems.append(f"trial at index {i} (number {t.number}) {problem}")
        else:
            out.append(fixed)
    if problems:
        shown = problems[:_MAX_SHOWN]
        more = len(problems) - len(shown)
        raise ValueError(
            f"{what}: {len(problems)} of {len(trials)} trial(s) cannot be added, so none was:\n"
            + "\n".join(f"- {p}" for p in shown)
            + (f"\n- ... and {more} more." if more else "")
        )
    return out


def _check_one(
    t: FrozenTrial, n_obj: int, space: Mapping[str, Distribution] | None
) -> tuple[str | None, FrozenTrial]:
    if not t.state.is_finished:
        return (
            f"is {t.state.name}: only finished trials (COMPLETE, PRUNED, FAILED) are data; "
            "enqueue its params (study.enqueue) to run it instead.",
            t,
        )
    if t.state is TrialState.FAILED:
        t = replace(t, values=None) if t.values is not None else t
    elif t.values is None:
        if t.state is TrialState.COMPLETE:
            return (
                "is COMPLETE without values: give values=(...), one per direction, or add it "
                "as FAILED.",
                t,
            )
    else:
        if len(t.values) != n_obj:
            return (
                f"has {len(t.values)} value(s) {reprlib.repr(list(t.values))} but the study has "
                f"{n_obj} direction(s): give one value per direction, in the study's order.",
                t,
            )
        bad = [v for v in t.values if not _finite(v)]
        if bad:
            return (
                f"is {t.state.name} with value {bad[0]!r}, not a finite number: drop the "
                "trial, or add it as FAILED "
                "(dataclasses.replace(trial, state=TrialState.FAILED, values=None)).",
                t,
            )
    dists = dict(t.distributions)
    for name, value in t.params.items():
        if space is not None:
            if name not in space:
                return (
                    f"has parameter {name!r}, which is not in the given space "
                    f"({', '.join(map(repr, space)) or 'empty'}): add it to space= or remove "
                    "it from the trial.",
                    t,
                )
            dist = space[name]
        else:
            found = t.distributions.get(name)
            if found is None:
                return (
                    f"has parameter {name!r} without a distribution: give the trial "
                    f"distributions={{{name!r}: honed.Float(...)}} or pass space= to add_trials.",
                    t,
                )
            dist = found
        if not dist.contains(value):
            return (
                f"has {name}={value!r}, outside {dist!r}: pass a space whose range holds it, "
                "or drop the trial.",
                t,
            )
        dists[name] = dist
    if space is not None:
        t = replace(t, distributions=dists)
    return None, t


def _finite(v: Any) -> bool:
    try:
        return not isinstance(v, bool) and math.isfinite(float(v))
    except (TypeError, ValueError, OverflowError):
        return False


Parsed = list[tuple[str, tuple[Direction, ...], list[FrozenTrial]]]


def parse_sources(warm_start: object, directions: Sequence[Direction]) -> Parsed:
    """``(name, directions, finished trials)`` of each source ``warm_start`` names, checked
    (before the study is created, so a bad source creates nothing)."""
    from honed.study._study import Study

    if isinstance(warm_start, Study):
        warm_start = [warm_start]
    if not isinstance(warm_start, Sequence) or isinstance(warm_start, str | bytes):
        raise TypeError(
            "warm_start takes a Study, a list of studies or a list of honed.FrozenTrial, got "
            f"{type(warm_start).__name__}."
        )
    items = list(warm_start)
    if items and all(isinstance(s, Study) for s in items):
        out = []
        for s in items:
            done = [t for t in s.trials if t.state.is_finished]
            out.append(
                (
                    s.name,
                    tuple(s.directions),
                    check_trials(done, s.directions, what=f"warm_start source {s.name!r}"),
                )
            )
        return out
    if all(isinstance(t, FrozenTrial) for t in items):
        if not items:
            return []
        trials = check_trials(items, directions, what="warm_start trials")
        return [("trials", tuple(directions), trials)]
    kinds = sorted({type(x).__name__ for x in items})
    raise TypeError(
        f"warm_start takes a Study, a list of studies or a list of honed.FrozenTrial, not a "
        f"list of {', '.join(kinds)}; give one kind (several lists of trials: build a study "
        "from each with add_trials)."
    )


def store_sources(store: Storage, study_name: str, study_id: int, sources: Parsed) -> None:
    """Copy each source's finished trials into ``store`` as a study of its own (named
    ``'<study>:warm-start:<i>'``, part of the study) and record them with the study: a
    resumed study reads its sources from its own storage, whatever became of the originals."""
    records = []
    for i, (name, dirs, trials) in enumerate(sources):
        copy = f"{study_name}:warm-start:{i}"
        cid = store.create_study(copy, dirs)
        store.set_study_system_attr(cid, PART_OF_ATTR, study_name)
        store.add_trials(cid, trials)
        n_complete = sum(t.state is TrialState.COMPLETE for t in trials)
        if not n_complete:
            _log.info(
                "warm start: source %r has no complete trial (of %d); it teaches nothing.",
                name,
                len(trials),
            )
        records.append({"study": copy, "source": name})
    store.set_study_system_attr(study_id, WARM_START_ATTR, records)


def load_sources(store: Storage, study_id: int) -> tuple[Source, ...]:
    """The warm-start sources recorded with a study (none: an empty tuple)."""
    records = store.get_study_system_attrs(study_id).get(WARM_START_ATTR) or []
    out = []
    for rec in records:
        cid = store.get_study_id(rec["study"])
        out.append(
            Source(
                rec["source"],
                store.get_study_directions(cid),
                tuple(store.get_trials(cid)),
            )
        )
    return tuple(out)


def add_trials(
    study: Study, trials: object, space: Mapping[str, Distribution] | None
) -> list[FrozenTrial]:
    checked = check_trials(trials, study.directions, space)
    numbers = set(study.storage.add_trials(study._study_id, checked))
    return [t for t in study.trials if t.number in numbers]
