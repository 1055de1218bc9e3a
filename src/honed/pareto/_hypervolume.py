"""Exact hypervolume of loss vectors (minimization) and each point's exclusive contribution.

The hypervolume of a set of loss vectors with respect to a reference point ``r`` is the volume
of the region dominated by the set and bounded by ``r``. Points that do not strictly dominate
``r`` in every objective add nothing.

Algorithms, all exact:

* 1 objective: ``r - min``.
* 2 objectives: sort by the first loss and sweep, ``O(n log n)``.
* 3 objectives: a dimension sweep over the third loss that keeps the 2-D staircase of the points
  seen so far in sorted lists and updates its area incrementally when a point is inserted, so
  each point costs a binary search plus the points it removes: ``O(n log n)`` comparisons (list
  insertion is a memmove).
* 4 objectives: a sweep over the fourth loss, one 3-D volume per slab, ``O(n^2 log n)``.
* 5 or more: the WFG recursion (While, Bradstreet and Barone, 2012): the volume is the sum of the
  exclusive volumes of the points taken in order of the last loss, and the exclusive volume of
  a point is its box minus the volume of the later points *limited* to its box. The recursion
  bottoms out in the 4-D sweep. Exponential in the worst case, fast for the population sizes
  samplers use (hundreds of points in 4-5 objectives).

Exclusive contributions (what the volume loses when one point is removed) use the limit-set
identity ``box(p) - HV(limit(others, p))`` for each non-dominated point (others dominated by a
point can be uncovered when it is removed, so they take part).
"""

from __future__ import annotations

from bisect import bisect_right

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
    return pts, ref


def _front(pts: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Points strictly inside the reference box; for 4+ objectives only the distinct
    non-dominated ones (the 2-D and 3-D sweeps skip dominated points themselves)."""
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) <= 1 or pts.shape[1] <= 3:
        return pts
    pts = np.unique(pts, axis=0)
    return pts[non_dominated_mask(pts)]


def _hv2(pts: np.ndarray, ref: np.ndarray) -> float:
    # pts: inside the box; dominated points are harmless in the sweep.
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    x, y = pts[order, 0], pts[order, 1]
    best_y = np.minimum.accumulate(y)
    heights = ref[1] - best_y
    widths = np.diff(np.append(x, ref[0]))
    return float(np.sum(widths * heights))


class _Staircase:
    """The 2-D front of inserted points (x ascending, y descending) and its dominated area."""

    __slots__ = ("area", "rx", "ry", "xs", "ys")

    def __init__(self, rx: float, ry: float) -> None:
        self.rx, self.ry = rx, ry
        # Sentinels: a point at x=-inf on the top edge, and one on the right edge at y=-inf.
        self.xs: list[float] = [-np.inf, rx]
        self.ys: list[float] = [ry, -np.inf]
        self.area = 0.0

    def insert(self, x: float, y: float) -> None:
        xs, ys = self.xs, self.ys
        k = bisect_right(xs, x) - 1  # xs[k] <= x
        if ys[k] <= y:
            return  # weakly dominated by the point on its left
        # Area gained: over [x, next kept x) the old height was that of the point to the left
        # and then of each point the new one removes.
        prev_x, prev_h = x, ys[k]
        j = k + 1
        while ys[j] >= y:
            self.area += (xs[j] - prev_x) * (prev_h - y)
            prev_x, prev_h = xs[j], ys[j]
            j += 1
        self.area += (xs[j] - prev_x) * (prev_h - y)
        lo = k if (xs[k] == x and k > 0) else k + 1  # same x and higher y: replaced
        xs[lo:j] = [x]
        ys[lo:j] = [y]


def _hv3(pts: np.ndarray, ref: np.ndarray) -> float:
    order = np.argsort(pts[:, 2], kind="stable")
    p = pts[order]
    z = np.append(p[:, 2], ref[2])
    stair = _Staircase(float(ref[0]), float(ref[1]))
    total = 0.0
    for i in range(len(p)):
        stair.insert(float(p[i, 0]), float(p[i, 1]))
        dz = z[i + 1] - z[i]
        if dz > 0:
            total += stair.area * dz
    return total


def _hv_front(pts: np.ndarray, ref: np.ndarray) -> float:
    """Volume of points already inside the box (dominated points allowed for m <= 3)."""
    n, m = pts.shape
    if n == 0:
        return 0.0
    if n == 1:
        return float(np.prod(ref - pts[0]))
    if m == 1:
        return float(ref[0] - pts[:, 0].min())
    if m == 2:
        return _hv2(pts, ref)
    if m == 3:
        return _hv3(pts, ref)
    if m == 4:
        return _hv4(pts, ref)
    return _wfg(pts, ref)


def _hv4(pts: np.ndarray, ref: np.ndarray) -> float:
    # Sweep over the fourth loss: each slab's volume is the 3-D volume of the points below it.
    order = np.argsort(pts[:, 3], kind="stable")
    p = pts[order]
    w = np.append(p[:, 3], ref[3])
    total = 0.0
    for i in range(len(p)):
        dw = w[i + 1] - w[i]
        if dw > 0:
            total += _hv3(p[: i + 1, :3], ref[:3]) * dw
    return total


def _wfg(pts: np.ndarray, ref: np.ndarray) -> float:
    # Worse points (by the last loss) first keeps the limit sets small.
    pts = pts[np.argsort(-pts[:, -1], kind="stable")]
    boxes = np.prod(ref - pts, axis=1)
    total = 0.0
    for i in range(len(pts)):
        rest = pts[i + 1 :]
        if len(rest) == 0:
            total += boxes[i]
            continue
        limited = np.maximum(rest, pts[i])
        limited = np.unique(limited, axis=0)
        limited = limited[non_dominated_mask(limited)]
        total += boxes[i] - _hv_front(limited, ref)
    return float(total)


def hypervolume(losses: np.ndarray, reference_point: np.ndarray) -> float:
    """Hypervolume dominated by ``losses`` (rows, lower is better) up to ``reference_point``.

    Args:
        losses: ``(n, m)`` loss vectors; maximized objectives must be negated first
            (``History.losses`` does that).
        reference_point: ``m`` finite values; points not strictly better in every objective
            contribute nothing.
    """
    pts, ref = _check(losses, reference_point)
    pts = _front(pts, ref)
    return _hv_front(pts, ref)


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
    inner = pts[idx]
    for i in cand:
        p = pts[i]
        # Everything another point covers inside p's box; dominated points count too, since
        # removing p can uncover them.
        limited = np.maximum(inner[idx != i], p)
        limited = _front(limited, ref)
        out[i] = max(float(np.prod(ref - p)) - _hv_front(limited, ref), 0.0)
    return out
