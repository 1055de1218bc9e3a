"""Confirmation: re-run a study's best configurations on seeds tuning never used.

The best trial of a noisy sweep is biased upward: among many configurations, the one that
drew the luckiest noise tends to win (the winner's curse). :func:`confirm` re-runs the
``top_k`` best configurations on ``n_seeds`` fresh seeds each, the same seeds for every
configuration (so their differences are paired), and reports the mean, the standard deviation
and a 95% t-interval per configuration.

Where the runs live: in a study of their own, ``<name>:confirm``, on the same storage and
artifact store, linked both ways by system attrs. The tuning study is left as it was (its
``best_trial``, its sampler's history, its plots and importance), yet every run is a real
trial that any storage keeps, that ``n_jobs`` workers run, and that a resumed ``confirm``
finds: it re-runs only the (configuration, seed) pairs without a complete run. The runs study
carries the tuning study's user attributes, so an objective that reads them runs as in tuning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import honed
from honed.errors import HonedError
from honed.execution import Executor
from honed.history import History
from honed.recipes._common import (
    better,
    check_count,
    check_study,
    objective_index,
    params_key,
    top_trials,
)
from honed.samplers import Sampler
from honed.space import Distribution, ParamValue, SearchSpace
from honed.study import PART_OF_ATTR
from honed.trial import SEED_ATTR, Direction, FrozenTrial, TrialState, trial_seed

__all__ = ["Confirmation", "ConfirmedConfig", "confirm", "load_confirmation"]

LINK_ATTR = "confirmation"  # tuning study -> {"study", "objective", "trials", "seeds"}
# confirmation study -> the tuning study's name (deleting that study deletes this one too)
CONFIRMS_ATTR = PART_OF_ATTR
TAG_ATTR = "confirms_trial"  # confirmation trial -> the tuning trial it confirms
SEED_INDEX_ATTR = "seed_index"
SUFFIX = ":confirm"


@dataclass(frozen=True)
class ConfirmedConfig:
    """One configuration, re-run on the confirmation seeds.

    Attributes:
        trial: The tuning trial whose configuration this is.
        params: The configuration.
        tuning_value: What it scored in tuning.
        values: Its value on each confirmation seed that completed, in seed order.
        seeds: Those seeds.
        missing: Confirmation seeds it has no complete run on (failed, or not run yet).
        mean: Mean of ``values``.
        std: Their sample standard deviation (``nan`` with fewer than two).
        low, high: The 95% t-interval of the mean (``nan`` with fewer than two values).
    """

    trial: int
    params: dict[str, ParamValue]
    tuning_value: float
    values: tuple[float, ...]
    seeds: tuple[int, ...]
    missing: int
    mean: float
    std: float
    low: float
    high: float

    @property
    def n(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Confirmation:
    """What :func:`confirm` found.

    Attributes:
        study: The tuning study's name.
        confirm_study: The name of the study holding the confirmation runs.
        objective: The objective compared (0-based).
        direction: Its direction.
        seeds: The confirmation seeds, the same for every configuration.
        configs: The configurations, best in tuning first.
    """

    study: str
    confirm_study: str
    objective: int
    direction: Direction
    seeds: tuple[int, ...]
    configs: tuple[ConfirmedConfig, ...]

    @property
    def tuning_winner(self) -> ConfirmedConfig:
        """The configuration that won tuning (``study.best_trial``'s)."""
        return self.configs[0]

    @property
    def best(self) -> ConfirmedConfig:
        """The likely best: the configuration with the best mean on the confirmation seeds
        (the better tuning value on ties)."""
        scored = [c for c in self.configs if c.n]
        if not scored:
            raise HonedError(
                f"no confirmation run of study {self.study!r} completed; see the failed trials "
                f"of study {self.confirm_study!r}."
            )
        best = scored[0]
        for c in scored[1:]:
            if better(self.direction, c.mean, best.mean):
                best = c
        return best

    @property
    def agrees(self) -> bool:
        """Whether the tuning winner is the confirmed winner."""
        return self.best.trial == self.tuning_winner.trial

    @property
    def note(self) -> str | None:
        """Says so when the tuning winner is not the confirmed winner, with the paired
        difference of the two on the shared seeds; ``None`` when they agree."""
        if self.agrees:
            return None
        win, tuned = self.best, self.tuning_winner
        text = (
            f"The tuning winner (trial {tuned.trial}, {_g(tuned.tuning_value)} in tuning) is "
            f"not the confirmed winner: trial {win.trial} has the best mean over "
            f"{win.n} fresh seeds, {_g(win.mean)} {_interval(win)}, against "
            f"{_g(tuned.mean)} {_interval(tuned)}."
        )
        diff = _paired(win, tuned)
        if diff is not None:
            mean, low, high = diff
            verdict = (
                "significant at 95%"
                if low > 0 or high < 0
                else "not significant at 95%: more seeds may tell them apart"
            )
            text += (
                f" Paired difference on the shared seeds {mean:+.4g} [{low:+.4g}, {high:+.4g}] "
                f"({verdict})."
            )
        return text

    def __str__(self) -> str:
        lines = [
            f"confirmation of {self.study!r} on {len(self.seeds)} seeds "
            f"({self.direction.value}; runs in {self.confirm_study!r})",
            f"{'trial':>6} {'tuning':>10} {'mean':>10} {'std':>9} {'95% interval':>23} {'n':>3}",
        ]
        best = self.best.trial if any(c.n for c in self.configs) else None
        for c in self.configs:
            mark = " *" if c.trial == best else ""
            lines.append(
                f"{c.trial:>6} {_g(c.tuning_value):>10} {_g(c.mean):>10} {_g(c.std):>9} "
                f"{_interval(c):>23} {c.n:>3}{mark}"
            )
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def _g(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.4g}"


def _interval(c: ConfirmedConfig) -> str:
    if not math.isfinite(c.low):
        return "[n/a]"
    return f"[{c.low:.4g}, {c.high:.4g}]"


def _t_interval(values: Sequence[float]) -> tuple[float, float, float, float]:
    """Mean, sample standard deviation and the 95% t-interval of the mean."""
    from scipy.stats import t

    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(values, ddof=1))
    half = float(t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def _paired(a: ConfirmedConfig, b: ConfirmedConfig) -> tuple[float, float, float] | None:
    """Mean of ``a - b`` on the seeds both completed, with its 95% t-interval."""
    mine = dict(zip(a.seeds, a.values, strict=True))
    theirs = dict(zip(b.seeds, b.values, strict=True))
    diffs = [mine[s] - theirs[s] for s in mine if s in theirs]
    if len(diffs) < 2:
        return None
    mean, _, low, high = _t_interval(diffs)
    return mean, low, high


class _ConfiguredOnly(Sampler):
    """The confirmation study's sampler: a run re-runs a configuration and samples nothing,
    so a parameter the configuration lacks fails the run with the reason."""

    needs_history = False

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        tuned = trial.system_attrs.get(TAG_ATTR)
        raise HonedError(
            f"the objective asked for parameter {name!r}, which the configuration of tuning "
            f"trial {tuned} does not have; a confirmation run re-runs a configuration as it was "
            "tuned (same parameters, same ranges) and samples nothing new."
        )

    def sample_simplex(
        self, history: History, trial: FrozenTrial, group: SearchSpace
    ) -> dict[str, ParamValue]:
        return {n: self.sample_independent(history, trial, n, group[n]) for n in group}


def confirm(
    study: honed.Study,
    objective: Callable[[honed.Trial], Any],
    *,
    top_k: int = 5,
    n_seeds: int = 5,
    rank_by: int | None = None,
    n_jobs: int = 1,
    executor: str | Executor = "auto",
    catch: tuple[type[BaseException], ...] = (Exception,),
    show_progress: bool = True,
) -> Confirmation:
    """Re-run the ``top_k`` best configurations of ``study`` on ``n_seeds`` fresh seeds.

    The objective is the tuning objective: it reads each parameter as in tuning (the values
    come back fixed) and seeds its randomness from ``trial.seed``, which in a confirmation run
    is one of the confirmation seeds (never a tuning seed; see :func:`honed.trial.trial_seed`).
    Runs are trials of the study ``<name>:confirm``; calling ``confirm`` again (after a crash,
    or with more seeds or configurations) runs only the pairs that have no complete run yet.
    One ``confirm`` at a time per study: runs left RUNNING by an earlier call that stopped are
    failed and run again.

    Args:
        study: The tuning study (left unchanged but for a record of the confirmation).
        objective: The objective tuning ran.
        top_k: How many of the best distinct configurations to confirm.
        n_seeds: Fresh seeds per configuration (at least 2, for a standard deviation).
        rank_by: The objective that ranks trials, needed in a multi-objective study.
        n_jobs, executor, catch, show_progress: As in :meth:`honed.Study.optimize`.

    Returns:
        A :class:`Confirmation`: per configuration the mean, standard deviation and 95%
        interval, and the likely best with a note when it is not the tuning winner.
    """
    check_study(study, "confirm")
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}.")
    check_count("top_k", top_k)
    check_count("n_seeds", n_seeds, low=2)
    index = objective_index(study, rank_by)
    configs = _configurations(study, index, top_k)
    seeds = [trial_seed(study.name, j, confirmation=True) for j in range(n_seeds)]
    runs = _runs_study(study)
    _link(study, runs.name, index, configs, seeds)
    _plan(runs, configs, seeds)
    while True:
        waiting = runs.get_trials([TrialState.WAITING])
        if not waiting:
            break
        runs.optimize(
            objective,
            n_trials=len(waiting),
            n_jobs=n_jobs,
            executor=executor,
            catch=catch,
            show_progress=show_progress,
        )
        if len(runs.get_trials([TrialState.WAITING])) >= len(waiting):
            break  # nothing was claimed: leave the rest for the next call
    return _summarize(study, runs, index, configs, seeds)


