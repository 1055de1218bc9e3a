"""CMA-ES over the numeric parameters, with IPOP/BIPOP restarts, a margin for integers, warm
starts, and a state rebuilt from the History alone.

Why replay
----------
A sampler may not write to storage (no generation ids in trial attributes, as Optuna keeps),
and workers run in separate processes. So the CMA-ES state is a *function of the History*,
rebuilt by deterministic replay:

1. **Members.** Trials in number order that are COMPLETE with every parameter of the search
   space, or RUNNING (pending), are the members; failed, pruned and waiting trials are skipped.
2. **Generations.** The first ``n_startup_trials`` members are the startup block (sampled by the
   fallback sampler). After it, each generation is the next ``population_size`` members of the
   current run. A generation *closes* when all its members are complete; only closed
   generations are told to the optimizer, in order. A running member keeps its generation open
   (its result is pending); new trials meanwhile are sampled from the last closed state and join
   the next generation. A closed generation never changes: every lower-numbered trial is
   finished, and finished trials are immutable.
3. **Proposals.** Trial ``n`` is sampled from the replayed distribution with the optimizer's
   random generator reseeded from ``(seed, n)``, so every process proposes the same point for the
   same trial and parallel trials differ. When a closed generation is replayed, each member's
   raw (continuous, unrounded) sample is regenerated the same way; if it decodes to the stored
   parameters it is told as is, otherwise (another sampler chose the values, or the trial was
   sampled from an older state in a parallel run) the stored values' encodings are told.
4. **Restarts.** When the optimizer reports convergence after a tell, replay starts the next
   run: IPOP doubles the population and restarts from a random mean; BIPOP alternates that
   with small-population runs with smaller steps, keeping the two budgets balanced. Random
   draws of the restart are seeded from ``(seed, run index)``, so replay stays deterministic.
5. **Cache.** The replayed optimizer is kept in memory together with the trial numbers told so
   far. When a later history extends those (the usual case), replay continues from the cache;
   otherwise it starts cold. Either way the result equals a cold replay.

Parameters live in the shared unit encodings of :mod:`honed.space`. Linear integers and stepped
floats are told to CMA-ES with Margin (``cmaes.CMAwM``) on their lattice of unit-encoded values,
which keeps a minimum probability of moving to a neighbouring value, so integer coordinates do
not collapse. Categorical parameters (and any parameter outside the joint space) come from the
fallback sampler, random by default. CMA-ES is single-objective; constraints are ignored.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cmaes import CMA, CMAwM, get_warm_start_mgd

from honed.history import History
from honed.samplers.base import Sampler, joint_space
from honed.samplers.random import RandomSampler
from honed.space import Choice, Distribution, Float, Int, ParamValue, SearchSpace
from honed.trial import FrozenTrial, TrialState

__all__ = ["CmaEsSampler", "CmaState"]

_SEED_MOD = 2**32 - 1


@dataclass
class CmaState:
    """What replay reconstructed: the current run and the trials told so far.

    Attributes:
        optimizer: The ``cmaes`` optimizer of the current run (``CMA`` or ``CMAwM``).
        run: Index of the current run (0 before any restart).
        n_restarts: Restarts so far (``run``).
        population_size: Population of the current run.
        told: Numbers of the trials told to optimizers, in order (startup trials included).
        startup_done: Whether the startup block has closed.
    """

    optimizer: Any
    run: int = 0
    popsize0: int = 0
    sigma0: float = 0.0
    told: list[int] = field(default_factory=list)
    told_trials: list[FrozenTrial] = field(default_factory=list, repr=False)
    startup_done: bool = False
    run_start: int = 0  # index in the member list where the current run's generations start
    evals_large: int = 0
    evals_small: int = 0
    large_runs: int = 0
    last_large_popsize: int = 0
    regime: str = "large"

    @property
    def n_restarts(self) -> int:
        return self.run

    @property
    def population_size(self) -> int:
        return int(self.optimizer.population_size)

    @property
    def generation(self) -> int:
        return int(self.optimizer.generation)

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.optimizer.mean, dtype=float)


class CmaEsSampler(Sampler):
    """CMA-ES (Hansen) on the numeric parameters, via the maintained ``cmaes`` library.

    Args:
        seed: Seed; with the same history the same seed gives the same proposals.
        x0: Initial mean as parameter values (default: the centre of each range).
        sigma0: Initial step size in the unit encoding (default ``1/6``: the range is 6 sigma).
        population_size: Population of the first run (default ``4 + 3 ln d``).
        restart: ``"ipop"`` (default), ``"bipop"`` or ``None`` (no restarts).
        inc_popsize: Population growth factor at each large restart.
        with_margin: Use CMA-ES with Margin for integer and stepped parameters.
        n_startup_trials: Trials sampled by the fallback before CMA-ES starts; its initial
            mean and step size then come from the best of them.
        source_trials: Complete trials of a similar earlier study to warm-start from (WS-CMA-ES,
            ``cmaes.get_warm_start_mgd``); their values are read in this study's direction.
        fallback: Sampler for categorical parameters and parameters outside the joint space
            (default: random with the same seed).
        lr_adapt: Learning-rate adaptation (Nomura et al., 2023), which helps on multimodal
            and noisy objectives; applies to purely continuous spaces (plain ``CMA``).
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        x0: Mapping[str, ParamValue] | None = None,
        sigma0: float | None = None,
        population_size: int | None = None,
        restart: str | None = "ipop",
        inc_popsize: int = 2,
        with_margin: bool = True,
        n_startup_trials: int = 0,
        source_trials: Sequence[FrozenTrial] | None = None,
        fallback: Sampler | None = None,
        lr_adapt: bool = False,
    ) -> None:
        super().__init__(seed)
        if restart not in ("ipop", "bipop", None):
            raise ValueError(f"restart must be 'ipop', 'bipop' or None, got {restart!r}.")
        if sigma0 is not None and not (0 < sigma0 <= 1):
            raise ValueError(f"sigma0 must be in (0, 1] (unit encoding), got {sigma0!r}.")
        if population_size is not None and (
            not isinstance(population_size, int) or population_size < 2
        ):
            raise ValueError(f"population_size must be an integer >= 2, got {population_size!r}.")
        if not isinstance(inc_popsize, int) or inc_popsize < 1:
            raise ValueError(f"inc_popsize must be an integer >= 1, got {inc_popsize!r}.")
        if not isinstance(n_startup_trials, int) or n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be an integer >= 0, got {n_startup_trials!r}.")
        if source_trials is not None:
            source_trials = [t for t in source_trials if t.state is TrialState.COMPLETE]
            if not source_trials:
                raise ValueError("source_trials holds no complete trial to warm-start from.")
        self.x0 = dict(x0) if x0 is not None else None
        self.sigma0 = sigma0
        self.population_size = population_size
        self.restart = restart
        self.inc_popsize = inc_popsize
        self.with_margin = with_margin
        self.n_startup_trials = n_startup_trials
        self.source_trials = source_trials
        self.lr_adapt = lr_adapt
        self._fallback = fallback if fallback is not None else RandomSampler(seed)
        self._base_seed = int(np.random.default_rng(seed).integers(2**62))
        self._cache: dict[tuple, CmaState] = {}
        # Thread workers share this sampler: replay mutates the cached optimizer, and asking
        # reseeds its generator, so both happen under one lock.
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_cache"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reseed(self, seed: int | None) -> None:
        # Proposals are seeded by trial number; only the fallback's stream changes per worker.
        self._rng = np.random.default_rng(seed)
        self._fallback.reseed(seed)

    # ---- Sampler interface ----
    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        if history.is_multi_objective:
            raise ValueError(
                "CmaEsSampler optimizes one objective; for several use sampler='nsga2' or 'tpe'."
            )
        space = joint_space(history, declared_space)
        return SearchSpace({k: d for k, d in space.items() if not isinstance(d, Choice)})

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        if not len(space):
            return {}
        members = self._members(history, space)
        if self.n_startup_trials and len(members) < self.n_startup_trials:
            return {}
        with self._lock:
            state = self._state(history, space, members)
            if not state.startup_done:
                return {}
            x_eval, _ = self._ask(state.optimizer, trial.number)
        return space.decode(x_eval[None, :])[0]

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        return self._fallback.sample_independent(history, trial, name, distribution)

    def sample_simplex(
        self, history: History, trial: FrozenTrial, group: SearchSpace
    ) -> dict[str, ParamValue]:
        return self._fallback.sample_simplex(history, trial, group)

    # ---- replay ----
    def state(self, history: History, space: SearchSpace) -> CmaState:
        """The CMA-ES state rebuilt from ``history`` for the joint ``space``.

        The result is the sampler's live cache, advanced by later calls; deep-copy it to keep
        a snapshot."""
        members = self._members(history, space)
        with self._lock:
            return self._state(history, space, members)

    def _state(self, history: History, space: SearchSpace, members: list[FrozenTrial]) -> CmaState:
        numbers = [t.number for t in members]
        key = (tuple(space.items()), history.directions)
        cached = self._cache.get(key)
        if (
            cached is not None
            and numbers[: len(cached.told)] == cached.told
            # Equal records (identity is checked first, so this is cheap in a study).
            and members[: len(cached.told)] == cached.told_trials
        ):
            state = cached
        else:
            state = self._initial_state(history, space)
        self._advance(state, members, history, space)
        self._cache = {key: state}
        return state

    def _members(self, history: History, space: SearchSpace) -> list[FrozenTrial]:
        """Running trials, and complete ones sampled from this very space (same distributions,
        so their encodings are valid), in number order."""
        items = list(space.items())
        out: list[FrozenTrial] = []
        for t in history:
            if t.state is TrialState.RUNNING or (
                t.state is TrialState.COMPLETE
                and t.values is not None
                and all(t.distributions.get(k) == d for k, d in items)
            ):
                out.append(t)
        return out

    def _discrete(self, space: SearchSpace) -> np.ndarray:
        """Per dimension: the lattice step in the unit encoding (0 when continuous)."""
        steps = np.zeros(len(space))
        if not self.with_margin:
            return steps
        for j, name in enumerate(space.names):
            d = space[name]
            if isinstance(d, Int) and not d.log:
                steps[j] = 1.0 / d.n_values
            elif isinstance(d, Float) and d.step is not None:
                steps[j] = 1.0 / (d.n_steps or 1)
        return steps

    def _make(
        self,
        space: SearchSpace,
        mean: np.ndarray,
        sigma: float,
        popsize: int | None,
        cov: np.ndarray | None = None,
    ) -> Any:
        steps = self._discrete(space)
        d = len(space)
        bounds = np.tile([0.0, 1.0], (d, 1))
        if np.any(steps > 0):
            disc = steps > 0
            bounds[disc, 0] = steps[disc] / 2
            bounds[disc, 1] = 1.0 - steps[disc] / 2
            mean = np.where(disc, np.clip(mean, bounds[:, 0], bounds[:, 1]), mean)
            return CMAwM(
                mean=mean,
                sigma=sigma,
                bounds=bounds,
                steps=steps,
                population_size=popsize,
                cov=cov,
                seed=0,
            )
        return CMA(
            mean=mean,
            sigma=sigma,
            bounds=bounds,
            population_size=popsize,
            cov=cov,
            seed=0,
            lr_adapt=self.lr_adapt,
        )

    def _initial_state(self, history: History, space: SearchSpace) -> CmaState:
        d = len(space)
        sigma = self.sigma0 if self.sigma0 is not None else 1.0 / 6.0
        mean = np.full(d, 0.5)
        if self.x0 is not None:
            for j, name in enumerate(space.names):
                if name in self.x0:
                    if not space[name].contains(self.x0[name]):
                        raise ValueError(
                            f"x0[{name!r}] = {self.x0[name]!r} is outside {space[name]}; "
                            "give a value inside the range."
                        )
                    mean[j] = space[name].to_unit(self.x0[name])
        cov = None
        if self.source_trials is not None:
            sols = []
            sign = history.directions[0].sign
            for t in self.source_trials:
                x = space.encode([t.params])[0]
                if not np.isnan(x).any() and t.values is not None:
                    sols.append((x, sign * float(t.values[0])))
            if sols:
                gamma = max(0.1, 1.0 / len(sols))
                mean, sigma, cov = get_warm_start_mgd(sols, gamma=gamma, alpha=0.1)
                mean = np.clip(mean, 0.0, 1.0)
        opt = self._make(space, mean, sigma, self.population_size, cov)
        return CmaState(
            optimizer=opt,
            popsize0=int(opt.population_size),
            sigma0=sigma if self.sigma0 is None else self.sigma0,
            startup_done=self.n_startup_trials == 0,
            last_large_popsize=int(opt.population_size),
        )

    def _ask(self, optimizer: Any, number: int) -> tuple[np.ndarray, np.ndarray]:
        optimizer.reseed_rng(int((self._base_seed + 1_000_003 * number) % _SEED_MOD))
        out = optimizer.ask()
        if isinstance(out, tuple):
            return np.asarray(out[0], float), np.asarray(out[1], float)
        x = np.asarray(out, float)
        return x, x

    def _advance(
        self,
        state: CmaState,
        members: list[FrozenTrial],
        history: History,
        space: SearchSpace,
    ) -> None:
        sign = history.directions[0].sign
        pos = len(state.told)
        if not state.startup_done:
            n = self.n_startup_trials
            block = members[pos:n]
            if len(members) < n or any(t.state is not TrialState.COMPLETE for t in block):
                return
            self._start_from_startup(state, members[:n], sign, space)
            state.told.extend(t.number for t in block)
            state.told_trials.extend(block)
            state.run_start = n
            pos = n
        while True:
            p = state.population_size
            block = members[pos : pos + p]
            if len(block) < p or any(t.state is not TrialState.COMPLETE for t in block):
                return
            solutions = []
            xs = space.encode([t.params for t in block])
            for t, x in zip(block, xs):
                assert t.values is not None
                x_eval, x_raw = self._ask(state.optimizer, t.number)
                same = np.allclose(space.encode(space.decode(x_eval[None, :]))[0], x, atol=1e-9)
                solutions.append((x_raw if same else x, sign * float(t.values[0])))
            state.optimizer.tell(solutions)
            state.told.extend(t.number for t in block)
            state.told_trials.extend(block)
            pos += p
            if state.regime == "large":
                state.evals_large += p
            else:
                state.evals_small += p
            if self.restart is not None and state.optimizer.should_stop():
                self._restart(state, space)
                state.run_start = pos

    def _start_from_startup(
        self,
        state: CmaState,
        block: list[FrozenTrial],
        sign: float,
        space: SearchSpace,
    ) -> None:
        xs = space.encode([t.params for t in block])
        ys = np.array([sign * float(t.values[0]) for t in block])  # type: ignore[index]
        top = xs[np.argsort(ys, kind="stable")[: max(1, len(xs) // 4)]]
        mean = top.mean(axis=0)
        sigma = state.sigma0
        if len(top) >= 2:
            sigma = float(np.clip(np.mean(top.std(axis=0)) * 2.0, 0.05, state.sigma0))
        state.optimizer = self._make(space, mean, sigma, self.population_size)
        state.startup_done = True

    def _restart(self, state: CmaState, space: SearchSpace) -> None:
        state.run += 1
        rng = np.random.default_rng([self._base_seed % _SEED_MOD, state.run])
        mean = rng.random(len(space))
        sigma = state.sigma0
        if (
            self.restart == "bipop"
            and state.large_runs >= 1
            and (state.evals_small < state.evals_large)
        ):
            u = rng.random()
            ratio = 0.5 * state.last_large_popsize / state.popsize0
            popsize = max(2, int(math.floor(state.popsize0 * ratio ** (u**2))))
            sigma = state.sigma0 * 10 ** (-2 * u)
            state.regime = "small"
        else:
            state.large_runs += 1
            popsize = state.popsize0 * self.inc_popsize**state.large_runs
            state.last_large_popsize = popsize
            state.regime = "large"
        state.optimizer = self._make(space, mean, sigma, popsize)

    def __repr__(self) -> str:
        return f"CmaEsSampler(seed={self._seed}, restart={self.restart!r})"
