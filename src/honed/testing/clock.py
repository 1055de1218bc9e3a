"""A clock that moves only when told, for testing time-dependent storage logic."""

from __future__ import annotations

import math
import threading

__all__ = ["ManualClock"]


class ManualClock:
    """A :data:`~honed.storage.base.Clock` that stands still until :meth:`advance` moves it.

    Give it to a storage (``SQLStorage(url, clock=clock)``, ``InMemoryStorage(clock=clock)``)
    and a trial goes stale by ``clock.advance(grace_period + 1)`` instead of a sleep::

        clock = ManualClock()
        storage = InMemoryStorage(clock=clock)
        ...
        clock.advance(61)
        storage.fail_stale_trials(study_id, grace_period=60)

    Args:
        start: The time it shows first, in seconds since the epoch.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0: time never runs backwards)."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}.")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
