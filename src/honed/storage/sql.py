"""SQL storage on SQLAlchemy Core: SQLite (the embedded default) and, through the same code,
other databases SQLAlchemy speaks (PostgreSQL).

SQLite notes. Many processes share one file: the database runs in WAL mode (readers never
block the writer), every write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write
lock up front, so two writers never deadlock upgrading a read lock), and a generous busy
timeout plus a retry loop absorb contention instead of surfacing "database is locked".
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from honed.errors import (
    DuplicatedStudyError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
    TrialStateError,
)
from honed.space import Distribution, ParamValue, distribution_from_json
from honed.storage.base import (
    HEARTBEAT_ATTR,
    Storage,
    StudySummary,
    check_state_change,
    check_values,
    retry_attrs,
)
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["SCHEMA_VERSION", "SQLStorage"]

_logger = logging.getLogger(__name__)

#: Version of the database layout this honed writes; older files are upgraded when opened.
#: A newer one, or an older one without an upgrade path, raises SchemaVersionError.
SCHEMA_VERSION = 2
# What each upgrade adds; every one is additive, so it runs in place when a database of the
# older version is opened (under the write lock, so concurrent openers upgrade once).
_UPGRADES: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE trial_intermediate_values ADD COLUMN seconds FLOAT",
        "ALTER TABLE trial_intermediate_values ADD COLUMN vector_json TEXT",
    ),
}
# Where schema version 1 kept what are now report-row columns: trial system attributes keyed
# by step. Its databases are upgraded in place without moving them, so they are read from there.
_V1_REPORT_SECONDS = "report_seconds"
_V1_REPORT_VECTORS = "intermediate_vectors"
# Study-level system attributes share the studies.user_attrs JSON column under this key (no
# schema change); the user's view of the column never shows it.
_STUDY_SYSTEM_KEY = "__honed_system__"
_T = TypeVar("_T")

metadata = sa.MetaData()

meta_table = sa.Table(
    "honed_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

studies_table = sa.Table(
    "studies",
    metadata,
    sa.Column("study_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(512), nullable=False, unique=True),
    sa.Column("directions", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("next_number", sa.Integer, nullable=False, default=0),
    sa.Column("finish_seq", sa.Integer, nullable=False, default=0),
    sa.Column("user_attrs", sa.Text, nullable=False, default="{}"),
)

trials_table = sa.Table(
    "trials",
    metadata,
    sa.Column("trial_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("studies.study_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.Integer, nullable=False),
    sa.Column("values_json", sa.Text, nullable=True),
    sa.Column("constraints_json", sa.Text, nullable=True),
    sa.Column("params_json", sa.Text, nullable=False, default="{}"),
    sa.Column("distributions_json", sa.Text, nullable=False, default="{}"),
    sa.Column("user_attrs_json", sa.Text, nullable=False, default="{}"),
    sa.Column("system_attrs_json", sa.Text, nullable=False, default="{}"),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("completed_at", sa.Float, nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("finish_seq", sa.Integer, nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_trials_study_number"),
    sa.Index("ix_trials_study_state", "study_id", "state"),
    sa.Index("ix_trials_study_finish_seq", "study_id", "finish_seq"),
)

intermediate_table = sa.Table(
    "trial_intermediate_values",
    metadata,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("value", sa.Float, nullable=True),
    # Schema version 2: the trial's seconds at the report (NULL: not recorded), and the
    # objective vector of a multi-objective report (JSON; then ``value`` is NULL).
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("vector_json", sa.Text, nullable=True),
)

_UNFINISHED = (int(TrialState.WAITING), int(TrialState.RUNNING))

# Statements of the per-trial hot path, built once: building a statement and computing its
# cache key cost more than running it on SQLite. Values arrive as bound parameters.
_b = sa.bindparam
_tc = trials_table.c
_SQL_TRIAL = sa.select(trials_table).where(_tc.trial_id == _b("tid"))
_SQL_TRIAL_FOR_UPDATE = _SQL_TRIAL.with_for_update()
_SQL_UPDATE_TRIAL = trials_table.update().where(_tc.trial_id == _b("tid"))
_SQL_INSERT_TRIAL = trials_table.insert()
_SQL_BUMP = {
    col: studies_table.update()
    .where(studies_table.c.study_id == _b("sid"))
    .values({col: studies_table.c[col] + 1})
    .returning(studies_table.c[col])
    for col in ("next_number", "finish_seq")
}
_SQL_STUDY_SEQ = sa.select(studies_table.c.finish_seq).where(studies_table.c.study_id == _b("sid"))
# Two queries, each on its own index, instead of one OR that scans every trial of the study.
# Unfinished trials have no finish sequence (NULL), so the two sets never overlap.
_SQL_UNFINISHED = sa.select(trials_table).where(
    _tc.study_id == _b("sid"), _tc.state.in_(_UNFINISHED)
)
_SQL_FINISHED_SINCE = sa.select(trials_table).where(
    _tc.study_id == _b("sid"), _tc.finish_seq > _b("seq")
)
_SQL_INTERMEDIATE = (
    sa.select(
        intermediate_table.c.trial_id,
        intermediate_table.c.step,
        intermediate_table.c.value,
        intermediate_table.c.seconds,
        intermediate_table.c.vector_json,
    )
    .where(intermediate_table.c.trial_id.in_(_b("ids", expanding=True)))
    .order_by(intermediate_table.c.trial_id, intermediate_table.c.step)
)
_SQL_SET_INTERMEDIATE = intermediate_table.update().where(
    intermediate_table.c.trial_id == _b("tid"), intermediate_table.c.step == _b("st")
)
_SQL_ADD_INTERMEDIATE = intermediate_table.insert()


@lru_cache(maxsize=32)
def _sql_trial_columns(columns: tuple[str, ...]) -> sa.Select[Any]:
    """SELECT number, state and ``columns`` of one trial, locking its row where supported."""
    cols = [_tc.number, _tc.state, *(_tc[c] for c in columns)]
    return sa.select(*cols).where(_tc.trial_id == _b("tid")).with_for_update()


def _dumps(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"), allow_nan=False)


@lru_cache(maxsize=4096)
def _parse_distributions(text: str) -> dict[str, Distribution]:
    return {k: distribution_from_json(v) for k, v in json.loads(text).items()}


# Trial records are read-only, so identical attributes (``{}`` above all, or the same
# heartbeat attr on every trial) can be one shared object: a long study's cache holds
# hundreds of bytes less per trial.
_NO_REPORTS: dict[int, float] = {}


@lru_cache(maxsize=1024)
def _parse_attrs_cached(text: str) -> dict[str, Any]:
    return json.loads(text)


def _parse_attrs(text: str) -> dict[str, Any]:
    if len(text) > 256:  # long, probably unique values: not worth a cache slot
        return json.loads(text)
    return _parse_attrs_cached(text)


def _ts(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, UTC)


# Fork safety: a child process must never use a connection it inherited, or parent and child
# talk over one socket / one SQLite handle and corrupt each other's transactions. After a
# fork, every storage of the child forgets its inherited pool (without closing the parent's
# connections) and opens fresh ones on first use. This covers storages captured by an
# objective's closure and user code that forks, not only honed's own worker processes.
_LIVE_STORAGES: weakref.WeakSet[SQLStorage] = weakref.WeakSet()


def _forget_connections_after_fork() -> None:
    for storage in list(_LIVE_STORAGES):
        storage._engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections_after_fork)


# SQLSTATE classes and codes worth retrying: the transaction lost a race (serialization
# failure, deadlock, lock timeout) or the connection broke (class 08, server shutting down).
_TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300")


def _is_transient(exc: BaseException) -> bool:
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


class SQLStorage(Storage):
    """Storage in a SQL database given by a SQLAlchemy URL.

    Args:
        url: ``sqlite:///path/to/file.db`` (created if missing) or, with the ``postgres``
            extra, ``postgresql+psycopg://user:pass@host/db``.
        engine_kwargs: Passed to :func:`sqlalchemy.create_engine`.
    """

    def __init__(self, url: str, engine_kwargs: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self._engine_kwargs = dict(engine_kwargs or {})
        self._engine = self._create_engine()
        self._read_engine = self._engine.execution_options(honed_read=True)
        _LIVE_STORAGES.add(self)
        self._study_cache: dict[int, tuple[str, tuple[Direction, ...]]] = {}
        self._cache_lock = threading.Lock()
        self._clock_offset = 0.0
        self._init_schema()
        self._clock_offset = self._measure_clock_offset()

    # Storages travel to worker processes by URL: connections must never cross a fork.
    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "engine_kwargs": self._engine_kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["engine_kwargs"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"SQLStorage({self._engine.url.render_as_string(hide_password=True)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    def _create_engine(self) -> Engine:
        try:
            url = sa.engine.make_url(self.url)
        except sa.exc.ArgumentError as e:
            raise StorageError(
                f"cannot parse storage URL {self.url!r}: {e}. "
                "Use e.g. 'sqlite:///honed.db' or 'postgresql+psycopg://user@host/db'."
            ) from None
        kwargs = dict(self._engine_kwargs)
        if url.get_backend_name() == "sqlite":
            if url.database in (None, "", ":memory:"):
                raise StorageError(
                    "an in-memory SQLite database cannot be shared; use storage=None for "
                    "in-memory studies or give a file, e.g. 'sqlite:///honed.db'."
                )
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
        # A server database (PostgreSQL): a small pool per process, and no pre-ping round trip
        # per transaction. A connection the server dropped fails its first statement, the
        # pool invalidates it and _retry runs the transaction again on a fresh one.
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
                f"unknown database kind {url.get_backend_name()!r} in storage URL {self.url!r}; "
                "use 'sqlite:///honed.db' or 'postgresql+psycopg://user@host/db'."
            ) from None

    # ---- transactions ----------------------------------------------------------------------
    def _bump(self, conn: Connection, column: str, study_id: int) -> int:
        """Add one to a study's counter (``next_number`` or ``finish_seq``) inside the current
        write transaction and return the new value. One statement where the database has
        UPDATE ... RETURNING (SQLite >= 3.35, PostgreSQL); read-then-write otherwise."""
        if self._engine.dialect.update_returning:
            row = conn.execute(_SQL_BUMP[column], {"sid": study_id}).first()
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

    def _retry(self, fn: Callable[[], _T]) -> _T:
        delay = 0.01
        for attempt in range(12):
            try:
                return fn()
            except sa.exc.DBAPIError as e:  # OperationalError, InterfaceError, ...
                if not _is_transient(e) or attempt == 11:
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

    def _now(self) -> float:
        """Seconds since the epoch, on the database server's clock where there is a server:
        workers on many machines then stamp starts and heartbeats on one clock, so a worker
        whose clock runs behind is not taken for a dead one."""
        return time.time() + self._clock_offset

    def _measure_clock_offset(self) -> float:
        if self._engine.dialect.name != "postgresql":
            return 0.0  # SQLite lives on this machine: its clock is ours
        query = sa.text("SELECT extract(epoch FROM clock_timestamp())")
        best: tuple[float, float] | None = None  # (round trip, offset) of the fastest probe
        for _ in range(3):
            before = time.time()
            server = float(self._read(lambda c: c.execute(query).scalar_one()))
            after = time.time()
            sample = (after - before, server - (before + after) / 2)
            best = sample if best is None or sample < best else best
        assert best is not None
        rtt, offset = best
        # Within the measurement's own uncertainty the clocks agree: keep ours.
        return offset if abs(offset) > max(rtt, 0.01) else 0.0

    def _init_schema(self) -> None:
        def init(conn: Connection) -> None:
            metadata.create_all(conn, checkfirst=True)
            row = conn.execute(  # locked: of two processes opening an old database, one upgrades
                sa.select(meta_table.c.value)
                .where(meta_table.c.key == "schema_version")
                .with_for_update()
            ).first()
            if row is None:
                conn.execute(
                    meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                )
                return
            found = int(row[0])
            pending = range(found + 1, SCHEMA_VERSION + 1)
            if found < SCHEMA_VERSION and all(v in _UPGRADES for v in pending):
                for version in pending:
                    for statement in _UPGRADES[version]:
                        conn.exec_driver_sql(statement)
                conn.execute(
                    meta_table.update()
                    .where(meta_table.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )
                _logger.info("upgraded %r to schema version %d", self, SCHEMA_VERSION)
                return
            if found != SCHEMA_VERSION:
                newer = found > SCHEMA_VERSION
                raise SchemaVersionError(
                    f"the database {self!r} has honed schema version {found}, but this honed "
                    f"reads version {SCHEMA_VERSION}. "
                    + (
                        "It was written by a newer honed: upgrade with `pip install -U honed`."
                        if newer
                        else "It was written by an older honed: open it with that version "
                        "and `honed export` the studies, or point honed at a new database."
                    )
                )

        try:
            self._write(init)
        except OperationalError as e:
            hint = ""
            database = self._engine.url.database if self.is_sqlite else None
            if database and database != ":memory:" and not Path(database).parent.is_dir():
                hint = f"; the folder {str(Path(database).parent)!r} does not exist: create it"
            raise StorageError(f"cannot open storage {self!r}: {e.orig}{hint}") from None

    # ---- studies ---------------------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[Direction]) -> int:
        def run(conn: Connection) -> int:
            res = conn.execute(
                studies_table.insert().values(
                    name=name,
                    directions=_dumps([d.value for d in directions]),
                    created_at=self._now(),
                    next_number=0,
                    finish_seq=0,
                    user_attrs="{}",
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

        try:
            return self._write(run)
        except IntegrityError:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists; pass load_if_exists=True to reuse it."
            ) from None

    def get_study_id(self, name: str) -> int:
        row = self._read(
            lambda c: c.execute(
                sa.select(studies_table.c.study_id).where(studies_table.c.name == name)
            ).first()
        )
        if row is None:
            raise StudyNotFoundError(f"no study named {name!r} in {self!r}.")
        return int(row[0])

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

    def get_study_name(self, study_id: int) -> str:
        return self._study_info(study_id)[0]

    def get_study_directions(self, study_id: int) -> tuple[Direction, ...]:
        return self._study_info(study_id)[1]

    def list_studies(self) -> list[StudySummary]:
        def run(conn: Connection) -> list[StudySummary]:
            studies = conn.execute(
                sa.select(studies_table).order_by(studies_table.c.study_id)
            ).all()
            counts: dict[int, dict[TrialState, int]] = {}
            for sid, state, n in conn.execute(
                sa.select(trials_table.c.study_id, trials_table.c.state, sa.func.count()).group_by(
                    trials_table.c.study_id, trials_table.c.state
                )
            ):
                counts.setdefault(sid, {})[TrialState(state)] = n
            out = []
            for s in studies:
                directions = tuple(Direction(d) for d in json.loads(s.directions))
                best = None
                if len(directions) == 1:
                    best = self._best_values(conn, s.study_id, directions[0])
                by_state = {st: counts.get(s.study_id, {}).get(st, 0) for st in TrialState}
                out.append(
                    StudySummary(
                        s.study_id,
                        s.name,
                        directions,
                        by_state,
                        best,
                        _ts(s.created_at),
                        _user_part(s.user_attrs),
                    )
                )
            return out

        return self._read(run)

    def _best_values(
        self, conn: Connection, study_id: int, direction: Direction
    ) -> tuple[float, ...] | None:
        # Values live in JSON, so pick the best in Python over complete trials only.
        rows = conn.execute(
            sa.select(trials_table.c.values_json, trials_table.c.constraints_json).where(
                trials_table.c.study_id == study_id,
                trials_table.c.state == int(TrialState.COMPLETE),
            )
        )
        best: float | None = None
        for values_json, constraints_json in rows:
            if constraints_json and any(c > 0 for c in json.loads(constraints_json)):
                continue
            v = json.loads(values_json)[0]
            if best is None or direction.sign * v < direction.sign * best:
                best = v
        return None if best is None else (best,)

    def delete_study(self, study_id: int) -> None:
        def run(conn: Connection) -> None:
            ids = sa.select(trials_table.c.trial_id).where(trials_table.c.study_id == study_id)
            conn.execute(intermediate_table.delete().where(intermediate_table.c.trial_id.in_(ids)))
            conn.execute(trials_table.delete().where(trials_table.c.study_id == study_id))
            res = conn.execute(studies_table.delete().where(studies_table.c.study_id == study_id))
            if res.rowcount == 0:
                raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")

        self._write(run)
        with self._cache_lock:
            self._study_cache.pop(study_id, None)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        if key == _STUDY_SYSTEM_KEY:
            raise ValueError(f"the study attribute key {key!r} is honed's own; use another key.")
        self._update_study_attrs(study_id, lambda attrs: attrs.__setitem__(key, value))

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return _user_part(self._study_attrs_text(study_id))

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        def update(attrs: dict[str, Any]) -> None:
            attrs.setdefault(_STUDY_SYSTEM_KEY, {})[key] = value

        self._update_study_attrs(study_id, update)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(json.loads(self._study_attrs_text(study_id)).get(_STUDY_SYSTEM_KEY, {}))

    def _update_study_attrs(self, study_id: int, update: Any) -> None:
        def run(conn: Connection) -> None:
            row = conn.execute(
                sa.select(studies_table.c.user_attrs)
                .where(studies_table.c.study_id == study_id)
                .with_for_update()
            ).first()
            if row is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
            attrs = json.loads(row[0])
            update(attrs)
            conn.execute(
                studies_table.update()
                .where(studies_table.c.study_id == study_id)
                .values(user_attrs=_dumps(attrs))
            )

        self._write(run)

    def _study_attrs_text(self, study_id: int) -> str:
        row = self._read(
            lambda c: c.execute(
                sa.select(studies_table.c.user_attrs).where(studies_table.c.study_id == study_id)
            ).first()
        )
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
        return row[0]

    # ---- trials ----------------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        params: Mapping[str, ParamValue] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        if state not in (TrialState.RUNNING, TrialState.WAITING):
            raise ValueError(f"a new trial is RUNNING or WAITING, not {state.name}.")
        params = dict(params or {})
        distributions = dict(distributions or {})
        system_attrs = dict(system_attrs or {})
        params_json = _dumps(params)
        dists_json = _dumps({k: d.to_json() for k, d in distributions.items()})
        attrs_json = _dumps(system_attrs)

        def run(conn: Connection) -> tuple[int, int, float | None]:
            # The counter bump takes the study row's write lock, so numbers are dense and
            # unique however many processes insert at once.
            number = self._bump(conn, "next_number", study_id) - 1
            now = self._now() if state is TrialState.RUNNING else None
            res = conn.execute(
                _SQL_INSERT_TRIAL,
                {
                    "study_id": study_id,
                    "number": number,
                    "state": int(state),
                    "params_json": params_json,
                    "distributions_json": dists_json,
                    "user_attrs_json": "{}",
                    "system_attrs_json": attrs_json,
                    "started_at": now,
                    "heartbeat_at": now,
                },
            )
            return int(res.inserted_primary_key[0]), number, now  # type: ignore[index]

        trial_id, number, started = self._write(run)
        return FrozenTrial(
            number=number,
            state=state,
            params=params,
            distributions=distributions,
            system_attrs=system_attrs,
            datetime_start=_ts(started),
            trial_id=trial_id,
        )

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        def run(conn: Connection) -> int | None:
            while True:
                row = conn.execute(
                    sa.select(trials_table.c.trial_id)
                    .where(
                        trials_table.c.study_id == study_id,
                        trials_table.c.state == int(TrialState.WAITING),
                    )
                    .order_by(trials_table.c.number)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return None
                now = self._now()
                res = conn.execute(
                    trials_table.update()
                    .where(
                        trials_table.c.trial_id == row[0],
                        trials_table.c.state == int(TrialState.WAITING),
                    )
                    .values(state=int(TrialState.RUNNING), started_at=now, heartbeat_at=now)
                )
                if res.rowcount == 1:  # someone else may have claimed it between the two
                    return int(row[0])

        trial_id = self._write(run)
        return None if trial_id is None else self.get_trial(trial_id)

    def _modify(
        self,
        trial_id: int,
        fn: Callable[[Connection, Any], dict[str, Any]],
        columns: tuple[str, ...] = (),
    ) -> None:
        """Read-check-write an unfinished trial's row in one transaction; ``fn`` sees the
        row's number, state and ``columns``."""

        def run(conn: Connection) -> None:
            row = conn.execute(_sql_trial_columns(columns), {"tid": trial_id}).first()
            if row is None:
                raise KeyError(f"no trial with id {trial_id}.")
            if TrialState(row.state).is_finished:
                raise TrialStateError(
                    f"trial {row.number} is already {TrialState(row.state).name} and cannot change."
                )
            values = fn(conn, row)
            if values:
                conn.execute(_SQL_UPDATE_TRIAL, {"tid": trial_id, **values})

        self._write(run)

    def set_trial_params(
        self,
        trial_id: int,
        params: Mapping[str, ParamValue],
        distributions: Mapping[str, Distribution],
    ) -> None:
        if not params:
            return

        def fn(conn: Connection, row: Any) -> dict[str, Any]:
            p = json.loads(row.params_json)
            d = json.loads(row.distributions_json)
            p.update(params)
            d.update({k: v.to_json() for k, v in distributions.items()})
            return {"params_json": _dumps(p), "distributions_json": _dumps(d)}

        self._modify(trial_id, fn, ("params_json", "distributions_json"))

    def set_trial_intermediate_value(
        self,
        trial_id: int,
        step: int,
        value: float | Sequence[float],
        seconds: float | None = None,
    ) -> None:
        row_values: dict[str, Any] = {
            "seconds": None if seconds is None else float(seconds),
            "vector_json": None,
        }
        if isinstance(value, Sequence):
            row_values["value"] = None
            row_values["vector_json"] = json.dumps([float(x) for x in value])  # NaN kept
        else:
            row_values["value"] = None if value != value else float(value)  # NaN as NULL

        def fn(conn: Connection, row: Any) -> dict[str, Any]:
            res = conn.execute(
                _SQL_SET_INTERMEDIATE, {"tid": trial_id, "st": int(step), **row_values}
            )
            if res.rowcount == 0:
                conn.execute(
                    _SQL_ADD_INTERMEDIATE, {"trial_id": trial_id, "step": int(step), **row_values}
                )
            return {"heartbeat_at": self._now()}

        self._modify(trial_id, fn)

    def _set_attr(self, trial_id: int, column: str, key: str, value: Any) -> None:
        encoded = json.loads(_dumps(value))  # fail early on values JSON cannot hold

        def fn(conn: Connection, row: Any) -> dict[str, Any]:
            attrs = json.loads(getattr(row, column))
            attrs[key] = encoded
            return {column: _dumps(attrs)}

        self._modify(trial_id, fn, (column,))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_attr(trial_id, "user_attrs_json", key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_attr(trial_id, "system_attrs_json", key, value)

    def set_trial_constraints(self, trial_id: int, constraints: Sequence[float]) -> None:
        text = _dumps([float(c) for c in constraints])
        self._modify(trial_id, lambda conn, row: {"constraints_json": text})

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, ParamValue] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
    ) -> FrozenTrial:
        if not state.is_finished:
            raise ValueError(f"finish_trial needs a finished state, not {state.name}.")
        values_json = None if values is None else _dumps([float(v) for v in values])
        new_dists = {k: d.to_json() for k, d in (distributions or {}).items()}

        def run(conn: Connection) -> FrozenTrial:
            row = conn.execute(_SQL_TRIAL_FOR_UPDATE, {"tid": trial_id}).first()
            if row is None:
                raise KeyError(f"no trial with id {trial_id}.")
            check_state_change(row.number, TrialState(row.state), state)
            if state is TrialState.COMPLETE:
                check_values(values, len(self.get_study_directions(row.study_id)))
            seq = self._bump(conn, "finish_seq", row.study_id)
            attrs = json.loads(row.system_attrs_json)
            attrs.update(system_attrs or {})
            attrs_json = _dumps(attrs)
            now = self._now()
            update = {
                "tid": trial_id,
                "state": int(state),
                "values_json": values_json,
                "system_attrs_json": attrs_json,
                "completed_at": now,
                "finish_seq": seq,
            }
            if params:
                merged = json.loads(row.params_json)
                merged.update(params)
                merged_dists = json.loads(row.distributions_json)
                merged_dists.update(new_dists)
                update["params_json"] = _dumps(merged)
                update["distributions_json"] = _dumps(merged_dists)
            conn.execute(_SQL_UPDATE_TRIAL, update)
            # The final record, from the row as written: no second read transaction.
            (before,) = self._rows_to_trials(conn, [row])
            return replace(
                before,
                state=state,
                params=json.loads(update.get("params_json", row.params_json)),
                distributions=_parse_distributions(
                    update.get("distributions_json", row.distributions_json)
                ),
                values=None if values_json is None else tuple(json.loads(values_json)),
                system_attrs=json.loads(attrs_json),
                datetime_complete=_ts(now),
            )

        return self._write(run)

    def record_heartbeat(self, trial_id: int) -> None:
        self._write(
            lambda c: c.execute(
                trials_table.update()
                .where(
                    trials_table.c.trial_id == trial_id,
                    trials_table.c.state == int(TrialState.RUNNING),
                )
                .values(heartbeat_at=self._now())
            )
        )

    def fail_stale_trials(
        self, study_id: int, grace_period: float, retries: int = 0
    ) -> list[FrozenTrial]:
        cutoff = self._now() - grace_period
        stale = (
            trials_table.c.study_id == study_id,
            trials_table.c.state == int(TrialState.RUNNING),
            trials_table.c.heartbeat_at < cutoff,
        )
        # Usually nothing is stale: look first without taking SQLite's write lock. Only
        # trials whose worker sends heartbeats count (the attr is in their system attrs).
        probe = sa.select(trials_table.c.system_attrs_json).where(*stale)
        if not any(
            HEARTBEAT_ATTR in json.loads(a) for (a,) in self._read(lambda c: c.execute(probe).all())
        ):
            return []

        def run(conn: Connection) -> list[int]:
            # The (study_id, state) index finds the few RUNNING rows; no table scan. On
            # PostgreSQL the rows stay locked until commit, and rows a finishing worker holds
            # are skipped: that trial is alive. SQLite's BEGIN IMMEDIATE already serializes.
            rows = conn.execute(
                sa.select(
                    trials_table.c.trial_id,
                    trials_table.c.number,
                    trials_table.c.params_json,
                    trials_table.c.distributions_json,
                    trials_table.c.system_attrs_json,
                    trials_table.c.heartbeat_at,
                )
                .where(*stale)
                .order_by(trials_table.c.number)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            # Study row last, as finish_trial does: one lock order, no deadlock.
            study = conn.execute(
                sa.select(studies_table.c.finish_seq, studies_table.c.next_number)
                .where(studies_table.c.study_id == study_id)
                .with_for_update()
            ).one()
            seq, number = int(study.finish_seq), int(study.next_number)
            now = self._now()
            failed: list[int] = []
            for r in rows:
                attrs = json.loads(r.system_attrs_json)
                if HEARTBEAT_ATTR not in attrs:
                    continue  # its worker never promised heartbeats
                attrs["fail_reason"] = (
                    f"stale: no heartbeat for {now - (r.heartbeat_at or now):.1f} s "
                    f"(grace period {grace_period:g} s); its worker is gone."
                )
                res = conn.execute(
                    trials_table.update()
                    .where(trials_table.c.trial_id == r.trial_id, *stale)
                    .values(
                        state=int(TrialState.FAILED),
                        system_attrs_json=_dumps(attrs),
                        completed_at=now,
                        finish_seq=seq + 1,
                    )
                )
                if res.rowcount != 1:  # it finished or beat in the meantime
                    continue
                seq += 1
                failed.append(int(r.trial_id))
                shell = FrozenTrial(number=r.number, state=TrialState.FAILED, system_attrs=attrs)
                retry = retry_attrs(shell, retries)
                if retry is not None:
                    conn.execute(
                        trials_table.insert().values(
                            study_id=study_id,
                            number=number,
                            state=int(TrialState.WAITING),
                            params_json=r.params_json,
                            distributions_json=r.distributions_json,
                            user_attrs_json="{}",
                            system_attrs_json=_dumps(retry),
                        )
                    )
                    number += 1
            conn.execute(
                studies_table.update()
                .where(studies_table.c.study_id == study_id)
                .values(finish_seq=seq, next_number=number)
            )
            return failed

        return [self.get_trial(tid) for tid in self._write(run)]

    # ---- reading trials --------------------------------------------------------------------
    def _rows_to_trials(self, conn: Connection, rows: Sequence[Any]) -> list[FrozenTrial]:
        if not rows:
            return []
        ids = [r.trial_id for r in rows]
        inter: dict[int, dict[int, float]] = {}
        vectors: dict[int, dict[int, tuple[float, ...]]] = {}
        seconds: dict[int, dict[int, float]] = {}
        for i in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            chunk = ids[i : i + 900]
            for tid, step, value, secs, vec in conn.execute(_SQL_INTERMEDIATE, {"ids": chunk}):
                if vec is not None:
                    vectors.setdefault(tid, {})[step] = tuple(json.loads(vec))
                else:
                    inter.setdefault(tid, {})[step] = float("nan") if value is None else value
                if secs is not None:
                    seconds.setdefault(tid, {})[step] = secs
        out = []
        for r in rows:
            system_attrs = _parse_attrs(r.system_attrs_json)
            out.append(
                FrozenTrial(
                    number=r.number,
                    state=TrialState(r.state),
                    params=json.loads(r.params_json),
                    distributions=_parse_distributions(r.distributions_json),
                    values=None if r.values_json is None else tuple(json.loads(r.values_json)),
                    intermediate_values=inter.get(r.trial_id, _NO_REPORTS),
                    constraints=None
                    if r.constraints_json is None
                    else tuple(json.loads(r.constraints_json)),
                    user_attrs=_parse_attrs(r.user_attrs_json),
                    system_attrs=system_attrs,
                    datetime_start=_ts(r.started_at),
                    datetime_complete=_ts(r.completed_at),
                    trial_id=r.trial_id,
                    report_seconds=seconds.get(r.trial_id)
                    or _v1_reports(system_attrs, _V1_REPORT_SECONDS, float),
                    intermediate_vectors=vectors.get(r.trial_id)
                    or _v1_reports(system_attrs, _V1_REPORT_VECTORS, _vector),
                )
            )
        return out

    def get_trial(self, trial_id: int) -> FrozenTrial:
        def run(conn: Connection) -> list[FrozenTrial]:
            rows = conn.execute(_SQL_TRIAL, {"tid": trial_id}).all()
            return self._rows_to_trials(conn, rows)

        trials = self._read(run)
        if not trials:
            raise KeyError(f"no trial with id {trial_id}.")
        return trials[0]

    def get_trials(
        self, study_id: int, states: Sequence[TrialState] | None = None
    ) -> list[FrozenTrial]:
        def run(conn: Connection) -> list[FrozenTrial]:
            q = sa.select(trials_table).where(trials_table.c.study_id == study_id)
            if states is not None:
                q = q.where(trials_table.c.state.in_([int(s) for s in states]))
            return self._rows_to_trials(conn, conn.execute(q.order_by(trials_table.c.number)).all())

        return self._read(run)

    def get_trials_since(self, study_id: int, finish_seq: int) -> tuple[list[FrozenTrial], int]:
        def run(conn: Connection) -> tuple[list[FrozenTrial], int]:
            row = conn.execute(_SQL_STUDY_SEQ, {"sid": study_id}).first()
            if row is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self!r}.")
            rows = conn.execute(_SQL_UNFINISHED, {"sid": study_id}).all()
            if finish_seq < row[0]:  # something finished since the caller's last read
                rows += conn.execute(
                    _SQL_FINISHED_SINCE, {"sid": study_id, "seq": finish_seq}
                ).all()
            rows.sort(key=lambda r: r.number)
            return self._rows_to_trials(conn, rows), int(row[0])

        return self._read(run)

    def count_trials(self, study_id: int, states: Sequence[TrialState] | None = None) -> int:
        def run(conn: Connection) -> int:
            q = sa.select(sa.func.count()).where(trials_table.c.study_id == study_id)
            if states is not None:
                q = q.where(trials_table.c.state.in_([int(s) for s in states]))
            return int(conn.execute(q).scalar_one())

        return self._read(run)

    def close(self) -> None:
        self._engine.dispose()


def _vector(raw: Any) -> tuple[float, ...]:
    return tuple(float(x) for x in raw)


def _v1_reports(attrs: Mapping[str, Any], key: str, convert: Callable[[Any], Any]) -> dict:
    """``step -> value`` from a schema-version-1 system attribute (empty when absent)."""
    legacy = attrs.get(key)
    if not legacy:
        return _NO_REPORTS
    return {int(step): convert(v) for step, v in legacy.items()}


def _user_part(text: str) -> dict[str, Any]:
    """The user's attributes from a studies.user_attrs column (honed's own key left out)."""
    attrs = json.loads(text)
    attrs.pop(_STUDY_SYSTEM_KEY, None)
    return attrs
