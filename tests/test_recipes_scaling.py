"""Scaling laws of the optimum, fitted on real studies of a synthetic objective whose optimal
learning rate and batch size follow a known power law in model and data size."""

from __future__ import annotations

import math

import numpy as np
import pytest

import honed
from honed.recipes import ScalingLaw, fit_scaling_law

# optimum = prefactor * n_params**a * n_tokens**b
TRUE = {
    "lr": (0.5, {"n_params": -0.5, "n_tokens": 0.1}),
    "batch_size": (0.2, {"n_params": 0.1, "n_tokens": 0.3}),
}
SPACE = {
    "lr": honed.Float(1e-5, 1.0, log=True),
    "batch_size": honed.Int(1, 100_000, log=True),
    "dropout": honed.Float(0.0, 0.5),
}
N_PARAMS = (1e5, 1e6, 1e7)
N_TOKENS = (1e6, 1e7, 1e8)


def optimum(target: str, n_params: float, n_tokens: float) -> float:
    a, e = TRUE[target]
    return a * n_params ** e["n_params"] * n_tokens ** e["n_tokens"]


def loss(params: dict, n_params: float, n_tokens: float, rng: np.random.Generator) -> float:
    u = math.log(params["lr"] / optimum("lr", n_params, n_tokens))
    v = math.log(params["batch_size"] / optimum("batch_size", n_params, n_tokens))
    return 1 + 0.1 * u * u + 0.05 * v * v + 0.03 * u * v + 0.02 * float(rng.standard_normal())


def sweep(
    n_params: float, n_tokens: float, seed: int, n: int = 30, storage: str | None = None
) -> honed.Study:
    """One study at one scale, its scale in the study's user attributes."""
    rng = np.random.default_rng(seed)
    study = honed.create_study(storage=storage, sampler="random", seed=seed)
    study.set_user_attr("n_params", n_params)
    study.set_user_attr("n_tokens", n_tokens)
    for _ in range(n):
        trial = study.ask(SPACE)
        study.tell(trial, loss(trial.params, n_params, n_tokens, rng))
    return study


