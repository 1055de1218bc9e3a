"""The exceptions honed raises. Each subclasses a built-in so existing ``except`` clauses work.

::

    HonedError
    ├── SpaceError (ValueError)            a bad parameter definition or value
    ├── StudyError
    │   ├── DuplicatedStudyError (ValueError)
    │   └── StudyNotFoundError (KeyError)
    ├── StorageError
    │   └── SchemaVersionError             the database was written by another schema version
    ├── ArtifactError (OSError)            a checkpoint or artifact cannot be written or read
    ├── TrialStateError (RuntimeError)     a finished trial was changed, or a state moved backwards
    └── TrialPruned                        raised inside an objective to stop a trial early
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "DuplicatedStudyError",
    "HonedError",
    "SchemaVersionError",
    "SpaceError",
    "StorageError",
    "StudyError",
    "StudyNotFoundError",
    "TrialPruned",
    "TrialStateError",
]


class HonedError(Exception):
    """Base class of every honed error."""


class SpaceError(HonedError, ValueError):
    """A search space, parameter definition or parameter value is invalid."""


class StudyError(HonedError):
    """A study cannot be created, loaded or used as asked."""


class DuplicatedStudyError(StudyError, ValueError):
    """A study with this name already exists in the storage."""


class StudyNotFoundError(StudyError, KeyError):
    """No study with this name exists in the storage."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class StorageError(HonedError):
    """The storage cannot be opened or written."""


class SchemaVersionError(StorageError):
    """The database schema was written by a different honed version."""


class ArtifactError(HonedError, OSError):
    """A checkpoint or artifact cannot be written (disk full, over the store's size limit) or
    read back (damaged, or saved in a format this installation cannot load)."""


class TrialStateError(HonedError, RuntimeError):
    """A trial was changed after it finished, or its state was moved backwards."""


class TrialPruned(HonedError):  # noqa: N818 - the name users raise and catch, as in Optuna
    """Raised by ``trial.report`` (or by the objective) to stop a trial early.

    The trial is recorded as ``PRUNED`` with its last reported value, not as failed.
    """
