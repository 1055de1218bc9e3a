"""Model soups on real torch models and numpy weights, in real SQLite studies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import honed
from honed.recipes import average_states, load_soup, soup

# ---- a tiny fine-tuning problem: one shared initialisation, digits, a BatchNorm layer -------

_X, _Y = load_digits(return_X_y=True)
X = torch.tensor(_X[:900] / 16.0, dtype=torch.float32)
Y = torch.tensor(_Y[:900], dtype=torch.long)
X_TRAIN, Y_TRAIN, X_VAL, Y_VAL = X[:600], Y[:600], X[600:], Y[600:]


def _model() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(64, 24), torch.nn.BatchNorm1d(24), torch.nn.ReLU(), torch.nn.Linear(24, 10)
    )


def _shared_init() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(15):  # a little "pre-training" on the first 300 samples
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X_TRAIN[:300]), Y_TRAIN[:300]).backward()
        opt.step()
    return {k: v.clone() for k, v in model.state_dict().items()}


INIT = _shared_init()


def fine_tune(trial: honed.Trial) -> float:
    lr = trial.float("lr", 0.01, 0.5, log=True)
    epochs = trial.int("epochs", 2, 8)
    torch.manual_seed(trial.seed)
    model = _model()
    model.load_state_dict(INIT)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(600).split(100):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X_TRAIN[idx]), Y_TRAIN[idx]).backward()
            opt.step()
        trial.save_checkpoint(model.state_dict(), step=epoch)
    return accuracy(model.state_dict())


def accuracy(state: Any) -> float:
    model = _model()
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        return (model(X_VAL).argmax(1) == Y_VAL).float().mean().item()


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # Tiny models: threads only contend (on a busy machine, tenfold slower).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def torch_study(tmp_path: Path) -> honed.Study:
    study = honed.create_study(
        "ft",
        storage=f"sqlite:///{tmp_path / 'ft.db'}",
        direction="maximize",
        sampler="random",
        seed=3,
    )
    study.optimize(fine_tune, n_trials=6, show_progress=False)
    return study


def test_a_greedy_soup_of_torch_models_is_no_worse_than_the_best_and_is_kept(
    torch_study: honed.Study, tmp_path: Path
) -> None:
    best = torch_study.best_trial
    result = soup(torch_study, accuracy, method="greedy")
    assert result.trials[0] == best.number
    assert [s.trial for s in result.log] == [t.number for t in _ranked(torch_study)]
    assert result.trials == tuple(s.trial for s in result.log if s.added)
    assert result.baseline == pytest.approx(best.value)  # the best model alone, on val
    assert result.score >= result.baseline and result.score == accuracy(result.state)
    # the float weights are the mean of the ingredients; the counter is the best model's
    states = [torch_study.checkpoints.load(n) for n in result.trials]
    mean = torch.stack([s["0.weight"] for s in states]).mean(0)
    assert torch.allclose(result.state["0.weight"], mean, atol=1e-6)
    assert result.state["0.weight"].dtype == torch.float32
    assert result.kept == ("1.num_batches_tracked",)
    assert result.state["1.num_batches_tracked"] == states[0]["1.num_batches_tracked"]
    _model().load_state_dict(result.state)  # a state_dict torch accepts
    # saved with the study, readable by another process
    again = honed.load_study("ft", storage=f"sqlite:///{tmp_path / 'ft.db'}")
    loaded = load_soup(again, "greedy")
    assert loaded.trials == result.trials and loaded.score == result.score
    assert torch.equal(loaded.state["0.weight"], result.state["0.weight"])
    assert (tmp_path / "ft-artifacts" / "ft" / "soups" / "greedy").is_file()


def _ranked(study: honed.Study) -> list[honed.FrozenTrial]:
    done = [t for t in study.trials if t.state is honed.TrialState.COMPLETE]
    return sorted(done, key=lambda t: (-t.value, t.number))


def test_uniform_soup_and_checkpoint_averaging_on_torch(torch_study: honed.Study) -> None:
    ranked = _ranked(torch_study)
    uniform = soup(torch_study, accuracy, method="uniform", top_k=4)
    assert uniform.trials == tuple(t.number for t in ranked[:4])
    assert all(s.added and s.score is None for s in uniform.log)
    states = [torch_study.checkpoints.load(t.number) for t in ranked[:4]]
    want = torch.stack([s["3.bias"] for s in states]).mean(0)
    assert torch.allclose(uniform.state["3.bias"], want, atol=1e-6)
    assert uniform.score == accuracy(uniform.state)

    best = torch_study.best_trial
    steps = torch_study.checkpoints.steps(best.number)
    avg = soup(torch_study, accuracy, method="average_checkpoints", last_k=2, name="swa")
    assert avg.trials == (best.number,) and avg.steps == tuple(steps[-2:])
    at = [torch_study.checkpoints.load(best.number, s) for s in steps[-2:]]
    assert torch.allclose(avg.state["0.bias"], (at[0]["0.bias"] + at[1]["0.bias"]) / 2)
    # counters come from the latest checkpoint
    assert avg.state["1.num_batches_tracked"] == at[1]["1.num_batches_tracked"]
    assert avg.baseline == pytest.approx(accuracy(at[1]))
    assert load_soup(torch_study, "swa").steps == avg.steps


# ---- numpy weights, with an evaluate we control --------------------------------------------


def _numpy_study(tmp_path: Path, weights: list[Any], values: list[float]) -> honed.Study:
    study = honed.create_study(
        "np", storage=f"sqlite:///{tmp_path / 'np.db'}", direction="minimize", sampler="random"
    )
    for w, v in zip(weights, values, strict=True):
        trial = study.ask()
        trial.float("x", 0.0, 1.0)
        if w is not None:
            trial.save_checkpoint(w)
        study.tell(trial, v)
    return study


def _target_distance(state: Any) -> float:
    return float(np.abs(state["w"] - 1.0).sum())


def test_greedy_leaves_out_what_makes_the_held_out_score_worse(tmp_path: Path) -> None:
    near = [{"w": np.array([0.9, 1.2], dtype=np.float32), "n": np.array(5)} for _ in range(1)]
    weights = [
        near[0],
        {"w": np.array([1.1, 0.8], dtype=np.float32), "n": np.array(7)},
        {"w": np.array([9.0, 9.0], dtype=np.float32), "n": np.array(9)},  # far off
        {"w": np.array([1.0, 1.0], dtype=np.float32), "n": np.array(1)},
    ]
    study = _numpy_study(tmp_path, weights, [0.1, 0.2, 0.3, 0.4])
    result = soup(study, _target_distance, save=False)  # the study minimizes: lower is better
    assert [(s.trial, s.added) for s in result.log] == [(0, True), (1, True), (2, False), (3, True)]
    assert result.trials == (0, 1, 3)
    np.testing.assert_allclose(result.state["w"], [1.0, 1.0], atol=1e-6)
    assert result.state["w"].dtype == np.float32
    assert result.state["n"] == 5 and result.kept == ("n",)  # an int array: the best model's
    assert result.score < result.baseline and result.gain > 0
    assert result.name is None and result.key is None
    with pytest.raises(ValueError, match="no soup named 'greedy'"):
        load_soup(study, "greedy")


def test_average_states_keeps_kinds_and_order() -> None:
    a = {"w": np.ones(3), "flag": np.array(True), "f": 1.0, "tag": "a"}
    b = {"w": np.zeros(3), "flag": np.array(False), "f": 3.0, "tag": "b"}
    out = average_states([a, b])
    np.testing.assert_allclose(out["w"], 0.5)
    assert out["flag"] == np.array(True) and out["f"] == 2.0 and out["tag"] == "a"
    assert list(out) == ["w", "flag", "f", "tag"]
    with pytest.raises(ValueError, match="at least one state"):
        average_states([])


# ---- bad inputs, each with a clear error ------------------------------------------------------


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (
            {"w": np.zeros(3), "b": np.zeros(1)},
            r"key 'w': trial 1's checkpoint has shape \(3,\), "
            r"trial 0's checkpoint has \(2,\)",
        ),
        ({"w": np.zeros(2)}, r"trial 1's checkpoint lacks key 'b' that trial 0's checkpoint has"),
        (
            {"w": np.zeros(2), "b": np.zeros(1), "c": np.zeros(1)},
            r"trial 1's checkpoint has key 'c' that trial 0's checkpoint lacks",
        ),
        (
            {"w": torch.zeros(2), "b": np.zeros(1)},
            r"key 'w': trial 1's checkpoint holds a torch tensor, trial 0's checkpoint a numpy",
        ),
        (
            {"w": np.zeros(2, dtype=np.int64), "b": np.zeros(1)},
            r"key 'w': trial 1's checkpoint holds int64 values, trial 0's checkpoint float64",
        ),
        (None, r"trial 1 has no checkpoint in FileSystemArtifactStore\(.* trial.save_checkpoint"),
        ([1, 2], r"trial 1's checkpoint is a list, not a mapping .* pass checkpoint="),
        (
            {"model": {"w": np.zeros(2)}},
            r"trial 1's checkpoint: key 'model' holds a mapping; .* checkpoint='model'",
        ),
        ({1: np.zeros(2)}, r"trial 1's checkpoint has a key 1 that is not a string"),
        ({}, r"trial 1's checkpoint is an empty mapping"),
    ],
)
@pytest.mark.parametrize("method", ["greedy", "uniform"])
def test_incompatible_or_missing_checkpoints_name_the_trial_and_the_key(
    tmp_path: Path, other: Any, message: str, method: str
) -> None:
    study = _numpy_study(tmp_path, [{"w": np.zeros(2), "b": np.zeros(1)}, other], [0.0, 1.0])
    with pytest.raises((ValueError, TypeError), match=message):
        soup(study, _target_distance, method=method, save=False)


def test_top_k_and_checkpoint_keys_are_checked(tmp_path: Path) -> None:
    study = _numpy_study(tmp_path, [{"w": np.zeros(2)}, {"w": np.ones(2)}], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"top_k=3 but study 'np' has 2 complete feasible"):
        soup(study, _target_distance, top_k=3)
    with pytest.raises(ValueError, match=r"trial 0's checkpoint has no key 'model' \(its keys"):
        soup(study, _target_distance, checkpoint="model")
    empty = honed.create_study()
    with pytest.raises(ValueError, match="has no complete feasible trial to make a soup of"):
        soup(empty, _target_distance)


def test_bad_arguments_say_what_to_pass(tmp_path: Path) -> None:
    study = _numpy_study(tmp_path, [{"w": np.zeros(2)}, {"w": np.ones(2)}], [0.0, 1.0])
    ev = _target_distance
    with pytest.raises(ValueError, match="method must be one of"):
        soup(study, ev, method="mean")
    with pytest.raises(TypeError, match="evaluate must be a function"):
        soup(study, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="metric_direction must be 'maximize' or 'minimize'"):
        soup(study, ev, metric_direction="up")
    with pytest.raises(ValueError, match="top_k must be an int >= 1, got 0"):
        soup(study, ev, top_k=0)
    with pytest.raises(ValueError, match="trial= is for method='average_checkpoints'"):
        soup(study, ev, trial=0)
    with pytest.raises(ValueError, match="top_k picks trials for greedy and uniform"):
        soup(study, ev, method="average_checkpoints", top_k=2)
    with pytest.raises(ValueError, match="trial 0 has no checkpoint saved with a step"):
        soup(study, ev, method="average_checkpoints")
    with pytest.raises(ValueError, match="has no trial number 7"):
        soup(study, ev, method="average_checkpoints", trial=7)
    with pytest.raises(ValueError, match="a soup name is letters"):
        soup(study, ev, name="my soup")
    with pytest.raises(ValueError, match="evaluate returned nan for trial 0 alone"):
        soup(study, lambda s: float("nan"))
    with pytest.raises(TypeError, match=r"evaluate returned 'high'"):
        soup(study, lambda s: "high")
    with pytest.raises(TypeError, match=r"needs a honed\.Study"):
        soup("np", ev)  # type: ignore[arg-type]
    trial = study.ask()
    trial.float("x", 0.0, 1.0)
    trial.save_checkpoint({"w": np.zeros(2)}, step=0)
    study.tell(trial, 5.0)
    with pytest.raises(ValueError, match=r"last_k=3 but trial 2 has 1 checkpoint\(s\) with a step"):
        soup(study, ev, method="average_checkpoints", trial=2, last_k=3)
    path_study = honed.create_study(direction="maximize")
    t = path_study.ask()
    t.float("x", 0.0, 1.0)
    saved = tmp_path / "weights.npz"
    np.savez(saved, w=np.zeros(2))
    t.save_checkpoint(saved)
    path_study.tell(t, 1.0)
    with pytest.raises(TypeError, match=r"is a saved file or folder .* checkpoint=torch\.load"):
        soup(path_study, ev)
    via_loader = soup(path_study, ev, checkpoint=lambda p: dict(np.load(p)), save=False)
    np.testing.assert_array_equal(via_loader.state["w"], np.zeros(2))


def test_a_multi_objective_study_needs_rank_by(tmp_path: Path) -> None:
    study = honed.create_study(directions=["minimize", "maximize"])
    for i in range(3):
        t = study.ask()
        t.float("x", 0.0, 1.0)
        t.save_checkpoint({"w": np.full(2, float(i))})
        study.tell(t, [float(i), float(i)])
    with pytest.raises(ValueError, match=r"has 2 objectives .* rank_by=0..1"):
        soup(study, _target_distance)
    with pytest.raises(ValueError, match="rank_by must be the index of an objective"):
        soup(study, _target_distance, rank_by=2)
    by_second = soup(study, lambda s: float(s["w"][0]), rank_by=1, method="uniform", top_k=2)
    assert by_second.trials == (2, 1)  # the second objective is maximized
    assert by_second.direction is honed.Direction.MAXIMIZE
