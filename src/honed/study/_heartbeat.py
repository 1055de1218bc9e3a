"""Heartbeats: a running trial proves its worker is alive, so a vanished worker's trial can be
failed (and retried) by whoever notices first. See ``Storage.fail_stale_trials``."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from honed.storage.base import Storage

__all__ = ["DEFAULT_HEARTBEAT_INTERVAL", "FaultPolicy", "Heartbeats"]

logger = logging.getLogger("honed")


#: Seconds between heartbeats when a persistent study is given no :class:`FaultPolicy`.
DEFAULT_HEARTBEAT_INTERVAL = 15.0


@dataclass(frozen=True)
class FaultPolicy:
    """How a study survives workers that die and objectives that raise.

    Pass one to :func:`honed.create_study` (``faults=``). Without one, a study on a database
    or journal file sends a heartbeat every 15 seconds for each running trial, and a trial
    silent for 60 seconds (its worker was killed, its machine went down) is failed by the
    next process that asks for a trial; in memory nothing can outlive the process, so
    heartbeats are off. The policy is stored with a new study, and a process that loads it
    without giving one uses the stored policy, so every worker, and a restart after a crash,
    agree.

    Attributes:
        heartbeat_interval: Seconds between heartbeats of a running trial; ``None`` turns
            heartbeats and stale-trial detection off.
        grace_period: A RUNNING trial silent for longer than this is failed as stale;
            ``None``: four heartbeat intervals (a busy database or a long pause of the
            process may delay a few beats).
        retries: How many times a failed configuration is tried again (a new WAITING trial
            with the same parameters; system attrs ``retry_of``, ``attempt``,
            ``first_attempt`` link the attempts).
        retry_failed: Also retry trials whose objective raised (not only vanished workers).
    """

    heartbeat_interval: float | None = DEFAULT_HEARTBEAT_INTERVAL
    grace_period: float | None = None
    retries: int = 0
    retry_failed: bool = False

    def __post_init__(self) -> None:
        interval, grace = self.heartbeat_interval, self.grace_period
        if interval is not None and not (
            _is_number(interval) and math.isfinite(interval) and interval > 0
        ):
            raise ValueError(
                "FaultPolicy heartbeat_interval must be a positive number of seconds or None, "
                f"got {interval!r}."
            )
        if grace is not None:
            if interval is None:
                raise ValueError(
                    "FaultPolicy grace_period needs heartbeat_interval: without heartbeats no "
                    "trial can be told stale; pass e.g. heartbeat_interval=10, grace_period=60."
                )
            if not (_is_number(grace) and grace > interval):
                raise ValueError(
                    f"FaultPolicy grace_period must be a number of seconds above "
                    f"heartbeat_interval ({interval}), got {grace!r}."
                )
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise ValueError(f"FaultPolicy retries must be an int >= 0, got {self.retries!r}.")
        if not isinstance(self.retry_failed, bool):
            raise ValueError(
                f"FaultPolicy retry_failed must be True or False, got {self.retry_failed!r}."
            )

    @property
    def stale_after(self) -> float | None:
        """Seconds of silence after which a running trial is stale (``None``: never)."""
        if self.heartbeat_interval is None:
            return None
        return self.grace_period if self.grace_period is not None else 4 * self.heartbeat_interval

    def to_dict(self) -> dict[str, Any]:
        return {
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "retries": self.retries,
            "retry_failed": self.retry_failed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultPolicy:
        return cls(
            heartbeat_interval=data.get("heartbeat_interval"),
            grace_period=data.get("grace_period"),
            retries=int(data.get("retries") or 0),
            retry_failed=bool(data.get("retry_failed")),
        )


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


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
