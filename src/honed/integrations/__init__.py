"""Framework glue: callbacks that report to a trial and stop training when its scheduler says
so, a scikit-learn search, and a study callback for MLflow.

Each lives in its own module, which imports its library only when used:

* :class:`honed.integrations.sklearn.HonedSearchCV` (``pip install honed[sklearn]``)
* :class:`honed.integrations.transformers.HonedCallback` and
  :class:`honed.integrations.transformers.TrainerObjective` (``honed[hf]``)
* :class:`honed.integrations.keras.KerasCallback` (``honed[keras]``)
* :class:`honed.integrations.mlflow.MLflowCallback` (``honed[mlflow]``)
* :class:`honed.integrations.xgboost.XGBoostCallback`,
  :class:`honed.integrations.lightgbm.LightGBMCallback`,
  :class:`honed.integrations.lightning.LightningCallback` (``honed[integrations]``)

See docs/integrations.md.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "HonedCallback",
    "HonedSearchCV",
    "KerasCallback",
    "LightGBMCallback",
    "LightningCallback",
    "MLflowCallback",
    "TrainerObjective",
    "XGBoostCallback",
]

_LAZY = {
    "HonedSearchCV": "honed.integrations.sklearn",
    "HonedCallback": "honed.integrations.transformers",
    "TrainerObjective": "honed.integrations.transformers",
    "KerasCallback": "honed.integrations.keras",
    "MLflowCallback": "honed.integrations.mlflow",
    "XGBoostCallback": "honed.integrations.xgboost",
    "LightGBMCallback": "honed.integrations.lightgbm",
    "LightningCallback": "honed.integrations.lightning",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'honed.integrations' has no attribute {name!r}")
