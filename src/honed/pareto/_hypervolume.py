"""Exact hypervolume of loss vectors (minimization) and each point's exclusive contribution.

The hypervolume of a set of loss vectors with respect to a reference point ``r`` is the volume
of the region dominated by the set and bounded by ``r``. Points that do not strictly dominate
``r`` in every objective add nothing.

The volume itself comes from moocore (exact dimension-sweep algorithms: ``O(n log n)`` for 2-3
objectives, HV4D+ for 4, a recursion over 4-D contributions beyond).

Exclusive contributions (what the volume loses when one point is removed) count dominated
points too: removing a point can uncover the points only it dominated. For 2 objectives they
come from moocore's exact sweep. From 3 on, moocore computes them as ``HV(all) - HV(all but
p)`` and sets anything below an absolute ``1.5e-8`` to 0, which would erase the contributions
of losses on a small scale; so they use the limit-set identity
``box(p) - HV(limit(others, p))`` for each non-dominated point, each volume from moocore.
"""

from __future__ import annotations

import moocore
import numpy as np

from honed.pareto._dominance import non_dominated_mask

__all__ = ["hypervolume", "hypervolume_contributions"]


def _check(losses: np.ndarray, reference_point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = np.asarray(losses, dtype=float)
    ref = np.asarray(reference_point, dtype=float).ravel()
    if pts.ndim == 1:
        pts = pts.reshape(-1, len(ref)) if pts.size else np.empty((0, len(ref)))
    if pts.ndim != 2 or pts.shape[1] != len(ref):
        raise ValueError(
            f"losses must have shape (n, {len(ref)}) to match the reference point, got {pts.shape}."
        )
    if len(ref) == 0:
        raise ValueError("reference_point needs at least one objective.")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"reference_point must be finite, got {ref.tolist()}.")
    if np.isnan(pts).any():
        raise ValueError("losses contain NaN; drop those points before computing hypervolume.")
    if np.isneginf(pts).any():
        raise ValueError(
            "losses contain -inf, which makes the hypervolume infinite; drop or clip those "
            "points before computing hypervolume."
        )
    return pts, ref


def _volume(pts: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of checked points (any of them may lie outside the box)."""
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    return float(moocore.hypervolume(pts, ref=ref))


def hypervolume(losses: np.ndarray, reference_point: np.ndarray) -> float:
    """Hypervolume dominated by ``losses`` (rows, lower is better) up to ``reference_point``.

    Args:
        losses: ``(n, m)`` loss vectors; maximized objectives must be negated first
            (``History.losses`` does that).
        reference_point: ``m`` finite values; points not strictly better in every objective
            contribute nothing.
    """
    pts, ref = _check(losses, reference_point)
    return _volume(pts, ref)


def hypervolume_contributions(losses: np.ndarray, reference_point: np.ndarray) -> np.ndarray:
    """Exclusive contribution of each row: ``HV(all) - HV(all but that row)``.

    Dominated rows, rows outside the reference box and exact duplicates contribute 0.
    """
    pts, ref = _check(losses, reference_point)
    n, m = pts.shape
    out = np.zeros(n)
    if n == 0:
        return out
    inside = np.all(pts < ref, axis=1)
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return out
    sub = pts[idx]
    if m == 2:
        # moocore's exact O(n log n) sweep; dominated points take part, duplicates get 0.
        out[idx] = moocore.hv_contributions(sub, ref=ref, ignore_dominated=False)
        return out
    _, inverse, counts = np.unique(sub, axis=0, return_inverse=True, return_counts=True)
    single = counts[inverse.ravel()] == 1
    front = non_dominated_mask(sub) & single
    cand = idx[front]
    if len(cand) == 0:
        return out
    if m == 1:
        best = cand[np.argmin(pts[cand, 0])]
        others = pts[idx[idx != best], 0]
        second = min(float(ref[0]), float(others.min())) if len(others) else float(ref[0])
        out[best] = second - pts[best, 0]
        return out
    for i in cand:
        p = pts[i]
        # Everything another point covers inside p's box; dominated points count too, since
        # removing p can uncover them.
        limited = np.maximum(sub[idx != i], p)
        out[i] = max(float(np.prod(ref - p)) - _volume(limited, ref), 0.0)
    return out
