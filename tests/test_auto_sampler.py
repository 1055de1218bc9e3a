"""AutoSampler: the profile it reads from a space, the rule table, switching mid-study, and the
sampler conformance suite."""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping

import pytest

import honed
from honed.history import History
from honed.samplers import get_sampler
from honed.samplers.auto import (
    AutoRules,
    AutoSampler,
    Delegation,
    SpaceProfile,
    decide,
    profile,
)
from honed.samplers.gp import GPSampler, GPTuning
from honed.samplers.tpe import TPESampler
from honed.space import Choice, Distribution, Float, Int
from honed.testing.samplers import SamplerTests
from honed.trial import Direction, FrozenTrial, TrialState

SMALL = {"x": Float(-5.0, 10.0), "y": Float(0.0, 15.0), "n": Int(1, 5), "c": Choice(["a", "b"])}
ONE = [Direction.MINIMIZE]


def _history(
    space: Mapping[str, Distribution],
    n: int,
    directions: list[Direction] | None = None,
    drop: str | None = None,
) -> History:
    """``n`` complete trials on ``space`` (every other one without parameter ``drop``)."""
    directions = directions or ONE
    trials = []
    for i in range(n):
        dists = {k: d for k, d in space.items() if not (drop == k and i % 2)}
        params = {k: d.from_unit((i * 0.37 + 0.1) % 1.0) for k, d in dists.items()}
        trials.append(
            FrozenTrial(
                number=i,
                state=TrialState.COMPLETE,
                params=params,
                distributions=dists,
                values=tuple(float(i % 7) for _ in directions),
                trial_id=i,
            )
        )
    return History(trials, directions)


# ---- the profile -----------------------------------------------------------------------------


def test_profile_counts_kinds_of_a_declared_space() -> None:
    space = {
        "a": Float(0.0, 1.0),
        "b": Float(1e-5, 1.0, log=True),
        "s": Float(0.0, 1.0, step=0.1),
        "i": Int(1, 9),
        "c": Choice(["x", "y", "z"]),
        "fixed": Float(2.0, 2.0),  # single-valued: nothing to tune
    }
    p = profile(History([], ONE), space)
    assert p == SpaceProfile(n_continuous=2, n_discrete=2, n_categorical=1, conditional=False)
    assert p.dim == 5


def test_profile_sees_declared_branches() -> None:
    tree = honed.space.flatten_space(
        honed.space.normalize_space({"m": Choice({"a": {"u": Float(0.0, 1.0)}, "b": {}})})
    )
    p = profile(History([], ONE), dict(tree))
    assert p.conditional and p.n_categorical == 1 and p.n_continuous == 1


def test_profile_of_define_by_run_histories() -> None:
    flat = _history(SMALL, 6)
    assert profile(flat, None) == SpaceProfile(2, 1, 1, False, declared=False)
    # "y" missing from every other trial: outside the shared space, so the space branches.
    branching = _history(SMALL, 6, drop="y")
    p = profile(branching, None)
    assert p.conditional and not p.declared and p.n_continuous == 1
    assert AutoSampler(seed=0).decision(branching, None) == Delegation(
        "tpe", "define-by-run branches"
    )
    assert AutoSampler(seed=0).decision(flat, None).delegate == "gp"
    assert profile(History([], ONE), None).dim == 0


# ---- conformance -----------------------------------------------------------------------------


class TestAutoConformance(SamplerTests):
    n_trials = 14

    def make_sampler(self, seed: int | None, space: Mapping[str, Distribution]) -> AutoSampler:
        return AutoSampler(seed=seed)


def test_by_name_default_and_pickles() -> None:
    default = get_sampler(None, seed=3)
    assert isinstance(default, AutoSampler) and default.seed == 3
    assert isinstance(honed.create_study().sampler, AutoSampler)
    s = get_sampler("auto", seed=3)
    assert isinstance(s, AutoSampler)
    clone = pickle.loads(pickle.dumps(s))
    assert isinstance(clone.choose(History([], ONE), SMALL), GPSampler)


