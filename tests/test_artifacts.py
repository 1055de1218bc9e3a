"""The file-system artifact store and trial checkpoints."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honed
from honed.artifacts import (
    Checkpoints,
    FileSystemArtifactStore,
    _check_key,
    get_artifact_store,
    study_folder,
    study_name_of,
)
from honed.errors import ArtifactError


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


def test_trial_checkpoints_persist_beside_a_journal(tmp_path):
    url = f"journal:///{tmp_path / 'runs.log'}"
    study = honed.create_study("ck", storage=url)
    trial = study.ask()
    trial.save_checkpoint({"epoch": 3})
    study.tell(trial, 1.0)
    assert (tmp_path / "runs-artifacts").is_dir()
    assert honed.load_study("ck", storage=url).checkpoints.load(0) == {"epoch": 3}


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
    payload = tmp_path / "elsewhere" / "ck2" / "trials" / "0" / "latest.pkl"
    assert pickle.loads(payload.read_bytes())
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


# ---- names: one folder per study ------------------------------------------------------------
HOSTILE_NAMES = [
    "研究",
    "試験",
    "a b",
    "a/b",
    "a_b",
    "a%20b",
    "a~1",
    "MyStudy",
    "mystudy",
    "MYSTUDY",
    ".",
    "..",
    "...",
    ".hidden",
    "trailing.",
    "con",
    "CON",
    "nul.txt",
    "tab\there",
    "new\nline",
    "\x1b[2J",
    "x" * 300,
    "x" * 299 + "y",
    "X" * 300,
    "emoji 🎯",
    "e\u0301",  # e + combining accent, and its composed form below
    "\u00e9",
]


def test_study_folders_are_distinct_valid_and_reversible():
    folders = [study_folder(n) for n in HOSTILE_NAMES]
    # distinct, even where the file system ignores case
    assert len({f.lower() for f in folders}) == len(HOSTILE_NAMES)
    for name, folder in zip(HOSTILE_NAMES, folders):
        assert _check_key(folder) == folder  # a plain name: no root, no parent, not hidden
        assert len(folder) <= 120
        assert study_name_of(folder) == (None if "~h" in folder else name)
    # plain names keep their spelling, so the folder is easy to find
    assert study_folder("xgb-digits_2") == "xgb-digits_2"
    assert study_folder("MyStudy") == "MyStudy~5"
    assert study_folder("a b") == "a%20b"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=60), min_size=2, max_size=2, unique=True))
def test_study_folders_never_collide(names):
    a, b = (study_folder(n) for n in names)
    assert a.lower() != b.lower()
    for n, f in zip(names, (a, b)):
        _check_key(f)
        assert study_name_of(f) in (n, None)


def test_each_study_gets_its_own_checkpoints_on_one_sqlite_file(tmp_path):
    db = tmp_path / "runs.db"
    names = ["研究", "試験", "a b", "a/b", "a_b", "MyStudy", "mystudy", "..", "x" * 300]
    for name in names:
        trial = honed.create_study(name, storage=db).ask()
        trial.save_checkpoint({"owner": name})
    for name in names:
        study = honed.load_study(name, storage=db)
        assert study.checkpoints.load(0) == {"owner": name}
    root = tmp_path / "runs-artifacts"
    assert sorted(p.name for p in root.iterdir()) == sorted(study_folder(n) for n in names)
    assert all(p.is_dir() and p.parent == root for p in root.iterdir())


def _write_legacy(root: Path, folder: str, number: int, obj: object) -> None:
    """A checkpoint as honed 0.1 wrote it: payload ``latest``, meta with ``kind``."""
    d = root / folder / "trials" / str(number)
    d.mkdir(parents=True)
    (d / "latest").write_bytes(pickle.dumps(obj))
    meta = json.dumps({"latest": "latest", "kind": "pickle", "step": None})
    (d / "latest.json").write_text(meta)


def test_folders_of_the_old_encoding_stay_loadable_where_unambiguous(tmp_path):
    root = tmp_path / "store"
    _write_legacy(root, "MyStudy", 0, "old zero")
    _write_legacy(root, "MyStudy", 1, "old one")
    ck = Checkpoints(FileSystemArtifactStore(root), "MyStudy")
    assert ck.has(0) and ck.load(0) == "old zero"
    ck.save(1, "new one")  # new saves go to the new folder and win over the old one
    assert (root / "MyStudy~5" / "trials" / "1" / "latest.pkl").is_file()
    assert ck.load(1) == "new one" and ck.load(0) == "old zero"
    assert ck.copy(0, 2) and ck.load(2) == "old zero"
    # lowercase names keep their folder: old and new layouts side by side in one folder
    _write_legacy(root, "plain", 0, "old")
    ck = Checkpoints(FileSystemArtifactStore(root), "plain")
    assert ck.load(0) == "old"
    ck.save(0, "new")
    assert ck.load(0) == "new"
    assert sorted(p.name for p in (root / "plain" / "trials" / "0").iterdir()) == [
        "latest.json",
        "latest.pkl",
    ]


def test_an_ambiguous_old_folder_is_not_read_but_named(tmp_path):
    root = tmp_path / "store"
    _write_legacy(root, "a_b", 0, "whose is this?")  # "a b", "a/b" and "a_b" all wrote here
    ck = Checkpoints(FileSystemArtifactStore(root), "a b")
    with pytest.warns(UserWarning, match=r"'a_b'.*move 'a_b' to 'a%20b'"):
        assert ck.load(0) is None
    # the study that really is called a_b reads it: its folder did not change
    assert Checkpoints(FileSystemArtifactStore(root), "a_b").load(0) == "whose is this?"


# ---- keys -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        ".",
        "",
        "..",
        "/",
        "/etc/passwd",
        "a/../..",
        "a/./b",
        "./a",
        "a/",
        ".hidden",
        "a/.tmp",
        "a\\b",
        "a\x00b",
        "é",
        "x" * 256,
    ],
)
def test_keys_that_address_the_root_or_leave_it_are_refused(tmp_path, bad):
    store = FileSystemArtifactStore(tmp_path / "root")
    for call in (
        lambda: store.put_bytes(bad, b"x"),
        lambda: store.get_bytes(bad),
        lambda: store.list(bad),
        lambda: store.delete(bad),
        lambda: store.copy("ok", bad),
    ):
        with pytest.raises(ValueError, match="artifact key"):
            call()
    assert not (tmp_path / "root").exists()
    with pytest.raises(ValueError, match="must be a string"):
        store.put_bytes(3, b"")  # type: ignore[arg-type]


def test_a_folder_key_is_not_an_artifact(tmp_path):
    store = FileSystemArtifactStore(tmp_path)
    store.put_bytes("a/b", b"1")
    with pytest.raises(KeyError):
        store.get_bytes("a")
    store.delete("a")  # a folder is not deleted as if it were an artifact
    assert store.get_bytes("a/b") == b"1"


# ---- failed writes and the size limit -------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A folder where writes past ~1 MiB fail: a real 1 MiB tmpfs where this machine lets us
    mount one (root), else a file-size limit (RLIMIT_FSIZE, EFBIG) on this process."""
    import resource
    import signal
    import subprocess

    d = tmp_path / "small"
    d.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)], capture_output=True
        ).returncode
        == 0
    )
    if mounted:
        yield d, errno.ENOSPC
        subprocess.run(["umount", str(d)], check=True)
        return
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, old_limit[1]))
    try:
        yield d, errno.EFBIG
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def _everything_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_a_failed_write_leaves_nothing_behind(small_disk):
    disk, code = small_disk
    ck = Checkpoints(FileSystemArtifactStore(disk / "artifacts"), "s")
    ck.save(0, b"small")
    before = _everything_under(disk)
    big = os.urandom(2 << 20)
    with pytest.raises(ArtifactError, match=r"cannot write artifact.*nothing was left") as e:
        ck.save(0, big)
    assert e.value.errno == code and isinstance(e.value, OSError)
    with pytest.raises(ArtifactError):
        ck.save(7, big, step=3)  # a new trial folder: removed again
    assert _everything_under(disk) == before  # no .tmp file, no new folder
    assert ck.load(0) == b"small"  # the previous checkpoint is intact
    ck.save(0, b"again")  # and the disk is usable: the space was given back
    assert ck.load(0) == b"again"


