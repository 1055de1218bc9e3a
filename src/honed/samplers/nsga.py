"""Evolutionary multi-objective samplers: NSGA-II and NSGA-III, as pure decisions over History.

Generations without bookkeeping
-------------------------------
Samplers never write to storage, so a generation is a function of trial numbers alone: trial
``n`` belongs to generation ``g = n // population_size``. Generation 0 is sampled at random.
A child in generation ``g >= 1`` is bred from the *parent population*: the best
``population_size`` of all complete trials numbered below ``g * population_size``, chosen by
non-dominated sorting (with Deb's constraint-domination) and, on the front that does not fit
whole, by crowding distance (NSGA-II) or reference-point niching (NSGA-III). Selecting from every
earlier trial rather than from the previous population alone is an elitist (mu + lambda) scheme
with an archive: it needs no state, and a trial once dropped by crowding can return when the
trials that crowded it are dominated. Trials
of earlier generations still running (parallel workers) simply join later, when complete.

Each child is drawn with a random generator seeded by ``(seed, trial number)``, so a trial's
proposal depends only on the seed and the history: any worker process proposes the same child
for the same trial, and different trials get different children. The parent population of each
generation is cached in memory together with the trials it was chosen from, and reused only for
an equal set of trials, so the cache never changes an answer.

Variation works on the shared unit encodings of :mod:`honed.space`: simulated binary crossover
(SBX) for numbers, and a mutation that is polynomial (local) or a random reset with equal odds
(log scales, integers and steps are respected by decoding); uniform crossover and random
resetting for categories.

Constraints (``trial.constraints``, feasible when all ``<= 0``) follow Deb's rules: a feasible
trial beats an infeasible one, two infeasible trials compare by total violation, and two
feasible trials by Pareto dominance.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from honed.history import History
from honed.pareto import (
    constrained_ranks,
    crowding_distance,
    hypervolume_contributions,
    reference_points,
)
from honed.samplers.base import Sampler, joint_space
from honed.space import Choice, Distribution, ParamValue, SearchSpace
from honed.trial import FrozenTrial

__all__ = ["NSGAIISampler", "NSGAIIISampler"]


# ---- NSGA-III reference-point niching ---------------------------------------------------


def _default_divisions(n_objectives: int, population_size: int) -> int:
    # The largest p whose point count does not exceed the population (at least 1).
    if n_objectives < 2:
        return 1
    p = 1
    while math.comb(n_objectives + p, p + 1) <= population_size:
        p += 1
    return p


def _normalize(losses: np.ndarray) -> np.ndarray:
    """NSGA-III normalization: translate by the ideal point, divide by the intercepts of the
    hyperplane through the extreme points (falling back to the nadir when degenerate)."""
    ideal = losses.min(axis=0)
    f = losses - ideal
    m = f.shape[1]
    weights = np.eye(m) + 1e-6
    asf = np.max(f[:, None, :] / weights[None, :, :], axis=2)  # (n, m)
    extremes = f[np.argmin(asf, axis=0)]
    nadir = f.max(axis=0)
    intercepts = nadir
    try:
        b = np.linalg.solve(extremes, np.ones(m))
        cand = 1.0 / b
        if np.all(np.isfinite(cand)) and np.all(cand > 1e-10):
            intercepts = cand
    except np.linalg.LinAlgError:
        pass
    intercepts = np.where(intercepts > 1e-10, intercepts, 1.0)
    return f / intercepts


def _niching(
    losses: np.ndarray,
    n_chosen: int,
    last: np.ndarray,
    n_fill: int,
    refs: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Pick ``n_fill`` indices of ``last`` (rows of ``losses`` after the first ``n_chosen``)
    by NSGA-III niche preservation."""
    f = _normalize(losses)
    unit = refs / np.linalg.norm(refs, axis=1, keepdims=True)
    proj = f @ unit.T  # (n, r)
    dist2 = np.maximum(np.sum(f**2, axis=1)[:, None] - proj**2, 0.0)
    niche = np.argmin(dist2, axis=1)
    d = np.sqrt(dist2[np.arange(len(f)), niche])
    counts = np.bincount(niche[:n_chosen], minlength=len(refs))
    pool = list(last)
    picked: list[int] = []
    active = np.ones(len(refs), dtype=bool)
    while len(picked) < n_fill:
        masked = np.where(active, counts, np.iinfo(np.int64).max)
        lowest = np.flatnonzero(masked == masked.min())
        j = int(rng.choice(lowest))
        members = [i for i in pool if niche[i] == j]
        if not members:
            active[j] = False
            continue
        if counts[j] == 0:
            chosen = min(members, key=lambda i: d[i])
        else:
            chosen = members[int(rng.integers(len(members)))]
        picked.append(chosen)
        pool.remove(chosen)
        counts[j] += 1
    return np.array(picked, dtype=int)


