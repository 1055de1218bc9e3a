"""Log every trial of a study as an MLflow run.

Run: ``python examples/mlflow_tracking.py`` (needs ``pip install honed[mlflow]``), then look
at the runs with ``mlflow ui --backend-store-uri sqlite:///mlflow.db``.
"""

from __future__ import annotations

import math

import honed
from honed.integrations.mlflow import MLflowCallback


def objective(trial: honed.Trial) -> float:
    x = trial.float("x", -5.0, 5.0)
    y = trial.float("y", -5.0, 5.0)
    loss = 0.0
    for step in range(1, 6):  # a made-up training curve, logged as intermediate_value
        loss = (x - 1) ** 2 + (y + 2) ** 2 + 10 * math.exp(-step)
        trial.report(loss, step)
    return loss


def main() -> None:
    study = honed.create_study("mlflow-demo", seed=0)
    study.optimize(
        objective,
        n_trials=20,
        callbacks=[MLflowCallback("sqlite:///mlflow.db", tags={"example": "honed"})],
    )
    print(f"best {study.best_value:.4f} at {study.best_params}; runs in sqlite:///mlflow.db")


if __name__ == "__main__":
    main()
