"""Which parameters matter: hyperparameter importance from a study's complete trials.

Two estimators, both working on the unit encodings of :mod:`honed.space` (so a log-scale
parameter is measured on its log scale and each option of a choice owns an equal share):

* ``"fanova"``: functional ANOVA (Hutter et al., 2014) over a random forest. Each regression
  tree cuts the unit cube into boxes with constant predictions. Under the uniform measure on
  the cube, the main effect of parameter ``i`` is the tree's prediction averaged over every
  other parameter; it is piecewise constant between the tree's cut points on axis ``i``. The
  importance of ``i`` is the variance of that main effect divided by the tree's total
  variance, averaged over the trees. We compute the main effect of every box at once with a
  sweep over the sorted cut points, so a tree costs ``O(leaves log leaves)`` per parameter.
* ``"ped-anova"``: the Pearson-divergence estimate of Watanabe et al. (2023). For each
  parameter, the density of its values among the best ``quantile`` of trials is compared with
  its density among all trials; the more the top trials concentrate, the more the parameter
  matters. Densities are one-dimensional Parzen estimators (a Gaussian kernel for numbers, a
  smoothed histogram for choices), so the cost is linear in the number of trials.

Both return a dict ``{param: importance}`` whose values are non-negative and sum to one,
ordered from most to least important.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from honed.history import History
from honed.space import Choice, Distribution, Int
from honed.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from honed.study import Study

__all__ = ["fanova_importance", "importance", "ped_anova_importance"]

METHODS = ("fanova", "ped-anova")


def importance(
    study: Study | History,
    method: str = "fanova",
    *,
    params: Sequence[str] | None = None,
    target: Callable[[FrozenTrial], float] | None = None,
    seed: int | None = 0,
    **options: Any,
) -> dict[str, float]:
    """Importance of each parameter for the objective, from the study's complete trials.

    Args:
        study: A :class:`~honed.Study` or a :class:`~honed.History`.
        method: ``"fanova"`` (random forest + functional ANOVA) or ``"ped-anova"`` (fast,
            Pearson divergence of the top trials' parameter densities).
        params: Parameters to rank; default: those every complete trial has.
        target: Maps a trial to the number to explain; required for multi-objective
            studies (e.g. ``lambda t: t.values[0]``). Default: the objective value.
        seed: Seed of the random forest (``fanova``).
        **options: ``n_trees``, ``max_depth``, ``min_samples_leaf``, ``max_features`` (a
            fraction of the parameters each split considers) for ``fanova``;
            ``quantile`` (default 0.1) for ``ped-anova``.

    Returns:
        ``{param: importance}``, non-negative, summing to one, most important first.
    """
    key = str(method).lower().replace("_", "-")
    if key not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    history = study if isinstance(study, History) else study._history()
    names, dists, x, y = _design(history, params, target)
    if key == "fanova":
        allowed = {"n_trees", "max_depth", "min_samples_leaf", "max_features"}
        _check_options(options, allowed, method)
        scores = fanova_importance(x, y, seed=seed, **options)
    else:
        _check_options(options, {"quantile"}, method)
        # Densities are measured on the loss, so "top" always means "best", whatever the
        # direction; _design already turned values into losses.
        scores = ped_anova_importance(x, y, dists, **options)
    return _ranked(names, scores)


def _check_options(options: dict[str, Any], allowed: set[str], method: str) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(
            f"importance(method={method!r}) got unknown option(s) {unknown}; "
            f"it accepts {sorted(allowed)}."
        )


def _ranked(names: Sequence[str], scores: np.ndarray) -> dict[str, float]:
    scores = np.clip(np.nan_to_num(np.asarray(scores, dtype=float)), 0.0, None)
    total = scores.sum()
    scores = scores / total if total > 0 else np.full(len(names), 1.0 / max(len(names), 1))
    order = sorted(range(len(names)), key=lambda i: (-scores[i], i))
    return {names[i]: float(scores[i]) for i in order}


def _design(
    history: History,
    params: Sequence[str] | None,
    target: Callable[[FrozenTrial], float] | None,
) -> tuple[list[str], list[Distribution], np.ndarray, np.ndarray]:
    """Unit-encoded parameter matrix and loss vector of the complete trials."""
    complete = [t for t in history if t.state is TrialState.COMPLETE and t.values is not None]
    if history.is_multi_objective and target is None:
        raise ValueError(
            f"this study has {history.n_objectives} objectives; pass target=, e.g. "
            "target=lambda t: t.values[0], to say which number to explain."
        )
    if len(complete) < 2:
        raise ValueError(
            f"importance needs at least 2 complete trials, the study has {len(complete)}; "
            "run more trials first."
        )
    if params is None:
        # Parameters (with the same range) that at least half of the complete trials have:
        # a few odd trials (a changed space, a hand-made trial) must not hide the rest.
        counts: dict[tuple[str, Distribution], int] = {}
        for t in complete:
            for k, d in t.distributions.items():
                counts[(k, d)] = counts.get((k, d), 0) + 1
        chosen: dict[str, tuple[int, Distribution]] = {}
        for (k, d), c in counts.items():
            if 2 * c >= len(complete) and not d.is_single and c > chosen.get(k, (0, d))[0]:
                chosen[k] = (c, d)
        names = [k for k in dict.fromkeys(k for k, _ in counts) if k in chosen]
        fixed = {k: chosen[k][1] for k in names}
        if not names:
            raise ValueError(
                "no parameter is shared by most complete trials (or all are fixed); "
                "pass params=[...] to choose which to rank."
            )
    else:
        names = list(params)
        if not names:
            raise ValueError("params is empty; name at least one parameter.")
        fixed = {}
    rows: list[FrozenTrial] = []
    dists: dict[str, Distribution] = dict(fixed)
    for t in complete:
        if all(n in t.params and n in t.distributions for n in names):
            for n in names:
                dists.setdefault(n, t.distributions[n])
            if all(dists[n].contains(t.params[n]) for n in names):
                rows.append(t)
    missing = [n for n in names if n not in dists]
    if missing:
        raise ValueError(f"no complete trial has parameter(s) {missing}; check the names.")
    if len(rows) < 2:
        raise ValueError(
            f"only {len(rows)} complete trial(s) have all of {names}; pick fewer params."
        )
    dist_list = [dists[n] for n in names]
    x = np.array([[d.to_unit(t.params[n]) for n, d in zip(names, dist_list)] for t in rows])
    if target is None:
        y = history.losses(rows)[:, 0]
    else:
        # A custom target is explained as given; for ped-anova lower counts as better.
        y = np.array([float(target(t)) for t in rows], dtype=float)
    finite = np.isfinite(y)
    return names, dist_list, x[finite], y[finite]


# ---- fANOVA --------------------------------------------------------------------------------


def fanova_importance(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_trees: int = 64,
    max_depth: int | None = None,
    min_samples_leaf: int = 1,
    max_features: float = 1.0,
    seed: int | None = 0,
) -> np.ndarray:
    """Main-effect variance fraction of each column of ``x`` (points in the unit cube), from a
    random forest fitted to ``y``; averaged over trees, not normalized."""
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "method='fanova' needs scikit-learn: pip install 'honed[sklearn]', "
            "or use method='ped-anova'."
        ) from e
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    d = x.shape[1]
    if n_trees < 1:
        raise ValueError(f"n_trees must be at least 1, got {n_trees}.")
    forest = RandomForestRegressor(
        n_estimators=n_trees,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        max_features=max(1, int(np.ceil(d * max_features))),
        bootstrap=True,
        random_state=seed,
    )
    forest.fit(x, y)
    fractions = np.zeros(d)
    used = 0
    for est in forest.estimators_:
        lo, hi, value = _leaf_boxes(est.tree_, d)
        vol = np.prod(hi - lo, axis=1)
        mean = float(np.dot(vol, value))
        total = float(np.dot(vol, (value - mean) ** 2))
        if total <= 0:
            continue  # a constant tree explains nothing
        used += 1
        for i in range(d):
            fractions[i] += _main_effect_variance(lo[:, i], hi[:, i], vol, value, mean) / total
    return fractions / max(used, 1)


def _leaf_boxes(tree: Any, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper corners and the prediction of every leaf of a fitted sklearn tree,
    within the unit cube."""
    left, right = tree.children_left, tree.children_right
    feature, threshold = tree.feature, tree.threshold
    values = tree.value[:, 0, 0]
    los, his, vals = [], [], []
    stack = [(0, np.zeros(d), np.ones(d))]
    while stack:
        node, lo, hi = stack.pop()
        if left[node] == -1:
            los.append(lo)
            his.append(hi)
            vals.append(values[node])
            continue
        f, t = feature[node], min(max(threshold[node], lo[feature[node]]), hi[feature[node]])
        hi_left = hi.copy()
        hi_left[f] = t
        lo_right = lo.copy()
        lo_right[f] = t
        stack.append((left[node], lo, hi_left))
        stack.append((right[node], lo_right, hi))
    return np.array(los), np.array(his), np.array(vals, dtype=float)


def _main_effect_variance(
    lo: np.ndarray, hi: np.ndarray, vol: np.ndarray, value: np.ndarray, mean: float
) -> float:
    """Variance over ``x_i`` of the tree's prediction averaged over all other parameters.

    A leaf ``[lo, hi)`` on axis ``i`` contributes ``value * vol / (hi - lo)`` (its value times
    its volume in the other dimensions) to the main effect at every ``x_i`` it covers; the sum
    of these box functions is built with a difference array over the sorted cut points.
    """
    width = hi - lo
    ok = width > 0
    lo, hi, contrib = lo[ok], hi[ok], value[ok] * vol[ok] / width[ok]
    cuts, inverse = np.unique(np.concatenate([lo, hi]), return_inverse=True)
    delta = np.zeros(len(cuts))
    np.add.at(delta, inverse[: len(lo)], contrib)
    np.add.at(delta, inverse[len(lo) :], -contrib)
    effect = np.cumsum(delta)[:-1]  # constant on [cuts[k], cuts[k + 1])
    seg = np.diff(cuts)
    return float(np.dot(seg, (effect - mean) ** 2))


# ---- PED-ANOVA -----------------------------------------------------------------------------

_GRID = 256


def ped_anova_importance(
    x: np.ndarray,
    loss: np.ndarray,
    distributions: Sequence[Distribution],
    *,
    quantile: float = 0.1,
) -> np.ndarray:
    """Pearson divergence between each parameter's density among the best ``quantile`` of
    trials (lowest ``loss``) and among all trials; not normalized."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}; 0.1 is typical.")
    x = np.asarray(x, dtype=float)
    loss = np.asarray(loss, dtype=float)
    n = len(loss)
    n_top = max(2, int(np.ceil(quantile * n)))
    if n_top >= n:
        raise ValueError(
            f"ped-anova with quantile={quantile} needs more than {n_top} complete trials "
            f"(the study has {n}); run more trials or raise quantile."
        )
    top = np.argsort(loss, kind="stable")[:n_top]
    out = np.zeros(x.shape[1])
    for i, dist in enumerate(distributions):
        col = x[:, i]
        if isinstance(dist, Choice) or (isinstance(dist, Int) and dist.n_values <= 16):
            k = len(dist.choices) if isinstance(dist, Choice) else dist.n_values
            p_all = _histogram(col, k)
            p_top = _histogram(col[top], k)
            out[i] = float(np.sum(p_all * (p_top / p_all - 1.0) ** 2))
        else:
            grid = (np.arange(_GRID) + 0.5) / _GRID
            p_all = _kde(col, grid)
            p_top = _kde(col[top], grid)
            # The Pearson divergence under the all-trials density, a Riemann sum on the grid.
            out[i] = float(np.mean(p_all * (p_top / p_all - 1.0) ** 2))
    return out


def _histogram(u: np.ndarray, k: int) -> np.ndarray:
    """Option frequencies of unit-encoded choices, with one pseudo-count per option so that
    no probability is zero."""
    idx = np.clip((u * k).astype(int), 0, k - 1)
    counts = np.bincount(idx, minlength=k).astype(float) + 1.0
    return counts / counts.sum()


def _kde(u: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian Parzen density of ``u`` on ``grid`` within [0, 1], renormalized, mixed with a
    little of the uniform so the ratio of two densities stays finite."""
    n = len(u)
    sd = float(np.std(u)) if n > 1 else 0.0
    bw = max(1.06 * (sd if sd > 0 else 0.1) * n ** (-0.2), 0.02)
    dens = np.zeros_like(grid)
    for chunk in np.array_split(u, max(1, n // 4096)):
        z = (grid[:, None] - chunk[None, :]) / bw
        dens += np.exp(-0.5 * z * z).sum(axis=1)
    dens /= dens.mean() if dens.mean() > 0 else 1.0
    return 0.99 * dens + 0.01
