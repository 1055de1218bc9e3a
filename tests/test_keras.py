"""KerasCallback against real Keras 3 on its PyTorch backend."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported anywhere

import numpy as np
import pytest

import honed
from honed.schedulers import Decision, Scheduler

pytestmark = pytest.mark.slow  # importing Keras and torch takes seconds


class StopAt(Scheduler):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_report(self, history, trial):
        return Decision.STOP if trial.last_step >= self.step else Decision.CONTINUE


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6)).astype("float32")
    y = (x @ rng.normal(size=6) > 0).astype("float32")
    return x, y


def _model(lr: float = 1e-2):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(
        keras.optimizers.Adam(lr),
        keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)],
    )
    return model


def test_backend_is_torch():
    import keras

    assert keras.backend.backend() == "torch"


def test_reports_each_epoch_the_logged_value():
    from honed.integrations.keras import KerasCallback

    x, y = _data()
    trial = honed.create_study().ask()
    history = _model().fit(
        x, y, validation_split=0.25, epochs=4, verbose=0, callbacks=[KerasCallback(trial)]
    )
    assert sorted(trial.intermediate_values) == [1, 2, 3, 4]
    for epoch, loss in enumerate(history.history["val_loss"]):
        assert trial.intermediate_values[epoch + 1] == pytest.approx(loss)


def test_pruning_stops_training_and_raises_out_of_fit():
    import keras

    from honed.integrations.keras import KerasCallback

    class Count(keras.callbacks.Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            Count.epochs += 1

    x, y = _data()
    trial = honed.create_study(direction="maximize", scheduler=StopAt(2)).ask()
    with pytest.raises(honed.TrialPruned):
        _model().fit(
            x,
            y,
            validation_split=0.25,
            epochs=20,
            verbose=0,
            callbacks=[KerasCallback(trial, monitor="val_accuracy"), Count()],
        )
    assert sorted(trial.intermediate_values) == [1, 2]
    assert Count.epochs == 2


def test_in_optimize_with_median_stopping():
    from honed.integrations.keras import KerasCallback

    x, y = _data()

    def objective(trial):
        model = _model(trial.float("lr", 1e-4, 1e-1, log=True))
        history = model.fit(
            x, y, validation_split=0.25, epochs=3, verbose=0, callbacks=[KerasCallback(trial)]
        )
        return history.history["val_loss"][-1]

    study = honed.create_study(
        sampler=honed.samplers.RandomSampler(seed=0),
        scheduler=honed.schedulers.MedianStopping(min_trials=2),
    )
    study.optimize(objective, n_trials=5, show_progress=False)
    states = [t.state for t in study.trials]
    assert set(states) <= {honed.TrialState.COMPLETE, honed.TrialState.PRUNED}
    assert states.count(honed.TrialState.COMPLETE) >= 2
    for t in study.trials:
        if t.state is honed.TrialState.COMPLETE:
            assert t.value == pytest.approx(t.intermediate_values[3])


def test_clear_errors_for_a_missing_metric_and_a_wrong_direction():
    from honed.integrations.keras import KerasCallback

    x, y = _data()
    trial = honed.create_study().ask()
    with pytest.raises(ValueError, match="validation_split"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[KerasCallback(trial)])
    with pytest.raises(ValueError, match="direction='maximize'"):
        _model().fit(
            x,
            y,
            validation_split=0.25,
            epochs=1,
            verbose=0,
            callbacks=[KerasCallback(trial, monitor="val_accuracy")],
        )


def test_a_missing_backend_says_how_to_pick_one():
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_BACKEND"] = "tensorflow"  # not installed here
    run = subprocess.run(
        [sys.executable, "-c", "from honed.integrations import KerasCallback"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "KERAS_BACKEND=torch" in run.stderr
