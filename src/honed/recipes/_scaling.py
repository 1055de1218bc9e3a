"""Hyperparameter scaling laws: fit how the best learning rate (or batch size, ...) moves with
model and data size on small runs, and predict it at a scale too expensive to sweep.

The recipe, per target hyperparameter ``h`` and scale variables ``s_1 .. s_k``:

1. Group the trials by their scale (read from the trial's params, its user attributes, or its
   study's user attributes, the first that has it).
2. In each group, estimate the optimum of ``h`` with a smooth fit, not the argmin of noisy
   losses: a quadratic in ``log h`` (jointly in every target, when the group has trials
   enough) fitted to the better half of the trials with weights falling with their rank, its
   minimum clipped to the range those trials cover.
3. Fit ``log h* = log a + sum_i alpha_i log s_i`` over the groups by least squares.
4. Repeat 2-3 with each group's trials reweighted at random (the Bayesian bootstrap: Dirichlet
   weights, a smooth resampling of trials within each group) for intervals.

It assumes a power law holds over the range studied, and extrapolates it; the intervals cover
the noise of the per-scale optima, not a law that bends beyond the largest scale run.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import honed
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["ScaleGroup", "ScalingLaw", "fit_scaling_law"]


@dataclass(frozen=True)
class ScaleGroup:
    """The trials run at one scale and the optimum estimated from them.

    Attributes:
        scale: The scale variables' values shared by the group's trials.
        n_trials: Complete trials used (those with every target parameter).
        optimum: Target name -> the estimated best value at this scale.
        method: How it was estimated: ``"joint quadratic"`` (all targets at once),
            ``"quadratic"`` (one target at a time), or ``"weighted mean"`` of the best trials'
            values, when the fit had too few trials or found no minimum.
        best_value: The best objective value in the group.
        best_params: Target name -> the best trial's value (the argmin, for comparison).
    """

    scale: Mapping[str, float]
    n_trials: int
    optimum: Mapping[str, float]
    method: str
    best_value: float
    best_params: Mapping[str, float]


@dataclass(frozen=True, eq=False)
class ScalingLaw:
    """A fitted power law of each target's optimum in the scale variables.

    ``optimum(target) = prefactor * prod(scale_i ** exponent_i)``. Made by
    :func:`fit_scaling_law`.

    Attributes:
        scale: The scale variables, in order.
        target: The target hyperparameters, in order.
        prefactors: Target -> ``a``.
        exponents: Target -> {scale variable: exponent}.
        groups: The scale groups the law was fitted on.
        residual_sd: Target -> standard deviation of the groups' log optima around the law
            (``nan`` when there are exactly as many groups as coefficients: nothing is left to
            judge the fit by).
        unscaled: ``(study name or None, trial number)`` of the complete trials left out
            because no scale value was found for them.
        distributions: The search space the trials were drawn from (the last distribution
            seen for each parameter), which :meth:`space` narrows.
        direction: Whether lower or higher objective values were better.
        n_bootstrap: Bootstrap replicates behind the intervals.
        coefficients: ``(n_targets, 1 + n_scale)``: per target, ``log(prefactor)`` then the
            exponents in the order of ``scale``.
        bootstrap_coefficients: ``(n_bootstrap, n_targets, 1 + n_scale)``: the same, refitted
            on each bootstrap replicate.
    """

    scale: tuple[str, ...]
    target: tuple[str, ...]
    prefactors: Mapping[str, float]
    exponents: Mapping[str, Mapping[str, float]]
    groups: tuple[ScaleGroup, ...]
    residual_sd: Mapping[str, float]
    unscaled: tuple[tuple[str | None, int], ...]
    distributions: Mapping[str, honed.Distribution]
    direction: Direction
    n_bootstrap: int
    coefficients: np.ndarray = field(repr=False)
    bootstrap_coefficients: np.ndarray = field(repr=False)

    # ---- predictions -------------------------------------------------------------------------
    def _design(self, scale: Mapping[str, Any]) -> np.ndarray:
        missing = [s for s in self.scale if s not in scale]
        extra = [s for s in scale if s not in self.scale]
        if missing or extra:
            raise TypeError(
                f"the law was fitted on scale variables {', '.join(self.scale)}; "
                + (f"give {', '.join(f'{s}=...' for s in missing)}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"{', '.join(extra)} is not one of them" if extra else "")
                + "."
            )
        row = [1.0]
        for s in self.scale:
            v = scale[s]
            if isinstance(v, bool) or not isinstance(v, int | float | np.number):
                raise TypeError(f"{s} must be a positive number, got {v!r}.")
            if not math.isfinite(float(v)) or float(v) <= 0:
                raise ValueError(f"{s} must be a positive finite number, got {v!r}.")
            row.append(math.log(float(v)))
        return np.asarray(row)

    def predict(self, **scale: float) -> dict[str, float]:
        """The predicted optimum of each target at ``scale`` (every scale variable by name)."""
        x = self._design(scale)
        return {t: float(np.exp(self.coefficients[j] @ x)) for j, t in enumerate(self.target)}

    def interval(self, level: float = 0.9, **scale: float) -> dict[str, tuple[float, float]]:
        """A bootstrap interval of each target's predicted optimum at ``scale``."""
        _check_level(level)
        x = self._design(scale)
        logs = self.bootstrap_coefficients @ x  # (n_bootstrap, n_targets)
        lo, hi = np.quantile(logs, [(1 - level) / 2, (1 + level) / 2], axis=0)
        return {t: (float(np.exp(lo[j])), float(np.exp(hi[j]))) for j, t in enumerate(self.target)}

    def exponent_intervals(self, level: float = 0.9) -> dict[str, dict[str, tuple[float, float]]]:
        """Target -> {scale variable: bootstrap interval of its exponent}."""
        _check_level(level)
        q = [(1 - level) / 2, (1 + level) / 2]
        lo, hi = np.quantile(self.bootstrap_coefficients, q, axis=0)
        return {
            t: {s: (float(lo[j, i + 1]), float(hi[j, i + 1])) for i, s in enumerate(self.scale)}
            for j, t in enumerate(self.target)
        }

    def space(
        self, level: float = 0.9, margin: float = 1.5, **scale: float
    ) -> dict[str, honed.Distribution]:
        """A search space for a study at ``scale``: each target narrowed to its interval
        widened by ``margin`` (times on each side, log scale), every other parameter as the
        trials had it, and scale variables that were parameters fixed at the given value.

        An ``Int`` target stays an ``Int`` (log scale), a ``Choice`` keeps the values in the
        range (at least the one nearest the prediction); a ``Float`` becomes log-scaled.
        """
        _check_level(level)
        if isinstance(margin, bool) or not isinstance(margin, int | float) or not margin >= 1:
            raise ValueError(
                f"margin must be a number >= 1 (1 = the interval itself), got {margin!r}."
            )
        center = self.predict(**scale)
        bounds = self.interval(level, **scale)
        out: dict[str, honed.Distribution] = {}
        for name, dist in self.distributions.items():
            if name in self.target:
                low = min(bounds[name][0], center[name]) / margin
                high = max(bounds[name][1], center[name]) * margin
                out[name] = _narrowed(dist, low, high, center[name])
            elif name in self.scale:
                out[name] = _fixed(dist, scale[name])
            else:
                out[name] = dist
        for name in self.target:
            if name not in out:  # a target read from attributes has no distribution: a Float
                low = min(bounds[name][0], center[name]) / margin
                high = max(bounds[name][1], center[name]) * margin
                out[name] = honed.Float(low, high, log=True)
        return out

    # ---- the figure --------------------------------------------------------------------------
    def plot(self, x: str | None = None) -> Any:
        """A matplotlib figure, one panel per target: each group's estimated optimum (points,
        with the best trial's value as a cross) against scale variable ``x`` (the first by
        default) on log-log axes, and the law through them (one line per value of the other
        scale variables). Needs matplotlib (``pip install 'honed[plots]'``)."""
        try:
            from matplotlib.figure import Figure
        except ImportError as e:
            raise ImportError(
                "ScalingLaw.plot needs matplotlib: pip install 'honed[plots]'."
            ) from e
        x = self.scale[0] if x is None else x
        if x not in self.scale:
            raise ValueError(f"x must be one of the scale variables {self.scale}, got {x!r}.")
        others = [s for s in self.scale if s != x]
        n = len(self.target)
        fig = Figure(figsize=(4.2 * n, 3.6), layout="constrained")
        fig.suptitle("Scaling law of the optimum")
        xs = np.array([g.scale[x] for g in self.groups])
        grid = np.geomspace(xs.min(), xs.max(), 50)
        keys = sorted({tuple(g.scale[o] for o in others) for g in self.groups})
        colors = ["#4c6ef5", "#e8590c", "#2b8a3e", "#7048e8", "#c92a2a", "#1098ad"]
        for j, t in enumerate(self.target):
            ax = fig.add_subplot(1, n, j + 1)
            ax.set_xscale("log")
            ax.set_yscale("log")
            for c, key in enumerate(keys):
                color = colors[c % len(colors)]
                fixed = dict(zip(others, key, strict=True))
                members = [g for g in self.groups if tuple(g.scale[o] for o in others) == key]
                label = ", ".join(f"{o}={v:g}" for o, v in fixed.items()) or None
                ax.scatter(
                    [g.scale[x] for g in members],
                    [g.optimum[t] for g in members],
                    color=color,
                    label=label,
                    zorder=3,
                )
                ax.scatter(
                    [g.scale[x] for g in members],
                    [g.best_params[t] for g in members],
                    color=color,
                    marker="x",
                    alpha=0.5,
                )
                line = [self.predict(**{x: v, **fixed})[t] for v in grid]
                ax.plot(grid, line, color=color, lw=1.5)
            exps = ", ".join(f"{s}^{self.exponents[t][s]:.2f}" for s in self.scale)
            ax.set_title(f"{t} = {self.prefactors[t]:.3g} {exps}", fontsize=9)
            ax.set_xlabel(x)
            ax.set_ylabel(f"optimal {t}")
            if others:
                ax.legend(fontsize=8)
        return fig


