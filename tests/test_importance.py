"""Parameter importance: fANOVA over a random forest and PED-ANOVA."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import honed
from honed.analysis.importance import fanova_importance, importance
from honed.cli import main


def _eight(trial: honed.Trial) -> float:
    # Eight parameters; only "lr" (log scale) and "depth" (an integer) matter.
    lr = trial.float("lr", 1e-5, 1e-1, log=True)
    depth = trial.int("depth", 1, 12)
    for i in range(5):
        trial.float(f"noise{i}", -1, 1)
    trial.choice("color", ["red", "green", "blue"])
    return (math.log10(lr) + 3) ** 2 + 0.3 * (depth - 7) ** 2


@pytest.fixture(scope="module")
def study():
    s = honed.create_study(sampler="random", seed=7)
    s.optimize(_eight, n_trials=400)
    return s


@pytest.mark.parametrize("method", ["fanova", "ped-anova"])
def test_both_estimators_rank_the_two_that_matter_first(study, method):
    scores = importance(study, method=method)
    assert set(list(scores)[:2]) == {"lr", "depth"}, scores
    assert set(scores) == {"lr", "depth", "color", *(f"noise{i}" for i in range(5))}
    assert sum(scores.values()) == pytest.approx(1.0)
    assert all(v >= 0 for v in scores.values())
    assert list(scores.values()) == sorted(scores.values(), reverse=True)
    # The two that matter carry most of it.
    assert scores["lr"] + scores["depth"] > 0.7


def test_fanova_matches_the_exact_decomposition_of_an_additive_function():
    # f = 3 * x0 + x1 on the unit square: main-effect variances 9/12 and 1/12, so the
    # shares are 0.9 and 0.1; x2 has none.
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2000, 3))
    y = 3 * x[:, 0] + x[:, 1]
    frac = fanova_importance(x, y, n_trees=16, seed=0)
    shares = frac / frac.sum()
    assert shares[0] == pytest.approx(0.9, abs=0.03)
    assert shares[1] == pytest.approx(0.1, abs=0.03)
    assert shares[2] < 0.01
    # For an additive function the main effects explain (nearly) all the variance.
    assert frac.sum() == pytest.approx(1.0, abs=0.05)


def test_direction_and_target(study):
    # Maximizing the negated objective is the same problem: the same top two.
    s = honed.create_study(direction="maximize", sampler="random", seed=3)
    s.optimize(lambda t: -_eight(t), n_trials=300)
    for method in ("fanova", "ped-anova"):
        assert set(list(importance(s, method))[:2]) == {"lr", "depth"}
    # A custom target: explain depth alone.
    scores = importance(study, "fanova", target=lambda t: t.params["depth"])
    assert next(iter(scores)) == "depth"
    assert list(importance(study, "ped-anova", params=["noise0", "lr"])) == ["lr", "noise0"]


def test_multi_objective_needs_a_target():
    s = honed.create_study(directions=["minimize", "minimize"], sampler="random", seed=0)
    s.optimize(lambda t: (t.float("a", 0, 1), t.float("b", 0, 1)), n_trials=40)
    with pytest.raises(ValueError, match="target="):
        importance(s)
    scores = importance(s, "ped-anova", target=lambda t: t.values[1])
    assert next(iter(scores)) == "b"


def test_bad_input_is_named(study):
    with pytest.raises(ValueError, match="method must be one of"):
        importance(study, "shap")
    with pytest.raises(TypeError, match="quantile"):
        importance(study, "fanova", quantile=0.2)
    with pytest.raises(ValueError, match="quantile must be in"):
        importance(study, "ped-anova", quantile=1.5)
    with pytest.raises(ValueError, match=r"no complete trial has parameter\(s\) \['nope'\]"):
        importance(study, params=["nope"])
    with pytest.raises(ValueError, match="at least 2 complete trials"):
        importance(honed.create_study())


def test_cli(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'imp.db'}"
    s = honed.create_study("imp", storage=url, sampler="random", seed=1)
    s.optimize(_eight, n_trials=120)
    assert main(["importance", "imp", "--storage", url, "--method", "ped-anova"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["parameter", "importance"]
    assert {lines[1].split()[0], lines[2].split()[0]} == {"lr", "depth"}
    assert main(["importance", "imp", "--storage", url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(list(data)[:2]) == {"lr", "depth"}
    assert main(["importance", "missing", "--storage", url]) == 2
    assert "missing" in capsys.readouterr().err


def test_a_few_odd_trials_do_not_hide_the_other_parameters():
    s = honed.create_study(sampler="random", seed=11)
    s.optimize(_eight, n_trials=150)
    t = s.ask()  # a hand-made trial with one parameter only
    s.tell(t, t.float("lr", 1e-5, 1e-1, log=True))
    for method in ("fanova", "ped-anova"):
        scores = importance(s, method)
        assert len(scores) == 8
        assert set(list(scores)[:2]) == {"lr", "depth"}


def test_reachable_from_a_plain_import(study):
    assert honed.analysis.importance(study, "ped-anova") == importance(study, "ped-anova")
