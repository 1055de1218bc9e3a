"""Splitting finished trials into the good ("below") and the rest ("above").

Order of merit, best first:

1. complete feasible trials, by loss (single objective) or by non-domination rank with ties
   at the boundary front broken by hypervolume contribution (multi-objective);
2. complete infeasible trials, by total constraint violation;
3. pruned trials, the deeper the better, then by their last reported loss;
4. failed trials (passed as pruned rows with ``last_step`` -2).
"""

from __future__ import annotations

import math

import numpy as np

from honed.pareto import (
    estimate_contributions,
    greedy_hv_subset,
    hypervolume_contributions,
    non_dominated_ranks,
)

__all__ = ["below_weights", "n_below", "split"]


def n_below(n: int, gamma: float, cap: int) -> int:
    """How many of ``n`` trials are "good": ``ceil(gamma * n)``, at most ``cap``, at least 1."""
    if n <= 0:
        return 0
    return max(1, min(math.ceil(gamma * n), cap))


def _samples_for(work: float, budget: float) -> int:
    """Sample points per box for an estimate whose cost grows with ``work``: 512 up to a
    few hundred trials, then fewer (at least 32), so long many-objective studies keep a
    bounded cost per proposal."""
    return int(np.clip(2 ** np.floor(np.log2(max(budget / max(work, 1.0), 1.0))), 32, 512))


def _select_by_hv(losses: np.ndarray, k: int, ref: np.ndarray) -> np.ndarray:
    """Keep ``k`` rows of a front that keep the most hypervolume: greedily drop the smallest
    contributor and recompute (contributions change as neighbours leave). Exact and cheap
    in 2-D; in 3-D one pass of contributions when the greedy loop would be long. From 4
    objectives on exact hypervolume costs seconds per proposal, so the rows are picked by
    a greedy hypervolume-gain selection counted on a fixed quasi-random sample
    (:func:`honed.pareto.greedy_hv_subset`). It replaced crowding distance,
    which favours the extremes of the front: in DTLZ2 those are often the points farthest
    from the true front (``honed-bench --problems dtlz2-4obj,dtlz2-5obj --n-trials 200``)."""
    keep = np.arange(len(losses))
    m = losses.shape[1]
    if m >= 4:
        n_samples = _samples_for(len(losses) * k, 2e7)
        return np.sort(greedy_hv_subset(losses, k, ref, n_samples=n_samples))
    if m == 3 and len(keep) - k > 10:
        return keep[np.argsort(-hypervolume_contributions(losses, ref), kind="stable")[:k]]
    while len(keep) > k:
        contrib = hypervolume_contributions(losses[keep], ref)
        keep = np.delete(keep, int(np.argmin(contrib)))  # lowest index on ties: deterministic
    return keep


def split(
    losses: np.ndarray,
    violation: np.ndarray,
    pruned: np.ndarray,
    last_step: np.ndarray,
    last_loss: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` best rows and of the rest (both in row order).

    Args:
        losses: ``(n, m)`` losses of complete rows (anything for pruned rows).
        violation: ``(n,)`` total constraint violation, 0 when feasible.
        pruned: ``(n,)`` whether the row is a pruned trial.
        last_step: ``(n,)`` last reported step of pruned rows (-1 when none).
        last_loss: ``(n,)`` last reported loss of pruned rows.
        k: How many rows are "below".
    """
    n = len(losses)
    rows = np.arange(n)
    feasible = ~pruned & (violation <= 0)
    infeasible = ~pruned & (violation > 0)
    chosen: list[np.ndarray] = []
    left = k
    f_idx = rows[feasible]
    if len(f_idx) and left:
        lf = np.nan_to_num(losses[f_idx], nan=np.inf, posinf=np.inf)
        if lf.shape[1] == 1:
            take = f_idx[np.argsort(lf[:, 0], kind="stable")[:left]]
        else:
            take = _mo_best(lf, left, f_idx)
        chosen.append(take)
        left -= len(take)
    if left:
        i_idx = rows[infeasible]
        take = i_idx[np.argsort(violation[i_idx], kind="stable")[:left]]
        chosen.append(take)
        left -= len(take)
    if left:
        p_idx = rows[pruned]
        order = np.lexsort((np.nan_to_num(last_loss[p_idx], nan=np.inf), -last_step[p_idx]))
        take = p_idx[order[:left]]
        chosen.append(take)
    below = np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=int)
    mask = np.zeros(n, dtype=bool)
    mask[below] = True
    return below, rows[~mask]


def _mo_best(lf: np.ndarray, k: int, idx: np.ndarray) -> np.ndarray:
    if len(lf) <= k:
        return idx
    ranks = non_dominated_ranks(np.where(np.isfinite(lf), lf, np.finfo(float).max))
    out: list[np.ndarray] = []
    left = k
    for r in range(int(ranks.max()) + 1):
        front = np.flatnonzero(ranks == r)
        if len(front) <= left:
            out.append(front)
            left -= len(front)
        else:
            finite = lf[np.all(np.isfinite(lf), axis=1)]
            near = lf[front][np.all(np.isfinite(lf[front]), axis=1)]
            if lf.shape[1] == 3 and len(near) >= 2:
                # With 3 objectives the reference point comes from the front being thinned,
                # not from all trials: with a far reference the largest exclusive
                # contributions are at the front's corners, and corner points are often far
                # from the true front; the greedy gain selection of 4+ objectives did better
                # with the far one (bench/results/tpe-multiobjective-200trials-10seeds.md).
                finite = near
            hi, lo = finite.max(axis=0), finite.min(axis=0)
            ref = hi + np.maximum(0.1 * (hi - lo), 1e-9)
            pts = np.minimum(lf[front], ref)
            out.append(front[_select_by_hv(pts, left, ref)])
            left = 0
        if left == 0:
            break
    return idx[np.concatenate(out)]


def below_weights(losses: np.ndarray) -> np.ndarray:
    """Weights of the good trials of a multi-objective split: their share of the good set's
    hypervolume (exclusive contribution, relative to the largest), so ``l`` concentrates
    where the front gains most. With 3 objectives the square root of it: there the corner
    points held most of the weight and ``l`` rested on a few of them (square roots lost with
    2 objectives and did not help with 4-5; bench/results/tpe-multiobjective-200trials-10seeds.md).
    Dominated or infeasible good trials keep a tiny weight. From 4 objectives on the
    contributions are estimated (:func:`honed.pareto.estimate_contributions`,
    exact ones cost seconds per proposal). Uniform when nothing contributes."""
    n, m = losses.shape
    finite = np.all(np.isfinite(losses), axis=1)
    if finite.sum() < 2:
        return np.ones(n)
    lf = losses[finite]
    hi, lo = lf.max(axis=0), lf.min(axis=0)
    ref = hi + np.maximum(0.1 * (hi - lo), 1e-9)
    contrib = np.zeros(n)
    if m >= 4:
        n_samples = _samples_for(len(lf) ** 2, 2e6)
        contrib[finite] = estimate_contributions(lf, ref, n_samples=n_samples)
    else:
        contrib[finite] = hypervolume_contributions(lf, ref)
    if contrib.max() <= 0:
        return np.ones(n)
    share = np.maximum(contrib / contrib.max(), 1e-24)
    return np.sqrt(share) if m == 3 else np.maximum(share, 1e-12)
