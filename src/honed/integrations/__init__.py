"""Callbacks that report to a trial and stop training when its scheduler says so.

Each lives in its own module, which imports its library only when used:

* :class:`honed.integrations.xgboost.XGBoostCallback`
* :class:`honed.integrations.lightgbm.LightGBMCallback`
* :class:`honed.integrations.lightning.LightningCallback`

Install the libraries with ``pip install honed[integrations]``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["LightGBMCallback", "LightningCallback", "XGBoostCallback"]

_LAZY = {
    "XGBoostCallback": "honed.integrations.xgboost",
    "LightGBMCallback": "honed.integrations.lightgbm",
    "LightningCallback": "honed.integrations.lightning",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'honed.integrations' has no attribute {name!r}")
