"""Acquisition functions on GP posteriors (minimization form) and their optimizer.

``log EI`` follows Ament et al. (2023, "Unexpected improvements to expected improvement"): EI
is computed in log space with a branch for the far tail, so it keeps a useful gradient where
plain EI underflows to zero. Constraints multiply in the probability of feasibility (added in
log space). The optimizer scores quasi-random and local candidates, then polishes the best
few with one batched L-BFGS-B run over the numeric columns.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, overload

import numpy as np
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr
from scipy.stats import qmc

from honed.samplers.gp._model import GP

__all__ = ["Acquisition", "LogEI", "add_log_feasibility", "log_h", "optimize_acquisition"]

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_TAIL = -1.0 / math.sqrt(np.finfo(float).eps)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate on both sides of ``-log 2``."""
    x = np.minimum(x, -1e-300)
    return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_h(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(phi(z) + z Phi(z))`` and its derivative ``Phi(z) / h(z)``, stable for all z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    dz = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu - _C1) + zu * np.exp(log_ndtr(zu)))
    dz[upper] = np.exp(log_ndtr(zu) - out[upper])
    mid = ~upper & (z > _TAIL)
    zm = z[mid]
    ex = erfcx(-zm * _INV_SQRT2)
    l1m = _log1mexp(np.log(ex * -zm) + _C2)
    out[mid] = -0.5 * zm * zm - _C1 + l1m
    # Phi(z) / h(z) = sqrt(pi/2) erfcx(-z/sqrt2) / (1 - |z| sqrt(pi/2) erfcx(-z/sqrt2))
    dz[mid] = math.exp(_C2) * ex * np.exp(-l1m)
    far = ~upper & ~mid
    zf = z[far]
    out[far] = -0.5 * zf * zf - _C1 - 2.0 * np.log(-zf)
    dz[far] = -zf - 2.0 / zf
    return out, dz


class Acquisition(Protocol):
    """What :func:`optimize_acquisition` maximizes: values ``(m,)`` at candidates ``(m, d)``,
    and with ``grad=True`` their gradients ``(m, d)`` too."""

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[False] = False) -> np.ndarray: ...

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...


