"""Trials as Ray tasks on a real two-node Ray cluster (head + worker node on loopback)."""

from __future__ import annotations

import os
import signal

import pytest

import honed
from honed.execution import RayExecutor
from honed.samplers.random import RandomSampler
from honed.trial import TrialState

ray = pytest.importorskip("ray", reason="pip install 'honed[ray]'")

pytestmark = pytest.mark.slow  # a real two-node cluster on loopback: seconds to start

SPACE = {"x": honed.Float(-2.0, 2.0), "k": honed.Choice(["a", "b"])}


def objective(trial) -> float:
    x = trial.float("x", -2.0, 2.0)
    k = trial.choice("k", ["a", "b"])
    trial.report(x * 2, 0)
    trial.set_user_attr("node", ray.get_runtime_context().get_node_id())
    trial.set_user_attr("pid", os.getpid())
    return (x - 1) ** 2 + (0.5 if k == "b" else 0.0)


class SpySampler(RandomSampler):
    """Random sampling that records how many trials were pending at each decision."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.pending: list[int] = []

    def infer_relative_space(self, history, trial, declared=None):
        self.pending.append(len(history.running))
        return super().infer_relative_space(history, trial, declared)


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    small = {"object_store_memory": 80 * 1024**2}
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": False, **small},
    )
    c.add_node(num_cpus=2, **small)
    c.wait_for_nodes()
    try:
        yield c
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()


def test_trials_run_as_tasks_across_nodes_while_one_driver_asks(cluster, tmp_path):
    sampler = SpySampler(seed=3)
    study = honed.create_study(storage=f"sqlite:///{tmp_path / 'r.db'}", sampler=sampler)
    study.optimize(
        objective,
        n_trials=16,
        space=SPACE,
        executor=RayExecutor(address=cluster.address, max_concurrent=4),
    )
    trials = study.trials
    assert [t.number for t in trials] == list(range(16))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    for t in trials:  # values, reports and attributes came back from the workers
        expected = (t.params["x"] - 1) ** 2 + (0.5 if t.params["k"] == "b" else 0.0)
        assert t.value == pytest.approx(expected)
        assert t.intermediate_values == {0: pytest.approx(2 * t.params["x"])}
        assert t.user_attrs["pid"] != os.getpid()
        assert ":" in t.system_attrs["worker"]
    assert len({t.user_attrs["node"] for t in trials}) == 2  # both nodes did work
    assert len({t.user_attrs["pid"] for t in trials}) >= 2
    # The sampler saw the trials in flight: 4 slots, so up to 3 others pending at each ask.
    assert max(sampler.pending) == 3
    assert study.best_value == min(t.value for t in trials)


def test_a_killed_worker_fails_its_trial_and_the_configuration_is_retried(cluster, tmp_path):
    marker = tmp_path / "killed-once"

    def fragile(trial) -> float:
        x = trial.float("x", -2.0, 2.0)
        trial.choice("k", ["a", "b"])
        if trial.number == 2 and not marker.exists():
            marker.write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-trial
        return x

    study = honed.create_study(
        sampler="random", seed=1, faults=honed.FaultPolicy(retries=1)
    )  # in-memory, in the driver
    study.optimize(
        fragile,
        n_trials=6,
        space=SPACE,
        executor=RayExecutor(address=cluster.address, max_concurrent=2),
    )
    trials = study.trials
    lost = [t for t in trials if t.state is TrialState.FAILED]
    assert len(lost) == 1 and lost[0].number == 2
    assert "worker lost" in lost[0].fail_reason
    (retry,) = [t for t in trials if t.system_attrs.get("retry_of") == 2]
    assert retry.state is TrialState.COMPLETE
    assert retry.params == lost[0].params and retry.system_attrs["attempt"] == 1
    # Six configurations evaluated; the retry did not eat one of them.
    assert sum(t.state is TrialState.COMPLETE for t in trials) == 6


def test_errors_outside_catch_stop_the_run_and_leave_nothing_running(cluster):
    def broken(trial) -> float:
        trial.float("x", -2.0, 2.0)
        raise KeyError("boom")

    study = honed.create_study()
    with pytest.raises(KeyError, match="boom"):
        study.optimize(
            broken,
            n_trials=6,
            space=SPACE,
            catch=(ValueError,),
            executor=RayExecutor(address=cluster.address, max_concurrent=2),
        )
    assert all(t.state is TrialState.FAILED for t in study.trials)


def test_define_by_run_objectives_with_the_whole_trial_api(cluster, tmp_path):
    """No declared space: each parameter is sampled by the driver when the task asks for it,
    branches included; attributes, constraints and checkpoints come back too."""

    def branchy(trial) -> float:
        model = trial.choice("model", ["linear", "tree"])
        if model == "linear":
            c = trial.float("c", 1e-3, 1e3, log=True)
            loss = abs(c - 1.0)
        else:
            depth = trial.int("depth", 1, 8)
            loss = abs(depth - 4) / 4
        trial.set_user_attr("model_seen", model)
        trial.set_constraints([loss - 10.0])
        trial.save_checkpoint({"loss": loss})
        assert trial.load_checkpoint() == {"loss": loss}
        return loss

    study = honed.create_study(
        sampler="tpe",
        seed=3,
        artifacts=tmp_path / "artifacts",
        storage=f"sqlite:///{tmp_path / 'r.db'}",
    )
    study.optimize(
        branchy, n_trials=12, executor=RayExecutor(address=cluster.address, max_concurrent=2)
    )
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 12
    for t in trials:
        branch = "c" if t.params["model"] == "linear" else "depth"
        assert set(t.params) == {"model", branch}
        assert t.user_attrs["model_seen"] == t.params["model"]
        assert t.constraints == (pytest.approx(t.value - 10.0),)
        assert study.checkpoints.load(t.number) == {"loss": t.value}
    assert {t.params["model"] for t in trials} == {"linear", "tree"}


def test_executor_arguments_are_checked():
    study = honed.create_study()
    with pytest.raises(ValueError, match="executor must be"):
        study.optimize(objective, n_trials=1, executor="dask")
    with pytest.raises(ValueError, match="max_concurrent"):
        RayExecutor(max_concurrent=0)


def test_the_driver_scheduler_stops_remote_trials_mid_run(cluster):
    from honed.schedulers.median import MedianStopping

    def curve(trial) -> float:
        x = trial.float("x", -2.0, 2.0)
        trial.choice("k", ["a", "b"])
        for step in range(6):
            trial.report(abs(x) + 1.0 / (step + 1), step)  # the final value's ranking, early
            trial.set_user_attr("last_step_run", step)
        return abs(x)

    study = honed.create_study(
        sampler="random", seed=5, scheduler=MedianStopping(min_trials=3, warmup_steps=1)
    )
    study.optimize(
        curve,
        n_trials=14,
        space=SPACE,
        executor=RayExecutor(address=cluster.address, max_concurrent=2),
    )
    trials = study.trials
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert pruned and complete and len(pruned) + len(complete) == 14
    for t in pruned:  # the task really stopped at the step the scheduler said so
        # (it may say so at the last step too: which trials finished first is up to timing)
        assert t.user_attrs.get("last_step_run", -1) < t.last_step
        assert t.value == pytest.approx(t.intermediate_values[t.last_step])
    for t in complete:
        assert sorted(t.intermediate_values) == list(range(6))
    # Reports reached storage as they happened, each once, with the values the task sent.
    for t in trials:
        for step, v in t.intermediate_values.items():
            assert v == pytest.approx(abs(t.params["x"]) + 1.0 / (step + 1))


def test_remote_reports_carry_seconds_to_time_schedulers(cluster):
    from honed.schedulers.asha import ASHA
    from honed.schedulers.median import MedianStopping

    def given(trial) -> float:
        x = trial.float("x", -2.0, 2.0)
        trial.choice("k", ["a", "b"])
        for step in range(3):
            trial.report(abs(x), step, elapsed=10.0 * (step + 1))
        return abs(x)

    def timed(trial) -> float:
        x = trial.float("x", -2.0, 2.0)
        trial.choice("k", ["a", "b"])
        for step in range(4):
            sum(i * i for i in range(20_000))  # some work between reports
            trial.report(abs(x), step)
        return abs(x)

    executor = RayExecutor(address=cluster.address, max_concurrent=2)
    # The objective's own clock reaches storage as given, whatever the scheduler.
    study = honed.create_study(sampler="random", seed=1, scheduler=MedianStopping(min_trials=50))
    study.optimize(given, n_trials=3, space=SPACE, executor=executor)
    for t in study.trials:
        assert t.report_seconds == {0: 10.0, 1: 20.0, 2: 30.0}
    # Without it, a time scheduler gets the worker's clock: present and growing per report.
    study = honed.create_study(
        sampler="random", seed=1, scheduler=ASHA(resource="time", min_resource=1e-4)
    )
    study.optimize(timed, n_trials=4, space=SPACE, executor=executor)
    for t in study.trials:
        seconds = t.report_seconds
        assert seconds and sorted(seconds) == sorted(t.intermediate_values)
        ordered = [seconds[s] for s in sorted(seconds)]
        assert ordered == sorted(ordered)
        assert ordered[0] >= 0.0
    # A plain study records no seconds at all.
    study = honed.create_study(sampler="random", seed=1, scheduler=MedianStopping(min_trials=50))
    study.optimize(timed, n_trials=2, space=SPACE, executor=executor)
    assert all(t.report_seconds == {} for t in study.trials)
    with pytest.raises(ValueError, match="elapsed"):  # checked in the worker, before any call
        from honed.execution import RemoteTrial
        from honed.objective import StudyInfo

        RemoteTrial(0, StudyInfo("s", study.directions), channel=None).report(1.0, 0, elapsed=-1.0)


def test_a_dead_cluster_left_on_this_machine_is_not_joined(tmp_path):
    """With no address, ray.init would join the last cluster started here (its address file
    under Ray's temp dir); a stale one hangs it. honed starts its own local Ray instead."""
    import subprocess
    import sys
    import tempfile

    ray_tmp = tempfile.mkdtemp(prefix="r", dir="/tmp")  # short: Ray's sockets live under it
    os.makedirs(os.path.join(ray_tmp, "ray"))
    with open(os.path.join(ray_tmp, "ray", "ray_current_cluster"), "w") as f:
        f.write("127.0.0.1:6399\n")  # nothing listens there
    script = (
        "import honed\n"
        "from honed.execution import RayExecutor\n"
        "s = honed.create_study()\n"
        "s.optimize(lambda t: t.float('x', 0, 1), n_trials=2, executor=RayExecutor())\n"
        "print(len(s.trials))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_TMPDIR=ray_tmp, HONED_LOG_LEVEL="WARNING")
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240
    )
    __import__("shutil").rmtree(ray_tmp, ignore_errors=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("2")