def grid(seed: int, **kwargs) -> list[honed.Study]:
    return [
        sweep(p, t, seed * 100 + i, **kwargs)
        for i, (p, t) in enumerate((p, t) for p in N_PARAMS for t in N_TOKENS)
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exponents_recovered_within_005_under_noise(seed: int) -> None:
    law = fit_scaling_law(grid(seed), n_bootstrap=50, seed=seed)
    assert isinstance(law, ScalingLaw)
    for target, (_, exps) in TRUE.items():
        for var, true in exps.items():
            assert law.exponents[target][var] == pytest.approx(true, abs=0.05), (target, var)
    big = {"n_params": 1e9, "n_tokens": 1e10}
    predicted = law.predict(**big)
    # Two decades beyond the largest scale run, within 40% of the truth.
    for target in TRUE:
        assert predicted[target] == pytest.approx(optimum(target, **big), rel=0.4)
    assert {g.method for g in law.groups} == {"joint quadratic"}
    assert law.unscaled == ()


def test_intervals_contain_the_prediction_and_widen_with_the_level() -> None:
    law = fit_scaling_law(grid(3), n_bootstrap=60)
    at = {"n_params": 3e7, "n_tokens": 3e8}
    center = law.predict(**at)
    narrow, wide = law.interval(0.5, **at), law.interval(0.95, **at)
    for t in law.target:
        assert wide[t][0] <= narrow[t][0] <= center[t] * 1.05
        assert center[t] * 0.95 <= narrow[t][1] <= wide[t][1]
    ex = law.exponent_intervals(0.9)
    assert ex["lr"]["n_params"][0] < law.exponents["lr"]["n_params"] < ex["lr"]["n_params"][1]


def test_smooth_optimum_beats_the_argmin_on_noisy_groups() -> None:
    """Each group's estimated optimum is closer to the truth than its best trial's value,
    on average over the groups (that is why it is fitted, not read off the best trial)."""
    studies = grid(4)
    law = fit_scaling_law(studies, n_bootstrap=10)
    fit_err, argmin_err = [], []
    for g in law.groups:
        true = optimum("lr", g.scale["n_params"], g.scale["n_tokens"])
        fit_err.append(abs(math.log(g.optimum["lr"] / true)))
        argmin_err.append(abs(math.log(g.best_params["lr"] / true)))
    assert np.mean(fit_err) < np.mean(argmin_err)


def test_one_study_with_scale_as_params_and_trial_attrs_on_sqlite(tmp_path) -> None:
    """Scale read from trial params (n_params) and trial user attributes (n_tokens), one study
    holding every scale, stored in SQLite; a trial without scale is warned about and listed."""
    storage = f"sqlite:///{tmp_path / 'scale.db'}"
    study = honed.create_study("all", storage=storage, sampler="random", seed=0)
    rng = np.random.default_rng(0)
    for p in N_PARAMS:
        for t in N_TOKENS[:2]:
            for _ in range(25):
                trial = study.ask({**SPACE, "n_params": honed.Choice([p])})
                trial.set_user_attr("n_tokens", t)
                study.tell(trial, loss(trial.params, p, t, rng))
    stray = study.ask(SPACE)  # no n_params param: left out
    study.tell(stray, 1.0)
    with pytest.warns(UserWarning, match=r"1 complete trial\(s\) have no value .*n_params"):
        law = fit_scaling_law(honed.load_study("all", storage=storage), target="lr")
    assert law.unscaled == (("all", stray.number),)
    assert len(law.groups) == 6
    assert law.exponents["lr"]["n_params"] == pytest.approx(-0.5, abs=0.1)

    space = law.space(n_params=1e9, n_tokens=1e9)
    center = law.predict(n_params=1e9, n_tokens=1e9)["lr"]
    lr = space["lr"]
    assert isinstance(lr, honed.Float) and lr.log and lr.low < center < lr.high
    assert space["dropout"] == SPACE["dropout"]  # kept from the source space
    assert space["batch_size"] == SPACE["batch_size"]  # not a target here
    assert space["n_params"] == honed.Choice([1e9])  # a scale parameter, fixed


def test_space_narrows_int_targets_as_ints_and_runs_a_study() -> None:
    law = fit_scaling_law(grid(5), n_bootstrap=20)
    at = {"n_params": 1e8, "n_tokens": 1e9}
    space = law.space(level=0.9, margin=1.5, **at)
    bs = space["batch_size"]
    assert isinstance(bs, honed.Int) and bs.log
    low, high = law.interval(0.9, **at)["batch_size"]
    assert bs.low <= low / 1.5 + 1 and bs.high >= high * 1.5 - 1
    wide = SPACE["lr"]
    assert space["lr"].high / space["lr"].low < wide.high / wide.low / 100
    study = honed.create_study(sampler="random", seed=0)
    study.optimize(
        lambda t: loss(t.params, **at, rng=np.random.default_rng(0)),
        n_trials=5,
        space=space,
        show_progress=False,
    )
    assert len(study.trials) == 5


def test_plot_draws_a_panel_per_target(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    law = fit_scaling_law(grid(6), n_bootstrap=10)
    fig = law.plot()
    assert len(fig.axes) == 2
    fig.savefig(tmp_path / "law.png")
    assert (tmp_path / "law.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="x must be one of the scale variables"):
        law.plot(x="width")


# ---- bad inputs ------------------------------------------------------------------------------
def test_one_scale_group_names_the_fix() -> None:
    studies = [sweep(1e6, 1e7, 0), sweep(1e6, 1e7, 1)]
    with pytest.raises(ValueError, match=r"all trials are at one scale .*2 or more scales"):
        fit_scaling_law(studies)


def test_a_constant_scale_variable_is_refused() -> None:
    studies = [sweep(p, 1e7, i) for i, p in enumerate(N_PARAMS)]
    with pytest.raises(ValueError, match=r"'n_tokens' is 1e\+07 in every scale group"):
        fit_scaling_law(studies)
    fit_scaling_law(studies, scale="n_params", n_bootstrap=10)  # the fix named


def test_scale_variables_that_move_together_are_refused() -> None:
    studies = [sweep(p, 20 * p, i) for i, p in enumerate(N_PARAMS)]
    with pytest.raises(ValueError, match="change together"):
        fit_scaling_law(studies)
    few = [sweep(1e5, 1e6, 0), sweep(1e6, 1e8, 1)]
    with pytest.raises(ValueError, match="need at least 3 groups"):
        fit_scaling_law(few)


@pytest.mark.parametrize("bad", [0, -1e6, "big", True])
def test_non_positive_or_non_numeric_scale_is_refused(bad) -> None:
    studies = grid(7, n=6)
    studies[2].set_user_attr("n_tokens", bad)
    with pytest.raises(ValueError, match=r"n_tokens of trial 0 of study .* (positive|is)"):
        fit_scaling_law(studies)


def test_non_positive_target_is_refused() -> None:
    study = honed.create_study(sampler="random", seed=0)
    study.set_user_attr("n_params", 1e6)
    study.set_user_attr("n_tokens", 1e6)
    trial = study.ask({"lr": honed.Float(-1.0, -0.5)})
    study.tell(trial, 1.0)
    with pytest.raises(ValueError, match=r"lr of trial 0 .* positive"):
        fit_scaling_law([study, *grid(8, n=5)], target="lr")


def test_missing_target_names_the_parameters_there_are() -> None:
    with pytest.raises(ValueError, match=r"no trial has the target parameter\(s\) learning_rate"):
        fit_scaling_law(grid(9, n=5), target=["learning_rate", "batch_size"])


def test_too_few_trials_at_a_scale_is_refused() -> None:
    studies = [*grid(10, n=5)[:8], sweep(1e7, 1e8, 11, n=2)]
    with pytest.raises(ValueError, match=r"n_params=1e\+07, n_tokens=1e\+08 has 2 complete"):
        fit_scaling_law(studies)


def test_no_scale_anywhere_and_bad_arguments() -> None:
    study = honed.create_study(sampler="random", seed=0)
    for _ in range(4):
        t = study.ask(SPACE)
        study.tell(t, 1.0)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no complete trial has a"):
        fit_scaling_law(study)
    with pytest.raises(TypeError, match="honed studies or trials"):
        fit_scaling_law("study-name")
    with pytest.raises(ValueError, match="both a scale variable and a target"):
        fit_scaling_law(study, scale=["lr"], target=["lr"])
    with pytest.raises(ValueError, match="n_bootstrap"):
        fit_scaling_law(study, n_bootstrap=1)
    law = fit_scaling_law(grid(12, n=8), n_bootstrap=10)
    with pytest.raises(TypeError, match="give n_tokens="):
        law.predict(n_params=1e9)
    with pytest.raises(ValueError, match="n_params must be a positive"):
        law.predict(n_params=-1, n_tokens=1e9)
    with pytest.raises(ValueError, match="level"):
        law.interval(1.5, n_params=1e9, n_tokens=1e9)


def test_maximized_objectives_and_bare_trials() -> None:
    """A maximized score is fitted as the loss's mirror image; bare FrozenTrials work with
    their scale in user attributes (direction given)."""
    trials = []
    rng = np.random.default_rng(0)
    for p in N_PARAMS:
        study = honed.create_study(direction="maximize", sampler="random", seed=int(p) % 97)
        for _ in range(30):
            trial = study.ask(SPACE)
            trial.set_user_attr("n_params", p)
            study.tell(trial, -loss(trial.params, p, 1e7, rng))
        trials += study.trials
    law = fit_scaling_law(trials, scale="n_params", direction="maximize", n_bootstrap=10)
    assert law.exponents["lr"]["n_params"] == pytest.approx(-0.5, abs=0.1)
    assert law.direction is honed.Direction.MAXIMIZE
