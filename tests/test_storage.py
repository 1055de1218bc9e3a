"""The storage conformance suite on every built-in backend, plus SQL-specific rules."""

from __future__ import annotations

import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import honed
from honed.errors import SchemaVersionError, StorageError
from honed.storage import InMemoryStorage, Storage, get_storage
from honed.storage.sql import SCHEMA_VERSION, SQLStorage
from honed.testing.storage import StorageTests
from honed.trial import Direction, TrialState
from tests._schema import check_migrations_build_the_tables, check_upgrade_from_version_1


class TestInMemoryStorage(StorageTests):
    def make_storage(self, tmp_path: Path) -> Storage:
        return InMemoryStorage()


class TestSQLiteStorage(StorageTests):
    def make_storage(self, tmp_path: Path) -> Storage:
        return SQLStorage(f"sqlite:///{tmp_path / 'conformance.db'}")

    def reopen(self, storage: Storage) -> Storage:
        assert isinstance(storage, SQLStorage)
        return SQLStorage(storage.url)  # a second engine: separate connections, as a process


# ---- schema version ----------------------------------------------------------------------
def _set_schema_version(path: Path, version: str) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE honed_meta SET value = ? WHERE key = 'schema_version'", (version,))
    con.close()


def test_schema_version_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    SQLStorage(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    rows = con.execute("SELECT key, value FROM honed_meta").fetchall()
    con.close()
    assert ("schema_version", str(SCHEMA_VERSION)) in rows


@pytest.mark.parametrize(
    ("version", "advice"),
    [(SCHEMA_VERSION + 1, "pip install -U honed"), (0, "older honed")],
)
def test_mismatched_schema_version_is_refused(tmp_path: Path, version: int, advice: str) -> None:
    path = tmp_path / "v.db"
    url = f"sqlite:///{path}"
    study = honed.create_study("kept", storage=url)
    study.optimize(lambda t: t.float("x", 0, 1), n_trials=3, show_progress=False)
    study.storage.close()
    _set_schema_version(path, str(version))
    with pytest.raises(SchemaVersionError) as info:
        honed.load_study("kept", storage=url)
    message = str(info.value)
    assert f"version {version}" in message and f"version {SCHEMA_VERSION}" in message
    assert advice in message
    assert isinstance(info.value, StorageError)
    # Refusing must not have touched the data: restore the version and everything is there.
    _set_schema_version(path, str(SCHEMA_VERSION))
    again = honed.load_study("kept", storage=url)
    assert len(again.trials) == 3


def test_a_version_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    check_upgrade_from_version_1(f"sqlite:///{tmp_path / 'v1.db'}")


def test_the_migrations_build_the_tables(tmp_path: Path) -> None:
    check_migrations_build_the_tables(f"sqlite:///{tmp_path / 'alembic.db'}")


def test_the_last_revision_is_the_schema_version() -> None:
    from alembic.script import ScriptDirectory

    from honed.storage.sql._migrations import alembic_config, revision_of

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [revision_of(SCHEMA_VERSION)]
    chain = [r.revision for r in script.walk_revisions("base", "heads")]
    assert chain == [revision_of(v) for v in range(SCHEMA_VERSION, 0, -1)]


def test_opening_a_current_database_runs_no_migration_code(tmp_path: Path) -> None:
    # Opening must stay cheap: one read of the recorded version, Alembic not even imported.
    url = f"sqlite:///{tmp_path / 'cheap.db'}"
    SQLStorage(url).close()
    code = (
        "import sys; from honed.storage.sql import SQLStorage; "
        f"SQLStorage({url!r}).close(); print(sorted(m for m in sys.modules if 'alembic' in m))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    assert out.stdout.strip() == "[]"


def _env() -> dict[str, str]:
    """The environment of a child Python that imports this checkout's honed."""
    src = str(Path(honed.__file__).parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


# ---- URLs and handles ----------------------------------------------------------------------
def test_get_storage_forms(tmp_path: Path) -> None:
    assert isinstance(get_storage(None), InMemoryStorage)
    mem = InMemoryStorage()
    assert get_storage(mem) is mem
    by_path = get_storage(tmp_path / "a.db")
    assert isinstance(by_path, SQLStorage) and (tmp_path / "a.db").exists()
    by_str = get_storage(str(tmp_path / "b.sqlite"))
    assert isinstance(by_str, SQLStorage)
    with pytest.raises(StorageError, match="sqlite:///"):
        get_storage(str(tmp_path / "notes.txt"))
    with pytest.raises(StorageError, match="in-memory SQLite"):
        get_storage("sqlite://")
    with pytest.raises(StorageError, match="unknown database kind 'nosuchdb'"):
        get_storage("nosuchdb://host/db")
    with pytest.raises(StorageError, match=r"cannot open storage.*missing_dir' does not exist"):
        get_storage(f"sqlite:///{tmp_path / 'missing_dir' / 'x.db'}")
    by_path.close()
    by_str.close()


def test_sql_storage_pickles_by_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    s = SQLStorage(url)
    sid = s.create_study("p", (Direction.MINIMIZE,))
    t = s.create_trial(sid)
    clone = pickle.loads(pickle.dumps(s))
    assert clone is not s and clone.url == url
    clone.finish_trial(t.trial_id, TrialState.COMPLETE, [0.5])
    assert s.get_trial(t.trial_id).values == (0.5,)


def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    SQLStorage(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_study_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = honed.create_study("r", storage=url, direction="maximize")
    study.optimize(lambda t: t.int("n", 0, 9), n_trials=5, show_progress=False)
    best = study.best_trial
    study.storage.close()
    again = honed.load_study("r", storage=url)
    assert again.direction is Direction.MAXIMIZE
    assert again.best_trial.number == best.number and again.best_value == best.value
    assert [t.number for t in again.trials] == [0, 1, 2, 3, 4]


def test_study_system_attrs_key_is_not_a_user_key(tmp_path: Path) -> None:
    # SQL keeps honed's study attributes in the user-attribute column under one key; a user
    # attribute of that name would clobber them, so it is refused with the reason.
    store = SQLStorage(f"sqlite:///{tmp_path / 'a.db'}")
    sid = store.create_study("s", [Direction.MINIMIZE])
    store.set_study_system_attr(sid, "fault_policy", {"retries": 1})
    with pytest.raises(ValueError, match="honed's own"):
        store.set_study_user_attr(sid, "__honed_system__", {})
    assert store.get_study_system_attrs(sid) == {"fault_policy": {"retries": 1}}
    # an older honed reading the same file sees it as one more user attribute, nothing breaks
    conn = sqlite3.connect(tmp_path / "a.db")
    raw = conn.execute("select user_attrs from studies").fetchone()
    conn.close()
    assert "__honed_system__" in raw[0]
    store.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_changed_best_trial_changes_nothing_stored(tmp_path: Path, kind: str) -> None:
    storage = None if kind == "memory" else f"sqlite:///{tmp_path / 'b.db'}"
    study = honed.create_study("best", storage=storage, sampler="random", seed=0)
    study.optimize(lambda t: t.float("x", 0, 1), n_trials=5, show_progress=False)
    best = study.best_params
    with pytest.raises(TypeError):
        study.best_trial.params["x"] = 123.0
    with pytest.raises(TypeError):
        study.trials[0].user_attrs["k"] = 1
    params = dict(study.best_trial.params)  # a copy is the user's to change
    params["x"] = 123.0
    assert study.best_params == best and study.best_params["x"] != 123.0
