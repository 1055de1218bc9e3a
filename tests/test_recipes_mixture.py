"""honed.recipes.mixture_search: regression from proxy mixtures to the mixtures to run large."""

from __future__ import annotations

import numpy as np
import pytest

import honed
from honed.recipes import MixtureSearch, mixture_search

SOURCES = ("web", "code", "books", "wiki")
OPTIMUM = np.array([0.1, 0.5, 0.3, 0.1])


def _loss(w: np.ndarray) -> float:
    return float(((w - OPTIMUM) ** 2).sum())


def _proxy_study(n: int = 40, *, seed: int = 0, noise: float = 0.002, **kw: object) -> honed.Study:
    """Proxy trials on random mixtures, recorded as ``mix.<source>`` parameters (what
    ``trial.simplex("mix", sources)`` records)."""
    rng = np.random.default_rng(seed)
    study = honed.create_study(sampler="random", seed=seed, **kw)  # type: ignore[arg-type]
    for w in rng.dirichlet(np.ones(len(SOURCES)), n):
        study.enqueue({f"mix.{s}": float(v) for s, v in zip(SOURCES, w, strict=True)})

    def objective(trial: honed.Trial) -> float:
        w = np.array([trial.float(f"mix.{s}", 0.0, 1.0) for s in SOURCES])
        value = _loss(w) + rng.normal(0, noise)
        trial.set_user_attr("accuracy", 1.0 - value)
        return value

    study.optimize(objective, n_trials=n, show_progress=False)
    return study


@pytest.fixture(scope="module")
def proxy() -> honed.Study:
    return _proxy_study()


def _true_best_observed(study: honed.Study) -> float:
    return min(_loss(np.array([t.params[f"mix.{s}"] for s in SOURCES])) for t in study.trials)


@pytest.mark.parametrize("regressor", ["lightgbm", "gbm", "gp"])
def test_candidates_are_distinct_mixtures_best_predicted_first(
    proxy: honed.Study, regressor: str
) -> None:
    found = mixture_search(proxy, regressor=regressor, n_candidates=2000, top_k=4, seed=0)  # type: ignore[arg-type]
    assert isinstance(found, MixtureSearch)
    assert found.regressor == regressor and found.sources == SOURCES
    assert found.n_trials == 40 and len(found.candidates) == 4
    predicted = [c.predicted for c in found.candidates]
    assert predicted == sorted(predicted)
    ws = [np.array([c.weights[s] for s in SOURCES]) for c in found.candidates]
    for c, w in zip(found.candidates, ws, strict=True):
        assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
        assert c.params == {f"mix.{s}": c.weights[s] for s in SOURCES}
        assert c.uncertainty >= 0
    for i in range(len(ws)):
        for j in range(i):
            assert 0.5 * np.abs(ws[i] - ws[j]).sum() >= 0.05
    assert found.best_observed.number == proxy.best_trial.number
    # the regression explains the proxy values far better than their spread
    assert found.fit_error < 0.6 * found.target_sd
    # and its best mixture is truly better than a typical proxy mixture
    typical = float(np.median([t.value for t in proxy.trials]))
    assert _loss(ws[0]) < typical


def test_the_gp_finds_a_mixture_better_than_every_proxy_trial(proxy: honed.Study) -> None:
    found = mixture_search(proxy, regressor="gp", seed=0)
    best = np.array([found.best.weights[s] for s in SOURCES])
    assert _loss(best) < _true_best_observed(proxy)
    assert np.abs(best - OPTIMUM).max() < 0.1


def test_auto_is_the_gp_on_up_to_1000_trials(proxy: honed.Study) -> None:
    found = mixture_search(proxy, n_candidates=500, top_k=1, seed=0)
    assert found.regressor == "gp"
    assert found.note is None  # the regression explains the proxy values


@pytest.mark.slow
def test_auto_is_boosted_trees_past_1000_trials() -> None:
    study = honed.create_study(sampler="random", seed=0)
    rng = np.random.default_rng(0)
    for _ in range(1001):
        t = study.ask()
        w = np.array([t.float(f"mix.{s}", 0.0, 1.0) for s in SOURCES])
        study.tell(t, _loss(w / w.sum()) + rng.normal(0, 0.002))
    found = mixture_search(study, n_candidates=100, top_k=1, seed=0)
    assert found.regressor == "lightgbm"  # installed with the test extra; else "gbm"


