"""Time as the resource: report seconds on trials, ASHA rungs in seconds, the timed rung view."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

import honed
from honed.history import History
from honed.samplers import MultiFidelitySampler, RandomSampler
from honed.samplers.multifidelity import rung_view
from honed.samplers.tpe import TPESampler
from honed.schedulers import ASHA, Decision
from honed.space import Int
from honed.trial import Direction, FrozenTrial, TrialState
from tests.test_schedulers import ft

MIN = (Direction.MINIMIZE,)
MAX = (Direction.MAXIMIZE,)
C, P, R = TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING


def tt(number, curve, state=R, params=None, dists=None):
    """A trial from ``{step: (seconds, value)}``."""
    base = ft(number, {k: v for k, (_, v) in curve.items()}, state, params, dists)
    return replace(base, report_seconds={k: s for k, (s, _) in curve.items()})


def test_report_seconds_field():
    # (schema-version-1 databases, which kept them in a system attribute: tests/_schema.py)
    assert tt(0, {1: (0.5, 3.0), 2: (1.25, 2.0)}).report_seconds == {1: 0.5, 2: 1.25}
    assert FrozenTrial(number=1, state=R).report_seconds == {}


def test_time_asha_compares_at_equal_seconds_not_equal_steps():
    # rungs at 1, 3, 9 s. Trial 0 is slow per step: 1 step = 3 s; trial 1 is cheap:
    # 0.5 s per step, so it reaches the 1 s rung at step 2 and the 3 s rung at step 6.
    slow = tt(0, {1: (3.0, 0.50)}, P)
    sched = ASHA(1.0, 3, resource="time")
    assert sched.rungs(0)[:4] == [1.0, 3.0, 9.0, 27.0]
    # step 1 of the cheap trial (0.5 s) reaches no rung: no decision however bad
    assert sched.on_report(History([slow], MIN), tt(1, {1: (0.5, 9.0)})) is Decision.CONTINUE
    # at step 2 (1.0 s) it crosses rung 1 s and is compared with the slow trial's value at
    # its first report at or after 1 s (0.50, at 3 s): 0.45 is better, it goes on
    cheap = tt(1, {1: (0.5, 9.0), 2: (1.0, 0.45)})
    assert sched.on_report(History([slow], MIN), cheap) is Decision.CONTINUE
    worse = tt(1, {1: (0.5, 9.0), 2: (1.0, 0.55)})
    assert sched.on_report(History([slow], MIN), worse) is Decision.STOP
    # the same values with epochs as the resource: the cheap trial is judged at step 1
    by_step = ASHA(1, 3)
    assert by_step.on_report(History([slow], MIN), tt(1, {1: (0.5, 0.55)})) is Decision.STOP


def test_time_asha_judges_each_rung_once_and_crosses_several_at_once():
    others = [tt(i, {1: (1.0, 1.0), 2: (3.0, 1.0)}, P) for i in range(5)]
    sched = ASHA(1.0, 3, resource="time")
    # a slow trial's first report at 4 s crosses rungs 1 s and 3 s with the same value
    assert sched.on_report(History(others, MIN), tt(9, {1: (4.0, 0.5)})) is Decision.CONTINUE
    assert sched.on_report(History(others, MIN), tt(9, {1: (4.0, 1.5)})) is Decision.STOP
    # already judged at 1 s and 3 s; its next report at 5 s reaches no new rung
    later = tt(9, {1: (4.0, 0.5), 2: (5.0, 99.0)})
    assert sched.on_report(History(others, MIN), later) is Decision.CONTINUE
    # at 9 s it is the first at that rung: goes on whatever its value (as in ASHA by steps)
    at9 = tt(9, {1: (4.0, 0.5), 2: (5.0, 99.0), 3: (9.0, 99.0)})
    assert sched.on_report(History(others, MIN), at9) is Decision.CONTINUE
    # maximize: higher is better
    assert sched.on_report(History(others, MAX), tt(9, {1: (4.0, 1.5)})) is Decision.CONTINUE


def test_time_asha_needs_seconds():
    sched = ASHA(1.0, 3, resource="time")
    no_secs = FrozenTrial(number=1, state=R, intermediate_values={1: 99.0})
    others = [tt(0, {1: (2.0, 0.0)}, P)]
    assert sched.on_report(History(others, MIN), no_secs) is Decision.CONTINUE


def test_auto_min_resource_is_median_first_report_of_first_five():
    firsts = [0.4, 0.1, 0.3, 0.9, 0.2, 0.01, 0.02]
    trials = [tt(i, {1: (s, 1.0), 2: (2 * s, 1.0)}, P) for i, s in enumerate(firsts)]
    sched = ASHA("auto", 3, resource="time")
    h = History(trials, MIN)
    # trials 5 and 6 come after the first five: median of 0.4, 0.1, 0.3, 0.9, 0.2 = 0.3
    assert sched.base_resource(h) == pytest.approx(0.3)
    assert sched.rungs(0, h)[:3] == pytest.approx([0.3, 0.9, 2.7])
    # fewer than five reported: median (lower middle) of those
    assert sched.base_resource(History(trials[:2], MIN)) == pytest.approx(0.1)
    assert sched.base_resource(History([], MIN)) is None
    assert sched.rungs(0, History([], MIN)) == []
    # the reporting trial's newer snapshot counts in place of its stale history entry
    stale = FrozenTrial(number=1, state=R)
    fresh = tt(1, {1: (0.05, 1.0)})
    assert sched.base_resource(History([trials[0], stale], MIN), fresh) == pytest.approx(0.05)
    # the first report of a study decides against nobody: continues
    assert sched.on_report(History([], MIN), tt(0, {1: (0.2, 5.0)})) is Decision.CONTINUE


def test_time_resource_validation():
    with pytest.raises(ValueError, match="resource must be 'step' or 'time'"):
        ASHA(resource="epochs")
    with pytest.raises(ValueError, match="min_resource must be a number of seconds"):
        ASHA(0, resource="time")
    with pytest.raises(ValueError, match="min_resource must be an int"):
        ASHA("auto")  # auto needs time
    with pytest.raises(ValueError, match="max_resource"):
        ASHA(2.0, max_resource=1.0, resource="time")
    assert ASHA(resource="time").uses_report_seconds
    assert not ASHA().uses_report_seconds
    assert "resource='time'" in repr(ASHA("auto", resource="time"))


def test_timed_rung_view_ranks_by_seconds_reached():
    x = Int(0, 9)
    # levels 1, 3, 9 s. Trial 0: 4 s at 0.7 (reached level 3); trial 1: 10 s at 0.9 (level 9);
    # trial 2: 2 s at 0.1 (level 1); trial 3 running without a report yet: pending
    trials = [
        tt(0, {1: (2.0, 0.9), 2: (4.0, 0.7)}, P, {"x": 0}, {"x": x}),
        tt(1, {1: (5.0, 0.95), 2: (10.0, 0.9)}, P, {"x": 1}, {"x": x}),
        tt(2, {1: (2.0, 0.1)}, P, {"x": 2}, {"x": x}),
        FrozenTrial(number=3, state=R, params={"x": 3}, distributions={"x": x}),
    ]
    sched = ASHA(1.0, 3, resource="time")
    view, level = rung_view(History(trials, MIN), [1.0, 3.0, 9.0], 3, "ranked", None, sched.curve)
    assert level == 1.0
    vals = {t.number: t.values[0] for t in view if t.state is C}
    # deeper first: trial 1 (level 9 s) < trial 0 (level 3 s, its value at 4 s) < trial 2
    assert vals[1] < vals[0] < vals[2]
    assert vals[0] == pytest.approx(1 + 0.5 + math.atan(0.7) / math.pi)
    assert [t.state for t in view if t.number == 3] == [R]


def test_report_records_seconds_only_when_asked(tmp_path):
    study = honed.create_study(storage=tmp_path / "s.db", scheduler=ASHA(1, 3, 9))
    t = study.ask()
    t.report(1.0, 1)
    t.report(0.5, 2, elapsed=0.25)
    study.tell(t, 0.5)
    got = study.trials[0]
    assert got.report_seconds == {2: 0.25}  # the epoch scheduler needs none of its own
    with pytest.raises(ValueError, match="elapsed"):
        study.ask().report(1.0, 1, elapsed=-1.0)
    timed = honed.create_study(scheduler=ASHA("auto", 3, resource="time"))
    t = timed.ask()
    t.report(1.0, 1)
    t.report(0.9, 2)
    secs = timed.trials[0].report_seconds
    assert sorted(secs) == [1, 2] and 0 <= secs[1] <= secs[2] < 60


def _digits_split():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    x, y = x[idx] / 16.0, y[idx]
    return x[:1000], y[:1000], x[1000:], y[1000:]


def test_time_asha_with_timed_tpe_on_real_training():
    # A real, small training run: SGD logistic regression on digits, epochs by partial_fit;
    # the cost of an epoch grows with the number of passes per epoch (a "batch size"-like knob).
    from sklearn.linear_model import SGDClassifier

    x_tr, y_tr, x_va, y_va = _digits_split()
    classes = np.arange(10)
    sched = ASHA("auto", 3, resource="time")
    sampler = MultiFidelitySampler(TPESampler(seed=0), sched, min_points=5)
    study = honed.create_study(direction="maximize", sampler=sampler, scheduler=sched)

    def objective(trial):
        alpha = 10.0 ** trial.int("log_alpha", -6, -1)
        passes = trial.int("passes", 1, 4)
        model = SGDClassifier(loss="log_loss", alpha=alpha, random_state=0)
        acc = 0.0
        for epoch in range(1, 10):
            for _ in range(passes):
                model.partial_fit(x_tr, y_tr, classes=classes)
            acc = float(model.score(x_va, y_va))
            trial.report(acc, epoch)
        return acc

    study.optimize(objective, n_trials=16)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) >= 1
    assert states.count(TrialState.PRUNED) >= 1  # time rungs stopped some
    for t in study.trials:
        secs = t.report_seconds
        assert sorted(secs) == sorted(t.intermediate_values)
        steps = sorted(secs)
        assert all(secs[a] <= secs[b] for a, b in itertools.pairwise(steps))
    assert study.best_value > 0.8


def test_time_asha_with_random_sampler_stops_on_injected_elapsed():
    # elapsed given by the caller (a simulated clock): deterministic decisions
    sched = ASHA(1.0, 3, resource="time")
    study = honed.create_study(sampler=RandomSampler(seed=0), scheduler=sched)
    outcomes = []
    for cost, final in [(1.0, 0.5), (0.25, 0.2), (0.25, 0.9), (1.0, 0.95)]:
        t = study.ask()
        try:
            for step in range(1, 6):
                t.report(final, step, elapsed=cost * step)
            study.tell(t, final)
            outcomes.append("done")
        except honed.TrialPruned:
            study.tell(t, state=TrialState.PRUNED)
            outcomes.append(f"stopped at {t.intermediate_values and max(t.intermediate_values)}")
    # trial 0 is first at every rung; trial 1 (0.2, better) goes on; trial 2 (0.9) reaches the
    # 1 s rung at step 4 (worse than both peers there): stopped; trial 3 likewise at step 1
    assert outcomes == ["done", "done", "stopped at 4", "stopped at 1"]


def test_time_asha_timeline_cache_stays_bounded_when_reused_across_studies():
    # one scheduler instance judging many short studies (each with fresh trial objects) must
    # not pin every finished trial it ever read
    sched = ASHA(1.0, 3, resource="time")
    for _ in range(40):
        done = [tt(i, {1: (1.0, float(i))}, C) for i in range(10)]
        sched.on_report(History(done, MIN), tt(10, {1: (1.0, 0.5)}))
    assert len(sched._curves) <= 2 * 11 + 64
    # and the decisions are the cache's, not its size's: same answer after a clear
    assert sched.on_report(History(done, MIN), tt(10, {1: (1.0, 20.0)})) is Decision.STOP
