"""Random, QMC (Sobol) and grid samplers: the shared conformance suite plus their own rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

import honed
from honed import Choice, Float, Int, SpaceError, TrialState
from honed.samplers import GridSampler, QMCSampler, RandomSampler, Sampler, get_sampler
from honed.space import Distribution
from honed.testing.samplers import SamplerTests


class TestRandomSampler(SamplerTests):
    def make_sampler(self, seed: int | None, space: Mapping[str, Distribution]) -> Sampler:
        return RandomSampler(seed=seed)


class TestQMCSampler(SamplerTests):
    def make_sampler(self, seed: int | None, space: Mapping[str, Distribution]) -> Sampler:
        return QMCSampler(seed=seed)


# A grid needs finite values: stepped floats instead of continuous ones.
GRID_KINDS: dict[str, Distribution] = {
    "f_step": Float(0.0, 2.0, step=0.5),
    "f_single": Float(1.5, 1.5),
    "i_lin": Int(-2, 3),
    "i_step": Int(0, 60, step=20),
    "i_single": Int(7, 7),
    "c_str": Choice(["adam", "sgd", "rmsprop"]),
    "c_mixed": Choice([None, True, False, 0, 1, 2.5, "1"]),
}
GRID_CONDITIONAL: dict[str, Any] = {
    "lr": Float(0.1, 0.5, step=0.1),
    "model": Choice(
        {
            "svm": {
                "C": Choice([0.1, 1.0, 10.0]),
                "kernel": Choice({"rbf": {"gamma": Choice([0.01, 0.1])}, "linear": {}}),
            },
            "tree": {"depth": Int(1, 4), "split": Choice(["gini", "entropy"])},
            "none": {},
        }
    ),
}


class TestGridSampler(SamplerTests):
    def make_sampler(self, seed: int | None, space: Mapping[str, Distribution]) -> Sampler:
        return GridSampler(dict(space), seed=seed)

    def search_space(self) -> dict[str, Distribution]:
        return dict(GRID_KINDS)

    def conditional_space(self) -> dict[str, Any]:
        return dict(GRID_CONDITIONAL)

    def repeat_space(self) -> dict[str, Distribution]:
        return {"n": Int(0, 5), "c": Choice(["a", "b", "c"]), "s": Float(0.0, 0.5, step=0.5)}


# ---- random ----------------------------------------------------------------------------------
def test_random_is_uniform_in_each_encoding() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))
    ints, logs, picks = [], [], []
    for _ in range(1000):
        t = study.ask()
        ints.append(t.int("i", 0, 4))
        logs.append(t.float("f", 1e-4, 1.0, log=True))
        picks.append(t.choice("c", [True, 1, "1"]))
        study.tell(t, 0.0)
    assert all(160 < n < 240 for n in Counter(ints).values()) and len(set(ints)) == 5
    decades = np.histogram(np.log10(logs), bins=4, range=(-4, 0))[0]
    assert all(200 < n < 300 for n in decades)  # log-uniform: each decade a quarter
    kinds = Counter((type(p).__name__, p) for p in picks)
    assert set(kinds) == {("bool", True), ("int", 1), ("str", "1")}


def test_reseed_gives_workers_different_streams() -> None:
    a, b = RandomSampler(seed=1), RandomSampler(seed=1)
    b.reseed(2)
    h = honed.History([], [honed.Direction.MINIMIZE])
    cur = honed.FrozenTrial(number=0, state=TrialState.RUNNING)
    xa = [a.sample_independent(h, cur, "x", Float(0, 1)) for _ in range(5)]
    xb = [b.sample_independent(h, cur, "x", Float(0, 1)) for _ in range(5)]
    assert xa != xb


# ---- QMC ---------------------------------------------------------------------------------------
def test_qmc_points_are_stratified() -> None:
    study = honed.create_study(sampler=QMCSampler(seed=5))
    space = {"x": Float(0, 1), "y": Float(0, 1)}
    xs, ys = [], []
    for _ in range(16):
        t = study.ask(space)
        xs.append(t.params["x"])
        ys.append(t.params["y"])
        study.tell(t, 0.0)
    # A scrambled Sobol net: each of 16 slices of each axis holds exactly one point.
    assert sorted(int(x * 16) for x in xs) == list(range(16))
    assert sorted(int(y * 16) for y in ys) == list(range(16))


def test_qmc_resumed_study_continues_the_sequence(sqlite_url: str) -> None:
    space = {"x": Float(-1, 1), "n": Int(1, 100, log=True)}
    whole = honed.create_study("whole", storage=sqlite_url, sampler=QMCSampler(seed=3))
    for _ in range(10):
        whole.tell(whole.ask(space), 0.0)
    part = honed.create_study("part", storage=sqlite_url, sampler=QMCSampler(seed=3))
    for _ in range(4):
        part.tell(part.ask(space), 0.0)
    resumed = honed.load_study("part", storage=sqlite_url, sampler=QMCSampler(seed=3))
    for _ in range(6):
        resumed.tell(resumed.ask(space), 0.0)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]


def test_qmc_define_by_run_uses_the_shared_space() -> None:
    study = honed.create_study(sampler=QMCSampler(seed=0))
    study.optimize(lambda t: t.float("x", 0, 1), n_trials=32, show_progress=False)
    xs = [t.params["x"] for t in study.trials[1:17]]  # joint from trial 1 on
    assert len({int(x * 8) for x in xs}) == 8  # spread over every eighth


# ---- grid ------------------------------------------------------------------------------------
def test_grid_visits_every_point_once_in_seeded_order() -> None:
    grid = {"a": [1, 2, 3], "b": [True, 1, "1"], "c": Float(0, 1, step=0.5)}
    orders = []
    for seed in (0, 0, 1):
        sampler = GridSampler(grid, seed=seed)
        assert sampler.grid_size == 27
        study = honed.create_study(sampler=sampler)

        def objective(t: honed.Trial) -> float:
            t.choice("a", [1, 2, 3])
            t.choice("b", [True, 1, "1"])
            return t.float("c", 0, 1, step=0.5)

        study.optimize(objective, n_trials=100, show_progress=False)
        points = [(t.params["a"], t.params["b"], t.params["c"]) for t in study.trials]
        assert len(points) == 27
        keys = {(a, type(b).__name__, b, c) for a, b, c in points}
        assert len(keys) == 27  # True and 1 are different grid values
        orders.append(points)
    assert orders[0] == orders[1] and orders[0] != orders[2]


def test_grid_stops_even_when_a_point_always_fails() -> None:
    study = honed.create_study(sampler=GridSampler({"x": [0, 1, 2, 3]}, seed=0))

    def objective(t: honed.Trial) -> float:
        x = t.choice("x", [0, 1, 2, 3])
        if x == 2:
            raise RuntimeError("this point always fails")
        return x

    study.optimize(objective, show_progress=False)  # no n_trials: ends with the grid
    assert len(study.trials) == 4
    assert Counter(t.state for t in study.trials)[TrialState.FAILED] == 1


def test_grid_ask_past_exhaustion_repeats_a_point() -> None:
    study = honed.create_study(sampler=GridSampler({"x": [0, 1]}, seed=0))
    xs = []
    for _ in range(3):
        t = study.ask()
        xs.append(t.choice("x", [0, 1]))
        study.tell(t, 0.0)
    assert sorted(xs[:2]) == [0, 1] and xs[2] in (0, 1)


def test_grid_counts_running_trials_whose_parameters_are_not_written_yet() -> None:
    # A worker process writes a trial's parameters with its result; until then the trial
    # holds the point its number starts from, so other workers neither take that point nor
    # ask for more trials when the grid has run out.
    sampler = GridSampler({"x": [0, 1, 2]}, seed=0)
    study = honed.create_study(sampler=sampler)
    running = [study.ask() for _ in range(3)]  # none has asked for x yet
    assert sampler.is_exhausted(study._history())
    study.tell(running[0], 0.0)  # finished without ever asking for x: its point is free again
    assert not sampler.is_exhausted(study._history())
    held = {t.choice("x", [0, 1, 2]) for t in running[1:]}
    late = study.ask()
    assert len(held) == 2 and late.choice("x", [0, 1, 2]) not in held


def test_grid_errors_name_the_parameter() -> None:
    with pytest.raises(SpaceError, match=r"'lr'.*continuous"):
        GridSampler({"lr": Float(0, 1)})
    with pytest.raises(SpaceError, match=r"'depth'.*non-empty list"):
        GridSampler({"depth": []})
    with pytest.raises(SpaceError, match=r"'depth'.*distinct"):
        GridSampler({"depth": [1, 1]})
    with pytest.raises(SpaceError, match="at least one"):
        GridSampler({})
    study = honed.create_study(sampler=GridSampler({"a": [1, 2]}))
    t = study.ask()
    with pytest.raises(SpaceError, match=r"'zz'.*not in the grid"):
        t.float("zz", 0, 1)


def test_huge_grid_needs_no_memory() -> None:
    sampler = GridSampler({f"p{i}": list(range(100)) for i in range(6)}, seed=0)
    assert sampler.grid_size == 100**6
    study = honed.create_study(sampler=sampler)
    seen = set()
    for _ in range(20):
        t = study.ask()
        seen.add(tuple(t.choice(f"p{i}", list(range(100))) for i in range(6)))
        study.tell(t, 0.0)
    assert len(seen) == 20


# ---- registry ----------------------------------------------------------------------------------
def test_samplers_by_name() -> None:
    assert isinstance(get_sampler("random", seed=1), RandomSampler)
    assert isinstance(get_sampler("QMC"), QMCSampler)
    assert isinstance(get_sampler("sobol"), QMCSampler)
    rs = RandomSampler()
    assert get_sampler(rs) is rs
    with pytest.raises(ValueError, match=r"unknown sampler 'nope'.*random"):
        get_sampler("nope")
    with pytest.raises(TypeError, match="Sampler or a name"):
        get_sampler(3)  # type: ignore[arg-type]
    study = honed.create_study(sampler="qmc", seed=4)
    assert isinstance(study.sampler, QMCSampler) and study.sampler.seed == 4


def test_every_sampler_is_exported_from_honed_samplers() -> None:
    import honed.samplers as s
    from honed.samplers import (  # noqa: F401
        AutoSampler,
        CmaEsSampler,
        GPSampler,
        MultiFidelitySampler,
        NSGAIIISampler,
        NSGAIISampler,
        TPESampler,
    )

    for name in s.__all__:
        assert getattr(s, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        s.Nope  # noqa: B018


def test_python_dash_m_honed_is_the_honed_command() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "honed", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: honed ")
