"""The sampler interface: a pure decision over (search space, read-only history).

A sampler is asked at two moments of a trial's life:

1. When the trial starts, :meth:`Sampler.infer_relative_space` names the parameters it wants to
   sample *jointly* (a model over several dimensions, as in GP-BO, CMA-ES or multivariate TPE),
   and :meth:`Sampler.sample_relative` proposes values for all of them at once.
2. When the objective asks for a parameter that was not sampled jointly (define-by-run, a new
   branch of a conditional space, or a sampler with no joint model),
   :meth:`Sampler.sample_independent` proposes a value for that parameter alone, and
   :meth:`Sampler.sample_simplex` the weights of a simplex (its components are one point).

Samplers never open storage, sleep or start work: they get a :class:`~honed.history.History`
(trials ordered by number, including running ones, which parallel-aware samplers treat as
pending) and the running trial's :class:`~honed.trial.FrozenTrial` (the parameters it already
has). That makes them testable on a plain list of trials.

When declarative space is given to ``study.ask(space)``, it reaches the sampler through the
``declared_space`` argument of :meth:`infer_relative_space`, so a sampler can model the whole
space from the first trial instead of inferring it from history.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from honed.history import History
from honed.space import Distribution, ParamValue, SearchSpace
from honed.trial import FrozenTrial, TrialState

__all__ = ["Sampler", "intersection_space", "joint_space"]


class Sampler(ABC):
    """Base class of all samplers. Subclasses implement at least :meth:`sample_independent`.

    ``seed`` seeds the sampler's random generator: the same seed and history give the same
    decisions (``None`` draws a fresh seed)."""

    #: Whether decisions read finished trials. A sampler that sets this to False is given only
    #: the running and waiting trials, so a long study costs its workers no memory.
    needs_history: bool = True

    #: Whether the sampler itself never proposes a configuration the study already has (a
    #: grid walks its free points and repeats one only once every point is taken). The
    #: study's guard against repeats, which replaces a value that would repeat a trial's
    #: configuration by a nearby free one, leaves the proposals of such a sampler alone.
    guards_repeats: bool = False

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._rng = np.random.default_rng(seed)

    @property
    def seed(self) -> int | None:
        return self._seed

    def reseed(self, seed: int | None) -> None:
        """Reset the random state. Called once in each worker process with a distinct seed
        derived from the study's seed, so parallel workers do not propose the same points."""
        self._seed = seed
        self._rng = np.random.default_rng(seed)

    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        """The parameters to sample jointly for ``trial``; empty by default."""
        return SearchSpace({})

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        """Joint proposal for the parameters of ``space``; may leave some out."""
        return {}

    @abstractmethod
    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        """A value for one parameter not covered by :meth:`sample_relative`."""

    def sample_simplex(
        self, history: History, trial: FrozenTrial, group: SearchSpace
    ) -> dict[str, ParamValue]:
        """Weights for one simplex not covered by :meth:`sample_relative`: ``group`` holds
        its component parameters (:class:`~honed.space.SimplexWeight`), in order. By default
        a uniform point of the simplex (Dirichlet(1)); a sampler with a model of the group
        (TPE) overrides it. The trial fixes the sum to exactly 1."""
        return group.decode(self._rng.random((1, len(group))))[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self._seed})"


def intersection_space(history: History, include_pruned: bool = False) -> SearchSpace:
    """Parameters that every complete trial has, with the same distribution, in the order of
    the latest trial: the part of a define-by-run space a joint model can use."""
    states = (TrialState.COMPLETE, TrialState.PRUNED) if include_pruned else (TrialState.COMPLETE,)
    space: dict[str, Distribution] | None = None
    for t in history:
        if t.state not in states:
            continue
        if space is None:
            space = dict(t.distributions)
        else:
            space = {k: d for k, d in space.items() if t.distributions.get(k) == d}
    if not space:
        return SearchSpace({})
    last = next(t for t in reversed(history._trials) if t.state in states)
    return SearchSpace({k: space[k] for k in last.distributions if k in space})


def joint_space(
    history: History, declared_space: Mapping[str, Distribution] | None = None
) -> SearchSpace:
    """The parameters a joint model samples: the declared space, or else the parameters all
    complete trials share (:func:`intersection_space`); single-valued ones left out."""
    space = declared_space if declared_space is not None else intersection_space(history)
    return SearchSpace({k: d for k, d in space.items() if not d.is_single})
