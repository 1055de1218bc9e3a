"""Trials in worker processes on this machine."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import socket
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from honed.execution._base import (
    Executor,
    Job,
    Reply,
    TrialOutcome,
    evaluate,
    picklable,
    serve_call,
)
from honed.execution._remote import RemoteTrial

__all__ = ["ProcessExecutor"]

logger = logging.getLogger("honed")


class _PipeChannel:
    """A worker's end of its pipe: one call, one reply."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Reply:
        self._conn.send(("call", method, args, kwargs))
        reply: Reply = self._conn.recv()
        return reply


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this worker when the study's process dies (SIGKILL cannot be
    caught there, so nobody else would stop the objective); elsewhere a worker notices at
    its next call or result."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _worker_main(
    objective: Callable[[Any], Any],
    catch: tuple[type[BaseException], ...],
    conn: Any,
    parent_pid: int,
) -> None:
    _die_with_parent(parent_pid)
    torch = sys.modules.get("torch")
    if torch is not None:
        # torch's intra-op thread pool does not survive a fork: a parent that used it leaves
        # the child's first torch operation waiting on threads that are gone. One thread per
        # worker also keeps n_jobs workers from oversubscribing the cores.
        torch.set_num_threads(1)
    # Ctrl-C reaches the whole process group; the study's process handles it and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    channel = _PipeChannel(conn)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the study's process is gone
        if message[0] != "run":
            return
        trial = RemoteTrial.from_spec(message[1], channel)
        outcome = evaluate(objective, trial, catch, worker)
        trial._finished = True
        if outcome.exception is not None:
            outcome.exception = picklable(outcome.exception)
        try:
            conn.send(("done", outcome))
        except (EOFError, OSError):
            return
        except Exception as e:  # the result itself cannot be pickled
            conn.send(
                (
                    "done",
                    TrialOutcome(
                        "failed",
                        fail_reason=f"the objective's result could not be sent back: {e}",
                        worker=worker,
                    ),
                )
            )


@dataclass
class _Worker:
    process: Any
    conn: Any
    job: Job | None = None


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ProcessExecutor(Executor):
    """Trials in worker processes on this machine: real parallelism for CPU-bound objectives.

    Workers are forked (objectives defined in ``__main__``, closures and lambdas work as
    written; where fork is unavailable they are spawned, and the objective must pickle).
    They only run objectives: every ``trial.float``/``report``/``set_user_attr`` comes back
    to the study's process, which samples, records and schedules. A worker that dies (the
    OOM killer, a crash in native code, ``kill -9``) fails only its trial, with the reason,
    and is replaced; after ``max_restarts`` deaths in one ``optimize`` the study stops with
    an error, keeping every finished trial.

    Args:
        max_restarts: Replacements allowed per ``optimize``; default ``2 * n_jobs + 2``.
    """

    def __init__(self, *, max_restarts: int | None = None) -> None:
        if max_restarts is not None and (
            isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0
        ):
            raise ValueError(f"max_restarts must be an int >= 0 or None, got {max_restarts!r}.")
        self.max_restarts = max_restarts
        self._workers: list[_Worker] = []
        self._ctx: Any = None
        self._objective: Callable[[Any], Any] | None = None
        self._catch: tuple[type[BaseException], ...] = (Exception,)
        self._restarts = 0
        self._limit = 0
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"ProcessExecutor(max_restarts={self.max_restarts})"

    def start(
        self, objective: Callable[[Any], Any], catch: tuple[type[BaseException], ...], n_jobs: int
    ) -> int:
        methods = mp.get_all_start_methods()
        self._ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self._objective, self._catch = objective, catch
        self._restarts, self._error = 0, None
        self._limit = 2 * n_jobs + 2 if self.max_restarts is None else self.max_restarts
        self._workers = [self._spawn(i) for i in range(n_jobs)]
        return n_jobs

    def _spawn(self, slot: int) -> _Worker:
        ours, theirs = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(self._objective, self._catch, theirs, os.getpid()),
            name=f"honed-worker-{slot}",
            daemon=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: ours wait
            process.start()
        theirs.close()  # the child's copy is the only one: its death ends the pipe
        return _Worker(process, ours)

    def check(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, job: Job) -> None:
        self.check()
        for w in self._workers:
            if w.job is None and w.process.is_alive():
                w.conn.send(("run", job.spec()))
                w.job = job
                return
        raise RuntimeError("no idle worker process; submit at most start()'s capacity")

    def poll(self, timeout: float) -> list[tuple[Job, TrialOutcome]]:
        done: list[tuple[Job, TrialOutcome]] = []
        by_handle: dict[Any, _Worker] = {}
        for w in self._workers:
            by_handle[w.conn] = w
            by_handle[w.process.sentinel] = w
        ready = mp_connection.wait(list(by_handle), timeout)
        seen: set[int] = set()
        for handle in ready:
            w = by_handle[handle]
            if id(w) in seen:
                continue
            seen.add(id(w))
            self._read(w, done)
        return done

    def _read(self, w: _Worker, done: list[tuple[Job, TrialOutcome]]) -> None:
        """Serve a worker's calls and collect its result, until its pipe is quiet."""
        while True:
            try:
                if not w.conn.poll():
                    if not w.process.is_alive():
                        self._lost(w, done)
                    return
                message = w.conn.recv()
            except (EOFError, OSError):  # its end closed: it died, maybe mid-message
                self._lost(w, done)
                return
            except Exception:  # a message cut short by the death of its writer
                self._lost(w, done)
                return
            if message[0] == "call" and w.job is not None:
                reply = serve_call(w.job.trial, message[1], message[2], message[3])
                try:
                    w.conn.send(reply)
                except (EOFError, OSError):
                    self._lost(w, done)
                    return
                except Exception as e:  # the value cannot be pickled back
                    w.conn.send(Reply(error_text=f"its result could not be sent: {e}"))
            elif message[0] == "done" and w.job is not None:
                done.append((w.job, message[1]))
                w.job = None

    def _lost(self, w: _Worker, done: list[tuple[Job, TrialOutcome]]) -> None:
        w.process.join(timeout=5)
        code = w.process.exitcode
        how = describe_exit(code)
        logger.warning("worker process %s died (%s).", w.process.name, how)
        if w.job is not None:
            reason = f"its worker process {w.process.name} died ({how})"
            done.append((w.job, TrialOutcome("lost", fail_reason=reason)))
            w.job = None
        w.conn.close()
        slot = self._workers.index(w)
        if self._restarts >= self._limit:
            self._workers.pop(slot)
            self._error = RuntimeError(
                f"worker processes died {self._restarts + 1} times (last: {w.process.name}, "
                f"{how}); the study keeps every finished trial. An objective that kills its "
                "process (out of memory, a crash in native code) needs fixing, or fewer n_jobs "
                "if memory is short."
            )
            return
        self._restarts += 1
        self._workers[slot] = self._spawn(slot)

    def cancel(self, jobs: Sequence[Job]) -> None:
        numbers = {j.number for j in jobs}
        for w in self._workers:
            if w.job is not None and w.job.number in numbers:
                w.process.kill()
                w.job = None

    def close(self) -> None:
        for w in self._workers:
            with contextlib.suppress(Exception):
                w.conn.send(("stop",))
        for w in self._workers:
            w.process.join(timeout=30)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._workers = []
