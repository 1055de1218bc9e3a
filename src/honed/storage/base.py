"""The storage contract every backend honors.

Rules (the conformance tests in ``honed.testing`` check each of them):

* Trial numbers are dense and unique per study, assigned atomically by :meth:`create_trial`.
* A trial's state only moves forward (WAITING -> RUNNING -> COMPLETE / PRUNED / FAILED).
  Once finished, a trial never changes again; every write to it raises
  :class:`~honed.errors.TrialStateError`.
* Each method is one transaction; readers see whole writes only.
* Each finished trial gets a *finish sequence* number, increasing in commit order within a
  study, so readers can fetch only what changed since their last read
  (:meth:`get_trials_since`): finished trials never change, unfinished ones are re-read.

Backends know nothing of samplers or schedulers.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from honed.errors import TrialStateError
from honed.space import Distribution, ParamValue
from honed.trial import SEED_ATTR, Direction, FrozenTrial, TrialState

__all__ = [
    "HEARTBEAT_ATTR",
    "MAX_STUDY_NAME",
    "Clock",
    "Storage",
    "StudySummary",
    "check_added_trial",
    "check_state_change",
    "check_study_name",
    "retry_attrs",
]

#: Seconds since the epoch; storages stamp starts, heartbeats and finishes with it and judge
#: staleness by it (``honed.testing.ManualClock`` for tests that must not sleep).
Clock = Callable[[], float]
"""Seconds since the epoch, as :func:`time.time` gives them: what a storage stamps trial starts,
heartbeats and finishes with, and what :meth:`Storage.fail_stale_trials` measures silence
against. Storages take one as ``clock=`` (``time.time`` when not given) so stale-trial logic
can be tested, or replayed, without waiting; see :class:`honed.testing.ManualClock`."""

# System attr of a trial whose worker sends heartbeats (the interval in seconds). Only such
# trials can go stale: a worker without heartbeats is never mistaken for a dead one.
HEARTBEAT_ATTR = "heartbeat_interval"


@dataclass(frozen=True)
class StudySummary:
    """One row of ``honed studies``."""

    study_id: int
    name: str
    directions: tuple[Direction, ...]
    n_trials_by_state: Mapping[TrialState, int]
    best_values: tuple[float, ...] | None
    datetime_created: datetime | None
    user_attrs: Mapping[str, Any]

    @property
    def n_trials(self) -> int:
        return sum(self.n_trials_by_state.values())


# The longest study name (in characters) every backend stores: PostgreSQL's column and its
# unique index hold this much (512 characters are at most 2 KiB in UTF-8, under the index
# entry limit), so SQLite and memory refuse longer names too instead of accepting what a
# move to PostgreSQL would reject.
MAX_STUDY_NAME = 512


def check_study_name(name: object) -> str:
    """``name`` if every backend can store it as a study name, else ValueError saying why:
    a string of at most :data:`MAX_STUDY_NAME` characters without NUL (PostgreSQL text cannot
    hold NUL). Attribute keys and values, parameter names and choices live in JSON, which
    escapes NUL, and have no length limit."""
    if not isinstance(name, str):
        raise ValueError(f"a study name must be a string, got {type(name).__name__}.")
    if len(name) > MAX_STUDY_NAME:
        raise ValueError(
            f"a study name must be at most {MAX_STUDY_NAME} characters, got {len(name)}: "
            "use a shorter name (keep long descriptions in study.set_user_attr)."
        )
    if "\x00" in name:
        raise ValueError(
            f"a study name must not contain NUL characters (\\x00), got {name!r}: remove them."
        )
    return name


def is_storable_study_name(name: object) -> bool:
    """Whether :func:`check_study_name` accepts ``name`` (a lookup of any other name finds
    nothing, without asking the database)."""
    return isinstance(name, str) and len(name) <= MAX_STUDY_NAME and "\x00" not in name


def check_state_change(trial_number: int, old: TrialState, new: TrialState) -> None:
    """Raise `TrialStateError` unless a trial may move from ``old`` to ``new`` (states only
    move forward; a finished trial never changes)."""
    if old.is_finished:
        raise TrialStateError(
            f"trial {trial_number} is already {old.name} and cannot change; "
            "ask for a new trial instead."
        )
    if not old.can_move_to(new) and old != new:
        raise TrialStateError(f"trial {trial_number} cannot move from {old.name} to {new.name}.")


def check_values(values: Sequence[float] | None, n_objectives: int) -> None:
    if values is None:
        return
    if len(values) != n_objectives:
        raise ValueError(f"expected {n_objectives} objective value(s), got {len(values)}.")
    for v in values:
        if not math.isfinite(v):
            raise ValueError(f"objective values must be finite, got {v!r}.")


def check_added_trial(index: int, trial: FrozenTrial, n_objectives: int) -> None:
    """What :meth:`Storage.add_trials` requires of the ``index``-th record: a finished state;
    a COMPLETE trial with one finite value per objective; a PRUNED one with none or those;
    a FAILED one with none. (``Study.add_trials`` checks more, with fuller messages.)"""
    what = f"trial {index} of add_trials (number {trial.number})"
    if not isinstance(trial, FrozenTrial):
        raise TypeError(f"{what}: expected a FrozenTrial, got {type(trial).__name__}.")
    if not trial.state.is_finished:
        raise ValueError(
            f"{what} is {trial.state.name}; only finished trials (COMPLETE, PRUNED, FAILED) "
            "can be added: enqueue a configuration to run it instead."
        )
    if trial.state is TrialState.FAILED:
        if trial.values is not None:
            raise ValueError(f"{what} is FAILED but has values; give values=None.")
        return
    if trial.values is None:
        if trial.state is TrialState.COMPLETE:
            raise ValueError(f"{what} is COMPLETE without values; give its values.")
        return
    try:
        check_values(trial.values, n_objectives)
    except ValueError as e:
        raise ValueError(f"{what}: {e}") from None


class Storage(ABC):
    """Abstract base of storage backends. Every method is safe to call from several threads."""

    _clock: Clock = time.time

    @property
    def clock(self) -> Clock:
        """The clock this storage stamps and judges time by (see :data:`Clock`); code that
        schedules heartbeats or stale checks against the same storage can read it too."""
        return self._clock

    # ---- studies ---------------------------------------------------------------------------
    @abstractmethod
    def create_study(self, name: str, directions: Sequence[Direction]) -> int:
        """Create a study and return its id; raises DuplicatedStudyError if the name exists."""

    @abstractmethod
    def get_study_id(self, name: str) -> int:
        """Id of the study ``name``; raises StudyNotFoundError."""

    @abstractmethod
    def get_study_name(self, study_id: int) -> str: ...

    @abstractmethod
    def get_study_directions(self, study_id: int) -> tuple[Direction, ...]: ...

    @abstractmethod
    def list_studies(self) -> list[StudySummary]: ...

    @abstractmethod
    def delete_study(self, study_id: int) -> None: ...

    @abstractmethod
    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None: ...

    @abstractmethod
    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]: ...

    @abstractmethod
    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        """A JSON value honed keeps with the study (its fault settings, ...), apart from the
        user's attributes."""

    @abstractmethod
    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]: ...

    # ---- trials ----------------------------------------------------------------------------
    @abstractmethod
    def create_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        params: Mapping[str, ParamValue] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        """Add a trial with the next number. ``state`` is RUNNING (asked) or WAITING
        (enqueued, with the fixed ``params`` and, optionally, their distributions)."""

    @abstractmethod
    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING and return it; None if none.
        Two callers never claim the same trial."""

    @abstractmethod
    def set_trial_params(
        self,
        trial_id: int,
        params: Mapping[str, ParamValue],
        distributions: Mapping[str, Distribution],
    ) -> None:
        """Add parameters to an unfinished trial (one transaction for all of them)."""

    @abstractmethod
    def set_trial_intermediate_value(
        self,
        trial_id: int,
        step: int,
        value: float | Sequence[float],
        seconds: float | None = None,
    ) -> None:
        """Record the report at ``step`` (again: replace it): one number, or one per objective
        (``FrozenTrial.intermediate_vectors``), with the trial's ``seconds`` so far when known
        (``FrozenTrial.report_seconds``)."""

    def set_trial_intermediate_values(
        self,
        trial_id: int,
        reports: Sequence[tuple[int, float | Sequence[float], float | None]],
    ) -> None:
        """Several reports, each ``(step, value, seconds)`` as in
        :meth:`set_trial_intermediate_value`, at once: one transaction where the backend
        has them (a step given twice: the last one counts). A report-heavy objective that
        hands its reports over in batches costs one round trip per batch instead of one
        per report. Backends without batching inherit this loop."""
        for step, value, seconds in reports:
            self.set_trial_intermediate_value(trial_id, step, value, seconds)

    @abstractmethod
    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None: ...

    @abstractmethod
    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None: ...

    @abstractmethod
    def set_trial_constraints(self, trial_id: int, constraints: Sequence[float]) -> None: ...

    @abstractmethod
    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, ParamValue] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
    ) -> FrozenTrial:
        """Move a RUNNING trial to a finished state with its values; returns the final record.
        ``params`` (with their ``distributions``) are added in the same transaction, as
        :meth:`set_trial_params` would: the last parameters a trial sampled are written
        with its result rather than in a transaction of their own."""

    def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        """Add a copy of ``trial`` (read from this storage or another) as the study's next
        trial: its state, parameters and distributions, values, reports, constraints and
        attributes; its number is the next one of this study, its id this storage's.
        :func:`honed.storage.copy_study` is made of it. Backends keep the trial's start and
        finish times (every built-in one does); this default, made of the other methods,
        stamps them with the time of the copy."""
        if trial.state is TrialState.COMPLETE:  # refused before anything is written
            check_values(trial.values, len(self.get_study_directions(study_id)))
        waiting = trial.state is TrialState.WAITING
        new = self.create_trial(
            study_id,
            TrialState.WAITING if waiting else TrialState.RUNNING,
            trial.params,
            trial.distributions,
            trial.system_attrs,
        )
        tid = new.trial_id
        for key, value in trial.user_attrs.items():
            self.set_trial_user_attr(tid, key, value)
        if trial.constraints is not None:
            self.set_trial_constraints(tid, trial.constraints)
        seconds = trial.report_seconds
        reports: list[tuple[int, float | Sequence[float], float | None]] = [
            (step, value, seconds.get(step)) for step, value in trial.intermediate_values.items()
        ]
        reports += [(s, v, seconds.get(s)) for s, v in trial.intermediate_vectors.items()]
        if reports:
            self.set_trial_intermediate_values(tid, reports)
        if trial.state.is_finished:
            return self.finish_trial(tid, trial.state, trial.values)
        return self.get_trial(tid)

    def add_trials(self, study_id: int, trials: Sequence[FrozenTrial]) -> list[int]:
        """Add finished trials (COMPLETE, PRUNED or FAILED) made elsewhere. Each gets the
        next number (in the order given), a new trial id and a finish sequence; its params,
        distributions, values, reports, constraints, attributes and times are kept, its
        ``number`` and ``trial_id`` ignored. Returns the new trials' numbers. Raises
        ValueError (see :func:`check_added_trial`) before writing anything if one is not a
        finished record this study can hold. The built-in SQL and memory storages add them in
        one transaction; this default adds them one by one with :meth:`add_trial`."""
        trials = list(trials)
        n_objectives = len(self.get_study_directions(study_id))
        for i, trial in enumerate(trials):
            check_added_trial(i, trial, n_objectives)
        return [self.add_trial(study_id, trial).number for trial in trials]

    @abstractmethod
    def get_trial(self, trial_id: int) -> FrozenTrial: ...

    @abstractmethod
    def get_trials(
        self, study_id: int, states: Sequence[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """Trials of a study ordered by number, optionally only those in ``states``."""

    @abstractmethod
    def get_trials_since(self, study_id: int, finish_seq: int) -> tuple[list[FrozenTrial], int]:
        """Unfinished trials, plus finished trials whose finish sequence is above
        ``finish_seq``; and the highest finish sequence of the study. Pass the returned
        sequence next time to read only what changed."""

    @abstractmethod
    def count_trials(self, study_id: int, states: Sequence[TrialState] | None = None) -> int: ...

    def record_heartbeat(self, trial_id: int) -> None:  # noqa: B027 - optional for backends
        """Mark a running trial as alive (used for stale-trial detection)."""

    def fail_stale_trials(
        self, study_id: int, grace_period: float, retries: int = 0
    ) -> list[FrozenTrial]:
        """Fail the RUNNING trials whose last sign of life (start, heartbeat, report) is more
        than ``grace_period`` seconds old: their worker is gone. Only trials whose system
        attrs carry :data:`HEARTBEAT_ATTR` are considered (their worker promised heartbeats).

        One transaction, and a conditional update, so each stale trial is failed by exactly
        one caller however many workers look at once; returns the trials *this* call failed.
        A failed trial whose ``attempt`` (system attr, 0 for a first attempt) is below
        ``retries`` gets a WAITING copy with the same parameters in the same transaction
        (see :func:`retry_attrs`), so a retry is never lost nor made twice.
        """
        raise NotImplementedError(f"{type(self).__name__} does not detect stale trials.")

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release connections."""


def retry_attrs(trial: FrozenTrial, retries: int) -> dict[str, Any] | None:
    """System attrs of the next attempt of ``trial``, or None when its retries are used up.

    ``attempt`` counts from 0, ``retry_of`` is the number of the attempt just failed and
    ``first_attempt`` the number of attempt 0, so every attempt of a configuration links to
    the one before and to the first. A recorded seed goes with it: a retry runs the same
    configuration on the same seed."""
    attempt = int(trial.system_attrs.get("attempt", 0))
    if attempt >= retries:
        return None
    attrs = {
        "retry_of": trial.number,
        "attempt": attempt + 1,
        "first_attempt": int(trial.system_attrs.get("first_attempt", trial.number)),
    }
    for key in (HEARTBEAT_ATTR, SEED_ATTR):
        if key in trial.system_attrs:
            attrs[key] = trial.system_attrs[key]
    return attrs
