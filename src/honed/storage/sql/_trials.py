"""Trial operations of the SQL storage: create, claim, write, finish, read."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from honed.errors import StudyNotFoundError, TrialStateError
from honed.space import Distribution, ParamValue
from honed.storage.base import check_added_trial, check_state_change, check_values
from honed.storage.sql._engine import SQLBase
from honed.storage.sql._records import decoded, dumps, parse_distributions, rows_to_trials, ts
from honed.storage.sql._tables import (
    PG_ADD_REPORTS,
    SQL_ADD_INTERMEDIATE,
    SQL_ALIVE,
    SQL_FINISHED_SINCE,
    SQL_INSERT_TRIAL,
    SQL_SET_INTERMEDIATE,
    SQL_STUDY_SEQ,
    SQL_TRIAL,
    SQL_TRIAL_FOR_UPDATE,
    SQL_UNFINISHED,
    SQL_UPDATE_TRIAL,
    sql_trial_columns,
    sql_upsert_report,
    studies_table,
    trials_table,
)
from honed.trial import FrozenTrial, TrialState

__all__ = ["TrialOps"]


class TrialOps(SQLBase):
    """The trial half of :class:`~honed.storage.sql.SQLStorage`."""

    # ---- writing ---------------------------------------------------------------------------
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
        params = dict(params or {})
        distributions = dict(distributions or {})
        system_attrs = dict(system_attrs or {})
        params_json = dumps(params)
        dists_json = dumps({k: d.to_json() for k, d in distributions.items()})
        attrs_json = dumps(system_attrs)

        def run(conn: Connection) -> tuple[int, int, float | None]:
            # The counter bump takes the study row's write lock, so numbers are dense and
            # unique however many processes insert at once.
            number = self._bump(conn, "next_number", study_id) - 1
            now = self._now() if state is TrialState.RUNNING else None
            res = conn.execute(
                SQL_INSERT_TRIAL,
                {
                    "study_id": study_id,
                    "number": number,
                    "state": int(state),
                    "params_json": params_json,
                    "distributions_json": dists_json,
                    "user_attrs_json": "{}",
                    "system_attrs_json": attrs_json,
                    "started_at": now,
                    "heartbeat_at": now,
                },
            )
            return int(res.inserted_primary_key[0]), number, now  # type: ignore[index]

        trial_id, number, started = self._write(run)
        return FrozenTrial(
            number=number,
            state=state,
            params=params,
            distributions=distributions,
            system_attrs=system_attrs,
            datetime_start=ts(started),
            trial_id=trial_id,
        )

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        def run(conn: Connection) -> int | None:
            while True:
                row = conn.execute(
                    sa.select(trials_table.c.trial_id)
                    .where(
                        trials_table.c.study_id == study_id,
                        trials_table.c.state == int(TrialState.WAITING),
                    )
                    .order_by(trials_table.c.number)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return None
                now = self._now()
                res = conn.execute(
                    trials_table.update()
                    .where(
                        trials_table.c.trial_id == row[0],
                        trials_table.c.state == int(TrialState.WAITING),
                    )
                    .values(state=int(TrialState.RUNNING), started_at=now, heartbeat_at=now)
                )
                if res.rowcount == 1:  # someone else may have claimed it between the two
                    return int(row[0])

        trial_id = self._write(run)
        return None if trial_id is None else self.get_trial(trial_id)

    def _modify(
        self,
        trial_id: int,
        fn: Callable[[Connection, Any], dict[str, Any]],
        columns: tuple[str, ...] = (),
    ) -> None:
        """Read-check-write an unfinished trial's row in one transaction; ``fn`` sees the
        row's number, state and ``columns``. A write during a trial: its commit is
        asynchronous on PostgreSQL (see :meth:`set_trial_intermediate_values`)."""
        select = sql_trial_columns(columns, self._engine.dialect.name)

        def run(conn: Connection) -> None:
            row = conn.execute(select, {"tid": trial_id}).first()
            if row is None:
                raise KeyError(f"no trial with id {trial_id}.")
            with decoded(f"trial id {trial_id}"):
                state = TrialState(row.state)
            if state.is_finished:
                raise TrialStateError(
                    f"trial {row.number} is already {state.name} and cannot change."
                )
            values = fn(conn, row)
            if values:
                conn.execute(SQL_UPDATE_TRIAL, {"tid": trial_id, **values})

        self._write(run)

    def set_trial_params(
        self,
        trial_id: int,
        params: Mapping[str, ParamValue],
        distributions: Mapping[str, Distribution],
    ) -> None:
        if not params:
            return

        def fn(conn: Connection, row: Any) -> dict[str, Any]:
            with decoded(f"trial id {trial_id}"):
                p = json.loads(row.params_json)
                d = json.loads(row.distributions_json)
            p.update(params)
            d.update({k: v.to_json() for k, v in distributions.items()})
            return {"params_json": dumps(p), "distributions_json": dumps(d)}

        self._modify(trial_id, fn, ("params_json", "distributions_json"))

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
        """One transaction: the trial stamped alive (refused if finished), and each report
        inserted or replaced (an upsert: no read first). On PostgreSQL that is one statement
        in one round trip, and its commit is asynchronous (``synchronous_commit=off``): the
        server acknowledges before its WAL reaches the disk, so a server crash may lose the
        last fraction of a second of reports, never a trial's result (SQLite in WAL mode with
        ``synchronous=NORMAL`` gives every transaction that durability)."""
        rows: dict[int, dict[str, Any]] = {}
        for step, value, seconds in reports:
            rows[int(step)] = _report_row(trial_id, int(step), value, seconds)  # last one wins
        if not rows:
            return
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            self._add_reports_postgres(trial_id, list(rows.values()))
            return
        upsert = sql_upsert_report(dialect)
        if upsert is None:
            for row in rows.values():
                self._add_report_generic(trial_id, row)
            return
        params = next(iter(rows.values())) if len(rows) == 1 else list(rows.values())

        def run(conn: Connection) -> None:
            alive = conn.execute(SQL_ALIVE, {"tid": trial_id, "now": self._now()})
            if alive.rowcount != 1:
                raise self._not_writable(conn, trial_id)
            conn.execute(upsert, params)

        self._write(run)

    def _add_reports_postgres(self, trial_id: int, rows: list[dict[str, Any]]) -> None:
        params = {
            "tid": trial_id,
            "now": self._now(),
            "steps": [r["step"] for r in rows],
            "values": [r["value"] for r in rows],
            "seconds": [r["seconds"] for r in rows],
            "vectors": [r["vector_json"] for r in rows],
        }
        written = self._write_statement(PG_ADD_REPORTS, params)
        if not written:
            raise self._read(lambda conn: self._not_writable(conn, trial_id))

    def _not_writable(self, conn: Connection, trial_id: int) -> Exception:
        """Why a trial could not be written: it does not exist, or it is finished."""
        row = conn.execute(
            sa.select(trials_table.c.number, trials_table.c.state).where(
                trials_table.c.trial_id == trial_id
            )
        ).first()
        if row is None:
            return KeyError(f"no trial with id {trial_id}.")
        with decoded(f"trial id {trial_id}"):
            state = TrialState(row.state)
        return TrialStateError(f"trial {row.number} is already {state.name} and cannot change.")

    def _add_report_generic(self, trial_id: int, row: dict[str, Any]) -> None:
        """A report where the database has no upsert: update, else insert."""
        values = {k: row[k] for k in ("value", "seconds", "vector_json")}

        def fn(conn: Connection, _row: Any) -> dict[str, Any]:
            res = conn.execute(SQL_SET_INTERMEDIATE, {"tid": trial_id, "st": row["step"], **values})
            if res.rowcount == 0:
                conn.execute(SQL_ADD_INTERMEDIATE, row)
            return {"heartbeat_at": self._now()}

        self._modify(trial_id, fn)

    def _set_attr(self, trial_id: int, column: str, key: str, value: Any) -> None:
        encoded = json.loads(dumps(value))  # fail early on values JSON cannot hold

        def fn(conn: Connection, row: Any) -> dict[str, Any]:
            with decoded(f"trial id {trial_id}"):
                attrs = json.loads(getattr(row, column))
            attrs[key] = encoded
            return {column: dumps(attrs)}

        self._modify(trial_id, fn, (column,))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_attr(trial_id, "user_attrs_json", key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_attr(trial_id, "system_attrs_json", key, value)

    def set_trial_constraints(self, trial_id: int, constraints: Sequence[float]) -> None:
        text = dumps([float(c) for c in constraints])
        self._modify(trial_id, lambda conn, row: {"constraints_json": text})

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
        values_json = None if values is None else dumps([float(v) for v in values])
        new_dists = {k: d.to_json() for k, d in (distributions or {}).items()}

        def run(conn: Connection) -> FrozenTrial:
            row = conn.execute(SQL_TRIAL_FOR_UPDATE, {"tid": trial_id}).first()
            if row is None:
                raise KeyError(f"no trial with id {trial_id}.")
            with decoded(f"trial id {trial_id}"):
                old_state = TrialState(row.state)
                attrs = json.loads(row.system_attrs_json)
                merged = json.loads(row.params_json)
                merged_dists = json.loads(row.distributions_json)
            check_state_change(row.number, old_state, state)
            if state is TrialState.COMPLETE:
                check_values(values, len(self.get_study_directions(row.study_id)))
            seq = self._bump(conn, "finish_seq", row.study_id)
            attrs.update(system_attrs or {})
            attrs_json = dumps(attrs)
            now = self._now()
            update = {
                "tid": trial_id,
                "state": int(state),
                "values_json": values_json,
                "system_attrs_json": attrs_json,
                "completed_at": now,
                "finish_seq": seq,
            }
            if params:
                merged.update(params)
                merged_dists.update(new_dists)
                update["params_json"] = dumps(merged)
                update["distributions_json"] = dumps(merged_dists)
            conn.execute(SQL_UPDATE_TRIAL, update)
            # The final record, from the row as written: no second read transaction.
            (before,) = rows_to_trials(conn, [row])
            return replace(
                before,
                state=state,
                params=json.loads(update.get("params_json", row.params_json)),
                distributions=parse_distributions(
                    update.get("distributions_json", row.distributions_json)
                ),
                values=None if values_json is None else tuple(json.loads(values_json)),
                system_attrs=json.loads(attrs_json),
                datetime_complete=ts(now),
            )

        return self._write(run)

    def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        """The trial made of the other writes, then its own start and finish times."""
        new = super().add_trial(study_id, trial)
        start, complete = trial.datetime_start, trial.datetime_complete
        times = {
            "started_at": None if start is None else start.timestamp(),
            "completed_at": None if complete is None else complete.timestamp(),
        }

        def run(conn: Connection) -> None:
            conn.execute(
                trials_table.update()
                .where(trials_table.c.trial_id == new.trial_id)
                .values(heartbeat_at=times["started_at"], **times)
            )

        self._write(run)
        return replace(new, datetime_start=start, datetime_complete=complete)

    def add_trials(self, study_id: int, trials: Sequence[FrozenTrial]) -> list[int]:
        """One transaction whatever the count: both study counters moved once, the trial
        rows inserted in one batch, then their report rows in another."""
        trials = list(trials)
        n_obj = len(self.get_study_directions(study_id))
        for i, t in enumerate(trials):
            check_added_trial(i, t, n_obj)
        if not trials:
            return []
        now = self._now()
        rows = [_added_row(study_id, t, now) for t in trials]  # JSON errors before writing
        n = len(trials)

        def run(conn: Connection) -> list[int]:
            first_number, first_seq = self._reserve(conn, study_id, n)
            for i, row in enumerate(rows):
                row["number"] = first_number + i
                row["finish_seq"] = first_seq + i
            conn.execute(SQL_INSERT_TRIAL, rows)
            ids = dict(
                conn.execute(
                    sa.select(trials_table.c.number, trials_table.c.trial_id).where(
                        trials_table.c.study_id == study_id,
                        trials_table.c.number >= first_number,
                        trials_table.c.number < first_number + n,
                    )
                ).all()
            )
            reports = [
                _report_row(ids[first_number + i], step, value, t.report_seconds.get(step))
                for i, t in enumerate(trials)
                for reported in (t.intermediate_values, t.intermediate_vectors)
                for step, value in reported.items()
            ]
            if reports:
                conn.execute(SQL_ADD_INTERMEDIATE, reports)
            return [first_number + i for i in range(n)]

        return self._write(run)

    def _reserve(self, conn: Connection, study_id: int, n: int) -> tuple[int, int]:
        """Take ``n`` trial numbers and ``n`` finish sequences of a study at once; returns
        the first of each."""
        cols = studies_table.c
        where = cols.study_id == study_id
        bump = {"next_number": cols.next_number + n, "finish_seq": cols.finish_seq + n}
        row: tuple[Any, Any] | None = None
        if self._engine.dialect.update_returning:
            stmt = studies_table.update().where(where).values(bump)
            found = conn.execute(stmt.returning(cols.next_number, cols.finish_seq)).first()
            row = None if found is None else (found[0], found[1])
        else:
            current = conn.execute(
                sa.select(cols.next_number, cols.finish_seq).where(where).with_for_update()
            ).first()
            if current is not None:
                conn.execute(studies_table.update().where(where).values(bump))
                row = (current[0] + n, current[1] + n)
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
        return int(row[0]) - n, int(row[1]) - n + 1

    # ---- reading ---------------------------------------------------------------------------
    def get_trial(self, trial_id: int) -> FrozenTrial:
        def run(conn: Connection) -> list[FrozenTrial]:
            rows = conn.execute(SQL_TRIAL, {"tid": trial_id}).all()
            return rows_to_trials(conn, rows)

        trials = self._read(run)
        if not trials:
            raise KeyError(f"no trial with id {trial_id}.")
        return trials[0]

    def get_trials(
        self, study_id: int, states: Sequence[TrialState] | None = None
    ) -> list[FrozenTrial]:
        def run(conn: Connection) -> list[FrozenTrial]:
            q = sa.select(trials_table).where(trials_table.c.study_id == study_id)
            if states is not None:
                q = q.where(trials_table.c.state.in_([int(s) for s in states]))
            return rows_to_trials(conn, conn.execute(q.order_by(trials_table.c.number)).all())

        return self._read(run)

    def get_trials_since(self, study_id: int, finish_seq: int) -> tuple[list[FrozenTrial], int]:
        def run(conn: Connection) -> tuple[list[FrozenTrial], int]:
            row = conn.execute(SQL_STUDY_SEQ, {"sid": study_id}).first()
            if row is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
            rows = list(conn.execute(SQL_UNFINISHED, {"sid": study_id}).all())
            if finish_seq < row[0]:  # something finished since the caller's last read
                since = {"sid": study_id, "seq": finish_seq}
                rows += conn.execute(SQL_FINISHED_SINCE, since).all()
            rows.sort(key=lambda r: r.number)
            return rows_to_trials(conn, rows), int(row[0])

        return self._read(run)

    def count_trials(self, study_id: int, states: Sequence[TrialState] | None = None) -> int:
        def run(conn: Connection) -> int:
            q = sa.select(sa.func.count()).where(trials_table.c.study_id == study_id)
            if states is not None:
                q = q.where(trials_table.c.state.in_([int(s) for s in states]))
            return int(conn.execute(q).scalar_one())

        return self._read(run)


def _report_row(
    trial_id: int, step: int, value: float | Sequence[float], seconds: float | None
) -> dict[str, Any]:
    """The trial_intermediate_values row of one report: a number (NaN as NULL), or an
    objective vector as JSON (NaN kept)."""
    row: dict[str, Any] = {
        "trial_id": trial_id,
        "step": step,
        "value": None,
        "seconds": None if seconds is None else float(seconds),
        "vector_json": None,
    }
    if isinstance(value, Sequence):
        row["vector_json"] = json.dumps([float(x) for x in value])
    else:
        row["value"] = None if value != value else float(value)
    return row


def _added_row(study_id: int, t: FrozenTrial, now: float) -> dict[str, Any]:
    """The ``trials`` row of a record given to ``add_trials`` (number and finish sequence
    filled in later)."""
    start = None if t.datetime_start is None else t.datetime_start.timestamp()
    done = now if t.datetime_complete is None else t.datetime_complete.timestamp()
    return {
        "study_id": study_id,
        "number": -1,
        "state": int(t.state),
        "values_json": None if t.values is None else dumps([float(v) for v in t.values]),
        "constraints_json": None
        if t.constraints is None
        else dumps([float(c) for c in t.constraints]),
        "params_json": dumps(dict(t.params)),
        "distributions_json": dumps({k: d.to_json() for k, d in t.distributions.items()}),
        "user_attrs_json": dumps(dict(t.user_attrs)),
        "system_attrs_json": dumps(dict(t.system_attrs)),
        "started_at": start,
        "completed_at": done,
        "heartbeat_at": None,
        "finish_seq": -1,
    }
