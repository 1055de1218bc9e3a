"""Tune a small Keras 3 network (on the PyTorch backend) with KerasCallback and ASHA.

Run: ``KERAS_BACKEND=torch python examples/keras_callback.py`` (needs ``pip install
honed[keras] torch scikit-learn``).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import honed
from honed.integrations.keras import KerasCallback

X_TR, X_VA, Y_TR, Y_VA = train_test_split(
    *load_digits(return_X_y=True), test_size=0.25, random_state=0
)
X_TR, X_VA = X_TR / 16.0, X_VA / 16.0


def objective(trial: honed.Trial) -> float:
    keras.utils.set_random_seed(trial.number)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(trial.int("units", 16, 128, log=True), activation="relu"),
            keras.layers.Dropout(trial.float("dropout", 0.0, 0.5)),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(trial.float("lr", 1e-4, 1e-1, log=True)),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        X_TR,
        Y_TR,
        validation_data=(X_VA, Y_VA),
        epochs=9,
        batch_size=64,
        verbose=0,
        callbacks=[KerasCallback(trial, monitor="val_accuracy")],
    )
    return history.history["val_accuracy"][-1]


def main() -> None:
    study = honed.create_study(
        direction="maximize", scheduler=honed.schedulers.ASHA(max_resource=9), seed=0
    )
    study.optimize(objective, n_trials=8)
    print(f"best validation accuracy {study.best_value:.4f} with {study.best_params}")


if __name__ == "__main__":
    main()
