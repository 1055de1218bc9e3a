"""Engines and transactions: URL parsing, SQLite's pragmas and locking, retries of transient
errors, fork safety, and the clock timestamps are taken from.

SQLite notes. Many processes share one file: the database runs in WAL mode (readers never
block the writer), every write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write
lock up front, so two writers never deadlock upgrading a read lock), and a generous busy
timeout plus a retry loop absorb contention instead of surfacing "database is locked".
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from honed.errors import StorageError, StudyNotFoundError
from honed.storage.base import Clock, Storage
from honed.storage.sql._tables import SQL_BUMP, studies_table
from honed.trial import Direction

__all__ = ["SQLBase", "is_transient", "make_engine"]

_T = TypeVar("_T")


def make_engine(url_text: str, engine_kwargs: Mapping[str, Any]) -> Engine:
    """An engine for ``url_text``, set up for many processes sharing one database."""
    try:
        url = sa.engine.make_url(url_text)
    except sa.exc.ArgumentError as e:
        raise StorageError(
            f"cannot parse storage URL {url_text!r}: {e}. "
            "Use e.g. 'sqlite:///honed.db' or 'postgresql+psycopg://user@host/db'."
        ) from None
    kwargs = dict(engine_kwargs)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise StorageError(
                "an in-memory SQLite database cannot be shared; use storage=None for "
                "in-memory studies or give a file, e.g. 'sqlite:///honed.db'."
            )
        return _sqlite_engine(url, kwargs)
    # A server database (PostgreSQL): a small pool per process, and no pre-ping round trip
    # per transaction. A connection the server dropped fails its first statement, the
    # pool invalidates it and the retry loop runs the transaction again on a fresh one.
    kwargs.setdefault("pool_size", 4)
    kwargs.setdefault("max_overflow", 16)
    kwargs.setdefault("pool_recycle", 1800)
    try:
        return sa.create_engine(url, **kwargs)
    except ModuleNotFoundError as e:
        raise StorageError(
            f"the driver for {url.get_backend_name()!r} is not installed ({e.name}); "
            "for PostgreSQL run: pip install 'honed[postgres]'."
        ) from None
    except sa.exc.NoSuchModuleError:
        raise StorageError(
            f"unknown database kind {url.get_backend_name()!r} in storage URL {url_text!r}; "
            "use 'sqlite:///honed.db' or 'postgresql+psycopg://user@host/db'."
        ) from None


def _sqlite_engine(url: sa.URL, kwargs: dict[str, Any]) -> Engine:
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("timeout", 60.0)
    connect_args.setdefault("check_same_thread", False)
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read = conn.get_execution_options().get("honed_read", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


# SQLSTATE classes and codes worth retrying: the transaction lost a race (serialization
# failure, deadlock, lock timeout) or the connection broke (class 08, server shutting down).
_TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300")


def is_transient(exc: BaseException) -> bool:
    """Whether running the transaction again may succeed: a lost race or a broken connection."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True  # the pool threw the connection away; a fresh one may work
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(code, str) and (code.startswith("08") or code in _TRANSIENT_SQLSTATES):
        return True
    text = str(exc).lower()
    return any(
        s in text
        for s in (
            "database is locked",
            "database table is locked",
            "deadlock detected",
            "could not serialize",
            "server closed the connection",
            "connection reset",
            "terminating connection",
            "connection is closed",
        )
    )


# Fork safety: a child process must never use a connection it inherited, or parent and child
# talk over one socket / one SQLite handle and corrupt each other's transactions. After a
# fork, every storage of the child forgets its inherited pool (without closing the parent's
# connections) and opens fresh ones on first use. This covers storages captured by an
# objective's closure and user code that forks, not only honed's own worker processes.
_LIVE_STORAGES: weakref.WeakSet[SQLBase] = weakref.WeakSet()


def _forget_connections_after_fork() -> None:
    for storage in list(_LIVE_STORAGES):
        storage._engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections_after_fork)


