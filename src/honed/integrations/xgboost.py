"""XGBoost: report an evaluation metric after each boosting round."""

from __future__ import annotations

from typing import Any

import xgboost as xgb

from honed.integrations._common import pick

__all__ = ["XGBoostCallback"]


class XGBoostCallback(xgb.callback.TrainingCallback):
    """Report ``metric`` on ``data`` at step ``round + 1``; raises :class:`honed.TrialPruned`
    out of ``xgb.train`` (or ``XGBModel.fit``) when the trial's scheduler stops it.

    Args:
        trial: The running :class:`honed.Trial`.
        data: Name of the evaluation set (``"validation_0"`` with the scikit-learn API, the name
            given in ``evals`` with ``xgb.train``); optional when there is only one.
        metric: The metric name (``"logloss"``, ``"auc"``, ...); optional when only one.
    """

    def __init__(self, trial: Any, data: str | None = None, metric: str | None = None) -> None:
        super().__init__()
        self.trial = trial
        self.data = data
        self.metric = metric

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        if not evals_log:
            raise ValueError(
                "XGBoostCallback needs an evaluation set: pass evals=[(dvalid, 'valid')] to "
                "xgb.train or eval_set=[(X_valid, y_valid)] to fit."
            )
        data = pick(evals_log, self.data, "evaluation set", "data='valid'")
        metric = pick(evals_log[data], self.metric, "metric", "metric='logloss'")
        value = evals_log[data][metric][-1]
        if isinstance(value, tuple):  # xgb.cv logs (mean, std)
            value = value[0]
        self.trial.report(float(value), epoch + 1)
        return False