def _configurations(study: honed.Study, index: int, top_k: int) -> list[FrozenTrial]:
    """The ``top_k`` best distinct configurations (the best trial of each)."""
    ranked = top_trials(study, index, None, "confirm")
    distinct: dict[str, FrozenTrial] = {}
    for t in ranked:
        distinct.setdefault(params_key(t.params), t)
    if top_k > len(distinct):
        raise ValueError(
            f"top_k={top_k} but study {study.name!r} has {len(distinct)} distinct "
            f"configuration(s) among its {len(ranked)} complete feasible trial(s); pass "
            f"top_k={len(distinct)} or less, or run more trials."
        )
    return list(distinct.values())[:top_k]


def _runs_study(study: honed.Study) -> honed.Study:
    name = study.name + SUFFIX
    runs = honed.create_study(
        name,
        storage=study.storage,
        directions=list(study.directions),
        sampler=_ConfiguredOnly(),
        load_if_exists=True,
        faults=study.faults,
        artifacts=study.artifact_store,
    )
    storage = study.storage
    storage.set_study_system_attr(storage.get_study_id(name), CONFIRMS_ATTR, study.name)
    # An objective that reads trial.study.user_attrs (a data path, say) runs as in tuning.
    mine = runs.user_attrs
    for key, value in study.user_attrs.items():
        if mine.get(key) != value:
            runs.set_user_attr(key, value)
    return runs


