"""GP-BO as a honed sampler: a pure decision over (space, history)."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
from scipy.stats import qmc

from honed.history import History
from honed.pareto import non_dominated_mask
from honed.samplers._transfer import Transfer, warm_proposal, warm_space
from honed.samplers.base import Sampler, joint_space
from honed.samplers.gp._acquisition import Acquisition, LogEI, optimize_acquisition
from honed.samplers.gp._ehvi import LogEHVI
from honed.samplers.gp._model import GP, PriorMean, fit_gp
from honed.space import Choice, Distribution, Float, Int, ParamValue, SearchSpace
from honed.trial import FrozenTrial, TrialState

__all__ = ["GPSampler", "GPTuning"]

# Codes given to parameters that are inactive in a trial (a branch not taken). Numeric ones sit
# mid-range, categorical ones get a code no option has, so "inactive" is its own category.
_INACTIVE_NUM = 0.5
_INACTIVE_CAT = -1.0


@dataclass(frozen=True)
class GPTuning:
    """Settings of the GP's prior and of the acquisition search that few users need to change.

    The defaults are the ones honed's benchmark chose (``bench/results/``); a benchmark varies
    them to measure what each is worth (``GPSampler(tuning=GPTuning(plateau_tie_steps=0))``).

    Attributes:
        lengthscale_prior_shift: How far below ``sqrt(2) + log(d) / 2`` the log-normal prior
            on each log lengthscale is centred (3: the mode of the dimension-scaled prior).
        noise_prior_mean: Mean of the normal prior on the log noise variance of standardized
            outputs. ``None`` (default): -6, or -4 on plateau-shaped objectives (at most half
            the values unique); a number is used on every objective.
        noise_prior_sd: Standard deviation of that prior.
        n_raw_candidates: Quasi-random points scored per proposal.
        n_local_candidates: Perturbations of the best trials scored per proposal.
        n_polish: Best candidates polished by L-BFGS-B.
        plateau_tie_steps: On a plateau-shaped objective that is stuck, EI counts only
            improvements of at least this many steps (the smallest gap between the lowest
            distinct values); ``0`` turns the rule off.
        plateau_tie_after: ...once this many complete trials have brought nothing better.
        plateau_trust_region: Keep the trust region on plateau-shaped objectives (off by
            default: there it kept the search on the plateau it sat on).
    """

    lengthscale_prior_shift: float = 3.0
    noise_prior_mean: float | None = None
    noise_prior_sd: float = 2.0
    n_raw_candidates: int = 1024
    n_local_candidates: int = 512
    n_polish: int = 6
    plateau_tie_steps: float = 2.0
    plateau_tie_after: int = 10
    plateau_trust_region: bool = False

    def __post_init__(self) -> None:
        def number(name: str, low: float | None = None, positive: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if ok and low is not None:
                ok = v > low if positive else v >= low
            if not ok:
                bound = "" if low is None else f" {'>' if positive else '>='} {low:g}"
                raise ValueError(f"GPTuning {name} must be a finite number{bound}, got {v!r}.")

        def integer(name: str, low: int) -> None:
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= low):
                raise ValueError(f"GPTuning {name} must be an integer >= {low}, got {v!r}.")

        number("lengthscale_prior_shift")
        if self.noise_prior_mean is not None:
            number("noise_prior_mean")
        number("noise_prior_sd", 0.0, positive=True)
        integer("n_raw_candidates", 1)
        integer("n_local_candidates", 0)
        integer("n_polish", 0)
        number("plateau_tie_steps", 0.0)
        integer("plateau_tie_after", 0)
        if not isinstance(self.plateau_trust_region, bool):
            raise ValueError(
                "GPTuning plateau_trust_region must be True or False, got "
                f"{self.plateau_trust_region!r}."
            )


class GPSampler(Sampler):
    """Bayesian optimization with a Gaussian process and log expected improvement.

    The model is a Matérn-5/2 GP with one lengthscale per parameter (an overlap kernel for
    categorical parameters), fitted by MAP under a dimension-scaled lengthscale prior. Outputs
    are standardized and warped by a Yeo-Johnson power transform, which tames heavy tails and
    outliers. The next point maximizes log EI (times the probability of feasibility when trials
    report constraints), found by scoring quasi-random and local candidates and polishing the
    best with L-BFGS-B.

    * **Parallel workers**: running trials are pending points; the model is conditioned on its
      own predictions there (kriging believer), so workers spread out instead of colliding.
    * **Constraints**: one GP per constraint value (feasible when ``<= 0``).
    * **Multiple objectives**: with 2 or 3 objectives, one GP per objective and exact log
      expected hypervolume improvement over the feasible front (``multi_objective="ehvi"``,
      the default); with more, or ``multi_objective="parego"``, ParEGO: a random augmented
      Chebyshev scalarization of the normalized losses per trial, modelled by one GP.
    * **Conditional spaces** (``study.ask(space)`` with branches): inactive parameters get a
      fixed code, so one model covers the tree. Define-by-run parameters outside the shared
      space are sampled uniformly at random.
    * **Plateau-shaped objectives** (at most half the values unique, e.g. accuracy on small
      data) get a noisier prior (log noise variance around -4 instead of -6), so the model
      averages one-sample steps instead of interpolating them; on them the trust region is
      off, and once 10 trials have brought nothing better EI counts only improvements of at
      least two steps (the smallest gap between the lowest distinct values), so the GP does
      not spend the run filling in the plateau it sits on
      (``bench/results/auto-plateau.md`` has the measurements).
    * **Capped or quantized losses** on flat spaces (two equal values among the first 30
      trials, but not a plateau) are modelled on normal scores of their ranks (a Gaussian
      copula) instead: a capped tail makes a Yeo-Johnson-warped GP treat every parameter but
      one as irrelevant.
    * **Failed trials** are ignored; integer and stepped parameters are modelled on their unit
      encoding and rounded by decoding.

    Args:
        seed: Seed for the startup design and the optimizer's randomness.
        n_startup_trials: Quasi-random (Sobol) trials before the model is used; default
            ``min(10, d + 3)`` clipped below at 5 for a space of dimension ``d``.
        output_warping: ``"auto"`` (default: Yeo-Johnson, or the copula for capped or
            quantized single-objective losses on flat spaces, as above), ``"yeo-johnson"``,
            ``"copula"`` (normal scores of the ranks) or ``"standardize"`` only.
        trust_region_min_dim: With at least this many continuous parameters, the acquisition
            is maximized inside a trust region around the best trial (TuRBO-style: its side,
            scaled per dimension by the lengthscales, doubles after 3 improvements in a row
            and halves after ``min(d, 8)`` misses, replayed from the history).
        multi_objective: ``"ehvi"`` (default; 2-3 objectives, ParEGO beyond) or ``"parego"``.
        tuning: Prior and acquisition-search settings (:class:`GPTuning`); ``None``: the
            defaults.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        n_startup_trials: int | None = None,
        output_warping: str = "auto",
        trust_region_min_dim: int = 5,
        multi_objective: str = "ehvi",
        tuning: GPTuning | None = None,
    ) -> None:
        super().__init__(seed)
        if tuning is None:
            tuning = GPTuning()
        elif not isinstance(tuning, GPTuning):
            raise TypeError(
                f"GPSampler tuning must be a GPTuning or None, got {type(tuning).__name__}."
            )
        self.tuning = tuning
        if n_startup_trials is not None and (
            isinstance(n_startup_trials, bool) or int(n_startup_trials) < 1
        ):
            raise ValueError(
                f"n_startup_trials must be a positive integer, got {n_startup_trials!r}."
            )
        if output_warping not in ("auto", "yeo-johnson", "standardize", "copula"):
            raise ValueError(
                "output_warping must be 'auto', 'yeo-johnson', 'standardize' or 'copula', "
                f"got {output_warping!r}."
            )
        if multi_objective not in ("ehvi", "parego"):
            raise ValueError(
                f"multi_objective must be 'ehvi' or 'parego', got {multi_objective!r}."
            )
        self._mo = multi_objective
        self._n_startup = None if n_startup_trials is None else int(n_startup_trials)
        self._warping = output_warping
        self._tr_min_dim = int(trust_region_min_dim)
        self._scramble_seed = _scramble_seed(seed)
        # (hyperparameters, number of trials) of the last fit per (space, output): the warm
        # start of the next fit, and the model itself until the next refit is due.
        self._theta_cache: dict[tuple, tuple[np.ndarray, int]] = {}

    def reseed(self, seed: int | None) -> None:
        # The Sobol scramble stays shared so parallel workers walk one startup sequence.
        self._rng = np.random.default_rng(seed)
        self._seed = seed

    def _restart(self, seed: int | None) -> None:
        """Start afresh as if built with ``seed``, quasi-random start included (the
        AutoSampler seeds a GP delegate it is given this way)."""
        self.reseed(seed)
        self._scramble_seed = _scramble_seed(seed)
        self._theta_cache.clear()

    # -- the sampler interface ---------------------------------------------------------------

    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        space = joint_space(history, declared_space)
        if not len(space) and history.sources:
            # Warm start before any trial of its own: the sources name the parameters.
            return SearchSpace(warm_space(history, declared_space))
        return space

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        return distribution.from_unit(self._rng.random())

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        if not len(space):
            return {}
        d = len(space)
        n_startup = self._n_startup or max(5, min(10, d + 3))
        complete = [t for t in history.complete if t.values is not None]
        stopped = _stopped(history, space)
        n_pruned = sum(t.state is TrialState.PRUNED and t.last_step is not None for t in stopped)
        if not complete or len(complete) + n_pruned < n_startup:
            start = self._startup(trial, space)
            if history.sources:  # warm start: every other start point from the sources
                start.update(warm_proposal(history, trial, space))
            return start
        with np.errstate(all="ignore"), warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore", RuntimeWarning)
            u = self._propose(history, trial, space, complete, n_startup, stopped)
        return space.decode(u[None, :])[0]

    # -- internals ---------------------------------------------------------------------------

    def _fit(
        self,
        key: tuple,
        x: np.ndarray,
        y: np.ndarray,
        is_cat: np.ndarray,
        prior: dict,
        mean: PriorMean | None = None,
    ) -> GP:
        """The GP for ``(x, y)``. Hyperparameters are refitted (warm-started from the last
        fit) on every trial up to 100 trials, then only every ``(n - 100) / 10`` trials: they
        barely move by then, and the refit is most of a proposal's cost."""
        n = len(y)
        cached = self._theta_cache.get(key)
        if cached is not None:
            theta, n_fit = cached
            if len(theta) == x.shape[1] + 2 and n_fit <= n < n_fit + _refit_gap(n_fit):
                return GP(x, y, is_cat, theta, mean)
        # Refit from the last hyperparameters alone most of the time (they move little from
        # one fit to the next); every 8th model, and the first, also start from a draw around
        # the prior's mode. Past 200 trials the likelihood dominates the prior and one start
        # does (it halves the cost of a cold proposal there).
        restarts = 2 if (n % 8 == 0 or cached is None) and n <= 200 else 1
        gp = fit_gp(
            x,
            y,
            is_cat,
            self._rng,
            warm_start=None if cached is None else cached[0],
            n_restarts=restarts,
            prior=prior,
            mean=mean,
        )
        self._theta_cache[key] = (gp.theta, n)
        return gp

    def _startup(self, trial: FrozenTrial, space: SearchSpace) -> dict[str, ParamValue]:
        engine = qmc.Sobol(len(space), scramble=True, seed=self._scramble_seed)
        if trial.number:
            engine.fast_forward(trial.number)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            point = engine.random(1)
        return space.decode(point)[0]

    def _propose(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        complete: list[FrozenTrial],
        n_startup: int,
        stopped: list[FrozenTrial] = (),  # type: ignore[assignment]
    ) -> np.ndarray:
        enc = _Encoder(space)
        x = enc.encode([t.params for t in complete])
        losses = history.losses(complete)
        n_obj = losses.shape[1]
        n_c = len(complete)
        # Pruned and failed trials (one objective): observations at pessimistic values, so
        # the model moves away from where trials were stopped or crashed instead of proposing
        # the same point again and again.
        x_stop, y_stop = (
            _impute(history, stopped, losses[:, 0], enc) if n_obj == 1 and stopped else (None, None)
        )
        ehvi = self._mo == "ehvi" and n_obj in (2, 3)
        tun = self.tuning
        plateau = _mostly_ties(losses)
        noise_mu = tun.noise_prior_mean
        if noise_mu is None:
            # Plateau-shaped objectives (accuracies on small data): a near-noiseless prior
            # makes the GP interpolate one-sample steps; a noisier one averages them.
            noise_mu = -4.0 if plateau else -6.0
        prior = {
            "ls_shift": tun.lengthscale_prior_shift,
            "noise_mu": noise_mu,
            "noise_sd": tun.noise_prior_sd,
        }
        warping = "yeo-johnson" if self._warping == "auto" else self._warping
        if ehvi:
            ys = np.column_stack([_warp(losses[:, j], warping) for j in range(n_obj)])
            gps = [
                self._fit((hash(space), f"objective{j}"), x, ys[:, j], enc.is_cat, prior)
                for j in range(n_obj)
            ]
        else:
            y_raw = _scalarize(losses, self._rng) if n_obj > 1 else losses[:, 0]
            if (
                self._warping == "auto"
                and n_obj == 1
                and not plateau
                and not enc.conditional
                and _tied_early(y_raw)
            ):
                # Repeated values among the first trials of a flat space (a capped loss, a
                # constant-predictor score) mean the magnitudes say little near the optimum
                # and ranks do.
                warping = "copula"
            x_fit, y_fit = x, y_raw
            if x_stop is not None and y_stop is not None:
                x_fit, y_fit = np.vstack([x, x_stop]), np.concatenate([y_raw, y_stop])
            y = _warp(y_fit, warping)
            mean = _source_mean(history, space, enc, x_fit, y) if history.sources else None
            key = (hash(space), "objective" if mean is None else "objective-over-sources")
            gp = self._fit(key, x_fit, y, enc.is_cat, prior, mean)

        # Constraints: only when every complete trial reports the same number of them.
        cons: list[tuple[GP, float]] = []
        feasible = np.ones(len(complete), dtype=bool)
        ncon = {len(t.constraints) if t.constraints is not None else -1 for t in complete}
        if len(ncon) == 1 and (nc := ncon.pop()) > 0:
            c = np.array([t.constraints for t in complete], dtype=float)
            c = np.where(np.isfinite(c), c, np.nanmax(np.where(np.isfinite(c), c, -np.inf)))
            feasible = np.all(c <= 0, axis=1)
            for j in range(nc):
                cj = c[:, j]
                mu, sd = float(cj.mean()), float(cj.std())
                sd = sd if sd > 1e-12 else 1.0
                ckey = (hash(space), f"constraint{j}")
                cgp = self._fit(ckey, x, (cj - mu) / sd, enc.is_cat, prior)
                cons.append((cgp, -mu / sd))

        # Pending trials (other workers): condition on the model's own predictions there.
        pending = [
            t
            for t in history.running
            if t.number != trial.number and any(k in t.params for k in space)
        ]
        xp = enc.encode([t.params for t in pending]) if pending else np.empty((0, x.shape[1]))
        cons = [(_believe(m, xp), thr) for m, thr in cons]
        if ehvi:
            gps = [_believe(m, xp) for m in gps]
            return self._propose_ehvi(enc, x, xp, ys, gps, cons, feasible)
        model = _believe(gp, xp)

        # Stopped trials enter the model, never the incumbent or the trust region's replay.
        n_stop = len(x_fit) - n_c
        feasible_c = feasible
        feasible = np.concatenate([feasible, np.zeros(n_stop, dtype=bool)])
        mean_obs, _ = gp.predict(x_fit)
        if feasible.any():
            best = float(np.min(mean_obs[feasible]))
            ranked = np.argsort(np.where(feasible, mean_obs, np.inf))
        else:
            # No feasible point yet: EI against the worst point leaves the feasibility term
            # in charge, which is what we want until something feasible turns up.
            best = float(np.max(mean_obs))
            ranked = np.argsort(mean_obs)
        anchors = x_fit[ranked[:5]]
        yf = y[feasible] if feasible.any() else y
        if plateau and tun.plateau_tie_steps > 0 and _since_best(yf) >= tun.plateau_tie_after:
            # On a plateau-shaped objective no trial can improve by less than one step
            # (one more sample right): once stuck, EI counts only improvements of a few
            # steps, so the model stops filling in the plateau it sits on and looks
            # elsewhere. (From the start, it cost svm-wine at 50 trials.)
            best -= tun.plateau_tie_steps * _quantum(yf)
        acq = LogEI(model, best, cons)
        lower = upper = None
        num = ~enc.is_cat
        n_cont = sum(
            isinstance(dd, Float) and dd.step is None for dd in (space[n] for n in space.names)
        )
        if n_cont >= self._tr_min_dim and (tun.plateau_trust_region or not plateau):
            # Trust region (TuRBO-style) around the incumbent: in many dimensions a global
            # EI maximizer drifts to the corners of the box, where the model knows nothing.
            # Counted on continuous parameters only: on mixed spaces (levy-mixed-8) the
            # region hurt more than it helped.
            length = _trust_length(y_raw, feasible_c, n_startup, int(num.sum()))
            ls = np.exp(gp.theta[: len(num)])[num]
            w = ls / np.exp(np.mean(np.log(ls)))
            w = np.clip(w, 0.25, 4.0)
            w = w / np.exp(np.mean(np.log(w)))
            lower, upper = np.zeros(len(num)), np.ones(len(num))
            center = anchors[0][num]
            lower[num] = np.clip(center - 0.5 * length * w, 0.0, 1.0)
            upper[num] = np.clip(center + 0.5 * length * w, 0.0, 1.0)
        return self._maximize(acq, enc, x_fit, xp, anchors, lower, upper)

    def _propose_ehvi(
        self,
        enc: _Encoder,
        x: np.ndarray,
        xp: np.ndarray,
        ys: np.ndarray,
        models: list[GP],
        cons: list[tuple[GP, float]],
        feasible: np.ndarray,
    ) -> np.ndarray:
        """The point of highest log EHVI (2-3 objectives, one GP each, warped losses)."""
        # Reference point: a tenth of the observed range beyond the worst value seen.
        span = np.maximum(ys.max(axis=0) - ys.min(axis=0), 1e-9)
        ref = ys.max(axis=0) + 0.1 * span
        on_front = np.zeros(len(ys), dtype=bool)
        if feasible.any():
            idx = np.flatnonzero(feasible)
            on_front[idx[non_dominated_mask(ys[idx])]] = True
        acq = LogEHVI(models, ys[on_front], ref, cons)
        front_idx = np.flatnonzero(on_front) if on_front.any() else np.arange(len(ys))
        anchors = x[self._rng.permutation(front_idx)[:5]]
        return self._maximize(acq, enc, x, xp, anchors)

    def _maximize(
        self,
        acq: Acquisition,
        enc: _Encoder,
        x: np.ndarray,
        xp: np.ndarray,
        anchors: np.ndarray,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
    ) -> np.ndarray:
        """The maximizer of ``acq``, snapped to its discrete values and moved off points
        already tried (``x``) or running (``xp``)."""
        tun = self.tuning
        u, _ = optimize_acquisition(
            acq,
            enc.is_cat,
            enc.n_options,
            self._rng,
            anchors,
            lower,
            upper,
            n_raw=tun.n_raw_candidates,
            n_local=tun.n_local_candidates,
            n_polish=tun.n_polish,
            # Past 100 trials the polish (most of a proposal's cost there) starts from
            # candidates already close to the optimum; 30 iterations do.
            maxiter=100 if len(x) < 100 else 30,
            fix=enc.fix,
        )
        u = enc.snap(u)
        seen = np.vstack([x, xp]) if len(xp) else x
        if enc.has_discrete and _is_seen(u[None, :], seen)[0]:
            # Rounding integers and steps sent the continuous optimum back onto a tried point
            # (a plateau of repeats on integer spaces): search the rounded points instead,
            # with the tried ones ruled out.
            def snapped(xx: np.ndarray) -> np.ndarray:
                return enc.snap_all(enc.fix(xx))

            u2, v2 = optimize_acquisition(
                _Excluding(acq, seen),
                enc.is_cat,
                enc.n_options,
                self._rng,
                anchors,
                n_polish=0,
                fix=snapped,
            )
            if np.isfinite(v2):
                u = enc.snap(u2)
        return u


