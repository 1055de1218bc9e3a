"""Artifact stores: files kept beside a study (checkpoints, models, plots).

:class:`ArtifactStore` is a small key -> bytes/file interface with ``/``-separated keys, so an
object store (S3, GCS) can implement it later with the same five methods.
:class:`FileSystemArtifactStore` keeps artifacts under a local folder; by default a study on a
SQLite file ``study.db`` uses the folder ``study-artifacts/`` beside it.

:class:`Checkpoints` builds trial checkpoints on any store: ``trial.save_checkpoint(obj)``
pickles ``obj`` (or copies a file or folder), ``trial.load_checkpoint()`` restores it, and
population-based training copies one trial's checkpoint to another.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import shutil
import tempfile
import uuid
import weakref
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

__all__ = [
    "ArtifactStore",
    "Checkpoints",
    "FileSystemArtifactStore",
    "default_artifact_store",
    "get_artifact_store",
]

_KEY = re.compile(r"^[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)*$")


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(
            f"artifact key {key!r} must be '/'-separated names of letters, digits, '.', '_' "
            "or '-' (no '..')."
        )
    return key


class ArtifactStore(ABC):
    """Where artifacts live. Keys are ``/``-separated names, such as ``study/3/ckpt-7``."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there, atomically."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The bytes under ``key``; raises ``KeyError`` when there are none."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix/`` (sorted)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key`` (no error when absent)."""

    def exists(self, key: str) -> bool:
        try:
            self.get_bytes(key)
        except KeyError:
            return False
        return True

    def copy(self, src: str, dst: str) -> None:
        self.put_bytes(dst, self.get_bytes(src))


class FileSystemArtifactStore(ArtifactStore):
    """Artifacts as files under ``root`` (created on first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FileSystemArtifactStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).split("/"))

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # write then rename, so readers in other processes never see half a file
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(f"no artifact {key!r} in {self.root}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            f"{prefix}/{p.relative_to(base).as_posix()}"
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def copy(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(self._path(src), tmp)
        except FileNotFoundError:
            raise KeyError(f"no artifact {src!r} in {self.root}") from None
        os.replace(tmp, target)


class Checkpoints:
    """Per-trial checkpoints of one study on an :class:`ArtifactStore`.

    Each save writes ``<study>/trials/<number>/step-<step>`` (or ``latest`` without a step)
    plus a small ``latest.json`` naming the most recent one.
    """

    def __init__(self, store: ArtifactStore, study_name: str) -> None:
        self.store = store
        self.prefix = re.sub(r"[^A-Za-z0-9._\-]", "_", study_name) or "study"

    def _key(self, number: int, name: str) -> str:
        return f"{self.prefix}/trials/{number}/{name}"

    def save(self, number: int, obj: Any, step: int | None = None) -> str:
        """Store ``obj`` for trial ``number``; a ``Path`` is stored as the file or folder it
        names, anything else is pickled. Returns the key."""
        name = "latest" if step is None else f"step-{int(step)}"
        if isinstance(obj, Path):
            if obj.is_dir():
                buf = io.BytesIO()
                with tempfile.TemporaryDirectory() as tmp:
                    archive = shutil.make_archive(os.path.join(tmp, "ckpt"), "tar", obj)
                    buf.write(Path(archive).read_bytes())
                payload, kind = buf.getvalue(), "dir"
            elif obj.is_file():
                payload, kind = obj.read_bytes(), "file"
            else:
                raise FileNotFoundError(f"checkpoint path {obj} does not exist.")
        else:
            try:
                payload, kind = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), "pickle"
            except (pickle.PicklingError, TypeError, AttributeError) as e:
                raise TypeError(
                    f"cannot pickle the checkpoint ({type(obj).__name__}): {e}; pass a "
                    "picklable object (e.g. a state_dict) or a pathlib.Path to a saved file."
                ) from None
        key = self._key(number, name)
        self.store.put_bytes(key, payload)
        meta = {"latest": name, "kind": kind, "step": step}
        self.store.put_bytes(self._key(number, f"{name}.json"), json.dumps(meta).encode())
        self.store.put_bytes(self._key(number, "latest.json"), json.dumps(meta).encode())
        return key

    def steps(self, number: int) -> list[int]:
        """Steps with a checkpoint for trial ``number``."""
        out = []
        for k in self.store.list(f"{self.prefix}/trials/{number}"):
            m = re.search(r"/step-(\d+)$", k)
            if m:
                out.append(int(m.group(1)))
        return sorted(out)

    def has(self, number: int) -> bool:
        return self.store.exists(self._key(number, "latest.json"))

    def load(self, number: int, step: int | None = None, into: Path | None = None) -> Any:
        """Trial ``number``'s checkpoint at ``step`` (default: the latest); ``None`` if it has
        none. Files and folders come back as a ``Path`` (under ``into`` or a temp folder)."""
        meta_key = "latest.json" if step is None else f"step-{int(step)}.json"
        try:
            meta = json.loads(self.store.get_bytes(self._key(number, meta_key)))
        except KeyError:
            return None
        payload = self.store.get_bytes(self._key(number, meta["latest"]))
        if meta["kind"] == "pickle":
            return pickle.loads(payload)
        target = Path(into) if into is not None else Path(tempfile.mkdtemp(prefix="honed-ckpt-"))
        target.mkdir(parents=True, exist_ok=True)
        if meta["kind"] == "file":
            out = target / "checkpoint"
            out.write_bytes(payload)
            return out
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "ckpt.tar"
            archive.write_bytes(payload)
            shutil.unpack_archive(archive, target, filter="data")
        return target

    def copy(self, src: int, dst: int, src_step: int | None = None) -> bool:
        """Make ``src``'s checkpoint (at ``src_step`` if it has one, else its latest) the latest
        checkpoint of ``dst``. Returns False when ``src`` has no checkpoint."""
        name = None
        if src_step is not None and self.store.exists(self._key(src, f"step-{int(src_step)}.json")):
            name = f"step-{int(src_step)}"
        meta_key = f"{name}.json" if name else "latest.json"
        try:
            meta = json.loads(self.store.get_bytes(self._key(src, meta_key)))
        except KeyError:
            return False
        self.store.copy(self._key(src, meta["latest"]), self._key(dst, "latest"))
        new_meta = {**meta, "latest": "latest", "copied_from": src}
        self.store.put_bytes(self._key(dst, "latest.json"), json.dumps(new_meta).encode())
        return True


def default_artifact_store(storage: object) -> ArtifactStore:
    """The store a study uses when none is given: ``<name>-artifacts/`` beside a SQLite file,
    ``./honed-artifacts`` for a database server, a temporary folder for in-memory studies."""
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :].split("?", 1)[0]
            if path and path != ":memory:":
                db = Path(path)
                return FileSystemArtifactStore(db.with_name(f"{db.stem}-artifacts"))
        else:
            return FileSystemArtifactStore(Path.cwd() / "honed-artifacts")
    folder = tempfile.mkdtemp(prefix="honed-artifacts-")
    store = FileSystemArtifactStore(folder)
    weakref.finalize(store, shutil.rmtree, folder, ignore_errors=True)
    return store


def get_artifact_store(artifacts: ArtifactStore | str | os.PathLike[str]) -> ArtifactStore:
    """An artifact store from an instance or a folder path."""
    if isinstance(artifacts, ArtifactStore):
        return artifacts
    if isinstance(artifacts, str | os.PathLike):
        return FileSystemArtifactStore(artifacts)
    raise TypeError(
        f"artifacts must be an ArtifactStore or a folder path, got {type(artifacts).__name__}."
    )
