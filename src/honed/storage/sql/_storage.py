"""The SQL storage: one class made of the parts in this package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honed.storage.base import Clock
from honed.storage.sql._heartbeats import HeartbeatOps
from honed.storage.sql._migrations import open_schema
from honed.storage.sql._studies import StudyOps
from honed.storage.sql._trials import TrialOps

__all__ = ["SQLStorage"]


class SQLStorage(StudyOps, TrialOps, HeartbeatOps):
    """Storage in a SQL database given by a SQLAlchemy URL.

    Args:
        url: ``sqlite:///path/to/file.db`` (created if missing) or, with the ``postgres``
            extra, ``postgresql+psycopg://user:pass@host/db``.
        engine_kwargs: Passed to :func:`sqlalchemy.create_engine`.
        read_only: Only read: nothing is ever created, upgraded or written (a write raises
            :class:`~honed.errors.StorageError`). A SQLite file must exist and is opened
            read-only, so it can be read from a read-only file, folder or filesystem;
            PostgreSQL sessions are read-only on the server.
        clock: This process's clock (seconds since the epoch); ``time.time`` by default.
            Starts, heartbeats and finishes are stamped with it, and stale trials judged by
            it. On PostgreSQL its offset to the server's clock is measured on open and
            added, so every worker stamps on the server's clock. Tests inject a
            :class:`honed.testing.ManualClock` to age trials without waiting. A copy of the
            storage sent to another process (it travels by URL) uses ``time.time``.

    Durability. Creating studies and trials and finishing a trial commit synchronously.
    On PostgreSQL, the writes during a trial (parameters, reports, attributes,
    constraints, heartbeats) commit asynchronously (``synchronous_commit=off`` for those
    transactions): other workers see them at once, a killed worker loses nothing, but a crash
    of the database server may lose the last fraction of a second of them, never a
    result. That makes a report cost a round trip instead of a disk flush (report-heavy
    objectives ran 13x slower than on SQLite before); SQLite in WAL mode with
    ``synchronous=NORMAL`` gives every transaction this durability.

    A SQLite file is checked on open (SQLite's ``quick_check``): a damaged one raises
    :class:`~honed.errors.StorageError` naming the file and what to do. Each transaction then
    checks the file is still the one opened, so a file deleted or replaced under a running
    study is an error, not trials written into the void. Every database error that retries
    cannot cure (disk full, read-only, locked for good) is a StorageError with the reason.
    """

    def __init__(
        self,
        url: str,
        engine_kwargs: Mapping[str, Any] | None = None,
        *,
        read_only: bool = False,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(url, engine_kwargs, read_only, clock)
        try:
            self._upgraded_from = open_schema(self)
            self._watch_file()
            self._clock_offset = self._measure_clock_offset()
        except BaseException:
            self._engine.dispose()  # a storage that failed to open holds no connection
            raise

    @property
    def upgraded_from(self) -> int | None:
        """The schema version this storage upgraded the database from when it opened it
        (``None``: the database was new or already current)."""
        return self._upgraded_from

    # Storages travel to worker processes by URL: connections must never cross a fork.
    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "engine_kwargs": self._engine_kwargs, "read_only": self.read_only}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["url"], state["engine_kwargs"], read_only=state.get("read_only", False)
        )
