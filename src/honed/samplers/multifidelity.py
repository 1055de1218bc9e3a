"""Model-based Hyperband (BOHB-style): a sampler that learns from every rung.

:class:`MultiFidelitySampler` wraps any sampler (TPE, GP, ...). Before each proposal it shows
the wrapped sampler a *rung view* of the history: at the highest rung that at least
``min_points`` trials reached, every such trial appears COMPLETE with its rung value as final
value, and trials still running stay as pending points. Early stopping then no longer starves
the model: stopped trials count at the rungs they reached, as in BOHB (Falkner et al., 2018).

In a discrete space a model-based sampler keeps proposing its favourite configurations again;
with early stopping a repeat replays a curve whose rung values are already known (and a repeat
of the best one trains to the end again, bench/results/multifidelity.md). So by default a
proposal equal to an existing trial's parameters is moved to the nearest configuration not
tried yet (``avoid_repeats``).

``random_fraction`` is BOHB's exploration share: that fraction of the trials (chosen by a
seeded draw per trial number) ignores the model and is drawn uniformly at random. Without it the
model concentrates on the configurations that lead the early rungs, so the rungs fill with
them and a configuration that starts slower is judged against an ever stronger field.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from honed.history import History
from honed.samplers.base import Sampler
from honed.schedulers._util import check_positive_int, first_at_or_after
from honed.schedulers.asha import Hyperband, SuccessiveHalving, rung_resources
from honed.space import Choice, Distribution, Float, Int, ParamValue, SearchSpace
from honed.trial import FrozenTrial, TrialState

__all__ = ["MultiFidelitySampler", "bohb", "rung_view", "untried_neighbour"]


def _steps(t: FrozenTrial) -> Mapping[float, float]:
    # int steps are float resources, but Mapping keys are invariant for the type checker
    return t.intermediate_values  # type: ignore[return-value]


def rung_view(
    history: History,
    levels: Sequence[float],
    min_points: int,
    mode: str = "highest",
    shown: dict[int, FrozenTrial] | None = None,
    curve: Callable[[FrozenTrial], Mapping[float, float]] = _steps,
    memo: dict[int, tuple[FrozenTrial, tuple, float | None]] | None = None,
) -> tuple[History, float | None]:
    """The history as seen from the highest of ``levels`` reached by ``min_points`` trials, and
    that level (``None`` when no level has enough: the history is returned unchanged).

    A complete trial counts at the top level with its final value even without reports.
    With ``mode="ranked"`` every trial that reached a level is shown instead, with a
    pseudo-loss ordered first by the highest level it reached, then by its value there:
    ``depth + (0.5 + atan(loss) / pi)``, where ``depth`` counts the levels above the one it
    reached (0 at the top); the level returned is the lowest level, ``min(levels)``.
    ``curve`` gives a trial's reports as ``resource -> value`` (default: its steps; a
    time-resource scheduler passes its ``curve``, keyed by seconds). ``shown`` and ``memo``
    are a caller's caches across calls (the trials shown last time; each trial's pseudo-loss).
    """
    if history.is_multi_objective or not levels:
        return history, None
    if mode == "ranked":
        return _ranked_view(history, levels, min_points, shown, curve, memo)
    top = max(levels)
    for level in sorted(set(levels), reverse=True):
        seen: list[FrozenTrial] = []
        pending: list[FrozenTrial] = []
        for t in history:
            v = first_at_or_after(curve(t), level)
            if v is None and level == top and t.state is TrialState.COMPLETE:
                v = t.values[0] if t.values else None
            if v is not None and t.state is not TrialState.FAILED:
                seen.append(replace(t, state=TrialState.COMPLETE, values=(v,)))
            elif t.state in (TrialState.RUNNING, TrialState.WAITING):
                pending.append(t)
        if len(seen) >= min_points:
            trials = sorted(seen + pending, key=lambda t: t.number)
            return History(trials, history.directions, history.sources), level
    return history, None


def _ranked_view(
    history: History,
    levels: Sequence[float],
    min_points: int,
    shown: dict[int, FrozenTrial] | None = None,
    curve: Callable[[FrozenTrial], Mapping[float, float]] = _steps,
    memo: dict[int, tuple[FrozenTrial, tuple, float | None]] | None = None,
) -> tuple[History, float | None]:
    s = history.directions[0].sign
    order = sorted(set(levels))
    setting = (s, tuple(order))
    keyed: list[tuple[float, FrozenTrial]] = []
    pending: list[FrozenTrial] = []
    for t in history:
        if t.state is TrialState.FAILED:
            continue
        hit = memo.get(t.number) if memo is not None else None
        if hit is not None and hit[1] == setting and _same_reports(hit[0], t):
            # a long study would otherwise rebuild every trial's curve on every proposal
            # (most of a proposal's cost at 1,000 trials)
            pseudo = hit[2]
        else:
            pseudo = _pseudo_loss(t, s, order, curve)
            if memo is not None:
                memo[t.number] = (t, setting, pseudo)
        if pseudo is not None:
            keyed.append((pseudo, t))
        elif t.state in (TrialState.RUNNING, TrialState.WAITING):
            pending.append(t)
    if len(keyed) < min_points:
        return history, None
    seen = []
    for pseudo, t in keyed:
        value = (s * pseudo,)  # back into the study's direction
        old = shown.get(t.number) if shown is not None else None
        if old is not None and old.values == value and old.params == t.params:
            seen.append(old)  # the same object as last time: cheaper for samplers' caches
            continue
        v = replace(t, state=TrialState.COMPLETE, values=value)
        if shown is not None:
            shown[t.number] = v
        seen.append(v)
    trials = sorted(seen + pending, key=lambda t: t.number)
    return History(trials, history.directions, history.sources), min(levels)


def _scheduler_levels(sched: SuccessiveHalving, low: float | None) -> list[float]:
    """The levels a scheduler's rungs put the model at: its rungs from ``low`` (none before
    a time scheduler's first rung is calibrated) plus its full resource, if set."""
    levels = [] if low is None else rung_resources(low, sched.reduction_factor, sched.max_resource)
    if sched.max_resource is not None:
        levels.append(sched.max_resource)
    return levels


