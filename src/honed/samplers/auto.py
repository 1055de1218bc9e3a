"""The AutoSampler: picks a model for each trial from the shape of the problem and the size of
the history, as a pure decision over (space, history).

All delegates read the same history, so a switch loses nothing: the model taking over is fitted
on every trial so far (CMA-ES's 30 trials become the first 30 points of the GP).
The default ``honed.create_study()`` sampler.

Rule table (first matching row wins; thresholds are the fields of :class:`Rules`)
-------------------------------------------------------------------------------------

=====================================================  ========  ==================================
Situation                                              Delegate  Why
=====================================================  ========  ==================================
2-3 objectives, fewer than ``mo_gp_max_trials`` (100)  GP        (D): log EHVI
complete trials, flat declared space
several objectives otherwise                           TPE       GP's EHVI is for 2-3; cost
no shared parameters yet (define-by-run, trial 0)      TPE       its Sobol start; nothing to model
``gp_max_trials`` (200) complete trials or more        TPE       GP cost grows as n^2-n^3
define-by-run branches (params not in every trial)     TPE       GP would draw them at random
declared tree-shaped space, 12 trials without          TPE       (C)
improvement
declared tree-shaped space, every third trial          TPE       (C2)
(``conditional_tpe_every``)
declared tree-shaped space otherwise                   GP        (B)
more than half the parameters categorical              TPE       not measured (no such problem)
``cmaes_min_dim`` (8)+ parameters and fewer than       CMA-ES    (A)
``cmaes_trials`` (30) complete trials
otherwise (flat, mostly numeric; after CMA-ES too)     GP        (A), (B)
=====================================================  ========  ==================================

Evidence (``honed bench``, 100 trials, tables by ``benchmarks/auto_panel.py``; mean normalized
regret over seeds, lower is better; panel: branin, hartmann6, levy-10, ackley-20, levy-mixed-8,
conditional-synthetic, conditional-sklearn-breast, sklearn-{dt-breast, svm-wine, knn-wine,
sgd-diabetes, linear-diabetes})
-------------------------------------------------------------------------------------------------

(A) Which model, by dimension and budget: GP, TPE and CMA-ES alone (4-5 seeds), regret at
25 / 50 / 100 trials.

* 2-6 parameters: GP is best or tied from 25 trials on (hartmann6 0.22 / 0.012 / 0.007
  against TPE 0.33 / 0.086 / 0.054 and CMA-ES 0.41 / 0.23 / 0.10); by 100 trials TPE or
  CMA-ES are ahead only by less than 0.001 (sklearn-linear-diabetes, sklearn-sgd-diabetes).
* 8-20 parameters: CMA-ES leads early (at 25 trials levy-10 0.11 against GP 0.28,
  levy-mixed-8 0.08 against 0.25), GP catches up by 100 (ackley-20 0.60 against 0.71).
  30 CMA-ES trials, then GP, beats both (10 seeds): levy-10 0.013 (GP alone 0.077, CMA-ES
  0.030), ackley-20 0.40 (0.60, 0.71), levy-mixed-8 0.011 (0.048, 0.055). 50 CMA-ES trials
  were worse than 30 (4 seeds: levy-10 0.020 vs 0.011, ackley-20 0.51 vs 0.44).
  sklearn-mlp-iris (9 parameters, 5 seeds): 0.006 against GP alone 0.011 at 100 trials,
  behind at 25 and 50 (0.094 vs 0.054, 0.040 vs 0.034).

(B) Conditional spaces: GP over the flattened tree (inactive parameters coded) against TPE at
50 / 100 trials: conditional-synthetic 0.046 / 0.035 vs 0.074 / 0.073, conditional-sklearn-breast
0.055 / 0.055 vs 0.028 / 0.028. GP finds the second-best accuracy level within ~15 trials and
stays there, while TPE keeps exploring and sometimes finds the best one.

(C) Hence the stall rule: in a conditional space, TPE proposes after 12 trials without
improvement (7 seeds): conditional regret 0.054 -> 0.041 at 50 trials, 0.044 -> 0.034 at 100.
The same rule on flat spaces lost (all-panel regret at 100 trials 0.067 -> 0.073; levy-10
0.010 -> 0.018, ackley-20 0.44 -> 0.52): there GP's slow improvements are worth waiting for.

(C2) And one conditional trial in three goes to TPE even while GP improves: GP refines the
branch it is in, TPE keeps weighing the others and the far corners of the good one. On the
whole conditional suite (conditional-synthetic, conditional-sklearn-{breast, digits}; seeds
0-29), regret at 50 / 100 trials: 0.060 / 0.046 without, 0.055 / 0.038 with it (Optuna TPE
0.063 / 0.045); one in two 0.057 / 0.041; the stall rule at 6 trials 0.059 / 0.041. On 10
fresh seeds (30-39): 0.045 / 0.032 without, 0.049 / 0.031 with (Optuna TPE 0.054 / 0.042),
so the gain is at 100 trials; the 50-trial one is within noise. Pooled, 40 seeds: 0.058 /
0.044 -> 0.056 / 0.039, mean rank 2.47 / 2.52 -> 2.35 / 2.18 among four (Optuna TPE 2.67 /
2.68). ``benchmarks/results/auto-conditional-40seeds.md``.

Result, against peers in the same folder (10 seeds; regret (mean rank) at 50 / 100 trials;
``benchmarks/results/auto-plateau.md``): synthetic 0.156 (1.24) / 0.093 (1.32), Optuna GP
0.217 (2.16) / 0.157 (1.94), TPE 0.275 (3.42) / 0.237 (3.44); conditional 0.043 (2.27) /
0.034 (2.25), Optuna TPE 0.058 (2.58) / 0.042 (2.50); scikit-learn 0.088 (2.49) / 0.069
(2.40), Optuna GP 0.113 (2.55) / 0.108 (2.83), TPE 0.131 (2.93) / 0.092 (2.79). The
scikit-learn suite was lost on rank (3.01 / 3.05) until the GP got its plateau rules and the
copula warping for capped losses (see :class:`~honed.samplers.gp.GPSampler`): the GP had sat
on one plateau value (sklearn-dt-breast) or one point's neighbourhood
(sklearn-linear-diabetes) for most of a run. Still behind by rank: sklearn-dt-breast (2.7 vs
Optuna GP 2.5 at 100 trials) and conditional-sklearn-breast (3.1 vs Optuna TPE 1.9); and on
six scikit-learn problems outside the panel, Optuna's GP leads at 50 trials (0.046 (3.21)
against 0.060 (3.32) with today's plateau step of 2, 0.054 with 3; sklearn-linear-breast the
largest gap; ``benchmarks/results/auto-plateau.md``).

Against HEBO and SMAC3 as well (10 seeds, the same 12 problems, every optimizer in one
folder; ``benchmarks/results/auto-vs-hebo-smac-panel.md``): best regret and best rank of all
peers on every suite at 50 and 100 trials; the closest cell is conditional at 50 trials
(regret 0.055 against Optuna TPE's 0.059).

Outside the panel, on all 32 classification problems of the scikit-learn suite (50 trials, 10
seeds; ``benchmarks/results/auto-sklearn-classification-32.md``) the default and Optuna's GP
are level: regret 0.061 against 0.059, mean rank 2.36 against 2.42 (TPE: honed 0.088,
Optuna 0.107); at 25 trials Optuna's GP leads (0.116 against 0.126), mostly on decision trees
and forests on digits.

(D) Two or three objectives (GP with exact log EHVI against TPE, 60 trials, 3 seeds only):
zdt6 0.013 vs 0.81, dtlz1 0.030 vs 0.050, zdt4 0.61 vs 0.50 (hypervolume regret); mean 0.22 vs
0.45. Past 100 trials, or with define-by-run or tree-shaped spaces, TPE (not measured).

Not measured here, so kept conservative: constrained problems (the rules ignore
constraints; GP and TPE both handle them), mostly categorical spaces (no benchmark problem;
TPE's categorical model is the better understood), and more than 200 trials (TPE for
overhead).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from honed.history import History
from honed.samplers.base import Sampler, joint_space
from honed.space import Choice, Distribution, Float, Int, ParamValue, SearchSpace
from honed.trial import FrozenTrial

__all__ = [
    "AutoSampler",
    "Delegation",
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
class Delegation:
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
        mo_gp_max_trials: With 2-3 objectives, GP (log EHVI) for fewer complete trials than
            this on flat declared spaces, TPE after.
        conditional_tpe_every: In a conditional space where GP proposes, every this many
            complete trials one proposal comes from TPE instead; ``0``: off.
    """

    gp_max_trials: int = 200
    cmaes_min_dim: int = 8
    cmaes_trials: int = 30
    conditional: str = "gp"
    max_categorical_share: float = 0.5
    stall_trials: int = 12
    mo_gp_max_trials: int = 100
    conditional_tpe_every: int = 3