# ---- the sampler --------------------------------------------------------------------------


class _Population:
    """Parents of one generation: their unit encodings, ranks and crowding (or niche) scores."""

    __slots__ = ("crowd", "rank", "unit")

    def __init__(self, unit: np.ndarray, rank: np.ndarray, crowd: np.ndarray) -> None:
        self.unit, self.rank, self.crowd = unit, rank, crowd


class NSGAIISampler(Sampler):
    """NSGA-II (Deb et al., 2002); NSGA-III's reference-point selection for 4+ objectives.

    Args:
        seed: Seed; with the same history the same seed gives the same proposals.
        population_size: Children per generation, and parents kept.
        crossover_prob: Probability that a child is bred from two parents (else it is a
            mutated copy of one).
        eta_crossover: SBX distribution index (larger: children closer to the parents).
        eta_mutation: Polynomial mutation distribution index.
        mutation_prob: Probability of mutating each parameter; default ``1 / n_params``.
        selection: How the front that does not fit whole is cut: ``"crowding"`` (NSGA-II),
            ``"reference"`` (NSGA-III), ``"hypervolume"`` (drop the smallest exclusive
            hypervolume contribution first, as SMS-EMOA), or ``"auto"``: reference points
            with 4 or more objectives, crowding otherwise.
        reference_points: NSGA-III points on the unit simplex, shape ``(r, n_objectives)``;
            default Das-Dennis points, about as many as the population.
        crossover: ``"sbx"`` (simulated binary crossover on numbers) or ``"uniform"`` (each
            parameter from either parent). Categories always use uniform crossover.
        mutation: ``"polynomial"`` (a perturbation around the value), ``"uniform"`` (a
            fresh random value) or ``"mixed"`` (either, with equal odds: local refinement
            plus jumps that keep long runs from losing parts of the front). Categories are
            always reset at random.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        population_size: int = 20,
        crossover_prob: float = 0.9,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        mutation_prob: float | None = None,
        selection: str = "auto",
        reference_points: np.ndarray | None = None,
        crossover: str = "sbx",
        mutation: str = "mixed",
    ) -> None:
        super().__init__(seed)
        if not isinstance(population_size, int) or population_size < 2:
            raise ValueError(f"population_size must be an integer >= 2, got {population_size!r}.")
        if not 0.0 <= crossover_prob <= 1.0:
            raise ValueError(f"crossover_prob must be in [0, 1], got {crossover_prob!r}.")
        if mutation_prob is not None and not 0.0 <= mutation_prob <= 1.0:
            raise ValueError(f"mutation_prob must be in [0, 1] or None, got {mutation_prob!r}.")
        for name, eta in (("eta_crossover", eta_crossover), ("eta_mutation", eta_mutation)):
            if not eta >= 0:
                raise ValueError(f"{name} must be >= 0, got {eta!r}.")
        if selection not in ("auto", "crowding", "reference", "hypervolume"):
            raise ValueError(
                "selection must be 'auto', 'crowding', 'reference' or 'hypervolume', "
                f"got {selection!r}."
            )
        self.population_size = population_size
        self.crossover_prob = crossover_prob
        self.eta_crossover = float(eta_crossover)
        self.eta_mutation = float(eta_mutation)
        self.mutation_prob = mutation_prob
        self.selection = selection
        if crossover not in ("sbx", "uniform"):
            raise ValueError(f"crossover must be 'sbx' or 'uniform', got {crossover!r}.")
        if mutation not in ("polynomial", "uniform", "mixed"):
            raise ValueError(
                f"mutation must be 'polynomial', 'uniform' or 'mixed', got {mutation!r}."
            )
        self.crossover = crossover
        self.mutation = mutation
        self._refs = None if reference_points is None else np.asarray(reference_points, float)
        self._base_seed = self._derive_base(seed)
        self._cache: OrderedDict[tuple, tuple[list[FrozenTrial], _Population]] = OrderedDict()
        self._lock = threading.Lock()  # thread workers share the cache

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_cache"] = OrderedDict()
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _derive_base(self, seed: int | None) -> int:
        return int(np.random.default_rng(seed).integers(2**62))

    def reseed(self, seed: int | None) -> None:
        # Children are seeded by trial number, so workers already differ; keep the base seed
        # fixed so every process agrees on the same child for the same trial.
        self._rng = np.random.default_rng(seed)

    # ---- Sampler interface ----
    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        return joint_space(history, declared_space)

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        if not len(space):
            return {}
        generation = trial.number // self.population_size
        if generation == 0:
            return {}
        cutoff = generation * self.population_size
        pool = [t for t in history.complete if t.number < cutoff and t.values is not None]
        if len(pool) < 2:
            return {}
        pop = self._population(history, pool, space, generation)
        rng = np.random.default_rng([self._base_seed, trial.number])
        child = self._breed(pop, space, rng)
        return space.decode(child[None, :])[0]

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        return distribution.from_unit(self._rng.random())

    # ---- selection ----
    def _uses_reference(self, n_objectives: int) -> bool:
        if self.selection == "auto":
            return n_objectives >= 4
        return self.selection == "reference"

    def _population(
        self, history: History, pool: list[FrozenTrial], space: SearchSpace, generation: int
    ) -> _Population:
        # Keyed by generation; the entry holds the pool it was chosen from and is reused only
        # when the pool is equal (list equality checks identity first, so this is cheap when
        # the study hands over the same immutable records).
        key = (generation, tuple(space.items()), history.directions)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == pool:
                self._cache.move_to_end(key)
                return hit[1]
        losses = history.losses(pool)
        chosen, ranks, crowd = self.select(losses, _violations(pool), key_seed=len(pool))
        unit = space.encode([pool[i].params for i in chosen])
        pop = _Population(unit, ranks, crowd)
        with self._lock:
            self._cache[key] = (pool, pop)
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return pop

    def select(
        self, losses: np.ndarray, violations: np.ndarray, key_seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Choose up to ``population_size`` survivors from ``losses``.

        Returns the chosen row indices, their constrained ranks and their crowding scores
        (higher is better in a tie of rank).
        """
        n = len(losses)
        ranks = constrained_ranks(losses, violations)
        size = min(self.population_size, n)
        order = np.argsort(ranks, kind="stable")
        last_rank = ranks[order[size - 1]]
        before = order[ranks[order] < last_rank]
        last = order[ranks[order] == last_rank]
        n_fill = size - len(before)
        # Reference points need 2+ objectives, and a feasible last front to place on them.
        use_ref = (
            losses.shape[1] >= 2
            and self._uses_reference(losses.shape[1])
            and violations[last].max() <= 0
        )
        if n_fill == len(last):
            picked = last
        elif self.selection == "hypervolume" and violations[last].max() <= 0:
            picked = last[_hv_truncate(losses[last], n_fill)]
        elif use_ref:
            rng = np.random.default_rng([self._base_seed, key_seed, 1])
            rows = np.concatenate([before, last])
            feasible_rows = rows  # the last front is feasible here, so all before it are too
            refs = self._refs
            if refs is None:
                m = losses.shape[1]
                refs = reference_points(m, _default_divisions(m, self.population_size))
            local = _niching(
                losses[feasible_rows],
                len(before),
                np.arange(len(before), len(rows)),
                n_fill,
                refs,
                rng,
            )
            picked = rows[local]
        else:
            cd = crowding_distance(losses[last])
            picked = last[np.argsort(-cd, kind="stable")[:n_fill]]
        chosen = np.concatenate([before, picked]).astype(int)
        crowd = np.zeros(len(chosen))
        chosen_ranks = ranks[chosen]
        for r in np.unique(chosen_ranks):
            idx = np.flatnonzero(chosen_ranks == r)
            crowd[idx] = crowding_distance(losses[chosen[idx]])
        return chosen, chosen_ranks, crowd

    # ---- variation ----
    def _tournament(self, pop: _Population, rng: np.random.Generator) -> int:
        a, b = rng.integers(len(pop.rank), size=2)
        if pop.rank[a] != pop.rank[b]:
            return int(a if pop.rank[a] < pop.rank[b] else b)
        if pop.crowd[a] != pop.crowd[b]:
            return int(a if pop.crowd[a] > pop.crowd[b] else b)
        return int(a if rng.random() < 0.5 else b)

    def _breed(self, pop: _Population, space: SearchSpace, rng: np.random.Generator) -> np.ndarray:
        d = len(space)
        is_cat = np.array([isinstance(space[n], Choice) for n in space.names])
        p1 = pop.unit[self._tournament(pop, rng)].copy()
        p2 = pop.unit[self._tournament(pop, rng)].copy()
        # Parameters a parent lacks (conditional spaces) start at random.
        for p in (p1, p2):
            missing = np.isnan(p)
            p[missing] = rng.random(int(missing.sum()))
        child = p1.copy()
        if len(pop.rank) >= 2 and rng.random() < self.crossover_prob:
            swap = rng.random(d) < 0.5
            if self.crossover == "uniform":
                child = np.where(swap, p2, p1)
            else:
                c1, c2 = _sbx(p1, p2, self.eta_crossover, rng)
                child = c1 if rng.random() < 0.5 else c2
                child[is_cat] = np.where(swap, p2, p1)[is_cat]
        pm = self.mutation_prob if self.mutation_prob is not None else 1.0 / d
        mutate = rng.random(d) < pm
        num_mut = mutate & ~is_cat
        if num_mut.any():
            poly = _polynomial_mutation(child[num_mut], self.eta_mutation, rng)
            fresh = rng.random(int(num_mut.sum()))
            if self.mutation == "uniform":
                child[num_mut] = fresh
            elif self.mutation == "mixed":
                child[num_mut] = np.where(rng.random(len(fresh)) < 0.5, poly, fresh)
            else:
                child[num_mut] = poly
        cat_mut = mutate & is_cat
        child[cat_mut] = rng.random(int(cat_mut.sum()))
        return np.clip(child, 0.0, 1.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self._seed}, population_size={self.population_size})"


