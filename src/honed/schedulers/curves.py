"""Learning-curve extrapolation: stop a trial whose predicted final value is unlikely to beat
the best final value so far.

Three curve families are fitted by least squares to the trial's losses (values turned so lower
is better), at resource ``t`` (the step, counted from 1):

* ``"pow"``: ``L(t) = a + b * t**(-c)``
* ``"exp"``: ``L(t) = a + b * exp(-c * t / T)`` (``T`` the final step)
* ``"lr"``: the learning-rate annealing law ``L(t) = L0 + A * S1(t)**(-alpha) - C * S2(t)``,
  where ``S1`` is the sum of learning rates so far and ``S2`` the annealing area
  ``sum_i m_i`` with ``m_i = decay * m_{i-1} + (lr_{i-1} - lr_i)`` (Tissue et al., 2024).
  Needs the trial's planned schedule: a list of per-step learning rates in the user attribute
  ``"lr_schedule"`` (or a function of the trial).

Models are weighted by BIC; the prediction's spread combines the fits' parameter uncertainty
(delta method), the residual noise and the disagreement between models.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from honed.history import History
from honed.schedulers._util import check_fraction, check_positive_int, loss_curve, sign
from honed.schedulers.base import Decision, Judgement, Scheduler
from honed.trial import FrozenTrial

__all__ = [
    "PREDICTION_ATTR",
    "CurveFit",
    "LearningCurveStopping",
    "annealing_areas",
    "fit_curve",
    "predict_final",
]

MODELS = ("pow", "exp", "lr")
# The trial system attribute holding the scheduler's last forecast (the plots draw it).
PREDICTION_ATTR = "lc_prediction"


def annealing_areas(lrs: Sequence[float], decay: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """``(S1, S2)`` after each step of the learning-rate schedule ``lrs`` (step ``i`` uses
    ``lrs[i]``): the forward area (sum of rates) and the momentum-smoothed annealing area."""
    lr = np.asarray(lrs, dtype=float)
    if lr.ndim != 1 or len(lr) == 0 or np.any(lr <= 0) or not np.all(np.isfinite(lr)):
        raise ValueError("lr_schedule must be a non-empty list of positive learning rates.")
    s1 = np.cumsum(lr)
    m = np.zeros_like(lr)
    prev_m = 0.0
    for i in range(len(lr)):
        drop = lr[i - 1] - lr[i] if i > 0 else 0.0
        prev_m = decay * prev_m + drop
        m[i] = prev_m
    return s1, np.cumsum(m)


@dataclass(frozen=True)
class CurveFit:
    """One fitted curve family."""

    model: str
    params: tuple[float, ...]
    sse: float
    n: int
    cov: np.ndarray | None
    _f: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, t: np.ndarray | float) -> np.ndarray:
        return self._f(np.asarray(self.params), np.atleast_1d(np.asarray(t, dtype=float)))

    @property
    def bic(self) -> float:
        k = len(self.params)
        var = max(self.sse / self.n, 1e-12)
        return self.n * math.log(var) + k * math.log(self.n)

    def predict(self, t: float) -> tuple[float, float]:
        """Mean and standard deviation of the curve at ``t`` (parameter uncertainty plus
        observation noise)."""
        p = np.asarray(self.params)
        mean = float(self(t)[0])
        noise = self.sse / max(self.n - len(p), 1)
        var = noise
        if self.cov is not None and np.all(np.isfinite(self.cov)):
            grad = np.empty(len(p))
            for i in range(len(p)):
                h = 1e-6 * max(abs(p[i]), 1e-3)
                q = p.copy()
                q[i] += h
                grad[i] = (float(self._f(q, np.atleast_1d(float(t)))[0]) - mean) / h
            var += max(float(grad @ self.cov @ grad), 0.0)
        return mean, math.sqrt(var)


def _family(
    model: str, horizon: float, s1: np.ndarray | None, s2: np.ndarray | None
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], tuple[float, float]]:
    """(f(params, t), bounds of the shape parameter) of a curve family.

    Every family is linear in all parameters but one shape parameter (the exponent or
    rate): ``params = (linear coefficients..., shape)``.
    """
    if model == "pow":
        return (lambda p, t: p[0] + p[1] * t ** (-p[2])), (1e-3, 5.0)
    if model == "exp":
        return (lambda p, t: p[0] + p[1] * np.exp(-p[2] * t / horizon)), (1e-3, 100.0)
    if model == "lr":
        assert s1 is not None and s2 is not None

        def f(p: np.ndarray, t: np.ndarray) -> np.ndarray:
            idx = np.clip(np.rint(t).astype(int) - 1, 0, len(s1) - 1)
            return p[0] + p[1] * s1[idx] ** (-p[3]) - p[2] * s2[idx]

        return f, (1e-3, 5.0)
    raise ValueError(f"unknown curve model {model!r}; choose from {MODELS}.")


def _basis(model: str, t: np.ndarray, shape: float, horizon: float, s1: Any, s2: Any) -> np.ndarray:
    """Columns multiplying the linear coefficients (the first is the constant)."""
    one = np.ones_like(t)
    if model == "pow":
        return np.column_stack([one, t ** (-shape)])
    if model == "exp":
        return np.column_stack([one, np.exp(-shape * t / horizon)])
    idx = np.clip(np.rint(t).astype(int) - 1, 0, len(s1) - 1)
    return np.column_stack([one, s1[idx] ** (-shape), -s2[idx]])


def _nonneg_lstsq(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares with every coefficient but the first (the constant) ``>= 0``, by trying
    each active set (two or three columns: at most four sets)."""
    k = x.shape[1]
    best: tuple[np.ndarray, float] | None = None
    for mask in range(1 << (k - 1)):
        cols = [0] + [j for j in range(1, k) if mask >> (j - 1) & 1]
        coef_sub, *_ = np.linalg.lstsq(x[:, cols], y, rcond=None)
        if np.any(coef_sub[1:] < 0):
            continue
        coef = np.zeros(k)
        coef[cols] = coef_sub
        sse = float(np.sum((x @ coef - y) ** 2))
        if best is None or sse < best[1]:
            best = (coef, sse)
    assert best is not None  # the constant-only set is always feasible
    return best


