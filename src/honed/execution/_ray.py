"""Trials as Ray tasks: ``study.optimize(objective, executor="ray")``."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Mapping, Sequence
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

__all__ = ["RayExecutor"]

# A forwarded call waiting in the box: (its key, the job's number, method, args, kwargs).
_Call = tuple[int, int, str, tuple[Any, ...], dict[str, Any]]


def _ray_task(
    objective: Callable[[Any], Any],
    spec: dict[str, Any],
    box: Any,
    catch: tuple[type[BaseException], ...],
) -> TrialOutcome:
    trial = RemoteTrial.from_spec(spec, _BoxChannel(box, spec["number"]))
    outcome = evaluate(objective, trial, catch, worker=f"{socket.gethostname()}:{os.getpid()}")
    trial._finished = True
    if outcome.exception is not None:
        outcome.exception = picklable(outcome.exception)
    return outcome


class _CallBox:
    """A Ray actor between remote trials and the driver: a task's call waits here until the
    driver, which holds the live trials, posts the reply."""

    def __init__(self) -> None:
        self._pending: list[_Call] = []
        self._waiting: dict[int, Any] = {}
        self._next = 0

    async def call(
        self, number: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Reply:
        import asyncio

        self._next += 1
        key = self._next
        reply = asyncio.get_running_loop().create_future()
        self._waiting[key] = reply
        self._pending.append((key, number, method, args, kwargs))
        result: Reply = await reply
        return result

    async def take(self) -> list[_Call]:
        pending, self._pending = self._pending, []
        return pending

    async def answer(self, replies: list[tuple[int, Reply]]) -> None:
        for key, reply in replies:
            waiting = self._waiting.pop(key, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(reply)


class _BoxChannel:
    """A remote trial's way to the driver: through the box (picklable)."""

    def __init__(self, box: Any, number: int) -> None:
        self._box = box
        self._number = number

    def call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Reply:
        import ray

        reply: Reply = ray.get(self._box.call.remote(self._number, method, args, kwargs))
        return reply