def test_study_flat_and_define_by_run() -> None:
    study = honed.create_study(sampler=AutoSampler(seed=1))
    for _ in range(12):
        t = study.ask(SMALL)
        p = t.params
        study.tell(t, (p["x"] - 1) ** 2 + (p["y"] - 2) ** 2 + p["n"] + (p["c"] == "a"))
    assert all(set(t.params) == set(SMALL) for t in study.trials)

    def objective(trial: honed.Trial) -> float:
        x = trial.float("x", -3.0, 3.0)
        if trial.choice("kind", ["sin", "sq"]) == "sin":
            return math.sin(x) + trial.float("amp", 0.0, 1.0)
        return x * x

    study = honed.create_study(sampler=AutoSampler(seed=2))
    study.optimize(objective, n_trials=12, show_progress=False)
    assert study.best_value < 0.5


def test_decision_is_a_pure_function_of_the_history() -> None:
    h = _history(SMALL, 9)
    a, b = AutoSampler(seed=0), AutoSampler(seed=123)
    assert a.decision(h, SMALL) == b.decision(h, SMALL) == a.decision(h, SMALL)
    assert isinstance(a.decision(h, SMALL), Delegation)


def test_multi_objective_rules() -> None:
    mo = [Direction.MINIMIZE, Direction.MAXIMIZE]
    two = _history(SMALL, 12, mo)
    assert AutoSampler(seed=0).decision(two, SMALL) == Delegation("gp", "2 objectives, young study")
    assert isinstance(AutoSampler(seed=0).choose(two, SMALL), GPSampler)
    late = AutoSampler(seed=0, rules=AutoRules(mo_gp_max_trials=10)).decision(two, SMALL)
    assert late == Delegation("tpe", "several objectives")
    four = _history(SMALL, 12, [*mo, *mo])
    assert AutoSampler(seed=0).decision(four, SMALL).delegate == "tpe"
    # Define-by-run or tree-shaped: TPE.
    assert AutoSampler(seed=0).decision(two, None).delegate == "tpe"
    tree = SpaceProfile(2, 0, 1, conditional=True)
    assert decide(tree, 5, n_objectives=2).delegate == "tpe"
    assert isinstance(AutoSampler(seed=0).choose(four, SMALL), TPESampler)


@pytest.mark.parametrize("n", [0, 1])
def test_empty_space_does_not_crash(n: int) -> None:
    d = decide(SpaceProfile(), n)
    assert d.delegate in ("gp", "tpe", "cmaes")


# ---- the rule table --------------------------------------------------------------------------


def test_rule_table() -> None:
    flat = SpaceProfile(n_continuous=3, n_discrete=1, n_categorical=1)
    assert decide(flat, 0).delegate == "gp"
    assert decide(flat, AutoRules().gp_max_trials - 1).delegate == "gp"
    late = decide(flat, AutoRules().gp_max_trials)
    assert late.delegate == "tpe" and "trials" in late.rule
    assert decide(flat, 5, n_objectives=2).delegate == "gp"  # log EHVI, young study
    assert decide(flat, 5, n_objectives=4).delegate == "tpe"
    assert decide(SpaceProfile(), 5).delegate == "tpe"
    # Mostly categorical: GP by default (E); TPE past the share when one is set.
    assert decide(SpaceProfile(1, 0, 3), 20).delegate == "gp"
    assert decide(SpaceProfile(0, 0, 12), 20).delegate == "cmaes"  # choices from TPE
    share = AutoRules(max_categorical_share=0.5)
    assert decide(SpaceProfile(1, 0, 3), 20, rules=share) == Delegation("tpe", "mostly categorical")
    assert decide(SpaceProfile(2, 0, 2), 20, rules=share).delegate == "gp"
    cond = SpaceProfile(2, 1, 1, conditional=True)
    assert decide(cond, 21).delegate == AutoRules().conditional  # 20 would be TPE's turn (1 in 3)
    assert decide(cond, 20, rules=AutoRules(conditional="tpe")).delegate == "tpe"


def test_rules_are_checked() -> None:
    with pytest.raises(TypeError, match="gp_max_trial"):
        AutoRules(gp_max_trial=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="conditional must be 'gp' or 'tpe'"):
        AutoRules(conditional="cmaes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="conditional_tpe_every must be an integer >= 0"):
        AutoRules(conditional_tpe_every=-1)
    with pytest.raises(TypeError, match="rules must be an AutoRules"):
        AutoSampler(rules={"stall_trials": 5})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="gp must be a GPSampler"):
        AutoSampler(gp=TPESampler())  # type: ignore[arg-type]


