"""Engines and transactions: URL parsing, retries of transient errors and the mapping of the
rest to :class:`~honed.errors.StorageError`, fork safety, and the clock timestamps are taken
from. SQLite's own concerns (WAL, locking, read-only files, damage) are in ``_sqlite``.
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
from sqlalchemy.engine import Connection, Engine

from honed.errors import StorageError, StudyNotFoundError
from honed.storage.base import Clock, Storage
from honed.storage.sql._records import DamagedRecord, decoded
from honed.storage.sql._sqlite import FileWatch, damaged, sqlite_engine
from honed.storage.sql._tables import SQL_BUMP, studies_table
from honed.trial import Direction

__all__ = ["SQLBase", "is_transient", "make_engine"]

_T = TypeVar("_T")


def make_engine(url_text: str, engine_kwargs: Mapping[str, Any], read_only: bool) -> Engine:
    """An engine for ``url_text``, set up for many processes sharing one database; with
    ``read_only``, one that cannot change it."""
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
        return sqlite_engine(url, kwargs, read_only)
    # A server database (PostgreSQL): a small pool per process, and no pre-ping round trip
    # per transaction. A connection the server dropped fails its first statement, the
    # pool invalidates it and the retry loop runs the transaction again on a fresh one.
    kwargs.setdefault("pool_size", 4)
    kwargs.setdefault("max_overflow", 16)
    kwargs.setdefault("pool_recycle", 1800)
    if read_only and url.get_backend_name() == "postgresql":  # the server refuses every write
        kwargs.setdefault("connect_args", {}).setdefault(
            "options", "-c default_transaction_read_only=on"
        )
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

# How many times a transaction that lost a race or a connection is tried.
_ATTEMPTS = 12

# What a driver's message means, in words a user can act on (the message follows in the error).
_REASONS = (
    (("disk is full", "no space left", "could not extend file"), "the disk is full"),
    (
        ("readonly database", "read-only transaction", "read-only file system"),
        "the database cannot be written here (its file, its folder or the filesystem is "
        "read-only); to read it, open it with read_only=True",
    ),
    (
        ("database is locked", "database table is locked"),
        "another process kept the database locked through every retry",
    ),
    (
        ("disk i/o error",),
        "the disk reported an I/O error",
    ),
    (
        ("unable to open database file",),
        "the database file cannot be opened (a missing folder, no permission, or a "
        "read-only place without read_only=True)",
    ),
)
_DAMAGE = ("malformed", "not a database", "file is encrypted", "could not decode")


class SQLBase(Storage):
    """What every part of the SQL storage shares: the engine, transactions with retries, the
    clock, and a cache of each study's name and directions (they never change)."""

    def __init__(
        self,
        url: str,
        engine_kwargs: Mapping[str, Any] | None,
        read_only: bool,
        clock: Clock | None,
    ) -> None:
        self.url = url
        self.read_only = bool(read_only)
        self._engine_kwargs = dict(engine_kwargs or {})
        self._engine = make_engine(url, self._engine_kwargs, self.read_only)
        self._read_engine = self._engine.execution_options(honed_read=True)
        # One statement, its own transaction: no BEGIN or COMMIT round trips.
        self._autocommit_engine = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        _LIVE_STORAGES.add(self)
        self._study_cache: dict[int, tuple[str, tuple[Direction, ...]]] = {}
        self._cache_lock = threading.Lock()
        self._clock: Clock = time.time if clock is None else clock
        self._clock_offset = 0.0
        self._file: FileWatch | None = None  # set once a SQLite file is open

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._engine.url.render_as_string(hide_password=True)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    @property
    def _database_path(self) -> str | None:
        """The SQLite file, or None for a server database."""
        return self._engine.url.database if self.is_sqlite else None

    # ---- transactions ----------------------------------------------------------------------
    def _retry(
        self, fn: Callable[[], _T], passthrough: tuple[type[sa.exc.DBAPIError], ...] = ()
    ) -> _T:
        """Run ``fn`` (one transaction) until it neither loses a race nor a connection; any
        other database error becomes a StorageError with the reason (``passthrough`` errors
        excepted: the caller handles them)."""
        delay = 0.01
        for attempt in range(_ATTEMPTS):
            try:
                return fn()
            except sa.exc.DBAPIError as e:  # OperationalError, InterfaceError, ...
                if not is_transient(e) or attempt == _ATTEMPTS - 1:
                    if isinstance(e, passthrough):
                        raise
                    raise self._storage_error(e) from e
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
            except UnicodeDecodeError as e:  # SQLite's message about a damaged file
                if not self.is_sqlite:
                    raise
                raise damaged(os.path.abspath(self._database_path or ""), str(e)) from e
            except DamagedRecord as e:
                where = self._database_path or repr(self)
                raise damaged(where, f"a record cannot be read: {e}") from e
        raise AssertionError("unreachable")

    def _storage_error(self, e: sa.exc.DBAPIError) -> StorageError:
        message = str(e.orig).strip() or type(e.orig).__name__
        low = message.lower()
        if self.is_sqlite and any(s in low for s in _DAMAGE):
            return damaged(os.path.abspath(self._database_path or ""), message)
        reason = next((r for keys, r in _REASONS if any(k in low for k in keys)), None)
        path = self._database_path
        if (
            path
            and "unable to open" in low
            and not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)
        ):
            reason = (
                f"its folder {os.path.dirname(os.path.abspath(path))} cannot be written (a "
                "read-only folder or filesystem); to read the database, open it with "
                "read_only=True"
            )
        return StorageError(
            f"storage {self!r}: {reason} ({message})." if reason else f"storage {self!r}: {message}"
        )

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise StorageError(
                f"{self!r} was opened read-only (read_only=True): open it without to change it."
            )

    def _write(
        self,
        fn: Callable[[Connection], _T],
        passthrough: tuple[type[sa.exc.DBAPIError], ...] = (),
    ) -> _T:
        self._refuse_if_read_only()

        def run() -> _T:
            if self._file is not None:
                self._file.check()
            with self._engine.begin() as conn:
                return fn(conn)

        return self._retry(run, passthrough)

    def _write_statement(self, statement: sa.Executable, params: dict[str, Any]) -> list[Any]:
        """Run one statement as a transaction of its own (autocommit: one round trip on a
        server database) and return its rows."""
        self._refuse_if_read_only()

        def run() -> list[Any]:
            if self._file is not None:
                self._file.check()
            with self._autocommit_engine.connect() as conn:
                return list(conn.execute(statement, params))

        return self._retry(run)

    def _read(
        self,
        fn: Callable[[Connection], _T],
        passthrough: tuple[type[sa.exc.DBAPIError], ...] = (),
    ) -> _T:
        def run() -> _T:
            if self._file is not None:
                self._file.check()
            with self._read_engine.begin() as conn:
                return fn(conn)

        return self._retry(run, passthrough)

    def _bump(self, conn: Connection, column: str, study_id: int) -> int:
        """Add one to a study's counter (``next_number`` or ``finish_seq``) inside the current
        write transaction and return the new value. One statement where the database has
        UPDATE ... RETURNING (SQLite >= 3.35, PostgreSQL); read-then-write otherwise."""
        value: int | None = None
        if self._engine.dialect.update_returning:
            row = conn.execute(SQL_BUMP[column], {"sid": study_id}).first()
            value = None if row is None else row[0]
        else:
            col = studies_table.c[column]
            where = studies_table.c.study_id == study_id
            current = conn.execute(sa.select(col).where(where).with_for_update()).first()
            if current is not None:
                value = current[0] + 1
                conn.execute(studies_table.update().where(where).values({column: value}))
        if value is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
        return int(value)

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

    def _watch_file(self) -> None:
        """From now on, notice if the SQLite file is deleted or replaced."""
        if self._database_path is not None:
            self._file = FileWatch(self._database_path)

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
        with decoded(f"study id {study_id}"):
            info = (row[0], tuple(Direction(d) for d in json.loads(row[1])))
        with self._cache_lock:
            self._study_cache[study_id] = info
        return info

    def close(self) -> None:
        self._engine.dispose()
