"""Artifact stores: files kept beside a study (checkpoints, models, plots).

:class:`ArtifactStore` is a small key -> bytes interface with ``/``-separated keys, so an
object store (S3, GCS) can implement it later with the same few methods.
:class:`FileSystemArtifactStore` keeps artifacts under a local folder; by default a study on a
SQLite file ``study.db`` uses the folder ``study-artifacts/`` beside it.

:class:`Checkpoints` builds trial checkpoints on any store: ``trial.save_checkpoint(obj)``
stores ``obj`` (or copies a file or folder), ``trial.load_checkpoint()`` restores it, and
population-based training copies one trial's checkpoint to another.

**Trust.** Loading a checkpoint saved with pickle runs whatever code the pickle names: anyone
who can write into the artifact folder can run code in every process that loads checkpoints
from it. Keep that folder as private as the code you run. Arrays and tensors are saved in
formats that load without unpickling (see :meth:`Checkpoints.save`), and such a file is never
unpickled on load.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import sys
import tempfile
import uuid
import warnings
import weakref
import zipfile
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any

from honed.errors import ArtifactError

__all__ = [
    "ArtifactStore",
    "Checkpoints",
    "FileSystemArtifactStore",
    "default_artifact_store",
    "delete_study_artifacts",
    "get_artifact_store",
    "study_folder",
    "study_name_of",
]

# One key component: a file or folder name. It never starts with "." (so "." and ".." cannot
# address the root or its parent, and the store's hidden temporary files cannot be named).
_COMPONENT = re.compile(r"[A-Za-z0-9_%~\-][A-Za-z0-9._%~\-]*")
_MAX_COMPONENT = 255  # the usual file-name limit, in bytes (keys are ASCII)


def _check_key(key: str) -> str:
    if not isinstance(key, str):
        raise ValueError(f"artifact key must be a string, got {type(key).__name__}.")
    parts = key.split("/")
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            why = "it is empty" if key == "" else f"the part {part!r} is not a plain name"
            raise ValueError(
                f"artifact key {key!r} is refused: {why}. Keys are '/'-separated names of "
                "letters, digits, '.', '_', '-', '%' or '~' that do not start with '.', so a "
                "key can neither address the store's root nor leave it (e.g. 'runs/3/model')."
            )
        if len(part) > _MAX_COMPONENT:
            raise ValueError(
                f"artifact key {key[:40]!r}... is refused: the part starting {part[:20]!r} is "
                f"{len(part)} characters long, over the {_MAX_COMPONENT} a file name allows."
            )
    return key


class ArtifactStore(ABC):
    """Where artifacts live. Keys are ``/``-separated names, such as ``study/3/ckpt-7``; a key
    that is empty, absolute, or has a part that is empty or starts with ``.`` (``.``, ``..``)
    is refused with ``ValueError``."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there, atomically: a failed write
        leaves the previous artifact (or none) and nothing else."""

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
    """Artifacts as files under ``root`` (created on first write).

    Args:
        root: The folder.
        max_bytes: Refuse any single artifact larger than this many bytes with an
            :class:`~honed.errors.ArtifactError` (``None``: no limit), e.g. so that a
            checkpoint holding a whole dataset by mistake fails its save instead of filling
            the disk.

    Writes go to a hidden temporary file renamed into place, so readers in other processes
    never see half a file; when a write fails (disk full, over ``max_bytes``) the temporary
    file and any folder created for it are removed, and an ``ArtifactError`` says why.
    """

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int | None = None) -> None:
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0
        ):
            raise ValueError(
                f"max_bytes must be a non-negative integer or None, got {max_bytes!r}; e.g. "
                "max_bytes=2 * 1024**3 for 2 GiB."
            )
        self.root = Path(root)
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        limit = "" if self.max_bytes is None else f", max_bytes={self.max_bytes}"
        return f"FileSystemArtifactStore({str(self.root)!r}{limit})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).split("/"))

    def _check_size(self, key: str, size: int) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            e = ArtifactError(
                f"artifact {key!r} is {size:,} bytes, over this store's limit of "
                f"{self.max_bytes:,} (max_bytes of {self!r}); save less (e.g. a state_dict "
                "rather than the whole object) or raise the limit."
            )
            e.errno = errno.EFBIG
            raise e

    def _write(self, key: str, fill: Any) -> None:
        """Write ``key`` through ``fill(tmp_path)`` into a temporary file renamed into place;
        on any failure remove the temporary file and the folders made for it."""
        path = self._path(key)
        made: list[Path] = []
        folder = path.parent
        while not folder.exists():
            made.append(folder)
            folder = folder.parent
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fill(tmp)
            os.replace(tmp, path)
        except BaseException as e:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            for d in made:  # innermost first; stops at the first folder someone else filled
                try:
                    d.rmdir()
                except OSError:
                    break
            if isinstance(e, OSError) and not isinstance(e, ArtifactError):
                err = ArtifactError(
                    f"cannot write artifact {key!r} under {self.root}: "
                    f"{e.strerror or e}; nothing was left behind. Free some space or point "
                    "the study's artifacts at another folder."
                )
                err.errno = e.errno
                raise err from e
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        self._check_size(key, len(data))

        def fill(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())

        self._write(key, fill)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
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
        path = self._path(key)
        if path.is_file():
            path.unlink(missing_ok=True)

    def copy(self, src: str, dst: str) -> None:
        source, _ = self._path(src), self._path(dst)
        if not source.is_file():
            raise KeyError(f"no artifact {src!r} in {self.root}")
        self._check_size(src, source.stat().st_size)
        self._write(dst, lambda tmp: shutil.copyfile(source, tmp))


# ---- where a study's checkpoints live ------------------------------------------------------
_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)
_MAX_FOLDER = 120


def study_folder(name: str) -> str:
    """The folder (one key component) that holds study ``name``'s artifacts.

    A reversible escape, distinct for distinct names even on case-insensitive file systems:
    ASCII letters, digits, ``_``, ``-`` and inner ``.`` stay as they are; every other
    character is written as ``%`` and the hex of its UTF-8 bytes (``a b`` -> ``a%20b``,
    ``研究`` -> ``%e7%a0%94%e7%a9%b6``); a name with capital letters gets ``~`` and the hex
    bit mask of their positions (``MyStudy`` -> ``MyStudy~5``), so ``MyStudy`` and
    ``mystudy`` differ in more than case. A result longer than 120 characters is cut and ends
    in ``~h`` and 32 hex digits of the name's SHA-256 instead. :func:`study_name_of` reverses
    it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a study name must be a non-empty string, got {name!r}.")
    out = []
    last = len(name) - 1
    for i, ch in enumerate(name):
        edge_dot = ch == "." and i in (0, last)  # hidden files; Windows drops a trailing dot
        if ch in _LITERAL and not edge_dot:
            out.append(ch)
        else:
            out.append("".join(f"%{b:02x}" for b in ch.encode("utf-8", "surrogatepass")))
    if name.split(".", 1)[0].lower() in _WINDOWS_DEVICES:  # "con", "nul.txt": device names
        out[0] = f"%{ord(name[0]):02x}"
    folder = "".join(out)
    mask = sum(1 << i for i, ch in enumerate(name) if "A" <= ch <= "Z")
    if mask:
        folder += f"~{mask:x}"
    if len(folder) > _MAX_FOLDER:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        folder = f"{folder[:80]}~h{digest}"
    return folder