def decide(
    space: SpaceProfile,
    n_complete: int,
    n_objectives: int = 1,
    rules: Rules | None = None,
    stalled_for: int = 0,
) -> Delegation:
    """The rule table (see the module docstring), as a function of plain numbers."""
    r = rules or Rules()
    if n_objectives > 1:
        if (
            n_objectives <= 3
            and n_complete < r.mo_gp_max_trials
            and space.dim
            and space.declared
            and not space.conditional
        ):
            return Delegation("gp", f"{n_objectives} objectives, young study")
        return Delegation("tpe", "several objectives")
    if space.dim == 0:
        return Delegation("tpe", "no shared space yet")
    if n_complete >= r.gp_max_trials:
        return Delegation("tpe", f"{r.gp_max_trials}+ trials")
    if space.conditional and not space.declared:
        # GP models the shared parameters only and would draw the others at random; TPE
        # fits each branch on the trials that took it.
        return Delegation("tpe", "define-by-run branches")
    stalled = bool(r.stall_trials) and stalled_for >= r.stall_trials
    if space.conditional:
        if stalled:
            return Delegation("tpe", f"conditional space, no improvement in {r.stall_trials}")
        every = r.conditional_tpe_every
        if r.conditional == "gp" and every and n_complete % every == every - 1:
            return Delegation("tpe", f"conditional space, one trial in {every}")
        return Delegation(r.conditional, "conditional space")
    if space.n_categorical > r.max_categorical_share * space.dim:
        return Delegation("tpe", "mostly categorical")
    if r.cmaes_min_dim and space.dim >= r.cmaes_min_dim and n_complete < r.cmaes_trials:
        # (Choices under CMA-ES come from TPE; at most half the parameters are choices here.)
        return Delegation("cmaes", f"{r.cmaes_min_dim}+ parameters, young study")
    return Delegation("gp", "flat space")