class RayExecutor(Executor):
    """Run each trial as a Ray task; this process stays the only one that samples, records
    and schedules. Objectives use the whole trial API (define-by-run parameters, reports and
    pruning, attributes, checkpoints): each call comes back to this process.

    Args:
        address: The cluster to join: ``None`` uses ``RAY_ADDRESS`` if set and otherwise starts
            a new local Ray (never one left running on this machine); ``"auto"`` joins the
            cluster running on this machine;
            ``"ray://host:10001"`` joins a remote cluster through Ray Client; ``"host:6379"``
            joins as a driver on a cluster node. Ignored when Ray is already initialized.
        num_cpus_per_trial: CPUs Ray reserves for each trial.
        num_gpus_per_trial: GPUs Ray reserves for each trial.
        max_concurrent: Trials in flight at once; by default ``n_jobs`` when ``n_jobs > 1``,
            else as many as the cluster's CPUs hold.
        init_kwargs: More arguments for :func:`ray.init` (``runtime_env``, ...).

    A worker that dies (a killed process, a lost node) fails its trial with the reason, and
    with ``retries`` set on the study the configuration is tried again.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus_per_trial: float = 1.0,
        num_gpus_per_trial: float = 0.0,
        max_concurrent: int | None = None,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not num_cpus_per_trial >= 0 or not num_gpus_per_trial >= 0:
            raise ValueError(
                "num_cpus_per_trial and num_gpus_per_trial must be >= 0, got "
                f"{num_cpus_per_trial!r} and {num_gpus_per_trial!r}."
            )
        if max_concurrent is not None and (
            isinstance(max_concurrent, bool)
            or not isinstance(max_concurrent, int)
            or max_concurrent < 1
        ):
            raise ValueError(
                f"max_concurrent must be a positive int or None, got {max_concurrent!r}."
            )
        self.address = address
        self.num_cpus_per_trial = num_cpus_per_trial
        self.num_gpus_per_trial = num_gpus_per_trial
        self.max_concurrent = max_concurrent
        self.init_kwargs = dict(init_kwargs or {})
        self._remote: Any = None
        self._objective_ref: Any = None
        self._catch: tuple[type[BaseException], ...] = (Exception,)
        self._box: Any = None
        self._running: dict[Any, Job] = {}  # task ref -> job

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, max_concurrent={self.max_concurrent})"

    def start(
        self, objective: Callable[[Any], Any], catch: tuple[type[BaseException], ...], n_jobs: int
    ) -> int:
        try:
            import ray
        except ImportError:
            raise ImportError("executor='ray' needs Ray: pip install 'honed[ray]'.") from None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {}
            address = self.address
            if address is None and not os.environ.get("RAY_ADDRESS"):
                # A local Ray just for this study. "local" keeps ray.init from joining the
                # last cluster started on this machine (/tmp/ray), which may be long dead.
                address = "local"
                kwargs["include_dashboard"] = False
            kwargs.update(self.init_kwargs)
            ray.init(address=address, **kwargs)
        self._remote = ray.remote(
            num_cpus=self.num_cpus_per_trial, num_gpus=self.num_gpus_per_trial, max_retries=0
        )(_ray_task)
        self._objective_ref = ray.put(objective)  # shipped once, not with every trial
        self._catch = catch
        # (Ray's stubs know max_concurrency only on actor classes' options, not on remote().)
        box = ray.remote(num_cpus=0, max_concurrency=10_000)  # type: ignore[call-overload]
        self._box = box(_CallBox).remote()
        self._running = {}
        if self.max_concurrent is not None:
            return self.max_concurrent
        if n_jobs > 1:
            return n_jobs
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        per = self.num_cpus_per_trial or 1.0
        return max(1, int(cpus // per))

    def submit(self, job: Job) -> None:
        ref = self._remote.remote(self._objective_ref, job.spec(), self._box, self._catch)
        self._running[ref] = job

    def _serve_calls(self) -> None:
        import ray

        calls: list[_Call] = ray.get(self._box.take.remote())
        if not calls:
            return
        jobs = {job.number: job for job in self._running.values()}
        replies = []
        for key, number, method, args, kwargs in calls:
            job = jobs.get(number)
            if job is None:  # a trial the driver no longer runs has nothing to go on for
                replies.append((key, Reply(error_text=f"trial {number} is no longer running")))
            else:
                replies.append((key, serve_call(job.trial, method, args, kwargs)))
        ray.get(self._box.answer.remote(replies))

    def poll(self, timeout: float) -> list[tuple[Job, TrialOutcome]]:
        import ray
        from ray import exceptions as rex

        self._serve_calls()
        refs = list(self._running)
        if not refs:
            return []
        # Short waits: forwarded calls are served between them.
        done, rest = ray.wait(refs, num_returns=1, timeout=min(timeout, 0.02))
        if done and rest:  # collect whatever else is ready, without waiting
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            done += more
        out = []
        for ref in done:
            job = self._running.pop(ref)
            try:
                outcome = ray.get(ref)
            except rex.RayTaskError as e:
                # ``evaluate`` catches the objective's errors, so this is Ray failing to run
                # the task at all (say, the objective cannot be unpickled on the worker).
                outcome = TrialOutcome(
                    "failed", fail_reason=f"Ray could not run the trial: {e}", caught=False
                )
            except rex.RayError as e:  # worker crashed, node died, object lost, ...
                outcome = TrialOutcome(
                    "lost", fail_reason=f"worker lost ({type(e).__name__}): {str(e)[:300]}"
                )
            out.append((job, outcome))
        return out

    def cancel(self, jobs: Sequence[Job]) -> None:
        import ray

        numbers = {j.number for j in jobs}
        for ref, job in list(self._running.items()):
            if job.number in numbers:
                with contextlib.suppress(Exception):  # already finished or gone
                    ray.cancel(ref, force=True)
                self._running.pop(ref, None)

    def close(self) -> None:
        if self._box is not None:
            import ray

            with contextlib.suppress(Exception):
                ray.kill(self._box)
        self._box = None
        self._remote = None
        self._objective_ref = None
        self._running = {}