class SQLBase(Storage):
    """What every part of the SQL storage shares: the engine, transactions with retries, the
    clock, and a cache of each study's name and directions (they never change)."""

    def __init__(
        self, url: str, engine_kwargs: Mapping[str, Any] | None, clock: Clock | None
    ) -> None:
        self.url = url
        self._engine_kwargs = dict(engine_kwargs or {})
        self._engine = make_engine(url, self._engine_kwargs)
        self._read_engine = self._engine.execution_options(honed_read=True)
        _LIVE_STORAGES.add(self)
        self._study_cache: dict[int, tuple[str, tuple[Direction, ...]]] = {}
        self._cache_lock = threading.Lock()
        self._clock: Clock = time.time if clock is None else clock
        self._clock_offset = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._engine.url.render_as_string(hide_password=True)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    # ---- transactions ----------------------------------------------------------------------
    def _retry(self, fn: Callable[[], _T]) -> _T:
        delay = 0.01
        for attempt in range(12):
            try:
                return fn()
            except sa.exc.DBAPIError as e:  # OperationalError, InterfaceError, ...
                if not is_transient(e) or attempt == 11:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    def _write(self, fn: Callable[[Connection], _T]) -> _T:
        def run() -> _T:
            with self._engine.begin() as conn:
                return fn(conn)

        return self._retry(run)

    def _read(self, fn: Callable[[Connection], _T]) -> _T:
        def run() -> _T:
            with self._read_engine.begin() as conn:
                return fn(conn)

        return self._retry(run)

    def _bump(self, conn: Connection, column: str, study_id: int) -> int:
        """Add one to a study's counter (``next_number`` or ``finish_seq``) inside the current
        write transaction and return the new value. One statement where the database has
        UPDATE ... RETURNING (SQLite >= 3.35, PostgreSQL); read-then-write otherwise."""
        if self._engine.dialect.update_returning:
            row = conn.execute(SQL_BUMP[column], {"sid": study_id}).first()
        else:
            col = studies_table.c[column]
            where = studies_table.c.study_id == study_id
            row = conn.execute(sa.select(col).where(where).with_for_update()).first()
            if row is not None:
                conn.execute(studies_table.update().where(where).values({column: row[0] + 1}))
                row = (row[0] + 1,)
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
        return int(row[0])

    # ---- the clock -------------------------------------------------------------------------
    def _now(self) -> float:
        """Seconds since the epoch, on the database server's clock where there is a server:
        workers on many machines then stamp starts and heartbeats on one clock, so a worker
        whose clock runs behind is not taken for a dead one. The local clock (``clock``) plus
        its offset to the server's, measured on open."""
        return self._clock() + self._clock_offset

    def _measure_clock_offset(self) -> float:
        if self._engine.dialect.name != "postgresql":
            return 0.0  # SQLite lives on this machine: its clock is ours
        query = sa.text("SELECT extract(epoch FROM clock_timestamp())")
        best: tuple[float, float] | None = None  # (round trip, offset) of the fastest probe
        for _ in range(3):
            before = self._clock()
            server = float(self._read(lambda c: c.execute(query).scalar_one()))
            after = self._clock()
            sample = (after - before, server - (before + after) / 2)
            best = sample if best is None or sample < best else best
        assert best is not None
        rtt, offset = best
        # Within the measurement's own uncertainty the clocks agree: keep ours.
        return offset if abs(offset) > max(rtt, 0.01) else 0.0

    # ---- studies' fixed facts --------------------------------------------------------------
    def _study_info(self, study_id: int) -> tuple[str, tuple[Direction, ...]]:
        with self._cache_lock:
            if study_id in self._study_cache:
                return self._study_cache[study_id]
        row = self._read(
            lambda c: c.execute(
                sa.select(studies_table.c.name, studies_table.c.directions).where(
                    studies_table.c.study_id == study_id
                )
            ).first()
        )
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
        info = (row[0], tuple(Direction(d) for d in json.loads(row[1])))
        with self._cache_lock:
            self._study_cache[study_id] = info
        return info

    def close(self) -> None:
        self._engine.dispose()
