"""The GP's posterior over a finished history, in the objective's own units.

What a noisy study's values would be without their noise: the sampler's model (Matérn-5/2,
one lengthscale per parameter, MAP hyperparameters) fitted to the complete trials with a noise
term it estimates, without the nonlinear output warping the sampler uses to search, so its
mean is on the objective's scale. :func:`honed.recipes.likely_best` ranks trials by it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from honed.history import History
from honed.samplers.base import joint_space
from honed.samplers.gp._model import fit_gp
from honed.samplers.gp._sampler import GPTuning, _Encoder, _one_blas_thread
from honed.space import ParamValue, SearchSpace

__all__ = ["GPPosterior"]

# A wider noise prior than the sampler's (whose -6 favours interpolating): here the noise is
# what the posterior is for, so the data decide it.
_NOISE_PRIOR_MEAN = -3.0
_NOISE_PRIOR_SD = 3.0


class GPPosterior:
    """The GP fitted to the complete trials of ``history`` for objective ``objective``.

    Args:
        history: The trials (e.g. ``honed.History(study.trials, study.directions)``).
        objective: Which objective to model (0-based).
        seed: Seed of the hyperparameter restarts.
        tuning: The lengthscale prior (:class:`GPTuning`); its noise prior is used when
            ``noise_prior_mean`` is set, else a wide one (mean -3, sd 3, on the log noise
            variance of standardized values) lets the data decide how noisy they are.

    Attributes:
        space: The parameters the model covers (those every complete trial has).
        n_trials: How many trials it was fitted to.
        noise_sd: The estimated standard deviation of the objective's noise, in its units.
        signal_sd: The prior standard deviation of the noise-free objective, in its units.
    """

    def __init__(
        self,
        history: History,
        *,
        objective: int = 0,
        seed: int | None = 0,
        tuning: GPTuning | None = None,
    ) -> None:
        if not isinstance(history, History):
            raise TypeError(
                f"GPPosterior needs a honed.History, got {type(history).__name__}; e.g. "
                "honed.History(study.trials, study.directions)."
            )
        n_obj = len(history.directions)
        if (
            isinstance(objective, bool)
            or not isinstance(objective, int)
            or not 0 <= objective < n_obj
        ):
            raise ValueError(
                f"objective must be an index between 0 and {n_obj - 1}, got {objective!r}."
            )
        if tuning is not None and not isinstance(tuning, GPTuning):
            raise TypeError(f"tuning must be a GPTuning or None, got {type(tuning).__name__}.")
        tun = tuning or GPTuning()
        complete = [t for t in history.complete if t.values is not None]
        space = joint_space(history)
        if len(complete) < 2 or not len(space):
            raise ValueError(
                f"a posterior needs at least 2 complete trials sharing a parameter; this "
                f"history has {len(complete)} complete trial(s) and {len(space)} shared "
                "parameter(s)."
            )
        enc = _Encoder(space)
        x = enc.encode([t.params for t in complete])
        y = np.array([t.values for t in complete], dtype=np.float64)[:, objective]
        center, scale = float(y.mean()), float(y.std())
        if not math.isfinite(scale) or scale < 1e-12 * max(1.0, abs(center)):
            scale = 1.0
        if tun.noise_prior_mean is None:
            noise_mu, noise_sd = _NOISE_PRIOR_MEAN, _NOISE_PRIOR_SD
        else:
            noise_mu, noise_sd = tun.noise_prior_mean, tun.noise_prior_sd
        prior = {
            "ls_shift": tun.lengthscale_prior_shift,
            "noise_mu": noise_mu,
            "noise_sd": noise_sd,
        }
        with np.errstate(all="ignore"), warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore", RuntimeWarning)
            rng = np.random.default_rng(seed)
            gp = fit_gp(x, (y - center) / scale, enc.is_cat, rng, n_restarts=4, prior=prior)
        self.space: SearchSpace = space
        self.n_trials = len(complete)
        self.noise_sd = scale * math.sqrt(gp.noise)
        self.signal_sd = scale * math.sqrt(gp.sig2)
        self._gp = gp
        self._encoder = enc
        self._center = center
        self._scale = scale

    def __repr__(self) -> str:
        return (
            f"GPPosterior(n_trials={self.n_trials}, params={list(self.space.names)}, "
            f"noise_sd={self.noise_sd:.4g})"
        )

    def predict(self, params: Sequence[Mapping[str, ParamValue]]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the noise-free objective at each
        configuration (parameters the model does not cover are ignored)."""
        for i, p in enumerate(params):
            missing = [name for name in self.space.names if name not in p]
            if missing:
                raise ValueError(
                    f"configuration {i} lacks {missing}, which the posterior models; give "
                    f"every parameter of {list(self.space.names)}."
                )
        x = self._encoder.encode([dict(p) for p in params])
        with np.errstate(all="ignore"), _one_blas_thread():
            mean, var = self._gp.predict(x)
        return self._center + self._scale * mean, self._scale * np.sqrt(var)
