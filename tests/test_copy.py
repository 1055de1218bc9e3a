"""copy_study between every pair of kinds of storage, and `honed copy`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import honed
from honed.cli import main
from honed.errors import DuplicatedStudyError, StudyNotFoundError
from honed.space import Choice, Float, Int
from honed.storage import InMemoryStorage, Storage, copy_study, get_storage
from honed.storage.base import HEARTBEAT_ATTR
from honed.trial import Direction, FrozenTrial, TrialState

DIRECTIONS = (Direction.MINIMIZE, Direction.MAXIMIZE)


def _fill(storage: Storage, name: str = "src") -> int:
    """A study with a bit of everything a study holds."""
    sid = storage.create_study(name, DIRECTIONS)
    storage.set_study_user_attr(sid, "dataset", {"name": "digits", "folds": [1, 2]})
    storage.set_study_system_attr(sid, "fault_policy", honed.FaultPolicy(5.0, 30.0, 2).to_dict())
    dists = {"lr": Float(1e-4, 1e-1, log=True), "n": Int(1, 9), "opt": Choice(["a", None, 1])}
    for i, final in enumerate(
        [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, None, TrialState.COMPLETE]
    ):
        t = storage.create_trial(sid, system_attrs={HEARTBEAT_ATTR: 5.0, "seed": i})
        storage.set_trial_params(t.trial_id, {"lr": 0.01 * (i + 1), "n": i + 1}, dists)
        storage.set_trial_intermediate_values(
            t.trial_id, [(0, (1.0 + i, -2.0), 0.25), (3, (math.nan, 0.5), None)]
        )
        storage.set_trial_user_attr(t.trial_id, "note", ["x", i])
        storage.set_trial_constraints(t.trial_id, [i - 2.0])
        if final is not None:
            values = [float(i), -float(i)] if final is TrialState.COMPLETE else None
            storage.finish_trial(
                t.trial_id,
                final,
                values,
                {"why": final.name},
                params={"opt": None},
                distributions={"opt": dists["opt"]},
            )
    single = storage.create_trial(sid, TrialState.WAITING, {"lr": 0.05}, {"lr": dists["lr"]})
    assert single.number == 5
    return sid


def _same(a: FrozenTrial, b: FrozenTrial) -> None:
    for field in (
        "number", "state", "params", "distributions", "intermediate_values", "constraints",
        "user_attrs", "system_attrs", "datetime_start", "datetime_complete", "report_seconds",
    ):  # fmt: skip
        assert getattr(a, field) == getattr(b, field), field
    assert list(a.params) == list(b.params)
    assert (a.values is None) == (b.values is None) and (a.values or ()) == (b.values or ())
    assert set(a.intermediate_vectors) == set(b.intermediate_vectors)
    for step, vec in a.intermediate_vectors.items():
        assert str(vec) == str(b.intermediate_vectors[step])  # NaN equal to NaN


def _open(kind: str, tmp_path: Path, request: pytest.FixtureRequest, tag: str) -> Storage:
    if kind == "memory":
        return InMemoryStorage()
    if kind == "sqlite":
        return get_storage(f"sqlite:///{tmp_path / tag}.db")
    if kind == "journal":
        return get_storage(f"journal:///{tmp_path / tag}.log")
    return get_storage(request.getfixturevalue("pg_url"))


@pytest.mark.parametrize(
    ("src_kind", "dst_kind"),
    [
        ("memory", "journal"),
        ("journal", "sqlite"),
        ("sqlite", "journal"),
        ("journal", "memory"),
        ("journal", "postgres"),
        ("postgres", "journal"),
        ("sqlite", "postgres"),
    ],
)
def test_copy_keeps_everything(src_kind, dst_kind, tmp_path: Path, request) -> None:
    src = _open(src_kind, tmp_path, request, "src")
    dst = _open(dst_kind, tmp_path, request, "dst")
    sid = _fill(src)
    new_id = copy_study(src, dst, "src", "copied")
    assert dst.get_study_id("copied") == new_id
    assert dst.get_study_directions(new_id) == DIRECTIONS
    assert dst.get_study_user_attrs(new_id) == src.get_study_user_attrs(sid)
    assert dst.get_study_system_attrs(new_id) == src.get_study_system_attrs(sid)
    before, after = src.get_trials(sid), dst.get_trials(new_id)
    assert len(after) == len(before) == 6
    for a, b in zip(before, after, strict=True):
        _same(a, b)
    # The copy is a study like any other: its trials are read incrementally, it runs on.
    trials, seq = dst.get_trials_since(new_id, 0)
    assert len(trials) == 6 and seq == 4
    claimed = dst.claim_waiting_trial(new_id)
    assert claimed is not None and claimed.number == 5
    study = honed.load_study("copied", storage=dst)
    assert study.faults == honed.FaultPolicy(5.0, 30.0, 2)
    assert [t.number for t in study.best_trials] == [0]  # trial 4 breaks its constraint
    src.close()
    dst.close()


def test_copy_refuses_clashes_and_leaves_nothing_half_done(tmp_path: Path) -> None:
    src = get_storage(f"journal:///{tmp_path / 'a.log'}")
    _fill(src)
    with pytest.raises(StudyNotFoundError, match="'nope'"):
        copy_study(src, InMemoryStorage(), "nope")
    with pytest.raises(DuplicatedStudyError, match="'src'"):
        copy_study(src, src, "src")  # within one storage it needs a new name
    assert copy_study(src, src, "src", "twin") != src.get_study_id("src")
    assert [t.number for t in src.get_trials(src.get_study_id("twin"))] == list(range(6))

    class Refusing(InMemoryStorage):  # a backend that fails half way through
        def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
            if trial.number == 3:
                raise OSError("disk full")
            return super().add_trial(study_id, trial)

    dst = Refusing()
    with pytest.raises(OSError, match="disk full"):
        copy_study(src, dst, "src")
    assert dst.list_studies() == []
    src.close()


def test_the_default_add_trial_copies_through_the_other_writes(tmp_path: Path) -> None:
    """A backend that only has the abstract methods still copies whole (times aside)."""
    src = InMemoryStorage()
    sid = _fill(src)

    class Plain(InMemoryStorage):
        add_trial = Storage.add_trial  # the base class's, made of the other methods

    dst = Plain()
    new_id = copy_study(src, dst, "src")
    for a, b in zip(src.get_trials(sid), dst.get_trials(new_id), strict=True):
        assert (a.number, a.state, a.params, a.user_attrs, a.system_attrs) == (
            b.number, b.state, b.params, b.user_attrs, b.system_attrs,
        )  # fmt: skip
        assert a.constraints == b.constraints and a.report_seconds == b.report_seconds
        assert str(a.intermediate_vectors) == str(b.intermediate_vectors)


def test_cli_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src_url = f"sqlite:///{tmp_path / 'src.db'}"
    dst_url = f"journal:///{tmp_path / 'dst.log'}"
    src = get_storage(src_url)
    _fill(src, "exp")
    src.close()
    assert main(["copy", src_url, dst_url, "exp", "--as", "exp-2"]) == 0
    assert "copied study 'exp' (6 trials)" in capsys.readouterr().out
    assert main(["copy", src_url, dst_url, "exp"]) == 0
    dst = get_storage(dst_url)
    assert sorted(s.name for s in dst.list_studies()) == ["exp", "exp-2"]
    dst.close()
    assert main(["copy", src_url, dst_url, "exp"]) == 2  # already there
    assert "already exists" in capsys.readouterr().err
    assert main(["copy", f"sqlite:///{tmp_path / 'none.db'}", dst_url, "exp"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