def _stopped(history: History, space: SearchSpace) -> list[FrozenTrial]:
    """Pruned and failed trials that sampled the joint space, the observations a single-
    objective model adds (see :func:`_impute`)."""
    if history.is_multi_objective or not len(space):
        return []
    return [
        t
        for t in history.with_states(TrialState.PRUNED, TrialState.FAILED)
        if any(k in t.params for k in space)
    ]


def _impute(
    history: History, stopped: list[FrozenTrial], losses: np.ndarray, enc: _Encoder
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Encoded points and pessimistic losses of pruned and failed trials.

    A pruned trial was stopped because it looked worse than most by then: its loss is its
    last report, raised to the median of the complete trials (it is no better than a typical
    one) and capped at their worst (a report on another scale distorts nothing). A failed
    trial, or one pruned before reporting, gets the worst complete loss: the model learns
    the failing region as a bad one and looks elsewhere. A failed configuration that also
    completed (a retry that succeeded) keeps only its real value."""
    if not len(losses):
        return None, None
    worst, typical = float(np.max(losses)), float(np.median(losses))
    sign = history.directions[0].sign
    done = {tuple(sorted(t.params.items(), key=lambda kv: kv[0])) for t in history.complete}
    params, values = [], []
    names = enc.space.names
    for t in stopped:
        if not enc.conditional and not all(k in t.params for k in names):
            continue  # stopped before sampling all of a flat space: no point to place
        last = t.intermediate_values.get(t.last_step) if t.last_step is not None else None
        if t.state is TrialState.PRUNED and last is not None and math.isfinite(last):
            value = min(max(sign * last, typical), worst)
        elif tuple(sorted(t.params.items(), key=lambda kv: kv[0])) in done:
            continue
        else:
            value = worst
        params.append(t.params)
        values.append(value)
    if not params:
        return None, None
    return enc.encode(params), np.array(values, dtype=float)


def _scramble_seed(seed: int | None) -> int:
    return int(np.random.default_rng(seed).integers(2**31))


def _source_mean(
    history: History, space: SearchSpace, enc: _Encoder, x: np.ndarray, y: np.ndarray
) -> PriorMean | None:
    """Warm start after the initial design: a prior mean ``a + b q(x)`` from the sources'
    weighted rank prediction ``q`` (RGPE-style weights, ``honed.samplers._transfer``), with
    ``b >= 0`` and ``a`` fitted to the target's own (warped) values, so the GP models what
    the sources do not explain. None on tree-shaped spaces, when no source has weight, or
    when the sources do not rank the target's trials the right way round."""
    if enc.conditional or len(y) < 3:
        return None
    tr = Transfer(history, {n: space[n] for n in space.names})
    if not tr or tr.weights.sum() <= 0:
        return None
    pred = tr.predict_grad(x)
    if pred is None:
        return None
    # Fitted on the better half of the trials: how far the sources' trend holds where the
    # search is heading, not how well they tell good from awful.
    good = y <= np.median(y)
    q, yg = pred[0][good], y[good]
    var = float(np.var(q))
    if len(yg) < 3 or var < 1e-12:
        return None
    slope = float(np.mean((q - q.mean()) * (yg - yg.mean()))) / var
    if slope <= 0:
        return None
    intercept = float(yg.mean() - slope * q.mean())

    def mean(xq: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        # (the gradient only for the acquisition's polish: scoring candidates needs none)
        if not grad:
            q = tr.predict(xq)
            assert q is not None
            return intercept + slope * q, None
        out = tr.predict_grad(xq)
        assert out is not None
        return intercept + slope * out[0], slope * out[1]

    return mean


def _believe(model: GP, xp: np.ndarray) -> GP:
    """``model`` conditioned on its own predictions at the pending points ``xp`` (kriging
    believer), so parallel workers spread out instead of colliding."""
    if not len(xp):
        return model
    return model.condition_on(xp, model.predict(xp)[0])


def _mostly_ties(losses: np.ndarray) -> bool:
    """Whether at most half the trials have a value no other trial has (a plateau-shaped
    objective, such as accuracy on a few hundred samples)."""
    col = losses[:, 0]
    col = col[np.isfinite(col)]
    if len(col) < 10:
        return False
    _, counts = np.unique(col, return_counts=True)
    return int((counts == 1).sum()) <= len(col) // 2


def _tied_early(y: np.ndarray, first: int = 30) -> bool:
    """Whether two of the first ``first`` finite values are equal."""
    v = np.asarray(y, dtype=float)[:first]
    v = v[np.isfinite(v)]
    return len(np.unique(v)) < len(v)


def _since_best(y: np.ndarray) -> int:
    """Values after the first occurrence of the lowest one."""
    return len(y) - 1 - int(np.argmin(y))


def _quantum(y: np.ndarray, k: int = 5) -> float:
    """Smallest gap between the ``k`` lowest distinct values of ``y``: on a plateau-shaped
    objective, the least improvement a new trial can bring (one more sample right)."""
    u = np.unique(y)[:k]
    return float(np.min(np.diff(u))) if len(u) > 1 else 0.0


def _refit_gap(n_fit: int) -> int:
    """Trials between hyperparameter refits after a fit on ``n_fit`` trials."""
    return max(1, (n_fit - 100) // 10)


_CONTROLLER: list = []  # threadpoolctl's controller, built once: building it scans the libraries


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """The matrices here are small (at most a few hundred rows): threaded BLAS only adds
    contention, which on a busy machine made a proposal ten times slower. threadpoolctl
    comes with scikit-learn; without it, BLAS keeps its own setting."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional
            return contextlib.nullcontext()
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def _trust_length(y: np.ndarray, feasible: np.ndarray, n_startup: int, d: int) -> float:
    """Side of the trust region (in unit-cube widths), replayed from the trials in order:
    doubled after 3 improvements in a row, halved after ``fail_tol`` misses in a row, reset
    when it gets too small. A pure function of the history, like everything here."""
    length, l_min, l_max = 0.8, 0.5**6, 1.6
    fail_tol = max(3, min(d, 8))
    succ = fail = 0
    yy = np.where(feasible, y, np.inf)
    best = float(np.min(yy[:n_startup])) if n_startup <= len(yy) else math.inf
    for v in yy[n_startup:]:
        if v < best - 1e-3 * abs(best):
            succ, fail = succ + 1, 0
        else:
            succ, fail = 0, fail + 1
        best = min(best, float(v))
        if succ == 3:
            length, succ = min(2.0 * length, l_max), 0
        elif fail == fail_tol:
            length, fail = length / 2.0, 0
        if length < l_min:
            length = 0.8
    return length


def _is_seen(xq: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Which rows of ``xq`` equal (to 1e-9) a row of ``seen``."""
    if not len(seen):
        return np.zeros(len(xq), dtype=bool)
    out = np.zeros(len(xq), dtype=bool)
    for i in range(0, len(xq), 256):
        diff = np.abs(xq[i : i + 256, None, :] - seen[None, :, :]).max(axis=2)
        out[i : i + 256] = (diff < 1e-9).any(axis=1)
    return out


class _Excluding:
    """An acquisition that is ``-inf`` on points already tried."""

    def __init__(self, acq: Acquisition, seen: np.ndarray) -> None:
        self.acq = acq
        self.seen = seen

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[False] = False) -> np.ndarray: ...

    @overload
    def __call__(self, x: np.ndarray, grad: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def __call__(
        self, x: np.ndarray, grad: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        seen = _is_seen(x, self.seen)
        if grad:
            val, g = self.acq(x, grad=True)
            return np.where(seen, -np.inf, val), g
        return np.where(seen, -np.inf, self.acq(x))


def _scalarize(losses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ParEGO: augmented Chebyshev scalarization with a random weight vector."""
    lo = losses.min(axis=0)
    span = losses.max(axis=0) - lo
    span = np.where(span > 0, span, 1.0)
    f = (losses - lo) / span
    w = rng.dirichlet(np.ones(losses.shape[1]))
    wf = f * w
    return wf.max(axis=1) + 0.05 * wf.sum(axis=1)


def _warp(y: np.ndarray, how: str) -> np.ndarray:
    """Standardize (and power-transform) losses; finite in, finite out."""
    y = np.asarray(y, dtype=float).copy()
    finite = np.isfinite(y)
    if not finite.all():
        y[~finite] = np.max(y[finite]) if finite.any() else 0.0
    sd = y.std()
    if sd < 1e-12 * max(1.0, abs(y.mean())) or sd == 0:
        return np.zeros_like(y)
    if how == "copula":
        # Gaussian copula: normal scores of the ranks (ties share their mean rank), so the
        # ordering among good trials weighs as much as the gap to the bad ones.
        from scipy.stats import norm, rankdata

        z = norm.ppf((rankdata(y) - 0.5) / len(y))
        return (z - z.mean()) / z.std()
    y = (y - y.mean()) / sd
    if how == "yeo-johnson" and len(y) >= 3:
        yt = _yeo_johnson(y)
        if np.all(np.isfinite(yt)) and yt.std() > 1e-12:
            y = (yt - yt.mean()) / yt.std()
    return y


def _yj(y: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Yeo-Johnson transforms of ``y`` ``(n,)`` for each ``lam`` ``(L,)``: ``(L, n)``."""
    lam = lam[:, None]
    pos = y >= 0
    lp = np.log1p(np.abs(y))[None, :]
    small = np.abs(lam) < 1e-8
    a = np.where(small, lp, np.expm1(lam * lp) / np.where(small, 1.0, lam))
    lam2 = 2.0 - lam
    small2 = np.abs(lam2) < 1e-8
    b = -np.where(small2, lp, np.expm1(lam2 * lp) / np.where(small2, 1.0, lam2))
    return np.where(pos[None, :], a, b)


def _yeo_johnson(y: np.ndarray) -> np.ndarray:
    """Yeo-Johnson transform with the maximum-likelihood lambda, found on a grid over
    ``[-5, 5]`` refined by a parabola (a few hundred microseconds, where scipy's scalar
    search cost tens of milliseconds on long histories)."""
    grid = np.linspace(-5.0, 5.0, 101)
    s = float(np.sum(np.sign(y) * np.log1p(np.abs(y))))

    def llf(lam: np.ndarray) -> np.ndarray:
        t = _yj(y, lam)
        var = t.var(axis=1)
        return -0.5 * len(y) * np.log(np.maximum(var, 1e-300)) + (lam - 1.0) * s

    v = llf(grid)
    v = np.where(np.isfinite(v), v, -np.inf)
    i = int(np.argmax(v))
    lam = grid[i]
    if 0 < i < len(grid) - 1 and np.all(np.isfinite(v[i - 1 : i + 2])):
        # Vertex of the parabola through the three grid points around the best.
        h = grid[1] - grid[0]
        den = v[i - 1] - 2.0 * v[i] + v[i + 1]
        if den < 0:
            lam = grid[i] + 0.5 * h * (v[i - 1] - v[i + 1]) / den
    return _yj(y, np.array([lam]))[0]


class _Encoder:
    """Unit encodings for the model: inactive parameters coded, integers snapped."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        names = list(space.names)
        dists = [space[n] for n in names]
        self.is_cat = np.array([isinstance(dd, Choice) for dd in dists])
        self.n_options = np.array(
            [len(dd.choices) if isinstance(dd, Choice) else 1 for dd in dists], dtype=int
        )
        # Parent of each parameter of a conditional space: (column of the choice, option code).
        self.parents: list[tuple[int, float] | None] = [None] * len(names)
        col = {n: j for j, n in enumerate(names)}
        for j, dd in enumerate(dists):
            if isinstance(dd, Choice) and dd.branches:
                for opt, branch in dd.branches.items():
                    for child in branch:
                        if child in col:
                            self.parents[col[child]] = (j, dd.to_unit(opt))
        self.conditional = any(p is not None for p in self.parents)
        self.inactive = np.where(self.is_cat, _INACTIVE_CAT, _INACTIVE_NUM)
        self.discrete_cols = [
            j
            for j, dd in enumerate(dists)
            if isinstance(dd, Int) or (isinstance(dd, Float) and dd.step is not None)
        ]
        self.has_discrete = bool(self.discrete_cols) or bool(self.is_cat.any())

    def encode(self, params: list[Mapping[str, ParamValue]]) -> np.ndarray:
        x = self.space.encode(params)
        return np.where(np.isnan(x), self.inactive, x)

    def active(self, x: np.ndarray) -> np.ndarray:
        act = np.ones(x.shape, dtype=bool)
        # Parents come before children in a flattened tree, so one pass in order suffices.
        for j, p in enumerate(self.parents):
            if p is not None:
                pj, code = p
                act[:, j] = act[:, pj] & (np.abs(x[:, pj] - code) < 1e-9)
        return act

    def fix(self, x: np.ndarray) -> np.ndarray:
        # A simplex's columns go to the encodings of the weights they decode to, so the
        # acquisition scores the point that would run.
        x = self.space.project(x)
        if not self.conditional:
            return x
        act = self.active(x)
        return np.where(act, x, self.inactive)

    def snap_all(self, x: np.ndarray) -> np.ndarray:
        """:meth:`snap` for a matrix, column by column."""
        out = x.copy()
        for j in self.discrete_cols:
            dd = self.space[self.space.names[j]]
            col = np.clip(x[:, j], 0.0, 1.0)
            out[:, j] = dd.to_unit_array(dd.from_unit_array(col))
        return out

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Snap integer/stepped columns to their encoding of the decoded value."""
        out = u.copy()
        for j, name in enumerate(self.space.names):
            dd = self.space[name]
            if isinstance(dd, Int) or (isinstance(dd, Float) and dd.step is not None):
                out[j] = dd.to_unit(dd.from_unit(float(u[j])))
            elif isinstance(dd, Choice) and u[j] < 0:
                out[j] = 0.5 / len(dd.choices)
        return self.space.project(np.clip(out, 0.0, 1.0))
