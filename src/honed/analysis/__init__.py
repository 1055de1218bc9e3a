"""Analysis of finished studies: hypervolume, Pareto fronts, parameter importance.

Kept light: submodules with heavy dependencies are imported where they are used.
"""

from honed.analysis.hv_estimate import estimate_contributions, greedy_hv_subset
from honed.analysis.hypervolume import hypervolume, hypervolume_contributions, pareto_mask
from honed.analysis.importance import importance  # scikit-learn loads only for fanova

__all__ = [
    "estimate_contributions",
    "greedy_hv_subset",
    "hypervolume",
    "hypervolume_contributions",
    "importance",
    "pareto_mask",
]
