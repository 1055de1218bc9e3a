"""The schema version: recorded in each database, checked on open, upgraded in place."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from honed.errors import SchemaVersionError, StorageError
from honed.storage.sql._engine import SQLBase
from honed.storage.sql._tables import SCHEMA_VERSION, meta_table, metadata

__all__ = ["open_schema"]

_logger = logging.getLogger("honed.storage.sql")

# What each upgrade adds; every one is additive, so it runs in place when a database of the
# older version is opened (under the write lock, so concurrent openers upgrade once).
_UPGRADES: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE trial_intermediate_values ADD COLUMN seconds FLOAT",
        "ALTER TABLE trial_intermediate_values ADD COLUMN vector_json TEXT",
    ),
}


def open_schema(db: SQLBase) -> None:
    """Create the tables of a new database, upgrade an older one, refuse another version."""

    def init(conn: Connection) -> None:
        metadata.create_all(conn, checkfirst=True)
        row = conn.execute(  # locked: of two processes opening an old database, one upgrades
            sa.select(meta_table.c.value)
            .where(meta_table.c.key == "schema_version")
            .with_for_update()
        ).first()
        if row is None:
            conn.execute(
                meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
            )
            return
        found = int(row[0])
        pending = range(found + 1, SCHEMA_VERSION + 1)
        if found < SCHEMA_VERSION and all(v in _UPGRADES for v in pending):
            for version in pending:
                for statement in _UPGRADES[version]:
                    conn.exec_driver_sql(statement)
            conn.execute(
                meta_table.update()
                .where(meta_table.c.key == "schema_version")
                .values(value=str(SCHEMA_VERSION))
            )
            _logger.info("upgraded %r to schema version %d", db, SCHEMA_VERSION)
            return
        if found != SCHEMA_VERSION:
            newer = found > SCHEMA_VERSION
            raise SchemaVersionError(
                f"the database {db!r} has honed schema version {found}, but this honed "
                f"reads version {SCHEMA_VERSION}. "
                + (
                    "It was written by a newer honed: upgrade with `pip install -U honed`."
                    if newer
                    else "It was written by an older honed: open it with that version "
                    "and `honed export` the studies, or point honed at a new database."
                )
            )

    try:
        db._write(init)
    except OperationalError as e:
        hint = ""
        database = db._engine.url.database if db.is_sqlite else None
        if database and database != ":memory:" and not Path(database).parent.is_dir():
            hint = f"; the folder {str(Path(database).parent)!r} does not exist: create it"
        raise StorageError(f"cannot open storage {db!r}: {e.orig}{hint}") from None
