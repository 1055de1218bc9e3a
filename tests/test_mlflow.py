"""MLflowCallback against real MLflow, tracking into a SQLite file."""

from __future__ import annotations

import pytest

import honed
from honed.schedulers import Decision, Scheduler

pytestmark = [
    pytest.mark.slow,  # importing MLflow and creating its tables take seconds
    # MLflow's SQL store uses a loader strategy SQLAlchemy 2.1 deprecates
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
]


class StopTrialOne(Scheduler):
    def on_report(self, history, trial):
        return Decision.STOP if trial.number == 1 and trial.last_step >= 2 else Decision.CONTINUE


def _runs(uri, experiment):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=100)
    return client, {r.data.tags["honed.trial"]: r for r in runs}


def test_each_trial_becomes_a_run_with_params_metrics_steps_and_tags(tmp_path):
    from honed.integrations.mlflow import MLflowCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = honed.create_study("mlf", direction="maximize", scheduler=StopTrialOne())

    def objective(trial):
        lr = trial.float("lr", 1e-4, 1e-1, log=True)
        kind = trial.choice("kind", ["a", "b"])
        trial.set_user_attr("notes", {"kind": kind})
        for step in range(1, 4):
            trial.report(step * 0.1, step)
        if trial.number == 2:
            raise RuntimeError("out of memory")
        return lr

    study.optimize(
        objective,
        n_trials=3,
        callbacks=[MLflowCallback(uri, tags={"team": "x"})],
        show_progress=False,
    )
    client, runs = _runs(uri, "mlf")
    assert sorted(runs) == ["0", "1", "2"]
    done, pruned, failed = runs["0"], runs["1"], runs["2"]
    t0 = study.trials[0]
    assert done.info.status == "FINISHED" and done.info.run_name == "trial-0"
    assert done.data.params == {"lr": str(t0.params["lr"]), "kind": t0.params["kind"]}
    assert done.data.metrics["value"] == pytest.approx(t0.value)
    history = client.get_metric_history(done.info.run_id, "intermediate_value")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (1, pytest.approx(0.1)),
        (2, pytest.approx(0.2)),
        (3, pytest.approx(0.3)),
    ]
    tags = done.data.tags
    assert tags["honed.study"] == "mlf" and tags["honed.state"] == "COMPLETE"
    assert tags["honed.directions"] == "maximize" and tags["team"] == "x"
    assert tags["user_attr.notes"] == f'{{"kind": "{t0.params["kind"]}"}}'
    assert done.info.start_time == int(t0.datetime_start.timestamp() * 1000)
    assert done.info.end_time == int(t0.datetime_complete.timestamp() * 1000)

    assert pruned.info.status == "KILLED" and pruned.data.tags["honed.state"] == "PRUNED"
    steps = client.get_metric_history(pruned.info.run_id, "intermediate_value")
    assert sorted(m.step for m in steps) == [1, 2]
    assert failed.info.status == "FAILED"
    assert "out of memory" in failed.data.tags["honed.fail_reason"]
    assert "value" not in failed.data.metrics


def test_multi_objective_names_and_an_existing_experiment(tmp_path):
    from mlflow.tracking import MlflowClient

    from honed.integrations.mlflow import MLflowCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).create_experiment("shared")
    study = honed.create_study(directions=["maximize", "minimize"])

    def objective(trial):
        x = trial.float("x", 0, 1)
        trial.report([x, 1 - x], 1)
        return x, 1 - x

    callback = MLflowCallback(uri, experiment="shared", metric_names=["acc", "latency"])
    study.optimize(objective, n_trials=2, callbacks=[callback], show_progress=False)
    _, runs = _runs(uri, "shared")
    assert len(runs) == 2
    run = runs["1"]
    x = study.trials[1].params["x"]
    assert run.data.metrics["acc"] == pytest.approx(x)
    assert run.data.metrics["latency"] == pytest.approx(1 - x)
    assert run.data.metrics["intermediate_value_1"] == pytest.approx(1 - x)

    with pytest.raises(ValueError, match="one name per objective"):
        study.optimize(
            objective,
            n_trials=1,
            callbacks=[MLflowCallback(uri, metric_names="acc")],
            catch=(),
            show_progress=False,
        )
