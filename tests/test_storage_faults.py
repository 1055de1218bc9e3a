"""Lost, damaged, full, locked and read-only databases: every fault is a StorageError with the
reason, never a raw driver error, a silent partial read, or a write from a reading tool."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import honed
from honed.errors import SchemaVersionError, StorageError
from honed.storage import get_storage
from honed.storage.sql import SQLStorage
from honed.trial import Direction, FrozenTrial, TrialState

MIN = [Direction.MINIMIZE]


def _filled(path: Path, n_trials: int = 40) -> list[FrozenTrial]:
    """A closed SQLite file holding study "s" with ``n_trials`` trials (parameters, reports,
    attributes); returns the trials as stored."""
    study = honed.create_study("s", storage=f"sqlite:///{path}", sampler="random", seed=0)

    def objective(trial: honed.Trial) -> float:
        x = trial.float("x", 0, 1)
        n = trial.int("n", 1, 9)
        trial.choice("c", ["a", "b"])
        for step in range(3):
            trial.report(x * step, step)
        trial.set_user_attr("note", f"trial {trial.number}")
        return x * n

    study.optimize(objective, n_trials=n_trials, show_progress=False)
    study.storage.close()
    reader = SQLStorage(f"sqlite:///{path}", read_only=True)
    trials = reader.get_trials(reader.get_study_id("s"))
    reader.close()
    for sidecar in ("-wal", "-shm"):  # left by the reader; the data is in the file
        Path(f"{path}{sidecar}").unlink(missing_ok=True)
    return trials


def _shape(trials: list[FrozenTrial]) -> list[tuple]:
    """What a partial load would lose: each trial, its state, its parameters and reports."""
    return [
        (t.number, t.state, sorted(t.params), sorted(t.intermediate_values), sorted(t.user_attrs))
        for t in trials
    ]


# ---- a file lost or replaced under a running study -----------------------------------------
def test_a_deleted_database_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    store = SQLStorage(f"sqlite:///{path}")
    sid = store.create_study("s", MIN)
    running = store.create_trial(sid)
    for f in tmp_path.iterdir():  # what `rm honed.db*` does under a running study
        f.unlink()
    with pytest.raises(StorageError, match=rf"{path}.*deleted or moved"):
        store.finish_trial(running.trial_id, TrialState.COMPLETE, [1.0])
    with pytest.raises(StorageError, match="deleted or moved"):
        store.create_trial(sid)
    with pytest.raises(StorageError, match="deleted or moved"):
        store.get_trials(sid)
    assert not path.exists()  # and nothing wrote a new, empty file in its place
    store.close()


def test_a_replaced_database_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = SQLStorage(f"sqlite:///{path}")
    sid = store.create_study("s", MIN)
    t = store.create_trial(sid)
    other = tmp_path / "other.db"
    SQLStorage(f"sqlite:///{other}").close()
    os.replace(other, path)  # e.g. a backup restored by renaming over it
    with pytest.raises(StorageError, match=rf"{path}.*replaced"):
        store.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0])
    with pytest.raises(StorageError, match="replaced"):
        store.get_trial(t.trial_id)
    store.close()


# ---- damaged files ----------------------------------------------------------------------------
def test_damaged_files_are_refused_never_partly_read(tmp_path: Path) -> None:
    """80 damaged copies of a real database (a fixed seed: cut at a random length, or 1-64
    random bytes written at a random offset), each opened read-only and for writing: every
    one either reads every trial with its state, parameters and reports, or raises
    StorageError naming the file. (A byte of a stored number can still change unseen:
    SQLite keeps no checksum of contents.)"""
    source = tmp_path / "source.db"
    expected = _shape(_filled(source))
    data = source.read_bytes()
    rng = random.Random(20240607)
    outcomes: dict[str, int] = {"read whole": 0, "refused": 0}
    for case in range(80):
        if case % 3 == 0:
            damaged = data[: rng.randrange(1, len(data))]
        else:
            offset, k = rng.randrange(len(data)), rng.randint(1, 64)
            damaged = (data[:offset] + rng.randbytes(k) + data[offset + k :])[: len(data)]
        for read_only in (True, False):
            path = tmp_path / f"case{case}-{int(read_only)}.db"
            path.write_bytes(damaged)
            try:
                store = SQLStorage(f"sqlite:///{path}", read_only=read_only)
                try:
                    trials = store.get_trials(store.get_study_id("s"))
                    store.list_studies()
                finally:
                    store.close()
            except StorageError as e:
                assert str(path) in str(e), e
                outcomes["refused"] += 1
            else:
                assert _shape(trials) == expected, f"case {case}: a partial read"
                outcomes["read whole"] += 1
    # Both outcomes happen: damage in unused space is harmless, elsewhere it is refused.
    assert outcomes["read whole"] > 20 and outcomes["refused"] > 40, outcomes


def test_a_damaged_file_names_the_file_and_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    _filled(path, n_trials=5)
    with open(path, "r+b") as f:  # overwrite a page of the trials table's b-tree
        f.seek(3 * 4096 + 8)
        f.write(b"\xff" * 200)
    with pytest.raises(StorageError) as info:
        SQLStorage(f"sqlite:///{path}")
    message = str(info.value)
    assert str(path) in message and "damaged" in message and ".recover" in message


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _filled(path, n_trials=30)
    size = path.stat().st_size
    for cut in (size - 4096, size - 100, 4096, 50):
        path.write_bytes(path.read_bytes()[:cut])
        with pytest.raises(StorageError, match="damaged"):
            SQLStorage(f"sqlite:///{path}", read_only=True)


# ---- read-only ----------------------------------------------------------------------------
def test_reading_never_creates_nor_writes(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StorageError, match="no database at"):
        get_storage(missing, read_only=True)
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StorageError, match="empty file"):
        get_storage(empty, read_only=True)
    assert empty.stat().st_size == 0  # no schema written into it
    # A database in SQLite's default journal mode stays in it: reading does not switch it to
    # WAL, nor write anything into the file.
    plain = tmp_path / "plain.db"
    con = sqlite3.connect(plain)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    before = plain.read_bytes()
    with pytest.raises(StorageError, match="no honed tables"):
        get_storage(plain, read_only=True)
    assert plain.read_bytes() == before


def test_a_read_only_storage_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    expected = _filled(path, n_trials=5)
    before = path.read_bytes()
    store = get_storage(path, read_only=True)
    sid = store.get_study_id("s")
    assert store.get_trials(sid) == expected
    assert store.list_studies()[0].n_trials == 5
    for write in (
        lambda: store.create_study("new", MIN),
        lambda: store.create_trial(sid),
        lambda: store.set_study_user_attr(sid, "k", 1),
        lambda: store.record_heartbeat(expected[0].trial_id),
    ):
        with pytest.raises(StorageError, match="read-only"):
            write()
    store.close()
    assert path.read_bytes() == before
    assert store.read_only and not get_storage(path).read_only


def test_an_older_database_is_not_upgraded_by_a_reader(tmp_path: Path) -> None:
    from tests._schema import make_version_1_database

    path = tmp_path / "v1.db"
    url = f"sqlite:///{path}"
    make_version_1_database(url)
    with pytest.raises(SchemaVersionError, match="honed storage upgrade"):
        SQLStorage(url, read_only=True)
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM honed_meta").fetchone() == ("1",)
    con.close()
    # The command the message names upgrades it; then readers read it.
    out = subprocess.run(
        [sys.executable, "-m", "honed", "storage", "upgrade", "--storage", url],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert out.returncode == 0, out.stderr
    assert "upgraded from version 1" in out.stdout
    store = SQLStorage(url, read_only=True)
    assert len(store.get_trials(store.get_study_id("old"))) == 3
    store.close()


def _env() -> dict[str, str]:
    src = str(Path(honed.__file__).parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


@contextlib.contextmanager
def _read_only_place(folder: Path) -> Iterator[Path]:
    """A folder whose files can be prepared, then are read-only: a small tmpfs remounted
    read-only where this process may mount (root), else a folder without write permission
    (which root would ignore)."""
    folder.mkdir()
    if os.geteuid() != 0:
        yield folder
        for f in folder.iterdir():
            f.chmod(0o444)
        folder.chmod(0o555)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)]).returncode:
        pytest.skip("running as root without the right to mount: cannot make a read-only place")
    try:
        yield folder
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    except BaseException:
        subprocess.run(["umount", str(folder)])
        raise


@pytest.fixture
def read_only_place(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "ro"
    yield folder
    if os.path.ismount(folder):
        subprocess.run(["umount", str(folder)], check=True)
    elif folder.exists():
        folder.chmod(0o755)


def test_a_database_in_a_read_only_place_can_be_read(tmp_path: Path, read_only_place) -> None:
    source = tmp_path / "src.db"
    expected = _filled(source, n_trials=6)
    # Three copies: closed cleanly; with its WAL and shared-memory files (a writer still had
    # it open); with its WAL only (changes not merged, no way to read them read-only).
    live = SQLStorage(f"sqlite:///{source}")
    sid = live.get_study_id("s")
    extra = live.create_trial(sid)
    live.finish_trial(extra.trial_id, TrialState.COMPLETE, [0.5])
    with _read_only_place(read_only_place) as place:
        (place / "clean").mkdir()
        (place / "live").mkdir()
        (place / "wal-only").mkdir()
        shutil.copy(source, place / "clean" / "a.db")
        con = sqlite3.connect(place / "clean" / "a.db")  # the copy without the extra trial
        con.execute("PRAGMA journal_mode=WAL")
        con.close()
        for name in ("a.db", "a.db-wal", "a.db-shm"):
            shutil.copy(f"{source}{name[4:]}", place / "live" / name)
            if name != "a.db-shm":
                shutil.copy(f"{source}{name[4:]}", place / "wal-only" / name)
    live.close()
    clean = get_storage(read_only_place / "clean" / "a.db", read_only=True)
    assert _shape(clean.get_trials(clean.get_study_id("s"))) == _shape(expected)
    clean.close()
    with_wal = get_storage(read_only_place / "live" / "a.db", read_only=True)
    assert len(with_wal.get_trials(with_wal.get_study_id("s"))) == len(expected) + 1
    with_wal.close()
    with pytest.raises(StorageError, match=r"a\.db-wal are not merged"):
        get_storage(read_only_place / "wal-only" / "a.db", read_only=True)
    # Opened for writing, the reason says what to do.
    with pytest.raises(StorageError, match="read_only=True"):
        writer = get_storage(read_only_place / "clean" / "a.db")
        writer.create_study("new", MIN)


# ---- disk full, locked --------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 1 MiB filesystem where this process may mount one (root); None otherwise."""
    folder = tmp_path / "small"
    folder.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)]
        ).returncode
    ):
        yield None
        return
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_is_a_storage_error(tmp_path: Path, small_disk: Path | None) -> None:
    if small_disk is not None:
        store = SQLStorage(f"sqlite:///{small_disk / 'full.db'}")
    else:  # no way to mount a small disk: SQLite's page limit gives the same SQLITE_FULL
        store = SQLStorage(f"sqlite:///{tmp_path / 'full.db'}")
        store._engine.dispose()
        from sqlalchemy import event

        event.listen(
            store._engine,
            "connect",
            lambda conn, _: conn.execute("PRAGMA max_page_count=64"),
        )
    sid = store.create_study("s", MIN)
    big = "x" * 20_000
    with pytest.raises(StorageError, match="the disk is full"):
        for _ in range(1000):
            t = store.create_trial(sid)
            store.set_trial_user_attr(t.trial_id, "blob", big)
            store.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0])
    # What was written before is intact and readable.
    trials = store.get_trials(sid)
    assert trials and all(t.state is TrialState.COMPLETE for t in trials[:-1])
    store.close()


