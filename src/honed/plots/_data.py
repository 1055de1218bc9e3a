"""The data behind every plot, as small JSON-ready dicts.

Both faces draw from these: the dashboard sends them to its SVG renderer in the browser, and
:mod:`honed.plots` draws them with the same renderer (HTML) or with matplotlib (PNG). Large
studies are thinned here, on the server, so a browser never has to draw 10,000 of anything.

Every axis in a payload is ``{"label", "domain": [a, b], "ticks": [[position, text], ...]}``
and coordinates are linear positions on it. Parameter axes use the unit encodings of
:mod:`honed.space` (domain ``[0, 1]``), so log scales and choices need no special case in a
renderer; objective axes use raw values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from honed.pareto import non_dominated_mask
from honed.schedulers.curves import PREDICTION_ATTR
from honed.space import Choice, Distribution, Int
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = [
    "contour_data",
    "history_data",
    "importance_data",
    "intermediate_data",
    "parallel_data",
    "pareto_data",
    "slice_data",
]

MAX_POINTS = 2000
MAX_LINES = 400
MAX_CURVES = 150
MAX_STEPS = 120


# ---- JSON, axes and ticks ------------------------------------------------------------------------


def jsonable(v: Any) -> Any:
    """Values as JSON can carry them (NaN and infinities become strings)."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return json.loads(json.dumps(v, default=str))


def fmt(v: float) -> str:
    """Short label of a number."""
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e5:
        s = f"{v:.4g}"
    else:
        s = f"{v:.3g}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    return s


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round numbers spanning ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(round(v, 12) + 0.0)
        v += step
    return out


