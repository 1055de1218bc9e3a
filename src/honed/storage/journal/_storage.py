"""The journal storage: every write one record appended to a shared file, every handle a
replay of the file in memory.

Each handle holds an :class:`~honed.storage.InMemoryStorage` that is the replay of the file
so far. A write takes the exclusive lock, replays what other processes appended since the
handle last looked, applies the operation to the replay (which checks it: a refused
operation writes nothing) and appends it. Replaying is deterministic: an operation is
applied to the same state in every process, with the time its writer stamped on it, so
every handle gives every study, trial and trial id the same number.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from honed.errors import StorageError
from honed.space import Distribution, ParamValue
from honed.storage.base import Clock, Storage, StudySummary, check_added_trial, check_study_name
from honed.storage.journal._file import JournalFile, encode_record
from honed.storage.journal._records import (
    dists_from_json,
    dists_to_json,
    reports_to_json,
    trial_from_json,
    trial_to_json,
)
from honed.storage.memory import InMemoryStorage
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["JournalStorage"]

logger = logging.getLogger(__name__)

FORMAT = "honed-journal"
VERSION = 1
HEADER = encode_record({"op": FORMAT, "version": VERSION})  # the first line of every journal

# What is flushed to disk (fsync) as it is written: studies, and every trial's end. A flush
# writes out everything before it, so a finished trial is on disk with all it recorded. The
# writes during a trial (parameters, reports, attributes, heartbeats) reach the file at once
# (a killed process loses none of them) but the disk at the next flush: a crash of the
# machine itself may lose the last of them, never a result.
_SYNCED = frozenset(
    {
        "create_study",
        "delete_study",
        "study_attr",
        "finish",
        "fail_stale",
        "add_trial",
        "add_trials",
    }
)

_OPEN: weakref.WeakSet[JournalStorage] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A lock held by another thread of the parent at the fork would stay held for good, and
    # the files are the parent's (a lock taken through them would be the parent's lock).
    for storage in list(_OPEN):
        storage._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class JournalStorage(Storage):
    """Studies in one append-only file that many processes, on one machine or many, share.

    No database server: every write is one checksummed line appended to ``path`` under a
    lock (``<path>.lock``, taken with ``flock``), and every handle replays the lines it has
    not read yet. Trial numbers are dense and unique across all processes; a worker killed
    in the middle of a write loses only that write (the next writer closes the torn line,
    every reader skips it). Creating and deleting studies and finishing trials are flushed
    to disk (``fsync``) before the lock is released, with everything written before them;
    the writes during a trial reach the file at once but the disk at the next flush, so a
    crash of the machine itself (not of a process) may lose the last of them, never a
    result: the durability of honed's SQLite and PostgreSQL storages.

    On NFS the lock is what keeps the file whole: Linux clients take ``flock`` locks on the
    server (NFSv4, or NFSv3 with its lock service) and re-read the file once a lock is
    held. A mount with ``nolock`` or ``local_lock=...`` takes locks on each machine alone,
    and machines would then overwrite each other's records: use a local file or a database
    there. Lustre needs the ``flock`` mount option (without it the lock is refused with an
    error naming the file).

    The file only grows (every report and heartbeat is a line), and a handle that opens it
    replays it from the start: for studies of many thousands of trials with reports at
    every step, a database (``sqlite:///`` on one machine, ``postgresql://``) reads faster.

    Args:
        path: The journal file; created if missing (its folder must exist).
        read_only: Only read: the file must exist, nothing is created or written (a write
            raises :class:`~honed.errors.StorageError`).
        clock: This process's clock (seconds since the epoch); ``time.time`` by default.
            Every record is stamped with it, and stale trials are judged by it: the machines
            sharing a journal need synchronised clocks (NTP) for heartbeats to mean the same
            on all of them. Tests inject a :class:`honed.testing.ManualClock`. A copy sent
            to another process (it travels by path) uses ``time.time``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, clock: Clock | None = None
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._clock: Clock = time.time if clock is None else clock
        self._lock = threading.Lock()
        self._file = JournalFile(self.path, read_only=read_only)
        self._seen_header = False
        self._reopen = False
        self._reset()
        try:
            with self._lock:
                if read_only:
                    self._catch_up()
                else:
                    with self._file.locked(exclusive=True):
                        self._catch_up()
                        if not self._seen_header:
                            self._file.append(HEADER, sync=True)
                            self._seen_header = True
        except BaseException:
            self._file.close()  # a journal that failed to open holds no file
            raise
        _OPEN.add(self)

    def __repr__(self) -> str:
        return f"JournalStorage({str(self.path)!r})"

    @property
    def url(self) -> str:
        """The URL that opens this journal again: ``journal:///`` and the absolute path (so
        ``journal:////shared/study.log``, as SQLite URLs write absolute paths)."""
        return "journal:///" + str(self.path.absolute())

    # Storages travel to worker processes by path: files and locks never cross a fork.
    def __getstate__(self) -> dict[str, Any]:
        return {"path": str(self.path.absolute()), "read_only": self.read_only}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], read_only=state["read_only"])  # type: ignore[misc]

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def _forked(self) -> None:
        """In a forked child: a new thread lock, and the files opened again at the next call
        (lazily: a child that never touches this storage opens nothing)."""
        self._lock = threading.Lock()
        if not self._file.closed:
            self._file.close()  # the child's copies only: the parent's lock stays held
            self._reopen = True

    def _reopen_after_fork(self) -> None:
        if self._reopen:
            self._file.reopen()
            self._reset()
            self._reopen = False

    # ---- the replay ------------------------------------------------------------------------
    def _reset(self) -> None:
        """Forget the replay; the next read replays the file from its start."""
        self._record_time = 0.0
        self._replay = InMemoryStorage(clock=lambda: self._record_time)
        self._seen_header = False
        self._file.offset = 0

    def _catch_up(self) -> None:
        """Replay the records appended since the last read. Hold ``self._lock`` and a file
        lock (or read a file nobody can write)."""
        if self._file.closed:
            raise StorageError(f"{self!r} is closed.")
        for line in self._file.read_new():
            record = line.record
            before_header = not self._seen_header and (record is None or record.get("op") != FORMAT)
            if before_header and not HEADER.startswith(line.text):  # not a header cut short
                raise StorageError(
                    f"{str(self.path)!r} is not a honed journal (its first line is not a "
                    "journal header); pass the path of a journal honed wrote, or of a new file."
                )
            if record is None:
                logger.warning(
                    "journal %s: skipped a damaged record at byte %d (a write cut short by a "
                    "crash; nothing after it is lost).",
                    self.path,
                    line.offset,
                )
                continue
            if not self._seen_header:
                self._check_header(record, line.offset)
                continue
            try:
                self._apply(record)
            except Exception as e:  # every handle skips it alike: replays stay the same
                logger.warning(
                    "journal %s: skipped the record at byte %d, which cannot be replayed "
                    "(%s: %s): a record it depends on was lost (a machine crash before the "
                    "disk had it), or the file was changed by something other than honed.",
                    self.path,
                    line.offset,
                    type(e).__name__,
                    e,
                )

    def _check_header(self, record: dict[str, Any], offset: int) -> None:
        if record.get("version") != VERSION:
            raise StorageError(
                f"journal {str(self.path)!r} has format version {record.get('version')!r}; "
                f"this honed reads version {VERSION}: upgrade honed (pip install -U honed)."
            )
        self._seen_header = True

    def _apply(self, r: dict[str, Any]) -> Any:
        """Apply one record to the replay (as its writer did, at its writer's time)."""
        self._record_time = r["t"]
        op, m = r["op"], self._replay
        if op == "create_study":
            return m.create_study(r["name"], [Direction(d) for d in r["directions"]])
        if op == "delete_study":
            return m.delete_study(r["study"])
        if op == "study_attr":
            set_attr = m.set_study_user_attr if r["user"] else m.set_study_system_attr
            return set_attr(r["study"], r["key"], r["value"])
        if op == "create_trial":
            return m.create_trial(
                r["study"],
                TrialState(r["state"]),
                r["params"],
                dists_from_json(r["dists"]),
                r["system_attrs"],
            )
        if op == "claim":
            return m.claim_waiting_trial(r["study"])
        if op == "params":
            return m.set_trial_params(r["trial"], r["params"], dists_from_json(r["dists"]))
        if op == "reports":
            reports = [(s, tuple(v) if isinstance(v, list) else v, sec) for s, v, sec in r["r"]]
            return m.set_trial_intermediate_values(r["trial"], reports)
        if op == "trial_attr":
            set_trial_attr = m.set_trial_user_attr if r["user"] else m.set_trial_system_attr
            return set_trial_attr(r["trial"], r["key"], r["value"])
        if op == "constraints":
            return m.set_trial_constraints(r["trial"], r["c"])
        if op == "finish":
            return m.finish_trial(
                r["trial"],
                TrialState(r["state"]),
                r["values"],
                r["system_attrs"],
                params=r["params"],
                distributions=dists_from_json(r["dists"]),
            )
        if op == "heartbeat":
            return m.record_heartbeat(r["trial"])
        if op == "fail_stale":
            return m.fail_stale_trials(r["study"], r["grace"], r["retries"])
        if op == "add_trial":
            return m.add_trial(r["study"], trial_from_json(r["trial"], -1, -1))
        if op == "add_trials":
            return m.add_trials(r["study"], [trial_from_json(t, -1, -1) for t in r["trials"]])
        raise ValueError(f"unknown operation {op!r}")

    # ---- reading and writing ---------------------------------------------------------------
    def _read(self, fn: Callable[[InMemoryStorage], Any]) -> Any:
        """``fn`` on the replay, brought up to date first."""
        with self._lock:
            self._reopen_after_fork()
            with self._file.locked(exclusive=False):
                self._catch_up()
                return fn(self._replay)

    def _write(self, op: str, skip_if: Callable[[Any], bool] | None = None, **args: Any) -> Any:
        """Apply one operation to the up-to-date replay and, unless it was refused (or
        ``skip_if`` says it changed nothing), append it: all under the exclusive lock. The
        operations in :data:`_SYNCED` are flushed to disk before the lock is released."""
        if self.read_only:
            raise StorageError(f"{self!r} was opened read-only; open it without read_only.")
        line = encode_record({"op": op, "t": self._clock(), **args})
        record = _decode_own(line)  # what every reader will apply, exactly
        with self._lock:
            self._reopen_after_fork()
            with self._file.locked(exclusive=True):
                return self._apply_and_append(line, record, skip_if)

    def _apply_and_append(
        self, line: bytes, record: dict[str, Any], skip_if: Callable[[Any], bool] | None
    ) -> Any:
        self._catch_up()
        result = self._apply(record)
        if skip_if is not None and skip_if(result):
            return result
        try:
            self._file.append(line, sync=record["op"] in _SYNCED)
        except OSError as e:
            self._reset()  # the replay holds a record the file may not: read it again
            raise StorageError(f"cannot write to journal {str(self.path)!r}: {e}.") from e
        return result

    # ---- studies ---------------------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[Direction]) -> int:
        check_study_name(name)
        return int(self._write("create_study", name=name, directions=[d.value for d in directions]))

    def get_study_id(self, name: str) -> int:
        return int(self._read(lambda m: m.get_study_id(name)))

    def get_study_name(self, study_id: int) -> str:
        return str(self._read(lambda m: m.get_study_name(study_id)))

    def get_study_directions(self, study_id: int) -> tuple[Direction, ...]:
        return tuple(self._read(lambda m: m.get_study_directions(study_id)))

    def list_studies(self) -> list[StudySummary]:
        return list(self._read(lambda m: m.list_studies()))

    def delete_study(self, study_id: int) -> None:
        self._write("delete_study", study=study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._write("study_attr", study=study_id, user=True, key=key, value=value)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self._read(lambda m: m.get_study_user_attrs(study_id)))

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._write("study_attr", study=study_id, user=False, key=key, value=value)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self._read(lambda m: m.get_study_system_attrs(study_id)))

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
        return self._write(
            "create_trial",
            study=study_id,
            state=int(state),
            params=dict(params or {}),
            dists=dists_to_json(distributions),
            system_attrs=dict(system_attrs or {}),
        )

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        return self._write("claim", skip_if=lambda t: t is None, study=study_id)

    def set_trial_params(
        self,
        trial_id: int,
        params: Mapping[str, ParamValue],
        distributions: Mapping[str, Distribution],
    ) -> None:
        self._write(
            "params", trial=trial_id, params=dict(params), dists=dists_to_json(distributions)
        )

    def set_trial_intermediate_value(
        self,
        trial_id: int,
        step: int,
        value: float | Sequence[float],
        seconds: float | None = None,
    ) -> None:
        self.set_trial_intermediate_values(trial_id, [(step, value, seconds)])

    def set_trial_intermediate_values(
        self,
        trial_id: int,
        reports: Sequence[tuple[int, float | Sequence[float], float | None]],
    ) -> None:
        """Every report of the batch in one record: one append, one flush."""
        if not reports:
            return
        self._write("reports", trial=trial_id, r=reports_to_json(reports))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._write("trial_attr", trial=trial_id, user=True, key=key, value=value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._write("trial_attr", trial=trial_id, user=False, key=key, value=value)

    def set_trial_constraints(self, trial_id: int, constraints: Sequence[float]) -> None:
        self._write("constraints", trial=trial_id, c=[float(c) for c in constraints])

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
        return self._write(
            "finish",
            trial=trial_id,
            state=int(state),
            values=None if values is None else [float(v) for v in values],
            system_attrs=dict(system_attrs or {}),
            params=dict(params or {}),
            dists=dists_to_json(distributions),
        )

    def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        return self._write("add_trial", study=study_id, trial=trial_to_json(trial))

    def add_trials(self, study_id: int, trials: Sequence[FrozenTrial]) -> list[int]:
        # One record: all the trials are added, or (a torn record) none.
        n_objectives = len(self.get_study_directions(study_id))
        for i, trial in enumerate(trials):
            check_added_trial(i, trial, n_objectives)
        return self._write("add_trials", study=study_id, trials=[trial_to_json(t) for t in trials])

    def record_heartbeat(self, trial_id: int) -> None:
        self._write("heartbeat", trial=trial_id)

    def fail_stale_trials(
        self, study_id: int, grace_period: float, retries: int = 0
    ) -> list[FrozenTrial]:
        # One record: every handle replays the same decision at the same time, so each stale
        # trial is failed, and retried, exactly once.
        return self._write(
            "fail_stale",
            skip_if=lambda failed: not failed,
            study=study_id,
            grace=float(grace_period),
            retries=int(retries),
        )

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self._read(lambda m: m.get_trial(trial_id))

    def get_trials(
        self, study_id: int, states: Sequence[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return self._read(lambda m: m.get_trials(study_id, states))

    def get_trials_since(self, study_id: int, finish_seq: int) -> tuple[list[FrozenTrial], int]:
        return self._read(lambda m: m.get_trials_since(study_id, finish_seq))

    def count_trials(self, study_id: int, states: Sequence[TrialState] | None = None) -> int:
        return int(self._read(lambda m: m.count_trials(study_id, states)))


def _decode_own(line: bytes) -> dict[str, Any]:
    """The record of a line just encoded, as a reader will decode it."""
    return json.loads(line[9:-1])
