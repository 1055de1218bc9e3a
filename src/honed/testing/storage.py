"""The storage contract as tests: every backend runs them.

Usage, in a test file of your own::

    from honed.testing.storage import StorageTests

    class TestMyStorage(StorageTests):
        def make_storage(self, tmp_path):
            return MyStorage(tmp_path / "db")

        def reopen(self, storage):  # optional: a second handle on the same data
            return MyStorage(storage.path)

Each test gets a fresh, empty storage. ``reopen`` lets the suite check that what one handle
wrote, another reads back exactly (types included), as separate processes would.
"""

from __future__ import annotations

import json
import math
import pickle
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from honed.errors import DuplicatedStudyError, StudyNotFoundError, TrialStateError
from honed.space import Choice, Float, Int, ParamValue
from honed.storage.base import Storage
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["StorageTests"]

MIN = (Direction.MINIMIZE,)

# One parameter of every kind, with values whose types must survive storage exactly.
PARAMS: dict[str, ParamValue] = {
    "lr": 0.0031,
    "x": -2.5,
    "step": 0.75,
    "n": 17,
    "nlog": 128,
    "k": -6,
    "opt": "adam",
    "flag": True,
    "none": None,
    "num": 1,
    "half": 1.5,
}
DISTRIBUTIONS = {
    "lr": Float(1e-5, 1e-1, log=True),
    "x": Float(-10, 10),
    "step": Float(0, 1, step=0.25),
    "n": Int(0, 100),
    "nlog": Int(1, 1024, log=True),
    "k": Int(-9, 9, step=3),
    "opt": Choice(["adam", "sgd"]),
    "flag": Choice([True, False, 1, 0]),
    "none": Choice([None, "a"]),
    "num": Choice([True, 1, "1"]),
    "half": Choice([1.5, 2, "x"]),
}