def _link(
    study: honed.Study, runs: str, index: int, configs: list[FrozenTrial], seeds: list[int]
) -> None:
    storage = study.storage
    storage.set_study_system_attr(
        storage.get_study_id(study.name),
        LINK_ATTR,
        {
            "study": runs,
            "objective": index,
            "trials": [t.number for t in configs],
            "seeds": seeds,
        },
    )


def _plan(runs: honed.Study, configs: list[FrozenTrial], seeds: list[int]) -> None:
    """Enqueue a run for every (configuration, seed) pair with no complete or waiting run;
    fail runs an earlier call left RUNNING when it stopped."""
    covered: set[tuple[str, int]] = set()
    for t in runs.trials:
        seed = t.system_attrs.get(SEED_ATTR)
        if seed is None:
            continue
        if t.state is TrialState.RUNNING:
            runs.tell(
                t.number,
                state=TrialState.FAILED,
                fail_reason="abandoned: the confirm call running it stopped; it runs again.",
            )
        elif t.state in (TrialState.COMPLETE, TrialState.WAITING):
            covered.add((params_key(t.params), int(seed)))
    storage = runs.storage
    study_id = storage.get_study_id(runs.name)
    for config in configs:
        key = params_key(config.params)
        for j, seed in enumerate(seeds):
            if (key, seed) in covered:
                continue
            storage.create_trial(
                study_id,
                state=TrialState.WAITING,
                params=dict(config.params),
                distributions=dict(config.distributions),
                system_attrs={SEED_ATTR: seed, SEED_INDEX_ATTR: j, TAG_ATTR: config.number},
            )


def _summarize(
    study: honed.Study,
    runs: honed.Study,
    index: int,
    configs: list[FrozenTrial],
    seeds: list[int],
) -> Confirmation:
    results: dict[tuple[str, int], float] = {}
    for t in runs.get_trials([TrialState.COMPLETE]):  # by number: a pair's first run counts
        seed = t.system_attrs.get(SEED_ATTR)
        if seed is not None and t.values is not None:
            results.setdefault((params_key(t.params), int(seed)), t.values[index])
    out = []
    for config in configs:
        key = params_key(config.params)
        done = [(s, results[(key, s)]) for s in seeds if (key, s) in results]
        values = [v for _, v in done]
        mean, std, low, high = _t_interval(values)
        out.append(
            ConfirmedConfig(
                trial=config.number,
                params=dict(config.params),
                tuning_value=float(config.values[index]),  # type: ignore[index]
                values=tuple(values),
                seeds=tuple(s for s, _ in done),
                missing=len(seeds) - len(values),
                mean=mean,
                std=std,
                low=low,
                high=high,
            )
        )
    return Confirmation(
        study=study.name,
        confirm_study=runs.name,
        objective=index,
        direction=study.directions[index],
        seeds=tuple(seeds),
        configs=tuple(out),
    )


def load_confirmation(study: honed.Study) -> Confirmation | None:
    """The latest :func:`confirm` of ``study``, read back from storage (``None`` if it was
    never confirmed). Runs still missing show as configurations with fewer values."""
    check_study(study, "load_confirmation")
    storage = study.storage
    link = storage.get_study_system_attrs(storage.get_study_id(study.name)).get(LINK_ATTR)
    if not link:
        return None
    runs = honed.load_study(link["study"], storage=storage, artifacts=study.artifact_store)
    by_number = {t.number: t for t in study.trials}
    configs = [by_number[n] for n in link["trials"] if n in by_number]
    return _summarize(study, runs, int(link["objective"]), configs, list(link["seeds"]))
