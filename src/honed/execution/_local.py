"""Executors that run objectives in the study's own process: inline and in threads."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from honed.execution._base import Executor, Job, TrialOutcome, evaluate

__all__ = ["InlineExecutor", "ThreadExecutor"]


class InlineExecutor(Executor):
    """One trial at a time, in the calling thread: what ``optimize(n_jobs=1)`` uses."""

    def __init__(self) -> None:
        self._objective: Callable[[Any], Any] | None = None
        self._catch: tuple[type[BaseException], ...] = (Exception,)
        self._pending: list[Job] = []

    def start(
        self, objective: Callable[[Any], Any], catch: tuple[type[BaseException], ...], n_jobs: int
    ) -> int:
        self._objective, self._catch = objective, catch
        return 1

    def submit(self, job: Job) -> None:
        self._pending.append(job)

    def poll(self, timeout: float) -> list[tuple[Job, TrialOutcome]]:
        assert self._objective is not None, "start() first"
        done = []
        while self._pending:
            job = self._pending.pop(0)
            done.append((job, evaluate(self._objective, job.trial, self._catch)))
        return done

    def cancel(self, jobs: Sequence[Job]) -> None:
        self._pending.clear()


class ThreadExecutor(Executor):
    """Trials in daemon threads of this process, sharing its memory.

    Threads share one core for pure-Python work, so they suit objectives that release the GIL
    (numpy, torch, I/O) or wait on something else; CPU-bound Python objectives want
    :class:`~honed.execution.ProcessExecutor`.
    """

    def __init__(self) -> None:
        self._objective: Callable[[Any], Any] | None = None
        self._catch: tuple[type[BaseException], ...] = (Exception,)
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._done: queue.Queue[tuple[Job, TrialOutcome]] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(
        self, objective: Callable[[Any], Any], catch: tuple[type[BaseException], ...], n_jobs: int
    ) -> int:
        self._objective, self._catch = objective, catch
        self._jobs, self._done = queue.Queue(), queue.Queue()  # nothing left from a last run
        self._threads = [
            threading.Thread(target=self._work, name=f"honed-worker-{i}", daemon=True)
            for i in range(n_jobs)
        ]
        for t in self._threads:
            t.start()
        return n_jobs

    def _work(self) -> None:
        assert self._objective is not None
        while (job := self._jobs.get()) is not None:
            self._done.put((job, evaluate(self._objective, job.trial, self._catch)))

    def submit(self, job: Job) -> None:
        self._jobs.put(job)

    def poll(self, timeout: float) -> list[tuple[Job, TrialOutcome]]:
        try:
            done = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                return done

    def cancel(self, jobs: Sequence[Job]) -> None:
        # A running thread cannot be stopped; jobs not started yet are dropped.
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout=0.1)  # one still running an objective is a daemon: left behind
        self._threads = []
