"""Shared fixtures. Keep this small and generic; topic-specific fixtures live in their test file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from honed.storage import InMemoryStorage, Storage
from tests._pg import pg_server, pg_url  # noqa: F401 - PostgreSQL fixtures, see _pg.py

# No per-example deadline: on a shared 2-core machine one slow example is load, not a bug.
settings.register_profile("honed", deadline=None)
settings.load_profile("honed")


@pytest.fixture(autouse=True)
def _honed_log_reaches_caplog() -> Iterator[None]:
    """honed logs through its own stderr handler and does not propagate (one line per event
    for users); tests read its records through caplog, on the root logger."""
    import logging

    logger = logging.getLogger("honed")
    logger.propagate = True
    yield
    logger.propagate = False


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path) -> Iterator[Storage]:
    """A fresh storage: in memory, or a real SQLite file under ``tmp_path``."""
    if request.param == "memory":
        s: Storage = InMemoryStorage()
    else:
        from honed.storage.sql import SQLStorage

        s = SQLStorage(f"sqlite:///{tmp_path / 'honed.db'}")
    yield s
    s.close()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a not-yet-created SQLite file under ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'honed.db'}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test hides missing work: the README's test command installs everything the
    suite needs, so any skip fails the run (set HONED_ALLOW_SKIPS=1 for a partial setup)."""
    import os

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and not os.environ.get("HONED_ALLOW_SKIPS") and exitstatus == 0:
        reporter.write_line(
            f"{len(skipped)} test(s) skipped: install what they need (./scripts/test does) "
            "or set HONED_ALLOW_SKIPS=1",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
