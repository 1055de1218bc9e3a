"""Population-based bandits (PB2; Parker-Holder et al., 2020): PBT whose explore step is a
GP bandit instead of a random perturbation.

Exploit is PBT's (a bottom-quantile trial copies a top-quantile trial's checkpoint). The new
numeric parameters come from a Gaussian process fitted to every interval the population has
trained so far: input the parameters used during the interval (unit-encoded, so log ranges are
log) and the interval's time, output the improvement it made. A time-varying kernel lets old
intervals count less, since what helps early in training is not what helps late. The choice
maximizes an upper confidence bound at the coming interval, with the parameters other running
trials are training with counted as pending (their variance is already spoken for, GP-BUCB), so
a population spreads out instead of piling on one point. Categorical parameters are explored as
PBT does. With too little data for a model, the whole explore step is PBT's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from honed.history import History
from honed.schedulers._util import check_positive_int, sign
from honed.schedulers.pbt import EXPLOITS_ATTR, PopulationBasedTraining, params_at
from honed.space import Distribution, Float, Int, ParamValue
from honed.trial import FrozenTrial, TrialState

__all__ = ["PB2"]

# The GP's hyperparameters are picked by marginal likelihood from these grids (inputs in the
# unit cube, time in intervals, targets standardized).
_LENGTHSCALES = (0.1, 0.2, 0.4, 0.8)
_DECAYS = (0.0, 0.05, 0.2)  # epsilon of the time kernel (1 - eps) ** (|t - t'| / 2)
_NOISES = (0.01, 0.1, 0.5)


class PB2(PopulationBasedTraining):
    """Population-based bandits: PBT's exploit, a GP-UCB explore over numeric parameters.

    Args:
        interval: Consider exploiting at steps that are multiples of this; also the unit of
            time the model measures improvement over.
        quantile: Bottom fraction that exploits, and top fraction it copies from.
        kappa: Weight of the posterior standard deviation in the upper confidence bound.
        hyperparams: Names the bandit may change (default: all); others are copied as is.
        min_population: Exploit only once this many trials reported at the step.
        max_points: Fit the GP on at most this many of the most recent intervals.
        n_candidates: Points the acquisition is evaluated on (random, and around the source).
        seed: Decisions are a pure function of (seed, trial number, step) and the history.
    """

    def __init__(
        self,
        interval: int = 1,
        quantile: float = 0.25,
        kappa: float = 2.0,
        hyperparams: Sequence[str] | None = None,
        min_population: int = 4,
        max_points: int = 300,
        n_candidates: int = 512,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            interval=interval,
            quantile=quantile,
            hyperparams=hyperparams,
            min_population=min_population,
            seed=seed,
        )
        if isinstance(kappa, bool) or not isinstance(kappa, int | float) or not kappa >= 0:
            raise ValueError(f"kappa must be a number >= 0, got {kappa!r}.")
        self.kappa = float(kappa)
        self.max_points = check_positive_int("max_points", max_points, 2)
        self.n_candidates = check_positive_int("n_candidates", n_candidates, 1)

    def __repr__(self) -> str:
        return (
            f"PB2(interval={self.interval}, quantile={self.quantile}, kappa={self.kappa}, "
            f"min_population={self.min_population})"
        )

    def explore_from(
        self,
        history: History,
        trial: FrozenTrial,
        source: FrozenTrial,
        step: int,
        rng: np.random.Generator,
    ) -> dict[str, ParamValue]:
        dists = source.distributions
        numeric = [
            name
            for name in source.params
            if isinstance(dists.get(name), Float | Int)
            and not dists[name].is_single
            and (self.hyperparams is None or name in self.hyperparams)
        ]
        if not numeric:
            return self.explore(source.params, dists, rng)
        data = _intervals(history, numeric, dists, self.interval)
        if data is None or len(data[2]) < len(numeric) + 2 or np.ptp(data[2]) == 0:
            return self.explore(source.params, dists, rng)  # too little to model: PBT's step
        x, t, y = (a[-self.max_points :] for a in data)
        others = {k: v for k, v in source.params.items() if k not in numeric}
        out = {**source.params, **self.explore(others, dists, rng)}
        now = step / self.interval + 1.0  # the interval about to be trained
        pending = _pending(history, trial, numeric, dists, step)
        best = _ucb_argmax(
            x, t, y, pending, now, self._candidates(source, numeric, dists, rng), self.kappa
        )
        for name, u in zip(numeric, best, strict=True):
            out[name] = dists[name].from_unit(float(u))
        return out

    def _candidates(
        self,
        source: FrozenTrial,
        numeric: list[str],
        dists: Mapping[str, Distribution],
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Uniform points of the unit cube, a quarter of them near the source's parameters."""
        d = len(numeric)
        n_local = self.n_candidates // 4
        uniform = rng.random((self.n_candidates - n_local, d))
        here = np.array([dists[k].to_unit(source.params[k]) for k in numeric])
        local = np.clip(here + 0.1 * rng.standard_normal((n_local, d)), 0.0, 1.0)
        return np.vstack([uniform, local, here[None, :]])


