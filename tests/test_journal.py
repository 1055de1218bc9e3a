"""The journal storage: the conformance suite, processes sharing one file, torn writes."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import pytest

import honed
from honed.errors import StorageError
from honed.storage import JournalStorage, Storage, get_storage
from honed.storage.journal._file import decode_line, encode_record
from honed.storage.journal._storage import HEADER
from honed.testing.storage import StorageTests
from honed.trial import Direction, TrialState

MIN = (Direction.MINIMIZE,)


def _env() -> dict[str, str]:
    """The environment of a child Python that imports this checkout's honed."""
    src = str(Path(honed.__file__).parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


class TestJournalStorage(StorageTests):
    def make_storage(self, tmp_path: Path) -> Storage:
        self._opened: list[JournalStorage] = []
        return JournalStorage(tmp_path / "conformance.log")

    def reopen(self, storage: Storage) -> Storage:
        assert isinstance(storage, JournalStorage)
        other = JournalStorage(storage.path)  # its own files and replay, as a process has
        self._opened.append(other)
        return other


# ---- many processes, one file ---------------------------------------------------------------
def _append_trials(path: str, n: int, out: Any) -> None:
    storage = JournalStorage(path)
    sid = storage.get_study_id("shared")
    got = []
    for _ in range(n):
        t = storage.create_trial(sid)
        storage.set_trial_intermediate_value(t.trial_id, 0, 0.5)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [float(t.number)])
        got.append((t.number, t.trial_id))
    out.put(got)
    storage.close()


def test_processes_get_dense_unique_numbers(tmp_path: Path) -> None:
    path = tmp_path / "shared.log"
    storage = JournalStorage(path)
    sid = storage.create_study("shared", MIN)
    ctx = mp.get_context("spawn")  # fresh interpreters, as on other machines
    out = ctx.Queue()
    procs = [ctx.Process(target=_append_trials, args=(str(path), 25, out)) for _ in range(4)]
    for p in procs:
        p.start()
    got = [pair for _ in procs for pair in out.get(timeout=120)]
    for p in procs:
        p.join(timeout=30)
    assert sorted(n for n, _ in got) == list(range(100))
    assert len({tid for _, tid in got}) == 100
    trials = storage.get_trials(sid)  # read incrementally by a handle open all along
    assert [t.number for t in trials] == list(range(100))
    assert all(t.value == float(t.number) and t.intermediate_values == {0: 0.5} for t in trials)
    # Every process gave every trial the same id: a fresh replay agrees with all of them.
    fresh = JournalStorage(path, read_only=True)
    assert {(t.number, t.trial_id) for t in fresh.get_trials(sid)} == set(got)
    fresh.close()
    storage.close()


def test_a_handle_used_in_a_forked_child_locks_for_itself(tmp_path: Path) -> None:
    storage = JournalStorage(tmp_path / "fork.log")
    sid = storage.create_study("s", MIN)
    storage.create_trial(sid)
    ctx = mp.get_context("fork")
    out = ctx.Queue()

    def child() -> None:  # the inherited handle: its own files and lock after the fork
        out.put([storage.create_trial(sid).number for _ in range(20)])

    procs = [ctx.Process(target=child) for _ in range(3)]
    for p in procs:
        p.start()
    mine = [storage.create_trial(sid).number for _ in range(20)]
    theirs = [n for _ in procs for n in out.get(timeout=60)]
    for p in procs:
        p.join(timeout=30)
    assert sorted(mine + theirs) == list(range(1, 81))
    assert storage.count_trials(sid) == 81
    storage.close()


def test_pickles_by_path(tmp_path: Path) -> None:
    storage = JournalStorage(tmp_path / "p.log")
    sid = storage.create_study("p", MIN)
    t = storage.create_trial(sid)
    clone = pickle.loads(pickle.dumps(storage))
    assert clone is not storage and clone.path == storage.path
    clone.finish_trial(t.trial_id, TrialState.COMPLETE, [0.5])
    assert storage.get_trial(t.trial_id).values == (0.5,)
    clone.close()
    storage.close()


# ---- torn writes --------------------------------------------------------------------------
TORN = textwrap.dedent(
    """
    import os, signal, sys
    from honed.storage import JournalStorage
    from honed.trial import TrialState
    storage = JournalStorage(sys.argv[1])
    write = os.write
    def torn(fd, data):  # half the record reaches the file, then the process is killed
        write(fd, bytes(data[: len(data) // 2]))
        os.kill(os.getpid(), signal.SIGKILL)
    os.write = torn
    storage.finish_trial(int(sys.argv[2]), TrialState.COMPLETE, [123.0])
    """
)


