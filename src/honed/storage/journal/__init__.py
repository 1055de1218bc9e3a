"""Journal storage: studies in one append-only, lock-protected file that processes on many
machines share, with no database server (``journal:///path/study.log``)."""

from honed.storage.journal._storage import JournalStorage

__all__ = ["JournalStorage"]