def stalled_for(history: History) -> int:
    """Complete trials since the best value last improved (single objective; feasible
    trials only once there is one)."""
    complete = [t for t in history.complete if t.values is not None]
    if history.is_multi_objective or not complete:
        return 0
    feasible = [t.is_feasible for t in complete]
    losses: list[float] = list(history.losses(complete)[:, 0])
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
        **rules: Other thresholds for the rule table (fields of :class:`Rules`). For
            benchmarks, ``gp_`` followed by one of :class:`~honed.samplers.gp.GPSampler`'s
            ablation knobs (which start with ``_``) passes it to the GP delegate:
            ``gp__tie_step=2`` sets ``_tie_step``; ``gp__trust_region_min_dim=8`` sets that
            argument of the GP. Not a stable API.
    """

    def __init__(self, seed: int | None = None, **rules: Any) -> None:
        super().__init__(seed)
        from honed.samplers.cmaes import CmaEsSampler
        from honed.samplers.gp import GPSampler
        from honed.samplers.tpe import TPESampler

        # gp__<name>: the GP's keyword argument <name> if it has one (read from its signature,
        # so the list cannot drift), else its ablation knob _<name>.
        gp_public = {
            p.name
            for p in inspect.signature(GPSampler).parameters.values()
            if p.kind is p.KEYWORD_ONLY
        }
        gp_dev = {
            (k[4:] if k[4:] in gp_public else k[3:]): v
            for k, v in rules.items()
            if k.startswith("gp__")
        }
        rules = {k: v for k, v in rules.items() if not k.startswith("gp__")}
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
        every = rules.get("conditional_tpe_every", 0)
        if not isinstance(every, int) or isinstance(every, bool) or every < 0:
            raise ValueError(
                f"AutoSampler conditional_tpe_every must be an integer >= 0 (0: off), got "
                f"{every!r}."
            )
        self.rules = Rules(**rules)
        tpe = TPESampler(seed=seed)
        self._delegates: dict[str, Sampler] = {
            "gp": GPSampler(seed=seed, **gp_dev),
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
    ) -> Delegation:
        """Which delegate the next trial gets, and why."""
        space = profile(history, declared_space)
        return decide(
            space,
            len(history.complete),
            history.n_objectives,
            self.rules,
            # Only the conditional-space rule reads it; a pass over every trial otherwise.
            stalled_for(history) if space.conditional else 0,
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
