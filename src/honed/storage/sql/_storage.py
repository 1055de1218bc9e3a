"""The SQL storage: one class made of the parts in this package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    """

    def __init__(self, url: str, engine_kwargs: Mapping[str, Any] | None = None) -> None:
        super().__init__(url, engine_kwargs)
        open_schema(self)
        self._clock_offset = self._measure_clock_offset()

    # Storages travel to worker processes by URL: connections must never cross a fork.
    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "engine_kwargs": self._engine_kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["engine_kwargs"])  # type: ignore[misc]
