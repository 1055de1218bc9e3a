"""The part of the objective space a front does not dominate, cut into disjoint boxes.

Expected hypervolume improvement integrates over these boxes: the hypervolume a new point ``y``
adds is ``sum_k prod_j max(0, u_kj - max(y_j, l_kj))``. Boxes: a grid over the first ``m - 1``
objectives at the front's coordinates; in each grid cell, the non-dominated part is everything
along the last objective below the smallest last coordinate among front points that dominate
the cell's lower corner in the first ``m - 1``. The number of boxes grows like ``n^(m-1)`` for
``n`` front points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nondominated_boxes"]


def nondominated_boxes(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes ``(lower, upper)``, each ``(k, m)``, covering the part of
    ``{y <= ref}`` that no point of ``front`` (minimization) dominates. Lower bounds may be
    ``-inf``."""
    front = np.asarray(front, dtype=float).reshape(-1, len(ref))
    front = front[np.all(front < ref, axis=1)]
    m = len(ref)
    if len(front) == 0:
        return np.full((1, m), -np.inf), ref[None, :].copy()
    if m == 1:
        return np.array([[-np.inf]]), np.array([[min(ref[0], front[:, 0].min())]])
    # Grid edges per leading objective: -inf, the front's sorted coordinates, ref.
    edges = [np.concatenate(([-np.inf], np.unique(front[:, j]), [ref[j]])) for j in range(m - 1)]
    mesh_lo = np.meshgrid(*[e[:-1] for e in edges], indexing="ij")
    mesh_hi = np.meshgrid(*[e[1:] for e in edges], indexing="ij")
    lo = np.stack([g.ravel() for g in mesh_lo], axis=1)  # (cells, m-1)
    hi = np.stack([g.ravel() for g in mesh_hi], axis=1)
    # Points dominating each cell's lower corner in the leading objectives.
    dom = np.all(front[None, :, : m - 1] <= lo[:, None, :], axis=2)  # (cells, n)
    last = np.where(dom, front[None, :, m - 1], np.inf).min(axis=1)
    top = np.minimum(last, ref[m - 1])
    keep = np.isfinite(top) & (top > -np.inf)
    keep &= np.all(hi > lo, axis=1)
    lower = np.concatenate([lo[keep], np.full((int(keep.sum()), 1), -np.inf)], axis=1)
    upper = np.concatenate([hi[keep], top[keep, None]], axis=1)
    return lower, upper
