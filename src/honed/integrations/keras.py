"""Keras 3 (any backend): report a logged metric after each epoch."""

from __future__ import annotations

from typing import Any

try:
    import keras
except ModuleNotFoundError as exc:
    if exc.name == "keras":
        raise
    # Keras 3 imports its backend at once: TensorFlow unless KERAS_BACKEND says otherwise.
    raise ModuleNotFoundError(
        f"Keras could not load its backend ({exc}). Install it, or pick one you have before "
        "importing keras: KERAS_BACKEND=torch (or jax, tensorflow) in the environment.",
        name=exc.name,
    ) from exc

from honed.errors import TrialPruned
from honed.integrations._common import check_direction, higher_is_better

__all__ = ["KerasCallback"]


class KerasCallback(keras.callbacks.Callback):
    """Report ``monitor`` (a key of Keras's epoch logs, such as ``"val_loss"`` or
    ``"val_accuracy"``) at step ``epoch + 1``. When the trial's scheduler stops it, training
    ends after that epoch (``model.stop_training``) and :class:`honed.TrialPruned` is raised
    out of ``model.fit``.

    Args:
        trial: The running :class:`honed.Trial`.
        monitor: The metric to report (``"val_loss"`` by default).
    """

    def __init__(self, trial: Any, monitor: str = "val_loss") -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self._pruned: TrialPruned | None = None
        self._checked = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._pruned = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"metric {self.monitor!r} is not in Keras's logs; logged: {sorted(logs)}. "
                "Validation metrics (val_*) need validation_data= or validation_split= in fit."
            )
        if not self._checked:
            check_direction(self.trial, higher_is_better(self.monitor), self.monitor)
            self._checked = True
        try:
            self.trial.report(float(logs[self.monitor]), epoch + 1)
        except TrialPruned as e:
            # End the epoch loop cleanly (Keras closes its callbacks), then raise from fit.
            self._pruned = e
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._pruned is not None:
            pruned, self._pruned = self._pruned, None
            raise pruned