def fit_curve(
    t: Sequence[float],
    y: Sequence[float],
    model: str,
    *,
    horizon: float | None = None,
    lr_schedule: Sequence[float] | None = None,
    anneal_decay: float = 0.9,
) -> CurveFit | None:
    """Least-squares fit of one family to points ``(t, y)`` (``t`` from 1); ``None`` when it
    cannot be fitted (too few points, no schedule for ``"lr"``).

    The linear coefficients are solved exactly for each value of the shape parameter
    (variable projection), and the shape is found by a log-spaced grid then a bounded
    one-dimensional search: fast (about a millisecond) and free of starting-point luck.
    ``CurveFit.params`` are ``(a, b, c)`` for ``"pow"`` and ``"exp"`` and
    ``(L0, A, C, alpha)`` for ``"lr"``.
    """
    tt = np.asarray(t, dtype=float)
    yy = np.asarray(y, dtype=float)
    s1 = s2 = None
    if model == "lr":
        if lr_schedule is None:
            return None
        s1, s2 = annealing_areas(lr_schedule, anneal_decay)
    h = float(horizon or max(tt.max(), 1.0))
    f, (lo, hi) = _family(model, h, s1, s2)
    n_params = 4 if model == "lr" else 3
    if len(tt) < n_params + 1 or not np.all(np.isfinite(yy)):
        return None

    def sse_at(log_shape: float) -> float:
        x = _basis(model, tt, math.exp(log_shape), h, s1, s2)
        return _nonneg_lstsq(x, yy)[1]

    grid = np.linspace(math.log(lo), math.log(hi), 48)
    errs = [sse_at(g) for g in grid]
    i = int(np.argmin(errs))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = optimize.minimize_scalar(
            sse_at, bounds=(a, b), method="bounded", options={"xatol": 1e-10}
        )
    log_shape = float(res.x) if res.fun <= errs[i] else float(grid[i])
    shape = math.exp(log_shape)
    coef, sse = _nonneg_lstsq(_basis(model, tt, shape, h, s1, s2), yy)
    params = np.append(coef, shape)
    # parameter covariance from the Jacobian of the full model at the optimum
    base = f(params, tt)
    jac = np.empty((len(tt), len(params)))
    for j in range(len(params)):
        step = 1e-6 * max(abs(params[j]), 1e-3)
        q = params.copy()
        q[j] += step
        jac[:, j] = (f(q, tt) - base) / step
    dof = max(len(tt) - len(params), 1)
    cov = np.linalg.pinv(jac.T @ jac) * (sse / dof)
    return CurveFit(model, tuple(float(x) for x in params), sse, len(tt), cov, f)


