"""Study operations of the SQL storage: create, find, list, delete, attributes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from honed.errors import DuplicatedStudyError, StudyNotFoundError
from honed.storage.base import StudySummary, check_study_name, is_storable_study_name
from honed.storage.sql._engine import SQLBase
from honed.storage.sql._records import decoded, dumps, ts
from honed.storage.sql._tables import intermediate_table, studies_table, trials_table
from honed.trial import Direction, TrialState

__all__ = ["StudyOps"]

# Study-level system attributes share the studies.user_attrs JSON column under this key (no
# schema change); the user's view of the column never shows it.
STUDY_SYSTEM_KEY = "__honed_system__"


class StudyOps(SQLBase):
    """The study half of :class:`~honed.storage.sql.SQLStorage`."""

    def create_study(self, name: str, directions: Sequence[Direction]) -> int:
        check_study_name(name)

        def run(conn: Connection) -> int:
            res = conn.execute(
                studies_table.insert().values(
                    name=name,
                    directions=dumps([d.value for d in directions]),
                    created_at=self._now(),
                    next_number=0,
                    finish_seq=0,
                    user_attrs="{}",
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

        try:
            return self._write(run, passthrough=(IntegrityError,))
        except IntegrityError:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists; pass load_if_exists=True to reuse it."
            ) from None

    def get_study_id(self, name: str) -> int:
        if not is_storable_study_name(name):  # no such study can exist; PostgreSQL would fail
            raise StudyNotFoundError(f"no study named {name!r} in {self!r}.")
        row = self._read(
            lambda c: c.execute(
                sa.select(studies_table.c.study_id).where(studies_table.c.name == name)
            ).first()
        )
        if row is None:
            raise StudyNotFoundError(f"no study named {name!r} in {self!r}.")
        return int(row[0])

    def get_study_name(self, study_id: int) -> str:
        return self._study_info(study_id)[0]

    def get_study_directions(self, study_id: int) -> tuple[Direction, ...]:
        return self._study_info(study_id)[1]

    def list_studies(self) -> list[StudySummary]:
        def run(conn: Connection) -> list[StudySummary]:
            studies = conn.execute(
                sa.select(studies_table).order_by(studies_table.c.study_id)
            ).all()
            counts: dict[int, dict[TrialState, int]] = {}
            for sid, state, n in conn.execute(
                sa.select(trials_table.c.study_id, trials_table.c.state, sa.func.count()).group_by(
                    trials_table.c.study_id, trials_table.c.state
                )
            ):
                with decoded(f"the trials of study id {sid}"):
                    counts.setdefault(sid, {})[TrialState(state)] = n
            out = []
            for s in studies:
                with decoded(f"study id {s.study_id}"):
                    directions = tuple(Direction(d) for d in json.loads(s.directions))
                    best = None
                    if len(directions) == 1:
                        best = _best_values(conn, s.study_id, directions[0])
                    by_state = {st: counts.get(s.study_id, {}).get(st, 0) for st in TrialState}
                    out.append(
                        StudySummary(
                            s.study_id,
                            s.name,
                            directions,
                            by_state,
                            best,
                            ts(s.created_at),
                            _user_part(s.user_attrs),
                        )
                    )
            return out

        return self._read(run)

    def delete_study(self, study_id: int) -> None:
        def run(conn: Connection) -> None:
            ids = sa.select(trials_table.c.trial_id).where(trials_table.c.study_id == study_id)
            conn.execute(intermediate_table.delete().where(intermediate_table.c.trial_id.in_(ids)))
            conn.execute(trials_table.delete().where(trials_table.c.study_id == study_id))
            res = conn.execute(studies_table.delete().where(studies_table.c.study_id == study_id))
            if res.rowcount == 0:
                raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")

        self._write(run)
        with self._cache_lock:
            self._study_cache.pop(study_id, None)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        if key == STUDY_SYSTEM_KEY:
            raise ValueError(f"the study attribute key {key!r} is honed's own; use another key.")
        self._update_study_attrs(study_id, lambda attrs: attrs.__setitem__(key, value))

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(study_id, _user_part)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        def update(attrs: dict[str, Any]) -> None:
            attrs.setdefault(STUDY_SYSTEM_KEY, {})[key] = value

        self._update_study_attrs(study_id, update)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(
            study_id, lambda text: dict(json.loads(text).get(STUDY_SYSTEM_KEY, {}))
        )

    def _update_study_attrs(self, study_id: int, update: Callable[[dict[str, Any]], None]) -> None:
        def run(conn: Connection) -> None:
            row = conn.execute(
                sa.select(studies_table.c.user_attrs)
                .where(studies_table.c.study_id == study_id)
                .with_for_update()
            ).first()
            if row is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
            with decoded(f"the attributes of study id {study_id}"):
                attrs = json.loads(row[0])
            update(attrs)
            conn.execute(
                studies_table.update()
                .where(studies_table.c.study_id == study_id)
                .values(user_attrs=dumps(attrs))
            )

        self._write(run)

    def _study_attrs(self, study_id: int, part: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        """``part`` of a study's attribute column (the user's or honed's)."""

        def run(conn: Connection) -> dict[str, Any]:
            row = conn.execute(
                sa.select(studies_table.c.user_attrs).where(studies_table.c.study_id == study_id)
            ).first()
            if row is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
            with decoded(f"the attributes of study id {study_id}"):
                return part(row[0])

        return self._read(run)


def _best_values(conn: Connection, study_id: int, direction: Direction) -> tuple[float, ...] | None:
    # Values live in JSON, so pick the best in Python over complete trials only.
    rows = conn.execute(
        sa.select(trials_table.c.values_json, trials_table.c.constraints_json).where(
            trials_table.c.study_id == study_id,
            trials_table.c.state == int(TrialState.COMPLETE),
        )
    )
    best: float | None = None
    for values_json, constraints_json in rows:
        if constraints_json and any(c > 0 for c in json.loads(constraints_json)):
            continue
        v = json.loads(values_json)[0]
        if best is None or direction.sign * v < direction.sign * best:
            best = v
    return None if best is None else (best,)


def _user_part(text: str) -> dict[str, Any]:
    """The user's attributes from a studies.user_attrs column (honed's own key left out)."""
    attrs = json.loads(text)
    attrs.pop(STUDY_SYSTEM_KEY, None)
    return attrs
