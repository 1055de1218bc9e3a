"""The journal storage: the conformance suite, processes sharing one file, torn writes."""

from __future__ import annotations

from pathlib import Path

from honed.storage import JournalStorage, Storage
from honed.testing.storage import StorageTests


class TestJournalStorage(StorageTests):
    def make_storage(self, tmp_path: Path) -> Storage:
        self._opened: list[JournalStorage] = []
        return JournalStorage(tmp_path / "conformance.log")

    def reopen(self, storage: Storage) -> Storage:
        assert isinstance(storage, JournalStorage)
        other = JournalStorage(storage.path)  # its own files and replay, as a process has
        self._opened.append(other)
        return other