def test_size_limit_per_artifact(tmp_path):
    store = FileSystemArtifactStore(tmp_path / "s", max_bytes=1000)
    store.put_bytes("a/ok", b"x" * 1000)
    with pytest.raises(ArtifactError, match=r"1,001 bytes, over this store's limit of 1,000") as e:
        store.put_bytes("a/big", b"x" * 1001)
    assert e.value.errno == errno.EFBIG
    assert store.list("a") == ["a/ok"]
    ck = Checkpoints(store, "s")
    with pytest.raises(ArtifactError, match="max_bytes"):
        ck.save(0, list(range(1000)))
    assert not ck.has(0) and store.list("s") == []
    unlimited = FileSystemArtifactStore(tmp_path / "s")
    unlimited.put_bytes("b/big", b"x" * 5000)
    with pytest.raises(ArtifactError, match="over this store's limit"):
        store.copy("b/big", "b/copy")
    assert not store.exists("b/copy")
    for bad in (-1, 1.5, True, "1GB"):
        with pytest.raises(ValueError, match="max_bytes must be"):
            FileSystemArtifactStore(tmp_path, max_bytes=bad)  # type: ignore[arg-type]


# ---- formats: safe where the object allows it ------------------------------------------------
def _payloads(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file() and p.suffix != ".json")


