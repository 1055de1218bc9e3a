"""How points spread over a front: crowding distance, and reference directions on the simplex."""

from __future__ import annotations

import numpy as np

__all__ = ["crowding_distance", "reference_points"]


def crowding_distance(losses: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row within its set (boundary points get infinity)."""
    losses = np.asarray(losses, dtype=float)
    n, m = losses.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(losses[:, j], kind="stable")
        col = losses[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


def reference_points(n_objectives: int, n_divisions: int) -> np.ndarray:
    """Das and Dennis's structured points on the unit simplex (``C(m + p - 1, p)`` of them)."""
    out: list[list[int]] = []

    def rec(prefix: list[int], left: int, k: int) -> None:
        if k == 1:
            out.append([*prefix, left])
            return
        for i in range(left, -1, -1):
            rec([*prefix, i], left - i, k - 1)

    rec([], n_divisions, n_objectives)
    return np.array(out, dtype=float) / n_divisions
