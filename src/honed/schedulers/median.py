"""Median and percentile stopping: stop a trial that does worse than most others did by then."""

from __future__ import annotations

import math

import numpy as np

from honed.history import History
from honed.schedulers._util import check_fraction, check_positive_int, loss_curve, sign
from honed.schedulers.base import Decision, Scheduler
from honed.trial import FrozenTrial, TrialState

__all__ = ["MedianStopping", "PercentileStopping"]


class PercentileStopping(Scheduler):
    """Stop a trial whose best value so far is worse than the ``percentile``-th percentile of
    the other trials' best values up to the same step.

    Args:
        percentile: 50 stops trials worse than the median; 25 keeps only the best quarter.
        warmup_steps: Never stop before this step (early values are noisy).
        min_trials: Decide only once this many finished trials reported at the step.
        interval: Decide only at steps that are multiples of this.
    """

    def __init__(
        self,
        percentile: float = 50.0,
        warmup_steps: int = 0,
        min_trials: int = 5,
        interval: int = 1,
    ) -> None:
        self.percentile = check_fraction("percentile", percentile, 0.0, 100.0)
        self.warmup_steps = check_positive_int("warmup_steps", warmup_steps, 0)
        self.min_trials = check_positive_int("min_trials", min_trials, 1)
        self.interval = check_positive_int("interval", interval, 1)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(percentile={self.percentile}, "
            f"warmup_steps={self.warmup_steps}, min_trials={self.min_trials})"
        )

    def on_report(self, history: History, trial: FrozenTrial) -> Decision:
        if history.is_multi_objective:
            raise ValueError(
                f"{type(self).__name__} is for single-objective studies; use "
                "honed.schedulers.DominatedStopping for several objectives."
            )
        step = trial.last_step
        if step is None or step < self.warmup_steps or step % self.interval:
            return Decision.CONTINUE
        _, own = loss_curve(history, trial)
        if not own:
            return Decision.CONTINUE
        own_best = min(own)
        s = sign(history)
        others = []
        for t in history.with_states(TrialState.COMPLETE, TrialState.PRUNED):
            if t.number == trial.number or step not in t.intermediate_values:
                continue
            upto = [
                s * v for k, v in t.intermediate_values.items() if k <= step and math.isfinite(v)
            ]
            if upto:
                others.append(min(upto))
        if len(others) < self.min_trials:
            return Decision.CONTINUE
        threshold = float(np.percentile(others, self.percentile))
        return Decision.STOP if own_best > threshold else Decision.CONTINUE


class MedianStopping(PercentileStopping):
    """Stop a trial whose best value so far is worse than the median of the other trials'."""

    def __init__(self, warmup_steps: int = 0, min_trials: int = 5, interval: int = 1) -> None:
        super().__init__(50.0, warmup_steps, min_trials, interval)