def value_axis(label: str, values: Sequence[float]) -> dict[str, Any]:
    """A linear axis over raw numbers, padded a little."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(arr) == 0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
    else:
        pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    return {"label": label, "domain": [lo, hi], "ticks": [[t, fmt(t)] for t in nice_ticks(lo, hi)]}


def choice_label(c: Any) -> str:
    return c if isinstance(c, str) else repr(c)


def param_axis(name: str, dist: Distribution) -> dict[str, Any]:
    """A unit-encoded axis of one parameter with ticks at readable values."""
    ticks: list[list[Any]] = []
    if isinstance(dist, Choice):
        k = len(dist.choices)
        every = max(1, math.ceil(k / 12))
        ticks = [
            [(i + 0.5) / k, choice_label(c)] for i, c in enumerate(dist.choices) if i % every == 0
        ]
    elif dist.is_single:
        ticks = [[0.5, fmt(float(dist.low))]]  # type: ignore[attr-defined]  # Float or Int
    else:
        lo, hi = float(dist.low), float(dist.high)  # type: ignore[attr-defined]  # Float or Int
        cands: list[float] = []
        if getattr(dist, "log", False):
            for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
                cands += [m * 10.0**e for m in (1, 2, 5)]
            cands = [c for c in cands if lo <= c <= hi]
            if len(cands) > 7:
                cands = [c for c in cands if math.isclose(math.log10(c) % 1, 0, abs_tol=1e-9)]
            if len(cands) < 2:
                cands = [lo, hi]
        else:
            cands = nice_ticks(lo, hi)
        if isinstance(dist, Int):
            cands = sorted({int(round(c)) for c in cands if dist.contains(int(round(c)))})
            if not cands:
                cands = [dist.low, dist.high]
        pos = dist.to_unit_array(cands)
        ticks = [[float(p), fmt(float(c))] for p, c in zip(pos, cands) if -1e-9 <= p <= 1 + 1e-9]
    return {"label": name, "domain": [0.0, 1.0], "ticks": ticks}


# ---- helpers -------------------------------------------------------------------------------


def thin(n: int, limit: int, keep: Sequence[int] | np.ndarray = ()) -> np.ndarray:
    """Indices of at most ``limit`` of ``n`` items, evenly spread, always with ``keep``."""
    if n <= limit:
        return np.arange(n)
    keep_set = sorted({int(k) for k in keep if 0 <= k < n})[: limit // 2]
    rest = limit - len(keep_set)
    spread = np.linspace(0, n - 1, rest).round().astype(int)
    return np.unique(np.concatenate([spread, np.array(keep_set, dtype=int)]))


def _complete(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state is TrialState.COMPLETE and t.values is not None]


def objective_names(directions: Sequence[Direction], names: Sequence[str] | None = None) -> list:
    if names and len(names) == len(directions):
        return list(names)
    if len(directions) == 1:
        return ["objective"]
    return [f"objective {i}" for i in range(len(directions))]


def _check_objective(objective: int, directions: Sequence[Direction]) -> None:
    if not 0 <= objective < len(directions):
        raise ValueError(
            f"objective must be between 0 and {len(directions) - 1} for this study, "
            f"got {objective}."
        )


def common_params(trials: Sequence[FrozenTrial]) -> dict[str, Distribution]:
    """Parameters of the complete trials, most frequent first, each with its latest range."""
    counts: dict[str, int] = {}
    dists: dict[str, Distribution] = {}
    for t in _complete(trials) or list(trials):
        for k, d in t.distributions.items():
            counts[k] = counts.get(k, 0) + 1
            dists[k] = d
    order = sorted(counts, key=lambda k: -counts[k])
    return {k: dists[k] for k in order}


def _unit(dist: Distribution, value: Any) -> float | None:
    try:
        return float(dist.to_unit(value)) if dist.contains(value) else None
    except (TypeError, ValueError, OverflowError):
        return None


# ---- the plots -----------------------------------------------------------------------------


def history_data(
    trials: Sequence[FrozenTrial],
    directions: Sequence[Direction],
    *,
    objective: int = 0,
    objective_labels: Sequence[str] | None = None,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """Objective value of each complete trial by trial number, with the best so far."""
    _check_objective(objective, directions)
    done = _complete(trials)
    sign = directions[objective].sign
    numbers = [t.number for t in done]
    values = [float(t.values[objective]) for t in done]  # type: ignore[index]
    best: list[list[float]] = []
    improved: list[int] = []
    cur = math.inf
    for i, (n, v) in enumerate(zip(numbers, values)):
        if sign * v < cur:
            cur = sign * v
            best.append([n, v])
            improved.append(i)
    if best and numbers:
        best.append([numbers[-1], best[-1][1]])  # the line runs to the latest trial
    idx = thin(len(done), max_points, keep=improved)
    label = objective_names(directions, objective_labels)[objective]
    last = max((t.number for t in trials), default=0)
    return {
        "kind": "history",
        "title": "Optimization history",
        "x": {
            "label": "trial",
            "domain": [-0.5, last + 0.5],
            "ticks": [[t, fmt(t)] for t in nice_ticks(0, max(last, 1)) if t == int(t)],
        },
        "y": value_axis(label, values),
        "number": [numbers[i] for i in idx],
        "value": [values[i] for i in idx],
        "best": best,
        "direction": directions[objective].value,
        "n_total": len(done),
        "n_shown": len(idx),
    }


def intermediate_data(
    trials: Sequence[FrozenTrial],
    *,
    objective: int = 0,
    max_curves: int = MAX_CURVES,
    max_steps: int = MAX_STEPS,
) -> dict[str, Any]:
    """Learning curves: each trial's reported values by step; pruned trials are marked. In a
    multi-objective study, the ``objective``-th entry of each reported vector."""
    if objective < 0:
        raise ValueError(f"objective must be >= 0, got {objective}.")

    def reports(t: FrozenTrial) -> dict[int, float]:
        if t.intermediate_values:
            return dict(t.intermediate_values) if objective == 0 else {}
        return {s: v[objective] for s, v in t.intermediate_vectors.items() if objective < len(v)}

    by_trial = [(t, reports(t)) for t in trials]
    with_iv = [(t, r) for t, r in by_trial if r]
    # Keep the latest curves plus the pruned and complete ones spread over the study.
    idx = thin(len(with_iv), max_curves, keep=range(len(with_iv) - max_curves // 4, len(with_iv)))
    curves = []
    all_steps: list[float] = []
    all_vals: list[float] = []
    for i in idx:
        t, values = with_iv[int(i)]
        # NaN and infinite reports cannot be drawn; the curve skips them.
        steps = sorted(s for s, v in values.items() if math.isfinite(v))
        if not steps:
            continue
        if len(steps) > max_steps:
            pick = np.linspace(0, len(steps) - 1, max_steps).round().astype(int)
            steps = [steps[j] for j in np.unique(pick)]
        vals = [float(values[s]) for s in steps]
        curve: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "step": steps,
            "value": vals,
        }
        pred = _lc_prediction(t)
        if pred is not None:
            curve["prediction"] = pred
            all_steps.append(pred["step"])
            all_vals.append(pred["mean"])
        curves.append(curve)
        all_steps += [steps[0], steps[-1]]
        all_vals += [v for v in vals if math.isfinite(v)]
    x = value_axis("step", all_steps or [0, 1])
    x["ticks"] = [tk for tk in x["ticks"] if float(tk[0]).is_integer()] or x["ticks"]
    return {
        "kind": "intermediate",
        "title": "Intermediate values",
        "x": x,
        "y": value_axis("value", all_vals),
        "curves": curves,
        "n_total": len(with_iv),
        "n_shown": len(curves),
    }


def _lc_prediction(t: FrozenTrial) -> dict[str, Any] | None:
    """The learning-curve scheduler's last prediction of the trial's final value (system
    attribute ``lc_prediction``) as ``step, mean, low, high, p_beat_best`` (a 95% band),
    or ``None`` when there is none (or it is not finite)."""
    raw = t.system_attrs.get(PREDICTION_ATTR)
    if not isinstance(raw, dict):
        return None
    try:
        step, mean, std = float(raw["final_step"]), float(raw["mean"]), float(raw["std"])
        p_beat = float(raw.get("p_beat_best", math.nan))
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(step) and math.isfinite(mean) and math.isfinite(std)):
        return None
    out = {"step": step, "mean": mean, "low": mean - 1.96 * std, "high": mean + 1.96 * std}
    if math.isfinite(p_beat):
        out["p_beat_best"] = p_beat
    return out


def parallel_data(
    trials: Sequence[FrozenTrial],
    directions: Sequence[Direction],
    *,
    params: Sequence[str] | None = None,
    objective: int = 0,
    objective_labels: Sequence[str] | None = None,
    max_lines: int = MAX_LINES,
) -> dict[str, Any]:
    """One line per complete trial through an axis per parameter and the objective."""
    _check_objective(objective, directions)
    done = _complete(trials)
    space = common_params(done)
    names = [p for p in (params or list(space)) if p in space][:16]
    rows = [t for t in done if all(p in t.params for p in names)]
    values = [float(t.values[objective]) for t in rows]  # type: ignore[index]
    sign = directions[objective].sign
    order = sorted(range(len(rows)), key=lambda i: sign * values[i])
    idx = thin(len(rows), max_lines, keep=order[: max_lines // 4])
    label = objective_names(directions, objective_labels)[objective]
    y_axis = value_axis(label, values)
    lo, hi = y_axis["domain"]
    axes = [param_axis(p, space[p]) for p in names]
    y_unit = {
        **y_axis,
        "domain": [0.0, 1.0],
        "ticks": [[(t - lo) / (hi - lo), s] for t, s in y_axis["ticks"]],
    }
    axes.append(y_unit)
    lines = []
    for i in idx:
        t = rows[int(i)]
        pos = [_unit(space[p], t.params[p]) for p in names]
        pos.append((values[int(i)] - lo) / (hi - lo))
        lines.append({"number": t.number, "value": values[int(i)], "pos": pos})
    return {
        "kind": "parallel",
        "title": "Parallel coordinates",
        "axes": axes,
        "lines": lines,
        "direction": directions[objective].value,
        "n_total": len(rows),
        "n_shown": len(lines),
    }


def slice_data(
    trials: Sequence[FrozenTrial],
    directions: Sequence[Direction],
    *,
    params: Sequence[str] | None = None,
    objective: int = 0,
    objective_labels: Sequence[str] | None = None,
    max_points: int = MAX_POINTS // 2,
) -> dict[str, Any]:
    """For each parameter, the objective against that parameter's value."""
    _check_objective(objective, directions)
    done = _complete(trials)
    space = common_params(done)
    names = [p for p in (params or list(space)) if p in space][:16]
    label = objective_names(directions, objective_labels)[objective]
    values_all = [float(t.values[objective]) for t in done]  # type: ignore[index]
    y_axis = value_axis(label, values_all)
    panels = []
    for p in names:
        rows = [(t, _unit(space[p], t.params[p])) for t in done if p in t.params]
        rows = [(t, u) for t, u in rows if u is not None]
        idx = thin(len(rows), max_points)
        panels.append(
            {
                "param": p,
                "x": param_axis(p, space[p]),
                "pos": [rows[int(i)][1] for i in idx],
                "value": [float(rows[int(i)][0].values[objective]) for i in idx],  # type: ignore[index]
                "number": [rows[int(i)][0].number for i in idx],
                "n_total": len(rows),
            }
        )
    return {
        "kind": "slice",
        "title": "Slice",
        "y": y_axis,
        "panels": panels,
        "direction": directions[objective].value,
        "n_total": len(done),
    }


