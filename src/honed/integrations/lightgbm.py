"""LightGBM: report an evaluation metric after each boosting round."""

from __future__ import annotations

from typing import Any

from honed.integrations._common import check_direction, pick

__all__ = ["LightGBMCallback"]


class LightGBMCallback:
    """A LightGBM callback (``callbacks=[LightGBMCallback(trial)]``) reporting ``metric`` on
    ``data`` at step ``iteration + 1``; :class:`honed.TrialPruned` propagates out of training
    when the trial's scheduler stops it.

    Args:
        trial: The running :class:`honed.Trial`.
        data: Name of the validation set (``"valid_0"`` by default names); optional when only
            one is evaluated (the training set is ignored unless named).
        metric: Metric name (``"binary_logloss"``, ``"auc"``, ...); optional when only one.
    """

    order = 20  # after LightGBM's own logging and early stopping

    def __init__(self, trial: Any, data: str | None = None, metric: str | None = None) -> None:
        self.trial = trial
        self.data = data
        self.metric = metric
        self._checked = False

    def __call__(self, env: Any) -> None:
        results = env.evaluation_result_list or []
        if not results:
            raise ValueError(
                "LightGBMCallback needs a validation set: pass valid_sets=[dvalid] to "
                "lgb.train or eval_set=[(X_valid, y_valid)] to fit."
            )
        sets = [r[0] for r in results]
        if self.data is None:
            sets = [s for s in sets if s != "training"] or sets
        data = pick(dict.fromkeys(sets), self.data, "validation set", "data='valid_0'")
        metrics = {r[1]: r for r in results if r[0] == data}
        metric = pick(metrics, self.metric, "metric", "metric='binary_logloss'")
        entry = metrics[metric]
        if not self._checked:
            check_direction(self.trial, bool(entry[3]), metric)
            self._checked = True
        self.trial.report(float(entry[2]), env.iteration + 1)