def _run_torn_writer(path: Path, trial_id: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", TORN, str(path), str(trial_id)], env=_env(), check=False
    )
    assert proc.returncode == -signal.SIGKILL


def test_a_write_cut_by_sigkill_is_skipped_and_nothing_else_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "torn.log"
    storage = JournalStorage(path)
    sid = storage.create_study("s", MIN)
    a, b = storage.create_trial(sid), storage.create_trial(sid)
    storage.finish_trial(a.trial_id, TrialState.COMPLETE, [1.0])
    size = path.stat().st_size
    _run_torn_writer(path, b.trial_id)
    torn = path.read_bytes()[size:]
    assert torn and not torn.endswith(b"\n")  # half a record, no newline
    # Readers stop before the torn bytes: the cut write never happened.
    assert storage.get_trial(b.trial_id).state is TrialState.RUNNING
    # The next writer closes the torn line rather than gluing its record onto it ...
    c = storage.create_trial(sid)
    lines = path.read_bytes()[size:].split(b"\n")
    assert lines[0] == torn and lines[1].startswith(b"%08x " % zlib.crc32(lines[1][9:]))
    # ... and every handle, old or new, skips it and reads everything else.
    with caplog.at_level(logging.WARNING, logger="honed.storage.journal._storage"):
        fresh = JournalStorage(path)
        trials = fresh.get_trials(sid)
    assert f"skipped a damaged record at byte {size}" in caplog.text
    assert caplog.text.count("skipped") == 1  # that line only, and once
    assert [(t.number, t.state) for t in trials] == [
        (0, TrialState.COMPLETE),
        (1, TrialState.RUNNING),
        (2, TrialState.RUNNING),
    ]
    assert trials[2].trial_id == c.trial_id
    # The trial whose finish was cut is still open: another worker can finish it.
    fresh.finish_trial(b.trial_id, TrialState.COMPLETE, [2.0])
    assert storage.get_trial(b.trial_id).values == (2.0,)
    # A torn first record (the header) is no different.
    empty = tmp_path / "empty.log"
    empty.write_bytes(HEADER[:20])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="honed.storage.journal._storage"):
        again = JournalStorage(empty)
        again.create_study("after", MIN)
        assert [s.name for s in again.list_studies()] == ["after"]
        assert caplog.text.count("skipped") == 0  # the writer knew what it closed
        assert [s.name for s in JournalStorage(empty).list_studies()] == ["after"]
        assert caplog.text.count("skipped a damaged record at byte 0") == 1
    for s in (storage, fresh, again):
        s.close()


def test_a_truncated_or_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    storage = JournalStorage(path)
    sid = storage.create_study("s", MIN)
    storage.create_trial(sid)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(StorageError, match="truncated or replaced"):
        storage.get_trials(sid)
    storage.close()
    foreign = tmp_path / "optuna.log"
    foreign.write_text('{"op_code": 0, "worker_id": "x", "study_name": "s"}\n')
    with pytest.raises(StorageError, match="not a honed journal"):
        JournalStorage(foreign)


