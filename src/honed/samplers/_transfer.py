"""Warm start: what samplers learn from earlier studies (``History.sources``).

Each source is a surrogate of its own study: a kernel regression of its trials' *rank
quantiles* (0 = its best trial, 1 = its worst; ranks, so sources on other datasets or other
scales compare, and a multi-objective source ranks by non-dominated fronts). How much a
source is trusted is learned from the target's own trials, as RGPE does (Feurer, Letham and
Bakshy, 2018): over bootstrap resamples of the target's complete trials, count the pairs each
surrogate orders wrongly (the target's own leave-one-out surrogate competes too); a source's
weight is the share of resamples it wins. A source that orders the target's trials no better
than chance gets weight 0, so a misleading source is dropped after the few trials it takes
to show it, and one that comes good later is taken back.

What samplers do with it (the same for every sampler that reads sources):

* **Initial design.** During a sampler's start (before its model), every other trial
  evaluates the best configuration the weighted sources predict and the target has not
  tried, so the start both exploits the sources and tests them against quasi-random points.
* **TPE** also adds each source's good trials to its good density ``l`` and the rest to
  ``g``, in proportion to the source's weight relative to the target's.
* **GP** (flat spaces) takes ``a + b * predict(x)`` as its prior mean after its start
  (``honed.samplers.gp._sampler._source_mean``).

Sources with another space: a parameter the target lacks is ignored; one the source lacks is
sampled as usual; a value outside the target's range (or not among its choices) is ignored
for that parameter, and logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from honed.history import History, Source
from honed.pareto import non_dominated_ranks
from honed.space import Distribution, ParamValue
from honed.trial import FrozenTrial

__all__ = ["Transfer", "warm_proposal", "warm_space"]

_log = logging.getLogger("honed.warm_start")

# Kernel width of the source surrogates, on the root-mean-square distance in the unit cube.
_BANDWIDTH = 0.15
# Bootstrap resamples of the target's trials that the source weights are counted over.
_N_BOOT = 64
# Target trials (the latest) and source trials (the best) the weights and predictions read.
_MAX_TARGET = 150
_MAX_SOURCE = 1000
# Source configurations the initial design picks from: the best this many of each source.
_TOP_K = 10
# Fewer complete target trials than this: no evidence yet, every source fully trusted.
_MIN_EVIDENCE = 3
# A candidate this close (RMS distance in the unit cube) to a target trial counts as tried.
_TRIED = 1e-3

_logged: set[tuple[str, str]] = set()


def _rank_quantiles(losses: np.ndarray) -> np.ndarray:
    """0 for the best row, 1 for the worst; ties share their mean rank; several objectives
    rank by non-dominated front."""
    n = len(losses)
    if n == 0:
        return np.empty(0)
    key = non_dominated_ranks(losses).astype(float) if losses.shape[1] > 1 else losses[:, 0]
    order = np.argsort(key, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n, dtype=float)
    for v in np.unique(key):  # ties: the mean rank
        same = key == v
        if same.sum() > 1:
            ranks[same] = ranks[same].mean()
    return ranks / max(n - 1, 1)


def _source_losses(source: Source, trials: Sequence[FrozenTrial]) -> np.ndarray:
    signs = np.array([d.sign for d in source.directions])
    losses = np.array([t.values for t in trials], dtype=float).reshape(len(trials), -1)
    losses = losses * signs
    infeasible = np.array([not t.is_feasible for t in trials])
    if infeasible.any():
        losses[infeasible] = np.nanmax(losses) + 1.0 + np.abs(losses[infeasible])
    return losses


def _encode(
    source: Source, trials: Sequence[FrozenTrial], space: Mapping[str, Distribution]
) -> np.ndarray:
    """Unit encodings of ``trials`` in ``space``; NaN where a trial lacks a parameter or its
    value lies outside the target's distribution (logged once per source and parameter)."""
    x = np.full((len(trials), len(space)), np.nan)
    for j, (name, dist) in enumerate(space.items()):
        outside = 0
        for i, t in enumerate(trials):
            if name not in t.params:
                continue
            v = t.params[name]
            if dist.contains(v):
                x[i, j] = dist.to_unit(v)
            else:
                outside += 1
        key = (source.name, f"{name}={dist!r}")
        if outside and key not in _logged:
            _logged.add(key)
            _log.info(
                "warm start: %d of %d trials of source %r have %r outside the target's %r; "
                "those values are ignored (the parameter is sampled as usual there).",
                outside,
                len(trials),
                source.name,
                name,
                dist,
            )
    return x


