"""honed's default sampler: picks a model per trial from the shape of the problem."""

from __future__ import annotations

from collections.abc import Mapping

from honed.history import History
from honed.samplers.base import Sampler, intersection_space
from honed.samplers.gp import GPSampler
from honed.samplers.tpe import TPESampler
from honed.space import Choice, Distribution, ParamValue, SearchSpace
from honed.trial import FrozenTrial

__all__ = ["AutoSampler"]

# Measured with benchmarks/gp_bench.py (see the GP sampler's notes): the GP wins on small,
# flat, single-objective spaces at small budgets; TPE is the safer choice elsewhere.
_GP_MAX_DIM = 8
_GP_MAX_TRIALS = 200


class AutoSampler(Sampler):
    """Chooses, for each trial, between GP-BO and TPE.

    * GP-BO (:class:`~honed.samplers.gp.GPSampler`) for single-objective problems with at most
      8 parameters, no conditional branches and fewer than 200 finished trials: the regime
      where a GP finds good configurations in the fewest trials.
    * TPE (:class:`~honed.samplers.tpe.TPESampler`) otherwise: many dimensions, tree-shaped or
      define-by-run spaces, multiple objectives, or large budgets.

    Args:
        seed: Seed of both delegates.
    """

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self._gp = GPSampler(seed=seed)
        self._tpe = TPESampler(seed=seed)
        # Which delegate each running trial was given, so its relative and independent
        # samples come from the same one.
        self._chosen: dict[int, Sampler] = {}

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._gp.reseed(seed)
        self._tpe.reseed(seed)

    def choose(
        self, history: History, declared_space: Mapping[str, Distribution] | None
    ) -> Sampler:
        """The delegate for the next trial."""
        if history.is_multi_objective or len(history.complete) >= _GP_MAX_TRIALS:
            return self._tpe
        space = declared_space if declared_space is not None else intersection_space(history)
        dims = [d for d in space.values() if not d.is_single]
        if not dims or len(dims) > _GP_MAX_DIM:
            return self._tpe
        if any(isinstance(d, Choice) and d.branches for d in dims):
            return self._tpe
        if declared_space is None and any(set(t.params) != set(space) for t in history.complete):
            return self._tpe  # define-by-run with parameters outside the shared space
        return self._gp

    def infer_relative_space(
        self,
        history: History,
        trial: FrozenTrial,
        declared_space: Mapping[str, Distribution] | None = None,
    ) -> SearchSpace:
        chosen = self.choose(history, declared_space)
        if len(self._chosen) > 10_000:
            self._chosen.clear()
        self._chosen[trial.number] = chosen
        return chosen.infer_relative_space(history, trial, declared_space)

    def sample_relative(
        self, history: History, trial: FrozenTrial, space: SearchSpace
    ) -> dict[str, ParamValue]:
        return self._chosen.get(trial.number, self._tpe).sample_relative(history, trial, space)

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        chosen = self._chosen.get(trial.number, self._tpe)
        return chosen.sample_independent(history, trial, name, distribution)
