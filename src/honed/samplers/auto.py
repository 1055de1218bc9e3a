"""The AutoSampler: picks a model for each trial from the shape of the problem and the size of
the history, as a pure decision over (space, history).

All delegates read the same history, so a switch loses nothing: the model taking over is fitted
on every trial so far (CMA-ES's 30 trials become the first 30 points of the GP).

Rule table (first matching row wins; thresholds are the fields of :class:`Rules`)
-------------------------------------------------------------------------------------

=====================================================  ========  ==================================
Situation                                              Delegate  Why
=====================================================  ========  ==================================
several objectives                                     TPE       not measured against GP here
no shared parameters yet (define-by-run, trial 0)      TPE       its Sobol start; nothing to model
``gp_max_trials`` (200) complete trials or more        TPE       GP cost grows as n^2-n^3
define-by-run branches (params not in every trial)     TPE       GP would draw them at random
declared conditional (tree-shaped) space               GP        (B)
more than half the parameters categorical              TPE       not measured (no such problem)
``cmaes_min_dim`` (8)+ parameters and fewer than       CMA-ES    (A)
``cmaes_trials`` (30) complete trials
otherwise (flat, mostly numeric; after CMA-ES too)     GP        (A), (B)
=====================================================  ========  ==================================

Evidence (``honed bench``, 100 trials, ``benchmarks/auto_panel.py`` for the tables; mean
normalized regret over seeds, lower is better; the GP as of this commit)
-------------------------------------------------------------------------------------------------

(A) Which model, by dimension and budget. GP, TPE and CMA-ES alone on a 12-problem panel
(5 synthetic, 2 conditional, 5 scikit-learn; 4-5 seeds), regret at 25 / 50 / 100 trials:

* 2-6 parameters (branin, hartmann6, dt, svm, knn, sgd, linear): GP is best or tied from 25
  trials on (hartmann6 0.22 / 0.012 / 0.007 against TPE 0.33 / 0.086 / 0.054 and CMA-ES
  0.41 / 0.23 / 0.10); no problem where TPE or CMA-ES overtakes it by 100 trials.
* 8-20 parameters (levy-10, ackley-20, levy-mixed-8): CMA-ES leads early (levy-10 at 25:
  0.11 against GP 0.28; levy-mixed-8 0.08 against 0.25), GP catches up by 100 (ackley-20 0.60
  against CMA-ES 0.71). Starting with 30 CMA-ES trials and then GP beats both: levy-10
  0.003 (GP alone 0.077, CMA-ES 0.030), ackley-20 0.46 (0.60, 0.71), levy-mixed-8 0.005
  (GP 0.04); 50 CMA-ES trials were worse than 30 (levy-10 0.020, ackley-20 0.51).
  sklearn-mlp-iris (9 parameters, 5 seeds): 0.006 against GP alone 0.011 at 100 trials,
  though behind at 25 and 50 (0.094 vs 0.054, 0.040 vs 0.034).
* TPE was never the best of the three at 100 trials except on conditional-sklearn-breast
  and sklearn-linear-diabetes (regret differences of 0.03 and 0.001).

(B) Conditional spaces: GP over the flattened tree (inactive parameters coded) against TPE,
50 / 100 trials: conditional-synthetic 0.046 / 0.035 vs 0.074 / 0.073;
conditional-sklearn-breast 0.055 / 0.055 vs 0.028 / 0.028; mean 0.051 / 0.045 vs 0.051 /
0.051, and GP's mean rank is better. Hence GP, by a small margin.

Not measured here, so kept conservative: several objectives (TPE, which its engineer tuned
on the multi-objective suite), constrained problems (the rules ignore constraints; GP and TPE
both handle them), mostly categorical spaces (no benchmark problem; TPE's categorical model
is the better understood), and more than 200 trials (TPE for overhead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from honed.history import History
from honed.samplers.base import Sampler, joint_space
from honed.space import Choice, Distribution, Float, Int, ParamValue, SearchSpace
from honed.trial import FrozenTrial

__all__ = [
    "AutoSampler",
    "Decision",
    "Rules",
    "SpaceProfile",
    "decide",
    "profile",
    "stalled_for",
]


@dataclass(frozen=True)
class SpaceProfile:
    """What the rules read from a search space.

    Attributes:
        n_continuous: Floats without a step.
        n_discrete: Integers and stepped floats.
        n_categorical: Choices (branching ones included).
        conditional: Declared branches, or define-by-run parameters that some finished
            trials have and others lack.
        declared: Whether the space was declared (``study.ask(space)``), so a joint model
            sees every parameter, branches included; define-by-run parameters outside the
            shared space are not in the joint space.
    """

    n_continuous: int = 0
    n_discrete: int = 0
    n_categorical: int = 0
    conditional: bool = False
    declared: bool = True

    @property
    def dim(self) -> int:
        return self.n_continuous + self.n_discrete + self.n_categorical


@dataclass(frozen=True)
class Decision:
    """The delegate for one trial (``"gp"``, ``"tpe"`` or ``"cmaes"``) and the rule that chose
    it, as a short phrase (logged and tested)."""

    delegate: str
    rule: str


def profile(history: History, declared_space: Mapping[str, Distribution] | None) -> SpaceProfile:
    """The :class:`SpaceProfile` of the space a joint model would see for the next trial."""
    space = joint_space(history, declared_space)
    n_cont = n_disc = n_cat = 0
    conditional = False
    for d in space.values():
        if isinstance(d, Choice):
            n_cat += 1
            conditional = conditional or bool(d.branches)
        elif isinstance(d, Int) or (isinstance(d, Float) and d.step is not None):
            n_disc += 1
        else:
            n_cont += 1
    if not conditional and declared_space is None:
        # Define-by-run: parameters outside the shared space mean branches.
        names = set(space)
        conditional = any(
            any(k not in names and not d.is_single for k, d in t.distributions.items())
            for t in history.complete
        )
    return SpaceProfile(n_cont, n_disc, n_cat, conditional, declared_space is not None)


@dataclass(frozen=True)
class Rules:
    """Thresholds of the rule table (the defaults are the measured ones; see the module
    docstring). Exposed so that a benchmark can try others: ``honed:auto[cmaes_trials=30]``.

    Attributes:
        gp_max_trials: From this many complete trials on, TPE (GP's cost grows as n^2-n^3).
        cmaes_min_dim: Flat spaces with at least this many parameters (at most half of them
            categorical) start with CMA-ES; ``0`` turns the rule off.
        cmaes_trials: ...for this many complete trials, then GP.
        conditional: Delegate for conditional (tree-shaped) spaces: ``"gp"`` or ``"tpe"``.
        max_categorical_share: Spaces where choices are more than this share of the
            parameters go to TPE.
        stall_trials: In a conditional space, when the last this many complete trials
            brought no improvement, TPE proposes instead of GP (until one does); ``0``: off.
            (On flat spaces the same rule lost, see (C), so it applies to trees only.)
    """

    gp_max_trials: int = 200
    cmaes_min_dim: int = 8
    cmaes_trials: int = 30
    conditional: str = "gp"
    max_categorical_share: float = 0.5
    stall_trials: int = 12


def decide(
    space: SpaceProfile,
    n_complete: int,
    n_objectives: int = 1,
    rules: Rules | None = None,
    stalled_for: int = 0,
) -> Decision:
    """The rule table (see the module docstring), as a function of plain numbers."""
    r = rules or Rules()
    if n_objectives > 1:
        return Decision("tpe", "several objectives")
    if space.dim == 0:
        return Decision("tpe", "no shared space yet")
    if n_complete >= r.gp_max_trials:
        return Decision("tpe", f"{r.gp_max_trials}+ trials")
    if space.conditional and not space.declared:
        # GP models the shared parameters only and would draw the others at random; TPE
        # fits each branch on the trials that took it.
        return Decision("tpe", "define-by-run branches")
    stalled = bool(r.stall_trials) and stalled_for >= r.stall_trials
    if space.conditional:
        if stalled:
            return Decision("tpe", f"conditional space, no improvement in {r.stall_trials}")
        return Decision(r.conditional, "conditional space")
    if space.n_categorical > r.max_categorical_share * space.dim:
        return Decision("tpe", "mostly categorical")
    if r.cmaes_min_dim and space.dim >= r.cmaes_min_dim and n_complete < r.cmaes_trials:
        # (Choices under CMA-ES come from TPE; at most half the parameters are choices here.)
        return Decision("cmaes", f"{r.cmaes_min_dim}+ parameters, young study")
    return Decision("gp", "flat space")


def stalled_for(history: History) -> int:
    """Complete trials since the best value last improved (single objective; feasible
    trials only once there is one)."""
    complete = [t for t in history.complete if t.values is not None]
    if history.is_multi_objective or not complete:
        return 0
    feasible = [t.is_feasible for t in complete]
    losses = history.losses(complete)[:, 0]
    if any(feasible):
        losses = [v if ok else float("inf") for v, ok in zip(losses, feasible, strict=True)]
    best, since = float("inf"), 0
    for v in losses:
        if v < best:
            best, since = v, 0
        else:
            since += 1
    return since


class AutoSampler(Sampler):
    """honed's automatic sampler: GP-BO, TPE or CMA-ES for each trial, by the rules of
    :func:`decide` (see the module docstring for the table and the benchmark behind it).

    All delegates read the same history, so a switch (GP early, TPE later) loses nothing:
    the new model is fitted on every trial so far.

    Args:
        seed: Seed of every delegate.
        **rules: Other thresholds for the rule table (fields of :class:`Rules`).
    """

    def __init__(self, seed: int | None = None, **rules: Any) -> None:
        super().__init__(seed)
        from honed.samplers.cmaes import CmaEsSampler
        from honed.samplers.gp import GPSampler
        from honed.samplers.tpe import TPESampler

        known = {f.name for f in fields(Rules)}
        for k in rules:
            if k not in known:
                raise ValueError(
                    f"AutoSampler got an unknown rule {k!r}; the rules are {sorted(known)}."
                )
        if rules.get("conditional", "gp") not in ("gp", "tpe"):
            raise ValueError(
                f"AutoSampler conditional must be 'gp' or 'tpe', got {rules['conditional']!r}."
            )
        self.rules = Rules(**rules)
        tpe = TPESampler(seed=seed)
        self._delegates: dict[str, Sampler] = {
            "gp": GPSampler(seed=seed),
            "tpe": tpe,
            # Choices under CMA-ES come from TPE's one-dimensional model, not at random.
            "cmaes": CmaEsSampler(seed=seed, fallback=tpe),
        }
        # Which delegate each running trial was given, so its relative and independent
        # samples come from the same one.
        self._chosen: dict[int, Sampler] = {}

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        for s in self._delegates.values():
            s.reseed(seed)  # CMA-ES reseeds its fallback, TPE, again: same seed, no harm

    def decision(
        self, history: History, declared_space: Mapping[str, Distribution] | None = None
    ) -> Decision:
        """Which delegate the next trial gets, and why."""
        return decide(
            profile(history, declared_space),
            len(history.complete),
            history.n_objectives,
            self.rules,
            stalled_for(history),
        )

    def choose(
        self, history: History, declared_space: Mapping[str, Distribution] | None = None
    ) -> Sampler:
        """The delegate for the next trial."""
        return self._delegates[self.decision(history, declared_space).delegate]

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
        chosen = self._chosen.get(trial.number, self._delegates["tpe"])
        return chosen.sample_relative(history, trial, space)

    def sample_independent(
        self, history: History, trial: FrozenTrial, name: str, distribution: Distribution
    ) -> ParamValue:
        chosen = self._chosen.get(trial.number, self._delegates["tpe"])
        return chosen.sample_independent(history, trial, name, distribution)
