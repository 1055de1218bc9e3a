"""Fast, seeded estimates of hypervolume contributions for many objectives.

Exact hypervolume contributions grow steeply with the number of objectives (seconds per call
from four objectives on for the fronts a sampler sees every proposal). A sampler only needs
them to rank points, so these estimates trade a small, seeded error for speed:

* :func:`estimate_contributions`: each point's *exclusive* contribution (the volume only it
  dominates). The exclusive region of ``p`` lies inside a box ``[p, b]`` that is usually much
  smaller than ``[p, ref]``: along objective ``k``, any other point ``q`` that is no worse than
  ``p`` in every other objective caps the box at ``q_k`` (beyond it ``q`` covers everything).
  The box volume is exact; the share of it no other point covers is counted on a fixed,
  scrambled Sobol sample. Points whose box no other point reaches get their exact volume.
* :func:`greedy_hv_subset`: ``k`` points chosen greedily by hypervolume gain (each step adds
  the point that adds most to the volume of those chosen so far), the gains counted on the same
  kind of fixed sample laid over each point's box ``[p, ref]``.

Both are deterministic: the sample depends only on ``n_samples``, the number of objectives and
``seed``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from honed.pareto._dominance import non_dominated_mask

__all__ = ["estimate_contributions", "greedy_hv_subset"]


@lru_cache(maxsize=32)
def _unit_sample(m: int, n_samples: int, seed: int) -> np.ndarray:
    """A fixed scrambled Sobol sample of ``[0, 1)^m`` (read-only)."""
    from scipy.stats import qmc  # scipy.stats is slow to import; most studies never get here

    bits = max(0, int(np.ceil(np.log2(max(n_samples, 1)))))
    u = qmc.Sobol(m, scramble=True, seed=seed).random_base2(bits)[:n_samples]
    u.setflags(write=False)
    return u


def _check(losses: np.ndarray, reference_point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = np.asarray(losses, dtype=float)
    ref = np.asarray(reference_point, dtype=float).ravel()
    if pts.ndim != 2 or pts.shape[1] != len(ref) or len(ref) == 0:
        raise ValueError(
            f"losses must have shape (n, {len(ref)}) to match the reference point, got {pts.shape}."
        )
    if not np.all(np.isfinite(ref)) or np.isnan(pts).any():
        raise ValueError("the reference point must be finite and losses must not contain NaN.")
    return pts, ref


def _check_samples(n_samples: int) -> None:
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")


def estimate_contributions(
    losses: np.ndarray,
    reference_point: np.ndarray,
    *,
    n_samples: int = 1024,
    seed: int = 0,
) -> np.ndarray:
    """Estimated exclusive hypervolume contribution of each row (lower losses are better).

    Same conventions as :func:`honed.pareto.hypervolume_contributions`: dominated rows, rows
    not strictly inside the reference box and exact duplicates contribute 0.

    Args:
        losses: ``(n, m)`` loss vectors.
        reference_point: ``m`` finite values bounding the volume.
        n_samples: Sample points per box; the error shrinks about as ``1 / n_samples``
            (quasi-random points) and is 0 for points whose box no other point enters.
        seed: Seed of the fixed sample.
    """
    pts, ref = _check(losses, reference_point)
    _check_samples(n_samples)
    n, m = pts.shape
    out = np.zeros(n)
    inside = np.flatnonzero(np.all(pts < ref, axis=1))
    if len(inside) == 0:
        return out
    sub = pts[inside]
    _, inverse, counts = np.unique(sub, axis=0, return_inverse=True, return_counts=True)
    keep = non_dominated_mask(sub) & (counts[inverse.ravel()] == 1)
    front = sub[keep]
    rows = inside[keep]
    pos = np.flatnonzero(keep)
    if m == 1:
        if len(front):
            best = int(np.argmin(front[:, 0]))
            second = sub[np.arange(len(sub)) != pos[best], 0]
            cap = min(float(ref[0]), float(second.min())) if len(second) else float(ref[0])
            out[rows[best]] = cap - front[best, 0]
        return out
    unit = _unit_sample(m, n_samples, seed)
    for i in range(len(front)):
        p = front[i]
        # Dominated points take part: removing p can uncover the ones only p dominated.
        others = np.delete(sub, pos[i], axis=0)
        b = ref.copy()
        if len(others):
            le = others <= p
            # A point no worse than p in all objectives but one caps p's box in that one.
            near = le.sum(axis=1) == m - 1
            if near.any():
                k = np.argmin(le[near], axis=1)
                np.minimum.at(b, k, others[near, k])
            others = others[np.all(others < b, axis=1)]
            if len(others) > 1:
                # Inside p's box another point covers what its corner max(q, p) covers, and
                # corners that another corner dominates add nothing (WFG's limit set).
                others = np.unique(np.maximum(others, p), axis=0)
                others = others[non_dominated_mask(others)]
        vol = float(np.prod(b - p))
        if vol <= 0.0:
            continue
        if len(others) == 0:
            out[rows[i]] = vol
            continue
        x = p + unit * (b - p)
        covered = np.any(np.all(x[:, None, :] >= others[None, :, :], axis=2), axis=1)
        out[rows[i]] = vol * (1.0 - covered.mean())
    return out


def greedy_hv_subset(
    losses: np.ndarray,
    k: int,
    reference_point: np.ndarray,
    *,
    n_samples: int = 512,
    seed: int = 0,
) -> np.ndarray:
    """Indices of ``k`` rows chosen greedily to keep a large hypervolume (in pick order).

    The first pick is the row with the largest box ``[p, ref]`` (exact); each later pick is
    the row whose box is least covered by the rows picked so far, volume-weighted, counted on
    a fixed sample of each box. Rows outside the reference box have gain 0 and are picked
    last, lowest index first.
    """
    pts, ref = _check(losses, reference_point)
    _check_samples(n_samples)
    n, m = pts.shape
    if not isinstance(k, int | np.integer) or not 0 <= k <= n:
        raise ValueError(f"k must be an integer in [0, {n}], got {k!r}.")
    span = np.maximum(ref - pts, 0.0)
    vol = np.prod(span, axis=1)
    x = pts[:, None, :] + _unit_sample(m, n_samples, seed)[None, :, :] * span[:, None, :]
    covered = np.zeros((n, n_samples), dtype=bool)
    free = np.ones(n, dtype=bool)
    picked: list[int] = []
    for _ in range(k):
        gain = np.where(free, vol * (1.0 - covered.mean(axis=1)), -np.inf)
        s = int(np.argmax(gain))  # the lowest index on ties: deterministic
        picked.append(s)
        free[s] = False
        covered |= np.all(x >= pts[s], axis=2)
    return np.array(picked, dtype=int)
