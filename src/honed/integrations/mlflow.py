"""MLflow: log every finished trial as an MLflow run (``study.optimize(callbacks=[...])``)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from honed.trial import FrozenTrial, TrialState

__all__ = ["MLflowCallback"]

# MLflow's limits per log_batch call, and on a tag's or a param's value.
_BATCH = {"metrics": 1000, "params": 100, "tags": 100}
_MAX_TAG = 5000
_MAX_PARAM = 6000
_STATUS = {
    TrialState.COMPLETE: "FINISHED",
    TrialState.PRUNED: "KILLED",
    TrialState.FAILED: "FAILED",
}


class MLflowCallback:
    """A study callback that logs each finished trial as one MLflow run.

    The run (named ``trial-<number>``, in the experiment named after the study unless
    ``experiment`` is given) holds the trial's parameters, its objective value(s) as metrics,
    every ``trial.report`` as the metric ``intermediate_value`` (``intermediate_value_<i>``
    with several objectives) at its step, the tags ``honed.study``, ``honed.trial``,
    ``honed.state``, ``honed.directions`` (and ``honed.fail_reason``), the user attributes as
    ``user_attr.<key>`` tags, and the trial's start and end times. Pruned trials end as
    ``KILLED``, failed ones as ``FAILED``.

    Args:
        tracking_uri: Where MLflow records runs: ``"sqlite:///mlflow.db"``, a server
            ``"http://host:5000"``, ...; ``None``: MLflow's default (``MLFLOW_TRACKING_URI``).
        experiment: Experiment name; ``None``: the study's name. Created if missing.
        metric_names: A name per objective for the final values (default ``"value"``, or
            ``"value_0"``, ``"value_1"``, ... with several objectives).
        tags: Extra tags for every run.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        metric_names: str | Sequence[str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        if isinstance(metric_names, str):
            metric_names = [metric_names]
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.metric_names = None if metric_names is None else list(metric_names)
        self.tags = dict(tags or {})
        self._client: MlflowClient | None = None
        self._experiment_ids: dict[str, str] = {}

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def __call__(self, study: Any, trial: FrozenTrial) -> None:
        n_obj = len(study.directions)
        names = self._names(n_obj)
        experiment_id = self._experiment_id(self.experiment or study.name)
        start = _ms(trial.datetime_start)
        end = _ms(trial.datetime_complete) or int(time.time() * 1000)
        tags = {
            "honed.study": study.name,
            "honed.trial": str(trial.number),
            "honed.state": trial.state.name,
            "honed.directions": ",".join(d.value for d in study.directions),
            **self.tags,
        }
        if trial.fail_reason:
            tags["honed.fail_reason"] = trial.fail_reason
        for key, value in trial.user_attrs.items():
            tags[f"user_attr.{key}"] = value if isinstance(value, str) else _json(value)
        run = self.client.create_run(
            experiment_id, start_time=start or end, run_name=f"trial-{trial.number}"
        )
        run_id = run.info.run_id
        params = [Param(k, _truncate(str(v), _MAX_PARAM)) for k, v in trial.params.items()]
        metrics = []
        if trial.values is not None:
            last = trial.last_step or 0
            metrics += [Metric(n, float(v), end, last) for n, v in zip(names, trial.values)]
        seconds = trial.report_seconds
        for step, value in sorted(trial.intermediate_values.items()):
            at = start + int(1000 * seconds[step]) if start and step in seconds else end
            metrics.append(Metric("intermediate_value", float(value), at, step))
        for step, vector in sorted(trial.intermediate_vectors.items()):
            metrics += [
                Metric(f"intermediate_value_{i}", float(v), end, step) for i, v in enumerate(vector)
            ]
        tag_list = [RunTag(k, _truncate(str(v), _MAX_TAG)) for k, v in tags.items()]
        _log(self.client, run_id, metrics, params, tag_list)
        self.client.set_terminated(run_id, _STATUS.get(trial.state, "FAILED"), end_time=end)

    def _names(self, n_obj: int) -> list[str]:
        if self.metric_names is None:
            return ["value"] if n_obj == 1 else [f"value_{i}" for i in range(n_obj)]
        if len(self.metric_names) != n_obj:
            raise ValueError(
                f"metric_names has {len(self.metric_names)} name(s) but the study has {n_obj} "
                "objective(s); give one name per objective, e.g. metric_names=['acc', 'loss']."
            )
        return self.metric_names

    def _experiment_id(self, name: str) -> str:
        if name not in self._experiment_ids:
            found = self.client.get_experiment_by_name(name)
            self._experiment_ids[name] = (
                found.experiment_id if found is not None else self.client.create_experiment(name)
            )
        return self._experiment_ids[name]


def _ms(d: datetime | None) -> int | None:
    return None if d is None else int(d.timestamp() * 1000)


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _log(
    client: MlflowClient, run_id: str, metrics: list[Any], params: list[Any], tags: list[Any]
) -> None:
    """``log_batch`` within MLflow's per-call limits."""
    while metrics or params or tags:
        client.log_batch(
            run_id,
            metrics=metrics[: _BATCH["metrics"]],
            params=params[: _BATCH["params"]],
            tags=tags[: _BATCH["tags"]],
        )
        metrics = metrics[_BATCH["metrics"] :]
        params = params[_BATCH["params"] :]
        tags = tags[_BATCH["tags"] :]