def contour_data(
    trials: Sequence[FrozenTrial],
    directions: Sequence[Direction],
    x_param: str | None = None,
    y_param: str | None = None,
    *,
    objective: int = 0,
    objective_labels: Sequence[str] | None = None,
    grid: int = 24,
    max_points: int = MAX_POINTS // 2,
) -> dict[str, Any]:
    """The objective over two parameters: a smoothed surface (kernel regression on the
    unit square) under the trials themselves."""
    _check_objective(objective, directions)
    done = _complete(trials)
    space = common_params(done)
    names = list(space)
    label = objective_names(directions, objective_labels)[objective]
    base = {"kind": "contour", "title": "Contour", "params": names, "value_label": label}
    if len(names) < 2:
        return {
            **base,
            "x_param": None,
            "y_param": None,
            "cells": [],
            "number": [],
            "px": [],
            "py": [],
            "value": [],
            "n_total": 0,
            "n_shown": 0,
            "note": "a contour plot needs two parameters",
        }
    x_param = x_param if x_param in space else names[0]
    y_param = (
        y_param
        if y_param in space and y_param != x_param
        else next(n for n in names if n != x_param)
    )
    for p in (x_param, y_param):
        if p not in space:
            raise ValueError(f"parameter {p!r} is not in this study; pick one of {names}.")
    rows = []
    for t in done:
        if x_param in t.params and y_param in t.params:
            u, v = (
                _unit(space[x_param], t.params[x_param]),
                _unit(space[y_param], t.params[y_param]),
            )
            if u is not None and v is not None:
                rows.append((t.number, u, v, float(t.values[objective])))  # type: ignore[index]
    arr = np.array([r[1:] for r in rows], dtype=float).reshape(-1, 3)

    def cells_of(dist: Distribution) -> int:
        return len(dist.choices) if isinstance(dist, Choice) else grid

    gx, gy = cells_of(space[x_param]), cells_of(space[y_param])
    cells: list[list[float]] = []
    if len(arr) >= 3:
        z = _smooth_surface(
            arr, gx, gy, isinstance(space[x_param], Choice), isinstance(space[y_param], Choice)
        )
        cells = [
            [i / gx, j / gy, 1 / gx, 1 / gy, float(z[i, j])] for i in range(gx) for j in range(gy)
        ]
    idx = thin(len(rows), max_points)
    return {
        **base,
        "x_param": x_param,
        "y_param": y_param,
        "x": param_axis(x_param, space[x_param]),
        "y": param_axis(y_param, space[y_param]),
        "cells": cells,
        "number": [rows[int(i)][0] for i in idx],
        "px": [rows[int(i)][1] for i in idx],
        "py": [rows[int(i)][2] for i in idx],
        "value": [rows[int(i)][3] for i in idx],
        "direction": directions[objective].value,
        "n_total": len(rows),
        "n_shown": len(idx),
    }


