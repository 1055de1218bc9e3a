"""Pareto dominance and non-dominated sorting of loss vectors (lower is better).

Sorting comes from moocore: ``O(n log n)`` dimension sweeps for up to 3 objectives and Kung's
algorithm beyond. Dominance depends only on the order of values within each objective, so
infinite losses are replaced by their ranks before moocore sees them, and a row with a NaN
compares with nothing: it is never dominated and dominates no other row (with one objective,
NaN ranks last).
"""

from __future__ import annotations

import moocore
import numpy as np

__all__ = ["constrained_ranks", "dominates", "non_dominated_mask", "non_dominated_ranks"]


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether loss vector ``a`` Pareto-dominates ``b``."""
    return bool(np.all(a <= b) and np.any(a < b))


def _comparable(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows without NaN as finite values in the same order, and the mask of those rows."""
    ok = ~np.isnan(pts).any(axis=1)
    rows = pts[ok]
    if not np.isfinite(rows).all():
        rows = np.column_stack(
            [np.unique(col, return_inverse=True)[1].ravel() for col in rows.T]
        ).astype(float)
    return rows, ok


def non_dominated_mask(losses: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``losses`` no other row dominates (duplicates all kept)."""
    pts = np.asarray(losses, dtype=float)
    keep = np.ones(len(pts), dtype=bool)
    if len(pts) <= 1:
        return keep
    rows, ok = _comparable(pts)
    if len(rows):
        keep[ok] = moocore.is_nondominated(rows, keep_weakly=True)
    return keep


def non_dominated_ranks(losses: np.ndarray) -> np.ndarray:
    """Front index of each row (0 = non-dominated; the next front is what is non-dominated
    once the earlier fronts are removed)."""
    pts = np.asarray(losses, dtype=float)
    ranks = np.zeros(len(pts), dtype=int)
    if len(pts) == 0:
        return ranks
    if pts.shape[1] == 1:
        # One objective: the position among distinct values (NaN last).
        return np.unique(pts[:, 0], return_inverse=True)[1].ravel().astype(int)
    rows, ok = _comparable(pts)
    if len(rows):
        ranks[ok] = moocore.pareto_rank(rows)
    return ranks


def constrained_ranks(losses: np.ndarray, violations: np.ndarray) -> np.ndarray:
    """Ranks under Deb's constraint-domination: feasible rows (violation 0) by non-dominated
    sorting first, then infeasible ones, each distinct total violation its own rank."""
    violations = np.asarray(violations, dtype=float)
    ranks = np.zeros(len(losses), dtype=int)
    feasible = violations <= 0
    if feasible.any():
        ranks[feasible] = non_dominated_ranks(losses[feasible])
    if (~feasible).any():
        base = int(ranks[feasible].max()) + 1 if feasible.any() else 0
        _, inv = np.unique(violations[~feasible], return_inverse=True)
        ranks[~feasible] = base + inv.ravel()
    return ranks
