"""Turn a current database back into schema version 1, as an older honed wrote it, to test
the in-place upgrade on each database kind."""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa

import honed
from honed.storage.sql import SCHEMA_VERSION, SQLStorage

# The trial system attributes where schema version 1 kept each report's seconds and vectors.
REPORT_SECONDS_ATTR = "report_seconds"
VECTOR_REPORTS_ATTR = "intermediate_vectors"


def make_version_1_database(url: str) -> None:
    """Studies with timed and multi-objective reports, stored the way schema version 1 stored
    them: seconds and objective vectors in each trial's system attributes (keyed by step), no
    ``seconds`` or ``vector_json`` column, no report row for a vector."""
    study = honed.create_study("old", storage=url)
    for n in range(3):
        t = study.ask()
        x = t.float("x", 0, 1)
        for step in range(1, 4):
            t.report(x * step, step, elapsed=0.5 * step + n)
        study.tell(t, x)
    mo = honed.create_study("old-mo", storage=url, directions=["minimize", "maximize"])
    t = mo.ask()
    t.report([1.0, 2.0], 1)
    t.report([0.5, 3.0], 2)
    mo.tell(t, [0.5, 3.0])
    study.storage.close()
    mo.storage.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text("SELECT trial_id, step, seconds, vector_json FROM trial_intermediate_values")
        ).fetchall()
        legacy: dict[int, dict[str, dict[str, object]]] = {}
        for tid, step, secs, vec in rows:
            attrs = legacy.setdefault(tid, {})
            if secs is not None:
                attrs.setdefault(REPORT_SECONDS_ATTR, {})[str(step)] = secs
            if vec is not None:
                attrs.setdefault(VECTOR_REPORTS_ATTR, {})[str(step)] = json.loads(vec)
        for tid, extra in legacy.items():
            attrs = json.loads(
                conn.execute(
                    sa.text("SELECT system_attrs_json FROM trials WHERE trial_id = :t"), {"t": tid}
                ).scalar_one()
            )
            conn.execute(
                sa.text("UPDATE trials SET system_attrs_json = :a WHERE trial_id = :t"),
                {"a": json.dumps({**attrs, **extra}), "t": tid},
            )
        conn.execute(sa.text("DELETE FROM trial_intermediate_values WHERE vector_json IS NOT NULL"))
        conn.execute(sa.text("ALTER TABLE trial_intermediate_values DROP COLUMN seconds"))
        conn.execute(sa.text("ALTER TABLE trial_intermediate_values DROP COLUMN vector_json"))
        conn.execute(sa.text("UPDATE honed_meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()


def check_upgrade_from_version_1(url: str) -> None:
    make_version_1_database(url)
    # Two openers at once (two processes' engines): exactly one upgrades, neither fails.
    opened: list[SQLStorage] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(SQLStorage(url))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for s in opened:
        s.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(
            sa.text("SELECT value FROM honed_meta WHERE key = 'schema_version'")
        ).scalar_one()
        columns = [c["name"] for c in sa.inspect(conn).get_columns("trial_intermediate_values")]
    assert version == str(SCHEMA_VERSION) and {"seconds", "vector_json"} <= set(columns)
    with engine.connect() as conn:  # Alembic's own record follows honed's
        revision = conn.execute(sa.text("SELECT version_num FROM honed_alembic_version")).all()
    engine.dispose()
    assert revision == [(f"{SCHEMA_VERSION:04d}",)]
    study = honed.load_study("old", storage=url)
    # Seconds written by the old version are still read ...
    assert [t.report_seconds for t in study.trials] == [
        {1: 0.5 + n, 2: 1.0 + n, 3: 1.5 + n} for n in range(3)
    ]
    # ... and the study goes on, new reports keeping theirs in the new column.
    t = study.ask()
    t.report(0.1, 1, elapsed=0.25)
    study.tell(t, 0.1)
    assert study.trials[-1].report_seconds == {1: 0.25}
    assert REPORT_SECONDS_ATTR not in study.trials[-1].system_attrs
    study.storage.close()
    mo = honed.load_study("old-mo", storage=url)
    assert mo.trials[0].intermediate_vectors == {1: (1.0, 2.0), 2: (0.5, 3.0)}
    t = mo.ask()
    t.report([0.7, 2.5], 1)
    mo.tell(t, [0.7, 2.5])
    assert mo.trials[1].intermediate_vectors == {1: (0.7, 2.5)}
    assert VECTOR_REPORTS_ATTR not in mo.trials[1].system_attrs
    mo.storage.close()


def check_migrations_build_the_tables(url: str) -> None:
    """Running every Alembic revision on an empty database gives exactly the tables a new
    database gets (``metadata.create_all``): the revisions and ``_tables.py`` agree."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from honed.storage.sql._migrations import VERSION_TABLE, alembic_config, revision_of
    from honed.storage.sql._tables import metadata

    command.upgrade(alembic_config(url), "head")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert context.get_current_revision() == revision_of(SCHEMA_VERSION)
        assert compare_metadata(context, metadata) == []
    engine.dispose()
