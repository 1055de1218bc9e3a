"""Simplex (mixture-weight) parameters: the encoding, the trial API, declared and YAML spaces,
storage round trips (SQLite and PostgreSQL), the grid lattice, and the errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honed
from honed import Choice, Float, Simplex, SimplexWeight, SpaceError, simplex_weights
from honed.samplers import GridSampler, RandomSampler, TPESampler
from honed.space import SearchSpace, decode_simplex, distribution_from_json, load_space
from honed.storage import get_storage

COMPS = ["web", "code", "books"]


# ---- the encoding ----------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(2, 25),
    frac=st.floats(0.0, 1.0),
    data=st.data(),
)
def test_any_unit_point_decodes_to_exact_weights(k: int, frac: float, data: st.DataObject) -> None:
    m = Simplex([f"c{i}" for i in range(k)], frac / k).min_weight  # a full floor is fitted
    assert m <= frac / k and m > frac / k - 1e-15
    u = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k)))
    w = decode_simplex(u[None, :], m)[0]
    assert sum(w.tolist()) == 1.0
    assert np.all(w >= m)
    assert np.all(w <= 1.0 - (k - 1) * m + 1e-12)


@settings(max_examples=100, deadline=None)
@given(k=st.integers(2, 12), data=st.data())
def test_weights_round_trip_through_the_encoding(k: int, data: st.DataObject) -> None:
    space = SearchSpace(Simplex([f"c{i}" for i in range(k)]).distributions("mix"))
    u = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k)))
    params = space.decode(u[None, :])[0]
    again = space.decode(space.encode([params]))[0]
    assert max(abs(params[n] - again[n]) for n in space) < 1e-12
    assert sum(again.values()) == 1.0
    # project() is idempotent and lands on the encoding of the decoded point
    p = space.project(u)
    assert np.allclose(space.project(p), p, atol=1e-12)
    assert np.allclose(p, space.encode([params])[0], atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_uniform_unit_points_are_uniform_on_the_simplex(k: int) -> None:
    # Dirichlet(1): each weight's marginal is Beta(1, k - 1), P(w < x) = 1 - (1 - x)^(k - 1)
    space = SearchSpace(Simplex([f"c{i}" for i in range(k)]).distributions("m"))
    u = np.random.default_rng(0).random((20000, k))
    w = np.array([[p[n] for n in space] for p in space.decode(u)])
    for x in (0.05, 0.2, 0.5):
        expected = 1 - (1 - x) ** (k - 1)
        assert abs(np.mean(w[:, 0] < x) - expected) < 0.015, (x, expected)
        assert abs(np.mean(w[:, -1] < x) - expected) < 0.015  # every component alike
    # and the last component is not special: the pairwise means agree
    assert np.allclose(w.mean(axis=0), 1 / k, atol=0.01)


def test_min_weight_shrinks_the_simplex_uniformly() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=1))
    ws = []
    for _ in range(4000):
        t = study.ask()
        ws.append(list(t.simplex("mix", COMPS, min_weight=0.2).values()))
        study.tell(t, 0.0)
    w = np.array(ws)
    assert w.min() >= 0.2 and w.max() <= 0.6 + 1e-12
    assert all(sum(row) == 1.0 for row in w.tolist())
    # the free share (w - 0.2) / 0.4 is Dirichlet(1): P(share < 0.5) = 0.75
    share = (w[:, 1] - 0.2) / 0.4
    assert abs(np.mean(share < 0.5) - 0.75) < 0.03


def test_per_parameter_encoding_is_monotone_and_bounded() -> None:
    d = Simplex(COMPS, min_weight=0.1).distributions("mix")["mix.code"]
    xs = np.linspace(d.low, d.high, 50)
    us = d.to_unit_array(xs)
    assert np.all(np.diff(us) > 0) and us[0] == 0.0 and us[-1] <= 1.0
    assert all(abs(d.from_unit(d.to_unit(x)) - x) < 1e-12 for x in xs)
    assert d.contains(0.1) and d.contains(0.8) and not d.contains(0.05) and not d.contains(0.81)


def test_a_full_floor_leaves_one_point() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))
    t = study.ask()
    w = t.simplex("mix", ["a", "b", "c", "d"], min_weight=0.25)
    assert w == {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}


# ---- the trial API and the record --------------------------------------------------------------
def test_trial_simplex_stores_one_parameter_per_component() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))
    t = study.ask()
    w = t.simplex("mix", COMPS, min_weight=0.05)
    assert list(w) == COMPS and sum(w.values()) == 1.0
    assert list(t.params) == ["mix.web", "mix.code", "mix.books"]
    d = t.distributions["mix.code"]
    assert isinstance(d, SimplexWeight)
    assert (d.group, d.components, d.component, d.min_weight) == ("mix", tuple(COMPS), "code", 0.05)
    assert t.simplex("mix", COMPS, min_weight=0.05) == w  # asking again gives the same
    study.tell(t, 1.0)
    assert simplex_weights(study.best_params, "mix") == w
    frame = study.to_dataframe()
    assert {"params_mix.web", "params_mix.code", "params_mix.books"} <= set(frame.columns)


def test_simplex_weights_rejects_what_is_not_one_simplex() -> None:
    with pytest.raises(KeyError, match="no weights of simplex 'mix'"):
        simplex_weights({"lr": 0.1}, "mix")
    with pytest.raises(ValueError, match=r"sum to 0\.7"):
        simplex_weights({"mix.a": 0.3, "mix.b": 0.4}, "mix")
    # nested names belong to another simplex ("mix.sub"), not to "mix"
    w = simplex_weights({"mix.a": 0.5, "mix.b": 0.5, "mix.sub.x": 1.0}, "mix")
    assert w == {"a": 0.5, "b": 0.5}


def test_enqueued_weights_are_run_and_must_sum_to_one() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))
    study.enqueue({"mix.web": 0.5, "mix.code": 0.25, "mix.books": 0.25})
    t = study.ask()
    assert t.simplex("mix", COMPS) == {"web": 0.5, "code": 0.25, "books": 0.25}
    study.tell(t, 0.0)
    study.enqueue({"mix.web": 0.5, "mix.code": 0.4, "mix.books": 0.4})
    with pytest.raises(SpaceError, match="sum to 1"):
        study.ask().simplex("mix", COMPS)
    study.enqueue({"mix.web": 0.5})
    with pytest.raises(SpaceError, match="enqueue every weight"):
        study.ask().simplex("mix", COMPS)


def test_the_study_models_a_simplex_better_than_chance() -> None:
    target = np.array([0.7, 0.2, 0.1])

    def objective(trial: honed.Trial) -> float:
        w = np.array(list(trial.simplex("mix", COMPS).values()))
        return float(np.sum((w - target) ** 2))

    best = []
    for sampler in (RandomSampler(seed=3), TPESampler(seed=3)):
        study = honed.create_study(sampler=sampler)
        study.optimize(objective, n_trials=60, show_progress=False)
        best.append(study.best_value)
    assert best[1] < best[0]


# ---- declared and YAML spaces -------------------------------------------------------------------
def test_declared_simplex_inside_a_branch(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(
        "lr: {type: float, low: 0.001, high: 0.1, log: true}\n"
        "data:\n"
        "  type: choice\n"
        "  branches:\n"
        "    mixed:\n"
        "      mix: {type: simplex, components: [web, code, books], min_weight: 0.1}\n"
        "    single: {}\n"
    )
    tree = load_space(path)
    assert "mix.web" in tree["data"].branches["mixed"]  # type: ignore[attr-defined]
    study = honed.create_study(sampler=RandomSampler(seed=0))
    kinds = set()
    for _ in range(20):
        t = study.ask(tree)
        kinds.add(t.params["data"])
        if t.params["data"] == "mixed":
            w = simplex_weights(t.params, "mix")
            assert sum(w.values()) == 1.0 and min(w.values()) >= 0.1
        else:
            assert not any(k.startswith("mix.") for k in t.params)
        study.tell(t, 0.0)
    assert kinds == {"mixed", "single"}


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"type": "simplex"}, "needs 'components'"),
        ({"type": "simplex", "components": ["a"]}, "at least 2 components"),
        ({"type": "simplex", "components": ["a", "a"]}, "distinct, repeated: a"),
        ({"type": "simplex", "components": ["a", 3]}, "non-empty strings, got 3"),
        ({"type": "simplex", "components": "abc"}, "a list of component names"),
        ({"type": "simplex", "components": ["a.b", "c"]}, "contains a '.'"),
        ({"type": "simplex", "components": ["a", "b"], "min_weight": 0.6}, "use min_weight <= 0.5"),
        ({"type": "simplex", "components": ["a", "b"], "min_weight": -0.1}, "a number >= 0"),
        ({"type": "simplex", "components": ["a", "b"], "floor": 0.1}, "unknown simplex keys"),
    ],
)
def test_declarative_simplex_errors_name_the_parameter(spec: dict, fragment: str) -> None:
    with pytest.raises(SpaceError, match="parameter 'mix'") as e:
        load_space({"mix": spec})
    assert fragment in str(e.value)


def test_trial_simplex_errors_name_the_parameter_and_the_fix() -> None:
    study = honed.create_study(sampler=RandomSampler(seed=0))
    t = study.ask()
    with pytest.raises(SpaceError, match=r"parameter 'mix': a simplex needs at least 2"):
        t.simplex("mix", ["web"])
    with pytest.raises(SpaceError, match=r"parameter 'mix': .*min_weight <= 0.333333"):
        t.simplex("mix", COMPS, min_weight=0.4)
    with pytest.raises(SpaceError, match=r"'\.'"):
        t.simplex("mix", ["web.en", "code"])
    t.simplex("mix", COMPS)
    with pytest.raises(SpaceError, match="one set of components and min_weight"):
        t.simplex("mix", ["web", "code"])
    with pytest.raises(SpaceError, match="one set of components and min_weight"):
        t.simplex("mix", COMPS, min_weight=0.1)
    with pytest.raises(SpaceError, match="named like a weight of simplex 'mix'"):
        t.float("mix.extra", 0.0, 1.0)
    t.float("lr", 0.0, 1.0)
    t2 = study.ask()
    t2.float("mix.web", 0.0, 1.0)
    with pytest.raises(SpaceError, match=r"already sampled|named like one of its weights"):
        t2.simplex("mix", COMPS)


def test_a_name_reused_across_branches_is_refused() -> None:
    with pytest.raises(SpaceError, match=r"'mix\.web' appears twice"):
        load_space({"mix": Simplex(COMPS), "mix.web": Float(0, 1)})


# ---- storage -----------------------------------------------------------------------------------
def _round_trip(url: str) -> None:
    store, other = get_storage(url), get_storage(url)  # a second engine reads it back
    try:
        study = honed.create_study(storage=store, name="mixes", sampler=RandomSampler(seed=0))
        space = {"mix": Simplex(COMPS, min_weight=0.05), "opt": Choice(["a", "b"])}
        for _ in range(3):
            t = study.ask(space)
            study.tell(t, float(t.params["mix.web"]))
        again = honed.load_study("mixes", storage=other, sampler=TPESampler(seed=0))
        for before, after in zip(study.trials, again.trials, strict=True):
            assert before.params == after.params
            assert after.distributions == before.distributions
            w = simplex_weights(after.params, "mix")
            assert sum(w.values()) == 1.0
            d = after.distributions["mix.books"]
            assert isinstance(d, SimplexWeight)
            assert d.min_weight == 0.05 and d.components == tuple(COMPS)
        # a sampler rebuilds the group from the stored history alone
        t = again.ask()
        w = t.simplex("mix", COMPS, min_weight=0.05)
        assert sum(w.values()) == 1.0 and min(w.values()) >= 0.05
    finally:
        store.close()
        other.close()


def test_sqlite_round_trip(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'mix.db'}")


def test_journal_round_trip(tmp_path: Path) -> None:
    _round_trip(f"journal:///{tmp_path / 'mix.log'}")


def test_postgresql_round_trip(pg_url: str) -> None:
    _round_trip(pg_url)


def test_json_round_trip() -> None:
    for d in Simplex(COMPS, min_weight=0.1).distributions("data.mix").values():
        assert distribution_from_json(d.to_json()) == d


# ---- grid ---------------------------------------------------------------------------------------
def test_grid_tries_the_simplex_lattice_once_each() -> None:
    grid = GridSampler({"mix": Simplex(COMPS), "opt": ["a", "b"]}, seed=0, simplex_divisions=3)
    assert grid.grid_size == math.comb(3 + 2, 2) * 2
    study = honed.create_study(sampler=grid)

    def objective(trial: honed.Trial) -> float:
        w = trial.simplex("mix", COMPS)
        return w["web"] + (trial.choice("opt", ["a", "b"]) == "a")

    study.optimize(objective, n_trials=100, show_progress=False)
    points = {tuple(t.params.values()) for t in study.trials}
    assert len(study.trials) == len(points) == grid.grid_size
    for t in study.trials:
        w = simplex_weights(t.params, "mix")
        assert sum(w.values()) == 1.0
        assert all(abs(v * 3 - round(v * 3)) < 1e-9 for v in w.values())
    with pytest.raises(SpaceError, match="integer >= 1"):
        GridSampler({"mix": Simplex(COMPS)}, simplex_divisions=0)


# ---- population-based training ------------------------------------------------------------------
def test_pbt_explore_keeps_a_simplex_on_the_simplex() -> None:
    from honed.schedulers import PopulationBasedTraining

    dists = dict(Simplex(COMPS, min_weight=0.1).distributions("mix"))
    params = {"mix.web": 0.6, "mix.code": 0.3, "mix.books": 0.1}
    pbt = PopulationBasedTraining(resample_probability=0.3)
    rng = np.random.default_rng(0)
    moved = 0
    for _ in range(50):
        out = pbt.explore(params, dists, rng)
        w = simplex_weights(out, "mix")
        assert sum(w.values()) == 1.0 and min(w.values()) >= 0.1
        moved += out != params
    assert moved > 40


# ---- objectives in worker processes -----------------------------------------------------------
def _mix_objective(trial: honed.Trial) -> float:
    w = trial.simplex("mix", COMPS, min_weight=0.1)
    assert sum(w.values()) == 1.0
    assert simplex_weights(trial.params, "mix") == w  # the worker sees every weight
    return w["web"]


def test_a_worker_process_gets_the_whole_simplex() -> None:
    study = honed.create_study(sampler=TPESampler(seed=0, n_startup_trials=2))
    study.optimize(_mix_objective, n_trials=4, n_jobs=2, executor="process", show_progress=False)
    assert [t.state for t in study.trials] == [honed.TrialState.COMPLETE] * 4
    for t in study.trials:
        assert sum(simplex_weights(t.params, "mix").values()) == 1.0
