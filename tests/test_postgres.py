"""PostgreSQL through the same SQL layer as SQLite: a real server (see tests/_pg.py), real
concurrent processes, real lock conflicts."""

from __future__ import annotations

import multiprocessing as mp
import threading

import pytest
import sqlalchemy as sa

import honed
from honed.errors import DuplicatedStudyError, TrialStateError
from honed.space import Float
from honed.storage import get_storage
from honed.storage.sql import SQLStorage
from honed.storage.sql._engine import is_transient as _is_transient
from honed.testing.storage import StorageTests
from honed.trial import Direction, TrialState
from tests._schema import check_migrations_build_the_tables, check_upgrade_from_version_1


@pytest.fixture
def store(pg_url):
    s = get_storage(pg_url)
    yield s
    s.close()


class TestPostgresConformance(StorageTests):
    """The storage contract every backend honors, on PostgreSQL."""

    @pytest.fixture
    def storage(self, pg_url):
        self._opened: list[SQLStorage] = []
        s = get_storage(pg_url)
        yield s
        s.close()
        for other in self._opened:
            other.close()

    def reopen(self, storage):
        other = SQLStorage(storage.url)  # a second engine: its own connections, as a process
        self._opened.append(other)
        return other


def test_a_version_1_database_is_upgraded_in_place(pg_url):
    check_upgrade_from_version_1(pg_url)


def test_the_migrations_build_the_tables(pg_url):
    check_migrations_build_the_tables(pg_url.replace("postgresql://", "postgresql+psycopg://"))


def test_postgresql_urls_use_psycopg3(store):
    assert isinstance(store, SQLStorage)
    assert store._engine.dialect.name == "postgresql"
    assert store._engine.dialect.driver == "psycopg"
    assert not store.is_sqlite


def test_round_trip(store):
    sid = store.create_study("s", [Direction.MAXIMIZE])
    with pytest.raises(DuplicatedStudyError):
        store.create_study("s", [Direction.MAXIMIZE])
    t = store.create_trial(sid)
    store.set_trial_params(t.trial_id, {"x": 0.25}, {"x": Float(0, 1)})
    store.set_trial_intermediate_value(t.trial_id, 3, 0.5)
    store.set_trial_user_attr(t.trial_id, "k", [1, "a"])
    done = store.finish_trial(t.trial_id, TrialState.COMPLETE, [0.75])
    assert done.params == {"x": 0.25} and done.values == (0.75,)
    assert done.intermediate_values == {3: 0.5} and done.user_attrs == {"k": [1, "a"]}
    with pytest.raises(TrialStateError):
        store.finish_trial(t.trial_id, TrialState.FAILED)
    changed, seq = store.get_trials_since(sid, 0)
    assert [c.number for c in changed] == [0] and seq == 1
    assert store.get_trials_since(sid, seq) == ([], 1)
    (summary,) = store.list_studies()
    assert summary.best_values == (0.75,)


def _hammer(url: str, n: int, barrier, out) -> None:
    """A worker that creates, parametrizes and finishes ``n`` trials as fast as it can."""
    store = get_storage(url)
    sid = store.get_study_id("race")
    barrier.wait()
    mine = []
    for i in range(n):
        t = store.create_trial(sid)
        value = float(t.trial_id) + 0.5
        store.set_trial_params(t.trial_id, {"x": value}, {"x": Float(0, 1e9)})
        store.set_trial_user_attr(t.trial_id, "worker", i)
        store.finish_trial(t.trial_id, TrialState.COMPLETE, [value])
        store.set_study_user_attr(sid, f"w{t.trial_id}", i)  # read-modify-write of one row
        mine.append(t.number)
    store.close()
    out.put(mine)