def test_gp_settings_reach_the_gp_delegate() -> None:
    gp = GPSampler(
        trust_region_min_dim=8, output_warping="copula", tuning=GPTuning(plateau_tie_steps=3.0)
    )
    auto = AutoSampler(seed=0, rules=AutoRules(stall_trials=5), gp=gp)
    assert auto.rules.stall_trials == 5
    assert auto._delegates["gp"] is gp
    assert gp.tuning.plateau_tie_steps == 3.0
    assert gp._tr_min_dim == 8
    assert gp._warping == "copula"


def test_a_given_gp_is_seeded_by_the_auto_sampler() -> None:
    """The GP delegate proposes exactly what the default one does with the same settings,
    whatever seed it was built with: the AutoSampler seeds it, quasi-random start included."""
    space = {"x": Float(-5.0, 5.0), "y": Float(-5.0, 5.0)}

    def run(sampler: AutoSampler) -> list[dict]:
        study = honed.create_study(sampler=sampler)
        for _ in range(8):
            t = study.ask(space)
            study.tell(t, (t.params["x"] - 1) ** 2 + t.params["y"] ** 2)
        return [t.params for t in study.trials]

    default = run(AutoSampler(seed=3))
    assert run(AutoSampler(seed=3, gp=GPSampler(seed=99))) == default
    assert run(AutoSampler(seed=3, gp=GPSampler())) == default
    assert run(AutoSampler(seed=4, gp=GPSampler(seed=3))) != default


def test_switches_to_tpe_mid_study_and_tpe_sees_every_trial() -> None:
    """After the switch, each proposal is exactly what a TPE sampler makes of the whole
    history, GP's trials included."""
    switch = 11  # past TPE's 10 startup trials, so its model is on
    study = honed.create_study(sampler=AutoSampler(seed=4, rules=AutoRules(gp_max_trials=switch)))
    for _ in range(15):
        t = study.ask(SMALL)
        p = t.params
        study.tell(t, (p["x"] - 1) ** 2 + (p["y"] - 2) ** 2 + p["n"] + (p["c"] == "a"))
    trials = study.trials
    sampler = study.sampler
    assert isinstance(sampler, AutoSampler)
    assert sampler.decision(History(trials[: switch - 1], ONE), SMALL).delegate == "gp"
    assert sampler.decision(History(trials[:switch], ONE), SMALL).delegate == "tpe"
    tpe = TPESampler(seed=4)
    for k in range(switch, 15):
        history = History(trials[:k], ONE)
        current = FrozenTrial(number=k, state=TrialState.RUNNING, trial_id=k)
        space = tpe.infer_relative_space(history, current, SMALL)
        assert tpe.sample_relative(history, current, space) == trials[k].params


def test_cmaes_starts_many_dimensional_spaces() -> None:
    r = AutoRules()
    wide = SpaceProfile(n_continuous=r.cmaes_min_dim)
    assert decide(wide, 0).delegate == "cmaes"
    assert decide(wide, r.cmaes_trials - 1).delegate == "cmaes"
    assert decide(wide, r.cmaes_trials) == Delegation("gp", "flat space")
    narrow = SpaceProfile(n_continuous=r.cmaes_min_dim - 1)
    assert decide(narrow, 0).delegate == "gp"
    # Mixed spaces count every parameter (CMA-ES leaves the choices to TPE).
    assert decide(SpaceProfile(4, 2, 2), 5).delegate == "cmaes"
    assert decide(wide, 5, rules=AutoRules(cmaes_min_dim=0)).delegate == "gp"


def test_cmaes_phase_then_gp_in_a_study() -> None:
    from honed.samplers.cmaes import CmaEsSampler

    space = {f"x{i}": Float(-2.0, 2.0) for i in range(8)}
    space["k"] = Int(0, 4)
    n_cma = 12
    sampler = AutoSampler(seed=5, rules=AutoRules(cmaes_trials=n_cma))
    study = honed.create_study(sampler=sampler)
    for _ in range(n_cma + 2):
        t = study.ask(space)
        study.tell(t, sum(v * v for v in t.params.values()))
    trials = study.trials
    assert all(space[k].contains(v) for t in trials for k, v in t.params.items())
    decisions = [sampler.decision(History(trials[:k], ONE), space).delegate for k in range(14)]
    assert decisions == ["cmaes"] * n_cma + ["gp"] * 2
    # The CMA-ES phase is CMA-ES itself: the same proposal from the same history.
    cma = CmaEsSampler(seed=5, fallback=TPESampler(seed=5))
    for k in (3, n_cma - 1):
        current = FrozenTrial(number=k, state=TrialState.RUNNING, trial_id=k)
        history = History([*trials[:k], current], ONE)
        rel = cma.infer_relative_space(history, current, space)
        assert cma.sample_relative(history, current, rel) == trials[k].params


