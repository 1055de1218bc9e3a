"""SQL storage on SQLAlchemy Core: SQLite (the embedded default) and, through the same code,
other databases SQLAlchemy speaks (PostgreSQL).

The parts, one concern each: ``_tables`` (the schema), ``_engine`` (engines, transactions,
retries, fork safety, the clock), ``_migrations`` (the schema version, checked on open),
``_records`` (rows to trial records), ``_studies``, ``_trials`` and ``_heartbeats`` (the
operations), joined in ``_storage.SQLStorage``.
"""

from __future__ import annotations

from honed.storage.sql._storage import SQLStorage
from honed.storage.sql._tables import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "SQLStorage"]