def test_concurrent_workers_never_share_a_number_nor_lose_a_write(store, pg_url):
    sid = store.create_study("race", [Direction.MINIMIZE])
    n_procs, n_each = 4, 20
    ctx = mp.get_context("fork")  # SQLStorage drops an inherited pool after a fork
    barrier, out = ctx.Barrier(n_procs), ctx.Queue()
    procs = [
        ctx.Process(target=_hammer, args=(pg_url, n_each, barrier, out)) for _ in range(n_procs)
    ]
    for p in procs:
        p.start()
    numbers = [n for _ in procs for n in out.get(timeout=120)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    total = n_procs * n_each
    assert sorted(numbers) == list(range(total))  # dense and unique
    trials = store.get_trials(sid)
    assert len(trials) == total
    for t in trials:  # every write of every worker is there
        assert t.state is TrialState.COMPLETE
        assert t.params["x"] == t.values[0] == t.trial_id + 0.5
        assert "worker" in t.user_attrs
    assert len(store.get_study_user_attrs(sid)) == total  # no lost update of the study row
    changed, seq = store.get_trials_since(sid, 0)
    assert seq == total and len(changed) == total


def test_concurrent_params_on_one_trial_are_all_kept(store):
    sid = store.create_study("p", [Direction.MINIMIZE])
    t = store.create_trial(sid)

    def add(i: int) -> None:
        for j in range(10):
            store.set_trial_params(t.trial_id, {f"p{i}_{j}": 0.5}, {f"p{i}_{j}": Float(0, 1)})

    threads = [threading.Thread(target=add, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(store.get_trial(t.trial_id).params) == 60


def test_a_real_deadlock_is_seen_as_transient_and_retried(store):
    engine = store._engine
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE locks (id int primary key, v int)")
        c.exec_driver_sql("INSERT INTO locks VALUES (1, 0), (2, 0)")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def cross(first: int, second: int) -> None:
        try:
            with engine.begin() as c:
                c.exec_driver_sql(f"UPDATE locks SET v = v + 1 WHERE id = {first}")
                barrier.wait()
                c.exec_driver_sql(f"UPDATE locks SET v = v + 1 WHERE id = {second}")
        except sa.exc.DBAPIError as e:
            errors.append(e)

    threads = [threading.Thread(target=cross, args=a) for a in ((1, 2), (2, 1))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(errors) == 1 and "deadlock" in str(errors[0]).lower()
    assert _is_transient(errors[0])
    assert not _is_transient(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")))

    # The same conflict through the storage's retry loop: both transactions end up applied.
    barrier2 = threading.Barrier(2, timeout=5)

    def cross_retried(first: int, second: int) -> None:
        state = {"waited": False}

        def run(c) -> None:
            c.exec_driver_sql(f"UPDATE locks SET v = v + 1 WHERE id = {first}")
            if not state["waited"]:
                state["waited"] = True
                barrier2.wait()
            c.exec_driver_sql(f"UPDATE locks SET v = v + 1 WHERE id = {second}")

        store._write(run)

    threads = [threading.Thread(target=cross_retried, args=a) for a in ((1, 2), (2, 1))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with engine.connect() as c:
        # First round: one transaction committed (+1 each); second round: both (+2 each).
        assert sorted(c.exec_driver_sql("SELECT v FROM locks").scalars()) == [3, 3]


def test_dropped_connections_are_survived(store, pg_server):
    import psycopg

    sid = store.create_study("drop", [Direction.MINIMIZE])
    store.create_trial(sid)
    # The server kills every other session, as on a restart or failover.
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    t = store.create_trial(sid)
    assert t.number == 1
    assert store.count_trials(sid) == 2


def test_optimize_with_worker_processes(pg_url):
    storage = get_storage(pg_url)
    study = honed.create_study("opt", storage=storage, sampler="random", seed=1)
    study.optimize(lambda t: (t.float("x", -2, 2) - 1) ** 2, n_trials=40, n_jobs=4)
    trials = study.trials
    assert [t.number for t in trials] == list(range(40))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert study.best_value == min(t.value for t in trials)
    storage.close()


def test_heartbeats_use_the_server_clock_so_a_slow_worker_clock_is_harmless(pg_url):
    import time

    watcher = get_storage(pg_url)
    sid = watcher.create_study("clock", [Direction.MINIMIZE])
    assert watcher._clock_offset == 0.0  # same machine: the clocks agree

    # A worker whose clock runs 100 s behind the server's.
    worker = SQLStorage(watcher.url, clock=lambda: time.time() - 100)
    assert 95 < worker._clock_offset < 105  # measured against the server, and corrected
    attrs = {"heartbeat_interval": 1.0}
    alive = worker.create_trial(sid, system_attrs=attrs)
    worker._clock_offset = 0.0  # what an uncorrected slow clock would stamp
    misjudged = worker.create_trial(sid, system_attrs=attrs)

    failed = watcher.fail_stale_trials(sid, grace_period=30.0)
    assert [t.number for t in failed] == [misjudged.number]  # the live trial is not failed
    assert watcher.get_trial(alive.trial_id).state is TrialState.RUNNING
    worker.close()
    watcher.close()


def test_a_read_only_storage_never_writes(pg_url):
    import psycopg

    from honed.errors import StorageError

    def tables() -> list[str]:
        with psycopg.connect(pg_url) as conn:
            rows = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    with pytest.raises(StorageError, match="no honed tables"):
        get_storage(pg_url, read_only=True)
    assert tables() == []  # reading created nothing
    writer = get_storage(pg_url)
    sid = writer.create_study("s", [Direction.MINIMIZE])
    t = writer.create_trial(sid)
    writer.finish_trial(t.trial_id, TrialState.COMPLETE, [0.5])
    reader = get_storage(pg_url, read_only=True)
    assert [x.values for x in reader.get_trials(sid)] == [(0.5,)]
    with pytest.raises(StorageError, match="read-only"):
        reader.create_trial(sid)
    # The server itself refuses a write on the reader's sessions, as a StorageError.
    with pytest.raises(StorageError, match="cannot be written here"):
        reader._read(lambda c: c.exec_driver_sql("CREATE TABLE sneaky (a int)"))
    assert "sneaky" not in tables()
    reader.close()
    writer.close()


def test_an_older_database_is_not_upgraded_by_a_reader(pg_url):
    from honed.errors import SchemaVersionError
    from tests._schema import make_version_1_database

    make_version_1_database(pg_url)
    with pytest.raises(SchemaVersionError, match="honed storage upgrade"):
        get_storage(pg_url, read_only=True)
    store = get_storage(pg_url)  # opening to write upgrades
    assert store.upgraded_from == 1
    store.close()
    reader = get_storage(pg_url, read_only=True)
    assert len(reader.get_trials(reader.get_study_id("old"))) == 3
    reader.close()


def test_writes_during_a_trial_commit_asynchronously_results_do_not(pg_url):
    """Reports, parameters, attributes and heartbeats do not wait for the server's disk;
    creating and finishing trials do (see SQLStorage: Durability)."""
    import psycopg

    from honed.storage.sql._tables import PG_ADD_REPORTS, sql_trial_columns

    with psycopg.connect(pg_url, autocommit=True) as admin:  # the test server runs without
        database = pg_url.rsplit("/", 1)[1]  # synchronous commits: a database as deployed
        admin.execute(f'ALTER DATABASE "{database}" SET synchronous_commit TO on')
    store = get_storage(pg_url)
    sid = store.create_study("durable", [Direction.MINIMIZE])
    t = store.create_trial(sid)

    def mode_after(statement, params):
        def run(conn):
            conn.execute(statement, params).all()
            return conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()

        return store._write(run)

    report = {"tid": t.trial_id, "now": 0.0, "steps": [1], "values": [0.5]}
    report |= {"seconds": [None], "vectors": [None]}
    assert mode_after(PG_ADD_REPORTS, report) == "off"
    assert mode_after(sql_trial_columns((), "postgresql"), {"tid": t.trial_id}) == "off"
    assert store._write(lambda c: c.exec_driver_sql("SHOW synchronous_commit").scalar()) == "on"
    store.set_trial_intermediate_values(t.trial_id, [(2, 0.25, None), (3, 0.125, 1.0)])
    done = store.finish_trial(t.trial_id, TrialState.COMPLETE, [0.125])
    assert done.intermediate_values == {1: 0.5, 2: 0.25, 3: 0.125}
    store.close()
