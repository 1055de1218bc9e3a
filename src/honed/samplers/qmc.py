"""Quasi-random search: a scrambled Sobol sequence indexed by trial number."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from honed.history import History
from honed.samplers.base import Sampler, joint_space
from honed.space import Distribution, ParamValue, SearchSpace
from honed.trial import FrozenTrial

__all__ = ["QMCSampler"]


def _sobol_module() -> Any:
    # scipy.stats takes a second to import, so `import honed` does not pay for it.
    from scipy.stats import qmc

    return qmc


class QMCSampler(Sampler):
    """Scrambled Sobol points, which cover the space more evenly than random points.

    Trial ``n`` takes point ``n`` of the sequence, so parallel workers never take the same point
    and a resumed study continues the sequence where it stopped. The dimensions are the
    declared space (``study.ask(space)``) or, for define-by-run objectives, the parameters that
    all finished trials share; parameters outside them are sampled at random.

    Args:
        seed: Seed of the scrambling; the same seed gives the same points.
    """

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        _sobol_module()  # import now: before optimize forks workers, not once in each
        self._scramble_seed = int(np.random.default_rng(seed).integers(2**31))

    def reseed(self, seed: int | None) -> None:
        # The scramble stays fixed so all workers walk one sequence; only the fallback changes.
        self._rng = np.random.default_rng(seed)

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
        engine = _sobol_module().Sobol(len(space), scramble=True, seed=self._scramble_seed)
        if trial.number:
            engine.fast_forward(trial.number)
        with warnings.catch_warnings():
            # Sobol balance warnings concern n not being a power of two; irrelevant one by one.
            warnings.simplefilter("ignore", UserWarning)
            point = engine.random(1)
        return space.decode(point)[0]

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        return distribution.from_unit(self._rng.random())
