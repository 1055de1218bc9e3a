"""The TPE sampler: Parzen estimators of good and bad trials, and the point that best tells
them apart."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from scipy.stats import qmc

from honed.history import History
from honed.samplers._transfer import Transfer, source_rows, warm_proposal, warm_space
from honed.samplers.base import Sampler
from honed.samplers.tpe._cache import Observations
from honed.samplers.tpe._parzen import CONT, Parzen, dims_of
from honed.samplers.tpe._split import below_weights, n_below, split
from honed.space import Distribution, ParamValue, SearchSpace
from honed.trial import FrozenTrial

__all__ = ["TPESampler"]

_SOBOL_DIMS = 64  # startup points cover the first 64 parameters of a trial; the rest are random
_BANDWIDTHS = ("neighbour", "scott")
_LOW_DIMS = 2  # spaces this small use a larger default gamma (see auto_gamma)
# Default gamma of a conditional branch (parameters that only some trials have), one objective.
_BRANCH_GAMMA = 0.25


def _check_number(name: str, value: Any, low: float, *, integer: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if integer:
        ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or not value >= low:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"TPESampler {name} must be {kind} >= {low}, got {value!r}.")


class TPESampler(Sampler):
    """Tree-structured Parzen estimator.

    After a quasi-random (scrambled Sobol) start, each proposal splits the finished trials
    into the best ``gamma`` share and the rest, fits a Parzen estimator ``l`` to the first and
    ``g`` to the second over honed's unit encodings, draws ``n_ei_candidates`` points from
    ``l`` and keeps the one with the largest ``l / g``.

    * **Multivariate and tree-shaped spaces.** Parameters that always appear together in
      finished trials form a group, modelled jointly (product kernels); a conditional branch
      is its own group, fitted only on the trials that took that branch. Parameters never
      seen before are sampled by a univariate TPE (or at random when nothing is known).
    * **Parallel workers.** Running trials count as bad observations (a constant liar), so
      concurrent proposals spread out instead of piling on the same point.
    * **Constraints.** Feasible trials rank before infeasible ones; infeasible ones rank by
      total violation.
    * **Several objectives.** Trials rank by non-domination, ties at the cut broken by
      hypervolume contribution (from 4 objectives on, estimated on a fixed quasi-random
      sample: exact contributions cost seconds there); good trials weigh by their
      hypervolume contribution. The kernels take Scott's per-dimension bandwidth (the good
      set lies along a front, where gaps to neighbours are tiny and kernels clung to single
      points), and parameters are modelled one at a time, which recombines good values
      across the front (``bench/results/tpe-multiobjective-200trials-10seeds.md``).

    Defaults were chosen with ``bench/scripts/tpe_compare.py`` and ``honed-bench``: other
    candidate counts, bandwidths, startup lengths and prior weights were no better on average;
    a larger ``gamma`` won with 2 parameters and lost from 6, hence the default ``gamma`` that
    depends on the space's size (``bench/results/README.md``, "Is honed's TPE better").

    The decision depends only on the seed, the history and the trial's number: finished
    trials are encoded once and cached, but the cache is checked against every history and
    results equal a cold recomputation.

    Args:
        seed: Seed; the same seed and history give the same proposals.
        n_startup_trials: Complete trials to collect from Sobol points before modelling.
        n_ei_candidates: Points drawn from ``l`` per proposal.
        gamma: Share of trials that are "good" (``ceil(gamma * n)``). ``None`` (default):
            0.25 when a single-objective space has at most two tunable parameters, else 0.1;
            0.25 inside conditional branches (one objective).
        max_below: Cap on the number of good trials (single objective).
        prior_weight: Weight of the prior component of each estimator.
        multivariate: Model co-occurring parameters jointly; ``False`` models each alone.
            ``None`` (default): jointly for one objective, each alone for several.
        constant_liar: Treat running trials as bad observations.
        bandwidth: ``"scott"`` (per-dimension bandwidth from the data's spread) or
            ``"neighbour"`` (per-point gap to the neighbouring observations). ``None``
            (default): ``"neighbour"`` for one objective, ``"scott"`` for several.
        bandwidth_factor: Multiplies the bandwidths.
        min_bandwidth: Absolute floor on numeric bandwidths in the unit encoding (besides
            the usual floor ``1 / min(100, n + 2)``).
        branch_split: How a conditional branch picks its good trials. ``"branch"``
            (default): the best share of the trials that took the branch. ``"global"`` (as
            Optuna does): the best share of *all* trials, of which the branch's model sees
            those that took it. Global helped a univariate TPE on the conditional suite but
            not the multivariate default (``bench/results/auto-conditional-40seeds.md``).
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: float | None = None,
        max_below: int = 25,
        prior_weight: float = 1.0,
        multivariate: bool | None = None,
        constant_liar: bool = True,
        bandwidth: str | None = None,
        bandwidth_factor: float = 1.0,
        min_bandwidth: float = 0.0,
        branch_split: Literal["branch", "global"] = "branch",
    ) -> None:
        _check_number("n_startup_trials", n_startup_trials, 0, integer=True)
        _check_number("n_ei_candidates", n_ei_candidates, 1, integer=True)
        _check_number("max_below", max_below, 1, integer=True)
        if not (isinstance(prior_weight, int | float) and prior_weight > 0):
            raise ValueError(
                f"TPESampler prior_weight must be a number > 0 (the prior keeps every density "
                f"positive), got {prior_weight!r}."
            )
        if not (isinstance(bandwidth_factor, int | float) and bandwidth_factor > 0):
            raise ValueError(
                f"TPESampler bandwidth_factor must be a number > 0, got {bandwidth_factor!r}."
            )
        _check_number("min_bandwidth", min_bandwidth, 0.0)
        if gamma is not None and not (
            isinstance(gamma, int | float) and not isinstance(gamma, bool) and 0 < gamma <= 1
        ):
            raise ValueError(
                f"TPESampler gamma must be in (0, 1] or None (chosen by dimension), got {gamma!r}."
            )
        if bandwidth is not None and bandwidth not in _BANDWIDTHS:
            raise ValueError(
                f"TPESampler bandwidth must be one of {list(_BANDWIDTHS)} or None (by the number "
                f"of objectives), got {bandwidth!r}."
            )
        super().__init__(seed)
        self._n_startup = n_startup_trials
        self._n_ei = n_ei_candidates
        self._gamma = None if gamma is None else float(gamma)
        self._max_below = max_below
        self._prior_weight = float(prior_weight)
        self._multivariate = None if multivariate is None else bool(multivariate)
        self._constant_liar = bool(constant_liar)
        if branch_split not in ("branch", "global"):
            raise ValueError(
                f"TPESampler branch_split must be 'branch' or 'global', got {branch_split!r}."
            )
        self._branch_split = branch_split
        self._parzen_kw = {
            "prior_weight": float(prior_weight),
            "bandwidth": bandwidth,
            "bw_factor": float(bandwidth_factor),
            "min_bw": float(min_bandwidth),
        }
        self._entropy = self._draw_entropy(seed)
        # The Sobol scramble stays fixed on reseed so all workers walk one sequence.
        self._scramble_seed = int(np.random.default_rng(self._entropy).integers(2**31))
        self._sobol: np.ndarray | None = None
        self._obs = Observations()
        self._split_memo: tuple[Any, dict] = (None, {})
        self._transfer_memo: tuple[tuple[int, int, int], Transfer] | None = None
        self._lock = threading.RLock()

    @staticmethod
    def _draw_entropy(seed: int | None) -> int:
        if seed is None:
            # a SeedSequence made without entropy draws an int (typed int | Sequence[int])
            return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
        return int(seed)

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._entropy = self._draw_entropy(seed)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_obs"] = Observations()
        state["_split_memo"] = (None, {})
        state["_transfer_memo"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"TPESampler(seed={self._seed}, multivariate={self._multivariate})"

    # ---- the Sampler interface -----------------------------------------------------------
    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        if history.sources and self._in_startup(history):
            # Warm start: the initial design proposes source configurations jointly.
            return SearchSpace(warm_space(history, declared_space))
        if not self._joint(history):
            return SearchSpace({})
        with self._lock:
            self._obs.update(history)
            if self._obs.n_complete < self._n_startup:
                return SearchSpace({})
            dists = dict(declared_space or {})
            for name, d in self._obs.dists.items():
                dists.setdefault(name, d)
        return SearchSpace({k: d for k, d in dists.items() if not d.is_single})

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        if not len(space):
            return {}
        with self._lock:
            self._obs.update(history)
            if self._obs.n_complete < self._n_startup:
                return warm_proposal(history, trial, space) if history.sources else {}
            if not self._joint(history):
                return {}
            cols = {name: self._obs.column(name, d) for name, d in space.items()}
            groups: dict[bytes, list[str]] = {}
            for name, col in cols.items():
                present = ~np.isnan(col)
                if present.any():
                    groups.setdefault(present.tobytes(), []).append(name)
            rng = self._rng_for(trial.number, 0)
            tr = Transfer(history, space) if history.sources else None
            out: dict[str, ParamValue] = {}
            for names in groups.values():
                out.update(self._sample_group(history, trial, names, space, cols, rng, tr))
        return out

    def _in_startup(self, history: History) -> bool:
        with self._lock:
            self._obs.update(history)
            return self._obs.n_complete < self._n_startup

    def _transfer(
        self, history: History, trial: FrozenTrial, name: str, dist: Distribution
    ) -> Transfer | None:
        """The sources' Transfer for a parameter sampled alone: built once per trial over the
        whole space seen, so every parameter of a trial sees the same source weights."""
        if not history.sources:
            return None
        key = (id(history), len(history), trial.number)
        memo = self._transfer_memo
        if memo is None or memo[0] != key or name not in memo[1].space:
            space = warm_space(history, None)
            space[name] = dist
            self._transfer_memo = (key, Transfer(history, space))
        assert self._transfer_memo is not None
        return self._transfer_memo[1]

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        with self._lock:
            self._obs.update(history)
            if self._obs.n_complete < self._n_startup:
                return self._startup_value(trial, distribution)
            rng = self._rng_for(trial.number, 1 + zlib.crc32(name.encode()))
            col = self._obs.column(name, distribution)
            if np.isnan(col).all():
                return distribution.from_unit(rng.random())
            space = SearchSpace({name: distribution})
            tr = self._transfer(history, trial, name, distribution)
            return self._sample_group(history, trial, [name], space, {name: col}, rng, tr)[name]

    # ---- internals -----------------------------------------------------------------------
    def _joint(self, history: History) -> bool:
        """Whether parameters are modelled jointly. By default only for one objective: with
        several, a univariate model recombines good values of each parameter across the
        front (the test problems are separable, and so are many real trade-offs between,
        say, accuracy and size), while product kernels stay near single good points."""
        if self._multivariate is not None:
            return self._multivariate
        return history.n_objectives == 1

    def _rng_for(self, number: int, salt: int) -> np.random.Generator:
        return np.random.default_rng([self._entropy, number, salt])

    def _gamma_for_space(self, multi_objective: bool, branch: bool = False) -> float:
        """``gamma``, or by default the share that suits the number of tunable parameters
        seen so far (the whole space, not one group: a branch of a big space is not a small
        problem). Several objectives keep 0.1: the small-space rule was measured on single
        objectives only.

        ``branch``: the parameters belong to a conditional branch, seen in only some of the
        finished trials. A branch is fitted on its own trials only, and ``ceil(0.1 * n)`` of
        a branch's few trials is 1-4 good points: too few to place ``l``, so the best branch
        was found but then refined poorly. It takes ``_BRANCH_GAMMA`` instead (``honed-bench
        --suite conditional``, 50 trials, 20 seeds; see ``auto_gamma``). The choice between
        branches, which every trial has, keeps the usual gamma."""
        if self._gamma is not None:
            return self._gamma
        if multi_objective:
            return 0.1
        if branch:
            return _BRANCH_GAMMA
        return auto_gamma(sum(not dist.is_single for dist in self._obs.dists.values()))

    def _startup_value(self, trial: FrozenTrial, dist: Distribution) -> ParamValue:
        """Coordinate ``len(trial.params)`` of Sobol point ``trial.number``: early trials fill
        the space evenly, and workers never share a point."""
        pos = len(trial.params)
        if pos >= _SOBOL_DIMS:
            return dist.from_unit(self._rng_for(trial.number, 2 + pos).random())
        need = trial.number + 1
        if self._sobol is None or len(self._sobol) < need:
            n = max(32, 1 << (need - 1).bit_length())
            engine = qmc.Sobol(_SOBOL_DIMS, scramble=True, seed=self._scramble_seed)
            self._sobol = engine.random_base2(n.bit_length() - 1)
        return dist.from_unit(float(self._sobol[trial.number, pos]))

    def _pending(
        self, history: History, trial: FrozenTrial, names: list[str], space: SearchSpace
    ) -> np.ndarray:
        """Encodings of running trials (other than ``trial``) that hold all of ``names``."""
        rows = []
        for t in history.running:
            if t.number == trial.number:
                continue
            row = []
            for name in names:
                v = t.params.get(name)
                d = space[name]
                if name not in t.params or not d.contains(v):
                    break
                row.append(d.to_unit(v))
            else:
                rows.append(row)
        return np.array(rows, dtype=float).reshape(len(rows), len(names))

    def _split(
        self, a: Mapping[str, np.ndarray], rows: np.ndarray, k: int, mo: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Good rows, bad rows and the good rows' weights. Parameters seen in the same
        trials share one split, so it is computed once per state of the record: a
        univariate multi-objective TPE would otherwise rank fronts and hypervolume
        contributions once per parameter."""
        key = (len(a["pruned"]), rows.tobytes(), k)
        if self._split_memo[0] is not a:
            self._split_memo = (a, {})
        hit = self._split_memo[1].get(key)
        if hit is not None:
            return hit
        below, above = split(
            a["losses"][rows],
            a["violation"][rows],
            a["pruned"][rows],
            a["last_step"][rows],
            a["last_loss"][rows],
            k,
        )
        wb = below_weights(a["losses"][rows][below]) if mo else np.ones(len(below))
        self._split_memo[1][key] = (below, above, wb)
        return below, above, wb

    def _sample_group(
        self,
        history: History,
        trial: FrozenTrial,
        names: list[str],
        space: SearchSpace,
        cols: Mapping[str, np.ndarray],
        rng: np.random.Generator,
        transfer: Transfer | None = None,
    ) -> dict[str, ParamValue]:
        rows = np.flatnonzero(~np.isnan(cols[names[0]]))
        x = np.column_stack([cols[n][rows] for n in names])
        a = self._obs.arrays()
        mo = history.n_objectives > 1
        cap = len(rows) if mo else self._max_below
        # Rows missing this group's parameters (finished trials that took another branch)
        # make it a conditional branch. Never so in a space whose trials all hold the same
        # parameters, so those keep the plain default.
        branch = len(rows) < len(a["pruned"])
        if branch and self._branch_split == "global" and not mo:
            all_rows = np.arange(len(a["pruned"]))
            k = n_below(len(all_rows), self._gamma_for_space(mo), cap)
            good_all = self._split(a, all_rows, k, mo)[0]
            is_good = np.isin(rows, good_all)
            below, above = np.flatnonzero(is_good), np.flatnonzero(~is_good)
            wb = np.ones(len(below))
        else:
            k = n_below(len(rows), self._gamma_for_space(mo, branch), cap)
            below, above, wb = self._split(a, rows, k, mo)
        xb, xa = x[below], x[above]
        wa = _ramp(len(above))
        if self._constant_liar:
            pend = self._pending(history, trial, names, space)
            if len(pend):
                xa = np.vstack([xa, pend])
                wa = np.append(wa, np.ones(len(pend)))
        tried = xa
        if transfer is not None:
            # Warm start: each weighted source's good trials join l and the rest g, a source
            # weighing (relative to the target's own trials) what its RGPE weight says.
            gamma = self._gamma_for_space(mo, branch)
            for good_x, bad_x, ratio in source_rows(transfer, names, gamma):
                if len(good_x):
                    xb = np.vstack([xb, good_x])
                    wb = np.append(
                        wb, np.full(len(good_x), ratio * max(wb.sum(), 1.0) / len(good_x))
                    )
                if len(bad_x):
                    xa = np.vstack([xa, bad_x])
                    wa = np.append(wa, np.full(len(bad_x), ratio * max(wa.sum(), 1.0) / len(bad_x)))
        sub = SearchSpace({n: space[n] for n in names})
        dists = [space[n] for n in names]
        dims = dims_of(dists)
        kw: dict[str, Any] = dict(self._parzen_kw)
        if kw["bandwidth"] is None:
            # Several objectives: the good set is spread along a front, so per-point gaps are
            # tiny in the directions the front runs and kernels cling to single points; one
            # bandwidth per dimension from the spread (Scott) explored better (see docstring).
            kw["bandwidth"] = "scott" if mo else "neighbour"
        good = Parzen(xb, wb, dims, **kw)
        bad = Parzen(xa, wa, dims, **kw)
        # a simplex's candidates are scored where they decode to (see SearchSpace.project)
        cand = sub.project(good.sample(rng, self._n_ei))
        score = good.log_pdf(cand) - bad.log_pdf(cand)
        pick = int(np.argmax(score))
        if all(dm.kind != CONT for dm in dims):
            # A grid of integers and options: prefer the best candidate not tried yet, since
            # re-running a configuration teaches nothing about a deterministic objective.
            seen = {tuple(r) for r in np.round(np.vstack([x, tried]), 9).tolist()}
            for i in np.argsort(-score, kind="stable"):
                if tuple(np.round(cand[i], 9).tolist()) not in seen:
                    pick = int(i)
                    break
        return sub.decode(cand[pick][None, :])[0]

    def sample_simplex(
        self, history: History, trial: FrozenTrial, group: SearchSpace
    ) -> dict[str, ParamValue]:
        """The simplex's weights from a Parzen estimator of the whole group (one point), or
        during startup from the next Sobol coordinates."""
        names = list(group.names)
        with self._lock:
            self._obs.update(history)
            if self._obs.n_complete < self._n_startup:
                pos = len(trial.params)
                if pos + len(names) <= _SOBOL_DIMS:
                    self._startup_value(trial, group[names[0]])  # fills the Sobol table
                    assert self._sobol is not None
                    u = self._sobol[trial.number, pos : pos + len(names)]
                else:
                    u = self._rng_for(trial.number, 2 + pos).random(len(names))
                return group.decode(u[None, :])[0]
            rng = self._rng_for(trial.number, 1 + zlib.crc32(names[0].encode()))
            cols = {n: self._obs.column(n, group[n]) for n in names}
            present = ~np.isnan(np.column_stack([cols[n] for n in names])).any(axis=1)
            if not present.any():
                return group.decode(rng.random((1, len(names))))[0]
            cols = {n: np.where(present, c, np.nan) for n, c in cols.items()}
            return self._sample_group(history, trial, names, group, cols, rng)


def auto_gamma(n_dims: int) -> float:
    """Default share of good trials for a space of ``n_dims`` tunable parameters.

    0.1 (Optuna's and the TPE papers' choice) from 3 parameters on. With 1-2 parameters a
    larger good set (0.25) is better: more good points give narrower kernels around the good
    region, and in so small a space there is little left to explore (on the 2-D synthetic
    problems 0.25 beat 0.1; on 6-20-D problems it lost).
    """
    return 0.25 if n_dims <= _LOW_DIMS else 0.1


def _ramp(n: int) -> np.ndarray:
    """Weights of the bad trials in number order: the newest 25 count fully, older ones fade
    linearly (the landscape they saw is the same, but the good region has moved on)."""
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, n - 25), np.ones(25)])
