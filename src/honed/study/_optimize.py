"""``study.optimize``: run trials one by one, in threads, or in worker processes that share the
study's storage. Workers coordinate through storage and a shared trial counter, never by
passing trials to each other."""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from honed.errors import TrialPruned, TrialStateError
from honed.storage.memory import InMemoryStorage
from honed.study._heartbeat import beating
from honed.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from honed.study._study import Objective, Study

logger = logging.getLogger("honed")

__all__ = ["run_optimize", "run_trial"]


def run_trial(
    study: Study,
    objective: Objective,
    catch: tuple[type[BaseException], ...],
    space: Mapping[str, Any] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> FrozenTrial:
    """Ask, evaluate, tell. Every outcome is recorded before anything propagates.

    With heartbeats on, a daemon thread proves the trial alive while the objective runs. If
    the trial was failed as stale meanwhile (the worker stalled past the grace period), its
    late result is dropped with a warning: another attempt may already be running."""
    trial = study.ask(space)
    if on_start is not None:
        on_start(trial._trial_id)
    try:
        with beating(study._storage, trial._trial_id, study.faults.heartbeat_interval):
            result = objective(trial)
    except TrialPruned:
        return _tell_alive(study, trial, state=TrialState.PRUNED)
    except BaseException as e:
        reason = f"{type(e).__name__}: {e}"
        frozen, told = _tell_alive_ex(
            study,
            trial,
            state=TrialState.FAILED,
            fail_reason=reason,
            _extra_attrs={"traceback": traceback.format_exc(limit=20)},
        )
        # Not when the trial had gone stale: whoever failed it enqueued the retry already.
        if told and frozen.state is TrialState.FAILED and study.faults.retry_failed:
            study._retry(frozen)
        if isinstance(e, Exception) and isinstance(e, catch):
            logger.warning("trial %d failed: %s", trial.number, reason)
            return frozen
        raise
    frozen = _tell_alive(study, trial, result, _warn=False)  # logged below instead
    if frozen.state is TrialState.FAILED:
        logger.warning("trial %d failed: %s", trial.number, frozen.fail_reason)
    return frozen


@dataclass
class _Plan:
    n_trials: int | None
    deadline: float | None
    catch: tuple[type[BaseException], ...]
    space: Mapping[str, Any] | None = None


def _worker_loop(
    study: Study,
    objective: Objective,
    plan: _Plan,
    counter: Any,
    stop: Any,
    report: Callable[[tuple[Any, ...]], None],
    on_start: Callable[[int], None] | None = None,
) -> None:
    """Claim a trial slot, run it, report it; until the budget, the clock or a stop says no."""
    exhausted = getattr(study.sampler, "is_exhausted", None)
    while not stop.is_set() and not study._stop_flag.is_set():
        if plan.deadline is not None and time.time() >= plan.deadline:
            break
        with counter.get_lock():
            if plan.n_trials is not None and counter.value >= plan.n_trials:
                break
            counter.value += 1
        if exhausted is not None and exhausted(study._history()):
            report(("exhausted",))
            break
        try:
            frozen = run_trial(study, objective, plan.catch, plan.space, on_start)
        except KeyboardInterrupt:
            stop.set()
            raise
        except BaseException as e:
            stop.set()
            report(("error", _picklable(e), traceback.format_exc()))
            return
        report(("trial", frozen.trial_id))


def _tell_alive(study: Study, trial: Any, *args: Any, **kwargs: Any) -> FrozenTrial:
    """``study.tell``, except that a trial already failed as stale is returned as stored."""
    return _tell_alive_ex(study, trial, *args, **kwargs)[0]


def _tell_alive_ex(study: Study, trial: Any, *args: Any, **kwargs: Any) -> tuple[FrozenTrial, bool]:
    """:func:`_tell_alive`, and whether this call was the one that finished the trial."""
    try:
        return study.tell(trial, *args, **kwargs), True
    except TrialStateError:
        frozen = study._storage.get_trial(trial._trial_id)
        if not frozen.state.is_finished:
            raise
        logger.warning(
            "trial %d was already %s (%s); its late result is dropped.",
            frozen.number,
            frozen.state.name,
            frozen.fail_reason or "finished elsewhere",
        )
        return frozen, False


def _picklable(e: BaseException) -> BaseException | None:
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return None
    return e


class _ThreadCounter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


class _ParentWatch:
    """The stop event, also set once the parent process is gone: a worker whose parent was
    killed (SIGKILL cannot be caught, so nobody sets the event) must not go on starting
    trials on its own."""

    def __init__(self, stop: Any, parent_pid: int) -> None:
        self._stop = stop
        self._parent = parent_pid

    def is_set(self) -> bool:
        return self._stop.is_set() or os.getppid() != self._parent

    def set(self) -> None:
        self._stop.set()


def _process_main(
    study: Study,
    objective: Objective,
    plan: _Plan,
    counter: Any,
    stop: Any,
    pipe: Any,
    seed: int | None,
    current: Any,
) -> None:
    from honed.study._study import Study as StudyCls

    logging.basicConfig(level=logging.WARNING)
    # A fresh connection: database handles must not cross a fork.
    storage = pickle.loads(pickle.dumps(study._storage))
    worker_study = StudyCls(study.name, storage, study.sampler, study.scheduler, study.faults)
    worker_study._artifacts = study._artifacts
    worker_study.sampler.reseed(seed)
    try:
        watched = _ParentWatch(stop, os.getppid())

        def on_start(trial_id: int) -> None:
            current.value = trial_id  # read by the parent if this process dies

        _worker_loop(worker_study, objective, plan, counter, watched, pipe.send, on_start)
    except KeyboardInterrupt:
        pass
    finally:
        storage.close()
        pipe.close()


def _worker_seeds(seed: int | None, n: int) -> list[int | None]:
    if seed is None:
        return [None] * n
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def run_optimize(
    study: Study,
    objective: Objective,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callable[[Study, FrozenTrial], None]],
    show_progress: bool,
    executor: str | Any,
    space: Mapping[str, Any] | None = None,
) -> None:
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}.")
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0
    ):
        raise ValueError(f"n_trials must be a non-negative int or None, got {n_trials!r}.")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}.")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive int or -1 (one per CPU), got {n_jobs!r}.")
    remote = _remote_executor(executor)
    if remote is not None and space is None:
        raise ValueError(
            f"executor={executor!r} runs trials elsewhere, and the parameters are sampled "
            "here before a trial leaves: pass the search space, e.g. optimize(objective, "
            "space={'lr': honed.Float(1e-4, 1e-1, log=True)}, executor=...)."
        )
    if not isinstance(catch, tuple):
        catch = tuple(catch) if isinstance(catch, list) else (catch,)
    in_memory = isinstance(study._storage, InMemoryStorage)
    if executor == "process" and in_memory:
        raise ValueError(
            "executor='process' needs a storage the worker processes can share; pass "
            "storage='sqlite:///honed.db' (or a PostgreSQL URL) to create_study."
        )
    use_processes = n_jobs > 1 and (executor == "process" or (executor == "auto" and not in_memory))
    if n_jobs > 1 and executor == "auto" and in_memory:
        warnings.warn(
            "n_jobs > 1 with in-memory storage runs trials in threads, which CPU-bound "
            "objectives share one core through; give create_study a storage such as "
            "'sqlite:///honed.db' to run them in processes.",
            stacklevel=3,
        )
    plan = _Plan(n_trials, None if timeout is None else time.time() + timeout, catch, space)
    study._stop_flag.clear()
    progress = _Progress(study, n_trials, timeout, show_progress)
    try:
        if remote is not None:
            from honed.execution._base import drive

            def on_trial(frozen: FrozenTrial) -> None:
                progress.advance(frozen)
                for cb in callbacks:
                    cb(study, frozen)

            drive(
                study,
                objective,
                remote,
                space=space,  # type: ignore[arg-type]
                n_trials=n_trials,
                deadline=plan.deadline,
                n_jobs=n_jobs,
                catch=catch,
                on_trial=on_trial,
            )
        elif n_jobs == 1:
            _run_inline(study, objective, plan, callbacks, progress)
        elif use_processes:
            _run_processes(study, objective, plan, n_jobs, callbacks, progress)
        else:
            _run_threads(study, objective, plan, n_jobs, callbacks, progress)
    finally:
        progress.close()