def test_numpy_arrays_are_saved_without_pickle(tmp_path):
    import numpy as np

    root = tmp_path / "st"
    ck = Checkpoints(FileSystemArtifactStore(root), "np")
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    ck.save(0, arr)
    arrays = {"w": np.ones((2, 2)), "file": np.arange(3), "a/b": np.array([1.5]), "": np.zeros(0)}
    ck.save(1, arrays, step=4)
    ck.save(2, np.array([object()], dtype=object))  # object arrays need pickle
    ck.save(3, {"w": np.ones(2), "note": "text"})  # not only arrays: pickle
    assert _payloads(root) == ["latest.npy", "latest.pkl", "latest.pkl", "step-4.npz"]
    back = ck.load(0)
    assert back.dtype == np.float32 and (back == arr).all()
    got = ck.load(1)
    assert list(got) == list(arrays) and all((got[k] == arrays[k]).all() for k in arrays)
    assert ck.load(1, step=4).keys() == arrays.keys()
    # replacing a pickled checkpoint by an array leaves one file, not both
    ck.save(3, np.zeros(2))
    assert _payloads(root / "np" / "trials" / "3") == ["latest.npy"]


def test_torch_tensors_and_state_dicts_load_without_pickle(tmp_path):
    torch = pytest.importorskip("torch")
    root = tmp_path / "st"
    ck = Checkpoints(FileSystemArtifactStore(root), "t")
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    plain = {"w": torch.ones(2, 3), "b": torch.arange(4)}
    ck.save(0, plain)  # a flat dict of CPU tensors: safetensors
    ck.save(1, model.state_dict())  # keeps its _metadata: torch.save
    ck.save(2, {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3})
    ck.save(3, torch.eye(3))
    shared = torch.ones(4)
    ck.save(4, {"a": shared, "b": shared})  # shared storage: torch.save keeps it shared
    ck.save(5, {"t": torch.ones(1), "fn": len})  # not weights-only: pickle
    names = {n: _payloads(root / "t" / "trials" / str(n)) for n in range(6)}
    assert names == {
        0: ["latest.safetensors"],
        1: ["latest.pt"],
        2: ["latest.pt"],
        3: ["latest.pt"],
        4: ["latest.pt"],
        5: ["latest.pkl"],
    }
    got = ck.load(0)
    assert type(got) is dict and all(torch.equal(got[k], plain[k]) for k in plain)
    sd = ck.load(1)
    assert sd._metadata == model.state_dict()._metadata
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    fresh.load_state_dict(sd)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), sd.values()))
    full = ck.load(2)
    assert full["epoch"] == 3 and full["opt"]["param_groups"] == opt.state_dict()["param_groups"]
    assert torch.equal(ck.load(3), torch.eye(3))
    pair = ck.load(4)
    pair["a"][0] = 7.0
    assert pair["b"][0] == 7.0
    assert ck.load(5)["fn"] is len


