"""Where studies live: in memory, or in a SQL database (SQLite file, PostgreSQL server)."""

from __future__ import annotations

from pathlib import Path

from honed.errors import StorageError
from honed.storage.base import Storage, StudySummary
from honed.storage.memory import InMemoryStorage

__all__ = ["DEFAULT_STORAGE_URL", "InMemoryStorage", "Storage", "StudySummary", "get_storage"]

DEFAULT_STORAGE_URL = "sqlite:///honed.db"


def get_storage(storage: str | Path | Storage | None, *, read_only: bool = False) -> Storage:
    """A storage from a URL (``sqlite:///file.db``, ``postgresql://...``), a path to a SQLite
    file, an instance (returned as is), or ``None`` for a new in-memory storage.

    ``read_only``: open a URL or path only to read it: nothing is created or written (a
    missing or empty SQLite file is an error, not a new database; see
    :class:`~honed.storage.sql.SQLStorage`). Read-only tools such as ``honed show`` use it."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, Path) or (isinstance(storage, str) and "://" not in storage):
        path = Path(storage)
        if path.suffix not in (".db", ".sqlite", ".sqlite3"):
            raise StorageError(
                f"storage {str(storage)!r} is neither a URL nor a .db file; use e.g. "
                f"'sqlite:///{path.name or 'honed'}.db' or 'postgresql+psycopg://user@host/db'."
            )
        storage = f"sqlite:///{path}"
    if isinstance(storage, str):
        if storage.startswith("postgresql://"):
            storage = "postgresql+psycopg://" + storage[len("postgresql://") :]
        from honed.storage.sql import SQLStorage  # SQLAlchemy loads only when needed

        return SQLStorage(storage, read_only=read_only)
    raise StorageError(f"storage must be a URL, a path or a Storage, got {type(storage).__name__}.")
