"""GP-BO sampler: the model, log EI, and proposals over real studies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import norm

import honed
from honed.history import History
from honed.samplers import get_sampler
from honed.samplers.gp import GPSampler, GPTuning
from honed.samplers.gp._acquisition import LogEI, log_h, optimize_acquisition
from honed.samplers.gp._model import _neg_log_posterior, _pairwise_d2, fit_gp
from honed.space import Choice, Float, Int
from honed.testing.samplers import SamplerTests
from honed.trial import Direction, FrozenTrial, TrialState


def _data(n: int = 25, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.sin(6 * x[:, 0]) + (x[:, 1] - 0.3) ** 2
    return x, (y - y.mean()) / y.std(), rng


# -- model -----------------------------------------------------------------------------------


def test_posterior_interpolates_noiseless_data_and_variance_shrinks_there() -> None:
    x, y, rng = _data()
    gp = fit_gp(x, y, np.zeros(3, bool), rng)
    mean, var = gp.predict(x)
    assert np.max(np.abs(mean - y)) < 0.05
    _, far_var = gp.predict(rng.random((20, 3)) + 50.0)
    np.testing.assert_allclose(far_var, gp.sig2, rtol=1e-6)  # back to the prior far away
    _, near_var = gp.predict(rng.random((20, 3)) + 1.5)
    assert np.max(var) < 0.1 * np.min(near_var)


def test_marginal_likelihood_gradient_matches_finite_differences() -> None:
    x, y, rng = _data(d=4)
    cat = np.array([False, False, False, True])
    x[:, 3] = (rng.integers(0, 3, len(x)) + 0.5) / 3
    d2 = _pairwise_d2(x, x, cat)
    theta = np.array([-0.5, 0.2, 0.1, 0.3, 0.0, -3.0])
    _, g = _neg_log_posterior(theta, d2, y)
    fd = approx_fprime(theta, lambda t: _neg_log_posterior(t, d2, y)[0], 1e-6)
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-4)


def test_posterior_gradients_match_finite_differences() -> None:
    x, y, rng = _data()
    gp = fit_gp(x, y, np.zeros(3, bool), rng)
    xq = rng.random((4, 3))
    mean, var, dmean, dvar = gp.predict(xq, grad=True)
    eps = 1e-6
    for i in range(3):
        xp = xq.copy()
        xp[:, i] += eps
        m2, v2 = gp.predict(xp)
        np.testing.assert_allclose(dmean[:, i], (m2 - mean) / eps, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(dvar[:, i], (v2 - var) / eps, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize(
    "y",
    [
        np.zeros(12),  # constant outputs
        np.r_[np.zeros(11), 1e12],  # an extreme outlier
        np.linspace(-1e-300, 1e-300, 12),  # tiny spread
    ],
)
def test_fit_survives_duplicates_and_degenerate_outputs(y: np.ndarray) -> None:
    from honed.samplers.gp._sampler import _warp

    rng = np.random.default_rng(1)
    x = np.repeat(rng.random((6, 2)), 2, axis=0)  # every point twice
    gp = fit_gp(x, _warp(y, "yeo-johnson"), np.zeros(2, bool), rng)
    mean, var = gp.predict(rng.random((5, 2)))
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var > 0)


# -- acquisition -----------------------------------------------------------------------------


def test_log_h_matches_closed_form_and_stays_finite_in_the_tail() -> None:
    z = np.array([-3.0, -1.5, -0.5, 0.0, 2.0])
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    lh, dlh = log_h(z)
    np.testing.assert_allclose(lh, direct, rtol=1e-9)
    np.testing.assert_allclose(dlh, norm.cdf(z) / np.exp(direct), rtol=1e-7)
    tail, dtail = log_h(np.array([-40.0, -1e3, -1e10]))
    assert np.all(np.isfinite(tail)) and np.all(np.diff(tail) < 0)
    assert np.all(np.isfinite(dtail)) and np.all(dtail > 0)


def test_log_ei_gradient_with_a_constraint() -> None:
    x, y, rng = _data()
    cat = np.zeros(3, bool)
    gp = fit_gp(x, y, cat, rng)
    cgp = fit_gp(x, x[:, 2] - 0.5, cat, rng)
    acq = LogEI(gp, float(y.min()), [(cgp, 0.0)])
    xq = rng.random((3, 3))
    xq[:, 2] = [0.45, 0.5, 0.55]  # near the constraint's boundary, where its term matters
    _, g = acq(xq, grad=True)
    for i in range(3):
        xp, xm = xq.copy(), xq.copy()
        xp[:, i] += 1e-6
        xm[:, i] -= 1e-6
        fd = (acq(xp) - acq(xm)) / 2e-6
        np.testing.assert_allclose(g[:, i], fd, rtol=1e-3, atol=1e-3)


def test_acquisition_optimizer_finds_the_model_minimum() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((30, 2))
    y = ((x - 0.7) ** 2).sum(1)
    gp = fit_gp(x, (y - y.mean()) / y.std(), np.zeros(2, bool), rng)
    acq = LogEI(gp, float(gp.predict(x)[0].min()))
    u, val = optimize_acquisition(acq, np.zeros(2, bool), np.ones(2, int), rng, x[np.argsort(y)])
    assert np.all(np.abs(u - 0.7) < 0.2) and np.isfinite(val)


# -- the sampler in studies ------------------------------------------------------------------

MIXED = {
    "x": Float(-2.0, 2.0),
    "lr": Float(1e-4, 1.0, log=True),
    "q": Float(0.0, 1.0, step=0.25),
    "n": Int(1, 9),
    "k": Int(1, 1000, log=True),
    "c": Choice(["a", "b", "c"]),
    "flag": Choice([True, False]),
}


def _mixed_objective(p: dict) -> float:
    return (
        (p["x"] - 0.5) ** 2
        + abs(math.log10(p["lr"]) + 2)
        + (p["n"] - 3) ** 2 * 0.1
        + (0.0 if p["c"] == "b" else 1.0)
        + p["q"]
        + 0.01 * math.log(p["k"])
        + (0.0 if p["flag"] else 0.5)
    )


def _run(sampler: honed.samplers.Sampler, space: dict, fn, n: int) -> honed.Study:
    study = honed.create_study(sampler=sampler)
    for _ in range(n):
        t = study.ask(space)
        study.tell(t, fn(dict(t.params)))
    return study


def test_proposals_are_valid_for_every_parameter_kind_and_reproducible() -> None:
    a = _run(GPSampler(seed=7, n_startup_trials=4), MIXED, _mixed_objective, 8)
    b = _run(GPSampler(seed=7, n_startup_trials=4), MIXED, _mixed_objective, 8)
    for t in a.trials:
        for name, dist in MIXED.items():
            assert dist.contains(t.params[name]), (name, t.params[name])
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    c = _run(GPSampler(seed=8, n_startup_trials=4), MIXED, _mixed_objective, 8)
    assert [t.params for t in a.trials] != [t.params for t in c.trials]


def test_registered_by_name() -> None:
    assert isinstance(get_sampler("gp", seed=0), GPSampler)
    with pytest.raises(ValueError, match="n_startup_trials"):
        GPSampler(n_startup_trials=0)
    with pytest.raises(ValueError, match="output_warping"):
        GPSampler(output_warping="log")


def _branin(p: dict) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


BRANIN = {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)}


def test_beats_random_search_on_branin() -> None:
    gp_best, rnd_best = [], []
    for seed in range(2):
        gp_best.append(_run(GPSampler(seed=seed), BRANIN, _branin, 20).best_value)
        rnd_best.append(_run(get_sampler("random", seed=seed), BRANIN, _branin, 20).best_value)
    # Optimum 0.398; random search with 20 points typically stops around 1-3.
    assert np.median(gp_best) < 0.45
    assert np.mean(gp_best) < np.mean(rnd_best)


def test_failed_trials_are_ignored_and_maximize_works() -> None:
    study = honed.create_study(sampler=GPSampler(seed=0, n_startup_trials=5), direction="maximize")
    for i in range(14):
        t = study.ask(BRANIN)
        if i % 4 == 3:
            study.tell(t, state=TrialState.FAILED)
        else:
            study.tell(t, -_branin(dict(t.params)))
    assert study.best_value > -2.0


def _history(trials: list[FrozenTrial]) -> History:
    return History(trials, [Direction.MINIMIZE])


def _complete(i: int, x: float, y: float, v: float, **kw) -> FrozenTrial:
    return FrozenTrial(
        number=i,
        state=TrialState.COMPLETE,
        params={"x": x, "y": y},
        distributions={"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)},
        values=(v,),
        **kw,
    )


def test_pending_points_are_avoided() -> None:
    rng = np.random.default_rng(0)
    pts = rng.random((12, 2))
    trials = [_complete(i, *p, float(((p - 0.3) ** 2).sum())) for i, p in enumerate(pts)]
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}
    s = GPSampler(seed=1)
    me = FrozenTrial(number=13, state=TrialState.RUNNING)
    hist = _history(trials)
    first = s.sample_relative(hist, me, s.infer_relative_space(hist, me, space))
    pending = FrozenTrial(
        number=12, state=TrialState.RUNNING, params=first, distributions=dict(space)
    )
    hist2 = _history([*trials, pending])
    second = GPSampler(seed=1).sample_relative(hist2, me, s.infer_relative_space(hist2, me, space))
    gap = math.hypot(first["x"] - second["x"], first["y"] - second["y"])
    assert gap > 0.01


def test_constraints_steer_proposals_to_the_feasible_side() -> None:
    # Objective wants x -> 1, the constraint x <= 0.4 forbids it.
    rng = np.random.default_rng(2)
    trials = []
    for i, (x, y) in enumerate(rng.random((15, 2))):
        trials.append(_complete(i, x, y, -x + 0.1 * y, constraints=(x - 0.4,)))
    s = GPSampler(seed=0)
    me = FrozenTrial(number=15, state=TrialState.RUNNING)
    hist = _history(trials)
    space = s.infer_relative_space(hist, me, {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    xs = [GPSampler(seed=k).sample_relative(hist, me, space)["x"] for k in range(3)]
    assert all(0.2 < x < 0.5 for x in xs), xs


def test_multi_objective_and_conditional_spaces() -> None:
    study = honed.create_study(
        sampler=GPSampler(seed=0, n_startup_trials=4), directions=["minimize", "minimize"]
    )
    for _ in range(7):
        t = study.ask(BRANIN)
        study.tell(t, [t.params["x1"] ** 2, (t.params["x1"] - 2) ** 2 + t.params["x2"]])
    assert len(study.best_trials) >= 2

    space = {
        "model": Choice(
            {
                "svm": {"C": Float(1e-3, 1e3, log=True)},
                "tree": {"depth": Int(1, 12), "crit": Choice(["gini", "entropy"])},
            }
        ),
        "scale": Float(0.0, 1.0),
    }

    def fn(p: dict) -> float:
        if p["model"] == "svm":
            return abs(math.log10(p["C"]) - 1) + p["scale"]
        return abs(p["depth"] - 6) / 6 + (p["crit"] == "gini") + p["scale"]

    study = _run(GPSampler(seed=3, n_startup_trials=5), space, fn, 12)
    for t in study.trials:
        keys = set(t.params)
        assert keys in ({"model", "C", "scale"}, {"model", "depth", "crit", "scale"})
    assert study.best_value < 0.6


def test_integer_spaces_do_not_repeat_tried_points() -> None:
    # A plateau objective on a 6 x 4 grid: rounding the continuous optimum tends to land on a
    # tried point again and again unless the sampler rules those out.
    space = {"a": Int(1, 6), "b": Int(1, 4)}
    study = _run(
        GPSampler(seed=0, n_startup_trials=5),
        space,
        lambda p: float(min(abs(p["a"] - 2), 2) + (p["b"] != 3)),
        16,
    )
    seen: set[tuple] = set()
    for t in study.trials:
        key = (t.params["a"], t.params["b"])
        if t.number >= 5:
            assert key not in seen, (t.number, key)
        seen.add(key)


# -- output warping and the refit schedule ---------------------------------------------------


@pytest.mark.parametrize("kind", ["normal", "lognormal", "negative-lognormal"])
def test_yeo_johnson_matches_scipys_maximum_likelihood_transform(kind: str) -> None:
    from scipy import stats

    from honed.samplers.gp._sampler import _yeo_johnson

    rng = np.random.default_rng(0)
    y = {
        "normal": rng.standard_normal(80),
        "lognormal": rng.lognormal(0.0, 1.5, 80),
        "negative-lognormal": -rng.lognormal(0.0, 1.0, 80),
    }[kind]
    y = (y - y.mean()) / y.std()
    ref, lam = stats.yeojohnson(y)
    assert -5.0 < lam < 5.0  # inside the grid the fast version searches
    mine = _yeo_johnson(y)

    def z(v: np.ndarray) -> np.ndarray:
        return (v - v.mean()) / v.std()

    assert np.max(np.abs(z(mine) - z(ref))) < 0.02
    # Monotone: the ranking of the losses is what EI's incumbent relies on.
    assert np.array_equal(np.argsort(mine), np.argsort(y))


def test_hyperparameters_are_refitted_every_trial_early_and_sparsely_late() -> None:
    from honed.samplers.gp._sampler import _refit_gap

    assert _refit_gap(50) == 1 and _refit_gap(110) == 1
    assert _refit_gap(300) == 20 and _refit_gap(500) == 40
    rng = np.random.default_rng(0)
    space = {"a": Float(0.0, 1.0), "b": Float(0.0, 1.0)}
    trials = [
        FrozenTrial(
            number=i,
            state=TrialState.COMPLETE,
            params={"a": float(a), "b": float(b)},
            distributions=space,
            values=(float((a - 0.3) ** 2 + (b - 0.6) ** 2),),
        )
        for i, (a, b) in enumerate(rng.random((130, 2)))
    ]

    def propose(s: GPSampler, n: int) -> dict:
        hist = History(trials[:n], [Direction.MINIMIZE])
        me = FrozenTrial(number=n, state=TrialState.RUNNING)
        return s.sample_relative(hist, me, s.infer_relative_space(hist, me, space))

    s = GPSampler(seed=0)
    propose(s, 120)  # fitted on 120 trials: the next refit is due at 122
    ((theta, n_fit),) = s._theta_cache.values()
    assert n_fit == 120
    propose(s, 121)
    ((theta2, n_fit2),) = s._theta_cache.values()
    assert n_fit2 == 120 and np.array_equal(theta, theta2)
    propose(s, 122)
    assert next(iter(s._theta_cache.values()))[1] == 122
    # The schedule keeps a study reproducible: the same sequence gives the same proposals.
    s2, s3 = GPSampler(seed=0), GPSampler(seed=0)
    first = [propose(s2, n) for n in (120, 121, 122)]
    assert first == [propose(s3, n) for n in (120, 121, 122)]


def test_unknown_keyword_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="_not_a_knob"):
        GPSampler(seed=0, _not_a_knob=1)


class TestGPConformance(SamplerTests):
    """The shared sampler checks, with a short startup so the model proposes most points."""

    def make_sampler(self, seed, space):
        return GPSampler(seed=seed, n_startup_trials=4)


def test_plateau_objectives_get_a_noisier_prior_and_distinct_values_do_not() -> None:
    from honed.samplers.gp._sampler import _mostly_ties

    accuracy_steps = np.round(np.random.default_rng(0).uniform(0.9, 0.95, (30, 1)) * 60) / 60
    distinct = np.random.default_rng(1).random((30, 1))
    assert _mostly_ties(accuracy_steps)
    assert not _mostly_ties(distinct)
    assert not _mostly_ties(accuracy_steps[:8])  # too few trials to call it a plateau

    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}

    def proposal(values: np.ndarray, tuning: GPTuning | None = None) -> dict:
        study = honed.create_study(sampler=GPSampler(seed=0, tuning=tuning))
        for v in values[:, 0]:
            study.tell(study.ask(space), float(v))
        return study.ask(space).params

    # Setting the noise prior by hand turns the trigger off; it equals the default prior, so
    # proposals differ only where the trigger fired.
    fixed = GPTuning(noise_prior_mean=-6.0)
    assert proposal(accuracy_steps) != proposal(accuracy_steps, fixed)
    assert proposal(distinct) == proposal(distinct, fixed)


def test_plateau_helpers_and_the_copula_warp() -> None:
    from honed.samplers.gp._sampler import _quantum, _since_best, _tied_early, _warp

    # The least improvement on a plateau: the smallest gap among the lowest distinct values.
    assert _quantum(np.array([0.3, 0.1, 0.1, 0.2, 0.5, 0.25])) == pytest.approx(0.05)
    assert _quantum(np.array([0.4, 0.4, 0.4])) == 0.0
    # Trials since the best value was first reached (repeats of it are no improvement).
    assert _since_best(np.array([0.5, 0.2, 0.3, 0.2, 0.4])) == 3
    assert _since_best(np.array([0.5, 0.4, 0.1])) == 0
    # Ties among the first 30 values only, NaN and inf ignored.
    assert _tied_early(np.array([1.0, 2.0, 1.0]))
    assert not _tied_early(np.array([1.0, 2.0, np.nan, np.nan, 3.0]))
    assert not _tied_early(np.concatenate([np.arange(30.0), [0.0]]))
    # Copula: normal scores of the ranks, standardized; ties share a score; the ordering is
    # kept and the magnitudes are not.
    y = np.array([0.5, 0.50001, 1.0, 1.0, 100.0])
    z = _warp(y, "copula")
    assert z.mean() == pytest.approx(0.0, abs=1e-12)
    assert z.std() == pytest.approx(1.0)
    assert z[2] == z[3]
    assert np.all(np.diff(z[[0, 1, 2, 4]]) > 0)
    ref = norm.ppf((np.array([1, 2, 3.5, 3.5, 5]) - 0.5) / 5)
    assert np.allclose(z, (ref - ref.mean()) / ref.std())
    with pytest.raises(ValueError, match="output_warping"):
        GPSampler(output_warping="rank")


def test_the_copula_is_used_for_early_ties_on_flat_spaces_only() -> None:
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}
    rng = np.random.default_rng(3)
    capped = np.minimum(rng.random(12) * 2.0, 1.0)  # 4 of 12 trials hit the cap of 1
    distinct = rng.random(12)
    from honed.samplers.gp._sampler import _mostly_ties

    assert not _mostly_ties(capped[:, None])  # ties, but not a plateau

    def proposal(values: np.ndarray, **kw) -> dict:
        study = honed.create_study(sampler=GPSampler(seed=0, **kw))
        for v in values:
            study.tell(study.ask(space), float(v))
        return study.ask(space).params

    assert proposal(capped) == proposal(capped, output_warping="copula")
    assert proposal(capped) != proposal(capped, output_warping="yeo-johnson")
    assert proposal(distinct) == proposal(distinct, output_warping="yeo-johnson")
    assert proposal(distinct) != proposal(distinct, output_warping="copula")

    # Tree-shaped spaces keep Yeo-Johnson even with early ties.
    space = {
        "kind": Choice({"a": {"ax": Float(0.0, 1.0)}, "b": {"bx": Float(0.0, 1.0)}}),
        "y": Float(0.0, 1.0),
    }
    assert proposal(capped) == proposal(capped, output_warping="yeo-johnson")
    assert proposal(capped) != proposal(capped, output_warping="copula")
