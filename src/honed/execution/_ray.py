"""Trials as Ray tasks: ``study.optimize(objective, space=..., executor="ray")``."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from honed.execution._base import Executor, RemoteTrial, ReportSeconds, TrialOutcome, evaluate

__all__ = ["RayExecutor"]


def _ray_task(
    objective: Callable[[Any], Any], trial: RemoteTrial, catch: tuple[type[BaseException], ...]
) -> TrialOutcome:
    return evaluate(objective, trial, catch, worker=f"{socket.gethostname()}:{os.getpid()}")


class _ReportBox:
    """A Ray actor between remote trials and the driver: a task's ``report`` waits here
    until the driver, which runs the scheduler, posts the answer."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, int, float, ReportSeconds, int]] = []
        self._waiting: dict[int, Any] = {}
        self._next = 0

    async def report(
        self, trial_id: int, step: int, value: float, seconds: ReportSeconds
    ) -> tuple[bool, dict]:
        import asyncio

        self._next += 1
        key = self._next
        answer = asyncio.get_running_loop().create_future()
        self._waiting[key] = answer
        self._pending.append((trial_id, step, value, seconds, key))
        return await answer

    async def take(self) -> list[tuple[int, int, float, ReportSeconds, int]]:
        pending, self._pending = self._pending, []
        return pending

    async def answer(self, answers: list[tuple[int, bool, dict]]) -> None:
        for key, stop, params in answers:
            waiting = self._waiting.pop(key, None)
            if waiting is not None and not waiting.done():
                waiting.set_result((stop, params))


class _ReportClient:
    """What a remote trial holds to report: a handle on the box (picklable)."""

    def __init__(self, box: Any) -> None:
        self._box = box

    def call(
        self, trial_id: int, step: int, value: float, seconds: ReportSeconds
    ) -> tuple[bool, dict]:
        import ray

        return ray.get(self._box.report.remote(trial_id, step, value, seconds))


class RayExecutor(Executor):
    """Run each trial as a Ray task; this process stays the only one that asks and tells.

    Args:
        address: The cluster to join: ``None`` uses ``RAY_ADDRESS`` if set and otherwise starts
            Ray in this process; ``"auto"`` joins the cluster running on this machine;
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
        self._client: _ReportClient | None = None

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
            if self.address is None and not os.environ.get("RAY_ADDRESS"):
                kwargs["include_dashboard"] = False  # a local Ray just for this study
            kwargs.update(self.init_kwargs)
            ray.init(address=self.address, **kwargs)
        self._remote = ray.remote(
            num_cpus=self.num_cpus_per_trial, num_gpus=self.num_gpus_per_trial, max_retries=0
        )(_ray_task)
        self._objective_ref = ray.put(objective)  # shipped once, not with every trial
        self._catch = catch
        if self.max_concurrent is not None:
            return self.max_concurrent
        if n_jobs > 1:
            return n_jobs
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        per = self.num_cpus_per_trial or 1.0
        return max(1, int(cpus // per))

    def submit(self, trial: RemoteTrial) -> Hashable:
        trial._reporter = self._client
        return self._remote.remote(self._objective_ref, trial, self._catch)

    def stream_reports(self) -> bool:
        import ray

        if self._box is None:
            self._box = ray.remote(num_cpus=0, max_concurrency=10_000)(_ReportBox).remote()
            self._client = _ReportClient(self._box)
        return True

    def take_reports(self) -> list[tuple[int, int, float, ReportSeconds, Hashable]]:
        if self._box is None:
            return []
        import ray

        return ray.get(self._box.take.remote())

    def answer_reports(self, answers: Sequence[tuple[Hashable, bool, dict[str, Any]]]) -> None:
        import ray

        ray.get(self._box.answer.remote(list(answers)))

    def wait(
        self, handles: Sequence[Hashable], timeout: float
    ) -> list[tuple[Hashable, TrialOutcome]]:
        import ray
        from ray import exceptions as rex

        refs = list(handles)
        done, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if done and rest:  # collect whatever else is ready, without waiting
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            done += more
        out = []
        for ref in done:
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
            out.append((ref, outcome))
        return out

    def cancel(self, handles: Sequence[Hashable]) -> None:
        import ray

        for ref in handles:
            with contextlib.suppress(Exception):  # already finished or gone
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._box is not None:
            import ray

            with contextlib.suppress(Exception):
                ray.kill(self._box)
        self._box = self._client = None
        self._remote = None
        self._objective_ref = None
