"""The file-system artifact store and trial checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import honed
from honed.artifacts import Checkpoints, FileSystemArtifactStore, get_artifact_store


def test_store_roundtrip_list_copy_delete(tmp_path):
    store = FileSystemArtifactStore(tmp_path / "a")
    store.put_bytes("s/trials/0/x", b"one")
    store.put_bytes("s/trials/0/y", b"two")
    store.copy("s/trials/0/x", "s/trials/1/x")
    assert store.get_bytes("s/trials/1/x") == b"one"
    assert store.list("s/trials") == ["s/trials/0/x", "s/trials/0/y", "s/trials/1/x"]
    store.delete("s/trials/0/x")
    assert not store.exists("s/trials/0/x")
    with pytest.raises(KeyError):
        store.get_bytes("s/trials/0/x")
    with pytest.raises(KeyError):
        store.copy("nope", "s/z")
    # no temp files are left behind by atomic writes
    assert not list((tmp_path / "a").rglob("*.tmp"))


@pytest.mark.parametrize("bad", ["../x", "a//b", "/abs", "a/../b", "sp ace", ""])
def test_store_rejects_unsafe_keys(tmp_path, bad):
    with pytest.raises(ValueError, match="artifact key"):
        FileSystemArtifactStore(tmp_path).put_bytes(bad, b"")


def test_checkpoints_objects_files_folders_and_steps(tmp_path):
    ck = Checkpoints(FileSystemArtifactStore(tmp_path / "store"), "my study/1")
    assert ck.load(0) is None
    ck.save(0, {"w": [1.0, 2.0]}, step=1)
    ck.save(0, {"w": [3.0]}, step=2)
    assert ck.load(0) == {"w": [3.0]}
    assert ck.load(0, step=1) == {"w": [1.0, 2.0]}
    assert ck.steps(0) == [1, 2]
    f = tmp_path / "model.bin"
    f.write_bytes(b"\x00\x01weights")
    ck.save(1, f)
    out = ck.load(1, into=tmp_path / "restored")
    assert isinstance(out, Path) and out.read_bytes() == b"\x00\x01weights"
    folder = tmp_path / "ckpt_dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("A")
    ck.save(2, folder)
    back = ck.load(2)
    assert (back / "sub" / "a.txt").read_text() == "A"
    assert ck.copy(0, 3, src_step=1) and ck.load(3) == {"w": [1.0, 2.0]}
    assert ck.copy(0, 4, src_step=99) and ck.load(4) == {"w": [3.0]}  # falls back to latest
    assert not ck.copy(7, 5)
    with pytest.raises(TypeError, match="cannot pickle"):
        ck.save(5, lambda: 0)


def test_trial_checkpoints_persist_beside_sqlite(tmp_path):
    db = tmp_path / "runs.db"
    study = honed.create_study("ck", storage=db)
    trial = study.ask()
    trial.save_checkpoint({"epoch": 3})
    study.tell(trial, 1.0)
    assert (tmp_path / "runs-artifacts").is_dir()
    again = honed.load_study("ck", storage=db)
    assert again.checkpoints.load(0) == {"epoch": 3}
    # an explicit folder wins over the default
    other = honed.create_study("ck2", storage=db, artifacts=tmp_path / "elsewhere")
    t = other.ask()
    t.save_checkpoint([1, 2])
    assert pickle.loads((tmp_path / "elsewhere" / "ck2" / "trials" / "0" / "latest").read_bytes())
    with pytest.raises(TypeError, match="ArtifactStore or a folder"):
        get_artifact_store(3)  # type: ignore[arg-type]


def test_in_memory_study_checkpoints_in_a_temp_folder():
    study = honed.create_study()
    t = study.ask()
    assert t.load_checkpoint() is None
    t.save_checkpoint("state")
    assert t.load_checkpoint() == "state"


def _objective_with_checkpoint(trial):
    x = trial.float("x", 0, 1)
    trial.save_checkpoint({"x": x})
    return x


def test_checkpoints_from_worker_processes(tmp_path):
    db = tmp_path / "procs.db"
    study = honed.create_study("p", storage=db)
    study.optimize(
        _objective_with_checkpoint, n_trials=4, n_jobs=2, executor="process", show_progress=False
    )
    for t in study.trials:
        assert study.checkpoints.load(t.number) == {"x": t.params["x"]}
