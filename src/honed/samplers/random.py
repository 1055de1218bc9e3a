"""Uniform random search over the unit encodings."""

from __future__ import annotations

from honed.history import History
from honed.samplers.base import Sampler
from honed.space import Distribution, ParamValue
from honed.trial import FrozenTrial

__all__ = ["RandomSampler"]


class RandomSampler(Sampler):
    """Samples every parameter independently and uniformly in its encoding (so log-scaled
    parameters are log-uniform, and each integer or option is equally likely).

    Args:
        seed: Seed of the random generator; the same seed gives the same sequence.
    """

    needs_history = False  # each draw ignores the past

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        return distribution.from_unit(self._rng.random())