class StorageTests:
    """Conformance checks for a :class:`~honed.storage.Storage` backend."""

    def make_storage(self, tmp_path: Path) -> Storage:
        """A new, empty storage. Override this."""
        raise NotImplementedError("subclasses of StorageTests implement make_storage")

    def reopen(self, storage: Storage) -> Storage:
        """Another handle on the same data, e.g. a new connection; the same object by default
        (for storages that live in one process)."""
        return storage

    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        s = self.make_storage(tmp_path)
        yield s
        s.close()

    @pytest.fixture
    def study_id(self, storage: Storage) -> int:
        return storage.create_study("s", MIN)

    # ---- studies ---------------------------------------------------------------------------
    def test_create_and_find_study(self, storage: Storage) -> None:
        a = storage.create_study("alpha", MIN)
        b = storage.create_study("beta", (Direction.MAXIMIZE, Direction.MINIMIZE))
        assert a != b
        other = self.reopen(storage)
        assert other.get_study_id("alpha") == a and other.get_study_id("beta") == b
        assert other.get_study_name(b) == "beta"
        assert other.get_study_directions(b) == (Direction.MAXIMIZE, Direction.MINIMIZE)
        assert other.get_study_directions(a) == MIN

    def test_duplicate_study_name_is_refused(self, storage: Storage) -> None:
        storage.create_study("dup", MIN)
        with pytest.raises(DuplicatedStudyError, match="'dup'"):
            storage.create_study("dup", MIN)

    def test_unknown_study(self, storage: Storage) -> None:
        with pytest.raises(StudyNotFoundError, match="'nope'"):
            storage.get_study_id("nope")
        with pytest.raises(KeyError):  # StudyNotFoundError is a KeyError
            storage.get_study_id("nope")
        with pytest.raises(StudyNotFoundError):
            storage.create_trial(12345)

    def test_names_and_keys_every_backend_can_hold(self, storage: Storage) -> None:
        # The same rules on every backend: what PostgreSQL cannot hold, none accepts.
        longest = "n" * 511 + "研"
        sid = storage.create_study(longest, MIN)
        assert self.reopen(storage).get_study_name(sid) == longest
        for bad, why in (("x" * 513, "at most 512"), ("a\x00b", "NUL"), (7, "string")):
            with pytest.raises(ValueError, match=why):
                storage.create_study(bad, MIN)  # type: ignore[arg-type]
            with pytest.raises(StudyNotFoundError):
                storage.get_study_id(bad)  # type: ignore[arg-type]
        assert [s.name for s in storage.list_studies()] == [longest]
        # Keys and values live in JSON: NUL and any length are kept exactly.
        key, value = "k\x00" + "y" * 1000, "v\x00" * 300
        storage.set_study_user_attr(sid, key, value)
        t = storage.create_trial(sid)
        storage.set_trial_user_attr(t.trial_id, key, value)
        storage.set_trial_params(t.trial_id, {key: "a\x00"}, {key: Choice(["a\x00", "b"])})
        back = self.reopen(storage)
        assert back.get_study_user_attrs(sid) == {key: value}
        trial = back.get_trial(t.trial_id)
        assert trial.user_attrs == {key: value} and trial.params == {key: "a\x00"}

    def test_list_studies(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        storage.create_study("b", (Direction.MAXIMIZE,))
        for v in (3.0, 1.0, 2.0):
            t = storage.create_trial(a)
            storage.finish_trial(t.trial_id, TrialState.COMPLETE, [v])
        infeasible = storage.create_trial(a)
        storage.set_trial_constraints(infeasible.trial_id, [1.0])
        storage.finish_trial(infeasible.trial_id, TrialState.COMPLETE, [-100.0])
        storage.create_trial(a)
        failed = storage.create_trial(a)
        storage.finish_trial(failed.trial_id, TrialState.FAILED)
        summaries = {s.name: s for s in self.reopen(storage).list_studies()}
        assert set(summaries) == {"a", "b"}
        sa = summaries["a"]
        assert sa.n_trials == 6
        assert sa.n_trials_by_state[TrialState.COMPLETE] == 4
        assert sa.n_trials_by_state[TrialState.RUNNING] == 1
        assert sa.n_trials_by_state[TrialState.FAILED] == 1
        assert sa.best_values == (1.0,)  # the infeasible -100 does not count
        assert isinstance(sa.datetime_created, datetime)
        assert summaries["b"].n_trials == 0 and summaries["b"].best_values is None

    def test_delete_study_keeps_others(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        b = storage.create_study("b", MIN)
        ta = storage.create_trial(a)
        storage.set_trial_intermediate_value(ta.trial_id, 0, 1.0)
        tb = storage.create_trial(b)
        storage.delete_study(a)
        with pytest.raises(StudyNotFoundError):
            storage.get_study_id("a")
        assert [t.trial_id for t in storage.get_trials(b)] == [tb.trial_id]
        with pytest.raises(StudyNotFoundError):
            storage.delete_study(a)
        # The name is free again, and numbering starts afresh.
        a2 = storage.create_study("a", MIN)
        assert storage.create_trial(a2).number == 0

    def test_study_user_attrs(self, storage: Storage, study_id: int) -> None:
        storage.set_study_user_attr(study_id, "dataset", "digits")
        storage.set_study_user_attr(study_id, "sizes", [1, 2, {"k": None}])
        storage.set_study_user_attr(study_id, "dataset", "iris")
        assert self.reopen(storage).get_study_user_attrs(study_id) == {
            "dataset": "iris",
            "sizes": [1, 2, {"k": None}],
        }

    def test_study_system_attrs_are_kept_apart_from_user_attrs(
        self, storage: Storage, study_id: int
    ) -> None:
        storage.set_study_user_attr(study_id, "dataset", "digits")
        storage.set_study_system_attr(study_id, "fault_policy", {"retries": 2, "grace": None})
        storage.set_study_system_attr(study_id, "other", [1])
        storage.set_study_user_attr(study_id, "note", "x")
        again = self.reopen(storage)
        assert again.get_study_system_attrs(study_id) == {
            "fault_policy": {"retries": 2, "grace": None},
            "other": [1],
        }
        assert again.get_study_user_attrs(study_id) == {"dataset": "digits", "note": "x"}
        (summary,) = [s for s in again.list_studies() if s.study_id == study_id]
        assert dict(summary.user_attrs) == {"dataset": "digits", "note": "x"}
        with pytest.raises(StudyNotFoundError):
            storage.get_study_system_attrs(study_id + 999)

    # ---- trial numbers and states ------------------------------------------------------------
    def test_numbers_are_dense_per_study(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        b = storage.create_study("b", MIN)
        numbers: dict[int, list[int]] = {a: [], b: []}
        ids = set()
        for i in range(7):
            sid = a if i % 3 else b
            t = storage.create_trial(sid)
            numbers[sid].append(t.number)
            ids.add(t.trial_id)
        storage.create_trial(a, state=TrialState.WAITING, params={"x": 1.0})
        assert numbers[a] == list(range(len(numbers[a])))
        assert numbers[b] == list(range(len(numbers[b])))
        assert len(ids) == 7  # trial ids are unique across studies
        assert [t.number for t in storage.get_trials(a)] == list(range(len(numbers[a]) + 1))

    def test_numbers_stay_unique_across_threads(self, storage: Storage, study_id: int) -> None:
        got: list[int] = []
        lock = threading.Lock()

        def work() -> None:
            for _ in range(15):
                t = storage.create_trial(study_id)
                storage.finish_trial(t.trial_id, TrialState.COMPLETE, [float(t.number)])
                with lock:
                    got.append(t.number)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(got) == list(range(60))
        assert storage.count_trials(study_id, [TrialState.COMPLETE]) == 60

    def test_new_trial_is_running_or_waiting(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        assert t.state is TrialState.RUNNING and t.datetime_start is not None
        for bad in (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED):
            with pytest.raises(ValueError, match=bad.name):
                storage.create_trial(study_id, state=bad)
        assert storage.count_trials(study_id) == 1

    def test_finish_and_read_back(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_params(t.trial_id, {"x": 0.5}, {"x": Float(0, 1)})
        done = storage.finish_trial(
            t.trial_id, TrialState.COMPLETE, [1.25], system_attrs={"why": "ok"}
        )
        assert done.state is TrialState.COMPLETE and done.values == (1.25,)
        assert done.system_attrs["why"] == "ok"
        assert done.datetime_complete is not None and done.duration is not None
        assert done.duration >= 0
        again = self.reopen(storage).get_trial(t.trial_id)
        assert again.values == (1.25,) and again.params == {"x": 0.5}
        assert again.number == t.number and again.state is TrialState.COMPLETE

    def test_finish_adds_the_last_params(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_params(t.trial_id, {"a": 1}, {"a": Int(0, 3)})
        done = storage.finish_trial(
            t.trial_id,
            TrialState.COMPLETE,
            [0.5],
            params={"b": "v", "c": None},
            distributions={"b": Choice(["u", "v"]), "c": Choice([None, 1])},
        )
        expected = {"a": 1, "b": "v", "c": None}
        assert done.params == expected and list(done.params) == ["a", "b", "c"]
        back = self.reopen(storage).get_trial(t.trial_id)
        assert back.params == expected and back.values == (0.5,)
        assert back.distributions == {
            "a": Int(0, 3),
            "b": Choice(["u", "v"]),
            "c": Choice([None, 1]),
        }
        # A refused finish writes nothing, parameters included.
        u = storage.create_trial(study_id)
        with pytest.raises(ValueError):
            storage.finish_trial(
                u.trial_id,
                TrialState.COMPLETE,
                [math.nan],
                params={"z": 1},
                distributions={"z": Int(0, 1)},
            )
        assert storage.get_trial(u.trial_id).params == {}

    def test_finished_trials_are_immutable(self, storage: Storage, study_id: int) -> None:
        for final in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED):
            t = storage.create_trial(study_id)
            values = [1.0] if final is TrialState.COMPLETE else None
            storage.finish_trial(t.trial_id, final, values)
            tid = t.trial_id
            writes = [
                lambda tid=tid: storage.set_trial_params(tid, {"y": 1}, {"y": Int(0, 2)}),
                lambda tid=tid: storage.set_trial_intermediate_value(tid, 3, 0.1),
                lambda tid=tid: storage.set_trial_user_attr(tid, "k", 1),
                lambda tid=tid: storage.set_trial_system_attr(tid, "k", 1),
                lambda tid=tid: storage.set_trial_constraints(tid, [0.0]),
                lambda tid=tid: storage.finish_trial(tid, TrialState.COMPLETE, [2.0]),
                lambda tid=tid: storage.finish_trial(tid, TrialState.FAILED),
            ]
            for write in writes:
                with pytest.raises(TrialStateError, match=final.name):
                    write()
            after = self.reopen(storage).get_trial(tid)
            assert after.state is final and after.params == {} and after.user_attrs == {}
            assert after.values == (None if values is None else (1.0,))

    def test_finish_needs_a_finished_state(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        for bad in (TrialState.RUNNING, TrialState.WAITING):
            with pytest.raises(ValueError, match=bad.name):
                storage.finish_trial(t.trial_id, bad)
        assert storage.get_trial(t.trial_id).state is TrialState.RUNNING

    def test_complete_values_are_checked(self, storage: Storage) -> None:
        sid = storage.create_study("mo", (Direction.MINIMIZE, Direction.MAXIMIZE))
        t = storage.create_trial(sid)
        for bad in ([1.0], [1.0, 2.0, 3.0], [1.0, math.nan], [math.inf, 0.0]):
            with pytest.raises(ValueError):
                storage.finish_trial(t.trial_id, TrialState.COMPLETE, bad)
            assert storage.get_trial(t.trial_id).state is TrialState.RUNNING
        done = storage.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0, -2.0])
        assert done.values == (1.0, -2.0)

    def test_unknown_trial(self, storage: Storage, study_id: int) -> None:
        with pytest.raises(KeyError):
            storage.get_trial(987654)
        with pytest.raises(KeyError):
            storage.finish_trial(987654, TrialState.FAILED)

    # ---- trial contents --------------------------------------------------------------------
    def test_params_keep_their_types(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_params(t.trial_id, PARAMS, DISTRIBUTIONS)
        for reader in (storage, self.reopen(storage)):
            back = reader.get_trial(t.trial_id)
            assert list(back.params) == list(PARAMS)
            for k, v in PARAMS.items():
                got = back.params[k]
                assert type(got) is type(v) and got == v, (k, got, v)
            assert dict(back.distributions) == DISTRIBUTIONS
            for k, d in back.distributions.items():
                assert d.contains(back.params[k])

    def test_params_accumulate(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_params(t.trial_id, {"a": 1}, {"a": Int(0, 3)})
        storage.set_trial_params(t.trial_id, {"b": "u"}, {"b": Choice(["u", "v"])})
        back = self.reopen(storage).get_trial(t.trial_id)
        assert back.params == {"a": 1, "b": "u"}
        assert back.distributions == {"a": Int(0, 3), "b": Choice(["u", "v"])}

    def test_intermediate_values(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_intermediate_value(t.trial_id, 0, 0.9)
        storage.set_trial_intermediate_value(t.trial_id, 5, 0.5)
        storage.set_trial_intermediate_value(t.trial_id, 5, 0.4)  # a step reported twice
        storage.set_trial_intermediate_value(t.trial_id, 2, math.nan)
        back = self.reopen(storage).get_trial(t.trial_id)
        assert sorted(back.intermediate_values) == [0, 2, 5]
        assert back.intermediate_values[5] == 0.4 and back.intermediate_values[0] == 0.9
        assert math.isnan(back.intermediate_values[2])
        assert back.last_step == 5

    def test_reports_in_a_batch(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_intermediate_value(t.trial_id, 0, 0.9)
        storage.set_trial_intermediate_values(
            t.trial_id,
            [(1, 0.8, 0.5), (2, math.nan, None), (0, 0.7, 1.5), (1, 0.6, None)],
        )  # step 0 replaced; step 1 given twice: the last counts
        storage.set_trial_intermediate_values(t.trial_id, [])
        back = self.reopen(storage).get_trial(t.trial_id)
        assert back.intermediate_values[0] == 0.7 and back.intermediate_values[1] == 0.6
        assert math.isnan(back.intermediate_values[2]) and sorted(back.intermediate_values) == [
            0,
            1,
            2,
        ]
        assert back.report_seconds == {0: 1.5}
        u = storage.create_trial(study_id)
        storage.set_trial_intermediate_values(u.trial_id, [(1, (0.5, 2.0), None), (2, [1, 2], 3)])
        assert self.reopen(storage).get_trial(u.trial_id).intermediate_vectors == {
            1: (0.5, 2.0),
            2: (1.0, 2.0),
        }
        storage.finish_trial(t.trial_id, TrialState.PRUNED, [0.6])
        with pytest.raises(TrialStateError, match="PRUNED"):
            storage.set_trial_intermediate_values(t.trial_id, [(5, 0.1, None)])
        assert 5 not in storage.get_trial(t.trial_id).intermediate_values
        with pytest.raises(KeyError):
            storage.set_trial_intermediate_values(987654, [(0, 0.1, None)])

    def test_report_seconds(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_intermediate_value(t.trial_id, 1, 0.9, seconds=0.5)
        storage.set_trial_intermediate_value(t.trial_id, 2, math.nan, seconds=1.25)
        storage.set_trial_intermediate_value(t.trial_id, 3, 0.7, seconds=2.0)
        storage.set_trial_intermediate_value(t.trial_id, 3, 0.6)  # again, without seconds
        storage.set_trial_intermediate_value(t.trial_id, 4, 0.5)
        back = self.reopen(storage).get_trial(t.trial_id)
        assert back.report_seconds == {1: 0.5, 2: 1.25}
        assert list(back.report_seconds) == [1, 2]  # in step order: the first is the first
        assert back.intermediate_values[3] == 0.6
        assert storage.create_trial(study_id).report_seconds == {}

    def test_vector_reports(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_intermediate_value(t.trial_id, 1, (0.5, 2.0), seconds=0.25)
        storage.set_trial_intermediate_value(t.trial_id, 2, [0.4, math.nan])
        storage.set_trial_intermediate_value(t.trial_id, 2, [0.3, 1.5])  # again: replaced
        storage.set_trial_intermediate_value(t.trial_id, 3, [math.nan, 1.0])
        back = self.reopen(storage).get_trial(t.trial_id)
        assert back.intermediate_vectors[1] == (0.5, 2.0)
        assert back.intermediate_vectors[2] == (0.3, 1.5)
        assert math.isnan(back.intermediate_vectors[3][0])
        assert back.intermediate_values == {} and back.last_step is None
        assert back.report_seconds == {1: 0.25}

    def test_attrs_are_json(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id, system_attrs={"origin": "test"})
        value = {"scores": [0.5, 0.7], "meta": {"ok": True, "none": None}, "n": 3}
        storage.set_trial_user_attr(t.trial_id, "info", value)
        storage.set_trial_user_attr(t.trial_id, "pair", (1, 2))
        storage.set_trial_system_attr(t.trial_id, "retry_of", 4)
        back = self.reopen(storage).get_trial(t.trial_id)
        assert back.user_attrs == {"info": value, "pair": [1, 2]}  # tuples come back as lists
        assert back.system_attrs == {"origin": "test", "retry_of": 4}

    def test_records_are_deeply_read_only(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id, system_attrs={"origin": "test"})
        storage.set_trial_params(t.trial_id, {"x": 0.5}, {"x": Float(0, 1)})
        storage.set_trial_user_attr(t.trial_id, "scores", [1, [2, 3], {"k": [4]}])
        storage.set_trial_intermediate_value(t.trial_id, 1, 0.25, seconds=1.0)
        done = storage.finish_trial(t.trial_id, TrialState.COMPLETE, [0.5])
        u = storage.create_trial(study_id)
        storage.set_trial_intermediate_value(u.trial_id, 1, [0.5, 1.0])
        changes = [
            lambda r: r.params.__setitem__("x", 0.9),
            lambda r: r.params.update(y=1),
            lambda r: r.distributions.pop("x"),
            lambda r: r.intermediate_values.__setitem__(2, 0.1),
            lambda r: r.report_seconds.clear(),
            lambda r: r.intermediate_vectors.setdefault(5, (1.0,)),
            lambda r: r.system_attrs.__setitem__("origin", "changed"),
            lambda r: r.user_attrs["scores"].append(5),
            lambda r: r.user_attrs["scores"][1].__setitem__(0, 9),
            lambda r: r.user_attrs["scores"][2]["k"].extend([6]),
        ]
        records = [done, storage.get_trial(t.trial_id), *storage.get_trials(study_id)[:1]]
        records += [self.reopen(storage).get_trial(t.trial_id)]
        for record in records:
            for change in changes:
                with pytest.raises(TypeError, match="immutable trial record"):
                    change(record)
        for record in (t, u, storage.get_trial(u.trial_id)):
            with pytest.raises(TypeError):
                record.intermediate_vectors.update({})  # type: ignore[attr-defined]
            with pytest.raises(TypeError):
                record.params["new"] = 1  # type: ignore[index]
        back = self.reopen(storage).get_trial(t.trial_id)
        assert back.params == {"x": 0.5} and back.system_attrs == {"origin": "test"}
        assert back.user_attrs == {"scores": [1, [2, 3], {"k": [4]}]}
        assert back.intermediate_values == {1: 0.25} and back.report_seconds == {1: 1.0}
        # Copies are ordinary containers; records serialize and pickle as before.
        mutable = dict(back.params)
        mutable["x"] = 0.1
        assert back.params["x"] == 0.5
        assert json.loads(json.dumps(dict(back.user_attrs))) == {"scores": [1, [2, 3], {"k": [4]}]}
        assert pickle.loads(pickle.dumps(back)) == back

    def test_attrs_must_be_json_serializable(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        for bad in (object(), {1, 2}, math.nan):
            with pytest.raises((TypeError, ValueError)):
                storage.set_trial_user_attr(t.trial_id, "bad", bad)
        assert storage.get_trial(t.trial_id).user_attrs == {}

    def test_constraints(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id)
        storage.set_trial_constraints(t.trial_id, [-1.0, 0.0])
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [1.0])
        u = storage.create_trial(study_id)
        storage.set_trial_constraints(u.trial_id, [0.5])
        storage.finish_trial(u.trial_id, TrialState.COMPLETE, [0.0])
        a, b = self.reopen(storage).get_trials(study_id)
        assert a.constraints == (-1.0, 0.0) and a.is_feasible
        assert b.constraints == (0.5,) and not b.is_feasible

    def test_add_trial_keeps_everything(self, storage: Storage, study_id: int) -> None:
        t = storage.create_trial(study_id, system_attrs={"origin": "test"})
        storage.set_trial_params(t.trial_id, PARAMS, DISTRIBUTIONS)
        storage.set_trial_intermediate_values(t.trial_id, [(0, 0.5, 1.25), (1, math.nan, None)])
        storage.set_trial_user_attr(t.trial_id, "scores", [1, {"k": None}])
        storage.set_trial_constraints(t.trial_id, [-1.0])
        done = storage.finish_trial(t.trial_id, TrialState.PRUNED, [0.5])
        waiting = storage.create_trial(study_id, state=TrialState.WAITING, params={"n": 3})
        other = storage.create_study("copy", MIN)
        storage.create_trial(other)  # the copies take the next numbers
        a = storage.add_trial(other, done)
        b = storage.add_trial(other, waiting)
        assert (a.number, b.number) == (1, 2) and a.trial_id not in (t.trial_id, b.trial_id)
        for copy, original in ((a, done), (b, waiting)):
            for back in (copy, self.reopen(storage).get_trial(copy.trial_id)):
                assert back.state is original.state and back.params == original.params
                assert list(back.params) == list(original.params)
                assert back.distributions == original.distributions
                assert back.values == original.values
                assert back.constraints == original.constraints
                assert back.user_attrs == original.user_attrs
                assert back.system_attrs == original.system_attrs
                assert back.report_seconds == original.report_seconds
                assert back.datetime_start == original.datetime_start
                assert back.datetime_complete == original.datetime_complete
        back = self.reopen(storage).get_trial(a.trial_id)
        assert back.intermediate_values[0] == 0.5 and math.isnan(back.intermediate_values[1])
        # The copies are ordinary trials: read incrementally, the waiting one claimed.
        trials, seq = storage.get_trials_since(other, 0)
        assert [x.number for x in trials] == [0, 1, 2] and seq == 1
        claimed = storage.claim_waiting_trial(other)
        assert claimed is not None and claimed.number == 2 and claimed.params == {"n": 3}
        complete = storage.create_trial(study_id)
        bad = storage.finish_trial(complete.trial_id, TrialState.COMPLETE, [1.0])
        two = storage.create_study("two", (Direction.MINIMIZE, Direction.MAXIMIZE))
        with pytest.raises(ValueError):  # one value where the study has two objectives
            storage.add_trial(two, bad)
        assert storage.count_trials(two) == 0

    # ---- waiting trials --------------------------------------------------------------------
    def test_enqueued_trials_are_claimed_in_order(self, storage: Storage, study_id: int) -> None:
        assert storage.claim_waiting_trial(study_id) is None
        w0 = storage.create_trial(study_id, state=TrialState.WAITING, params={"x": 1})
        storage.create_trial(study_id)
        w2 = storage.create_trial(
            study_id, state=TrialState.WAITING, params={"x": 2}, distributions={"x": Int(0, 5)}
        )
        assert w0.state is TrialState.WAITING and w0.datetime_start is None
        first = storage.claim_waiting_trial(study_id)
        assert first is not None and first.number == w0.number
        assert first.state is TrialState.RUNNING and first.params == {"x": 1}
        assert first.datetime_start is not None
        second = storage.claim_waiting_trial(study_id)
        assert second is not None and second.number == w2.number
        assert second.distributions == {"x": Int(0, 5)}
        assert storage.claim_waiting_trial(study_id) is None

    def test_waiting_trials_are_claimed_once(self, storage: Storage, study_id: int) -> None:
        for i in range(24):
            storage.create_trial(study_id, state=TrialState.WAITING, params={"i": i})
        claimed: list[int] = []
        lock = threading.Lock()

        def work() -> None:
            while (t := storage.claim_waiting_trial(study_id)) is not None:
                with lock:
                    claimed.append(t.number)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(claimed) == list(range(24))

    # ---- reading ---------------------------------------------------------------------------
    def test_get_trials_order_filter_count(self, storage: Storage, study_id: int) -> None:
        states = [TrialState.COMPLETE, TrialState.FAILED, None, TrialState.PRUNED, None]
        for s in states:
            t = storage.create_trial(study_id)
            if s is not None:
                storage.finish_trial(t.trial_id, s, [1.0] if s is TrialState.COMPLETE else None)
        reader = self.reopen(storage)
        trials = reader.get_trials(study_id)
        assert [t.number for t in trials] == [0, 1, 2, 3, 4]
        assert all(isinstance(t, FrozenTrial) for t in trials)
        running = reader.get_trials(study_id, [TrialState.RUNNING])
        assert [t.number for t in running] == [2, 4]
        done = reader.get_trials(study_id, [TrialState.PRUNED, TrialState.FAILED])
        assert [t.number for t in done] == [1, 3]
        assert reader.count_trials(study_id) == 5
        assert reader.count_trials(study_id, [TrialState.RUNNING, TrialState.COMPLETE]) == 3
        assert reader.count_trials(study_id, [TrialState.WAITING]) == 0

    def test_get_trials_since_is_incremental(self, storage: Storage, study_id: int) -> None:
        reader = self.reopen(storage)
        trials, seq0 = reader.get_trials_since(study_id, 0)
        assert trials == []
        ids = [storage.create_trial(study_id).trial_id for _ in range(4)]
        trials, seq = reader.get_trials_since(study_id, seq0)
        assert [t.number for t in trials] == [0, 1, 2, 3] and seq == seq0
        storage.finish_trial(ids[1], TrialState.COMPLETE, [1.0])
        storage.finish_trial(ids[3], TrialState.FAILED)
        trials, seq1 = reader.get_trials_since(study_id, seq)
        assert seq1 > seq
        # Unfinished trials are always returned; finished ones since the last read, once.
        assert {t.number: t.state for t in trials} == {
            0: TrialState.RUNNING,
            1: TrialState.COMPLETE,
            2: TrialState.RUNNING,
            3: TrialState.FAILED,
        }
        trials, seq2 = reader.get_trials_since(study_id, seq1)
        assert [t.number for t in trials] == [0, 2] and seq2 == seq1
        storage.finish_trial(ids[0], TrialState.PRUNED)
        storage.create_trial(study_id)
        trials, seq3 = reader.get_trials_since(study_id, seq2)
        assert [(t.number, t.state) for t in trials] == [
            (0, TrialState.PRUNED),
            (2, TrialState.RUNNING),
            (4, TrialState.RUNNING),
        ]
        assert seq3 > seq2
        # Merging the increments reproduces a full read.
        merged: dict[int, FrozenTrial] = {}
        s = 0
        for _ in range(2):
            part, s = reader.get_trials_since(study_id, s)
            merged.update({t.number: t for t in part})
        full = reader.get_trials(study_id)
        assert [(t.number, t.state) for t in full] == [(n, merged[n].state) for n in sorted(merged)]

    def test_trials_since_covers_every_study_separately(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        b = storage.create_study("b", MIN)
        ta = storage.create_trial(a)
        storage.finish_trial(ta.trial_id, TrialState.COMPLETE, [0.0])
        trials, _ = storage.get_trials_since(b, 0)
        assert trials == []
        with pytest.raises(StudyNotFoundError):
            storage.get_trials_since(424242, 0)

    # ---- adding finished trials --------------------------------------------------------
    def test_add_trials_keeps_everything_but_number_and_id(
        self, storage: Storage, study_id: int
    ) -> None:
        storage.create_trial(study_id)  # number 0 is taken: added trials come after it
        start = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        done = datetime(2024, 1, 2, 3, 5, 5, tzinfo=UTC)
        given = [
            FrozenTrial(
                number=41,
                state=TrialState.COMPLETE,
                params=PARAMS,
                distributions=DISTRIBUTIONS,
                values=(0.5,),
                intermediate_values={0: 1.0, 3: float("nan")},
                report_seconds={0: 0.25},
                constraints=(-1.0, 0.5),
                user_attrs={"note": ["a", 1]},
                system_attrs={"from": "elsewhere"},
                datetime_start=start,
                datetime_complete=done,
                trial_id=999,
            ),
            FrozenTrial(number=7, state=TrialState.FAILED, system_attrs={"fail_reason": "x"}),
            FrozenTrial(number=7, state=TrialState.PRUNED, values=(2.0,)),
        ]
        assert storage.add_trials(study_id, given) == [1, 2, 3]
        back = self.reopen(storage).get_trials(study_id)
        assert [t.number for t in back] == [0, 1, 2, 3]
        a = back[1]
        assert a.state is TrialState.COMPLETE and a.values == (0.5,)
        assert dict(a.params) == PARAMS
        assert [type(v) for v in a.params.values()] == [type(v) for v in PARAMS.values()]
        assert dict(a.distributions) == DISTRIBUTIONS
        assert a.intermediate_values[0] == 1.0 and math.isnan(a.intermediate_values[3])
        assert dict(a.report_seconds) == {0: 0.25}
        assert a.constraints == (-1.0, 0.5)
        assert a.user_attrs == {"note": ["a", 1]} and a.system_attrs == {"from": "elsewhere"}
        assert a.datetime_start == start and a.datetime_complete == done
        assert a.trial_id not in (999, back[0].trial_id)
        assert back[2].state is TrialState.FAILED and back[2].fail_reason == "x"
        assert back[3].state is TrialState.PRUNED and back[3].values == (2.0,)
        assert back[3].datetime_complete is not None
        # New trials keep counting after them.
        assert storage.create_trial(study_id).number == 4

    def test_added_trials_are_seen_incrementally(self, storage: Storage, study_id: int) -> None:
        reader = self.reopen(storage)
        _, seq = reader.get_trials_since(study_id, 0)
        storage.add_trials(study_id, [FrozenTrial(0, TrialState.COMPLETE, values=(1.0,))] * 3)
        trials, seq2 = reader.get_trials_since(study_id, seq)
        assert [t.number for t in trials] == [0, 1, 2] and seq2 > seq
        t = storage.create_trial(study_id)
        storage.finish_trial(t.trial_id, TrialState.COMPLETE, [0.0])
        trials, seq3 = reader.get_trials_since(study_id, seq2)
        assert [t.number for t in trials] == [3] and seq3 > seq2

    def test_add_trials_vector_reports(self, storage: Storage) -> None:
        sid = storage.create_study("mo", (Direction.MINIMIZE, Direction.MAXIMIZE))
        trial = FrozenTrial(
            0,
            TrialState.COMPLETE,
            values=(1.0, 2.0),
            intermediate_vectors={1: (1.0, 3.0)},
        )
        storage.add_trials(sid, [trial])
        (back,) = self.reopen(storage).get_trials(sid)
        assert back.values == (1.0, 2.0) and dict(back.intermediate_vectors) == {1: (1.0, 3.0)}

    def test_add_trials_is_all_or_nothing(self, storage: Storage, study_id: int) -> None:
        good = FrozenTrial(0, TrialState.COMPLETE, values=(1.0,))
        for bad, match in [
            (FrozenTrial(1, TrialState.COMPLETE, values=(float("nan"),)), "finite"),
            (FrozenTrial(1, TrialState.COMPLETE, values=(1.0, 2.0)), "expected 1"),
            (FrozenTrial(1, TrialState.COMPLETE), "without values"),
            (FrozenTrial(1, TrialState.RUNNING), "only finished"),
            (FrozenTrial(1, TrialState.FAILED, values=(1.0,)), "FAILED"),
        ]:
            with pytest.raises(ValueError, match=match):
                storage.add_trials(study_id, [good, bad])
        with pytest.raises(TypeError):
            storage.add_trials(
                study_id,
                [
                    good,
                    FrozenTrial(1, TrialState.COMPLETE, values=(1.0,), user_attrs={"x": {1, 2}}),
                ],
            )
        assert storage.get_trials(study_id) == []
        assert storage.add_trials(study_id, []) == []
        with pytest.raises(StudyNotFoundError):
            storage.add_trials(424242, [good])

    def test_add_many_trials_at_once(self, storage: Storage, study_id: int) -> None:
        trials = [
            FrozenTrial(0, TrialState.COMPLETE, {"x": i / 2000}, {"x": Float(0, 1)}, (i / 2000,))
            for i in range(2000)
        ]
        assert storage.add_trials(study_id, trials) == list(range(2000))
        back = self.reopen(storage).get_trials(study_id)
        assert [t.params["x"] for t in back] == [i / 2000 for i in range(2000)]
