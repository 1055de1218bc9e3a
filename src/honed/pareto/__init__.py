"""Multi-objective geometry on loss vectors (every objective minimized).

The one home for Pareto dominance, non-dominated sorting, hypervolume (exact, and estimated for
many objectives), the box decomposition that expected hypervolume improvement integrates over,
crowding distance and reference points. Everything takes plain ``(n, m)`` arrays of losses
(``History.losses`` negates maximized objectives) and imports nothing else from honed, so the
history, samplers, schedulers, analysis, plots and dashboard all build on the same functions.
"""

from honed.pareto._boxes import nondominated_boxes
from honed.pareto._dominance import (
    constrained_ranks,
    dominates,
    non_dominated_mask,
    non_dominated_ranks,
)
from honed.pareto._estimate import estimate_contributions, greedy_hv_subset
from honed.pareto._hypervolume import hypervolume, hypervolume_contributions
from honed.pareto._spread import crowding_distance, reference_points

__all__ = [
    "constrained_ranks",
    "crowding_distance",
    "dominates",
    "estimate_contributions",
    "greedy_hv_subset",
    "hypervolume",
    "hypervolume_contributions",
    "non_dominated_mask",
    "non_dominated_ranks",
    "nondominated_boxes",
    "reference_points",
]
