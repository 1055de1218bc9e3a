"""Parzen estimators over honed's unit encodings, evaluated for many points in one shot.

Every dimension lives in ``[0, 1]`` (the shared encoding of ``space.py``). A mixture has one
component per observation plus one *prior* component (a wide Gaussian at the centre, uniform
over categories), so a density is never zero anywhere and sparse data cannot make TPE greedy.

* continuous dimensions: Gaussians truncated to ``[0, 1]``;
* discrete numeric dimensions (``Int``, ``Float`` with ``step``): the Gaussian's mass over the
  candidate's bin, so coarse integers are modelled as what they are;
* categories: each observation keeps most of its mass on its own option and spreads a little
  over the others (shrinking as data grows); the prior is uniform.

A multivariate estimator multiplies per-dimension kernels inside each component (a product
kernel), so it models parameters jointly; a univariate TPE is the same code with one dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from honed.space import Choice, Distribution, Float, Int

__all__ = ["Dim", "Parzen", "dims_of"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_TINY = 1e-300

CONT, DISC, CAT = 0, 1, 2


@dataclass(frozen=True)
class Dim:
    """How one parameter's unit encoding is modelled.

    ``kind`` is CONT, DISC or CAT. ``n`` is the number of options (CAT) or of bins (linear
    DISC). A log-scaled ``Int`` is DISC with ``n == 0`` and its integer range in ``lo``/``hi``.
    """

    kind: int
    n: int = 0
    lo: int = 0
    hi: int = 0

    def snap(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For DISC: (centre, lower edge, upper edge) of the bin holding each ``u``; the centre
        is exactly the encoding of the value ``from_unit`` decodes ``u`` to."""
        u = np.clip(u, 0.0, 1.0)
        if self.n:
            k = np.minimum(np.floor(u * self.n), self.n - 1)
            return (k + 0.5) / self.n, k / self.n, (k + 1.0) / self.n
        a, b = math.log(self.lo - 0.5), math.log(self.hi + 0.5)
        v = np.clip(np.round(np.exp(a + u * (b - a))), self.lo, self.hi)
        span = b - a
        return (
            (np.log(v) - a) / span,
            (np.log(v - 0.5) - a) / span,
            np.minimum((np.log(v + 0.5) - a) / span, 1.0),
        )


def dims_of(dists: list[Distribution]) -> list[Dim]:
    out = []
    for d in dists:
        if isinstance(d, Choice):
            out.append(Dim(CAT, n=len(d.choices)))
        elif isinstance(d, Int):
            out.append(Dim(DISC, lo=d.low, hi=d.high) if d.log else Dim(DISC, n=d.n_values))
        elif isinstance(d, Float) and d.step is not None:
            out.append(Dim(DISC, n=d.n_steps or 1))
        else:
            out.append(Dim(CONT))
    return out


def _neighbour_sigmas(mus: np.ndarray) -> np.ndarray:
    """Per-point bandwidths, column by column: the larger gap to a sorted neighbour (the
    domain ends count as neighbours only for interior points), as in the original TPE."""
    n, d = mus.shape
    if n == 1:
        return np.full((1, d), 0.5)
    order = np.argsort(mus, axis=0)
    s = np.take_along_axis(mus, order, axis=0)
    padded = np.vstack([np.zeros((1, d)), s, np.ones((1, d))])
    gaps = np.diff(padded, axis=0)  # (n + 1, d)
    sig = np.maximum(gaps[:-1], gaps[1:])
    if n >= 2:
        sig[0] = gaps[1]
        sig[-1] = gaps[-2]
    out = np.empty_like(sig)
    np.put_along_axis(out, order, sig, axis=0)
    return out