def test_read_only(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no journal at"):
        JournalStorage(tmp_path / "missing.log", read_only=True)
    assert not (tmp_path / "missing.log").exists()
    with pytest.raises(StorageError, match=r"folder .* does not exist"):
        JournalStorage(tmp_path / "no" / "dir.log")
    writer = JournalStorage(tmp_path / "r.log")
    sid = writer.create_study("s", MIN)
    reader = get_storage(f"journal:///{tmp_path / 'r.log'}", read_only=True)
    assert reader.get_study_id("s") == sid
    with pytest.raises(StorageError, match="read-only"):
        reader.create_trial(sid)
    writer.create_trial(sid)
    assert reader.count_trials(sid) == 1  # it reads what is appended after it opened
    reader.close()
    writer.close()


# ---- URLs -----------------------------------------------------------------------------------
def test_journal_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = get_storage(f"journal:///{tmp_path / 'abs.log'}")
    assert isinstance(absolute, JournalStorage) and absolute.path == tmp_path / "abs.log"
    assert get_storage(absolute.url).path == absolute.path  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    relative = get_storage("journal:///rel.log")
    assert isinstance(relative, JournalStorage) and (tmp_path / "rel.log").is_file()
    for typo, fix in [
        ("journal:/x.log", "journal:///x.log"),
        ("journal:x.log", "journal:///x.log"),
        ("journal://x.log", "journal:///x.log"),
        ("Journal:///x.log", "journal:///x.log"),
        ("jounral:///x.log", "journal:///x.log"),
        ("jurnal:///x.log", "journal:///x.log"),
    ]:
        with pytest.raises(StorageError, match=f"did you mean '{fix}'"):
            get_storage(typo)
    with pytest.raises(StorageError, match="names no journal file"):
        get_storage("journal:///")
    with pytest.raises(StorageError, match=r"journal:///notes\.txt"):
        get_storage("notes.txt")
    absolute.close()
    relative.close()


WRITER = textwrap.dedent(
    """
    import sys
    from honed.storage import JournalStorage
    from honed.trial import TrialState
    storage = JournalStorage(sys.argv[1])
    sid = storage.get_study_id("storm")
    blob = "x" * int(sys.argv[2])  # a long record: its write takes a while
    print("ready", flush=True)
    while True:
        t = storage.create_trial(sid)
        if blob:
            storage.set_trial_user_attr(t.trial_id, "blob", blob)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [float(t.number)])
        print(t.number, flush=True)  # acknowledged: finish_trial returned
    """
)
BLOB = 16 << 20


def _writer(path: Path, blob: int) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(blob)],
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    return p


def _kill(p: subprocess.Popen[str]) -> list[int]:
    """SIGKILL ``p``; the trial numbers it acknowledged."""
    p.send_signal(signal.SIGKILL)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL
    return [int(n) for n in out.split()]


@pytest.mark.slow
def test_sigkills_in_the_middle_of_long_writes_lose_no_acknowledged_trial(tmp_path: Path) -> None:
    """Writers killed from outside while the kernel copies their record into the file (the
    file has grown, its last byte is not a newline), beside a writer that keeps going."""
    import time

    path = tmp_path / "storm.log"
    storage = JournalStorage(path)
    sid = storage.create_study("storm", MIN)
    steady = _writer(path, 0)  # small records all along, each acknowledged
    for _ in range(5):
        big = _writer(path, BLOB)
        deadline = time.monotonic() + 60
        with path.open("rb") as f:
            while time.monotonic() < deadline:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(size - 1)
                if size > 1 << 20 and f.read(1) != b"\n":  # mid-way through a long record
                    break
        _kill(big)
    acknowledged = _kill(steady)
    trials = JournalStorage(path, read_only=True).get_trials(sid)
    by_number = {t.number: t for t in trials}
    assert [t.number for t in trials] == list(range(len(trials)))  # dense, unique
    assert len(acknowledged) >= 10, "the steady writer made too little progress"
    for n in acknowledged:  # every acknowledged trial is there, whole
        t = by_number[n]
        assert t.state is TrialState.COMPLETE and t.value == float(n)
    for t in trials:
        assert "blob" not in t.user_attrs or len(t.user_attrs["blob"]) == BLOB
    *lines, tail = path.read_bytes().split(b"\n")
    cut = sum(1 for line in lines if decode_line(line) is None) + bool(tail)
    assert cut >= 1, "no kill landed in the middle of a write"
    storage.create_trial(sid)  # and the journal takes writes after it all
    assert storage.count_trials(sid) == len(trials) + 1
    print(f"\n{len(acknowledged)} acknowledged, {len(trials)} trials, {cut} writes cut")
    storage.close()


def test_a_record_that_cannot_be_replayed_is_skipped_alike_everywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What a lost record leaves (after a machine crash before the disk had it): records
    that depend on it. Every handle skips them the same way, so all agree."""
    path = tmp_path / "gap.log"
    storage = JournalStorage(path)
    sid = storage.create_study("s", MIN)
    finish = {"op": "finish", "t": 1.0, "trial": 7, "state": 2, "values": [1.0]}
    finish.update(system_attrs={}, params={}, dists={})
    with path.open("ab") as f:  # the finish of a trial whose creation was lost
        f.write(encode_record(finish))
    with caplog.at_level(logging.WARNING, logger="honed.storage.journal._storage"):
        t = storage.create_trial(sid)
        other = JournalStorage(path)
        assert [x.trial_id for x in other.get_trials(sid)] == [t.trial_id]
    assert caplog.text.count("cannot be replayed (KeyError") == 2  # once per handle
    storage.close()
    other.close()
