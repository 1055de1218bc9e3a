"""Analysis of finished studies: hypervolume, Pareto fronts, parameter importance.

The multi-objective geometry itself lives in :mod:`honed.pareto` (below the samplers, which
use it too); the names a study's analysis needs are re-exported here. Kept light: submodules
with heavy dependencies are imported where they are used.
"""

from honed.analysis.importance import importance  # scikit-learn loads only for fanova
from honed.pareto import (
    estimate_contributions,
    greedy_hv_subset,
    hypervolume,
    hypervolume_contributions,
)
from honed.pareto import non_dominated_mask as pareto_mask

__all__ = [
    "estimate_contributions",
    "greedy_hv_subset",
    "hypervolume",
    "hypervolume_contributions",
    "importance",
    "pareto_mask",
]