class NSGAIIISampler(NSGAIISampler):
    """NSGA-III (Deb and Jain, 2014): NSGA-II with reference-point niching on the last front,
    which keeps many-objective populations spread along the front.

    Takes the arguments of :class:`NSGAIISampler` but ``selection``, which is always
    ``"reference"``; ``reference_points`` (an ``(n, n_objectives)`` array of points on the unit
    simplex) defaults to Das-Dennis points.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        population_size: int = 20,
        crossover_prob: float = 0.9,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        mutation_prob: float | None = None,
        reference_points: np.ndarray | None = None,
        crossover: str = "sbx",
        mutation: str = "mixed",
    ) -> None:
        super().__init__(
            seed,
            population_size=population_size,
            crossover_prob=crossover_prob,
            eta_crossover=eta_crossover,
            eta_mutation=eta_mutation,
            mutation_prob=mutation_prob,
            selection="reference",
            reference_points=reference_points,
            crossover=crossover,
            mutation=mutation,
        )


def _hv_truncate(losses: np.ndarray, n_keep: int) -> np.ndarray:
    """Indices of ``n_keep`` rows kept by removing, one at a time, the row with the smallest
    exclusive hypervolume contribution (SMS-EMOA), on losses scaled to ``[0, 1]``."""
    lo, hi = losses.min(axis=0), losses.max(axis=0)
    f = (losses - lo) / np.where(hi > lo, hi - lo, 1.0)
    ref = np.full(f.shape[1], 1.1)
    keep = np.arange(len(f))
    while len(keep) > n_keep:
        contrib = hypervolume_contributions(f[keep], ref)
        keep = np.delete(keep, int(np.argmin(contrib)))
    return keep


def _violations(trials: Sequence[FrozenTrial]) -> np.ndarray:
    return np.array(
        [
            0.0 if t.constraints is None else float(sum(max(0.0, c) for c in t.constraints))
            for t in trials
        ]
    )


def _sbx(
    p1: np.ndarray, p2: np.ndarray, eta: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded simulated binary crossover on ``[0, 1]`` (each variable with probability 1/2)."""
    c1, c2 = p1.copy(), p2.copy()
    d = len(p1)
    do = (rng.random(d) < 0.5) & (np.abs(p1 - p2) > 1e-14)
    if not do.any():
        return c1, c2
    x1 = np.minimum(p1[do], p2[do])
    x2 = np.maximum(p1[do], p2[do])
    u = rng.random(len(x1))
    delta = x2 - x1

    def beta_q(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - np.power(beta, -(eta + 1.0))
        low = u <= 1.0 / alpha
        with np.errstate(invalid="ignore", divide="ignore"):
            bq_low = np.power(u * alpha, 1.0 / (eta + 1.0))
            bq_high = np.power(1.0 / np.maximum(2.0 - u * alpha, 1e-14), 1.0 / (eta + 1.0))
        return np.where(low, bq_low, bq_high)

    beta1 = 1.0 + 2.0 * x1 / delta
    y1 = 0.5 * ((x1 + x2) - beta_q(beta1) * delta)
    beta2 = 1.0 + 2.0 * (1.0 - x2) / delta
    y2 = 0.5 * ((x1 + x2) + beta_q(beta2) * delta)
    y1, y2 = np.clip(y1, 0.0, 1.0), np.clip(y2, 0.0, 1.0)
    flip = rng.random(len(x1)) < 0.5
    c1[do] = np.where(flip, y2, y1)
    c2[do] = np.where(flip, y1, y2)
    return c1, c2


def _polynomial_mutation(x: np.ndarray, eta: float, rng: np.random.Generator) -> np.ndarray:
    """Bounded polynomial mutation on ``[0, 1]``."""
    u = rng.random(len(x))
    d1, d2 = x, 1.0 - x
    power = 1.0 / (eta + 1.0)
    low = u < 0.5
    val_low = 2.0 * u + (1.0 - 2.0 * u) * np.power(1.0 - d1, eta + 1.0)
    val_high = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * np.power(1.0 - d2, eta + 1.0)
    dq = np.where(low, np.power(val_low, power) - 1.0, 1.0 - np.power(val_high, power))
    return np.clip(x + dq, 0.0, 1.0)