def predict_final(
    t: Sequence[float],
    y: Sequence[float],
    final: float,
    models: Sequence[str] = MODELS,
    lr_schedule: Sequence[float] | None = None,
    anneal_decay: float = 0.9,
) -> tuple[float, float, dict[str, float]] | None:
    """BIC-weighted mean and standard deviation of the curve at ``final``, and the weights."""
    tried = [
        fit_curve(t, y, m, horizon=final, lr_schedule=lr_schedule, anneal_decay=anneal_decay)
        for m in models
    ]
    fits = [f for f in tried if f is not None]
    if not fits:
        return None
    bics = np.array([f.bic for f in fits])
    w = np.exp(-0.5 * (bics - bics.min()))
    w /= w.sum()
    preds = [f.predict(final) for f in fits]
    mean = float(sum(wi * m for wi, (m, _) in zip(w, preds)))
    var = float(sum(wi * (s**2 + (m - mean) ** 2) for wi, (m, s) in zip(w, preds)))
    return mean, math.sqrt(var), {f.model: float(wi) for f, wi in zip(fits, w)}


class LearningCurveStopping(Scheduler):
    """Stop a trial when its extrapolated final value is unlikely to beat the best so far.

    Args:
        max_step: The step a full trial ends at (where the curve is extrapolated to).
        min_points: Fit once the trial has this many reports.
        threshold: Stop when the probability of beating the best final value is below this.
        interval: Fit only every ``interval`` steps (fits cost milliseconds).
        fit_steps: Fit only at these steps (e.g. ``[4, 8, 16, 32]``), instead of every
            ``interval`` steps: a few well-spaced decisions cost little.
        models: Curve families to use (``"pow"``, ``"exp"``, ``"lr"``).
        lr_schedule: The user attribute holding the per-step learning rates of a trial, or a
            function of the trial returning them; used by the ``"lr"`` family.
        anneal_decay: The momentum of the annealing area ``S2``.
        min_trials: Decide only once this many trials are complete.
    """

    def __init__(
        self,
        max_step: int,
        min_points: int = 5,
        threshold: float = 0.05,
        interval: int = 1,
        models: Sequence[str] = MODELS,
        lr_schedule: str | Callable[[FrozenTrial], Sequence[float] | None] = "lr_schedule",
        anneal_decay: float = 0.9,
        min_trials: int = 1,
        fit_steps: Sequence[int] | None = None,
    ) -> None:
        self.fit_steps = None if fit_steps is None else frozenset(int(s) for s in fit_steps)
        self.max_step = check_positive_int("max_step", max_step, 1)
        self.min_points = check_positive_int("min_points", min_points, 3)
        self.threshold = check_fraction("threshold", threshold)
        self.interval = check_positive_int("interval", interval, 1)
        bad = [m for m in models if m not in MODELS]
        if bad or not models:
            raise ValueError(f"models must be a non-empty subset of {MODELS}, got {models!r}.")
        self.models = tuple(models)
        self.lr_schedule = lr_schedule
        self.anneal_decay = check_fraction("anneal_decay", anneal_decay)
        self.min_trials = check_positive_int("min_trials", min_trials, 1)

    def __repr__(self) -> str:
        return (
            f"LearningCurveStopping(max_step={self.max_step}, threshold={self.threshold}, "
            f"models={self.models})"
        )

    def _schedule(self, trial: FrozenTrial) -> Sequence[float] | None:
        if callable(self.lr_schedule):
            return self.lr_schedule(trial)
        raw: Any = trial.user_attrs.get(self.lr_schedule)
        return list(raw) if raw else None

    def on_report(self, history: History, trial: FrozenTrial) -> Decision | Judgement:
        if history.is_multi_objective:
            raise ValueError("LearningCurveStopping is for single-objective studies.")
        step = trial.last_step
        if step is None or step >= self.max_step:
            return Decision.CONTINUE
        if (step not in self.fit_steps) if self.fit_steps is not None else step % self.interval:
            return Decision.CONTINUE
        best = history.best_trial()
        if best is None or len(history.complete) < self.min_trials:
            return Decision.CONTINUE
        steps, losses = loss_curve(history, trial)
        if len(steps) < self.min_points:
            return Decision.CONTINUE
        offset = 1 if steps[0] == 0 else 0
        t = [k + offset for k in steps]
        schedule = self._schedule(trial) if "lr" in self.models else None
        pred = predict_final(
            t, losses, self.max_step + offset, self.models, schedule, self.anneal_decay
        )
        if pred is None:
            return Decision.CONTINUE
        mean, std, weights = pred
        s = sign(history)
        best_loss = s * best.values[0]  # type: ignore[index]
        p_beat = float(stats.norm.cdf((best_loss - mean) / max(std, 1e-12)))
        decision = Decision.STOP if p_beat < self.threshold else Decision.CONTINUE
        info = {
            PREDICTION_ATTR: {
                "step": step,
                "final_step": self.max_step,
                "mean": s * mean,
                "std": std,
                "p_beat_best": p_beat,
                "weights": weights,
            }
        }
        return Judgement(decision, info)