def _remote_executor(executor: Any) -> Any:
    """The Executor object behind ``executor``, or None for the local kinds."""
    if isinstance(executor, str):
        if executor == "ray":
            from honed.execution import RayExecutor

            return RayExecutor()
        if executor not in ("auto", "process", "thread"):
            raise ValueError(
                f"executor must be 'auto', 'process', 'thread', 'ray' or an "
                f"honed.execution.Executor, got {executor!r}."
            )
        return None
    from honed.execution import Executor

    if not isinstance(executor, Executor):
        raise TypeError(
            f"executor must be a name or an honed.execution.Executor, got "
            f"{type(executor).__name__}."
        )
    return executor


def _finish_message(
    study: Study,
    msg: tuple[Any, ...],
    callbacks: Sequence[Callable[[Study, FrozenTrial], None]],
    progress: _Progress,
) -> None:
    if msg[0] == "trial":
        frozen = study._storage.get_trial(msg[1])
        progress.advance(frozen)
        for cb in callbacks:
            cb(study, frozen)
    elif msg[0] == "error":
        exc, text = msg[1], msg[2]
        if exc is not None:
            raise exc
        raise RuntimeError(f"a worker's objective raised:\n{text}")


def _run_inline(
    study: Study,
    objective: Objective,
    plan: _Plan,
    callbacks: Sequence[Callable[[Study, FrozenTrial], None]],
    progress: _Progress,
) -> None:
    counter = _ThreadCounter()
    stop = threading.Event()
    exhausted = getattr(study.sampler, "is_exhausted", None)
    while not stop.is_set() and not study._stop_flag.is_set():
        if plan.deadline is not None and time.time() >= plan.deadline:
            break
        if plan.n_trials is not None and counter.value >= plan.n_trials:
            break
        counter.value += 1
        if exhausted is not None and exhausted(study._history()):
            break
        frozen = run_trial(study, objective, plan.catch, plan.space)
        progress.advance(frozen)
        for cb in callbacks:
            cb(study, frozen)


