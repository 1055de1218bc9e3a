"""Shared hypothesis settings for the fuzz suite: deterministic and bounded."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings


def fuzz(max_examples: int) -> settings:
    """``max_examples`` examples drawn the same way on every run, each within 10 s (generous:
    the suite shares a small machine; a real hang is minutes)."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=timedelta(seconds=10),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )
