"""What a benchmark problem is: a declarative space, an evaluation, and what is known of its
optimum (for normalized regret) or, for multi-objective problems, a hypervolume reference."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem"]


@dataclass(frozen=True)
class Problem:
    """A black-box problem every optimizer sees the same way.

    Attributes:
        name: Unique, e.g. ``"branin"`` or ``"sklearn-svm-digits"``.
        suite: ``"synthetic"``, ``"sklearn"``, ``"conditional"``, ``"multiobjective"`` or
            ``"multifidelity"``.
        space: Declarative honed space (``honed.Float/Int/Choice``; ``Choice`` branches for
            conditional problems). Peers get the same space translated by their adapter.
        evaluate: ``params -> value`` (a tuple of values for multi-objective problems). Must be
            deterministic given params, picklable (a module-level function or functools.partial),
            and cheap enough to run thousands of times.
        directions: One ``"minimize"``/``"maximize"`` per objective.
        optimum: Best attainable value when known (synthetic functions), or a best-known
            estimate; used for normalized regret.
        reference_point: For multi-objective problems, the hypervolume reference point in the
            problem's own directions.
        tags: Free-form labels (dimension, data set, ...).
        noiseless: For noisy problems (repeated evaluations of one configuration disagree),
            the expected value ``params -> value``. The runner records it for every trial and
            scores a run by the noiseless value of the configuration it observed as best, so
            a lucky draw is not counted as progress.
        curve: For pruning problems (single objective, minimized), the learning curve
            ``params -> losses``, one per step; ``evaluate`` is its last value. The runner
            stops a trial whose best value so far is worse than the median of earlier trials
            at the same step (Optuna's and honed's median rule: 5 trials at a step before it
            acts), tells the optimizer the trial was pruned with its curve so far, and scores
            completed trials only.
    """

    name: str
    suite: str
    space: Mapping[str, Any]
    evaluate: Callable[[dict[str, Any]], float | Sequence[float]]
    directions: tuple[str, ...] = ("minimize",)
    optimum: float | None = None
    reference_point: tuple[float, ...] | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
    noiseless: Callable[[dict[str, Any]], float] | None = None
    curve: Callable[[dict[str, Any]], Sequence[float]] | None = None

    @property
    def n_objectives(self) -> int:
        return len(self.directions)
