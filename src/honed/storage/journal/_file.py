"""The journal file itself: checksummed lines, appended under a lock, read incrementally.

One record is one line, ``<crc32 of the JSON, 8 hex digits> <JSON>\\n``. The JSON is ASCII
(``ensure_ascii``), so a record holds no newline of its own and a line is a record.

Writers append under an exclusive lock on a sidecar file (``<log>.lock``); readers read
under a shared one, so a reader never sees a record half written by a live writer. Each
handle keeps the offset it has read up to and reads only the bytes after it.

A writer killed in the middle of an append (SIGKILL, a machine going down) leaves a *torn
tail*: bytes without their newline. Under the exclusive lock nobody else is writing, so the
next writer knows such bytes are torn: it writes a newline first, which closes the torn
bytes into a line of their own, and then its record. That line fails its checksum and every
reader skips it; no record is glued onto it, and nothing before it is touched.
"""

from __future__ import annotations

import errno
import json
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honed.errors import StorageError

try:
    import fcntl
except ImportError:  # Windows: no flock; the rest of honed.storage still imports
    fcntl = None  # type: ignore[assignment]

__all__ = ["JournalFile", "Line", "encode_record"]

_CHUNK = 1 << 20  # bytes read per pread call when catching up


def encode_record(record: dict[str, Any]) -> bytes:
    """The line of ``record``: its checksum, a space, compact ASCII JSON, a newline. NaN and
    infinities are written as Python's JSON writes them (``NaN``), so reports keep them."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=True)
    data = text.encode("ascii")
    return b"%08x %s\n" % (zlib.crc32(data), data)


def decode_line(line: bytes) -> dict[str, Any] | None:
    """The record of a complete line (newline stripped), or None when the line is not one
    (a torn record closed by the next writer, or damage): bad checksum, bad JSON."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    data = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(data):
            return None
        record = json.loads(data)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class Line:
    """One complete line read from the journal: its offset, its bytes (newline stripped)
    and its record (None: not a record; skipped)."""

    offset: int
    text: bytes
    record: dict[str, Any] | None


class JournalFile:
    """The log file and its lock file, opened once per handle.

    ``read_only``: the log is opened for reading only and never created; the lock file is
    used when it exists (a copy of a log without its lock file is read unlocked: nobody can
    be writing it through honed, since writers create the lock file).
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.read_only = read_only
        self.offset = 0  # every byte before it has been read (complete lines only)
        self.torn_tail = False  # bytes after ``offset`` with no newline (see the module doc)
        self._fd = -1
        self._lock_fd = -1
        self._open()

    def _open(self) -> None:
        try:
            if self.read_only:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    self._lock_fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    self._lock_fd = -1
            else:
                flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                self._fd = os.open(self.path, flags, 0o666)
                self._lock_fd = os.open(
                    self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666
                )
        except FileNotFoundError:
            self.close()
            if self.path.parent.is_dir():
                raise StorageError(
                    f"no journal at {str(self.path)!r} (a read-only open never creates one)."
                ) from None
            raise StorageError(
                f"cannot open journal {str(self.path)!r}: the folder "
                f"{str(self.path.parent)!r} does not exist; create it first."
            ) from None
        except OSError as e:
            self.close()
            raise StorageError(f"cannot open journal {str(self.path)!r}: {e.strerror}.") from None

    def reopen(self) -> None:
        """Open the files again (in a forked child: a lock taken through the parent's open
        file would be the parent's lock too), reading again from the start."""
        self.close()
        self.offset = 0
        self.torn_tail = False
        self._open()

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._lock_fd = -1

    @property
    def closed(self) -> bool:
        return self._fd < 0

    @contextmanager
    def locked(self, exclusive: bool) -> Iterator[None]:
        """Hold the shared (reading) or exclusive (writing) lock of the journal."""
        if self._lock_fd < 0:  # read-only, and no writer ever made a lock file
            yield
            return
        if fcntl is None:
            raise StorageError(
                "the journal storage needs POSIX file locks (Linux, macOS); on Windows use "
                "'sqlite:///honed.db' or PostgreSQL."
            )
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except OSError as e:
            if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise StorageError(
                    f"cannot lock {str(self.lock_path)!r}: {e.strerror}. The journal needs a "
                    "file system with working locks (local disks; NFS with its lock service: "
                    "not mounted with 'nolock' or 'local_lock'; Lustre mounted with 'flock')."
                ) from None
            raise
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def read_new(self) -> Iterator[Line]:
        """The complete lines after :attr:`offset`, advancing it past each one the caller
        takes; sets :attr:`torn_tail` when bytes without a newline end the file. Call it
        holding a lock."""
        size = os.fstat(self._fd).st_size
        if size < self.offset:
            raise StorageError(
                f"journal {str(self.path)!r} shrank from {self.offset} to {size} bytes while "
                "open: it was truncated or replaced. Restore it; never edit a journal in place."
            )
        self.torn_tail = False
        pos = self.offset
        pending = b""
        while pos < size:
            chunk = os.pread(self._fd, min(_CHUNK, size - pos), pos)
            if not chunk:
                break
            pos += len(chunk)
            pending += chunk
            start = 0
            while (end := pending.find(b"\n", start)) >= 0:
                text = pending[start:end]
                line = Line(self.offset, text, decode_line(text))
                self.offset += end + 1 - start
                start = end + 1
                yield line
            pending = pending[start:]
        self.torn_tail = bool(pending)

    def append(self, line: bytes, *, sync: bool) -> None:
        """Append one encoded record, and flush the file to disk if ``sync``. Call it holding
        the exclusive lock, after :meth:`read_new` has read to the end: a torn tail is
        closed first."""
        data = (b"\n" + line) if self.torn_tail else line
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if sync:
            os.fsync(self._fd)
        # Past the torn bytes (if any) and this record: under the exclusive lock nobody
        # else has written, so the end of the file is the end of this record.
        self.offset = os.fstat(self._fd).st_size
        self.torn_tail = False