def study_name_of(folder: str) -> str | None:
    """The study name :func:`study_folder` made ``folder`` from; ``None`` for a cut (hashed)
    folder or one it did not make."""
    body, _, mask = folder.partition("~")
    if mask.startswith("h") or (mask and not re.fullmatch(r"[0-9a-f]+", mask)):
        return None
    raw = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "%":
            try:
                raw.append(int(body[i + 1 : i + 3], 16))
            except ValueError:
                return None
            i += 3
        else:
            raw += body[i].encode()
            i += 1
    try:
        name = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None
    return name if study_folder(name) == folder else None


def _legacy_folder(name: str) -> str:
    """The folder honed 0.1 used: every other character became ``_``, so ``a b``, ``a/b``,
    ``a_b`` and ``研究``/``試験`` (``__``) shared one folder."""
    return re.sub(r"[^A-Za-z0-9._\-]", "_", name) or "study"


# ---- checkpoint formats --------------------------------------------------------------------
# Each format's payload file ends in its own extension, and the loader is chosen by the format
# the metadata names and checked against that extension: a file written as .npz, .pt or
# .safetensors is never handed to the unpickler.
_EXT = {
    "npy": ".npy",
    "npz": ".npz",
    "safetensors": ".safetensors",
    "torch": ".pt",
    "pickle": ".pkl",
    "file": ".file",
    "dir": ".tar",
}
_LEGACY_KIND = {"pickle": "pickle", "file": "file", "dir": "dir"}