def _smooth_surface(
    arr: np.ndarray, gx: int, gy: int, x_choice: bool, y_choice: bool
) -> np.ndarray:
    """Kernel regression of ``arr[:, 2]`` over ``arr[:, :2]`` (unit square) on a ``gx x gy``
    grid. Points are binned first and the bins smoothed with a Gaussian filter, so the cost
    is linear in the number of trials; choice axes are not smoothed across options."""
    from scipy.ndimage import gaussian_filter

    ix = np.clip((arr[:, 0] * gx).astype(int), 0, gx - 1)
    iy = np.clip((arr[:, 1] * gy).astype(int), 0, gy - 1)
    sums = np.zeros((gx, gy))
    counts = np.zeros((gx, gy))
    np.add.at(sums, (ix, iy), arr[:, 2])
    np.add.at(counts, (ix, iy), 1.0)
    bw = max(0.35 / len(arr) ** 0.25, 0.04)  # in unit lengths; narrower with more trials
    sigma = (0.0 if x_choice else bw * gx, 0.0 if y_choice else bw * gy)
    num = gaussian_filter(sums, sigma, mode="constant", truncate=4.0)
    den = gaussian_filter(counts, sigma, mode="constant", truncate=4.0)
    mean = float(arr[:, 2].mean())
    # Far from every trial the surface falls back to the mean instead of dividing by ~0.
    weight = den / (den + 1e-3)
    return weight * (num / np.maximum(den, 1e-12)) + (1 - weight) * mean


