"""Pareto dominance and non-dominated sorting of loss vectors (lower is better)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["constrained_ranks", "dominates", "non_dominated_mask", "non_dominated_ranks"]


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether loss vector ``a`` Pareto-dominates ``b``."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated_mask(losses: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``losses`` no other row dominates (duplicates all kept).

    Two finite objectives take one sort and a sweep, ``O(n log n)``, which keeps 10,000-trial
    studies interactive; otherwise vectorized ``O(n^2 m)``, in chunks so memory stays bounded.
    """
    pts = np.asarray(losses, dtype=float)
    n = len(pts)
    keep = np.ones(n, dtype=bool)
    if n <= 1:
        return keep
    if pts.ndim == 2 and pts.shape[1] == 2 and np.isfinite(pts).all():
        return _front_2d(pts)
    chunk = max(1, 2_000_000 // max(1, n * pts.shape[1]))
    for start in range(0, n, chunk):
        block = pts[start : start + chunk]
        le = np.all(pts[None, :, :] <= block[:, None, :], axis=2)
        lt = np.any(pts[None, :, :] < block[:, None, :], axis=2)
        keep[start : start + chunk] = ~np.any(le & lt, axis=1)
    return keep


def _front_2d(losses: np.ndarray) -> np.ndarray:
    n = len(losses)
    keep = np.zeros(n, dtype=bool)
    order = np.lexsort((losses[:, 1], losses[:, 0]))
    best_before = math.inf  # least second loss among rows with a smaller first loss
    i = 0
    while i < n:
        j = i
        f0 = losses[order[i], 0]
        while j < n and losses[order[j], 0] == f0:
            j += 1
        group = order[i:j]  # equal first loss, sorted by the second
        low = losses[group[0], 1]
        if low < best_before:
            keep[group[losses[group, 1] == low]] = True
        best_before = min(best_before, low)
        i = j
    return keep


def non_dominated_ranks(losses: np.ndarray) -> np.ndarray:
    """Front index of each row (0 = non-dominated), by repeated peeling of the Pareto front."""
    losses = np.asarray(losses, dtype=float)
    n = len(losses)
    ranks = np.full(n, -1, dtype=int)
    if n == 0:
        return ranks
    if losses.shape[1] == 1:
        # One objective: the rank is the position among distinct values.
        _, inv = np.unique(losses[:, 0], return_inverse=True)
        return inv.ravel().astype(int)
    le = np.all(losses[:, None, :] <= losses[None, :, :], axis=2)
    lt = np.any(losses[:, None, :] < losses[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    n_dominators = dom.sum(axis=0)
    rank = 0
    remaining = np.ones(n, dtype=bool)
    while remaining.any():
        front = remaining & (n_dominators == 0)
        ranks[front] = rank
        remaining &= ~front
        n_dominators = n_dominators - dom[front].sum(axis=0)
        rank += 1
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