def _run_threads(
    study: Study,
    objective: Objective,
    plan: _Plan,
    n_jobs: int,
    callbacks: Sequence[Callable[[Study, FrozenTrial], None]],
    progress: _Progress,
) -> None:
    counter = _ThreadCounter()
    stop = threading.Event()
    messages: queue.Queue[tuple[Any, ...]] = queue.Queue()
    threads = [
        threading.Thread(
            target=_worker_loop,
            args=(study, objective, plan, counter, stop, messages.put),
            name=f"honed-worker-{i}",
            daemon=True,
        )
        for i in range(n_jobs)
    ]
    for t in threads:
        t.start()
    _drain(study, messages, lambda: any(t.is_alive() for t in threads), stop, callbacks, progress)
    for t in threads:
        t.join()


def _drain(
    study: Study,
    messages: Any,
    alive: Callable[[], bool],
    stop: Any,
    callbacks: Sequence[Callable[[Study, FrozenTrial], None]],
    progress: _Progress,
) -> None:
    """Turn worker messages into progress and callbacks until every worker is gone."""
    try:
        while True:
            try:
                msg = messages.get(timeout=0.1)
            except queue.Empty:
                if not alive():
                    break
                if study._stop_flag.is_set():
                    stop.set()
                continue
            _finish_message(study, msg, callbacks, progress)
        while True:  # whatever arrived after the last worker ended
            try:
                msg = messages.get_nowait()
            except queue.Empty:
                break
            _finish_message(study, msg, callbacks, progress)
    except BaseException:
        stop.set()
        raise


def _run_processes(
    study: Study,
    objective: Objective,
    plan: _Plan,
    n_jobs: int,
    callbacks: Sequence[Callable[[Study, FrozenTrial], None]],
    progress: _Progress,
) -> None:
    methods = mp.get_all_start_methods()
    # fork runs objectives defined in __main__, closures and lambdas as users write them.
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    counter = ctx.Value("q", 0)
    stop = ctx.Event()
    messages = _Pipes()
    # A worker killed from outside (the OOM killer, a segfault in native code, kill -9) takes
    # its trial with it: fail that trial here, retry it per the study's policy, and start a
    # replacement. A crash loop (an objective that always kills its process) gives up.
    max_restarts = 2 * n_jobs + 2
    restarts = 0
    seeds = _worker_seeds(study.sampler.seed, n_jobs + max_restarts)
    workers: list[tuple[Any, Any]] = []  # (process, id of the trial it runs)

    def start_worker(slot: int, seed: int | None) -> tuple[Any, Any]:
        current = ctx.Value("q", -1)
        reader, writer = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_process_main,
            args=(study, objective, plan, counter, stop, writer, seed, current),
            name=f"honed-worker-{slot}",
            daemon=True,
        )
        study._storage.close()  # no open connection may be inherited by a child
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: we own none
            proc.start()
        writer.close()  # the child's copy is the only one: its death ends the pipe
        messages.add(reader)
        return proc, current

    for i in range(n_jobs):
        workers.append(start_worker(i, seeds[i]))

    def alive() -> bool:
        nonlocal restarts
        for slot, (proc, current) in enumerate(workers):
            if proc.is_alive() or proc.exitcode in (0, None):
                continue
            if _fail_dead_worker_trial(study, proc, int(current.value)):
                with counter.get_lock():
                    counter.value -= 1  # the retry runs in the killed attempt's slot
            current.value = -1
            if stop.is_set() or study._stop_flag.is_set():
                continue
            if restarts >= max_restarts:
                stop.set()
                raise RuntimeError(
                    f"worker processes died {restarts + 1} times (last: {proc.name}, "
                    f"{_describe_exit(proc.exitcode)}); the study keeps every finished trial. "
                    "An objective that kills its process (out of memory, a crash in native "
                    "code) needs fixing, or fewer n_jobs if memory is short."
                )
            workers[slot] = start_worker(slot, seeds[n_jobs + restarts])
            restarts += 1
        return any(proc.is_alive() for proc, _ in workers)

    try:
        _drain(study, messages, alive, stop, callbacks, progress)
    finally:
        stop.set()
        for proc, current in workers:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
                proc.join()
            if proc.exitcode not in (0, None) and current.value >= 0:  # not handled yet
                _fail_dead_worker_trial(study, proc, int(current.value))
        messages.close()


