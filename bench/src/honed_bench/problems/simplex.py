"""Mixture-weight problems: one ``honed.Simplex`` parameter ``"mix"`` of ``k`` components.

* ``mixture-kl-<k>`` (k = 3, 5, 10, 20): the KL divergence ``KL(p || w)`` from a hidden target
  mixture ``p`` (drawn once from Dirichlet(1) with a fixed seed per ``k``) to the proposed
  weights ``w``; the optimum is 0, at ``w = p``.
* ``mixture-digits-<k>`` (k = 5, 10): a real data-mixing task. The digits data set is split
  into a clean validation set and a training pool; ``k`` sources are corrupted copies of the
  pool (each keeps a random subset of the classes, flips a random share of its labels and adds
  Gaussian noise of a random scale to the features, all fixed by the seed). A training set of
  300 rows takes ``round(w_i * 300)`` rows of source ``i``; a ridge classifier trained on it is
  scored by its error on the clean validation set (minimized; optimum unknown).

Optimizers see the weights as the parameters ``"mix.<component>"`` (honed's convention); a
peer without simplex parameters gets ``k`` independent floats, normalized by its adapter
(``honed_bench.peers.optuna_adapter``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, partial
from typing import Any

import numpy as np

from honed import Simplex, simplex_weights
from honed_bench.problems.base import Problem

__all__ = ["KL_DIMS", "MIX_DIMS", "PROBLEMS", "kl_target"]

KL_DIMS = (3, 5, 10, 20)
MIX_DIMS = (5, 10)
_TRAIN_ROWS = 300
_VALID_ROWS = 500
_FLOOR = 1e-12  # KL of a zero weight where the target has mass: large, not infinite


def _components(k: int) -> list[str]:
    return [f"s{i:02d}" for i in range(k)]


@cache
def kl_target(k: int) -> np.ndarray:
    """The hidden target mixture of ``mixture-kl-<k>``."""
    return np.random.default_rng(1000 + k).dirichlet(np.ones(k))


def _kl(params: Mapping[str, Any], k: int) -> float:
    w = np.array(list(simplex_weights(params, "mix").values()))
    p = kl_target(k)
    return float(np.sum(p * (np.log(p) - np.log(np.maximum(w, _FLOOR)))))


@cache
def _digit_sources(k: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """The ``k`` corrupted sources and the clean validation set (fixed seeds)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    rng = np.random.default_rng(2024)
    order = rng.permutation(len(y))
    valid, pool = order[:_VALID_ROWS], order[_VALID_ROWS:]
    xp, yp = x[pool], y[pool]
    src_rng = np.random.default_rng(3000 + k)
    sources = []
    for _ in range(k):
        classes = src_rng.choice(10, size=int(src_rng.integers(4, 11)), replace=False)
        keep = np.isin(yp, classes)
        xs, ys = xp[keep].copy(), yp[keep].copy()
        flip = src_rng.random(len(ys)) < src_rng.uniform(0.0, 0.6)
        ys[flip] = src_rng.integers(0, 10, size=int(flip.sum()))
        xs += src_rng.normal(0.0, src_rng.uniform(0.0, 1.5), size=xs.shape)
        perm = src_rng.permutation(len(ys))
        sources.append((xs[perm], ys[perm]))
    return sources, x[valid], y[valid]


def _counts(w: np.ndarray, total: int) -> np.ndarray:
    """Rows per source: ``w * total`` rounded by largest remainders (they sum to ``total``)."""
    raw = w * total
    n = np.floor(raw).astype(int)
    short = total - int(n.sum())
    if short > 0:
        n[np.argsort(-(raw - n), kind="stable")[:short]] += 1
    return n


def _digits_mix(params: Mapping[str, Any], k: int) -> float:
    from sklearn.linear_model import RidgeClassifier

    sources, xv, yv = _digit_sources(k)
    w = np.array(list(simplex_weights(params, "mix").values()))
    n = _counts(w, _TRAIN_ROWS)
    xs = np.vstack([s[0][:n_i] for s, n_i in zip(sources, n, strict=True)])
    ys = np.concatenate([s[1][:n_i] for s, n_i in zip(sources, n, strict=True)])
    if len(np.unique(ys)) < 2:
        return float(np.mean(yv != ys[0]))
    model = RidgeClassifier(alpha=1.0).fit(xs, ys)
    return float(np.mean(model.predict(xv) != yv))


PROBLEMS: list[Problem] = [
    Problem(
        name=f"mixture-kl-{k}",
        suite="simplex",
        space={"mix": Simplex(_components(k))},
        evaluate=partial(_kl, k=k),
        optimum=0.0,
        tags={"dim": k},
    )
    for k in KL_DIMS
] + [
    Problem(
        name=f"mixture-digits-{k}",
        suite="simplex",
        space={"mix": Simplex(_components(k))},
        evaluate=partial(_digits_mix, k=k),
        tags={"dim": k, "data": "digits", "train_rows": _TRAIN_ROWS},
    )
    for k in MIX_DIMS
]