def _encode(params: Mapping[str, ParamValue], numeric: list[str], dists: Mapping) -> list[float]:
    out = []
    for name in numeric:
        v = params.get(name)
        if v is None or not dists[name].contains(v):
            return []
        out.append(dists[name].to_unit(v))
    return out


def _intervals(
    history: History, numeric: list[str], dists: Mapping[str, Distribution], interval: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Every interval trained so far: (unit-encoded parameters, time in intervals, improvement
    of the loss over the interval), oldest first. An interval that starts at an exploit starts
    from the source's value, since that is the model it trained."""
    s = sign(history)
    by_number = {t.number: t for t in history}
    rows: list[tuple[float, list[float], float]] = []
    for t in history:
        if t.state is TrialState.FAILED:
            continue
        steps = sorted(k for k in t.intermediate_values if k > 0 and k % interval == 0)
        exploits = {e["step"]: e for e in t.system_attrs.get(EXPLOITS_ATTR) or []}
        for a, b in itertools.pairwise(steps):
            end = t.intermediate_values[b]
            start = t.intermediate_values[a]
            e = exploits.get(a)
            if e is not None:
                src = by_number.get(e["source"])
                at = e["source_step"] if e["source_step"] is not None else a
                start = src.intermediate_values.get(at, math.nan) if src else math.nan
            if not (math.isfinite(start) and math.isfinite(end)):
                continue
            x = _encode(params_at(t, b), numeric, dists)
            if x:
                rows.append((b / interval, x, s * (start - end) / ((b - a) / interval)))
    if not rows:
        return None
    rows.sort(key=lambda r: r[0])
    inputs = np.array([r[1] for r in rows], dtype=float)
    time = np.array([r[0] for r in rows], dtype=float)
    y = np.array([r[2] for r in rows], dtype=float)
    return inputs, time, y


def _pending(
    history: History,
    trial: FrozenTrial,
    numeric: list[str],
    dists: Mapping[str, Distribution],
    step: int,
) -> np.ndarray:
    """Parameters the other running trials train with now (the source's included: it goes on
    with them too), not ``trial``'s own, which it is about to leave."""
    rows = []
    for t in history:
        if t.number == trial.number or t.state is not TrialState.RUNNING:
            continue
        if t.last_step is not None and t.last_step >= step:
            x = _encode(t.params, numeric, dists)
            if x:
                rows.append(x)
    return np.array(rows, dtype=float).reshape(-1, len(numeric))


def _kernel(
    xa: np.ndarray, ta: np.ndarray, xb: np.ndarray, tb: np.ndarray, ls: float, decay: float
) -> np.ndarray:
    sq = ((xa[:, None, :] - xb[None, :, :]) ** 2).sum(-1)
    k = np.exp(-0.5 * sq / ls**2)
    if decay > 0:
        k = k * (1.0 - decay) ** (np.abs(ta[:, None] - tb[None, :]) / 2.0)
    return k


def _ucb_argmax(
    x: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    pending: np.ndarray,
    now: float,
    candidates: np.ndarray,
    kappa: float,
) -> np.ndarray:
    """The candidate with the highest upper confidence bound on the coming improvement."""
    y = (y - y.mean()) / y.std()
    best: tuple[float, float, float, float, np.ndarray] | None = None
    n = len(y)
    for ls in _LENGTHSCALES:
        for decay in _DECAYS:
            k = _kernel(x, t, x, t, ls, decay)
            for noise in _NOISES:
                try:
                    chol = np.linalg.cholesky(k + noise * np.eye(n))
                except np.linalg.LinAlgError:
                    continue
                alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
                lml = -0.5 * y @ alpha - np.log(np.diag(chol)).sum()
                if best is None or lml > best[0]:
                    best = (lml, ls, decay, noise, alpha)
    assert best is not None  # noise 0.5 on a correlation matrix always factors
    _, ls, decay, noise, alpha = best
    tc = np.full(len(candidates), now)
    mean = _kernel(candidates, tc, x, t, ls, decay) @ alpha
    # Variance given the data and the pending points (their outcomes are not needed for it).
    xs = np.vstack([x, pending]) if len(pending) else x
    ts = np.concatenate([t, np.full(len(pending), now)]) if len(pending) else t
    kss = _kernel(xs, ts, xs, ts, ls, decay) + noise * np.eye(len(xs))
    kcs = _kernel(candidates, tc, xs, ts, ls, decay)
    chol = np.linalg.cholesky(kss)
    v = np.linalg.solve(chol, kcs.T)
    var = np.clip(1.0 - (v**2).sum(0), 1e-12, None)
    ucb = mean + kappa * np.sqrt(var)
    return candidates[int(np.argmax(ucb))]