class _Pipes:
    """Messages from worker processes, one pipe per worker, read with ``get(timeout)`` and
    ``get_nowait()`` like a queue.

    Not one ``multiprocessing.Queue``: its writers share a lock, and a worker killed while
    its feeder thread held that lock (SIGKILL right after a trial's message was queued) left
    the other workers blocked for good. A worker killed while writing here breaks only its
    own pipe, which is dropped at end of file (or at a message cut short).
    """

    def __init__(self) -> None:
        self.readers: list[Any] = []
        self._ready: list[tuple[Any, ...]] = []

    def add(self, reader: Any) -> None:
        self.readers.append(reader)

    def get(self, timeout: float) -> tuple[Any, ...]:
        """The next message, waiting at most ``timeout`` seconds; ``queue.Empty`` if none."""
        if not self._ready:
            self._read(timeout)
        if not self._ready:
            raise queue.Empty
        return self._ready.pop(0)

    def get_nowait(self) -> tuple[Any, ...]:
        return self.get(0.0)

    def _read(self, timeout: float) -> None:
        if not self.readers:
            if timeout > 0:
                time.sleep(timeout)
            return
        for r in mp_connection.wait(self.readers, timeout):
            try:
                self._ready.append(r.recv())
            except Exception:  # EOFError: the worker is gone; anything else: a cut message
                self.readers.remove(r)
                r.close()

    def close(self) -> None:
        for r in self.readers:
            r.close()
        self.readers = []


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _fail_dead_worker_trial(study: Study, proc: Any, trial_id: int) -> bool:
    """Fail the trial a dead worker process was running, and retry it if the policy says so.
    Returns whether a retry was enqueued."""
    logger.warning("worker process %s died (%s).", proc.name, _describe_exit(proc.exitcode))
    if trial_id < 0:
        return False
    try:
        trial = study._storage.get_trial(trial_id)
    except KeyError:
        return False
    if trial.state is not TrialState.RUNNING:
        return False  # it finished, or a heartbeat check failed it already
    reason = f"its worker process {proc.name} died ({_describe_exit(proc.exitcode)})"
    try:
        frozen = study._storage.finish_trial(
            trial_id, TrialState.FAILED, system_attrs={"fail_reason": reason}
        )
    except TrialStateError:
        return False  # finished concurrently (a stale check in another worker)
    logger.warning("trial %d failed: %s", frozen.number, reason)
    return study._retry(frozen) is not None


class _Progress:
    """A rich progress bar on a terminal; silent otherwise."""

    def __init__(self, study: Study, n_trials: int | None, timeout: float | None, enabled: bool):
        self._bar: Any = None
        self._study = study
        self._best: float | None = None
        if not enabled or not sys.stderr.isatty() or (n_trials is None and timeout is None):
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}" if n_trials else ""),
            TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"),
            transient=False,
            console=Console(stderr=True),  # the terminal checked above, not stdout
        )
        self._task = self._bar.add_task(study.name, total=n_trials or timeout, best="")
        self._by_time = n_trials is None
        self._start = time.time()
        self._bar.start()

    def advance(self, frozen: FrozenTrial) -> None:
        if self._bar is None:
            return
        best = ""
        if not self._study.is_multi_objective and frozen.state is TrialState.COMPLETE:
            v = frozen.values[0]  # type: ignore[index]
            sign = self._study.direction.sign
            if self._best is None or sign * v < sign * self._best:
                self._best = v
        if self._best is not None:
            best = f"best {self._best:.6g}"
        if self._by_time:
            self._bar.update(self._task, completed=time.time() - self._start, best=best)
        else:
            self._bar.update(self._task, advance=1, best=best)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
