"""Fixed parameters (``optimize/ask(fixed_params=...)``) with every sampler, and FixedTrial."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest

import honed
from honed.samplers import GridSampler, MultiFidelitySampler
from honed.samplers.tpe import TPESampler
from honed.schedulers import ASHA

N_TRIALS = 14


def _objective(trial: honed.Trial) -> float:
    lr = trial.float("lr", 1e-5, 1e-1, log=True)
    x = trial.float("x", -5.0, 5.0)
    k = trial.int("k", 0, 6)
    opt = trial.choice("opt", ["adam", "sgd"])
    return (x - 1) ** 2 + (k - 3) ** 2 + lr + (opt == "sgd")


@pytest.mark.parametrize("sampler", ["random", "qmc", "tpe", "gp", "cmaes", "auto"])
def test_every_sampler_searches_the_free_parameters(sampler: str) -> None:
    study = honed.create_study(sampler=sampler, seed=1)
    # Some history without the fixed value first: joint models then drop "lr" from their
    # space while the history still holds other values of it.
    study.optimize(_objective, n_trials=4, show_progress=False)
    study.optimize(
        _objective, n_trials=N_TRIALS, fixed_params={"lr": 1e-3, "opt": "sgd"}, show_progress=False
    )
    fixed = study.trials[4:]
    assert all(t.state is honed.TrialState.COMPLETE for t in fixed)
    assert {t.params["lr"] for t in fixed} == {1e-3}
    assert {t.params["opt"] for t in fixed} == {"sgd"}
    assert all(t.distributions["lr"] == honed.Float(1e-5, 1e-1, log=True) for t in fixed)
    # the free parameters are searched: many distinct values, all in range
    xs = [t.params["x"] for t in fixed]
    assert len(set(xs)) >= N_TRIALS - 2
    assert all(-5 <= x <= 5 for x in xs)
    assert len({t.params["k"] for t in fixed}) >= 3


@pytest.mark.parametrize("sampler", ["nsga2", "tpe", "gp"])
def test_multi_objective_samplers_search_the_free_parameters(sampler: str) -> None:
    study = honed.create_study(directions=["minimize", "minimize"], sampler=sampler, seed=0)

    def objective(trial: honed.Trial) -> tuple[float, float]:
        a = trial.float("a", 0, 1)
        b = trial.float("b", 0, 1)
        c = trial.choice("c", [1, 2, 3])
        return a + b * c, (1 - a) + b

    study.optimize(objective, n_trials=12, fixed_params={"c": 2}, show_progress=False)
    assert {t.params["c"] for t in study.trials} == {2}
    assert len({t.params["a"] for t in study.trials}) >= 10


def test_grid_runs_each_point_with_the_fixed_values_and_refuses_to_fix_its_own() -> None:
    study = honed.create_study(sampler=GridSampler({"x": [0.0, 1.0, 2.0]}, seed=0))

    def objective(trial: honed.Trial) -> float:
        return trial.float("x", 0, 2) + trial.float("lr", 0, 1)

    study.optimize(objective, fixed_params={"lr": 0.5}, show_progress=False)  # grid exhausts
    assert sorted(t.params["x"] for t in study.trials) == [0.0, 1.0, 2.0]
    assert {t.params["lr"] for t in study.trials} == {0.5}
    fresh = honed.create_study(sampler=GridSampler({"x": [0.0, 1.0, 2.0]}, seed=0))
    with pytest.raises(honed.SpaceError, match=r"fixes \['x'\], which GridSampler enumerates"):
        fresh.optimize(objective, n_trials=1, fixed_params={"x": 1.0}, show_progress=False)
    assert fresh.trials == []


def test_multi_fidelity_sampler_and_a_scheduler() -> None:
    asha = ASHA(min_resource=1, max_resource=4)
    study = honed.create_study(sampler=MultiFidelitySampler(TPESampler(seed=0), asha), seed=0)
    study.scheduler = asha

    def objective(trial: honed.Trial) -> float:
        x = trial.float("x", -3, 3)
        width = trial.int("width", 8, 64)
        for step in range(1, 5):
            trial.report(x**2 + 1 / step + width / 1000, step)
        return x**2 + width / 1000

    study.optimize(objective, n_trials=12, fixed_params={"width": 32}, show_progress=False)
    assert {t.params["width"] for t in study.trials} == {32}


def test_declared_space_gets_the_fixed_value_at_ask_and_checks_it_there() -> None:
    space = {
        "lr": honed.Float(1e-5, 1e-1, log=True),
        "model": honed.Choice({"mlp": {"width": honed.Int(8, 64)}, "linear": {}}),
    }
    study = honed.create_study(sampler="tpe", seed=0)
    trial = study.ask(space, fixed_params={"model": "mlp"})
    assert trial.params["model"] == "mlp" and 8 <= trial.params["width"] <= 64
    study.tell(trial, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "width" is in a branch some trials do not take
        study.optimize(
            lambda t: t.params["lr"],
            n_trials=5,
            space=space,
            fixed_params={"lr": 0.01, "width": 16},
            show_progress=False,
        )
    assert [t.params["lr"] for t in study.trials[1:]] == [0.01] * 5
    assert all(t.params.get("width", 16) == 16 for t in study.trials[1:])
    with pytest.raises(honed.SpaceError, match=r"names \['lrr'\] that the space does not declare"):
        study.ask(space, fixed_params={"lrr": 0.01})
    with pytest.raises(honed.SpaceError, match=r"fixed value 0\.5 of parameter 'lr' is outside"):
        study.ask(space, fixed_params={"lr": 0.5})
    with pytest.raises(honed.SpaceError, match="fixed value 'cnn' of parameter 'model'"):
        study.ask(space, fixed_params={"model": "cnn"})
    with pytest.raises(TypeError, match="fixed_params must be a dict"):
        study.ask(space, fixed_params=[("lr", 0.01)])  # type: ignore[arg-type]
    with pytest.raises(honed.SpaceError, match="fixed value"):
        study.ask(space, fixed_params={"lr": float("nan")})
    # refused at ask: no trial was started for them
    assert len(study.trials) == 6


def test_a_value_outside_the_asked_range_stops_optimize_after_one_failed_trial() -> None:
    study = honed.create_study(sampler="random", seed=0)
    with pytest.raises(honed.SpaceError, match=r"fixed value 2\.0 of parameter 'lr' is outside"):
        study.optimize(_objective, n_trials=10, fixed_params={"lr": 2.0}, show_progress=False)
    (trial,) = study.trials
    assert trial.state is honed.TrialState.FAILED
    with pytest.raises(honed.SpaceError, match="'adamw' of parameter 'opt' is outside Choice"):
        study.optimize(_objective, n_trials=10, fixed_params={"opt": "adamw"}, show_progress=False)
    assert len(study.trials) == 2


def test_a_simplex_is_fixed_whole_or_not_at_all() -> None:
    def objective(trial: honed.Trial) -> float:
        w = trial.simplex("mix", ["a", "b", "c"])
        return w["a"] + 2 * w["b"] + trial.float("x", 0, 1)

    study = honed.create_study(sampler="tpe", seed=0)
    whole = {"mix.a": 0.2, "mix.b": 0.3, "mix.c": 0.5}
    study.optimize(objective, n_trials=4, fixed_params=whole, show_progress=False)
    assert all(
        honed.simplex_weights(t.params, "mix") == pytest.approx({"a": 0.2, "b": 0.3, "c": 0.5})
        for t in study.trials
    )
    assert len({t.params["x"] for t in study.trials}) == 4
    with pytest.raises(honed.SpaceError, match=r"fixed_params sets \['mix\.a'\] of simplex 'mix'"):
        study.optimize(objective, n_trials=5, fixed_params={"mix.a": 0.5}, show_progress=False)
    with pytest.raises(honed.SpaceError, match=r"fixed weights .* are not on its simplex"):
        study.optimize(
            objective,
            n_trials=5,
            fixed_params={"mix.a": 0.5, "mix.b": 0.5, "mix.c": 0.5},
            show_progress=False,
        )
    assert len(study.trials) == 6  # one failed trial each, then optimize stopped


def test_a_fixed_name_the_objective_never_asks_for_warns_once() -> None:
    study = honed.create_study(sampler="random", seed=0)
    with pytest.warns(UserWarning, match=r"fixed_params \['lrr'\] were never asked for") as rec:
        study.optimize(_objective, n_trials=3, fixed_params={"lrr": 1e-3}, show_progress=False)
    assert len(rec) == 1
    assert all(t.state is honed.TrialState.COMPLETE for t in study.trials)


def test_fixed_values_win_over_enqueued_ones_and_retries_keep_theirs() -> None:
    study = honed.create_study(sampler="random", seed=0)
    study.enqueue({"x": 4.0, "lr": 0.05})
    trial = study.ask(fixed_params={"lr": 1e-3})
    assert trial.float("lr", 1e-5, 1e-1, log=True) == 1e-3
    assert trial.float("x", -5, 5) == 4.0  # the enqueued value of a name not fixed
    study.tell(trial, 1.0)


def test_ask_and_tell_with_fixed_params() -> None:
    study = honed.create_study(sampler="gp", seed=0)
    for _ in range(8):
        trial = study.ask(fixed_params={"k": 3})
        study.tell(trial, _objective(trial))
    assert {t.params["k"] for t in study.trials} == {3}
    assert all(isinstance(t.params["k"], int) for t in study.trials)


@pytest.mark.slow
def test_worker_processes_get_the_fixed_values(tmp_path: Path) -> None:
    study = honed.create_study(storage=tmp_path / "s.db", sampler="tpe", seed=0)
    study.optimize(
        _objective,
        n_trials=6,
        n_jobs=2,
        executor="process",
        fixed_params={"lr": 1e-3},
        show_progress=False,
    )
    again = honed.load_study(study.name, tmp_path / "s.db")
    assert [t.params["lr"] for t in again.trials] == [1e-3] * 6


# ---- FixedTrial --------------------------------------------------------------------------
def _public_members(cls: type) -> list[str]:
    return sorted(n for n in dir(cls) if not n.startswith("_"))


def test_fixed_trial_satisfies_every_member_of_the_trial_protocol() -> None:
    trial = honed.FixedTrial({"x": 1.0})
    assert isinstance(trial, honed.Trial)
    members = _public_members(honed.Trial)
    assert {"float", "int", "choice", "report", "save_checkpoint", "seed", "study"} <= set(members)
    for name in members:
        spec = inspect.getattr_static(honed.Trial, name)
        mine = inspect.getattr_static(honed.FixedTrial, name, None)
        assert mine is not None, f"FixedTrial lacks {name}"
        if isinstance(spec, property):
            assert isinstance(mine, property), f"{name} must be a property"
            continue
        want = inspect.signature(spec)
        got = inspect.signature(mine)
        assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == [
            (p.name, p.kind, p.default) for p in want.parameters.values()
        ], name


def test_fixed_trial_runs_an_objective_on_the_given_values() -> None:
    trial = honed.FixedTrial({"lr": 1e-3, "x": 1, "k": 3, "opt": "adam"}, number=7, seed=11)
    assert _objective(trial) == pytest.approx(1e-3)
    assert trial.params == {"lr": 1e-3, "x": 1.0, "k": 3, "opt": "adam"}
    assert isinstance(trial.params["x"], float)
    assert trial.number == 7 and trial.seed == 11
    assert trial.distributions["k"] == honed.Int(0, 6)
    assert honed.FixedTrial({}).seed == honed.FixedTrial({}).seed  # stable default
    assert honed.FixedTrial({}, number=1).seed != honed.FixedTrial({}).seed


def test_fixed_trial_reports_never_prune_and_keeps_attrs_and_checkpoints() -> None:
    trial = honed.FixedTrial({"x": 0.5})
    for step in range(3):
        trial.report(1.0 / (step + 1), step)
        assert not trial.should_stop()
    assert trial.intermediate_values == {0: 1.0, 1: 0.5, 2: 1.0 / 3}
    trial.set_user_attr("note", "hi")
    assert trial.user_attrs == {"note": "hi"}
    state = {"w": [1, 2]}
    assert trial.load_checkpoint() is None
    trial.save_checkpoint(state, step=2)
    state["w"].append(3)  # a saved checkpoint is a copy
    assert trial.load_checkpoint() == {"w": [1, 2]}
    assert trial.load_checkpoint(2) == {"w": [1, 2]}
    assert trial.load_checkpoint(5) is None
    trial.set_constraints([-1.0, 0.0])
    assert trial.constraints == (-1.0, 0.0)
    assert trial.exploited is None
    assert trial.study.name == "fixed"
    with pytest.raises(ValueError, match="report step"):
        trial.report(1.0, -1)


def test_fixed_trial_errors_name_what_was_given_and_the_range() -> None:
    trial = honed.FixedTrial({"x": 7.0, "opt": "adamw"})
    with pytest.raises(honed.SpaceError, match=r"no value for parameter 'lr'.*\['opt', 'x'\]"):
        trial.float("lr", 0, 1)
    with pytest.raises(honed.SpaceError, match=r"7\.0 of parameter 'x' is outside Float"):
        trial.float("x", 0, 5)
    with pytest.raises(honed.SpaceError, match="'adamw' of parameter 'opt' is outside Choice"):
        trial.choice("opt", ["adam", "sgd"])
    with pytest.raises(honed.SpaceError, match="parameter 'lo'"):
        trial.float("lo", 5, 1)
    with pytest.raises(TypeError, match="needs a dict"):
        honed.FixedTrial([1.0])  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert honed.FixedTrial({"flag": 1}).choice("flag", [True, 1]) == 1