def _same_reports(a: FrozenTrial, b: FrozenTrial) -> bool:
    """Whether ``a`` and ``b`` agree on all a pseudo-loss reads (the same object, or a fresh
    read of an unchanged trial)."""
    return a is b or (
        a.state == b.state
        and a.values == b.values
        and a.intermediate_values == b.intermediate_values
        and a.report_seconds == b.report_seconds
    )


def _pseudo_loss(
    t: FrozenTrial,
    sign: float,
    order: list[float],
    curve: Callable[[FrozenTrial], Mapping[float, float]],
) -> float | None:
    """A trial's pseudo-loss in the ranked view (``None``: it reached no level)."""
    if t.state is TrialState.COMPLETE and t.values:
        depth, value = 0, sign * t.values[0]
    else:
        # the highest level at or below the trial's furthest finite report
        c = curve(t)
        furthest = max((k for k, v in c.items() if math.isfinite(v)), default=None)
        i = -1 if furthest is None else bisect_right(order, furthest) - 1
        if i < 0:
            return None
        # order[i] is at or below the furthest finite report, so a value exists there
        depth, value = len(order) - 1 - i, sign * first_at_or_after(c, order[i])  # type: ignore[operator]
    # Lexicographic (levels above first, then value) in one float, so a trial keeps its
    # pseudo-loss until it reaches a new level: a wrapped sampler's caches stay valid instead
    # of every value changing as trials arrive (as ranks would).
    return depth + _squash(value)


def _squash(x: float) -> float:
    """A strictly increasing map of the reals (and +-inf) into [0, 1)."""
    if math.isnan(x):
        return 1.0 - 1e-12
    return min(0.5 + math.atan(x) / math.pi, 1.0 - 1e-12)