def _check_level(level: Any) -> None:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"level must be a probability strictly between 0 and 1, got {level!r}.")


def _narrowed(
    dist: honed.Distribution, low: float, high: float, center: float
) -> honed.Distribution:
    if isinstance(dist, honed.Int):
        lo = max(1, math.floor(low))
        return honed.Int(lo, max(lo, math.ceil(high)), log=True)
    if isinstance(dist, honed.Choice):
        numbers = [
            v for v in dist.choices if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        inside = [v for v in numbers if low <= v <= high]
        if not inside:
            inside = [min(numbers, key=lambda v: abs(math.log(v / center)))]
        return honed.Choice(inside)
    return honed.Float(low, high, log=True)


def _fixed(dist: honed.Distribution, value: float) -> honed.Distribution:
    if isinstance(dist, honed.Int):
        return honed.Int(int(value), int(value))
    if isinstance(dist, honed.Float):
        return honed.Float(float(value), float(value))
    return honed.Choice([value])


# ---- reading the trials ----------------------------------------------------------------------
def _names(value: str | Sequence[str], what: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{what} must be a parameter name or a list of them, got {value!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names a variable twice: {list(names)}.")
    return names


def _collect(
    source: Any, rank_by: int | None
) -> tuple[list[tuple[FrozenTrial, Mapping[str, Any], str | None, float]], Direction | None]:
    """(trial, study user attrs, study name, objective value) of every complete feasible
    trial, and the studies' common direction (None when only bare trials were given)."""
    items: list[Any]
    if isinstance(source, honed.Study | FrozenTrial):
        items = [source]
    elif isinstance(source, Iterable) and not isinstance(source, str | bytes | Mapping):
        items = list(source)
    else:
        raise TypeError(
            "fit_scaling_law needs honed studies or trials (a list of them), got "
            f"{type(source).__name__}."
        )
    rows: list[tuple[FrozenTrial, Mapping[str, Any], str | None, float]] = []
    directions: set[Direction] = set()
    for item in items:
        if isinstance(item, honed.Study):
            n = len(item.directions)
            if rank_by is None and n > 1:
                raise ValueError(
                    f"study {item.name!r} has {n} objectives; choose the one to fit with "
                    f"rank_by=0..{n - 1}."
                )
            index = rank_by or 0
            if not 0 <= index < n:
                raise ValueError(f"rank_by={rank_by} but study {item.name!r} has {n} objective(s).")
            directions.add(item.directions[index])
            attrs = item.user_attrs
            for t in item.get_trials([TrialState.COMPLETE]):
                if t.values is not None and t.is_feasible:
                    rows.append((t, attrs, item.name, float(t.values[index])))
        elif isinstance(item, FrozenTrial):
            if item.state is TrialState.COMPLETE and item.values is not None and item.is_feasible:
                rows.append((item, {}, None, float(item.values[rank_by or 0])))
        else:
            raise TypeError(
                f"fit_scaling_law reads honed.Study and honed.FrozenTrial objects, got "
                f"{type(item).__name__}."
            )
    if len(directions) > 1:
        raise ValueError(
            "the studies disagree on the direction of the objective (some minimize, some "
            "maximize); fit studies of one objective."
        )
    return rows, (directions.pop() if directions else None)


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} of {where} must be a positive number, got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(
            f"{name} of {where} is {value!r}; a power law needs positive finite values "
            "(it is fitted on their logarithm)."
        )
    return v


def _where(trial: FrozenTrial, study: str | None) -> str:
    return f"trial {trial.number}" + (f" of study {study!r}" if study else "")


# ---- the optimum of one group ----------------------------------------------------------------
def _rank_weights(m: int) -> np.ndarray:
    r = np.arange(m) / m
    return (1 - r**3) ** 3


def _quadratic_features(z: np.ndarray) -> np.ndarray:
    n, d = z.shape
    cols = [np.ones(n)] + [z[:, i] for i in range(d)]
    cols += [z[:, i] * z[:, k] for i in range(d) for k in range(i, d)]
    return np.column_stack(cols)


def _quadratic_minimum(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """The minimum of the weighted least-squares quadratic through (z, y), or None when the
    fit has no unique minimum (not positive definite, or too few distinct points)."""
    d = z.shape[1]
    a = _quadratic_features(z)
    sw = np.sqrt(w)
    coef, _, rank, _ = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)
    if rank < a.shape[1]:
        return None
    g = coef[1 : d + 1]
    h = np.zeros((d, d))
    k = d + 1
    for i in range(d):
        for j in range(i, d):
            if i == j:
                h[i, i] = 2 * coef[k]
            else:
                h[i, j] = h[j, i] = coef[k]
            k += 1
    try:
        np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return None
    return np.asarray(np.linalg.solve(h, -g))


def _group_optimum(
    x: np.ndarray, y: np.ndarray, top_fraction: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """The optimum of the log targets ``x`` (n, d) given losses ``y`` (lower is better);
    ``weights`` (one per trial, the bootstrap's) multiply the rank weights."""
    n, d = x.shape
    order = np.argsort(y, kind="stable")
    x, y = x[order], y[order]
    mult = np.ones(n) if weights is None else weights[order]

    def top(p: int) -> int:
        return min(n, max(2 * p, math.ceil(top_fraction * n)))

    def fit(cols: list[int]) -> np.ndarray | None:
        p = 1 + len(cols) + len(cols) * (len(cols) + 1) // 2
        m = top(p)
        if m < 2 * p:
            return None
        xs, ys = x[:m][:, cols], y[:m]
        mu, sd = xs.mean(axis=0), xs.std(axis=0)
        if np.any(sd == 0):
            return None
        ys = (ys - ys[0]) / (np.ptp(ys) or 1.0)
        zmin = _quadratic_minimum((xs - mu) / sd, ys, _rank_weights(m) * mult[:m])
        if zmin is None:
            return None
        return np.clip(mu + sd * zmin, xs.min(axis=0), xs.max(axis=0))

    def weighted_mean(j: int) -> float:
        m = min(n, max(3, math.ceil(top_fraction * n)))
        w = _rank_weights(m) * mult[:m]
        return float(np.sum(w * x[:m, j]) / np.sum(w))

    if d > 1:
        joint = fit(list(range(d)))
        if joint is not None:
            return joint, "joint quadratic"
    out = np.empty(d)
    methods = set()
    for j in range(d):
        one = fit([j])
        if one is None:
            out[j] = weighted_mean(j)
            methods.add("weighted mean")
        else:
            out[j] = one[0]
            methods.add("quadratic")
    return out, " and ".join(sorted(methods))


# ---- the law ---------------------------------------------------------------------------------
def fit_scaling_law(
    trials_or_studies: Any,
    scale: str | Sequence[str] = ("n_params", "n_tokens"),
    target: str | Sequence[str] = ("lr", "batch_size"),
    *,
    rank_by: int | None = None,
    direction: str | Direction | None = None,
    top_fraction: float = 0.5,
    n_bootstrap: int = 200,
    seed: int | None = 0,
) -> ScalingLaw:
    """Fit, for each target hyperparameter, a power law of its optimum in the scale variables,
    from studies (or trials) run at several small scales.

    Args:
        trials_or_studies: A :class:`honed.Study`, a :class:`honed.FrozenTrial`, or a list of
            them (one study per scale, or one study holding every scale). Complete feasible
            trials are used.
        scale: The scale variables (e.g. parameter count, tokens seen). Each trial's value is
            read from its params, its user attributes, or its study's user attributes, the
            first that has it. Trials with none are left out with a warning, and listed in
            ``law.unscaled``.
        target: The hyperparameters whose optimum is fitted; trials must have them as params.
        rank_by: The objective to use in multi-objective studies.
        direction: ``"minimize"`` or ``"maximize"``; by default the studies' direction, and
            ``"minimize"`` for bare trials.
        top_fraction: The share of each group's best trials the smooth fit of the optimum
            uses (weighted by rank; at least twice as many trials as the fit has
            coefficients).
        n_bootstrap: Bootstrap replicates (trials reweighted at random within each scale
            group) behind ``law.interval`` and ``law.exponent_intervals``.
        seed: Seed of the bootstrap.

    Raises:
        ValueError: fewer than 2 scale groups, or fewer groups than coefficients; a scale
            variable constant across groups (or proportional to another one); non-positive
            scale or target values; a target no trial has as a parameter.
    """
    scale_names = _names(scale, "scale")
    targets = _names(target, "target")
    both = set(scale_names) & set(targets)
    if both:
        raise ValueError(f"{sorted(both)} is both a scale variable and a target; pick one.")
    if not isinstance(top_fraction, int | float) or not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction!r}.")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 10:
        raise ValueError(f"n_bootstrap must be an int >= 10, got {n_bootstrap!r}.")

    rows, study_direction = _collect(trials_or_studies, rank_by)
    if direction is None:
        direction = study_direction or Direction.MINIMIZE
    else:
        direction = Direction(direction)
    if not rows:
        raise ValueError("fit_scaling_law found no complete feasible trial in its input.")

    unscaled: list[tuple[str | None, int]] = []
    groups: dict[tuple[float, ...], list[tuple[np.ndarray, float, FrozenTrial]]] = {}
    scaled: dict[tuple[float, ...], int] = {}
    available: set[str] = set()
    distributions: dict[str, honed.Distribution] = {}
    for trial, study_attrs, study_name, value in rows:
        distributions.update(trial.distributions)
        where = _where(trial, study_name)
        svals = []
        for s in scale_names:
            for source in (trial.params, trial.user_attrs, study_attrs):
                if s in source:
                    svals.append(_number(source[s], s, where))
                    break
            else:
                break
        if len(svals) < len(scale_names):
            unscaled.append((study_name, trial.number))
            continue
        available.update(trial.params)
        scaled[tuple(svals)] = scaled.get(tuple(svals), 0) + 1
        if not all(t in trial.params for t in targets):
            continue
        x = np.log([_number(trial.params[t], t, where) for t in targets])
        groups.setdefault(tuple(svals), []).append((x, direction.sign * value, trial))

    if unscaled:
        shown = ", ".join(f"{s}:{n}" if s else str(n) for s, n in unscaled[:10])
        more = f" and {len(unscaled) - 10} more" if len(unscaled) > 10 else ""
        warnings.warn(
            f"{len(unscaled)} complete trial(s) have no value for the scale variable(s) "
            f"{', '.join(scale_names)} in their params, user attributes or study's user "
            f"attributes, and are left out of the scaling law: {shown}{more}. Set them with "
            "study.set_user_attr(name, value) or trial.set_user_attr(name, value).",
            UserWarning,
            stacklevel=2,
        )
    missing = [t for t in targets if t not in available]
    if available and missing:
        raise ValueError(
            f"no trial has the target parameter(s) {', '.join(missing)}; the trials' "
            f"parameters are {', '.join(sorted(available))}. Pass target= some of them."
        )
    for key, count in sorted(scaled.items()):
        have = len(groups.get(key, ()))
        if have < 3:
            shown = ", ".join(f"{s}={v:g}" for s, v in zip(scale_names, key, strict=True))
            raise ValueError(
                f"the scale group {shown} has {have} complete trial(s) with every target "
                f"({', '.join(targets)}) among its {count}; at least 3 are needed to place an "
                "optimum. Run more trials at that scale, or leave its trials out."
            )
    if not groups:
        raise ValueError(
            f"no complete trial has a value for the scale variable(s) {', '.join(scale_names)}"
            " (see the warning); record them as trial params or user attributes, or as the "
            "study's user attributes."
        )
    keys = sorted(groups)
    scales = np.log(np.asarray(keys))  # (G, k)
    k = len(scale_names)
    if len(keys) < 2:
        only = ", ".join(f"{s}={v:g}" for s, v in zip(scale_names, keys[0], strict=True))
        raise ValueError(
            f"all trials are at one scale ({only}); a scaling law needs studies at 2 or more "
            f"scales (at least {k + 1} for {k} scale variables, more to judge the fit). Run "
            "the same sweep at other sizes and pass all the studies."
        )
    for i, s in enumerate(scale_names):
        if np.ptp(scales[:, i]) == 0:
            raise ValueError(
                f"scale variable {s!r} is {keys[0][i]:g} in every scale group, so its exponent "
                f"cannot be fitted; drop it from scale= or run at several values of {s}."
            )
    design = np.column_stack([np.ones(len(keys)), scales])
    if len(keys) < k + 1 or np.linalg.matrix_rank(design) < k + 1:
        raise ValueError(
            f"the {len(keys)} scale groups do not separate the exponents of "
            f"{', '.join(scale_names)}: "
            + (
                f"{k} scale variables need at least {k + 1} groups"
                if len(keys) < k + 1
                else "the variables change together (one is a power of another across the groups)"
            )
            + "; run more scales, varying each variable on its own, or fit fewer variables."
        )

    arrays = {
        key: (np.array([e[0] for e in groups[key]]), np.array([e[1] for e in groups[key]]))
        for key in keys
    }

    def optima(rng: np.random.Generator) -> np.ndarray:
        """Each group's optimum with its trials reweighted at random: the Bayesian bootstrap
        (Dirichlet weights), which resamples trials within the group without the repeated
        points of the plain bootstrap that leave a small group's quadratic unidentified."""
        out = np.empty((len(keys), len(targets)))
        for g, key in enumerate(keys):
            xs, ys = arrays[key]
            w = rng.dirichlet(np.ones(len(ys))) * len(ys)
            out[g] = _group_optimum(xs, ys, float(top_fraction), w)[0]
        return out

    def law(logopt: np.ndarray) -> np.ndarray:
        coef, *_ = np.linalg.lstsq(design, logopt, rcond=None)
        return np.asarray(coef.T)  # (n_targets, 1 + k)

    group_records = []
    logopt = np.empty((len(keys), len(targets)))
    for g, key in enumerate(keys):
        entries = groups[key]
        xs = np.array([e[0] for e in entries])
        ys = np.array([e[1] for e in entries])
        opt, method = _group_optimum(xs, ys, float(top_fraction))
        logopt[g] = opt
        best = int(np.argmin(ys))
        group_records.append(
            ScaleGroup(
                scale=dict(zip(scale_names, key, strict=True)),
                n_trials=len(entries),
                optimum={t: float(np.exp(opt[j])) for j, t in enumerate(targets)},
                method=method,
                best_value=float(direction.sign * ys[best]),
                best_params={t: float(np.exp(xs[best, j])) for j, t in enumerate(targets)},
            )
        )
    coefs = law(logopt)
    fitted = design @ coefs.T
    dof = len(keys) - (k + 1)
    resid = (
        np.sqrt(np.sum((logopt - fitted) ** 2, axis=0) / dof)
        if dof > 0
        else np.full(len(targets), np.nan)
    )

    coefs.setflags(write=False)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_bootstrap, len(targets), k + 1))
    for b in range(n_bootstrap):
        boot[b] = law(optima(rng))
    boot.setflags(write=False)

    return ScalingLaw(
        scale=scale_names,
        target=targets,
        prefactors={t: float(np.exp(coefs[j, 0])) for j, t in enumerate(targets)},
        exponents={
            t: {s: float(coefs[j, i + 1]) for i, s in enumerate(scale_names)}
            for j, t in enumerate(targets)
        },
        groups=tuple(group_records),
        residual_sd={t: float(resid[j]) for j, t in enumerate(targets)},
        unscaled=tuple(unscaled),
        distributions=dict(distributions),
        direction=direction,
        n_bootstrap=n_bootstrap,
        coefficients=coefs,
        bootstrap_coefficients=boot,
    )
