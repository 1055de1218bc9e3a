"""PyTorch Lightning: report a logged metric after each validation epoch."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

from honed.errors import TrialPruned

__all__ = ["LightningCallback"]


class LightningCallback(pl.Callback):
    """Report ``monitor`` (a metric logged with ``self.log``) at step ``epoch + 1`` after each
    validation run. When the trial's scheduler stops it, training ends cleanly
    (``trainer.should_stop``) and :class:`honed.TrialPruned` is raised out of ``trainer.fit``.

    Args:
        trial: The running :class:`honed.Trial`.
        monitor: Name of the logged metric, such as ``"val_loss"``.
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self._pruned: TrialPruned | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise ValueError(
                f"metric {self.monitor!r} was not logged; logged metrics: {sorted(metrics)}. "
                "Log it in validation_step with self.log(name, value)."
            )
        try:
            self.trial.report(float(metrics[self.monitor]), trainer.current_epoch + 1)
        except TrialPruned as e:
            # Let Lightning finish the epoch and tear down normally, then raise from fit.
            self._pruned = e
            trainer.should_stop = True

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._pruned is not None:
            pruned, self._pruned = self._pruned, None
            raise pruned