def _plain_array(x: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and type(x) is np.ndarray and not x.dtype.hasobject


def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for k, arr in arrays.items():
            with zf.open(f"{k}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    return buf.getvalue()


def _torch_tree(x: Any, depth: int = 0) -> tuple[bool, bool]:
    """(whether ``x`` is made only of what ``torch.load(weights_only=True)`` restores exactly:
    plain tensors and parameters, dicts, lists, tuples, numbers, strings, None; whether it
    holds a tensor)."""
    torch = sys.modules["torch"]
    if depth > 50:
        return False, False
    if type(x) in (torch.Tensor, torch.nn.Parameter):
        return x.layout == torch.strided and not x.is_quantized, True
    if type(x) in (int, float, bool, str, type(None)):
        return True, False
    if type(x) in (dict, OrderedDict):
        if any(type(k) not in (str, int) for k in x):
            return False, False
        items = list(x.values())
    elif type(x) in (list, tuple):
        items = list(x)
    else:
        return False, False
    any_tensor = False
    for v in items:
        ok, has = _torch_tree(v, depth + 1)
        if not ok:
            return False, False
        any_tensor = any_tensor or has
    return True, any_tensor


def _safetensors_ok(x: Any) -> bool:
    """A flat dict of CPU tensors that safetensors stores and restores exactly."""
    torch = sys.modules["torch"]
    if type(x) not in (dict, OrderedDict) or not x:
        return False
    if type(x) is OrderedDict and vars(x):  # a state_dict's _metadata: torch.save keeps it
        return False
    return all(
        type(k) is str
        and type(v) is torch.Tensor
        and v.layout == torch.strided
        and v.device.type == "cpu"
        and not v.requires_grad
        and not v.is_quantized
        for k, v in x.items()
    )


def _encode(obj: Any) -> tuple[str, bytes, dict[str, Any]]:
    """(format, payload, extra metadata) for ``obj``: the safe formats when the object allows
    them, pickle otherwise."""
    if _plain_array(obj):
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, obj, allow_pickle=False)
        return "npy", buf.getvalue(), {}
    if type(obj) is dict and obj and all(type(k) is str and _plain_array(obj[k]) for k in obj):
        return "npz", _npz_bytes(obj), {}
    if "torch" in sys.modules:
        ok, has_tensor = _torch_tree(obj)
        if ok and has_tensor:
            if _safetensors_ok(obj):
                try:
                    import safetensors.torch
                except ImportError:
                    pass
                else:
                    try:
                        data = safetensors.torch.save(dict(obj))
                    except (RuntimeError, ValueError):
                        pass  # shared or non-contiguous tensors: torch.save keeps them exact
                    else:
                        return "safetensors", data, {"ordered": type(obj) is OrderedDict}
            torch = sys.modules["torch"]
            buf = io.BytesIO()
            torch.save(obj, buf)
            return "torch", buf.getvalue(), {}
    try:
        return "pickle", pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), {}
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError(
            f"cannot pickle the checkpoint ({type(obj).__name__}): {e}; pass a "
            "picklable object (e.g. a state_dict) or a pathlib.Path to a saved file."
        ) from None