def _valued(values: list[float], directions: list[Direction] | None = None) -> History:
    space = {"x": Float(0.0, 1.0)}
    trials = [
        FrozenTrial(
            number=i,
            state=TrialState.COMPLETE,
            params={"x": 0.5},
            distributions=space,
            values=(v,),
            trial_id=i,
        )
        for i, v in enumerate(values)
    ]
    return History(trials, directions or ONE)


def test_stalled_for_counts_trials_since_the_last_improvement() -> None:
    from honed.samplers.auto import stalled_for

    assert stalled_for(_valued([])) == 0
    assert stalled_for(_valued([3.0, 2.0, 2.0, 5.0])) == 2  # a tie is no improvement
    assert stalled_for(_valued([3.0, 2.0, 2.0, 1.0])) == 0
    assert stalled_for(_valued([1.0, 2.0, 3.0], [Direction.MAXIMIZE])) == 0
    assert stalled_for(_valued([3.0, 2.0, 1.0], [Direction.MAXIMIZE])) == 2


def test_stall_rule_hands_conditional_gp_trials_to_tpe() -> None:
    r = AutoRules(stall_trials=5)
    tree = SpaceProfile(2, 0, 1, conditional=True)
    assert decide(tree, 40, rules=r, stalled_for=4).delegate == "gp"
    assert decide(tree, 40, rules=r, stalled_for=5).delegate == "tpe"
    assert decide(tree, 40, rules=AutoRules(stall_trials=0), stalled_for=50).delegate == "gp"
    # Flat spaces keep GP (the rule lost there), and CMA-ES's phase is not interrupted.
    assert decide(SpaceProfile(n_continuous=3), 40, rules=r, stalled_for=9).delegate == "gp"
    assert decide(SpaceProfile(n_continuous=9), 10, rules=r, stalled_for=9).delegate == "cmaes"
    space = {"m": Choice({"a": {"x": Float(0.0, 1.0)}, "b": {}})}
    flat_tree = dict(honed.space.flatten_space(honed.space.normalize_space(space)))
    sampler = AutoSampler(seed=0, rules=AutoRules(stall_trials=3))
    assert sampler.decision(_valued([3.0, 2.0, 2.5, 2.1]), flat_tree).delegate == "gp"
    assert sampler.decision(_valued([3.0, 2.0, 2.5, 2.1, 2.2]), flat_tree).delegate == "tpe"


def test_conditional_spaces_give_every_third_gp_trial_to_tpe() -> None:
    tree = SpaceProfile(2, 0, 1, conditional=True)
    r = AutoRules()
    assert r.conditional_tpe_every == 3
    picks = [decide(tree, n, rules=r).delegate for n in range(21, 30)]
    assert picks == ["gp", "gp", "tpe"] * 3
    # off, and flat spaces never interleave
    assert {
        decide(tree, n, rules=AutoRules(conditional_tpe_every=0)).delegate for n in range(9)
    } == {"gp"}
    flat = SpaceProfile(n_continuous=3)
    assert {decide(flat, n, rules=r).delegate for n in range(20, 29)} == {"gp"}
    # when the user asked for TPE in conditional spaces, TPE throughout
    assert {decide(tree, n, rules=AutoRules(conditional="tpe")).delegate for n in range(9)} == {
        "tpe"
    }
    assert "one trial in 3" in decide(tree, 2, rules=r).rule
    with pytest.raises(ValueError, match="conditional_tpe_every must be an integer >= 0"):
        AutoRules(conditional_tpe_every=-1)
    off = AutoSampler(rules=AutoRules(conditional_tpe_every=0))
    assert off.rules.conditional_tpe_every == 0