def test_a_regression_that_explains_nothing_says_so() -> None:
    study = honed.create_study(sampler="random", seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = study.ask()
        for s in SOURCES:
            t.float(f"mix.{s}", 0.0, 1.0)
        study.tell(t, float(rng.normal()))  # the mixture does not matter
    found = mixture_search(study, regressor="gp", top_k=1, seed=0)
    assert found.note is not None and "explains little" in found.note


def test_seeded_searches_repeat(proxy: honed.Study) -> None:
    a = mixture_search(proxy, regressor="gbm", n_candidates=500, top_k=2, seed=3)
    b = mixture_search(proxy, regressor="gbm", n_candidates=500, top_k=2, seed=3)
    assert a.candidates == b.candidates


def test_enqueue_puts_the_candidates_into_the_large_study(proxy: honed.Study) -> None:
    found = mixture_search(proxy, regressor="gp", top_k=3, seed=0)
    large = honed.create_study(sampler="tpe", seed=0)
    assert found.enqueue(large, top_k=2) == [c.params for c in found.candidates[:2]]
    found.enqueue(large, top_k=2)  # already waiting: not enqueued twice

    def objective(trial: honed.Trial) -> float:
        return _loss(np.array([trial.float(f"mix.{s}", 0.0, 1.0) for s in SOURCES]))

    large.optimize(objective, n_trials=3, show_progress=False)
    ran = [dict(t.params) for t in large.trials]
    assert ran[:2] == [c.params for c in found.candidates[:2]]
    assert ran[2] not in ran[:2]  # the third trial was sampled


def test_targets_user_attributes_objectives_and_maximization() -> None:
    study = _proxy_study(30, seed=1)
    by_attr = mixture_search(study, target="accuracy", direction="maximize", regressor="gp", seed=0)
    by_value = mixture_search(study, regressor="gp", seed=0)
    assert by_attr.best.predicted == pytest.approx(1.0 - by_value.best.predicted, abs=0.02)

    maximize = _proxy_study(30, seed=1, direction="maximize")  # now the worst is sought
    worst = mixture_search(maximize, regressor="gp", seed=0).best
    assert _loss(np.array([worst.weights[s] for s in SOURCES])) > 0.4

    two = honed.create_study(directions=["minimize", "maximize"])
    for _ in range(12):
        t = two.ask()
        for s in SOURCES:
            t.float(f"mix.{s}", 0.0, 1.0)
        two.tell(t, [_loss(np.array([t.params[f"mix.{s}"] for s in SOURCES])), 0.0])
    with pytest.raises(ValueError, match=r"say which to predict with target=0\.\.1"):
        mixture_search(two)
    assert mixture_search(two, target=0, regressor="gp", top_k=1, seed=0).best.predicted < 0.3
    with pytest.raises(ValueError, match="direction= is for a user-attribute target"):
        mixture_search(two, target=0, direction="maximize")


def test_weights_need_not_sum_to_one_in_the_proxy_study() -> None:
    study = honed.create_study()
    rng = np.random.default_rng(0)
    for _ in range(12):
        t = study.ask()
        raw = np.array([t.float(f"mix.{s}", 0.0, 10.0) for s in SOURCES])
        study.tell(t, _loss(raw / raw.sum()) + rng.normal(0, 1e-3))
    found = mixture_search(study, regressor="gp", top_k=1, seed=0)
    assert sum(found.best.weights.values()) == pytest.approx(1.0)


def test_bad_input_is_refused_with_the_fix(proxy: honed.Study) -> None:
    with pytest.raises(ValueError, match=r"no complete trial .* has parameters data\.<source>"):
        mixture_search(proxy, "data")
    with pytest.raises(ValueError, match="regressor must be one of"):
        mixture_search(proxy, regressor="xgboost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top_k must be an int >= 1"):
        mixture_search(proxy, top_k=0)
    with pytest.raises(ValueError, match="n_candidates must be an int >= 100"):
        mixture_search(proxy, n_candidates=10)
    with pytest.raises(TypeError, match=r"needs a honed\.Study"):
        mixture_search("proxy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 5 complete trials"):
        mixture_search(_proxy_study(4), regressor="gp")
    with pytest.raises(ValueError, match="target must be None, an objective index"):
        mixture_search(proxy, target=3)
    with pytest.raises(ValueError, match="complete trials with a target value"):
        mixture_search(proxy, target="no-such-attr")
