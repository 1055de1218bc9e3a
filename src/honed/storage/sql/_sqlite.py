"""SQLite files: opened for writing or read-only, checked on open, and watched while in use.

Many processes share one file: the database runs in WAL mode (readers never block the
writer), every write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock up
front, so two writers never deadlock upgrading a read lock), and a generous busy timeout plus
the retry loop absorb contention instead of surfacing "database is locked".

Read-only, the file is opened with ``mode=ro``: SQLite then never creates, changes or
journals it. A WAL database in a place nobody may write (a read-only filesystem, a folder
without write permission) cannot get its shared-memory file, so it is read as ``immutable``
instead, unless its ``-wal`` file holds changes not yet merged (reading without them would
miss trials): then honed says so.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from honed.errors import StorageError

__all__ = ["FileWatch", "check_integrity", "sqlite_engine"]

_BUSY_TIMEOUT_S = 60.0


def sqlite_engine(url: sa.URL, kwargs: dict[str, Any], read_only: bool) -> Engine:
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("timeout", _BUSY_TIMEOUT_S)
    connect_args.setdefault("check_same_thread", False)
    busy_ms = int(float(connect_args["timeout"]) * 1000)
    if read_only:
        kwargs["creator"] = _read_only_connector(str(url.database), connect_args)
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if not read_only:  # (setting it is a write; a reader takes the file as it is)
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read = conn.get_execution_options().get("honed_read", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


def _read_only_connector(path: str, connect_args: dict[str, Any]) -> Callable[[], Any]:
    """A function opening ``path`` read-only: ``mode=ro``, or ``immutable`` where the place is
    read-only and the file has no unmerged changes."""
    if not os.path.isfile(path):
        raise StorageError(
            f"no database at {path}: nothing to read (a read-only storage never creates one)."
        )
    if os.path.getsize(path) == 0:
        raise StorageError(
            f"{path} is an empty file, not a honed database: nothing to read (a read-only "
            "storage never writes a schema into it)."
        )
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    args = {k: v for k, v in connect_args.items() if k != "uri"}

    def connect(target: str) -> sqlite3.Connection:
        return sqlite3.connect(target, uri=True, **args)

    try:
        probe = connect(uri)
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            probe.close()
    except sqlite3.OperationalError:
        # A WAL database where its -shm file can be neither found nor created.
        wal = path + "-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            raise StorageError(
                f"cannot read {path} here: its changes in {wal} are not merged into it yet and "
                "this place is read-only. Copy both files to a writable folder and read them "
                "there (or open it once where it can be written)."
            ) from None
        uri += "&immutable=1"
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        pass  # a damaged file: opening it says so (see check_integrity)
    return lambda: connect(uri)


# Files this process found whole, by (device, inode, size, modification time): each is
# checked in full once, however often it is opened, until it changes.
_CHECKED: set[tuple[int, int, int, int]] = set()


def check_integrity(conn: Connection, path: str) -> None:
    """Raise StorageError naming ``path`` unless the file is whole.

    Every open compares the file's size with its pages: a file cut short is found there
    (SQLite reads the missing tail of a page as zeros, which no structure check notices).
    The first open in a process also runs SQLite's ``integrity_check``: every page, b-tree
    and record, and every index against its table. (``quick_check`` skips the last and
    costs a third as much, but a damaged index then hides rows: reports went missing
    silently in the corruption tests.) On a 10k-trial file (4.6 MB) it takes 30-50 ms,
    against 260-370 ms to load the study's trials.

    The file is only ever looked at with ``stat`` and through SQLite: opening and closing
    it here would drop this process's SQLite locks on it (POSIX locks belong to the process,
    and any close releases them), and another process could then delete a WAL still in use.
    """
    st = os.stat(path)
    if st.st_size == 0:
        return  # a new, empty database
    page_size = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
    pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    wal = path + "-wal"
    wal_empty = not os.path.exists(wal) or os.stat(wal).st_size == 0
    # Without a WAL, every page is in the file; with one, the last pages may still be there.
    if st.st_size % page_size or (wal_empty and pages * page_size > st.st_size):
        raise damaged(
            path,
            f"it is {st.st_size} bytes long, but holds {pages} pages of {page_size} bytes: "
            "it was cut short",
        )
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _CHECKED:
        return
    problems = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check(5)")]
    if problems != ["ok"]:
        raise damaged(path, "; ".join(problems))
    _CHECKED.add(key)


def damaged(path: str, detail: str) -> StorageError:
    return StorageError(
        f"the database file {path} is damaged ({detail}). Restore it from a backup, or save "
        f"what is still readable into a new file: sqlite3 {path} .recover | sqlite3 recovered.db"
    )


class FileWatch:
    """Notices a database file deleted, moved or replaced under a running study.

    SQLite keeps writing into a deleted file's inode (or the old file, when another took its
    name), so every later trial would vanish with it; a ``stat`` per transaction, compared
    with the file opened, turns that into an error at the first write."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        st = os.stat(self.path)
        self._identity = (st.st_dev, st.st_ino)

    def check(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StorageError(
                f"the database file {self.path} was deleted or moved while in use: what is "
                "written now would be lost with it. Put the file back (or point honed at its "
                "new place) and run again."
            ) from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise StorageError(
                f"the database file {self.path} was replaced by another file while in use: "
                "what is written now would go to the old one and be lost. Reopen the storage "
                "to use the new file."
            )
