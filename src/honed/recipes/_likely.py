"""The likely best trial of a noisy study, from a model instead of re-runs.

A trial's value is its configuration's true value plus noise, and the best value of many is
the one with the luckiest noise as often as the best configuration. A Gaussian process fitted
to all trials with a noise term (:class:`honed.samplers.GPPosterior`) pools neighbouring
trials: its posterior mean at a configuration estimates the value without the noise, so the
trial with the best posterior mean is the one most likely to be best.

When to trust it: the noise is roughly the same everywhere, the objective is smooth in its
parameters (the GP's assumption), and there are several trials near the winners, not one
isolated lucky point. It costs no new run. When the estimated noise (``noise_sd``) is small
against the gaps between the best values, it agrees with ``study.best_trial``; when it is
large, re-running the leaders with :func:`honed.recipes.confirm` settles what the model can
only estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import honed
from honed.recipes._common import check_count, check_study, objective_index, ranked_trials
from honed.trial import Direction, FrozenTrial

__all__ = ["LikelyBest", "likely_best"]


@dataclass(frozen=True)
class LikelyBest:
    """The trial with the best noise-free estimate, and how it compares with the best value.

    Attributes:
        trial: The likely best trial: the best posterior mean among the complete trials.
        mean: Its posterior mean (the estimated value without noise).
        sd: The posterior standard deviation there.
        tuning_winner: ``study.best_trial`` (by the chosen objective).
        winner_mean: The tuning winner's posterior mean.
        winner_sd: Its posterior standard deviation.
        noise_sd: The estimated standard deviation of the noise.
        objective: The objective estimated (0-based).
        direction: Its direction.
        ranking: ``(trial number, value, posterior mean, posterior sd)`` of the complete
            trials, best posterior mean first.
    """

    trial: FrozenTrial
    mean: float
    sd: float
    tuning_winner: FrozenTrial
    winner_mean: float
    winner_sd: float
    noise_sd: float
    objective: int
    direction: Direction
    ranking: tuple[tuple[int, float, float, float], ...]

    @property
    def agrees(self) -> bool:
        return self.trial.number == self.tuning_winner.number

    @property
    def note(self) -> str | None:
        """Says so when the likely best is not the tuning winner; ``None`` when they agree."""
        if self.agrees:
            return None
        value = self.tuning_winner.values[self.objective]  # type: ignore[index]
        return (
            f"The best value (trial {self.tuning_winner.number}, {value:.4g}) may be a lucky "
            f"draw: the model's noise-free estimate is best at trial {self.trial.number} "
            f"({self.mean:.4g} +- {self.sd:.2g}, against {self.winner_mean:.4g} +- "
            f"{self.winner_sd:.2g}; estimated noise sd {self.noise_sd:.2g}). Confirm with "
            "honed.recipes.confirm before relying on either."
        )


def likely_best(
    study: honed.Study, *, rank_by: int | None = None, seed: int | None = 0, min_trials: int = 5
) -> LikelyBest:
    """The complete trial with the best GP posterior mean: the configuration most likely to
    be best once the noise is averaged out (see the module's notes on when to trust it).

    Args:
        study: A study with at least ``min_trials`` complete feasible trials.
        rank_by: The objective to estimate, needed in a multi-objective study.
        seed: Seed of the model fit.
        min_trials: Fewer complete trials than this is refused: the model would say nothing.
    """
    check_study(study, "likely_best")
    check_count("min_trials", min_trials, low=2)
    index = objective_index(study, rank_by)
    ranked = ranked_trials(study, index)
    if len(ranked) < min_trials:
        raise ValueError(
            f"likely_best needs at least {min_trials} complete feasible trials to fit a model; "
            f"study {study.name!r} has {len(ranked)}."
        )
    from honed.samplers import GPPosterior  # scipy loads here, not at import

    posterior = GPPosterior(honed.History(ranked, study.directions), objective=index, seed=seed)
    mean, sd = posterior.predict([t.params for t in ranked])
    direction = study.directions[index]
    order = np.lexsort((np.arange(len(ranked)), direction.sign * mean))
    best, winner = int(order[0]), 0
    return LikelyBest(
        trial=ranked[best],
        mean=float(mean[best]),
        sd=float(sd[best]),
        tuning_winner=ranked[winner],
        winner_mean=float(mean[winner]),
        winner_sd=float(sd[winner]),
        noise_sd=posterior.noise_sd,
        objective=index,
        direction=direction,
        ranking=tuple(
            (
                ranked[i].number,
                float(ranked[i].values[index]),
                float(mean[i]),
                float(sd[i]),
            )
            for i in order
        ),
    )
