"""The schema version: recorded in each database, checked on open, upgraded in place.

Each database records its schema version in ``honed_meta`` (``schema_version``), the row every
honed ever released reads on open, so an older honed refuses a newer database instead of
writing into it. Opening reads that one row; when it matches :data:`SCHEMA_VERSION` nothing
else runs (Alembic is not even imported). A new database gets today's tables at once. An older
one is upgraded by the Alembic revisions in ``migrations/versions`` (revision ``000N`` makes
schema version N), on the opener's connection and inside its write transaction, under a lock:
of several processes opening an old database at once, one upgrades and the others find it
done. Alembic's own bookkeeping lives in ``honed_alembic_version``.

A new schema version: change ``_tables.py``, bump :data:`SCHEMA_VERSION`, and add the revision,
e.g. ``alembic.command.revision(alembic_config("sqlite:///old.db"), "what changes",
autogenerate=True, rev_id="0003")`` against a database of the previous version.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from honed.errors import SchemaVersionError, StorageError
from honed.storage.sql._engine import SQLBase
from honed.storage.sql._sqlite import check_integrity
from honed.storage.sql._tables import SCHEMA_VERSION, meta_table, metadata

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["MIGRATIONS", "VERSION_TABLE", "alembic_config", "open_schema", "revision_of"]

_logger = logging.getLogger("honed.storage.sql")

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "honed_alembic_version"
# The oldest schema version an upgrade starts from (the first revision).
_OLDEST = 1
# Serializes creating and upgrading a PostgreSQL database (a transaction-scoped advisory lock;
# the key is "honed" in ASCII).
_PG_SCHEMA_LOCK = 0x686F6E6564

_SELECT_VERSION = sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")


def revision_of(version: int) -> str:
    """The Alembic revision that makes schema ``version``."""
    return f"{version:04d}"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration for honed's migrations, on ``connection`` or ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["connection"] = connection
    return cfg


def open_schema(db: SQLBase) -> int | None:
    """Check a SQLite file whole, then create the tables of a new database, upgrade an older
    one, or refuse another version; returns the version upgraded from (None: no upgrade).
    Read-only, nothing is created or upgraded: a database without honed's tables or of an
    older version is refused with what to do."""
    path = db._database_path
    if path is not None:
        folder = Path(path).absolute().parent
        if not folder.is_dir():
            raise StorageError(
                f"cannot open storage {db!r}: the folder {str(folder)!r} does not exist: create it"
            )
        db._read(lambda conn: check_integrity(conn, str(Path(path).absolute())))
    found = _read_version(db)
    if found == SCHEMA_VERSION:
        return None
    if db.read_only:
        if found is None:
            raise StorageError(
                f"{db!r} holds no honed tables: there is nothing to read (a read-only storage "
                "never creates them; honed does when a study is first created there)."
            )
        raise _mismatch(db, found)
    return db._write(lambda conn: _create_or_upgrade(db, conn))


def _read_version(db: SQLBase) -> int | None:
    """The recorded version, in one read of one row; ``None`` for a database without honed's
    tables."""
    no_table = (sa.exc.OperationalError, sa.exc.ProgrammingError)
    try:
        value = db._read(lambda c: c.execute(_SELECT_VERSION).scalar(), passthrough=no_table)
    except no_table as e:
        if db._read(lambda c: sa.inspect(c).has_table(meta_table.name)):
            raise db._storage_error(e) from e
        return None
    return None if value is None else int(value)


def _version_in(conn: Connection) -> int | None:
    if not sa.inspect(conn).has_table(meta_table.name):
        return None
    value = conn.execute(_SELECT_VERSION).scalar()
    return None if value is None else int(value)


def _create_or_upgrade(db: SQLBase, conn: Connection) -> int | None:
    # Under the write lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), look again:
    # another process may have created or upgraded the database meanwhile.
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK)))
    found = _version_in(conn)
    if found is None:
        metadata.create_all(conn, checkfirst=True)
        conn.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        return None
    if found == SCHEMA_VERSION:
        return None
    if _OLDEST <= found < SCHEMA_VERSION:
        _upgrade(conn, found)
        conn.execute(
            meta_table.update()
            .where(meta_table.c.key == "schema_version")
            .values(value=str(SCHEMA_VERSION))
        )
        _logger.info("upgraded %r from schema version %d to %d", db, found, SCHEMA_VERSION)
        return found
    raise _mismatch(db, found)


def _upgrade(conn: Connection, found: int) -> None:
    """Run the revisions after ``found`` on ``conn``, inside its transaction."""
    from alembic import command

    cfg = alembic_config(connection=conn)
    # honed_meta is the record every honed reads; Alembic's table follows it.
    command.stamp(cfg, revision_of(found), purge=True)
    command.upgrade(cfg, revision_of(SCHEMA_VERSION))


def _mismatch(db: SQLBase, found: int) -> SchemaVersionError:
    if found > SCHEMA_VERSION:
        advice = "It was written by a newer honed: upgrade with `pip install -U honed`."
    elif db.read_only and found >= _OLDEST:
        advice = (
            "It was written by an older honed and is upgraded in place when opened for "
            f"writing: run `honed storage upgrade --storage {db.url}` (or open it once "
            "without read_only=True)."
        )
    else:
        advice = (
            "It was written by an older honed: open it with that version and `honed export` "
            "the studies, or point honed at a new database."
        )
    return SchemaVersionError(
        f"the database {db!r} has honed schema version {found}, but this honed "
        f"reads version {SCHEMA_VERSION}. {advice}"
    )