def logsumexp(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``log(sum(exp(a)))`` along ``axis``, stable (scipy's is slow on small arrays)."""
    mx = np.max(a, axis=axis, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    out = np.log(np.sum(np.exp(a - mx), axis=axis, keepdims=True)) + mx
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


class Parzen:
    """A weighted mixture of product kernels over unit-encoded points.

    Args:
        x: ``(n, d)`` unit encodings of the observations (categories as their encodings).
        weights: ``(n,)`` non-negative observation weights.
        dims: How each column is modelled.
        prior_weight: Weight of the prior component relative to one observation of weight 1.
        bandwidth: ``"neighbour"`` (per-point gap heuristic) or ``"scott"`` (one bandwidth per
            dimension from the data's spread).
        bw_factor: Multiplies the bandwidths.
        min_bw: Numeric bandwidths are clipped below at ``max(min_bw, 1 / min(100, n + 2))``
            (the "magic clip", which keeps kernels from collapsing onto single points).
        cat_spread: Share of an observation's categorical mass spread over the other options,
            times ``1 / (n + 1)``.
    """

    def __init__(
        self,
        x: np.ndarray,
        weights: np.ndarray,
        dims: list[Dim],
        *,
        prior_weight: float = 1.0,
        bandwidth: str = "neighbour",
        bw_factor: float = 1.0,
        min_bw: float = 0.0,
        cat_spread: float = 1.0,
    ) -> None:
        n, d = x.shape
        self.dims = dims
        w = np.append(np.asarray(weights, dtype=float), prior_weight)
        self.log_w = np.log(np.maximum(w / w.sum(), _TINY))
        self.num = [j for j, dm in enumerate(dims) if dm.kind != CAT]
        self.cont = [j for j in self.num if dims[j].kind == CONT]
        self.disc = [j for j in self.num if dims[j].kind == DISC]
        self.cat = [j for j, dm in enumerate(dims) if dm.kind == CAT]

        if self.num:
            mus = x[:, self.num]
            if n == 0:
                sig = np.empty((0, len(self.num)))
            elif bandwidth == "scott":
                # One bandwidth per dimension from the weighted spread, Scott's n^(-1/(d+4)).
                ww = np.asarray(weights, dtype=float)
                ww = ww / ww.sum()
                mean = ww @ mus
                std = np.sqrt(np.maximum(ww @ (mus - mean) ** 2, 0.0))
                std = np.maximum(std, 1.0 / math.sqrt(12.0) / max(n, 1))
                h = bw_factor * std * n ** (-1.0 / (d + 4))
                sig = np.broadcast_to(h, mus.shape).copy()
            else:
                sig = _neighbour_sigmas(mus) * bw_factor
            floor = max(min_bw, 1.0 / min(100.0, n + 2.0))
            sig = np.clip(sig, floor, 1.0)
            self.mu = np.vstack([mus, np.full((1, len(self.num)), 0.5)])
            self.sigma = np.vstack([sig, np.ones((1, len(self.num)))])
            # log of each truncated Gaussian's mass inside [0, 1]
            self.log_z = np.log(
                np.maximum(ndtr((1.0 - self.mu) / self.sigma) - ndtr(-self.mu / self.sigma), _TINY)
            )
            if self.cont:
                # the quadratic form of the continuous dimensions, expanded for matrix products
                pos = [self.num.index(j) for j in self.cont]
                mu, sg = self.mu[:, pos], self.sigma[:, pos]
                self._inv_var = 1.0 / (sg * sg)  # (n + 1, d_cont)
                self._mu_iv = mu * self._inv_var
                self._const = -0.5 * (mu * self._mu_iv).sum(axis=1) - (
                    np.log(sg) + self.log_z[:, pos] + _LOG_SQRT_2PI
                ).sum(axis=1)
        self.cat_logp: list[np.ndarray] = []
        self.cat_cum: list[np.ndarray] = []
        for j in self.cat:
            k = dims[j].n
            idx = np.minimum((x[:, j] * k).astype(int), k - 1)
            spread = cat_spread / (n + 1)
            p = np.full((n + 1, k), spread)
            p[np.arange(n), idx] += 1.0
            p[n] = 1.0  # the prior: uniform
            p /= p.sum(axis=1, keepdims=True)
            self.cat_logp.append(np.log(p))
            self.cat_cum.append(np.cumsum(p, axis=1))

    def sample(self, rng: np.random.Generator, m: int) -> np.ndarray:
        """``m`` points drawn from the mixture, discrete values snapped to their encodings."""
        d = len(self.dims)
        comp = rng.choice(len(self.log_w), size=m, p=np.exp(self.log_w - logsumexp(self.log_w)))
        out = np.empty((m, d))
        if self.num:
            mu, sg = self.mu[comp], self.sigma[comp]
            lo, hi = ndtr(-mu / sg), ndtr((1.0 - mu) / sg)
            p = lo + rng.random(mu.shape) * (hi - lo)
            p = np.clip(p, 1e-300, 1.0 - 1e-16)
            u = np.clip(mu + sg * ndtri(p), 0.0, 1.0)
            out[:, self.num] = u
            for j in self.disc:
                out[:, j] = self.dims[j].snap(out[:, j])[0]
        for cum, j in zip(self.cat_cum, self.cat, strict=True):
            r = rng.random(m)[:, None]
            idx = np.minimum((r > cum[comp]).sum(axis=1), self.dims[j].n - 1)
            out[:, j] = (idx + 0.5) / self.dims[j].n
        return out

    def log_pdf(self, u: np.ndarray) -> np.ndarray:
        """Log density (log mass for discrete dimensions) of each row of ``u``: ``(m,)``."""
        m = u.shape[0]
        total = np.broadcast_to(self.log_w, (m, len(self.log_w))).copy()
        if self.cont:
            uc = u[:, self.cont]
            total += -0.5 * (uc * uc) @ self._inv_var.T + uc @ self._mu_iv.T + self._const[None, :]
        if self.disc:
            pos = [self.num.index(j) for j in self.disc]
            mu, sg, lz = self.mu[:, pos], self.sigma[:, pos], self.log_z[:, pos]
            edges = [self.dims[j].snap(u[:, j]) for j in self.disc]
            lo = np.stack([e[1] for e in edges], axis=1)[:, None, :]
            hi = np.stack([e[2] for e in edges], axis=1)[:, None, :]
            a = (lo - mu[None]) / sg[None]
            b = (hi - mu[None]) / sg[None]
            # Mass of [a, b] under N(0, 1), taken on the side of the mean that keeps precision
            # (mirrored when the bin lies above the mean: two ndtr calls, not four).
            flip = np.where(a > 0, -1.0, 1.0)
            mass = np.abs(ndtr(flip * b) - ndtr(flip * a))
            total += np.log(np.maximum(mass, _TINY)).sum(axis=2) - lz.sum(axis=1)
        for logp, j in zip(self.cat_logp, self.cat, strict=True):
            k = self.dims[j].n
            idx = np.minimum((u[:, j] * k).astype(int), k - 1)
            total += logp[:, idx].T
        return logsumexp(total, axis=1)
