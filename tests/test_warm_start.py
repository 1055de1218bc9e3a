"""study.add_trials and create_study(warm_start=...): trials from elsewhere, checked where
they enter, kept in the study's own storage, and learned from by TPE, GP and the default."""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import honed
from honed import Choice, Float, FrozenTrial, Int, TrialState
from honed.history import History, Source
from honed.samplers._transfer import Transfer
from honed.trial import Direction

SPACE = {"x": Float(-5.0, 5.0), "y": Float(-5.0, 5.0)}


def _bowl(cx: float, cy: float):
    def objective(trial: honed.Trial) -> float:
        return (trial.params["x"] - cx) ** 2 + (trial.params["y"] - cy) ** 2

    return objective


def _source(storage=None, *, n: int = 20, centre=(2.0, 2.0), name: str | None = None):
    study = honed.create_study(name, storage, sampler="tpe", seed=0)
    study.optimize(_bowl(*centre), n_trials=n, space=SPACE, show_progress=False)
    return study


# ---- add_trials ----------------------------------------------------------------------------


def test_add_trials_from_another_backend(tmp_path: Path) -> None:
    source = _source(n=8)
    target = honed.create_study("t", tmp_path / "t.db")
    added = target.add_trials(source.trials)
    assert [t.number for t in added] == list(range(8))
    assert [t.values for t in added] == [t.values for t in source.trials]
    assert [dict(t.params) for t in added] == [dict(t.params) for t in source.trials]
    reloaded = honed.load_study("t", tmp_path / "t.db")
    assert reloaded.best_value == source.best_value
    reloaded.optimize(_bowl(2, 2), n_trials=2, space=SPACE, show_progress=False)
    assert [t.number for t in reloaded.trials] == list(range(10))


def test_add_hand_built_trials_with_a_space() -> None:
    study = honed.create_study(sampler="tpe", seed=1)
    trials = [
        FrozenTrial(0, TrialState.COMPLETE, params={"x": float(i), "y": 0.0}, values=(i * 1.0,))
        for i in range(-3, 3)
    ]
    added = study.add_trials(trials, space=SPACE)
    assert all(dict(t.distributions) == SPACE for t in added)
    assert study.best_params == {"x": -3.0, "y": 0.0}
    study.optimize(_bowl(0, 0), n_trials=3, space=SPACE, show_progress=False)
    assert len(study.trials) == 9


@pytest.mark.parametrize(
    ("trial", "says"),
    [
        (
            FrozenTrial(5, TrialState.COMPLETE, {"x": 1.0}, {"x": Float(0, 2)}, (1.0, 2.0)),
            "has 2 value(s) [1.0, 2.0] but the study has 1 direction(s): give one value per",
        ),
        (
            FrozenTrial(5, TrialState.COMPLETE, {"x": 1.0}, {"x": Float(0, 2)}, (math.nan,)),
            "is COMPLETE with value nan, not a finite number: drop the trial, or add it as FAILED",
        ),
        (
            FrozenTrial(5, TrialState.COMPLETE, {"x": 3.0}, {"x": Float(0, 2)}, (1.0,)),
            "has x=3.0, outside Float(",
        ),
        (
            FrozenTrial(5, TrialState.COMPLETE, {"x": 1.0}, {}, (1.0,)),
            "has parameter 'x' without a distribution: give the trial distributions=",
        ),
        (FrozenTrial(5, TrialState.RUNNING, {"x": 1.0}, {"x": Float(0, 2)}), "is RUNNING"),
        (FrozenTrial(5, TrialState.COMPLETE), "is COMPLETE without values"),
    ],
)
def test_bad_trials_are_named_with_the_fix(trial: FrozenTrial, says: str) -> None:
    study = honed.create_study()
    good = FrozenTrial(0, TrialState.COMPLETE, {"x": 1.0}, {"x": Float(0, 2)}, (1.0,))
    with pytest.raises(ValueError) as err:
        study.add_trials([good, trial])
    text = str(err.value)
    assert "1 of 2 trial(s) cannot be added, so none was" in text
    assert "trial at index 1 (number 5)" in text and says in text
    assert study.trials == []