def test_a_database_locked_beyond_the_retries_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import honed.storage.sql._engine as engine_module

    monkeypatch.setattr(engine_module, "_ATTEMPTS", 2)  # not the 12 of real use: no minutes
    path = tmp_path / "l.db"
    store = SQLStorage(f"sqlite:///{path}", {"connect_args": {"timeout": 0.05}})
    sid = store.create_study("s", MIN)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with pytest.raises(StorageError, match="locked through every retry"):
            store.create_trial(sid)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.create_trial(sid).number == 0  # the lock gone, it works again
    store.close()


def test_read_commands_never_write(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for command in (["studies"], ["show", "s"], ["export", "s"]):
        out = subprocess.run(
            [sys.executable, "-m", "honed", *command, "--storage", f"sqlite:///{empty}"],
            capture_output=True,
            text=True,
            env=_env(),
        )
        assert out.returncode == 2 and "empty file" in out.stderr, out.stderr
        assert empty.stat().st_size == 0
    path = tmp_path / "full.db"
    _filled(path, n_trials=3)
    before = path.read_bytes()
    out = subprocess.run(
        [sys.executable, "-m", "honed", "show", "s", "--storage", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert out.returncode == 0 and "3 trials" in out.stdout, out.stderr
    assert path.read_bytes() == before
