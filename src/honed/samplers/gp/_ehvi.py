"""log expected hypervolume improvement (EHVI) for 2-3 minimized objectives.

Each objective has its own GP, so at a candidate the objectives are independent Gaussians.
The region that is not dominated by the current front (and below the reference point) is cut
into disjoint axis-aligned boxes (:func:`honed.pareto.nondominated_boxes`); the hypervolume a
new point ``y`` adds is then ``sum_k prod_j max(0, u_kj - max(y_j, l_kj))``, and because the
objectives are independent the expectation of each product is the product of one-dimensional
expectations, each in closed form. This is exact, with analytic gradients, for any number of
objectives; the number of boxes grows like ``n^(m-1)`` for ``n`` front points, so it is used
for ``m <= 3``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, overload

import numpy as np
from scipy.special import ndtr

from honed.pareto import nondominated_boxes
from honed.samplers.gp._acquisition import add_log_feasibility
from honed.samplers.gp._model import GP

__all__ = ["LogEHVI"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TINY = 1e-300


def _interval_terms(
    mu: np.ndarray, sd: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``E[max(0, hi - max(y, lo))]`` for ``y ~ N(mu, sd^2)``, with derivatives in ``mu`` and
    ``sd``. ``mu``/``sd`` are ``(c, 1)``, ``lo``/``hi`` are ``(1, k)``; results ``(c, k)``."""
    b = (hi - mu) / sd
    cdf_b, pdf_b = ndtr(b), _INV_SQRT_2PI * np.exp(-0.5 * b * b)
    with np.errstate(invalid="ignore"):
        a = (lo - mu) / sd
    finite_lo = np.isfinite(lo)
    a = np.where(finite_lo, a, -np.inf)
    cdf_a = np.where(finite_lo, ndtr(a), 0.0)
    a0 = np.where(finite_lo, a, 0.0)
    pdf_a = np.where(finite_lo, _INV_SQRT_2PI * np.exp(-0.5 * a0 * a0), 0.0)
    width = np.where(finite_lo, hi - lo, 0.0)
    val = width * cdf_a + (hi - mu) * (cdf_b - cdf_a) + sd * (pdf_b - pdf_a)
    d_mu = -(cdf_b - cdf_a)
    d_sd = pdf_b - pdf_a
    return np.maximum(val, 0.0), d_mu, d_sd


class LogEHVI:
    """log EHVI of one GP per objective (lower is better) over a front, with a reference
    point, times the probability of feasibility of each constraint model.

    Args:
        gps: One model per objective.
        front: Current non-dominated losses in the models' units, ``(n, m)``.
        ref: Reference point in the models' units, ``(m,)``.
        constraints: ``(model, threshold)`` pairs, each feasible when below its threshold.
    """

    def __init__(
        self,
        gps: Sequence[GP],
        front: np.ndarray,
        ref: np.ndarray,
        constraints: Sequence[tuple[GP, float]] = (),
    ) -> None:
        self.gps = list(gps)
        self.ref = np.asarray(ref, dtype=float)
        self.lower, self.upper = nondominated_boxes(np.asarray(front, dtype=float), self.ref)
        self.constraints = list(constraints)

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[False] = False) -> np.ndarray: ...

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def __call__(
        self, x: np.ndarray, grad: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Values ``(c,)`` (and gradients ``(c, d)`` with ``grad``) at ``x`` ``(c, d)``."""
        x = np.atleast_2d(x)
        m = len(self.gps)
        terms: list[np.ndarray] = []
        d_mu: list[np.ndarray] = []
        d_sd: list[np.ndarray] = []
        dmeans: list[np.ndarray] = []
        dsds: list[np.ndarray] = []
        for j, gp in enumerate(self.gps):
            if grad:
                mean, var, dmean, dvar = gp.predict(x, grad=True)
            else:
                mean, var = gp.predict(x)
            sd = np.sqrt(var)
            t, tm, ts = _interval_terms(
                mean[:, None], sd[:, None], self.lower[None, :, j], self.upper[None, :, j]
            )
            terms.append(t)
            if grad:
                d_mu.append(tm)
                d_sd.append(ts)
                dmeans.append(dmean)
                dsds.append(dvar / (2.0 * sd)[:, None])
        prod = np.prod(terms, axis=0)  # (c, boxes)
        ehvi = prod.sum(axis=1)
        # Floored: far from the front EHVI underflows and the candidate search (not the
        # gradient) has to find the improving region.
        val = np.log(np.maximum(ehvi, _TINY))
        g = None
        if grad:
            g = np.zeros_like(x, dtype=float)
            safe = ehvi > _TINY
            for j in range(m):
                others = np.ones_like(prod)
                for i in range(m):
                    if i != j:
                        others = others * terms[i]
                dv_dmu = (others * d_mu[j]).sum(axis=1)
                dv_dsd = (others * d_sd[j]).sum(axis=1)
                gj = dv_dmu[:, None] * dmeans[j] + dv_dsd[:, None] * dsds[j]
                g += np.where(safe[:, None], gj / np.maximum(ehvi, _TINY)[:, None], 0.0)
        val, g = add_log_feasibility(val, g, self.constraints, x)
        return val if g is None else (val, g)
