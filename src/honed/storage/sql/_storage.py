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
        clock: This process's clock (seconds since the epoch); ``time.time`` by default.
            Starts, heartbeats and finishes are stamped with it, and stale trials judged by
            it. On PostgreSQL its offset to the server's clock is measured on open and
            added, so every worker stamps on the server's clock. Tests inject a
            :class:`honed.testing.ManualClock` to age trials without waiting. A copy of the
            storage sent to another process (it travels by URL) uses ``time.time``.
    """

    def __init__(
        self,
        url: str,
        engine_kwargs: Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(url, engine_kwargs, clock)
        open_schema(self)
        self._clock_offset = self._measure_clock_offset()

    # Storages travel to worker processes by URL: connections must never cross a fork.
    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "engine_kwargs": self._engine_kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["engine_kwargs"])  # type: ignore[misc]
