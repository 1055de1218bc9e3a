"""Alembic's environment for honed's SQL storage.

honed runs it on its own connection, inside its own transaction and lock (the connection is
``config.attributes["connection"]``; see ``honed.storage.sql._migrations``). Run by hand with
``alembic.command`` and ``_migrations.alembic_config(url)``, it opens ``url`` itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from honed.storage.sql._migrations import VERSION_TABLE
from honed.storage.sql._tables import metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # honed's own version table: a PostgreSQL database shared with an application that
        # uses Alembic keeps that application's ``alembic_version`` untouched.
        version_table=VERSION_TABLE,
        # SQLite alters most things by copying a table: let autogenerate write batch ops.
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("honed's migrations run online only: give a database URL.")
given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
