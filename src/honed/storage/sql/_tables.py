"""The tables of a honed database, and the statements of the per-trial hot path."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from honed.trial import TrialState

__all__ = [
    "SCHEMA_VERSION",
    "intermediate_table",
    "meta_table",
    "metadata",
    "studies_table",
    "trials_table",
]

# The schema these tables describe. Each version is an Alembic revision of the same number in
# ``honed/storage/sql/migrations/versions``; see ``_migrations.py``.
SCHEMA_VERSION = 2

metadata = sa.MetaData()

meta_table = sa.Table(
    "honed_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

studies_table = sa.Table(
    "studies",
    metadata,
    sa.Column("study_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(512), nullable=False, unique=True),
    sa.Column("directions", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("next_number", sa.Integer, nullable=False, default=0),
    sa.Column("finish_seq", sa.Integer, nullable=False, default=0),
    sa.Column("user_attrs", sa.Text, nullable=False, default="{}"),
)

trials_table = sa.Table(
    "trials",
    metadata,
    sa.Column("trial_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("studies.study_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.Integer, nullable=False),
    sa.Column("values_json", sa.Text, nullable=True),
    sa.Column("constraints_json", sa.Text, nullable=True),
    sa.Column("params_json", sa.Text, nullable=False, default="{}"),
    sa.Column("distributions_json", sa.Text, nullable=False, default="{}"),
    sa.Column("user_attrs_json", sa.Text, nullable=False, default="{}"),
    sa.Column("system_attrs_json", sa.Text, nullable=False, default="{}"),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("completed_at", sa.Float, nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("finish_seq", sa.Integer, nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_trials_study_number"),
    sa.Index("ix_trials_study_state", "study_id", "state"),
    sa.Index("ix_trials_study_finish_seq", "study_id", "finish_seq"),
)

intermediate_table = sa.Table(
    "trial_intermediate_values",
    metadata,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("value", sa.Float, nullable=True),
    # Schema version 2: the trial's seconds at the report (NULL: not recorded), and the
    # objective vector of a multi-objective report (JSON; then ``value`` is NULL).
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("vector_json", sa.Text, nullable=True),
)

UNFINISHED = (int(TrialState.WAITING), int(TrialState.RUNNING))

# Statements of the per-trial hot path, built once: building a statement and computing its
# cache key cost more than running it on SQLite. Values arrive as bound parameters.
_b = sa.bindparam
_tc = trials_table.c
SQL_TRIAL = sa.select(trials_table).where(_tc.trial_id == _b("tid"))
SQL_TRIAL_FOR_UPDATE = SQL_TRIAL.with_for_update()
SQL_UPDATE_TRIAL = trials_table.update().where(_tc.trial_id == _b("tid"))
SQL_INSERT_TRIAL = trials_table.insert()
SQL_BUMP = {
    col: studies_table.update()
    .where(studies_table.c.study_id == _b("sid"))
    .values({col: studies_table.c[col] + 1})
    .returning(studies_table.c[col])
    for col in ("next_number", "finish_seq")
}
SQL_STUDY_SEQ = sa.select(studies_table.c.finish_seq).where(studies_table.c.study_id == _b("sid"))
# Two queries, each on its own index, instead of one OR that scans every trial of the study.
# Unfinished trials have no finish sequence (NULL), so the two sets never overlap.
SQL_UNFINISHED = sa.select(trials_table).where(_tc.study_id == _b("sid"), _tc.state.in_(UNFINISHED))
SQL_FINISHED_SINCE = sa.select(trials_table).where(
    _tc.study_id == _b("sid"), _tc.finish_seq > _b("seq")
)
SQL_INTERMEDIATE = (
    sa.select(
        intermediate_table.c.trial_id,
        intermediate_table.c.step,
        intermediate_table.c.value,
        intermediate_table.c.seconds,
        intermediate_table.c.vector_json,
    )
    .where(intermediate_table.c.trial_id.in_(_b("ids", expanding=True)))
    .order_by(intermediate_table.c.trial_id, intermediate_table.c.step)
)
SQL_SET_INTERMEDIATE = intermediate_table.update().where(
    intermediate_table.c.trial_id == _b("tid"), intermediate_table.c.step == _b("st")
)
SQL_ADD_INTERMEDIATE = intermediate_table.insert()


# The trial row a report touches: stamped alive, and only while unfinished (a rowcount of 0:
# missing or finished).
SQL_ALIVE = (
    trials_table.update()
    .where(_tc.trial_id == _b("tid"), _tc.state.in_(UNFINISHED))
    .values(heartbeat_at=_b("now"))
)

# PostgreSQL: reports in one statement, so in one round trip on an autocommit connection: the
# trial stamped alive (only while unfinished), every report inserted or replaced, and the
# commit made asynchronous (set_config is_local: this transaction only). No row back: the
# trial is missing or finished.
PG_ADD_REPORTS = sa.text(
    f"""
    WITH alive AS (
        UPDATE trials SET heartbeat_at = :now
        WHERE trial_id = :tid AND state IN {UNFINISHED}
        RETURNING trial_id, set_config('synchronous_commit', 'off', true) AS commit_mode
    )
    INSERT INTO trial_intermediate_values (trial_id, step, value, seconds, vector_json)
    SELECT alive.trial_id, r.step, r.value, r.seconds, r.vector_json
    FROM alive, unnest(
        CAST(:steps AS integer[]), CAST(:values AS double precision[]),
        CAST(:seconds AS double precision[]), CAST(:vectors AS text[])
    ) AS r(step, value, seconds, vector_json)
    WHERE alive.commit_mode = 'off'
    ON CONFLICT (trial_id, step) DO UPDATE
    SET value = EXCLUDED.value, seconds = EXCLUDED.seconds, vector_json = EXCLUDED.vector_json
    RETURNING trial_id
    """
)


@lru_cache(maxsize=8)
def sql_upsert_report(dialect: str) -> sa.Insert | None:
    """SQLite: INSERT a report row, or replace the one at its step; None where unsupported."""
    if dialect != "sqlite":
        return None
    from sqlalchemy.dialects.sqlite import insert

    stmt = insert(intermediate_table)
    return stmt.on_conflict_do_update(
        index_elements=[intermediate_table.c.trial_id, intermediate_table.c.step],
        set_={c: stmt.excluded[c] for c in ("value", "seconds", "vector_json")},
    )


@lru_cache(maxsize=32)
def sql_trial_columns(columns: tuple[str, ...], dialect: str) -> sa.Select[Any]:
    """SELECT number, state and ``columns`` of one trial, locking its row where supported.
    On PostgreSQL it also makes the transaction's commit asynchronous: a write during a
    trial (see SQLStorage) needs no extra round trip for it."""
    cols: list[Any] = [_tc.number, _tc.state, *(_tc[c] for c in columns)]
    if dialect == "postgresql":
        cols.append(sa.func.set_config("synchronous_commit", "off", sa.true()).label("commit"))
    return sa.select(*cols).where(_tc.trial_id == _b("tid")).with_for_update()