class MultiFidelitySampler(Sampler):
    """Wrap ``base`` so that it models results at the highest well-filled rung.

    Args:
        base: The model-based sampler (TPE, GP, ...).
        levels: Resource levels to model (the rungs plus the full resource), or a
            :class:`~honed.schedulers.SuccessiveHalving` / ``ASHA`` / ``Hyperband`` to take
            them from (with ``resource="time"``, its rungs in seconds, read each time).
        min_points: Trials a level needs before the model uses it.
        mode: ``"ranked"`` (default: model every trial, ranked by the level it reached, then
            by its value there) or ``"highest"`` (BOHB: model only the highest level with
            ``min_points`` results), which discards most results
            (bench/results/multifidelity.md compares them).
        avoid_repeats: When the model proposes exactly the parameters of an existing trial
            (possible only for integer, stepped-float and choice parameters), move the proposal
            to the nearest untried configuration: one grid step in one parameter, then two,
            ... (ties broken by a seeded draw). Continuous parameters are never moved.
        random_fraction: Share of trials drawn uniformly at random instead of from the model
            (BOHB uses 1/3; default 0: always the model). Which trials are random is a seeded
            draw per trial number, so a given seed and history give the same decisions.
    """

    def __init__(
        self,
        base: Sampler,
        levels: Sequence[int] | SuccessiveHalving,
        min_points: int = 10,
        mode: str = "ranked",
        avoid_repeats: bool = True,
        random_fraction: float = 0.0,
    ) -> None:
        if not (isinstance(random_fraction, (int, float)) and 0.0 <= random_fraction < 1.0):
            raise ValueError(
                f"random_fraction must be a number in [0, 1), got {random_fraction!r} "
                "(e.g. 1/3 as in BOHB, or 0 for no random trials)."
            )
        self.random_fraction = float(random_fraction)
        if mode not in ("highest", "ranked"):
            raise ValueError(f"mode must be 'highest' or 'ranked', got {mode!r}.")
        self.mode = mode
        if not isinstance(base, Sampler):
            raise TypeError(f"base must be a honed Sampler, got {type(base).__name__}.")
        super().__init__(base.seed)
        self.base = base
        # A time-resource scheduler: levels (seconds) may depend on the history ("auto").
        self._timed: SuccessiveHalving | None = None
        resolved: list[float]
        if isinstance(levels, SuccessiveHalving) and levels.resource == "time":
            self._timed = levels
            resolved = []
        elif isinstance(levels, SuccessiveHalving):
            low = levels.min_resource  # a number: only time resources take "auto"
            resolved = _scheduler_levels(levels, None if isinstance(low, str) else low)
        else:
            resolved = [check_positive_int("levels[i]", int(x), 1) for x in levels]
            if not resolved:
                raise ValueError(
                    "levels must name at least one resource level, e.g. [1, 3, 9, 27]."
                )
        self.levels = sorted(set(resolved))
        self.min_points = check_positive_int("min_points", min_points, 1)
        self.avoid_repeats = bool(avoid_repeats)
        self._last: tuple[History, History] | None = None
        self._shown: dict[int, FrozenTrial] = {}
        self._memo: dict[int, tuple[FrozenTrial, tuple, float | None]] = {}

    def __repr__(self) -> str:
        return f"MultiFidelitySampler({self.base!r}, levels={self.levels})"

    def _trial_rng(self, trial: FrozenTrial, *key: int) -> np.random.Generator:
        return np.random.default_rng(
            [self.seed if self.seed is not None else 0, trial.number, *key]
        )

    def is_random(self, trial: FrozenTrial) -> bool:
        """Whether ``trial`` is one of the ``random_fraction`` drawn at random (seeded by the
        sampler's seed and the trial number)."""
        if self.random_fraction <= 0.0:
            return False
        return bool(self._trial_rng(trial, 1).random() < self.random_fraction)

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self.base.reseed(seed)

    def _view(self, history: History) -> History:
        last = self._last
        if last is not None and last[0] is history:
            return last[1]  # asked twice per trial (space, then sample) with one History
        timed = self._timed
        if timed is None:
            view = rung_view(
                history, self.levels, self.min_points, self.mode, self._shown, memo=self._memo
            )[0]
        else:
            levels = _scheduler_levels(timed, timed.base_resource(history))
            view = rung_view(
                history, levels, self.min_points, self.mode, self._shown, timed.curve, self._memo
            )[0]
        self._last = (history, view)
        return view

    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        return self.base.infer_relative_space(self._view(history), trial, declared_space)

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        if self.is_random(trial):
            draw = self._trial_rng(trial, 2)
            ordered = SearchSpace({n: space[n] for n in sorted(space)})
            out = ordered.decode(draw.random((1, len(ordered))))[0]
        else:
            out = self.base.sample_relative(self._view(history), trial, space)
        if not self.avoid_repeats or not out:
            return out
        rng = self._trial_rng(trial)
        return untried_neighbour(out, space, history, trial.number, rng)

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        if self.is_random(trial):
            u = self._trial_rng(trial, 3, zlib.crc32(name.encode())).random()
            return distribution.from_unit(float(u))
        return self.base.sample_independent(self._view(history), trial, name, distribution)

    def sample_simplex(
        self, history: History, trial: FrozenTrial, group: SearchSpace
    ) -> dict[str, ParamValue]:
        if self.is_random(trial):
            draw = self._trial_rng(trial, 3, zlib.crc32(group.names[0].encode()))
            return group.decode(draw.random((1, len(group))))[0]
        return self.base.sample_simplex(self._view(history), trial, group)


