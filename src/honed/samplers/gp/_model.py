"""A Gaussian-process regressor in numpy/scipy: Matérn-5/2 with one lengthscale per input.

Inputs are unit encodings (``honed.space``). Numeric columns enter the distance as
``(x - x')^2 / l^2``; categorical columns (the unit code of an option) as ``[x != x'] / l^2``,
an overlap (Hamming) kernel with one lengthscale per parameter.

Hyperparameters (log lengthscales, log signal variance, log noise variance) are fitted by
maximum a posteriori with analytic gradients and L-BFGS-B. The lengthscale prior is the
dimension-scaled log-normal of Hvarfner et al. (2024), which keeps vanilla BO sound as the
dimension grows; the outputs are expected to be standardized by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, overload

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize

__all__ = ["GP", "PriorMean", "fit_gp"]

# A prior mean function: ``(rows (m, d), grad)`` -> its values ``(m,)`` and, with ``grad``,
# its gradients ``(m, d)`` (None without).
PriorMean = Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]

_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)

# Bounds of the hyperparameters (log scale). Noise is a variance on standardized outputs.
_LOG_LS_BOUNDS = (math.log(5e-3), math.log(1e3))
_LOG_SIG_BOUNDS = (math.log(5e-2), math.log(20.0))
_LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))


def _pairwise_d2(a: np.ndarray, b: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Per-dimension squared distances, shape ``(len(a), len(b), d)``."""
    diff = a[:, None, :] - b[None, :, :]
    d2 = diff * diff
    if is_cat.any():
        d2[..., is_cat] = (np.abs(diff[..., is_cat]) > 1e-9).astype(float)
    return d2


