"""Hypervolume for the benchmark's multi-objective scores.

Uses :mod:`honed.analysis.hypervolume` when that module exists and agrees with the exact
computation here on a small check; otherwise the exact recursive-slicing computation below
(fine for the front sizes a benchmark run produces: a few hundred points, 2-4 objectives).
All points are losses (minimized) and ``ref`` is the loss-form reference point.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from honed.history import non_dominated_mask

__all__ = ["exact_hypervolume", "hypervolume"]


def exact_hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by ``points`` and bounded by ``ref`` (minimization)."""
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    ref = np.asarray(ref, dtype=float)
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[non_dominated_mask(pts)]
    return _slice(np.unique(pts, axis=0), ref)


def _slice(pts: np.ndarray, ref: np.ndarray) -> float:
    d = pts.shape[1]
    if d == 1:
        return float(ref[0] - pts[:, 0].min())
    if d == 2:
        order = np.argsort(pts[:, 0], kind="stable")
        vol, best_y = 0.0, ref[1]
        xs = pts[order, 0]
        ys = pts[order, 1]
        for i in range(len(xs)):
            best_y = min(best_y, ys[i])
            nxt = xs[i + 1] if i + 1 < len(xs) else ref[0]
            vol += (nxt - xs[i]) * (ref[1] - best_y)
        return float(vol)
    order = np.argsort(pts[:, -1], kind="stable")
    pts = pts[order]
    vol = 0.0
    for i in range(len(pts)):
        nxt = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        if nxt > pts[i, -1]:
            sub = pts[: i + 1, :-1]
            sub = sub[non_dominated_mask(sub)]
            vol += (nxt - pts[i, -1]) * _slice(sub, ref[:-1])
    return float(vol)


@lru_cache(maxsize=1)
def _backend() -> Callable[[np.ndarray, np.ndarray], float]:
    import importlib

    try:
        # Written beside the NSGA-II sampler; import the module (the package may re-export a
        # function of the same name).
        mod = importlib.import_module("honed.analysis.hypervolume")
    except ImportError:
        return exact_hypervolume
    fn = getattr(mod, "hypervolume", None) or getattr(mod, "compute_hypervolume", None)
    if fn is None:
        return exact_hypervolume
    probe = np.array([[1.0, 3.0, 2.0], [2.0, 1.0, 2.5], [3.0, 2.0, 1.0], [2.5, 2.5, 2.5]])
    ref = np.array([4.0, 4.0, 4.0])
    try:
        ok = all(
            abs(float(fn(p, r)) - exact_hypervolume(p, r)) < 1e-9
            for p, r in ((probe, ref), (probe[:, :2], ref[:2]))
        )
    except Exception:
        ok = False
    return fn if ok else exact_hypervolume


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    if len(pts) == 0:
        return 0.0
    return float(_backend()(pts, np.asarray(ref, dtype=float)))