class LogEI:
    """log expected improvement below ``best`` times the probability that every constraint
    model stays ``<= threshold``.

    Args:
        gp: Objective model (lower is better).
        best: Incumbent value in the model's units.
        constraints: ``(model, threshold)`` pairs, each feasible when below its threshold.
    """

    def __init__(self, gp: GP, best: float, constraints: Sequence[tuple[GP, float]] = ()) -> None:
        self.gp = gp
        self.best = best
        self.constraints = list(constraints)

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[False] = False) -> np.ndarray: ...

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def __call__(
        self, x: np.ndarray, grad: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Values ``(m,)`` (and gradients ``(m, d)`` with ``grad``) at ``x`` ``(m, d)``."""
        g = None
        if grad:
            mean, var, dmean, dvar = self.gp.predict(x, grad=True)
        else:
            mean, var = self.gp.predict(x)
        sd = np.sqrt(var)
        z = (self.best - mean) / sd
        lh, dlh = log_h(z)
        val = lh + np.log(sd)
        if grad:
            dsd = dvar / (2.0 * sd)[:, None]
            dz = -dmean / sd[:, None] - z[:, None] * dsd / sd[:, None]
            g = dlh[:, None] * dz + dsd / sd[:, None]
        val, g = add_log_feasibility(val, g, self.constraints, x)
        return val if g is None else (val, g)


def add_log_feasibility(
    val: np.ndarray,
    g: np.ndarray | None,
    constraints: Sequence[tuple[GP, float]],
    x: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``val`` plus the log probability that each constraint model stays ``<= threshold``
    at ``x`` ``(m, d)`` (models independent); ``g`` plus its gradient when ``g`` is given."""
    grad = g is not None
    for model, thr in constraints:
        if grad:
            cm, cv, dcm, dcv = model.predict(x, grad=True)
        else:
            cm, cv = model.predict(x)
        csd = np.sqrt(cv)
        cz = (thr - cm) / csd
        lp = log_ndtr(cz)
        val = val + lp
        if grad:
            dcsd = dcv / (2.0 * csd)[:, None]
            dcz = -dcm / csd[:, None] - cz[:, None] * dcsd / csd[:, None]
            ratio = np.exp(-0.5 * cz * cz - _C1 - lp)  # phi / Phi
            g = g + ratio[:, None] * dcz
    return val, g


def _sobol(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return qmc.Sobol(d, scramble=True, seed=rng).random(n)


def optimize_acquisition(
    acq: Acquisition,
    is_cat: np.ndarray,
    n_options: np.ndarray,
    rng: np.random.Generator,
    anchors: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    n_raw: int = 1024,
    n_local: int = 512,
    n_polish: int = 6,
    maxiter: int = 100,
    fix: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, float]:
    """Maximize ``acq`` over the unit cube (or ``[lower, upper]`` for numeric columns).

    Args:
        is_cat: Categorical columns; they take codes ``(i + 0.5) / n_options``.
        anchors: Good points (best observed first); local candidates perturb them.
        fix: Optional map applied to candidate matrices (e.g. to reset inactive columns of
            a conditional space).

    Returns:
        The best point and its acquisition value.
    """
    d = len(is_cat)
    lo = np.zeros(d) if lower is None else lower
    hi = np.ones(d) if upper is None else upper
    num = ~is_cat
    raw = lo + (hi - lo) * _sobol(n_raw, d, rng)
    cand = [raw]
    if len(anchors) and n_local:
        a = anchors[rng.integers(len(anchors), size=n_local)]
        # Mostly the best anchor: exploitation around the incumbent is what EI needs late on.
        a[: n_local // 2] = anchors[0]
        scale = np.where(rng.random(n_local) < 0.5, 0.02, 0.12)[:, None]
        # Perturb a random subset of numeric columns (all of them when d is small).
        p = min(1.0, 5.0 / max(num.sum(), 1))
        mask = (rng.random((n_local, d)) < p) & num
        local = a + mask * scale * rng.standard_normal((n_local, d))
        local = np.clip(local, lo, hi)
        cand.append(local)
    x = np.vstack(cand)
    if is_cat.any():
        cols = np.flatnonzero(is_cat)
        codes = (rng.integers(0, n_options[cols], size=(len(raw), len(cols))) + 0.5) / n_options[
            cols
        ]
        x[: len(raw), cols] = codes
        if len(cand) > 1:
            # Local candidates flip one categorical column now and then.
            loc = x[len(raw) :]
            flip = rng.random(len(loc)) < 0.3
            which = cols[rng.integers(len(cols), size=len(loc))]
            newc = (rng.integers(0, n_options[which]) + 0.5) / n_options[which]
            loc[flip, which[flip]] = newc[flip]
    if fix is not None:
        x = fix(x)
    vals = np.concatenate([acq(x[i : i + 2048]) for i in range(0, len(x), 2048)])
    vals = np.where(np.isfinite(vals), vals, -np.inf)
    order = np.argsort(-vals)
    best_i = int(order[0])
    best_x, best_v = x[best_i].copy(), float(vals[best_i])
    if not num.any() or n_polish <= 0:
        return best_x, best_v
    # Polish the top distinct candidates with one L-BFGS-B run on the stacked numeric columns
    # (the batch objective is a sum of independent terms, so the gradient separates).
    starts: list[np.ndarray] = []
    for i in order:
        xi = x[i]
        if not np.isfinite(vals[i]):
            break
        if all(np.max(np.abs(xi - s)) > 1e-6 for s in starts):
            starts.append(xi)
        if len(starts) >= n_polish:
            break
    x0 = np.array(starts)
    k = len(x0)
    nd = int(num.sum())

    def f(flat: np.ndarray) -> tuple[float, np.ndarray]:
        xx = x0.copy()
        xx[:, num] = flat.reshape(k, nd)
        if fix is not None:
            xx = fix(xx)
        v, g = acq(xx, grad=True)
        v = np.where(np.isfinite(v), v, -1e10)
        g = np.where(np.isfinite(g), g, 0.0)
        return -float(v.sum()), -g[:, num].ravel()

    bounds = list(zip(np.tile(lo[num], k), np.tile(hi[num], k), strict=True))
    with np.errstate(all="ignore"):
        res = minimize(
            f,
            x0[:, num].ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter},
        )
    xx = x0.copy()
    xx[:, num] = np.clip(res.x.reshape(k, nd), lo[num], hi[num])
    if fix is not None:
        xx = fix(xx)
    pv = acq(xx)
    j = int(np.nanargmax(np.where(np.isfinite(pv), pv, -np.inf)))
    if np.isfinite(pv[j]) and pv[j] > best_v:
        return xx[j], float(pv[j])
    return best_x, best_v
