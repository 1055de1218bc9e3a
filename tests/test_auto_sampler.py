"""AutoSampler: which delegate it picks, and that studies run through it."""

from __future__ import annotations

import math

import honed
from honed.history import History
from honed.samplers.auto import AutoSampler
from honed.samplers.gp import GPSampler
from honed.samplers.tpe import TPESampler
from honed.space import Choice, Float, Int
from honed.trial import Direction

SMALL = {"x": Float(-5.0, 10.0), "y": Float(0.0, 15.0), "n": Int(1, 5), "c": Choice(["a", "b"])}


def test_choice_of_delegate() -> None:
    s = AutoSampler(seed=0)
    one = History([], [Direction.MINIMIZE])
    two = History([], [Direction.MINIMIZE, Direction.MAXIMIZE])
    assert isinstance(s.choose(one, SMALL), GPSampler)
    big = {f"x{i}": Float(0.0, 1.0) for i in range(9)}
    assert isinstance(s.choose(one, big), TPESampler)
    assert isinstance(s.choose(two, SMALL), TPESampler)
    tree = {"m": Choice({"a": {"u": Float(0.0, 1.0)}, "b": {}})}
    assert isinstance(s.choose(one, tree), TPESampler)


def test_study_default_flat_and_define_by_run() -> None:
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


def test_by_name_and_pickles() -> None:
    import pickle

    from honed.samplers import get_sampler

    assert isinstance(get_sampler(None, seed=3), TPESampler)  # the default, for now
    s = get_sampler("auto", seed=3)
    assert isinstance(s, AutoSampler)
    clone = pickle.loads(pickle.dumps(s))
    assert isinstance(clone.choose(History([], [Direction.MINIMIZE]), SMALL), GPSampler)
