"""Exact decisions of each scheduler on hand-built histories, and their study wiring."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

import honed
from honed.history import History
from honed.samplers import MultiFidelitySampler, RandomSampler
from honed.samplers.base import Sampler
from honed.samplers.multifidelity import rung_view
from honed.schedulers import (
    ASHA,
    Decision,
    DominatedStopping,
    Exploit,
    Hyperband,
    Judgement,
    LearningCurveStopping,
    MedianStopping,
    PercentileStopping,
    PopulationBasedTraining,
    SuccessiveHalving,
    decision_of,
    get_scheduler,
)
from honed.schedulers.curves import annealing_areas, fit_curve, predict_final
from honed.schedulers.multiobjective import domination_probability
from honed.space import Choice, Float, Int
from honed.trial import Direction, FrozenTrial, TrialState

MIN = (Direction.MINIMIZE,)
MAX = (Direction.MAXIMIZE,)
C, P, R = TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING


def ft(number, curve, state=C, params=None, dists=None, system_attrs=None, final=None):
    values = None
    if state is C:
        values = (final if final is not None else curve[max(curve)],) if curve else (final,)
    return FrozenTrial(
        number=number,
        state=state,
        params=params or {},
        distributions=dists or {},
        values=values,
        intermediate_values=dict(curve),
        system_attrs=system_attrs or {},
    )


def hist(trials, directions=MIN):
    return History(trials, directions)


# ---- median / percentile ------------------------------------------------------------------------
def _five_finished():
    # best-up-to-step-3 values: 1, 2, 3, 4, 5
    return [ft(i, {1: 10.0, 3: float(i + 1), 5: float(i + 1)}, C if i % 2 else P) for i in range(5)]


@pytest.mark.parametrize(("own", "expected"), [(3.5, Decision.STOP), (2.5, Decision.CONTINUE)])
def test_median_compares_best_so_far_with_median_at_the_step(own, expected):
    trial = ft(9, {1: 9.0, 3: own}, R)
    assert MedianStopping(min_trials=5).on_report(hist(_five_finished()), trial) is expected


def test_median_waits_for_warmup_and_min_trials():
    trial = ft(9, {1: 9.0, 3: 100.0}, R)
    assert MedianStopping(warmup_steps=4).on_report(hist(_five_finished()), trial) is (
        Decision.CONTINUE
    )
    assert MedianStopping(min_trials=6).on_report(hist(_five_finished()), trial) is (
        Decision.CONTINUE
    )
    # running trials do not count as evidence
    running = [ft(i, {3: 0.0}, R) for i in range(10, 20)]
    trial = ft(9, {3: 100.0}, R)
    assert MedianStopping(min_trials=1).on_report(hist(running), trial) is Decision.CONTINUE


def test_median_uses_own_best_value_so_far():
    # the latest value is bad but the best so far (1.0) beats the median (3)
    trial = ft(9, {1: 1.0, 3: 50.0}, R)
    assert MedianStopping().on_report(hist(_five_finished()), trial) is Decision.CONTINUE


def test_percentile_and_maximize():
    trial = ft(9, {3: 2.5}, R)
    # 25th percentile of 1..5 is 2: 2.5 is worse
    assert PercentileStopping(25.0).on_report(hist(_five_finished()), trial) is Decision.STOP
    # maximizing: values 1..5 become "higher is better"; 2.5 is below the median 3
    others = [ft(i, {3: float(i + 1)}) for i in range(5)]
    assert MedianStopping().on_report(hist(others, MAX), ft(9, {3: 2.5}, R)) is Decision.STOP
    assert MedianStopping().on_report(hist(others, MAX), ft(9, {3: 3.5}, R)) is (Decision.CONTINUE)


def test_percentile_rejects_bad_arguments():
    with pytest.raises(ValueError, match="percentile"):
        PercentileStopping(150)
    with pytest.raises(ValueError, match="warmup_steps"):
        MedianStopping(warmup_steps=-1)


# ---- successive halving / ASHA ------------------------------------------------------------------
def test_asha_promotes_top_third_at_a_rung():
    others = [ft(i, {1: float(i + 1)}, R) for i in range(5)]  # rung-1 values 1..5
    sched = ASHA(min_resource=1, reduction_factor=3, max_resource=27)
    # n = 6, top = 2: rank 1 continues, rank 2 stops
    assert sched.on_report(hist(others), ft(9, {1: 1.5}, R)) is Decision.CONTINUE
    assert sched.on_report(hist(others), ft(9, {1: 2.5}, R)) is Decision.STOP


def test_asha_does_not_wait_for_a_rung_to_fill():
    sched = ASHA(max_resource=27)
    assert sched.on_report(hist([]), ft(0, {1: 5.0}, R)) is Decision.CONTINUE
    first = [ft(0, {1: 5.0}, R)]
    # with fewer than eta trials at the rung only the best so far goes on
    assert sched.on_report(hist(first), ft(1, {1: 6.0}, R)) is Decision.STOP
    assert sched.on_report(hist(first), ft(1, {1: 4.0}, R)) is Decision.CONTINUE


def test_successive_halving_waits_for_min_trials_at_rung():
    first = [ft(0, {1: 5.0}, R)]
    sh = SuccessiveHalving(max_resource=27, min_trials_at_rung=3)
    assert sh.on_report(hist(first), ft(1, {1: 6.0}, R)) is Decision.CONTINUE
    two = [ft(0, {1: 5.0}, R), ft(1, {1: 6.0}, R)]
    assert sh.on_report(hist(two), ft(2, {1: 7.0}, R)) is Decision.STOP


def test_asha_decides_only_when_crossing_a_rung():
    others = [ft(i, {1: 0.0, 3: 0.0}, R) for i in range(5)]
    sched = ASHA(max_resource=27)
    # step 2 lies between rungs 1 and 3: no decision however bad
    assert sched.on_report(hist(others), ft(9, {1: 0.0, 2: 99.0}, R)) is Decision.CONTINUE
    # at step 3 it is judged on its rung-3 value
    assert sched.on_report(hist(others), ft(9, {1: 0.0, 2: 99.0, 3: 99.0}, R)) is Decision.STOP
    # reports every 4 steps cross rungs 1 and 3 at once; the value at step 4 counts for both
    assert sched.on_report(hist(others), ft(9, {4: -1.0}, R)) is Decision.CONTINUE
    # no rung at or above max_resource: the last report never stops
    assert sched.on_report(hist(others), ft(9, {27: 99.0}, R)) is Decision.STOP  # crosses 1..9
    assert (
        ASHA(max_resource=27).on_report(hist(others), ft(9, {1: 0.0, 3: 0.0, 9: 0.0, 27: 99.0}, R))
        is Decision.CONTINUE
    )


def test_asha_maximize_and_rate():
    others = [ft(i, {3: float(i + 1)}, R) for i in range(5)]
    sched = ASHA(max_resource=27, min_early_stopping_rate=1)  # rungs 3, 9
    assert sched.rungs(0) == [3, 9]
    assert sched.on_report(hist(others, MAX), ft(9, {3: 4.5}, R)) is Decision.CONTINUE
    assert sched.on_report(hist(others, MAX), ft(9, {3: 3.5}, R)) is Decision.STOP
    # rung 1 is skipped with rate 1
    assert sched.on_report(hist(others, MAX), ft(9, {1: -99.0}, R)) is Decision.CONTINUE


def test_hyperband_brackets_are_deterministic_and_weighted():
    hb = Hyperband(min_resource=1, max_resource=81, reduction_factor=3)
    assert hb.n_brackets == 5
    counts = Counter(hb.bracket(n) for n in range(143))
    assert [counts[b] for b in range(5)] == [81, 34, 15, 8, 5]
    assert [hb.bracket(n) for n in range(6)] == [0, 1, 0, 2, 0, 1]
    assert hb.bracket(143 + 3) == hb.bracket(3)
    assert hb.rungs(0) == [1, 3, 9, 27]
    assert hb.rungs(1) == [3, 9, 27]
    assert hb.rungs(12) == []  # bracket 4: never stops
    assert hb.bracket(12) == 4


def test_hyperband_compares_within_bracket_only():
    hb = Hyperband(min_resource=1, max_resource=81)
    # trials 0, 2, 4 are in bracket 0; trials 1, 5 in bracket 1
    bracket0 = [ft(0, {1: 1.0}, R), ft(2, {1: 2.0}, R), ft(4, {1: 3.0}, R)]
    # trial 6 is in bracket 0: n = 4, top 1: 1.5 is second, stops
    assert hb.bracket(6) == 0
    assert hb.on_report(hist(bracket0), ft(6, {1: 1.5}, R)) is Decision.STOP
    # trial 5 is in bracket 1 (first rung 3) and sees no bracket-0 trial
    assert hb.bracket(5) == 1
    assert hb.on_report(hist(bracket0), ft(5, {1: 99.0}, R)) is Decision.CONTINUE
    assert hb.on_report(hist(bracket0), ft(5, {1: 99.0, 3: 99.0}, R)) is Decision.CONTINUE
    b1 = [*bracket0, ft(1, {3: 1.0}, R)]
    assert hb.on_report(hist(b1), ft(5, {1: 99.0, 3: 99.0}, R)) is Decision.STOP


def test_single_objective_schedulers_reject_multi_objective_studies():
    h = hist([], (Direction.MINIMIZE, Direction.MINIMIZE))
    with pytest.raises(ValueError, match="DominatedStopping"):
        ASHA().on_report(h, ft(0, {1: 1.0}, R))


# ---- BOHB rung view -----------------------------------------------------------------------------
def test_rung_view_models_highest_level_with_enough_points():
    x = Float(0.0, 1.0)
    trials = [
        ft(0, {1: 5.0, 3: 4.0, 9: 3.0}, C, {"x": 0.1}, {"x": x}),
        ft(1, {1: 6.0, 3: 5.0}, P, {"x": 0.2}, {"x": x}),
        ft(2, {1: 7.0, 3: 6.0}, P, {"x": 0.3}, {"x": x}),
        ft(3, {1: 8.0}, P, {"x": 0.4}, {"x": x}),
        ft(4, {1: 1.0, 3: 2.0}, R, {"x": 0.5}, {"x": x}),
        ft(5, {1: 9.0}, R, {"x": 0.6}, {"x": x}),
        ft(6, {}, TrialState.FAILED, {"x": 0.7}, {"x": x}),
    ]
    view, level = rung_view(hist(trials), [1, 3, 9], min_points=4)
    assert level == 3
    assert [(t.number, t.state, t.values) for t in view] == [
        (0, C, (4.0,)),
        (1, C, (5.0,)),
        (2, C, (6.0,)),
        (4, C, (2.0,)),
        (5, R, None),  # still running below the level: a pending point
    ]
    view, level = rung_view(hist(trials), [1, 3, 9], min_points=6)
    assert level == 1 and len(view.complete) == 6
    same, level = rung_view(hist(trials), [1, 3, 9], min_points=7)
    assert level is None and same is not None and len(same) == 7


def test_ranked_rung_view_orders_by_level_then_value():
    x = Float(0.0, 1.0)
    trials = [
        ft(0, {1: 5.0, 3: 4.0, 9: 3.0}, C, {"x": 0.1}, {"x": x}, final=3.0),
        ft(1, {1: 6.0, 3: 5.0}, P, {"x": 0.2}, {"x": x}),
        ft(2, {1: 0.5}, P, {"x": 0.3}, {"x": x}),
        ft(3, {1: 1.0, 3: 5.0}, R, {"x": 0.4}, {"x": x}),
        ft(4, {}, R, {"x": 0.5}, {"x": x}),
    ]
    view, level = rung_view(hist(trials), [1, 3, 9], min_points=3, mode="ranked")
    assert level == 1
    # trial 0 reached 9 (best); trials 1 and 3 tie at level 3 (value 5); trial 2 only level 1
    got = {t.number: (t.state, t.values) for t in view}

    def sq(x):
        return 0.5 + math.atan(x) / math.pi

    assert got == {
        0: (C, (0 + sq(3.0),)),  # depth 0: the top level
        1: (C, (1 + sq(5.0),)),
        3: (C, (1 + sq(5.0),)),
        2: (C, (2 + sq(0.5),)),
        4: (R, None),
    }
    # maximize: values are negated losses, so the best (highest) value is trial 0's
    view, _ = rung_view(hist(trials, MAX), [1, 3, 9], min_points=3, mode="ranked")
    assert view[0].values == (-(0 + sq(-3.0)),)
    assert max(view[:4], key=lambda t: t.values[0]).number == 0
    # a cache keeps the same view object for a trial whose pseudo-loss did not change
    shown = {}
    a, _ = rung_view(hist(trials), [1, 3, 9], 3, "ranked", shown)
    more = [*trials, ft(5, {1: 9.0}, P, {"x": 0.6}, {"x": x})]
    b, _ = rung_view(hist(more), [1, 3, 9], 3, "ranked", shown)
    assert b[0] is a[0] and b[1] is a[1] and b[5].values == (2 + sq(9.0),)
    with pytest.raises(ValueError, match="mode"):
        MultiFidelitySampler(RandomSampler(), [1, 3], mode="best")


class _Recorder(Sampler):
    """Records the history it is shown; proposes uniformly at random."""

    def __init__(self) -> None:
        super().__init__(0)
        self.seen: list[History] = []

    def sample_independent(self, history, trial, name, distribution):
        self.seen.append(history)
        return distribution.from_unit(float(self._rng.random()))


def test_multifidelity_sampler_shows_the_rung_view_to_its_base():
    base = _Recorder()
    sched = Hyperband(min_resource=1, max_resource=9)
    sampler = MultiFidelitySampler(base, sched, min_points=6, mode="highest")
    assert sampler.levels == [1, 3, 9]
    study = honed.create_study(sampler=sampler, scheduler=sched)

    def objective(trial):
        x = trial.float("x", 0, 1)
        for step in range(1, 10):
            trial.report((x - 0.3) ** 2 + 1.0 / step, step)
        return (x - 0.3) ** 2

    study.optimize(objective, n_trials=14, show_progress=False)
    # the base sampler saw stopped trials as complete ones, valued at a rung
    pruned = {t.number for t in study.trials if t.state is P}
    assert pruned
    shown = {t.number for h in base.seen for t in h.complete}
    assert pruned & shown
    assert all(
        len(h.complete) >= 6 for h in base.seen if any(t.number in pruned for t in h.complete)
    )


def test_bohb_with_tpe_runs_end_to_end():
    from honed.samplers import bohb
    from honed.samplers.tpe import TPESampler

    sampler, sched = bohb(TPESampler(seed=0), max_resource=9, min_points=4)
    study = honed.create_study(sampler=sampler, scheduler=sched)

    def objective(trial):
        x = trial.float("x", 0, 1)
        for step in range(1, 10):
            trial.report((x - 0.3) ** 2 + 1.0 / step, step)
        return (x - 0.3) ** 2

    study.optimize(objective, n_trials=30, show_progress=False)
    assert abs(study.best_params["x"] - 0.3) < 0.2


def test_untried_neighbour_moves_a_repeat_one_grid_step():
    from honed.samplers.multifidelity import untried_neighbour

    space = {"a": Int(0, 4), "b": Choice(["x", "y", "z"]), "c": Float(0.0, 1.0)}
    h = hist([ft(0, {}, params={"a": 2, "b": "y", "c": 0.5}), ft(1, {}, params={"a": 0})])
    rng = np.random.default_rng(0)
    # untried proposals come back as they are
    assert untried_neighbour({"a": 3, "b": "y", "c": 0.5}, space, h, 9, rng) == {
        "a": 3,
        "b": "y",
        "c": 0.5,
    }
    # a repeat of trial 0 moves exactly one grid step in one discrete parameter; c stays
    moved = untried_neighbour({"a": 2, "b": "y", "c": 0.5}, space, h, 9, rng)
    assert moved["c"] == 0.5
    steps = abs(moved["a"] - 2) + abs(["x", "y", "z"].index(moved["b"]) - 1)
    assert steps == 1
    # the trial asking is not its own repeat
    assert untried_neighbour({"a": 2, "b": "y", "c": 0.5}, space, h, 0, rng)["a"] == 2


def test_untried_neighbour_searches_outward_and_gives_up_when_all_tried():
    from honed.samplers.multifidelity import untried_neighbour

    space = {"a": Int(0, 2), "b": Int(0, 1)}
    tried = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]
    h = hist([ft(i, {}, params={"a": a, "b": b}) for i, (a, b) in enumerate(tried)])
    rng = np.random.default_rng(1)
    # (2, 1) is the only untried configuration, three grid steps from (0, 0)
    assert untried_neighbour({"a": 0, "b": 0}, space, h, 99, rng) == {"a": 2, "b": 1}
    full = hist([*h, ft(5, {}, params={"a": 2, "b": 1})])
    assert untried_neighbour({"a": 0, "b": 0}, space, full, 99, rng) == {"a": 0, "b": 0}
    # a continuous proposal is never moved
    cont = {"x": Float(0.0, 1.0)}
    hc = hist([ft(0, {}, params={"x": 0.25})])
    assert untried_neighbour({"x": 0.25}, cont, hc, 9, rng) == {"x": 0.25}


def test_rung_view_cache_gives_the_same_answers_as_a_fresh_read():
    from honed.samplers.multifidelity import rung_view

    rng = np.random.default_rng(0)
    trials = []
    memo, shown = {}, {}
    for n in range(40):
        # trial n - 1 goes on running and reports once more; the others are finished
        curve = {s: float(rng.random()) for s in range(1, int(rng.integers(2, 10)))}
        params = {"a": int(rng.integers(0, 4)), "b": int(rng.integers(0, 3))}
        trials.append(ft(n, curve, [C, P, R][int(rng.integers(0, 3))], params=params))
        if n > 0 and trials[n - 1].state is R:
            old = trials[n - 1]
            iv = {**old.intermediate_values, 10: float(rng.random())}
            trials[n - 1] = ft(n - 1, iv, R, params=old.params)
        h = hist(list(trials))
        levels = [1, 3, 9] if n < 20 else [2, 6]  # the levels move, as time rungs do
        fresh, _ = rung_view(h, levels, 3, "ranked")
        cached, _ = rung_view(h, levels, 3, "ranked", shown, memo=memo)
        assert [(t.number, t.state, t.values) for t in fresh] == [
            (t.number, t.state, t.values) for t in cached
        ]
        # a fresh read of the same trials (new objects, as from a database) agrees too
        copies = hist(
            [
                FrozenTrial(
                    **{
                        f: getattr(t, f)
                        for f in (
                            "number",
                            "state",
                            "params",
                            "distributions",
                            "values",
                            "intermediate_values",
                            "system_attrs",
                        )
                    }
                )
                for t in h
            ]
        )
        again, _ = rung_view(copies, levels, 3, "ranked", shown, memo=memo)
        assert [t.values for t in again] == [t.values for t in fresh]
    # a trial of another study (a sampler shared by two studies) with the same number, state,
    # number of reports and last report, but another curve, is not taken for the cached one:
    # with levels 1 and 3, a trial that reported steps 1 and 2 counts at level 1
    others = [ft(i, {1: 0.5}, P) for i in range(1, 4)]
    memo = {}
    first = rung_view(hist([ft(0, {1: 0.9, 2: 0.1}, P), *others]), [1, 3], 1, "ranked", memo=memo)
    other = hist([ft(0, {1: 0.1, 2: 0.1}, P), *others])
    cached = rung_view(other, [1, 3], 1, "ranked", memo=memo)[0]
    assert cached[0].values == rung_view(other, [1, 3], 1, "ranked")[0][0].values
    assert cached[0].values != first[0][0].values


def test_multifidelity_sampler_never_repeats_a_configuration_in_a_small_grid():
    from honed.samplers.tpe import TPESampler

    sched = ASHA(1, 3, 9)
    sampler = MultiFidelitySampler(TPESampler(seed=0, n_startup_trials=3), sched, min_points=3)
    study = honed.create_study(sampler=sampler, scheduler=sched)

    def objective(trial):
        a, b = trial.int("a", 0, 3), trial.int("b", 0, 3)
        for step in range(1, 10):
            trial.report((a - 1) ** 2 + (b - 2) ** 2 + 1.0 / step, step)
        return (a - 1) ** 2 + (b - 2) ** 2

    study.optimize(objective, n_trials=16, show_progress=False)
    configs = [(t.params["a"], t.params["b"]) for t in study.trials]
    assert len(set(configs)) == 16  # the whole 4 x 4 grid, each configuration once
    plain = MultiFidelitySampler(
        TPESampler(seed=0, n_startup_trials=3), sched, min_points=3, avoid_repeats=False
    )
    # noisy: the study's own guard against repeats lets the sampler's proposals through
    study2 = honed.create_study(sampler=plain, scheduler=sched, noisy=True)
    study2.optimize(objective, n_trials=16, show_progress=False)
    assert len({(t.params["a"], t.params["b"]) for t in study2.trials}) < 16


def test_multifidelity_random_fraction_draws_seeded_trials_at_random():
    import zlib

    class _Model(Sampler):
        """Always proposes x = 0.125 and a = 0; counts how often it is asked."""

        def __init__(self) -> None:
            super().__init__(7)
            self.calls = 0

        def sample_independent(self, history, trial, name, distribution):
            self.calls += 1
            return 0.125

        def sample_relative(self, history, trial, space):
            self.calls += 1
            return {n: 0 for n in space}

    base = _Model()
    sampler = MultiFidelitySampler(base, [1, 3], random_fraction=1 / 3)
    h = hist([ft(i, {1: float(i)}, P) for i in range(3)])
    trials = [ft(n, {}, R) for n in range(300)]
    chosen = [t.number for t in trials if sampler.is_random(t)]
    # a seeded draw per trial number: the same decisions every time, about 1/3 of the trials
    expected = [n for n in range(300) if np.random.default_rng([7, n, 1]).random() < 1 / 3]
    assert chosen == expected and 80 <= len(chosen) <= 120
    assert not any(MultiFidelitySampler(base, [1, 3]).is_random(t) for t in trials)
    # a random trial never asks the model; its value is the seeded uniform draw
    # (numbers from 3 on: the trial asking is not its own repeat below)
    r = next(t for t in trials if t.number in chosen and t.number >= 3)
    m = next(t for t in trials if t.number not in chosen and t.number >= 3)
    x = Float(0.0, 1.0)
    u = np.random.default_rng([7, r.number, 3, zlib.crc32(b"x")]).random()
    assert sampler.sample_independent(h, r, "x", x) == x.from_unit(u)
    assert base.calls == 0
    assert sampler.sample_independent(h, m, "x", x) == 0.125 and base.calls == 1
    # relative proposals: the model's on a model trial; on a random trial a uniform draw that
    # is moved off configurations already tried (here only (a=1, b=1) is left)
    space = {"a": Int(0, 1), "b": Int(0, 1)}
    done = [(0, 0), (0, 1), (1, 0)]
    tried = hist([ft(i, {1: 1.0}, P, {"a": a, "b": b}, space) for i, (a, b) in enumerate(done)])
    assert sampler.sample_relative(tried, m, space) == {"a": 1, "b": 1}  # model's (0,0) moved
    assert sampler.sample_relative(tried, r, space) == {"a": 1, "b": 1}
    assert base.calls == 2
    for bad in (1.0, -0.1, "1/3"):
        with pytest.raises(ValueError, match="random_fraction"):
            MultiFidelitySampler(base, [1, 3], random_fraction=bad)
    from honed.samplers import bohb

    assert bohb(base, random_fraction=0.25)[0].random_fraction == 0.25


# ---- PBT ----------------------------------------------------------------------------------------
def _population(step=4):
    lr = Float(1e-4, 1.0, log=True)
    layers = Int(1, 4)
    act = Choice(["relu", "tanh", "gelu"])
    dists = {"lr": lr, "layers": layers, "act": act}
    return [
        ft(i, {step: float(i)}, R, {"lr": 0.01 * (i + 1), "layers": 2, "act": "tanh"}, dists)
        for i in range(8)
    ], dists


def test_pbt_bottom_trial_exploits_top_trial_deterministically():
    pop, dists = _population()
    sched = PopulationBasedTraining(interval=2, quantile=0.25, seed=3)
    worst = pop[7]
    a = sched.on_report(hist(pop), worst)
    b = sched.on_report(hist(pop), worst)
    assert isinstance(a, Exploit) and a == b
    assert a.source in (0, 1) and a.step == 4 and a.source_step == 4
    for k, v in a.params.items():
        assert dists[k].contains(v)
    assert decision_of(a) is Decision.CONTINUE
    # the middle and the top go on; off-interval steps never exploit
    assert sched.on_report(hist(pop), pop[4]) is Decision.CONTINUE
    assert sched.on_report(hist(pop), pop[0]) is Decision.CONTINUE
    pop3, _ = _population(step=3)
    assert sched.on_report(hist(pop3), pop3[7]) is Decision.CONTINUE
    # peers that have not reported this step yet count with their value one step earlier,
    # within the interval; older values do not count
    lagging = [replace(t, intermediate_values={3: t.intermediate_values[3]}) for t in pop3[:7]]
    me = replace(pop3[7], intermediate_values={4: 7.0})
    ex = sched.on_report(hist([*lagging, me]), me)
    assert isinstance(ex, Exploit) and ex.source in (0, 1) and ex.source_step == 3
    stale = [replace(t, intermediate_values={2: 0.0}) for t in pop3[:7]]
    assert sched.on_report(hist([*stale, me]), me) is Decision.CONTINUE
    # maximizing flips who is worst
    assert sched.on_report(hist(pop, MAX), pop[7]) is Decision.CONTINUE
    assert isinstance(sched.on_report(hist(pop, MAX), pop[0]), Exploit)


def test_pbt_explore_perturbs_by_factor_and_respects_frozen_names():
    pop, _ = _population()
    sched = PopulationBasedTraining(
        interval=1, perturb_factors=(2.0,), resample_probability=0.0, hyperparams=["lr"]
    )
    ex = sched.on_report(hist(pop), pop[7])
    assert isinstance(ex, Exploit)
    src = pop[ex.source]
    assert ex.params["lr"] == pytest.approx(src.params["lr"] * 2.0)
    assert ex.params["layers"] == 2 and ex.params["act"] == "tanh"
    few = PopulationBasedTraining(interval=1, min_population=9)
    assert few.on_report(hist(pop), pop[7]) is Decision.CONTINUE


def test_pbt_study_copies_checkpoint_and_records_lineage(tmp_path):
    from honed.schedulers import lineage

    db = tmp_path / "pbt.db"
    sched = PopulationBasedTraining(interval=1, quantile=0.5, min_population=2, seed=0)
    study = honed.create_study("pbt", storage=db, direction="maximize", scheduler=sched)
    a, b = study.ask(), study.ask()
    for t in (a, b):
        t.float("lr", 1e-3, 1.0, log=True)
    a.save_checkpoint({"weights": [1, 2, 3]}, step=1)
    a.report(0.9, 1)
    b.save_checkpoint({"weights": [0, 0, 0]}, step=1)
    b.report(0.1, 1)
    assert b.exploited is not None and b.exploited.source == a.number
    assert b.load_checkpoint() == {"weights": [1, 2, 3]}
    assert b.params["lr"] != study.trials[b.number].system_attrs["pbt_initial_params"]["lr"]
    assert b.float("lr", 1e-3, 1.0, log=True) == b.params["lr"]  # objectives re-read new values
    study.tell(a, 0.9)
    study.tell(b, 0.95)
    # the artifacts live in a folder beside the SQLite file
    assert (tmp_path / "pbt-artifacts" / "pbt" / "trials" / "1").is_dir()
    reloaded = honed.load_study("pbt", storage=db)
    segs = lineage(reloaded._history(), b.number)
    assert [(s.trial, s.start, s.end) for s in segs] == [(0, 0, 1), (1, 1, 1)]
    assert reloaded.trials[1].system_attrs["pbt_exploits"][0]["source"] == 0
    assert reloaded.checkpoints.load(1) == {"weights": [1, 2, 3]}


# ---- learning curves ----------------------------------------------------------------------------
def test_power_law_fit_recovers_parameters():
    t = np.arange(1, 41, dtype=float)
    y = 0.2 + 1.5 * t ** (-0.6)
    fit = fit_curve(t, y, "pow")
    assert fit is not None
    assert fit.params == pytest.approx((0.2, 1.5, 0.6), rel=1e-3, abs=1e-4)


def test_exponential_fit_recovers_parameters():
    t = np.arange(1, 31, dtype=float)
    y = 0.3 + 2.0 * np.exp(-4.0 * t / 30)
    fit = fit_curve(t, y, "exp", horizon=30)
    assert fit is not None
    assert fit.params == pytest.approx((0.3, 2.0, 4.0), rel=1e-3, abs=1e-4)


def test_lr_annealing_law_fit_recovers_parameters():
    n = 60
    steps = np.arange(n)
    lrs = 0.1 * 0.5 * (1 + np.cos(np.pi * steps / n)) + 1e-3  # cosine annealing
    s1, s2 = annealing_areas(lrs, 0.9)
    assert s1[-1] == pytest.approx(lrs.sum())
    assert np.all(np.diff(s2) >= 0)  # the annealing area only grows while the rate falls
    y = 1.0 + 0.8 * s1 ** (-0.5) - 0.3 * s2
    fit = fit_curve(np.arange(1, n + 1), y, "lr", lr_schedule=lrs)
    assert fit is not None
    # params are (L0, A, C, alpha): the linear coefficients, then the exponent
    assert fit.params == pytest.approx((1.0, 0.8, 0.3, 0.5), rel=1e-3, abs=1e-4)
    assert fit_curve(np.arange(1, n + 1), y, "lr") is None  # no schedule, no fit


def test_prediction_extrapolates_with_uncertainty():
    rng = np.random.default_rng(0)
    t = np.arange(1, 16, dtype=float)
    y = 0.5 + 1.0 * t ** (-0.8) + rng.normal(0, 0.005, len(t))
    mean, std, weights = predict_final(t, y, 100.0, models=("pow", "exp"))
    truth = 0.5 + 100.0 ** (-0.8)
    assert abs(mean - truth) < 3 * std + 0.02
    assert 0 < std < 0.2
    assert sum(weights.values()) == pytest.approx(1.0)


def _lc_history(best_final=0.1):
    return [ft(0, {k: best_final + 1.0 / k for k in range(1, 31)}, C, final=best_final)]


def test_learning_curve_stops_hopeless_trial_and_explains():
    sched = LearningCurveStopping(max_step=30, min_points=5, models=("pow", "exp"))
    bad = ft(1, {k: 0.6 + 1.0 / k for k in range(1, 9)}, R)
    ans = sched.on_report(hist(_lc_history()), bad)
    assert isinstance(ans, Judgement) and ans.decision is Decision.STOP
    pred = ans.info["lc_prediction"]
    assert pred["step"] == 8 and pred["final_step"] == 30
    assert pred["mean"] == pytest.approx(0.6 + 1 / 30, abs=0.05)
    assert pred["p_beat_best"] < 0.05
    good = ft(1, {k: 0.0 + 1.0 / k for k in range(1, 9)}, R)
    assert decision_of(sched.on_report(hist(_lc_history()), good)) is Decision.CONTINUE
    # too few points, or nothing complete yet: no decision
    short = ft(1, {k: 5.0 for k in range(1, 4)}, R)
    assert sched.on_report(hist(_lc_history()), short) is Decision.CONTINUE
    assert sched.on_report(hist([]), bad) is Decision.CONTINUE


def lc_study(storage=None) -> honed.Study:
    """Two trials of 20 steps under learning-curve stopping: the first completes, the second
    (a curve 0.9 higher) is stopped early with a forecast in its ``lc_prediction``."""
    sched = LearningCurveStopping(max_step=20, min_points=4, models=("pow",))
    study = honed.create_study(storage=storage, scheduler=sched)

    def objective(trial):
        level = trial.float("level", 0.0, 1.0)
        for step in range(1, 21):
            trial.report(level + 1.0 / step, step)
        return level + 1.0 / 20

    study.enqueue({"level": 0.0})
    study.enqueue({"level": 0.9})
    study.optimize(objective, n_trials=2, show_progress=False)
    return study


def test_learning_curve_prediction_lands_in_trial_attrs(tmp_path):
    study = lc_study(tmp_path / "lc.db")
    first, second = study.trials
    assert first.state is C and second.state is P
    assert second.system_attrs["lc_prediction"]["mean"] == pytest.approx(0.95, abs=0.05)


# ---- multi-objective ----------------------------------------------------------------------------
def _mo(number, vecs, state=R):
    values = tuple(vecs[max(vecs)]) if state is C else None
    return FrozenTrial(number=number, state=state, values=values, intermediate_vectors=dict(vecs))


MO = (Direction.MINIMIZE, Direction.MINIMIZE)


def test_domination_probability():
    assert domination_probability(np.array([1, 1]), np.array([2, 2]), np.array([0, 0])) == 1.0
    p = domination_probability(np.array([1.0, 1.0]), np.array([1.1, 1.1]), np.array([0.1, 0.1]))
    assert p == pytest.approx(0.7602499**2, rel=1e-4)


def test_dominated_stopping_decisions():
    others = [_mo(i, {2: (1.0, 1.0)}) for i in range(3)]
    sched = DominatedStopping(confidence=0.95, noise=(0.1, 0.1), min_trials=3)
    assert sched.on_report(hist(others, MO), _mo(9, {2: (2.0, 2.0)})) is Decision.STOP
    assert sched.on_report(hist(others, MO), _mo(9, {2: (1.05, 1.05)})) is Decision.CONTINUE
    assert sched.on_report(hist(others, MO), _mo(9, {2: (0.5, 2.0)})) is Decision.CONTINUE
    assert (
        DominatedStopping(min_trials=4, noise=(0.1, 0.1)).on_report(
            hist(others, MO), _mo(9, {2: (2.0, 2.0)})
        )
        is Decision.CONTINUE
    )
    # maximizing the second objective: (1.0, 0.0) is worse than (1.0, 1.0)... and (0.0, 2.0)
    # dominates (1.0, 1.0)
    mixed = (Direction.MINIMIZE, Direction.MAXIMIZE)
    assert sched.on_report(hist(others, mixed), _mo(9, {2: (2.0, 0.0)})) is Decision.STOP
    assert sched.on_report(hist(others, mixed), _mo(9, {2: (2.0, 3.0)})) is Decision.CONTINUE


def test_dominated_stopping_estimates_noise_from_curves():
    noisy = [_mo(i, {1: (1.0, 1.0), 2: (1.5, 0.5), 3: (1.0, 1.0), 4: (1.5, 0.5)}) for i in range(3)]
    sched = DominatedStopping(min_trials=3)
    # second differences of +-0.5 zigzags mean noise ~0.4: 1.0 vs 1.2 is not convincing
    assert sched.on_report(hist(noisy, MO), _mo(9, {4: (1.7, 0.7)})) is Decision.CONTINUE
    smooth = [_mo(i, {1: (3.0, 3.0), 2: (2.0, 2.0), 3: (1.0, 1.0)}) for i in range(3)]
    assert sched.on_report(hist(smooth, MO), _mo(9, {3: (1.2, 1.2)})) is Decision.STOP


@pytest.mark.parametrize("where", ["memory", "sqlite"])
def test_vector_reports_through_a_study(where, tmp_path):
    storage = None if where == "memory" else tmp_path / "mo.db"
    sched = DominatedStopping(noise=(0.01, 0.01), min_trials=1)
    study = honed.create_study(
        storage=storage, directions=["minimize", "minimize"], scheduler=sched
    )
    good = study.ask()
    good.report([1.0, 1.0], 1)
    study.tell(good, [1.0, 1.0])
    bad = study.ask()
    with pytest.raises(honed.TrialPruned):
        bad.report([2.0, 2.0], 1)
    study.tell(bad, state=TrialState.PRUNED)
    t = study.trials[1]
    assert t.state is P and t.intermediate_vectors == {1: (2.0, 2.0)}
    assert t.intermediate_values == {} and "intermediate_vectors" not in t.system_attrs
    with pytest.raises(ValueError, match="one number per objective"):
        study.ask().report(3.0, 1)


# ---- registry and wiring ------------------------------------------------------------------------
def test_scheduler_names():
    assert isinstance(get_scheduler("asha"), ASHA)
    assert isinstance(get_scheduler("Hyperband"), Hyperband)
    assert get_scheduler(None) is None
    with pytest.raises(ValueError, match="unknown scheduler 'nope'"):
        get_scheduler("nope")
    study = honed.create_study(scheduler="median")
    assert isinstance(study.scheduler, MedianStopping)


def test_asha_in_a_study_prunes_and_keeps_the_best():
    study = honed.create_study(
        sampler=RandomSampler(seed=1), scheduler=ASHA(min_resource=1, max_resource=27)
    )

    def objective(trial):
        x = trial.float("x", -1, 1)
        for step in range(1, 28):
            trial.report(x * x + 1.0 / step, step)
        return x * x

    study.optimize(objective, n_trials=30, show_progress=False)
    states = Counter(t.state for t in study.trials)
    assert states[P] >= 10 and states[C] >= 1
    # the best complete trial is the best of all trials' x*x within noise of the rung order
    xs = sorted(abs(t.params["x"]) for t in study.trials)
    assert abs(study.best_params["x"]) <= xs[2]
    assert math.isfinite(study.best_value)


def test_default_sampler_beside_successive_halving_models_every_rung(tmp_path):
    from honed.samplers.auto import AutoSampler
    from honed.samplers.tpe import TPESampler

    url = f"sqlite:///{tmp_path / 'mf.db'}"
    for sched in ("asha", "hyperband", ASHA(1, 3, 27)):
        study = honed.create_study(direction="maximize", scheduler=sched, seed=3)
        assert isinstance(study.sampler, MultiFidelitySampler)
        assert isinstance(study.sampler.base, TPESampler)
    # a sampler the user chose, other schedulers and several objectives are left alone
    chosen = TPESampler(seed=0)
    assert honed.create_study(scheduler="asha", sampler=chosen).sampler is chosen
    assert isinstance(honed.create_study(scheduler="median").sampler, AutoSampler)
    two = honed.create_study(directions=["minimize", "minimize"], scheduler="asha")
    assert isinstance(two.sampler, AutoSampler)
    # load_study pairs the same way, so every worker of a study proposes alike
    honed.create_study("s", storage=url, scheduler="asha")
    assert isinstance(honed.load_study("s", url, scheduler="asha").sampler, MultiFidelitySampler)
    assert isinstance(honed.load_study("s", url).sampler, AutoSampler)

    def objective(trial):
        x = trial.float("x", 0.0, 1.0)
        for step in range(1, 28):
            trial.report(1.0 - (x - 0.3) ** 2 - 1.0 / step, step)
        return 1.0 - (x - 0.3) ** 2

    study = honed.create_study(direction="maximize", scheduler=ASHA(1, 3, 27), seed=0)
    study.optimize(objective, n_trials=40, show_progress=False)
    assert abs(study.best_params["x"] - 0.3) < 0.1