def test_params_outside_the_given_space_are_refused() -> None:
    study = honed.create_study()
    trial = FrozenTrial(0, TrialState.COMPLETE, {"x": 1.0, "z": 2}, {}, (1.0,))
    with pytest.raises(ValueError, match="'z', which is not in the given space"):
        study.add_trials([trial], space=SPACE)
    with pytest.raises(ValueError, match=r"x=9.0, outside Float"):
        study.add_trials([replace(trial, params={"x": 9.0})], space=SPACE)
    with pytest.raises(TypeError, match=r"list of honed\.FrozenTrial"):
        study.add_trials(trial)  # type: ignore[arg-type]


def test_failed_and_pruned_trials_are_kept_as_such() -> None:
    study = honed.create_study(directions=["minimize", "maximize"])
    added = study.add_trials(
        [
            FrozenTrial(0, TrialState.FAILED, values=(1.0, 2.0)),  # values of a failure: dropped
            FrozenTrial(1, TrialState.PRUNED, values=(1.0, 2.0)),
            FrozenTrial(2, TrialState.COMPLETE, values=(1.0, 2.0)),
        ]
    )
    assert [(t.state, t.values) for t in added] == [
        (TrialState.FAILED, None),
        (TrialState.PRUNED, (1.0, 2.0)),
        (TrialState.COMPLETE, (1.0, 2.0)),
    ]
    assert [t.number for t in study.best_trials] == [2]


# ---- warm start: what is stored ------------------------------------------------------------


