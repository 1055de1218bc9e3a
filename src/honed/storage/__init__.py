"""Where studies live: in memory, in a SQL database (SQLite file, PostgreSQL server), or in a
journal file that processes on many machines append to."""

from __future__ import annotations

import re
from pathlib import Path

from honed.errors import StorageError
from honed.storage._copy import copy_study
from honed.storage.base import Storage, StudySummary
from honed.storage.journal import JournalStorage
from honed.storage.memory import InMemoryStorage

__all__ = [
    "DEFAULT_STORAGE_URL",
    "InMemoryStorage",
    "JournalStorage",
    "Storage",
    "StudySummary",
    "copy_study",
    "get_storage",
]

#: Where the command line and dashboard look when no storage is given: ./honed.db.
DEFAULT_STORAGE_URL = "sqlite:///honed.db"

# journal:///relative/path.log, journal:////absolute/path.log (as SQLite URLs write paths).
JOURNAL_PREFIX = "journal:///"


def get_storage(storage: str | Path | Storage | None, *, read_only: bool = False) -> Storage:
    """A storage from a URL (``sqlite:///file.db``, ``postgresql://...``,
    ``journal:///study.log``), a path to a SQLite file, an instance (returned as is), or
    ``None`` for a new in-memory storage. As in SQLite URLs, the path after ``:///`` is
    relative unless it starts with ``/`` (``journal:////shared/study.log``).

    ``read_only``: open a URL or path only to read it: nothing is created or written (a
    missing or empty SQLite file is an error, not a new database; see
    :class:`~honed.storage.sql.SQLStorage`; a journal file must exist). Read-only tools such
    as ``honed show`` use it."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, str):
        _check_spelling(storage)
    if isinstance(storage, Path) or (isinstance(storage, str) and "://" not in storage):
        path = Path(storage)
        if path.suffix not in (".db", ".sqlite", ".sqlite3"):
            raise StorageError(
                f"storage {str(storage)!r} is neither a URL nor a .db file; use e.g. "
                f"'sqlite:///{path.name or 'honed'}.db', 'journal:///{path.name or 'honed'}' or "
                "'postgresql+psycopg://user@host/db'."
            )
        storage = f"sqlite:///{path}"
    if isinstance(storage, str) and storage.startswith(JOURNAL_PREFIX):
        journal = storage[len(JOURNAL_PREFIX) :]
        if not journal or "\x00" in journal:
            raise StorageError(
                f"storage {storage!r} names no journal file; use e.g. 'journal:///study.log' "
                "(relative) or 'journal:////shared/study.log' (absolute)."
            )
        return JournalStorage(journal, read_only=read_only)
    if isinstance(storage, str):
        if storage.startswith("postgresql://"):
            storage = "postgresql+psycopg://" + storage[len("postgresql://") :]
        from honed.storage.sql import SQLStorage  # SQLAlchemy loads only when needed

        try:
            return SQLStorage(storage, read_only=read_only)
        except ValueError as e:  # a port that is not a number, a NUL in a path, ...
            raise StorageError(
                f"cannot use storage URL {storage!r}: {e}. Use e.g. 'sqlite:///honed.db' or "
                "'postgresql://user@host/db'."
            ) from None
    raise StorageError(f"storage must be a URL, a path or a Storage, got {type(storage).__name__}.")


# Misspellings of the URL schemes honed knows, caught before they become a file named
# "sqlite:" or an error about a database kind called "postgres".
_SCHEMES = ("sqlite", "postgresql", "journal")
_ALIASES = {
    "postgres": "postgresql",
    "pg": "postgresql",
    "psql": "postgresql",
    "pgsql": "postgresql",
    "sqlite3": "sqlite",
    "jounral": "journal",
    "journald": "journal",
}
_SCHEME_LIKE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)(://|:/*|//)(.*)$", re.DOTALL)


def _check_spelling(url: str) -> None:
    """Raise a StorageError with a "did you mean" for a misspelt sqlite/postgresql/journal
    URL: ``sqlite:/x.db``, ``sqlite:x.db``, ``sqlite//x.db``, ``sqlite://x.db``,
    ``SQLite:///``, ``sqlite3:///x.db``, ``postgres://...``, ``journal:/x.log``."""
    import difflib

    m = _SCHEME_LIKE.match(url)
    if m is None:
        return
    scheme, sep, rest = m.groups()
    base, _, driver = scheme.lower().partition("+")
    target = _ALIASES.get(base) or (base if base in _SCHEMES else None)
    if target is None and sep == "://":  # a real URL; a path ("a.sqlite:x.db") stays a path
        target = next(iter(difflib.get_close_matches(base, _SCHEMES, n=1, cutoff=0.75)), None)
    if target is None:
        return  # another kind of URL (or a path with a colon): left to SQLAlchemy
    suffix = f"+{driver}" if driver else ""
    exact = sep == "://" and scheme == scheme.lower() and base == target
    if target in ("sqlite", "journal"):
        if exact and (rest == "" or rest.startswith("/")):
            return  # sqlite:///file.db, sqlite:////abs/file.db (or in memory: refused later)
        path = rest[1:] if sep == "://" and rest.startswith("/") else rest
        fixed = f"{target}{suffix}:///{path}"
    else:
        if exact:
            return
        fixed = f"postgresql{suffix}://{rest.lstrip('/')}"
    raise StorageError(
        f"storage {url!r} is not a URL honed can open; did you mean {fixed!r}? (SQLite: "
        "'sqlite:///relative.db' or 'sqlite:////absolute/path.db'; journal file: "
        "'journal:///relative.log' or 'journal:////absolute/path.log'; PostgreSQL: "
        "'postgresql://user@host/db')"
    )