class _Marker:
    """Unpickling it creates a file: proof that a file was (or was not) unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.mark.parametrize("fmt", ["npy", "npz", "torch", "safetensors"])
def test_a_safe_format_file_is_never_unpickled(tmp_path, fmt):
    """A pickle put where a safe-format checkpoint belongs is refused, not run."""
    import numpy as np
    import torch

    root = tmp_path / "st"
    ck = Checkpoints(FileSystemArtifactStore(root), "s")
    obj = {
        "npy": np.ones(2),
        "npz": {"a": np.ones(2)},
        "torch": torch.eye(2),
        "safetensors": {"w": torch.ones(2)},
    }[fmt]
    ck.save(0, obj)
    (payload,) = (root / "s" / "trials" / "0").glob("latest.*[!n]")
    marker = tmp_path / "unpickled"
    evil = pickle.dumps(_Marker(str(marker)))
    if fmt == "npy":  # an object array: the header says "pickle follows"
        buf = io.BytesIO()
        np.save(buf, np.array([_Marker(str(marker))], dtype=object), allow_pickle=True)
        evil = buf.getvalue()
    elif fmt == "torch":
        buf = io.BytesIO()
        torch.save({"x": _Marker(str(marker))}, buf)
        evil = buf.getvalue()
    payload.write_bytes(evil)
    with pytest.raises(ArtifactError, match=f"cannot be loaded as {fmt}"):
        ck.load(0)
    assert not marker.exists()


def test_metadata_that_pairs_a_format_with_another_file_is_refused(tmp_path):
    import numpy as np

    root = tmp_path / "st"
    ck = Checkpoints(FileSystemArtifactStore(root), "s")
    ck.save(0, np.ones(2))
    meta = root / "s" / "trials" / "0" / "latest.json"
    meta.write_text(json.dumps({"format": "pickle", "payload": "latest.npy", "step": None}))
    with pytest.raises(ArtifactError, match="do not go together"):
        ck.load(0)
    meta.write_text("{not json")
    with pytest.raises(ArtifactError, match="damaged"):
        ck.load(0)
    (root / "s" / "trials" / "0" / "latest.npy").unlink()
    meta.write_text(json.dumps({"format": "npy", "payload": "latest.npy", "step": None}))
    with pytest.raises(ArtifactError, match="missing"):
        ck.load(0)


def test_deleting_a_study_deletes_its_checkpoints(tmp_path):
    """A new study of the same name must not find the old one's checkpoints."""
    import honed

    url = f"sqlite:///{tmp_path / 'd.db'}"
    old = honed.create_study("s", storage=url)
    old.optimize(lambda t: t.save_checkpoint({"w": t.float("x", 0, 1)}) or 1.0, n_trials=2)
    kept = honed.create_study("kept", storage=url)
    kept.optimize(lambda t: t.save_checkpoint({"w": 1}) or 1.0, n_trials=1)
    assert old.checkpoints.load(0) is not None
    honed.delete_study("s", url)
    new = honed.create_study("s", storage=url)
    assert new.checkpoints.load(0) is None and new.checkpoints.load(1) is None
    assert kept.checkpoints.load(0) == {"w": 1}  # other studies' checkpoints stay
