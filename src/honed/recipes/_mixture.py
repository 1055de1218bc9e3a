"""Mixture search: from many small proxy runs to the data mixture a large run should use.

The RegMix recipe (Liu et al., 2024): train many small models, each on a different mixture of
data sources, fit a regression from the mixture weights to the result, and search the simplex
with the regression for the mixtures it predicts best. Those go to the larger-scale study
(:meth:`MixtureSearch.enqueue`), which then runs only a handful of expensive trials.

The proxy study's trials hold a mixture as one parameter per source, ``f"{simplex}.{source}"``
(what ``trial.simplex(simplex, sources)`` records); the weights are read from those and
normalized to sum to 1.

When to trust it: the small runs rank mixtures as the large ones do (check on a few), and
there are several proxy trials per source (the regression has one input per source). The
predicted values are the regression's, at the proxy scale; ``uncertainty`` says how much the
bootstrap models (or the GP) disagree, which grows away from the mixtures tried.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any, Literal

import numpy as np

import honed
from honed.recipes._common import check_count, check_study
from honed.space import Float
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["MixtureCandidate", "MixtureSearch", "mixture_search"]

Regressor = Literal["auto", "lightgbm", "gbm", "gp"]
_REGRESSORS = ("auto", "lightgbm", "gbm", "gp")
# Bootstrap models behind a tree regressor's prediction and its spread.
_N_MODELS = 8
# Candidates refined locally, rounds of refinement, and perturbations per candidate and round.
_N_REFINED, _ROUNDS, _N_PERTURB = 16, 3, 64
# "auto" fits the GP up to this many proxy trials (its fit grows with the cube of the count),
# boosted trees beyond: a bound on cost, not a measured crossing point.
_GP_MAX_TRIALS = 1000
# Returned mixtures differ by at least this total variation distance (half the L1 distance).
_MIN_DISTANCE = 0.05


@dataclass(frozen=True)
class MixtureCandidate:
    """A mixture the regression predicts good.

    Attributes:
        weights: ``source -> weight``, summing to 1.
        predicted: The regression's value there (at the proxy scale).
        uncertainty: The bootstrap models' standard deviation there (the GP's posterior
            standard deviation with ``regressor="gp"``).
        params: The mixture as the proxy study's parameters (``f"{simplex}.{source}"``).
    """

    weights: dict[str, float]
    predicted: float
    uncertainty: float
    params: dict[str, float]


@dataclass(frozen=True)
class MixtureSearch:
    """What :func:`mixture_search` found.

    Attributes:
        candidates: The mixtures predicted best, best first, each at least 0.05 apart in
            total variation from those before it.
        simplex: The simplex parameter's name.
        sources: Its sources, in the order the weights are listed.
        regressor: The regression used (``"lightgbm"``, ``"gbm"`` or ``"gp"``).
        n_trials: How many proxy trials it was fitted to.
        direction: Whether lower or higher target values are better.
        best_observed: The proxy trial with the best target value.
        fit_error: The regression's out-of-fold root mean squared error on the proxy trials
            (5-fold, one model per fold), to compare with ``target_sd``: a regression whose
            error is not well below that sd ranks mixtures little better than chance.
        target_sd: The standard deviation of the proxy trials' target values.
    """

    candidates: tuple[MixtureCandidate, ...]
    simplex: str
    sources: tuple[str, ...]
    regressor: str
    n_trials: int
    direction: Direction
    best_observed: FrozenTrial
    fit_error: float
    target_sd: float

    @property
    def best(self) -> MixtureCandidate:
        return self.candidates[0]

    @property
    def note(self) -> str | None:
        """A warning when the regression explains little of the proxy results (out-of-fold
        R^2 below 0.2): its mixtures are then close to guesses. ``None`` otherwise."""
        if self.target_sd <= 0 or 1.0 - (self.fit_error / self.target_sd) ** 2 >= 0.2:
            return None
        return (
            f"The regression explains little of the proxy results: its out-of-fold error "
            f"({self.fit_error:.4g}) is close to their spread ({self.target_sd:.4g}). The "
            "proxy runs may be too noisy or too few; run more of them (or less noisy ones), "
            "and compare the candidates with the uniform mixture at the large scale."
        )

    def enqueue(self, study: honed.Study, *, top_k: int | None = None) -> list[dict[str, float]]:
        """Enqueue the ``top_k`` best candidates (all by default) in ``study``, the larger-
        scale one, as its next trials; returns their parameters. A mixture already tried
        there is not enqueued again."""
        check_study(study, "MixtureSearch.enqueue")
        k = check_count("top_k", top_k, allow_none=True)
        chosen = self.candidates if k is None else self.candidates[:k]
        for c in chosen:
            study.enqueue(c.params, skip_if_exists=True)
        return [dict(c.params) for c in chosen]


def mixture_search(
    study: honed.Study,
    simplex: str = "mix",
    *,
    target: int | str | None = None,
    direction: str | Direction | None = None,
    regressor: Regressor = "auto",
    n_candidates: int = 10_000,
    top_k: int = 5,
    seed: int | None = None,
) -> MixtureSearch:
    """Fit a regression from the proxy trials' mixture weights to their target value and
    return the ``top_k`` mixtures it predicts best (see the module's notes).

    Args:
        study: The proxy study: complete trials with the parameters ``f"{simplex}.{source}"``.
        simplex: The simplex parameter's name.
        target: What to predict: ``None`` for the objective value (of a single-objective
            study), an int for one objective of a multi-objective study, or the key of a user
            attribute every complete trial set (a score per evaluation domain, say).
        direction: Whether a user-attribute target is better low (``"minimize"``) or high
            (``"maximize"``); by default as the study's objective.
        regressor: ``"lightgbm"`` (needs ``pip install lightgbm``), ``"gbm"`` (scikit-
            learn's gradient boosting), each a bootstrap ensemble of 8 models whose spread is
            the uncertainty; ``"gp"``, honed's Gaussian-process posterior (mean and standard
            deviation); ``"auto"``: the GP up to 1000 proxy trials (measured best at 64
            trials, bench/results/regmix.md), then LightGBM when installed, else ``"gbm"``.
        n_candidates: Random mixtures scored by the regression (Dirichlet draws: flat,
            sparse, and around the best proxy mixtures) before the best are refined locally.
        top_k: How many mixtures to return.
        seed: Seed of the draws and the model fits.
    """
    check_study(study, "mixture_search")
    if not isinstance(simplex, str) or not simplex:
        raise ValueError(f"simplex must be the simplex parameter's name, got {simplex!r}.")
    if regressor not in _REGRESSORS:
        raise ValueError(f"regressor must be one of {list(_REGRESSORS)}, got {regressor!r}.")
    check_count("n_candidates", n_candidates, low=100)
    check_count("top_k", top_k)
    target_direction, read = _target(study, target)
    if direction is not None:
        if not isinstance(target, str):
            raise ValueError(
                "direction= is for a user-attribute target; an objective's direction is the "
                "study's."
            )
        target_direction = Direction.parse(direction)
    sources, trials = _proxy_trials(study, simplex)
    n_min = max(5, len(sources) + 1)
    weights = np.array([_weights(t, simplex, sources) for t in trials])
    y = np.array([read(t) for t in trials], dtype=np.float64)
    usable = np.isfinite(y)
    if int(usable.sum()) < n_min:
        raise ValueError(
            f"mixture_search needs at least {n_min} complete trials with a target value for "
            f"{len(sources)} sources; study {study.name!r} has {int(usable.sum())}."
        )
    weights, y = weights[usable], y[usable]
    trials = [t for t, ok in zip(trials, usable, strict=True) if ok]
    name = _resolve(regressor, len(y))
    rng = np.random.default_rng(seed)
    model = _fit(name, weights, y, sources, rng)
    sign = target_direction.sign
    found = _search(model, weights, y * sign, sign, n_candidates, top_k, rng)
    best_i = int(np.lexsort((np.arange(len(y)), sign * y))[0])
    candidates = tuple(
        MixtureCandidate(
            weights={s: float(v) for s, v in zip(sources, w, strict=True)},
            predicted=float(mean),
            uncertainty=float(sd),
            params={f"{simplex}.{s}": float(v) for s, v in zip(sources, w, strict=True)},
        )
        for w, mean, sd in found
    )
    return MixtureSearch(
        candidates=candidates,
        simplex=simplex,
        sources=sources,
        regressor=name,
        n_trials=len(trials),
        direction=target_direction,
        best_observed=trials[best_i],
        fit_error=_cv_error(name, weights, y, sources, seed),
        target_sd=float(np.std(y)),
    )


# ---- reading the proxy study -------------------------------------------------------------
def _target(study: honed.Study, target: int | str | None) -> tuple[Direction, Any]:
    """The direction of ``target`` and how to read it off a trial (NaN when absent)."""
    n = len(study.directions)
    if target is None:
        if n > 1:
            raise ValueError(
                f"study {study.name!r} has {n} objectives; say which to predict with "
                f"target=0..{n - 1}."
            )
        return study.directions[0], lambda t: t.values[0]
    if isinstance(target, str):
        key = target
        return study.directions[0], lambda t: _number(t.user_attrs.get(key))
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < n:
        raise ValueError(
            f"target must be None, an objective index between 0 and {n - 1}, or a user "
            f"attribute's key; got {target!r}."
        )
    index = target
    return study.directions[index], lambda t: t.values[index]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _proxy_trials(study: honed.Study, simplex: str) -> tuple[tuple[str, ...], list[FrozenTrial]]:
    """The sources (from the latest complete trial holding the simplex) and the complete,
    feasible trials that hold all of them."""
    prefix = simplex + "."
    complete = [
        t for t in study.get_trials([TrialState.COMPLETE]) if t.values is not None and t.is_feasible
    ]
    holding = [t for t in complete if any(k.startswith(prefix) for k in t.params)]
    if not holding:
        raise ValueError(
            f"no complete trial of study {study.name!r} has parameters {prefix}<source> of a "
            f"simplex {simplex!r}"
            + (f"; its parameters are {sorted(complete[-1].params)}." if complete else ".")
        )
    sources = tuple(k[len(prefix) :] for k in holding[-1].params if k.startswith(prefix))
    if len(sources) < 2:
        raise ValueError(f"simplex {simplex!r} has {len(sources)} source; a mixture needs 2+.")
    return sources, [t for t in holding if all(prefix + s in t.params for s in sources)]


def _weights(trial: FrozenTrial, simplex: str, sources: Sequence[str]) -> np.ndarray:
    raw = np.array([trial.params[f"{simplex}.{s}"] for s in sources], dtype=np.float64)
    total = raw.sum()
    if not np.all(np.isfinite(raw)) or np.any(raw < 0) or not total > 0:
        raise ValueError(
            f"trial {trial.number}'s {simplex!r} weights are not a mixture (non-negative, not "
            f"all zero): {dict(zip(sources, raw.tolist(), strict=True))}."
        )
    return raw / total


# ---- the regressions ---------------------------------------------------------------------
def _resolve(regressor: str, n_trials: int) -> str:
    if regressor == "auto":
        if n_trials <= _GP_MAX_TRIALS:
            return "gp"
        return "lightgbm" if find_spec("lightgbm") is not None else "gbm"
    if regressor == "lightgbm" and find_spec("lightgbm") is None:
        raise ImportError(
            "regressor='lightgbm' needs LightGBM: pip install lightgbm (or pass "
            "regressor='gbm' for scikit-learn's gradient boosting, or 'gp')."
        )
    return regressor


class _Model:
    """``predict(W) -> (mean, sd)`` over rows of mixture weights."""

    def __init__(self, predict: Any) -> None:
        self.predict = predict


def _tree(name: str, n: int, seed: int) -> Any:
    if name == "lightgbm":
        from lightgbm import LGBMRegressor

        return LGBMRegressor(
            n_estimators=200,
            learning_rate=0.05,
            num_leaves=8,
            min_child_samples=max(3, n // 10),
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=1.0,
            random_state=seed,
            n_jobs=1,
            verbose=-1,
        )
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(
        n_estimators=200,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=max(3, n // 10),
        subsample=0.8,
        random_state=seed,
    )


def _fit(
    name: str,
    w: np.ndarray,
    y: np.ndarray,
    sources: Sequence[str],
    rng: np.random.Generator,
    n_models: int = _N_MODELS,
) -> _Model:
    if name == "gp":
        return _fit_gp(w, y, sources, int(rng.integers(2**31)))
    n = len(y)
    models = []
    for _ in range(n_models):
        # a bootstrap resample, or all rows for a lone model
        rows = rng.integers(0, n, n) if n_models > 1 else np.arange(n)
        model = _tree(name, n, int(rng.integers(2**31)))
        model.fit(w[rows], y[rows])
        models.append(model)

    def predict(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        preds = np.array([m.predict(x) for m in models])
        return preds.mean(axis=0), preds.std(axis=0)

    return _Model(predict)


def _fit_gp(w: np.ndarray, y: np.ndarray, sources: Sequence[str], seed: int) -> _Model:
    from honed.samplers import GPPosterior  # scipy loads here, not at import

    names = [f"w{i}" for i in range(len(sources))]
    dists = {k: Float(0.0, 1.0) for k in names}
    trials = [
        FrozenTrial(
            number=i,
            state=TrialState.COMPLETE,
            values=(float(v),),
            params=dict(zip(names, row.tolist(), strict=True)),
            distributions=dists,
        )
        for i, (row, v) in enumerate(zip(w, y, strict=True))
    ]
    posterior = GPPosterior(honed.History(trials, (Direction.MINIMIZE,)), seed=seed)

    def predict(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        means, sds = [], []
        for start in range(0, len(x), 20_000):
            rows = [dict(zip(names, r.tolist(), strict=True)) for r in x[start : start + 20_000]]
            m, s = posterior.predict(rows)
            means.append(m)
            sds.append(s)
        return np.concatenate(means), np.concatenate(sds)

    return _Model(predict)


def _cv_error(
    name: str, w: np.ndarray, y: np.ndarray, sources: Sequence[str], seed: int | None
) -> float:
    """Out-of-fold RMSE of the regression (5 folds; one tree model per fold, not a bootstrap
    ensemble), as a check on how far to trust it."""
    rng = np.random.default_rng(None if seed is None else seed + 1)
    folds = np.array_split(rng.permutation(len(y)), min(5, len(y)))
    errors = np.empty(len(y))
    for held in folds:
        train = np.setdiff1d(np.arange(len(y)), held)
        model = _fit(name, w[train], y[train], sources, rng, n_models=1)
        errors[held] = model.predict(w[held])[0] - y[held]
    return float(np.sqrt(np.mean(errors**2)))


# ---- searching the simplex ---------------------------------------------------------------
def _search(
    model: _Model,
    w: np.ndarray,
    loss: np.ndarray,
    sign: float,
    n_candidates: int,
    top_k: int,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, float, float]]:
    """Score Dirichlet draws (flat, sparse, and around the best proxy mixtures), refine the
    best by local Dirichlet perturbations, and return ``top_k`` distinct mixtures with the
    model's value and spread there, best predicted first."""
    k = w.shape[1]
    n_flat = n_candidates * 2 // 5
    n_sparse = n_candidates * 3 // 10
    n_near = n_candidates - n_flat - n_sparse
    best_seen = w[np.argsort(loss, kind="stable")[:5]]
    near = best_seen[rng.integers(0, len(best_seen), n_near)]
    pool = np.vstack(
        [
            rng.dirichlet(np.ones(k), n_flat),
            rng.dirichlet(np.full(k, 0.3), n_sparse),
            _perturb(near, 50.0, rng),
            w,
            np.full((1, k), 1.0 / k),
        ]
    )
    mean, sd = model.predict(pool)
    order = np.lexsort((sd, sign * mean))[: _N_REFINED * 4]
    pool, mean, sd = pool[order], mean[order], sd[order]
    for concentration in (100.0, 300.0, 1000.0)[:_ROUNDS]:
        seeds = _distinct(pool, sign * mean, _N_REFINED)
        tries = _perturb(np.repeat(pool[seeds], _N_PERTURB, axis=0), concentration, rng)
        m, s = model.predict(tries)
        pool = np.vstack([pool, tries])
        mean, sd = np.concatenate([mean, m]), np.concatenate([sd, s])
    chosen = _distinct(pool, sign * mean, top_k, by=sd)
    return [(pool[i], float(mean[i]), float(sd[i])) for i in chosen]


def _perturb(centers: np.ndarray, concentration: float, rng: np.random.Generator) -> np.ndarray:
    """Dirichlet draws centred on each row of ``centers`` (larger ``concentration``:
    closer)."""
    alpha = centers * concentration + 0.05
    g = rng.gamma(alpha)
    return g / g.sum(axis=1, keepdims=True)


def _distinct(
    pool: np.ndarray, loss: np.ndarray, n: int, by: np.ndarray | None = None
) -> list[int]:
    """Indices of the ``n`` lowest-loss rows, each at least ``_MIN_DISTANCE`` in total
    variation from those chosen before (ties broken by ``by``, then order)."""
    keys = (np.arange(len(loss)),) + ((by,) if by is not None else ()) + (loss,)
    chosen: list[int] = []
    for i in np.lexsort(keys):
        row = pool[i]
        if all(0.5 * np.abs(row - pool[j]).sum() >= _MIN_DISTANCE for j in chosen):
            chosen.append(int(i))
            if len(chosen) == n:
                break
    return chosen