def _grid(dist: Distribution) -> list[ParamValue] | None:
    """The values of a discrete parameter in order (``None``: continuous or too many)."""
    if isinstance(dist, Choice):
        return list(dist.choices)
    if isinstance(dist, Int) and (dist.high - dist.low) // dist.step < 100_000:
        return list(range(dist.low, dist.high + 1, dist.step))
    if isinstance(dist, Float) and dist.n_steps is not None and dist.n_steps <= 100_000:
        n = dist.n_steps
        return [dist.from_unit((k + 0.5) / n) for k in range(n)]
    return None


def untried_neighbour(
    proposal: Mapping[str, ParamValue],
    space: Mapping[str, Distribution],
    history: History,
    exclude: int,
    rng: np.random.Generator,
    max_visits: int = 2000,
) -> dict[str, ParamValue]:
    """``proposal`` if no trial (but number ``exclude``) has exactly these parameters, else the
    closest untried configuration: breadth-first over single grid steps of the discrete
    parameters (a Choice steps to its neighbours in declared order), trying the moves in one
    ``rng``-shuffled order. Returns ``proposal`` unchanged when nothing untried is
    found within ``max_visits`` configurations (or no parameter is discrete)."""
    names = sorted(proposal)
    seen = set()
    for t in history:
        p = t.params
        if t.number != exclude and all(n in p for n in names):
            seen.add(tuple(p[n] for n in names))
    start = tuple(proposal[n] for n in names)
    if start not in seen:
        return dict(proposal)
    grids: dict[int, list[ParamValue]] = {}
    for i, n in enumerate(names):
        g = _grid(space[n]) if n in space else None
        if g is not None and proposal[n] in g:
            grids[i] = g
    if not grids:
        return dict(proposal)
    # positions on each grid; continuous parameters keep their value
    index = {i: {v: k for k, v in enumerate(g)} for i, g in grids.items()}
    origin = tuple(index[i][start[i]] if i in grids else 0 for i in range(len(names)))
    # The tried configurations the search can meet, as grid positions (it never builds
    # values until it finds an untried one: late in a study most neighbours are tried).
    fixed = [i for i in range(len(names)) if i not in grids]
    tried = set()
    for conf in seen:
        if all(conf[i] == start[i] for i in fixed):
            pos = tuple(index[i].get(conf[i], -1) if i in grids else 0 for i in range(len(names)))
            if -1 not in pos:  # (a value off the grid, from a changed space, is never met)
                tried.add(pos)
    if len(tried) >= math.prod(len(g) for g in grids.values()):
        return dict(proposal)  # every configuration of the grid has been tried
    queue = deque([origin])
    visited = {origin}
    moves = [(i, d) for i in grids for d in (-1, 1)]
    moves = [moves[j] for j in rng.permutation(len(moves))]  # one seeded order per call
    while queue and len(visited) <= max_visits:
        node = queue.popleft()
        for i, d in moves:
            k = node[i] + d
            if not 0 <= k < len(grids[i]):
                continue
            nxt = (*node[:i], k, *node[i + 1 :])
            if nxt in visited:
                continue
            visited.add(nxt)
            if nxt not in tried:
                cand = (grids[i][nxt[i]] if i in grids else start[i] for i in range(len(names)))
                return dict(zip(names, cand))
            queue.append(nxt)
    return dict(proposal)


def bohb(
    base: Sampler,
    min_resource: int = 1,
    max_resource: int = 81,
    reduction_factor: int = 3,
    min_points: int = 10,
    mode: str = "ranked",
    random_fraction: float = 0.0,
) -> tuple[MultiFidelitySampler, Hyperband]:
    """A (sampler, scheduler) pair: Hyperband stopping and ``base`` modeling every rung.

    ``sampler, scheduler = honed.schedulers.bohb(TPESampler()); create_study(sampler=sampler,
    scheduler=scheduler)``.
    """
    scheduler = Hyperband(min_resource, max_resource, reduction_factor)
    sampler = MultiFidelitySampler(
        base, scheduler, min_points, mode, random_fraction=random_fraction
    )
    return sampler, scheduler
