"""Heartbeats: a running trial proves its worker is alive, so a vanished worker's trial can be
failed (and retried) by whoever notices first. See ``Storage.fail_stale_trials``."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

from honed.storage.base import Storage

__all__ = ["FaultPolicy", "Heartbeats"]

logger = logging.getLogger("honed")


@dataclass(frozen=True)
class FaultPolicy:
    """How a study survives workers that die and objectives that raise.

    Attributes:
        heartbeat_interval: Seconds between heartbeats of a running trial; ``None`` turns
            heartbeats and stale-trial detection off.
        grace_period: A RUNNING trial silent for longer than this is failed as stale.
        retries: How many times a failed configuration is tried again (a new WAITING trial
            with the same parameters; system attrs ``retry_of``, ``attempt``,
            ``first_attempt`` link the attempts).
        retry_failed: Also retry trials whose objective raised (not only vanished workers).
    """

    heartbeat_interval: float | None = None
    grace_period: float | None = None
    retries: int = 0
    retry_failed: bool = False

    @classmethod
    def build(
        cls,
        heartbeat_interval: float | None,
        grace_period: float | None,
        retries: int | None,
        retry_failed: bool | None,
    ) -> FaultPolicy:
        """Check the user's settings and fill in the defaults (``None``: not given; the grace
        period, no retries, no retry of raising trials)."""
        retries = 0 if retries is None else retries
        if heartbeat_interval is not None and not (
            isinstance(heartbeat_interval, int | float)
            and math.isfinite(heartbeat_interval)
            and heartbeat_interval > 0
        ):
            raise ValueError(
                f"heartbeat_interval must be a positive number of seconds or None, got "
                f"{heartbeat_interval!r}."
            )
        if grace_period is not None:
            if heartbeat_interval is None:
                raise ValueError(
                    "grace_period needs heartbeat_interval: without heartbeats no trial can be "
                    "told stale; pass e.g. heartbeat_interval=10, grace_period=60."
                )
            if not (isinstance(grace_period, int | float) and grace_period > heartbeat_interval):
                raise ValueError(
                    f"grace_period must be a number of seconds above heartbeat_interval "
                    f"({heartbeat_interval}), got {grace_period!r}."
                )
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative int, got {retries!r}.")
        if heartbeat_interval is not None and grace_period is None:
            # Several beats may be missed (a busy database, a GC pause) before we give up.
            grace_period = 4.0 * heartbeat_interval
        return cls(
            None if heartbeat_interval is None else float(heartbeat_interval),
            None if grace_period is None else float(grace_period),
            retries,
            bool(retry_failed),
        )


class Heartbeats:
    """One daemon thread sending heartbeats for every trial this process has in flight, every
    ``interval`` seconds; silent when ``interval`` is ``None``."""

    def __init__(self, storage: Storage, interval: float | None) -> None:
        self._storage = storage
        self._interval = interval
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if interval is not None:
            self._thread = threading.Thread(target=self._run, name="honed-heartbeats", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._interval is not None
        while not self._stop.wait(self._interval):
            with self._lock:
                ids = list(self._ids)
            for trial_id in ids:
                try:
                    self._storage.record_heartbeat(trial_id)
                except Exception as e:  # a missed beat is survivable; the grace period covers it
                    logger.warning("heartbeat of trial id %d failed: %s", trial_id, e)

    def add(self, trial_id: int) -> None:
        with self._lock:
            self._ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)  # a beat stuck on a busy database must not hold us