def _kernel(
    xq: np.ndarray, xs: np.ndarray, qs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kernel regression of ``qs`` (at ``xs``, non-empty) at ``xq`` over the parameters each
    pair shares: the predictions, the weights ``(m, n)``, their totals, the differences
    ``xq - xs`` (0 where a parameter is missing) and the shared-parameter counts."""
    diff = xq[:, None, :] - xs[None, :, :]
    present = ~np.isnan(diff)
    count = present.sum(axis=2)
    diff = np.where(present, diff, 0.0)
    mean_d2 = (diff**2).sum(axis=2) / np.maximum(count, 1)
    w = np.exp(-mean_d2 / (2 * _BANDWIDTH**2)) * (count > 0)
    total = w.sum(axis=1)
    pred = np.full(len(xq), 0.5)
    ok = total > 1e-300
    pred[ok] = (w[ok] @ qs) / total[ok]
    return pred, w, total, diff, count


def _kernel_predict(xq: np.ndarray, xs: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Kernel regression of ``qs`` (at ``xs``) at the points ``xq``, over the parameters both
    have; 0.5 (no opinion) where they share none."""
    if len(xs) == 0:
        return np.full(len(xq), 0.5)
    return _kernel(xq, xs, qs)[0]


def _kernel_predict_grad(
    xq: np.ndarray, xs: np.ndarray, qs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_kernel_predict` at complete rows ``xq`` and its gradient in ``xq``."""
    if len(xs) == 0:
        return np.full(len(xq), 0.5), np.zeros(xq.shape)
    pred, w, total, diff, count = _kernel(xq, xs, qs)
    # d w_i / d x = -w_i (x - x_i) / (h^2 count_i); d pred = sum_i dw_i (q_i - pred) / total
    coef = w * (qs[None, :] - pred[:, None]) / (_BANDWIDTH**2 * np.maximum(count, 1))
    grad = -np.einsum("mi,mid->md", coef, diff)
    ok = total > 1e-300
    grad[ok] /= total[ok, None]
    grad[~ok] = 0.0
    return pred, grad


@dataclass(frozen=True)
class _Encoded:
    source: Source
    trials: list[FrozenTrial]
    x: np.ndarray  # (n, d) unit encodings, NaN where unusable
    q: np.ndarray  # (n,) rank quantiles, 0 = the source's best


class Transfer:
    """The sources of ``history`` encoded in ``space``, and their weights from how well each
    ranks the target's complete trials."""

    def __init__(self, history: History, space: Mapping[str, Distribution]) -> None:
        self.space = dict(space)
        self.sources: list[_Encoded] = []
        for src in history.sources:
            complete = src.complete
            if not complete:
                continue
            q = _rank_quantiles(_source_losses(src, complete))
            keep = np.argsort(q, kind="stable")[:_MAX_SOURCE]
            trials = [complete[i] for i in keep]
            x = _encode(src, trials, self.space)
            usable = ~np.isnan(x).all(axis=1)
            if usable.any():
                enc = _Encoded(
                    src,
                    [t for t, u in zip(trials, usable, strict=True) if u],
                    x[usable],
                    q[keep][usable],
                )
                self.sources.append(enc)
        self.target_x, self.target_q = self._target(history)
        self.weights, self.target_weight = self._weights(np.random.default_rng(len(self.target_q)))

    def __bool__(self) -> bool:
        return bool(self.sources)

    def _target(self, history: History) -> tuple[np.ndarray, np.ndarray]:
        complete = [t for t in history.complete if t.values is not None][-_MAX_TARGET:]
        if not complete:
            return np.empty((0, len(self.space))), np.empty(0)
        losses = history.losses(complete)
        infeasible = np.array([not t.is_feasible for t in complete])
        if infeasible.any():
            losses[infeasible] = losses.max() + 1.0
        x = np.full((len(complete), len(self.space)), np.nan)
        for j, (name, dist) in enumerate(self.space.items()):
            for i, t in enumerate(complete):
                v = t.params.get(name)
                if name in t.params and dist.contains(v):
                    x[i, j] = dist.to_unit(v)
        return x, _rank_quantiles(losses)

    def _weights(self, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """RGPE weights of the sources and of the target's own surrogate (summing to 1)."""
        n_src = len(self.sources)
        n = len(self.target_q)
        if n_src == 0:
            return np.zeros(0), 1.0
        if n < _MIN_EVIDENCE:
            return np.full(n_src, 1.0 / n_src), 0.0
        xq, q = self.target_x, self.target_q
        preds = [_kernel_predict(xq, s.x, s.q) for s in self.sources]
        # The target's own surrogate, each trial predicted from the others.
        loo = np.empty(n)
        for i in range(n):
            others = np.arange(n) != i
            loo[i] = _kernel_predict(xq[i : i + 1], xq[others], q[others])[0]
        preds.append(loo)
        truth = np.sign(q[:, None] - q[None, :])
        counts = np.stack(
            [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(_N_BOOT)]
        ).astype(float)
        losses = []
        chance = []
        for p in preds:
            wrong = (np.sign(p[:, None] - p[None, :]) != truth) & (truth != 0)
            losses.append(np.einsum("bi,ij,bj->b", counts, wrong.astype(float), counts))
            compared = (truth != 0).sum()
            chance.append(wrong.sum() / max(compared, 1))
        loss = np.stack(losses)  # (models, boots)
        best = loss == loss.min(axis=0, keepdims=True)
        share = (best / best.sum(axis=0, keepdims=True)).mean(axis=1)
        w = share[:-1].copy()
        # No better than chance at ordering the target's trials: no weight at all.
        w[np.array(chance[:-1]) >= 0.5] = 0.0
        return w, float(1.0 - w.sum())

    def predict(self, x: np.ndarray) -> np.ndarray | None:
        """The sources' weighted rank prediction at ``x`` (lower is better), or None when no
        source has weight."""
        total = self.weights.sum()
        if total <= 0:
            return None
        out = np.zeros(len(x))
        for w, s in zip(self.weights, self.sources, strict=True):
            if w > 0:
                out += w * _kernel_predict(x, s.x, s.q)
        return out / total

    def predict_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`predict` at complete rows ``x`` and its gradient in ``x``."""
        total = self.weights.sum()
        if total <= 0:
            return None
        out, grad = np.zeros(len(x)), np.zeros(x.shape)
        for w, s in zip(self.weights, self.sources, strict=True):
            if w > 0:
                p, g = _kernel_predict_grad(x, s.x, s.q)
                out += w * p
                grad += w * g
        return out / total, grad / total


def warm_space(
    history: History, declared_space: Mapping[str, Distribution] | None
) -> dict[str, Distribution]:
    """The space a warm proposal fills: the declared one, else the parameters of the
    target's trials and, for names they lack, of the sources' trials."""
    if declared_space is not None:
        return {k: d for k, d in declared_space.items() if not d.is_single}
    space: dict[str, Distribution] = {}
    for t in history:
        for k, d in t.distributions.items():
            space.setdefault(k, d)
    for src in history.sources:
        for t in src.complete:
            for k, d in t.distributions.items():
                space.setdefault(k, d)
    return {k: d for k, d in space.items() if not d.is_single}


def warm_proposal(
    history: History,
    trial: FrozenTrial,
    space: Mapping[str, Distribution],
    transfer: Transfer | None = None,
) -> dict[str, ParamValue]:
    """The initial-design proposal for ``trial`` (during a sampler's start): on every other
    trial, the untried source configuration the weighted sources rank best; empty otherwise
    (odd trials, no source with weight, nothing left to try). Parameters the chosen source
    trial lacks, or holds outside ``space``, are left out (sampled as usual)."""
    if not history.sources or trial.number % 2 or not space:
        return {}
    tr = transfer if transfer is not None else Transfer(history, space)
    if not tr or tr.weights.sum() <= 0:
        return {}
    cand_x: list[np.ndarray] = []
    cand_trials: list[FrozenTrial] = []
    own: list[tuple[int, np.ndarray]] = []  # (source index, rank quantiles) of the candidates
    for k, (w, s) in enumerate(zip(tr.weights, tr.sources, strict=True)):
        if w <= 0:
            continue
        top = np.argsort(s.q, kind="stable")[:_TOP_K]
        cand_x.append(s.x[top])
        cand_trials.extend(s.trials[i] for i in top)
        own.append((k, s.q[top]))
    x = np.vstack(cand_x)
    tried = _tried(history, tr)
    if len(tried):
        diff = x[:, None, :] - tried[None, :, :]
        present = ~np.isnan(diff)
        d2 = (np.where(present, diff, 0.0) ** 2).sum(axis=2) / np.maximum(present.sum(axis=2), 1)
        fresh = (d2 > _TRIED**2).all(axis=1)
    else:
        fresh = np.ones(len(x), dtype=bool)
    if not fresh.any():
        return {}
    # The weighted sources' rank prediction, each candidate's own source giving its measured
    # rank rather than a smoothed one (so one source proposes its best trials in order).
    total = tr.weights.sum()
    score = np.zeros(len(x))
    start = 0
    for k, q_own in own:
        for j, (w, s) in enumerate(zip(tr.weights, tr.sources, strict=True)):
            if w <= 0:
                continue
            rows = slice(start, start + len(q_own))
            score[rows] += w * (q_own if j == k else _kernel_predict(x[rows], s.x, s.q))
        start += len(q_own)
    score /= total
    score[~fresh] = np.inf
    pick = int(np.argmin(score))
    chosen = cand_trials[pick]
    names = list(tr.space)
    return {names[j]: chosen.params[names[j]] for j in np.flatnonzero(~np.isnan(x[pick]))}


def _tried(history: History, tr: Transfer) -> np.ndarray:
    """Encodings of every target trial that holds parameters (running ones included)."""
    rows = []
    for t in history:
        row = [
            dist.to_unit(t.params[k]) if k in t.params and dist.contains(t.params[k]) else np.nan
            for k, dist in tr.space.items()
        ]
        if not all(np.isnan(row)):
            rows.append(row)
    return np.array(rows, dtype=float).reshape(len(rows), len(tr.space))


def source_rows(
    tr: Transfer, names: Sequence[str], gamma: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """For TPE: each weighted source's good rows (its best ``gamma`` share), other rows, and
    its weight relative to the target's, over the parameters ``names`` (rows lacking one
    left out)."""
    cols = [list(tr.space).index(n) for n in names]
    out = []
    for w, s in zip(tr.weights, tr.sources, strict=True):
        if w <= 0:
            continue
        x = s.x[:, cols]
        ok = ~np.isnan(x).any(axis=1)
        if ok.sum() < 2:
            continue
        x, q = x[ok], s.q[ok]
        good = q <= np.quantile(q, gamma)
        out.append((x[good], x[~good], float(w / max(tr.target_weight, 0.1))))
    return out
