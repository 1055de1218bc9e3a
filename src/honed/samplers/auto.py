"""The AutoSampler: picks a model for each trial from the shape of the problem and the size of
the history, as a pure decision over (space, history).

All delegates read the same history, so a switch loses nothing: the model taking over is fitted
on every trial so far (CMA-ES's 30 trials become the first 30 points of the GP).
The default ``honed.create_study()`` sampler.

Rule table (first matching row wins; thresholds are the fields of :class:`AutoRules`)
-----------------------------------------------------------------------------------------

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
more than ``max_categorical_share`` of the             TPE       (E): off (1.0) by default: GP
parameters categorical                                           won held out
``cmaes_min_dim`` (8)+ parameters and fewer than       CMA-ES    (A)
``cmaes_trials`` (30) complete trials
otherwise (flat; after CMA-ES too)                     GP        (A), (B)
=====================================================  ========  ==================================

A warm-started study (``create_study(warm_start=...)``) skips the CMA-ES row: GP and TPE read
the sources (``docs/warm-start.md``), CMA-ES does not.

The measurements behind each row (letters in the "Why" column) are in
``bench/results/auto-sampler-rules.md``, with the commands that regenerate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from honed.history import History
from honed.samplers.base import Sampler, joint_space
from honed.space import Choice, Distribution, Float, Int, ParamValue, SearchSpace
from honed.trial import FrozenTrial

if TYPE_CHECKING:
    from honed.samplers.gp import GPSampler

__all__ = [
    "AutoSampler",
    "AutoRules",
    "Delegation",
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
class AutoRules:
    """Thresholds of the AutoSampler's rule table (the defaults are the measured ones; see the
    module docstring): ``AutoSampler(rules=AutoRules(cmaes_trials=50))``.

    Attributes:
        gp_max_trials: From this many complete trials on, TPE (GP's cost grows as n^2-n^3).
        cmaes_min_dim: Flat spaces with at least this many parameters start with CMA-ES
            (its choices come from TPE's one-dimensional model); ``0`` turns the rule off.
        cmaes_trials: ...for this many complete trials, then GP.
        conditional: Delegate for conditional (tree-shaped) spaces: ``"gp"`` or ``"tpe"``.
        max_categorical_share: Spaces where choices are more than this share of the
            parameters go to TPE; the default, ``1.0``, never fires: on mostly categorical
            spaces GP (a Hamming kernel per choice) beat TPE held out, (E).
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
    conditional: Literal["gp", "tpe"] = "gp"
    max_categorical_share: float = 1.0
    stall_trials: int = 12
    mo_gp_max_trials: int = 100
    conditional_tpe_every: int = 3

    def __post_init__(self) -> None:
        for name in (
            "gp_max_trials",
            "cmaes_min_dim",
            "cmaes_trials",
            "stall_trials",
            "mo_gp_max_trials",
            "conditional_tpe_every",
        ):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"AutoRules {name} must be an integer >= 0, got {v!r}.")
        if self.conditional not in ("gp", "tpe"):
            raise ValueError(
                f"AutoRules conditional must be 'gp' or 'tpe', got {self.conditional!r}."
            )
        share = self.max_categorical_share
        if not (isinstance(share, int | float) and not isinstance(share, bool) and share >= 0):
            raise ValueError(
                f"AutoRules max_categorical_share must be a number >= 0, got {share!r}."
            )


def decide(
    space: SpaceProfile,
    n_complete: int,
    n_objectives: int = 1,
    rules: AutoRules | None = None,
    stalled_for: int = 0,
) -> Delegation:
    """The rule table (see the module docstring), as a function of plain numbers."""
    r = rules or AutoRules()
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
        # (Choices under CMA-ES come from TPE's one-dimensional model.)
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
        rules: Thresholds of the rule table (:class:`AutoRules`); ``None``: the defaults.
        gp: The GP delegate, for GP settings other than the defaults, e.g.
            ``GPSampler(trust_region_min_dim=8, tuning=GPTuning(plateau_tie_steps=3))``. It
            is used as given (not copied) and seeded afresh with ``seed``, quasi-random
            start included, like the other delegates.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        rules: AutoRules | None = None,
        gp: GPSampler | None = None,
    ) -> None:
        super().__init__(seed)
        from honed.samplers.cmaes import CmaEsSampler
        from honed.samplers.gp import GPSampler
        from honed.samplers.tpe import TPESampler

        if rules is None:
            rules = AutoRules()
        elif not isinstance(rules, AutoRules):
            raise TypeError(
                f"AutoSampler rules must be an AutoRules or None, got {type(rules).__name__}."
            )
        if gp is None:
            gp = GPSampler(seed=seed)
        elif not isinstance(gp, GPSampler):
            raise TypeError(
                f"AutoSampler gp must be a GPSampler or None, got {type(gp).__name__}; "
                "configure the GP delegate as GPSampler(...)."
            )
        else:
            gp._restart(seed)
        self.rules = rules
        tpe = TPESampler(seed=seed)
        self._delegates: dict[str, Sampler] = {
            "gp": gp,
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
        rules = self.rules
        if history.sources and rules.cmaes_min_dim:
            # Warm-started: GP and TPE learn from the sources (initial design included);
            # CMA-ES would ignore them, so its young-study rule is off.
            rules = replace(rules, cmaes_min_dim=0)
        return decide(
            space,
            len(history.complete),
            history.n_objectives,
            rules,
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

    def sample_simplex(
        self, history: History, trial: FrozenTrial, group: SearchSpace
    ) -> dict[str, ParamValue]:
        chosen = self._chosen.get(trial.number, self._delegates["tpe"])
        return chosen.sample_simplex(history, trial, group)