def _decode(fmt: str, payload: bytes, meta: dict[str, Any], where: str) -> Any:
    if fmt == "pickle":
        return pickle.loads(payload)  # trusted: see the module's note on trust
    if fmt in ("npy", "npz"):
        import numpy as np

        loaded = np.load(io.BytesIO(payload), allow_pickle=False)
        if fmt == "npy":
            return loaded
        with loaded:
            return {k: loaded[k] for k in loaded.files}
    try:
        if fmt == "safetensors":
            import safetensors.torch

            out = safetensors.torch.load(payload)
            return OrderedDict(out) if meta.get("ordered") else out
        import torch
    except ImportError as e:
        raise ArtifactError(
            f"checkpoint {where} was saved with {fmt}, which is not installed here "
            f"({e.name}); install it to load it (pip install {e.name})."
        ) from None
    return torch.load(io.BytesIO(payload), weights_only=True)


class Checkpoints:
    """Per-trial checkpoints of one study on an :class:`ArtifactStore`.

    Each save writes ``<folder>/trials/<number>/step-<step>.<ext>`` (or ``latest.<ext>``
    without a step), a small ``.json`` beside it saying how it was saved, and
    ``latest.json`` naming the most recent one. ``<folder>`` is :func:`study_folder` of the
    study name: a collision-free escape.

    Folders written by honed 0.1 (which replaced every character outside letters, digits,
    ``.``, ``_`` and ``-`` with ``_``) stay loadable when that replacement left the name as it
    was (``MyStudy``, ``xgb-digits_2``): a checkpoint missing from the new folder is read
    from the old one, and new saves go to the new one. Where it changed the name (``a b`` ->
    ``a_b``) the old folder may belong to another study; it is not read, and a warning names
    it, to be moved by hand if it is this study's.
    """

    def __init__(self, store: ArtifactStore, study_name: str) -> None:
        self.store = store
        self.study_name = study_name
        self.prefix = study_folder(study_name)
        legacy = _legacy_folder(study_name)
        self._legacy: str | None = None
        self._ambiguous: str | None = None
        if legacy != self.prefix and _COMPONENT.fullmatch(legacy) and len(legacy) <= 255:
            if legacy == study_name:
                self._legacy = legacy
            else:
                self._ambiguous = legacy
        self._warned = False

    def _key(self, number: int, name: str, prefix: str | None = None) -> str:
        return f"{prefix or self.prefix}/trials/{int(number)}/{name}"

    def _meta(
        self, number: int, meta_name: str, warn: bool = False
    ) -> tuple[str, dict[str, Any]] | None:
        """(the folder it was found in, the metadata) of ``meta_name`` of trial ``number``;
        with ``warn``, a warning when only an ambiguous old folder has it."""
        for prefix in (self.prefix, self._legacy):
            if prefix is None:
                continue
            try:
                raw = self.store.get_bytes(self._key(number, meta_name, prefix))
            except KeyError:
                continue
            try:
                meta = json.loads(raw)
                if not isinstance(meta, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                raise ArtifactError(
                    f"checkpoint metadata {self._key(number, meta_name, prefix)!r} in "
                    f"{self.store!r} is damaged ({e}); delete it or save the checkpoint again."
                ) from None
            return prefix, meta
        if warn and self._ambiguous and not self._warned:
            old = self._key(number, meta_name, self._ambiguous)
            if self.store.exists(old):
                self._warned = True
                warnings.warn(
                    f"study {self.study_name!r} keeps its checkpoints in "
                    f"{self.prefix!r}; {self._ambiguous!r}, written by an older honed, may "
                    "hold them or those of another study whose name was written the same "
                    f"way there. If they are this study's, move {self._ambiguous!r} to "
                    f"{self.prefix!r} in {self.store!r}.",
                    UserWarning,
                    stacklevel=3,
                )
        return None

    @staticmethod
    def _payload_of(meta: dict[str, Any], where: str) -> tuple[str, str]:
        """(format, payload file name) named by ``meta``, checked against each other."""
        if "format" in meta:  # this layout
            fmt, payload = meta.get("format"), meta.get("payload")
            ext = _EXT.get(fmt) if isinstance(fmt, str) else None
            if (
                ext is None
                or not isinstance(fmt, str)
                or not isinstance(payload, str)
                or not payload.endswith(ext)
            ):
                raise ArtifactError(
                    f"checkpoint metadata {where} names format {fmt!r} and file {payload!r}, "
                    "which do not go together; it is damaged: delete it or save again."
                )
            return fmt, payload
        kind, payload = meta.get("kind"), meta.get("latest")  # honed 0.1
        if kind not in _LEGACY_KIND or not isinstance(payload, str):
            raise ArtifactError(f"checkpoint metadata {where} is damaged: {meta!r}.")
        return _LEGACY_KIND[kind], payload

    def save(self, number: int, obj: Any, step: int | None = None) -> str:
        """Store ``obj`` for trial ``number`` and return its key.

        A ``Path`` is stored as the file or folder it names. Otherwise, in the first format
        the object allows: a numpy array as ``.npy`` and a dict of arrays as ``.npz`` (both
        loaded with ``allow_pickle=False``); a flat dict of CPU tensors as ``.safetensors``
        when that package is installed; tensors, state_dicts and nests of them (dicts, lists,
        tuples, numbers, strings) with ``torch.save``, loaded with ``weights_only=True``;
        anything else pickled, which loading unpickles (see the module's note on trust).
        """
        name = "latest" if step is None else f"step-{int(step)}"
        extra: dict[str, Any] = {}
        if isinstance(obj, Path):
            if obj.is_dir():
                with tempfile.TemporaryDirectory() as tmp:
                    archive = shutil.make_archive(os.path.join(tmp, "ckpt"), "tar", obj)
                    payload, fmt = Path(archive).read_bytes(), "dir"
            elif obj.is_file():
                payload, fmt = obj.read_bytes(), "file"
            else:
                raise FileNotFoundError(f"checkpoint path {obj} does not exist.")
        else:
            fmt, payload, extra = _encode(obj)
        payload_name = name + _EXT[fmt]
        key = self._key(number, payload_name)
        meta = {"format": fmt, "payload": payload_name, "step": step, **extra}
        previous = self._meta(number, f"{name}.json")
        existed = self.store.exists(key)
        self.store.put_bytes(key, payload)
        try:
            blob = json.dumps(meta).encode()
            self.store.put_bytes(self._key(number, f"{name}.json"), blob)
            if step is not None:
                self.store.put_bytes(self._key(number, "latest.json"), blob)
        except BaseException:
            if not existed:
                self.store.delete(key)
            raise
        if previous is not None and previous[0] == self.prefix:
            with contextlib.suppress(ArtifactError):
                _, old = self._payload_of(previous[1], "")
                if old != payload_name and (old == name or old.startswith(name + ".")):
                    self.store.delete(self._key(number, old))  # the same checkpoint, older format
        return key

    def steps(self, number: int) -> list[int]:
        """Steps with a checkpoint for trial ``number``."""
        out: set[int] = set()
        for prefix in (self.prefix, self._legacy):
            if prefix is None:
                continue
            for k in self.store.list(f"{prefix}/trials/{int(number)}"):
                m = re.search(r"/step-(\d+)\.json$", k)
                if m:
                    out.add(int(m.group(1)))
        return sorted(out)

    def has(self, number: int) -> bool:
        return self._meta(number, "latest.json", warn=True) is not None

    def load(self, number: int, step: int | None = None, into: Path | None = None) -> Any:
        """Trial ``number``'s checkpoint at ``step`` (default: the latest); ``None`` if it has
        none. Files and folders come back as a ``Path`` (under ``into`` or a temp folder).
        A checkpoint that was pickled is unpickled: load only from folders you trust."""
        meta_name = "latest.json" if step is None else f"step-{int(step)}.json"
        found = self._meta(number, meta_name, warn=True)
        if found is None:
            return None
        prefix, meta = found
        where = repr(self._key(number, meta_name, prefix))
        fmt, payload_name = self._payload_of(meta, where)
        try:
            payload = self.store.get_bytes(self._key(number, payload_name, prefix))
        except KeyError:
            raise ArtifactError(
                f"checkpoint {where} names {payload_name!r}, which is missing from "
                f"{self.store!r}; save the checkpoint again."
            ) from None
        if fmt not in ("file", "dir"):
            try:
                return _decode(fmt, payload, meta, where)
            except ArtifactError:
                raise
            except Exception as e:
                # A damaged safe-format file fails in its own library's way; a pickle's other
                # errors (a class that moved, an __setstate__ that raised) are the object's own.
                if fmt == "pickle" and not isinstance(e, pickle.UnpicklingError | EOFError):
                    raise
                raise ArtifactError(
                    f"checkpoint {where} cannot be loaded as {fmt} ({type(e).__name__}: "
                    f"{str(e)[:300]}); the file is damaged or was not written by honed."
                ) from None
        target = Path(into) if into is not None else Path(tempfile.mkdtemp(prefix="honed-ckpt-"))
        target.mkdir(parents=True, exist_ok=True)
        if fmt == "file":
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
        found = None
        if src_step is not None:
            found = self._meta(src, f"step-{int(src_step)}.json")
        if found is None:
            found = self._meta(src, "latest.json", warn=True)
        if found is None:
            return False
        prefix, meta = found
        fmt, payload_name = self._payload_of(meta, repr(self._key(src, "latest.json", prefix)))
        new_name = "latest" + _EXT[fmt]
        previous = self._meta(dst, "latest.json")
        self.store.copy(self._key(src, payload_name, prefix), self._key(dst, new_name))
        extra = {k: v for k, v in meta.items() if k not in ("format", "payload", "kind", "latest")}
        new_meta = {**extra, "format": fmt, "payload": new_name, "copied_from": src}
        self.store.put_bytes(self._key(dst, "latest.json"), json.dumps(new_meta).encode())
        if previous is not None and previous[0] == self.prefix:
            with contextlib.suppress(ArtifactError):
                _, old = self._payload_of(previous[1], "")
                if old != new_name and (old == "latest" or old.startswith("latest.")):
                    self.store.delete(self._key(dst, old))
        return True


def delete_study_artifacts(store: ArtifactStore, study_name: str) -> int:
    """Remove every artifact of study ``study_name`` (its checkpoints, saved soups, ...), so a
    new study of the same name starts clean; returns how many were removed."""
    checkpoints = Checkpoints(store, study_name)
    folders = [checkpoints.prefix] + ([checkpoints._legacy] if checkpoints._legacy else [])
    removed = 0
    for folder in folders:
        for key in store.list(folder):
            store.delete(key)
            removed += 1
    return removed


def default_artifact_store(storage: object) -> ArtifactStore:
    """The store a study uses when none is given: ``<name>-artifacts/`` beside a SQLite or
    journal file (on a shared file system, every machine finds the checkpoints there),
    ``./honed-artifacts`` for a database server, a temporary folder for in-memory studies."""
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        if url.startswith("journal:///"):
            log = Path(url[len("journal:///") :])
            return FileSystemArtifactStore(log.with_name(f"{log.stem}-artifacts"))
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
