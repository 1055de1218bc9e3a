"""In-memory storage: fast, thread-safe, gone when the process ends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from honed.errors import DuplicatedStudyError, StudyNotFoundError, TrialStateError
from honed.space import Distribution, ParamValue
from honed.storage.base import (
    HEARTBEAT_ATTR,
    Clock,
    Storage,
    StudySummary,
    check_added_trial,
    check_state_change,
    check_study_name,
    check_values,
    is_storable_study_name,
    retry_attrs,
)
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["InMemoryStorage"]


def _json_copy(value: Any) -> Any:
    """A deep copy through JSON, so attributes behave exactly as in the SQL storage
    (tuples come back as lists; sets, NaN and arbitrary objects are refused)."""
    return json.loads(json.dumps(value, allow_nan=False))


@dataclass
class _Study:
    study_id: int
    name: str
    directions: tuple[Direction, ...]
    created: datetime
    trials: list[FrozenTrial] = field(default_factory=list)
    # Incremental reads touch only what changed: the numbers of unfinished trials, and the
    # numbers of finished ones in finish order (the trial at index i has finish sequence i+1).
    unfinished: dict[int, None] = field(default_factory=dict)
    finished: list[int] = field(default_factory=list)
    max_seq: int = 0
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)


class InMemoryStorage(Storage):
    """Keeps studies in this process. Threads share it; processes do not (use SQLite).

    Args:
        clock: What times are read from (seconds since the epoch); ``time.time`` by default.
            Tests inject a :class:`honed.testing.ManualClock` to age trials without waiting.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = time.time if clock is None else clock
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        self._by_name: dict[str, int] = {}
        self._trial_index: dict[int, tuple[int, int]] = {}  # trial_id -> (study_id, number)
        self._next_study_id = 0
        self._next_trial_id = 0
        self._heartbeats: dict[int, float] = {}  # trial_id -> time of the last heartbeat

    def _datetime(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # ---- studies ---------------------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[Direction]) -> int:
        check_study_name(name)
        with self._lock:
            if name in self._by_name:
                raise DuplicatedStudyError(
                    f"a study named {name!r} already exists; pass load_if_exists=True to reuse it."
                )
            sid = self._next_study_id
            self._next_study_id += 1
            self._studies[sid] = _Study(sid, name, tuple(directions), self._datetime())
            self._by_name[name] = sid
            return sid

    def _study(self, study_id: int) -> _Study:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id}.") from None

    def get_study_id(self, name: str) -> int:
        with self._lock:
            if not is_storable_study_name(name) or name not in self._by_name:
                raise StudyNotFoundError(f"no study named {name!r} in this storage.")
            return self._by_name[name]

    def get_study_name(self, study_id: int) -> str:
        with self._lock:
            return self._study(study_id).name

    def get_study_directions(self, study_id: int) -> tuple[Direction, ...]:
        with self._lock:
            return self._study(study_id).directions

    def list_studies(self) -> list[StudySummary]:
        from honed.history import History

        with self._lock:
            out = []
            for s in self._studies.values():
                counts = {st: 0 for st in TrialState}
                for t in s.trials:
                    counts[t.state] += 1
                best = None
                if len(s.directions) == 1:
                    bt = History(s.trials, s.directions).best_trial()
                    best = bt.values if bt else None
                out.append(
                    StudySummary(
                        s.study_id,
                        s.name,
                        s.directions,
                        counts,
                        best,
                        s.created,
                        dict(s.user_attrs),
                    )
                )
            return out

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            s = self._study(study_id)
            for t in s.trials:
                self._trial_index.pop(t.trial_id, None)
            del self._by_name[s.name]
            del self._studies[study_id]

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._study(study_id).user_attrs[key] = _json_copy(value)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            return _json_copy(self._study(study_id).user_attrs)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._study(study_id).system_attrs[key] = _json_copy(value)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            return _json_copy(self._study(study_id).system_attrs)

    # ---- trials ----------------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        params: Mapping[str, ParamValue] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        if state not in (TrialState.RUNNING, TrialState.WAITING):
            raise ValueError(f"a new trial is RUNNING or WAITING, not {state.name}.")
        with self._lock:
            s = self._study(study_id)
            tid = self._next_trial_id
            self._next_trial_id += 1
            t = FrozenTrial(
                number=len(s.trials),
                state=state,
                params=dict(params or {}),
                distributions=dict(distributions or {}),
                system_attrs=dict(system_attrs or {}),
                datetime_start=self._datetime() if state is TrialState.RUNNING else None,
                trial_id=tid,
            )
            s.trials.append(t)
            s.unfinished[t.number] = None
            self._trial_index[tid] = (study_id, t.number)
            return t

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        with self._lock:
            s = self._study(study_id)
            for t in s.trials:
                if t.state is TrialState.WAITING:
                    new = replace(t, state=TrialState.RUNNING, datetime_start=self._datetime())
                    s.trials[t.number] = new
                    return new
            return None

    def _locate(self, trial_id: int) -> tuple[_Study, FrozenTrial]:
        try:
            sid, number = self._trial_index[trial_id]
        except KeyError:
            raise KeyError(f"no trial with id {trial_id}.") from None
        s = self._studies[sid]
        return s, s.trials[number]

    def _update(self, trial_id: int, **changes: Any) -> FrozenTrial:
        with self._lock:
            s, t = self._locate(trial_id)
            if t.state.is_finished:
                raise TrialStateError(
                    f"trial {t.number} is already {t.state.name} and cannot change."
                )
            new = replace(t, **changes)
            s.trials[t.number] = new
            return new

    def set_trial_params(
        self,
        trial_id: int,
        params: Mapping[str, ParamValue],
        distributions: Mapping[str, Distribution],
    ) -> None:
        with self._lock:
            _, t = self._locate(trial_id)
            self._update(
                trial_id,
                params={**t.params, **params},
                distributions={**t.distributions, **distributions},
            )

    def set_trial_intermediate_value(
        self,
        trial_id: int,
        step: int,
        value: float | Sequence[float],
        seconds: float | None = None,
    ) -> None:
        step = int(step)
        with self._lock:
            _, t = self._locate(trial_id)
            secs = dict(t.report_seconds)
            if seconds is None:
                secs.pop(step, None)
            else:
                secs[step] = float(seconds)
            if isinstance(value, Sequence):
                vector = tuple(float(x) for x in value)
                vectors = {**t.intermediate_vectors, step: vector}
                self._update(trial_id, report_seconds=secs, intermediate_vectors=vectors)
            else:
                values = {**t.intermediate_values, step: float(value)}
                self._update(trial_id, report_seconds=secs, intermediate_values=values)
            self._heartbeats[trial_id] = self._clock()  # a report is a sign of life too

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            _, t = self._locate(trial_id)
            self._update(trial_id, user_attrs={**t.user_attrs, key: _json_copy(value)})

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            _, t = self._locate(trial_id)
            self._update(trial_id, system_attrs={**t.system_attrs, key: _json_copy(value)})

    def set_trial_constraints(self, trial_id: int, constraints: Sequence[float]) -> None:
        self._update(trial_id, constraints=tuple(float(c) for c in constraints))

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
        if not state.is_finished:
            raise ValueError(f"finish_trial needs a finished state, not {state.name}.")
        with self._lock:
            s, t = self._locate(trial_id)
            check_state_change(t.number, t.state, state)
            if state is TrialState.COMPLETE:
                check_values(values, len(s.directions))
            s.finished.append(t.number)
            s.unfinished.pop(t.number, None)
            s.max_seq = len(s.finished)
            new = replace(
                t,
                state=state,
                params={**t.params, **(params or {})},
                distributions={**t.distributions, **(distributions or {})},
                values=None if values is None else tuple(float(v) for v in values),
                system_attrs={**t.system_attrs, **(system_attrs or {})},
                datetime_start=t.datetime_start or self._datetime(),
                datetime_complete=self._datetime(),
            )
            s.trials[t.number] = new
            return new

    def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        with self._lock:
            s = self._study(study_id)
            if trial.state is TrialState.COMPLETE:
                check_values(trial.values, len(s.directions))
            new = replace(
                trial,
                number=len(s.trials),
                trial_id=self._next_trial_id,
                user_attrs=_json_copy(trial.user_attrs),
                system_attrs=_json_copy(trial.system_attrs),
            )
            self._next_trial_id += 1
            s.trials.append(new)
            self._trial_index[new.trial_id] = (study_id, new.number)
            if new.state.is_finished:
                s.finished.append(new.number)
                s.max_seq = len(s.finished)
            else:
                s.unfinished[new.number] = None
            return new

    def add_trials(self, study_id: int, trials: Sequence[FrozenTrial]) -> list[int]:
        with self._lock:
            s = self._study(study_id)
            for i, t in enumerate(trials):
                check_added_trial(i, t, len(s.directions))
            # Attributes through JSON first, so a bad one refuses the batch before any write.
            attrs = [
                (_json_copy(dict(t.user_attrs)), _json_copy(dict(t.system_attrs))) for t in trials
            ]
            now = self._datetime()
            numbers = []
            for t, (user, system) in zip(trials, attrs, strict=True):
                tid = self._next_trial_id
                self._next_trial_id += 1
                new = replace(
                    t,
                    number=len(s.trials),
                    trial_id=tid,
                    values=None if t.values is None else tuple(float(v) for v in t.values),
                    user_attrs=user,
                    system_attrs=system,
                    datetime_complete=t.datetime_complete or now,
                )
                s.trials.append(new)
                s.finished.append(new.number)
                self._trial_index[tid] = (study_id, new.number)
                numbers.append(new.number)
            s.max_seq = len(s.finished)
            return numbers

    def record_heartbeat(self, trial_id: int) -> None:
        with self._lock:
            self._heartbeats[trial_id] = self._clock()

    def fail_stale_trials(
        self, study_id: int, grace_period: float, retries: int = 0
    ) -> list[FrozenTrial]:
        now = self._clock()
        failed = []
        with self._lock:
            s = self._study(study_id)
            for t in list(s.trials):
                if t.state is not TrialState.RUNNING or HEARTBEAT_ATTR not in t.system_attrs:
                    continue
                alive = [t.datetime_start.timestamp()] if t.datetime_start else []
                if t.trial_id in self._heartbeats:
                    alive.append(self._heartbeats[t.trial_id])
                if alive and now - max(alive) <= grace_period:
                    continue
                reason = f"stale: no heartbeat for more than {grace_period:g} s."
                failed.append(
                    self.finish_trial(
                        t.trial_id, TrialState.FAILED, system_attrs={"fail_reason": reason}
                    )
                )
                self._heartbeats.pop(t.trial_id, None)
                retry = retry_attrs(failed[-1], retries)
                if retry is not None:
                    self.create_trial(
                        study_id, TrialState.WAITING, t.params, t.distributions, retry
                    )
        return failed

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            return self._locate(trial_id)[1]

    def get_trials(
        self, study_id: int, states: Sequence[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._lock:
            trials = list(self._study(study_id).trials)
        if states is not None:
            wanted = set(states)
            trials = [t for t in trials if t.state in wanted]
        return trials

    def get_trials_since(self, study_id: int, finish_seq: int) -> tuple[list[FrozenTrial], int]:
        with self._lock:
            s = self._study(study_id)
            numbers = [*s.unfinished, *s.finished[max(finish_seq, 0) :]]
            return [s.trials[n] for n in sorted(numbers)], s.max_seq

    def count_trials(self, study_id: int, states: Sequence[TrialState] | None = None) -> int:
        return len(self.get_trials(study_id, states))
