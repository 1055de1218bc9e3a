"""A skipped test hides missing work: install what bench/tests need (``./scripts/test`` does)
or set HONED_ALLOW_SKIPS=1 for a partial setup."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and not os.environ.get("HONED_ALLOW_SKIPS") and exitstatus == 0:
        reporter.write_line(
            f"{len(skipped)} test(s) skipped: install what they need (./scripts/test does) "
            "or set HONED_ALLOW_SKIPS=1",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
