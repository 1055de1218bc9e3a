"""After the sweep: model soups, confirmation of the winner on fresh seeds, and a report.

Built on honed's public study API only (an import contract checks it):

* :func:`soup` averages the weights trials saved (greedy or uniform soups of the best trials,
  or the last checkpoints of one trial) and keeps the soup with the study;
* :func:`confirm` re-runs the best configurations on seeds tuning never used and says which
  is best on average, with a 95% interval; :func:`likely_best` estimates it from the GP's
  noise-free posterior without re-runs;
* :func:`fit_scaling_law` fits how the best learning rate (batch size, ...) moves with model
  and data size on studies run at small scales, and narrows the search space at a large one;
* :func:`mixture_search` fits a regression from small proxy runs' data-mixture weights to
  their result and proposes the mixtures a larger run should try (RegMix);
* :func:`report` writes what a study found as one self-contained HTML or Markdown file
  (``honed report STUDY``).

Names load on first use, so ``honed --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from honed.recipes._confirm import (
        Confirmation,
        ConfirmedConfig,
        confirm,
        load_confirmation,
    )
    from honed.recipes._likely import LikelyBest, likely_best
    from honed.recipes._mixture import MixtureCandidate, MixtureSearch, mixture_search
    from honed.recipes._report import report
    from honed.recipes._scaling import ScaleGroup, ScalingLaw, fit_scaling_law
    from honed.recipes._soup import Soup, SoupStep, load_soup, soup
    from honed.recipes._states import average_states

__all__ = [
    "Confirmation",
    "ConfirmedConfig",
    "LikelyBest",
    "MixtureCandidate",
    "MixtureSearch",
    "ScaleGroup",
    "ScalingLaw",
    "Soup",
    "SoupStep",
    "average_states",
    "confirm",
    "fit_scaling_law",
    "likely_best",
    "load_confirmation",
    "load_soup",
    "mixture_search",
    "report",
    "soup",
]

_HOMES = {
    "Confirmation": "_confirm",
    "ConfirmedConfig": "_confirm",
    "confirm": "_confirm",
    "load_confirmation": "_confirm",
    "LikelyBest": "_likely",
    "likely_best": "_likely",
    "MixtureCandidate": "_mixture",
    "MixtureSearch": "_mixture",
    "mixture_search": "_mixture",
    "report": "_report",
    "ScaleGroup": "_scaling",
    "ScalingLaw": "_scaling",
    "fit_scaling_law": "_scaling",
    "Soup": "_soup",
    "SoupStep": "_soup",
    "load_soup": "_soup",
    "soup": "_soup",
    "average_states": "_states",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"honed.recipes.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'honed.recipes' has no attribute {name!r}")