def importance_data(scores: dict[str, float], method: str) -> dict[str, Any]:
    """Bars of parameter importance, most important first."""
    names = list(scores)
    return {
        "kind": "importance",
        "title": f"Parameter importance ({method})",
        "method": method,
        "names": names,
        "values": [float(scores[n]) for n in names],
        "x": value_axis("importance", [0.0, max(scores.values(), default=1.0)]),
    }


def pareto_data(
    trials: Sequence[FrozenTrial],
    directions: Sequence[Direction],
    *,
    objectives: tuple[int, int] = (0, 1),
    objective_labels: Sequence[str] | None = None,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """Two objectives against each other; the feasible Pareto front (over all objectives)
    highlighted."""
    if len(directions) < 2:
        raise ValueError("a Pareto front needs a study with at least two objectives.")
    i, j = objectives
    for k in (i, j):
        _check_objective(k, directions)
    done = _complete(trials)
    signs = np.array([d.sign for d in directions])
    losses = np.array([t.values for t in done], dtype=float).reshape(-1, len(directions)) * signs
    feasible = np.array([t.is_feasible for t in done], dtype=bool)
    front = np.zeros(len(done), dtype=bool)
    if feasible.any():
        front[np.flatnonzero(feasible)] = non_dominated_mask(losses[feasible])
    idx = thin(len(done), max_points, keep=np.flatnonzero(front))
    labels = objective_names(directions, objective_labels)
    xs = [float(t.values[i]) for t in done]  # type: ignore[index]
    ys = [float(t.values[j]) for t in done]  # type: ignore[index]
    return {
        "kind": "pareto",
        "title": "Pareto front",
        "objectives": [i, j],
        "x": value_axis(labels[i], xs),
        "y": value_axis(labels[j], ys),
        "number": [done[int(k)].number for k in idx],
        "px": [xs[int(k)] for k in idx],
        "py": [ys[int(k)] for k in idx],
        "front": [bool(front[int(k)]) for k in idx],
        "feasible": [bool(feasible[int(k)]) for k in idx],
        "n_total": len(done),
        "n_front": int(front.sum()),
        "n_shown": len(idx),
    }