def test_sources_are_copied_and_survive_the_original(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    source = _source(db, n=6, name="old")
    target = honed.create_study("new", db, warm_start=source)
    assert [s.name for s in target.sources] == ["old"]
    original = [dict(t.params) for t in source.trials]
    honed.delete_study("old", db)
    resumed = honed.load_study("new", db)
    (src,) = resumed.sources
    assert src.name == "old" and len(src.trials) == 6
    assert [dict(t.params) for t in src.trials] == original
    # The copies are part of the study: deleting it deletes them.
    names = {s.name for s in honed.storage.get_storage(db).list_studies()}
    assert names == {"new", "new:warm-start:0"}
    honed.delete_study("new", db)
    assert honed.storage.get_storage(db).list_studies() == []


def test_source_on_another_backend(tmp_path: Path) -> None:
    from_file = _source(tmp_path / "src.db", n=12)
    target = honed.create_study(sampler="gp", seed=0, warm_start=from_file)
    target.optimize(_bowl(2, 2), n_trials=1, space=SPACE, show_progress=False)
    # GP's first start point is the source's best configuration.
    assert dict(target.trials[0].params) == from_file.best_params
    # ...and the other way round: an in-memory source into a SQLite study.
    in_memory = _source(n=12)
    on_file = honed.create_study("t", tmp_path / "t.db", warm_start=[in_memory])
    assert len(honed.load_study("t", tmp_path / "t.db").sources[0].trials) == 12
    assert on_file.sources[0].directions == (Direction.MINIMIZE,)


def test_nan_in_imported_trials_names_the_trial_and_creates_nothing(tmp_path: Path) -> None:
    trials = [
        FrozenTrial(0, TrialState.COMPLETE, {"x": 1.0}, {"x": Float(0, 2)}, (1.0,)),
        FrozenTrial(7, TrialState.COMPLETE, {"x": 1.5}, {"x": Float(0, 2)}, (math.nan,)),
    ]
    with pytest.raises(
        ValueError, match=r"(?s)warm_start trials: 1 of 2 .*number 7\) is COMPLETE with value nan"
    ):
        honed.create_study("w", tmp_path / "w.db", warm_start=trials)
    assert honed.storage.get_storage(tmp_path / "w.db").list_studies() == []


def test_warm_start_type_errors() -> None:
    with pytest.raises(TypeError, match="warm_start takes a Study"):
        honed.create_study(warm_start="old-study")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a list of FrozenTrial, Study"):
        honed.create_study(
            warm_start=[honed.create_study(), FrozenTrial(0, TrialState.FAILED)]  # type: ignore[list-item]
        )


def test_load_if_exists_keeps_the_stored_sources(caplog: pytest.LogCaptureFixture) -> None:
    storage = honed.storage.InMemoryStorage()
    first, second = _source(n=3), _source(n=4)
    honed.create_study("s", storage, warm_start=first)
    with caplog.at_level(logging.INFO, logger="honed.warm_start"):
        again = honed.create_study("s", storage, load_if_exists=True, warm_start=second)
    assert len(again.sources[0].trials) == 3
    assert "has its sources already" in caplog.text


# ---- warm start: what samplers do ----------------------------------------------------------


@pytest.mark.parametrize("sampler", ["tpe", "gp", None])
def test_first_trial_tries_the_sources_best(sampler: str | None) -> None:
    source = _source(n=20)
    study = honed.create_study(sampler=sampler, seed=3, warm_start=source)
    study.optimize(_bowl(2.2, 1.8), n_trials=12, space=SPACE, show_progress=False)
    assert dict(study.trials[0].params) == source.best_params
    cold = honed.create_study(sampler=sampler, seed=3)
    cold.optimize(_bowl(2.2, 1.8), n_trials=12, space=SPACE, show_progress=False)
    assert study.best_value < cold.best_value


def test_a_source_with_another_space() -> None:
    # The source has 'z' (the target lacks it), lacks 'w' (the target's new parameter), and
    # tried 'x' over a wider range than the target's.
    source = honed.create_study(sampler="tpe", seed=0)
    wide = {"x": Float(-10.0, 10.0), "y": Float(-5.0, 5.0), "z": Int(0, 3)}

    def objective(trial: honed.Trial) -> float:
        return (trial.params["x"] + 4) ** 2 + (trial.params["y"] - 1) ** 2

    source.optimize(objective, n_trials=25, space=wide, show_progress=False)
    target_space = {"x": Float(-5.0, 0.0), "y": Float(-5.0, 5.0), "w": Choice(["a", "b"])}
    for sampler in ("tpe", "gp", None):
        study = honed.create_study(sampler=sampler, seed=0, warm_start=source)
        study.optimize(objective, n_trials=14, space=target_space, show_progress=False)
        first = study.trials[0].params
        assert set(first) == {"x", "y", "w"}
        assert -5.0 <= first["x"] <= 0.0
        # The source's best configuration inside the target's range, on shared parameters.
        inside = [t for t in source.trials if -5.0 <= t.params["x"] <= 0.0]
        best = min(inside, key=lambda t: t.values)
        assert (first["x"], first["y"]) == (best.params["x"], best.params["y"])


def test_values_outside_the_target_range_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    source = honed.create_study(sampler="random", seed=0)
    source.optimize(
        _bowl(0, 0),
        n_trials=10,
        space={"x": Float(-50, 50), "y": Float(-5, 5)},
        show_progress=False,
    )
    source.set_user_attr("k", 1)
    with caplog.at_level(logging.INFO, logger="honed.warm_start"):
        study = honed.create_study(name="logged-range", sampler="tpe", seed=0, warm_start=source)
        study.optimize(_bowl(0, 0), n_trials=2, space=SPACE, show_progress=False)
    assert (
        "outside the target's Float(-5.0, 5.0" in caplog.text
        or "outside the target's" in caplog.text
    )


@pytest.mark.parametrize("kind", ["empty", "failed"])
def test_a_source_that_teaches_nothing(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    source = honed.create_study()
    if kind == "failed":

        def boom(trial: honed.Trial) -> float:
            trial.float("x", -5, 5)
            raise RuntimeError("no")

        source.optimize(boom, n_trials=3, show_progress=False)
    with caplog.at_level(logging.INFO, logger="honed.warm_start"):
        study = honed.create_study(sampler="tpe", seed=0, warm_start=source)
    cold = honed.create_study(sampler="tpe", seed=0)
    for s in (study, cold):
        s.optimize(_bowl(1, 1), n_trials=12, space=SPACE, show_progress=False)
    # Nothing to learn: the same proposals as a cold start.
    assert [t.params for t in study.trials] == [t.params for t in cold.trials]
    if kind == "failed":
        assert "has no complete trial (of 3)" in caplog.text


def test_a_misleading_source_loses_its_weight() -> None:
    rng = np.random.default_rng(0)
    dists = {"x": Float(0.0, 1.0)}

    def trial(number: int, x: float, value: float) -> FrozenTrial:
        return FrozenTrial(number, TrialState.COMPLETE, {"x": x}, dists, (value,))

    xs = rng.uniform(0, 1, 30)
    good = Source("good", (Direction.MINIMIZE,), tuple(trial(i, x, x) for i, x in enumerate(xs)))
    bad = Source("bad", (Direction.MINIMIZE,), tuple(trial(i, x, -x) for i, x in enumerate(xs)))
    target = [trial(i, x, x + 0.05) for i, x in enumerate(rng.uniform(0, 1, 8))]
    # No evidence yet: both trusted alike.
    early = Transfer(History(target[:2], (Direction.MINIMIZE,), (good, bad)), dists)
    assert list(early.weights) == [0.5, 0.5]
    tr = Transfer(History(target, (Direction.MINIMIZE,), (good, bad)), dists)
    assert tr.weights[0] > 0.5 and tr.weights[1] == 0.0


def test_multi_objective_sources() -> None:
    def two(trial: honed.Trial) -> tuple[float, float]:
        x, y = trial.params["x"], trial.params["y"]
        return (x - 1) ** 2 + y**2, (x + 1) ** 2 + y**2

    source = honed.create_study(directions=["minimize", "minimize"], sampler="tpe", seed=0)
    source.optimize(two, n_trials=20, space=SPACE, show_progress=False)
    front = {(t.params["x"], t.params["y"]) for t in source.best_trials}
    for sampler in ("tpe", None):
        study = honed.create_study(
            directions=["minimize", "minimize"], sampler=sampler, seed=0, warm_start=source
        )
        study.optimize(two, n_trials=14, space=SPACE, show_progress=False)
        assert (study.trials[0].params["x"], study.trials[0].params["y"]) in front
        assert len(study.trials) == 14
    # A multi-objective source for a single-objective study: ranked by its fronts.
    single = honed.create_study(sampler="tpe", seed=0, warm_start=source)
    single.optimize(lambda t: sum(two(t)), n_trials=12, space=SPACE, show_progress=False)
    assert (single.trials[0].params["x"], single.trials[0].params["y"]) in front


def test_define_by_run_target() -> None:
    source = _source(n=15)

    def objective(trial: honed.Trial) -> float:
        return (trial.float("x", -5, 5) - 2) ** 2 + (trial.float("y", -5, 5) - 2) ** 2

    for sampler in ("tpe", "gp", None):
        study = honed.create_study(sampler=sampler, seed=0, warm_start=source)
        study.optimize(objective, n_trials=12, show_progress=False)
        assert dict(study.trials[0].params) == source.best_params


def test_the_gp_keeps_the_sources_as_its_prior_mean() -> None:
    """After its initial design the GP models the target's residuals from the sources' trend
    (a prior mean), so it keeps using a related source; a source that ranks the target's
    better trials the wrong way round gives no mean at all."""
    from honed.samplers.gp._sampler import _Encoder, _source_mean
    from honed.space import SearchSpace

    rng = np.random.default_rng(1)
    dists = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}

    def trial(number: int, p: np.ndarray, value: float) -> FrozenTrial:
        return FrozenTrial(number, TrialState.COMPLETE, {"x": p[0], "y": p[1]}, dists, (value,))

    def bowl(p: np.ndarray, centre: float) -> float:
        return float(np.sum((p - centre) ** 2))

    pts = rng.uniform(0, 1, (40, 2))
    related = Source(
        "related",
        (Direction.MINIMIZE,),
        tuple(trial(i, p, bowl(p, 0.3)) for i, p in enumerate(pts)),
    )
    inverted = Source(
        "inverted",
        (Direction.MINIMIZE,),
        tuple(trial(i, p, -bowl(p, 0.3)) for i, p in enumerate(pts)),
    )
    target_pts = rng.uniform(0, 1, (12, 2))
    target = [trial(i, p, bowl(p, 0.35)) for i, p in enumerate(target_pts)]
    space = SearchSpace(dists)
    enc = _Encoder(space)
    x = enc.encode([t.params for t in target])
    y = np.array([t.values[0] for t in target])
    y = (y - y.mean()) / y.std()

    mean = _source_mean(History(target, (Direction.MINIMIZE,), (related,)), space, enc, x, y)
    assert mean is not None
    values, _ = mean(np.array([[0.3, 0.3], [0.9, 0.9]]), False)
    assert values[0] < values[1]  # low where the source was good
    # its gradient is the derivative of its values
    p = np.array([[0.6, 0.45]])
    value, g = mean(p, True)
    assert g is not None
    assert value == pytest.approx(mean(p, False)[0])  # the same values either way
    eps = 1e-6
    for j in range(2):
        e = np.zeros((1, 2))
        e[0, j] = eps
        num = (mean(p + e, False)[0][0] - mean(p - e, False)[0][0]) / (2 * eps)
        assert g[0, j] == pytest.approx(num, rel=1e-4, abs=1e-8)
    assert (
        _source_mean(History(target, (Direction.MINIMIZE,), (inverted,)), space, enc, x, y) is None
    )
    assert _source_mean(History(target, (Direction.MINIMIZE,), ()), space, enc, x, y) is None


def test_a_gp_with_a_prior_mean_predicts_it_plus_the_residual_model() -> None:
    from honed.samplers.gp._model import GP

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (15, 2))
    y = np.sin(3 * x[:, 0]) + x[:, 1]
    theta = np.array([np.log(0.3), np.log(0.3), 0.0, np.log(1e-6)])
    is_cat = np.zeros(2, dtype=bool)

    def mean(xq: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        slope = np.column_stack([np.zeros(len(xq)), np.full(len(xq), 2.0)])
        return 2.0 * xq[:, 1], slope if grad else None

    plain, shifted = GP(x, y, is_cat, theta), GP(x, y, is_cat, theta, mean)
    # both interpolate the data
    assert shifted.predict(x)[0] == pytest.approx(y, abs=1e-3)
    assert plain.predict(x)[0] == pytest.approx(y, abs=1e-3)
    # far from the data the shifted model falls back on its mean, the plain one on zero
    far = np.array([[5.0, 5.0]])
    assert shifted.predict(far)[0][0] == pytest.approx(10.0, abs=0.05)
    assert abs(plain.predict(far)[0][0]) < 0.05
    # gradients include the mean's, and fantasies keep it
    xq = np.array([[0.4, 0.7]])
    _, _, dm, _ = shifted.predict(xq, grad=True)
    eps = 1e-6
    for j in range(2):
        e = np.zeros((1, 2))
        e[0, j] = eps
        num = (shifted.predict(xq + e)[0][0] - shifted.predict(xq - e)[0][0]) / (2 * eps)
        assert dm[0, j] == pytest.approx(num, rel=1e-4, abs=1e-6)
    fantasy = shifted.condition_on(far, np.array([10.0]))
    assert fantasy.mean is mean
    assert fantasy.predict(far)[0][0] == pytest.approx(10.0, abs=1e-3)