def _scaled_r2(a: np.ndarray, b: np.ndarray, inv_ls2: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Squared scaled distances ``(len(a), len(b))`` without a ``(len(a), len(b), d)``
    tensor: numeric columns by the expanded dot product, categorical ones one by one."""
    num = ~is_cat
    w = np.sqrt(inv_ls2[num])
    an, bn = a[:, num] * w, b[:, num] * w
    r2 = (an * an).sum(1)[:, None] + (bn * bn).sum(1)[None, :] - 2.0 * an @ bn.T
    np.maximum(r2, 0.0, out=r2)
    for j in np.flatnonzero(is_cat):
        r2 += inv_ls2[j] * (np.abs(a[:, j, None] - b[None, :, j]) > 1e-9)
    return r2


def _matern(r2: np.ndarray, sig2: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel values and their derivative with respect to ``r^2``."""
    r = np.sqrt(np.maximum(r2, 0.0))
    e = np.exp(-_SQRT5 * r)
    k = sig2 * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e
    dk_dr2 = -(5.0 / 6.0) * sig2 * (1.0 + _SQRT5 * r) * e
    return k, dk_dr2


def _cholesky(k: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor, adding jitter (growing tenfold) until it succeeds."""
    n = len(k)
    scale = float(np.mean(np.diag(k))) if n else 1.0
    jitter = 0.0
    for _ in range(10):
        try:
            return np.linalg.cholesky(k + jitter * np.eye(n) if jitter else k)
        except np.linalg.LinAlgError:
            jitter = 1e-9 * scale if jitter == 0.0 else jitter * 10.0
    # Last resort: an eigen-decomposition clipped to positive values.
    w, v = np.linalg.eigh(k)
    w = np.maximum(w, 1e-6 * scale)
    return np.linalg.cholesky((v * w) @ v.T + 1e-9 * scale * np.eye(n))


class GP:
    """A fitted GP posterior over ``(X, y)`` with fixed hyperparameters.

    Args:
        x: ``(n, d)`` inputs in the unit cube.
        y: ``(n,)`` outputs, standardized.
        is_cat: ``(d,)`` boolean mask of categorical columns.
        theta: ``log lengthscales (d), log signal variance, log noise variance``.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        is_cat: np.ndarray,
        theta: np.ndarray,
        mean: PriorMean | None = None,
    ):
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.is_cat = np.asarray(is_cat, dtype=bool)
        self.theta = np.asarray(theta, dtype=float)
        self.mean = mean
        resid = self.y if mean is None else self.y - mean(self.x, False)[0]
        d = self.x.shape[1]
        self.inv_ls2 = np.exp(-2.0 * self.theta[:d])
        self.sig2 = float(np.exp(self.theta[d]))
        self.noise = float(np.exp(self.theta[d + 1]))
        r2 = _scaled_r2(self.x, self.x, self.inv_ls2, self.is_cat)
        np.fill_diagonal(r2, 0.0)
        k, _ = _matern(r2, self.sig2)
        k[np.diag_indices_from(k)] += self.noise
        self.chol = _cholesky(k)
        self.alpha = cho_solve((self.chol, True), resid)

    def condition_on(self, x_new: np.ndarray, y_new: np.ndarray) -> GP:
        """The same hyperparameters conditioned on extra points (used for fantasies)."""
        return GP(
            np.vstack([self.x, x_new]),
            np.concatenate([self.y, y_new]),
            self.is_cat,
            self.theta,
            self.mean,
        )

    @overload
    def predict(
        self, xq: np.ndarray, grad: Literal[False] = False
    ) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def predict(
        self, xq: np.ndarray, grad: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

    def predict(self, xq: np.ndarray, grad: bool = False) -> tuple[np.ndarray, ...]:
        """Posterior mean and variance at ``xq`` ``(m, d)``; with ``grad``, also their
        gradients ``(m, d)`` (zero along categorical columns)."""
        xq = np.atleast_2d(xq)
        if not grad:
            kx, _ = _matern(_scaled_r2(xq, self.x, self.inv_ls2, self.is_cat), self.sig2)
            mean = kx @ self.alpha
            if self.mean is not None:
                mean = mean + self.mean(xq, False)[0]
            v = solve_triangular(self.chol, kx.T, lower=True, check_finite=False)
            return mean, np.maximum(self.sig2 - np.einsum("ij,ij->j", v, v), 1e-12)
        diff = xq[:, None, :] - self.x[None, :, :]
        d2 = diff * diff
        cat = self.is_cat
        if cat.any():
            d2[..., cat] = (np.abs(diff[..., cat]) > 1e-9).astype(float)
        r2 = d2 @ self.inv_ls2
        kx, dk_dr2 = _matern(r2, self.sig2)
        mean = kx @ self.alpha
        # Triangular solves, not an explicit K^-1: with a tiny noise the variance is a
        # difference of nearly equal numbers and the inverse loses it.
        v = solve_triangular(self.chol, kx.T, lower=True, check_finite=False)  # (n, m)
        var = np.maximum(self.sig2 - np.einsum("ij,ij->j", v, v), 1e-12)
        kinv_k = solve_triangular(self.chol.T, v, lower=False, check_finite=False)  # (n, m)
        # d k(x, X_j) / d x_i = dk/dr2 * 2 (x_i - X_ji) / l_i^2 on numeric columns; the
        # mean takes alpha and the variance -2 K^-1 k(x) as weights, in one batched product.
        m = len(xq)
        w = np.empty((m, len(self.x), 2))
        w[:, :, 0] = self.alpha
        w[:, :, 1] = -2.0 * kinv_k.T
        w *= dk_dr2[:, :, None]
        r = np.matmul(diff.transpose(0, 2, 1), w) * (2.0 * self.inv_ls2)[None, :, None]
        if cat.any():
            r[:, cat, :] = 0.0
        dmean, dvar = r[..., 0], r[..., 1]
        if self.mean is not None:
            m0, dm0 = self.mean(xq, True)
            assert dm0 is not None
            mean = mean + m0
            dmean = dmean + np.where(cat[None, :], 0.0, dm0)
        return mean, var, dmean, dvar


# Prior settings. ``ls_shift``: the Gaussian on the log lengthscale is centred at
# ``sqrt(2) + log(d)/2 - ls_shift``. 3 (= sigma^2) puts it at the mode of Hvarfner et al.'s
# log-normal on the lengthscale itself, which is where a MAP fit over the lengthscale (as in
# BoTorch) lands; centring at sqrt(2) + log(d)/2 instead (lengthscales 20x longer) lost at
# 10-20 dimensions (bench/results/gp-vs-optuna-gp-synthetic-50trials-10seeds.md).
# ``noise_mu``/``noise_sd``: log noise variance on standardized outputs.
PRIOR = {"ls_shift": 3.0, "noise_mu": -6.0, "noise_sd": 2.0}


def _log_prior(theta: np.ndarray, d: int, prior: dict | None = None) -> tuple[float, np.ndarray]:
    """Log prior density (up to a constant) and its gradient."""
    pr = PRIOR if prior is None else prior
    g = np.zeros_like(theta)
    # Lengthscales: LogNormal(sqrt(2) + log(d) / 2, sqrt(3)) (Hvarfner et al., 2024), at its mode.
    mu_ls = math.sqrt(2.0) + 0.5 * math.log(max(d, 1)) - pr["ls_shift"]
    s_ls = math.sqrt(3.0)
    z = (theta[:d] - mu_ls) / s_ls
    lp = -0.5 * float(z @ z)
    g[:d] = -z / s_ls
    # Signal variance: LogNormal(0, 1) around the standardized output variance.
    lp += -0.5 * theta[d] ** 2
    g[d] = -theta[d]
    # Noise variance: LogNormal(-6, 2); deterministic objectives push it to the floor.
    zn = (theta[d + 1] - pr["noise_mu"]) / pr["noise_sd"]
    lp += -0.5 * zn * zn
    g[d + 1] = -zn / pr["noise_sd"]
    return lp, g


def _neg_log_posterior(
    theta: np.ndarray, d2: np.ndarray, y: np.ndarray, prior: dict | None = None
) -> tuple[float, np.ndarray]:
    n, _, d = d2.shape
    inv_ls2 = np.exp(-2.0 * theta[:d])
    sig2 = math.exp(theta[d])
    noise = math.exp(theta[d + 1])
    r2 = d2 @ inv_ls2
    k, dk_dr2 = _matern(r2, sig2)
    kn = k.copy()
    kn[np.diag_indices_from(kn)] += noise
    try:
        chol = np.linalg.cholesky(kn)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = cho_solve((chol, True), y, check_finite=False)
    nll = 0.5 * float(y @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * n * _LOG_2PI
    # K^-1 from the Cholesky factor (LAPACK potri fills one triangle).
    kinv, info = dpotri(chol, lower=1)
    if info:
        return 1e10, np.zeros_like(theta)
    kinv = np.tril(kinv) + np.tril(kinv, -1).T
    w = np.outer(alpha, alpha) - kinv  # d nll / d theta = -0.5 * sum(w * dK/dtheta)
    g = np.empty_like(theta)
    m = w * dk_dr2
    # dK/dlog l_i = dk/dr2 * (-2 d2_i / l_i^2)
    g[:d] = (m.reshape(-1) @ d2.reshape(n * n, d)) * inv_ls2
    g[d] = -0.5 * float(np.sum(w * k))
    g[d + 1] = -0.5 * noise * float(np.trace(w))
    lp, glp = _log_prior(theta, d, prior)
    return nll - lp, g - glp


def default_theta(d: int) -> np.ndarray:
    """The prior's mode: where a fit starts when nothing better is known."""
    mu_ls = math.sqrt(2.0) + 0.5 * math.log(max(d, 1)) - 3.0  # mode of the log-normal
    theta = np.empty(d + 2)
    theta[:d] = np.clip(mu_ls, *_LOG_LS_BOUNDS)
    theta[d] = 0.0
    theta[d + 1] = math.log(1e-4)
    return theta


def fit_gp(
    x: np.ndarray,
    y: np.ndarray,
    is_cat: np.ndarray,
    rng: np.random.Generator,
    warm_start: np.ndarray | None = None,
    n_restarts: int = 2,
    max_fit_points: int = 200,
    maxiter: int = 200,
    prior: dict | None = None,
    mean: PriorMean | None = None,
) -> GP:
    """MAP hyperparameters by L-BFGS-B from the warm start (if any), the prior's mode and
    ``n_restarts - 1`` draws from the prior; conditioned on all points.

    With more than ``max_fit_points`` points the hyperparameters are fitted on a subset (the
    best quarter plus a random rest), which keeps refits cheap at large budgets. With a prior
    ``mean``, the GP models the residuals ``y - mean(x)``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    resid = y if mean is None else y - mean(x, False)[0]
    if n > max_fit_points:
        n_best = max_fit_points // 4
        order = np.argsort(y)
        rest = rng.choice(order[n_best:], max_fit_points - n_best, replace=False)
        idx = np.concatenate([order[:n_best], rest])
        xf, yf = x[idx], resid[idx]
    else:
        xf, yf = x, resid
    d2 = _pairwise_d2(xf, xf, is_cat)
    bounds = [_LOG_LS_BOUNDS] * d + [_LOG_SIG_BOUNDS, _LOG_NOISE_BOUNDS]
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    starts = []
    if warm_start is not None and len(warm_start) == d + 2:
        starts.append(np.clip(warm_start, lo, hi))
    if not starts or n_restarts > 1:
        starts.append(default_theta(d))
    pr = PRIOR if prior is None else prior
    mu_ls = math.sqrt(2.0) + 0.5 * math.log(max(d, 1)) - pr["ls_shift"]
    for _ in range(max(n_restarts - len(starts), 0)):
        t = default_theta(d)
        t[:d] = mu_ls + math.sqrt(3.0) * rng.standard_normal(d) * 0.5
        starts.append(np.clip(t, lo, hi))
    best_theta, best_f = starts[0], math.inf
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for t0 in starts:
            res = minimize(
                _neg_log_posterior,
                t0,
                args=(d2, yf, prior),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": maxiter},
            )
            f = float(res.fun)
            if np.isfinite(f) and f < best_f and np.all(np.isfinite(res.x)):
                best_f, best_theta = f, res.x
    return GP(x, y, is_cat, best_theta, mean)
