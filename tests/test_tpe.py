"""The TPE sampler: conformance, the decision's properties, and that it actually optimizes."""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Mapping

import numpy as np
import pytest

import honed
from honed.history import History
from honed.pareto import hypervolume, hypervolume_contributions, non_dominated_ranks
from honed.samplers import RandomSampler, get_sampler
from honed.samplers.tpe import TPESampler
from honed.samplers.tpe._split import below_weights, n_below, split
from honed.space import Choice, Distribution, Float, Int
from honed.testing.samplers import SamplerTests
from honed.trial import Direction, FrozenTrial, TrialState


class TestTPEConformance(SamplerTests):
    n_trials = 14

    def make_sampler(self, seed: int | None, space: Mapping[str, Distribution]) -> TPESampler:
        # a short warm-up so most checked trials come from the model, not the Sobol start
        return TPESampler(seed=seed, n_startup_trials=4)


class TestUnivariateTPEConformance(SamplerTests):
    n_trials = 12

    def make_sampler(self, seed: int | None, space: Mapping[str, Distribution]) -> TPESampler:
        return TPESampler(seed=seed, n_startup_trials=4, multivariate=False)


SPHERE = {f"x{i}": Float(-5.0, 5.0) for i in range(4)}


def _sphere(params: Mapping[str, float]) -> float:
    return float(sum(params[f"x{i}"] ** 2 for i in range(4)))


def _run(sampler: honed.samplers.Sampler, n: int, space=SPHERE, fn=_sphere) -> honed.Study:
    study = honed.create_study(sampler=sampler)
    for _ in range(n):
        trial = study.ask(space)
        study.tell(trial, fn(trial.params))
    return study


def test_registered_by_name() -> None:
    sampler = get_sampler("tpe", seed=3)
    assert isinstance(sampler, TPESampler) and sampler.seed == 3


def test_beats_random_on_a_quadratic() -> None:
    tpe = [_run(TPESampler(seed=s), 40).best_value for s in range(4)]
    rnd = [_run(RandomSampler(seed=s), 40).best_value for s in range(4)]
    # random search reaches ~3-5 here in 40 trials; TPE well under half of that
    assert np.mean(tpe) < 0.5 * np.mean(rnd), (tpe, rnd)


def test_startup_is_sobol_and_spread() -> None:
    """The first trials are a scrambled Sobol design: in 1-D, 8 points fill 8 equal bins."""
    study = _run(TPESampler(seed=1, n_startup_trials=8), 8, {"x": Float(0.0, 1.0)}, lambda p: 0)
    xs = sorted(t.params["x"] for t in study.trials)
    assert sorted(int(x * 8) for x in xs) == list(range(8))


def test_invalid_arguments_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="n_ei_candidates"):
        TPESampler(n_ei_candidates=0)
    with pytest.raises(ValueError, match="gamma"):
        TPESampler(gamma=1.5)
    with pytest.raises(ValueError, match="bandwidth"):
        TPESampler(bandwidth="silverman")
    with pytest.raises(ValueError, match="n_startup_trials"):
        TPESampler(n_startup_trials=-1)
    with pytest.raises(ValueError, match="prior_weight"):
        TPESampler(prior_weight=0)


def _pairwise_min(points: np.ndarray) -> float:
    d = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    return float(d[np.triu_indices(len(points), 1)].min())


def test_constant_liar_spreads_concurrent_asks() -> None:
    space = {"x": Float(-5.0, 5.0), "y": Float(-5.0, 5.0)}
    spread = {}
    for liar in (True, False):
        mins = []
        for seed in range(3):
            study = _run(TPESampler(seed=seed, constant_liar=liar), 30, space, _sphere2)
            pending = [study.ask(space) for _ in range(8)]  # eight workers, none told yet
            pts = np.array([[t.params["x"], t.params["y"]] for t in pending]) / 10.0
            mins.append(_pairwise_min(pts))
        spread[liar] = mins
    # with the liar, no two of the 8 proposals are near-identical
    assert min(spread[True]) > 0.05, spread
    assert np.mean(spread[True]) > 2 * np.mean(spread[False]), spread


def _sphere2(p: Mapping[str, float]) -> float:
    return p["x"] ** 2 + p["y"] ** 2


def test_parallel_threads_run() -> None:
    study = honed.create_study(sampler=TPESampler(seed=0, n_startup_trials=4))

    def objective(trial: honed.Trial) -> float:
        return trial.float("x", -3.0, 3.0) ** 2 + trial.int("k", 0, 4)

    study.optimize(objective, n_trials=16, n_jobs=2, show_progress=False, executor="thread")
    trials = study.trials
    assert len(trials) == 16 and all(t.state is TrialState.COMPLETE for t in trials)


def test_constraints_steer_to_the_feasible_region() -> None:
    """Minimize x^2 + y^2 subject to x + y >= 1: the optimum (0.5 each) sits on the boundary
    and most of the box around the unconstrained optimum is infeasible."""
    space = {"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0)}

    def run(sampler: honed.samplers.Sampler, tell_constraints: bool = True) -> tuple[float, float]:
        study = honed.create_study(sampler=sampler)
        for _ in range(60):
            trial = study.ask(space)
            x, y = trial.params["x"], trial.params["y"]
            if tell_constraints:
                trial.set_constraints([1.0 - x - y])
            study.tell(trial, x * x + y * y)
        late = study.trials[30:]
        feasible = np.mean([x + y >= 1 for x, y in (t.params.values() for t in late)])
        best = min(t.values[0] for t in study.trials if sum(t.params.values()) >= 1)
        return float(feasible), best

    tpe = [run(TPESampler(seed=s)) for s in range(3)]
    blind = [run(TPESampler(seed=s), tell_constraints=False) for s in range(3)]
    rnd = [run(RandomSampler(seed=s)) for s in range(3)]
    feasible = {
        k: np.mean([f for f, _ in v]) for k, v in [("tpe", tpe), ("blind", blind), ("rnd", rnd)]
    }
    # the optimum sits on the boundary, so about half of the proposals near it are infeasible;
    # a TPE that is not told the constraints chases the infeasible origin instead
    assert feasible["tpe"] > feasible["rnd"] + 0.15, feasible
    assert feasible["tpe"] > feasible["blind"] + 0.15, feasible
    assert np.mean([b for _, b in tpe]) < 0.7, tpe  # the constrained optimum is 0.5
    assert np.mean([b for _, b in tpe]) < np.mean([b for _, b in rnd]), (tpe, rnd)


def _zdt1(params: Mapping[str, float]) -> tuple[float, float]:
    x = np.array([params[f"x{i}"] for i in range(3)])
    g = 1 + 9 * x[1:].mean()
    f1 = x[0]
    return float(f1), float(g * (1 - math.sqrt(f1 / g)))


def test_multi_objective_beats_random_on_hypervolume() -> None:
    space = {f"x{i}": Float(0.0, 1.0) for i in range(3)}
    ref = np.array([1.1, 11.0])

    def hv(sampler: honed.samplers.Sampler) -> float:
        study = honed.create_study(sampler=sampler, directions=["minimize", "minimize"])
        for _ in range(60):
            trial = study.ask(space)
            study.tell(trial, _zdt1(trial.params))
        losses = np.array([t.values for t in study.trials])
        return hypervolume(losses, ref)

    tpe = [hv(TPESampler(seed=s)) for s in range(3)]
    rnd = [hv(RandomSampler(seed=s)) for s in range(3)]
    assert np.mean(tpe) > np.mean(rnd) + 0.1 * (np.mean(rnd) - 0), (tpe, rnd)


def test_conditional_space_finds_the_good_branch() -> None:
    """Define-by-run conditional objective: the "b" branch holds the optimum; TPE groups each
    branch's parameters and should spend most late trials on "b"."""

    def objective(trial: honed.Trial) -> float:
        branch = trial.choice("branch", ["a", "b", "c"])
        if branch == "a":
            return 1.0 + trial.float("a_x", 0.0, 1.0)
        if branch == "b":
            u = trial.float("b_u", -1.0, 1.0)
            k = trial.int("b_k", 1, 20)
            return u * u + 0.02 * abs(k - 5)
        return 2.0 + trial.float("c_y", 0.0, 1.0, log=False)

    shares, bests = [], []
    for seed in range(3):
        study = honed.create_study(sampler=TPESampler(seed=seed))
        study.optimize(objective, n_trials=50, show_progress=False)
        late = study.trials[25:]
        shares.append(np.mean([t.params["branch"] == "b" for t in late]))
        bests.append(study.best_value)
    assert np.mean(shares) > 0.6, shares
    assert np.mean(bests) < 0.1, bests


def _history(n: int, seed: int = 0, reorder: bool = False) -> History:
    """A history with complete, pruned, failed, running and infeasible trials."""
    rng = np.random.default_rng(seed)
    space = {"x": Float(-2.0, 2.0), "k": Int(1, 64, log=True), "c": Choice(["a", "b", "c"])}
    trials = []
    for i in range(n):
        params = {name: d.from_unit(rng.random()) for name, d in space.items()}
        state = TrialState.COMPLETE
        if i % 7 == 3:
            state = TrialState.PRUNED
        elif i % 11 == 5:
            state = TrialState.FAILED
        elif i >= n - 3:
            state = TrialState.RUNNING
        values = (
            (float(params["x"] ** 2 + math.log(params["k"])),)
            if state is TrialState.COMPLETE
            else None
        )
        trials.append(
            FrozenTrial(
                number=i,
                state=state,
                params=params,
                distributions=space,
                values=values,
                intermediate_values={0: 3.0, 1: float(i % 3)} if state is TrialState.PRUNED else {},
                constraints=(float(params["x"]) - 1.5,) if i % 5 == 0 else None,
                trial_id=i,
            )
        )
    return History(trials, [Direction.MINIMIZE])


def _propose(sampler: TPESampler, history: History, number: int) -> dict:
    current = FrozenTrial(number=number, state=TrialState.RUNNING, trial_id=number)
    space = sampler.infer_relative_space(history, current)
    out = sampler.sample_relative(history, current, space)
    out["_ind"] = sampler.sample_independent(history, current, "x", Float(-2.0, 2.0))
    return out


def test_incremental_cache_equals_cold_recomputation() -> None:
    warm = TPESampler(seed=5)
    full = _history(80)
    for n in range(10, 81, 7):
        # grow the history as a study would, with trials finishing out of number order
        trials = list(full)[:n]
        if n < 80:
            trials[n - 5] = dataclasses.replace(trials[n - 5], state=TrialState.RUNNING)
        history = History(trials, full.directions)
        got = _propose(warm, history, n)
        cold = _propose(TPESampler(seed=5), history, n)
        assert got == cold, n
    # a history whose finished trials differ from the cached ones must not reuse the cache
    changed = [
        dataclasses.replace(t, values=(-t.values[0],)) if t.values else t for t in list(full)
    ]
    history = History(changed, full.directions)
    assert _propose(warm, history, 80) == _propose(TPESampler(seed=5), history, 80)
    # equal copies (new objects) are recognised as the same trials
    copies = History([dataclasses.replace(t) for t in changed], full.directions)
    assert _propose(warm, copies, 80) == _propose(TPESampler(seed=5), copies, 80)


def test_pickled_sampler_proposes_the_same() -> None:
    sampler = TPESampler(seed=2)
    history = _history(40)
    first = _propose(sampler, history, 40)
    clone = pickle.loads(pickle.dumps(sampler))
    assert _propose(clone, history, 40) == first


def test_split_orders_feasible_infeasible_pruned() -> None:
    losses = np.array([[3.0], [1.0], [0.5], [np.inf], [2.0]])
    violation = np.array([0.0, 0.0, 2.0, 0.0, 0.0])
    pruned = np.array([False, False, False, True, False])
    step = np.array([-1.0, -1.0, -1.0, 4.0, -1.0])
    last = np.array([np.inf, np.inf, np.inf, 0.1, np.inf])
    below, above = split(losses, violation, pruned, step, last, 4)
    # feasible by loss (1, 4, 0), then the infeasible row 2; the pruned row is last
    assert below.tolist() == [0, 1, 2, 4] and above.tolist() == [3]
    below, _ = split(losses, violation, pruned, step, last, 2)
    assert below.tolist() == [1, 4]
    assert n_below(0, 0.1, 25) == 0 and n_below(5, 0.1, 25) == 1 and n_below(1000, 0.1, 25) == 25


def test_multi_objective_split_uses_ranks_then_hypervolume() -> None:
    losses = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.45, 0.55], [1.0, 1.0], [2.0, 2.0]])
    assert non_dominated_ranks(losses).tolist() == [0, 0, 0, 0, 1, 2]
    n = len(losses)
    below, _ = split(
        losses, np.zeros(n), np.zeros(n, bool), np.full(n, -1.0), np.full(n, np.inf), 3
    )
    # rank 0 has four points; the two near-duplicates in the middle contribute least, and
    # only one of them stays
    assert 0 in below and 1 in below and len(below) == 3
    assert len({2, 3} & set(below.tolist())) == 1


@pytest.mark.parametrize("m", [2, 3])
def test_front_contributions_are_the_volume_each_point_alone_adds(m: int) -> None:
    """The split thins a front by exclusive contributions: HV(front) - HV(front without p)."""
    rng = np.random.default_rng(m)
    pts = rng.random((40, m))
    front = pts[non_dominated_ranks(pts) == 0]
    ref = np.full(m, 1.2)
    full = hypervolume(front, ref)
    alone = [full - hypervolume(np.delete(front, i, axis=0), ref) for i in range(len(front))]
    np.testing.assert_allclose(hypervolume_contributions(front, ref), alone, atol=1e-12)


def test_pruned_and_running_histories_with_all_kinds() -> None:
    """The model phase handles log ints, stepped floats and categories with a small domain."""
    space = {
        "i_log": Int(1, 4096, log=True),
        "f_step": Float(0.0, 2.0, step=0.25),
        "i_step": Int(0, 60, step=5),
        "c": Choice([None, True, 0, 2.5, "1"]),
        "i_two": Int(0, 1),
    }
    study = honed.create_study(sampler=TPESampler(seed=4, n_startup_trials=3))
    for i in range(25):
        trial = study.ask(space)
        if i % 4 == 3:
            trial.report(1.0, 0)
            study.tell(trial, state=TrialState.PRUNED)
            continue
        study.tell(trial, float(np.log(trial.params["i_log"])) + trial.params["f_step"])
    for t in study.trials:
        for name, d in space.items():
            assert d.contains(t.params[name]), (name, t.params[name])
    # it exploits: late log-int proposals concentrate at the low end
    late = [t.params["i_log"] for t in study.trials[15:]]
    assert np.median(late) < 16, late


def test_discrete_space_does_not_repeat_configurations() -> None:
    """On a 20-point grid, TPE tries new points instead of re-running the best one."""
    space = {"k": Int(1, 10), "w": Choice(["u", "d"])}
    for seed in range(3):
        study = _run(
            TPESampler(seed=seed), 20, space, lambda p: (p["k"] - 3) ** 2 + (p["w"] == "u")
        )
        configs = [tuple(t.params.values()) for t in study.trials]
        assert len(set(configs)) >= 17, configs


@pytest.mark.parametrize("m", [2, 3, 4])
def test_multi_objective_split_takes_whole_fronts_first(m: int) -> None:
    rng = np.random.default_rng(m)
    losses = rng.random((80, m))
    n = len(losses)
    k = 12
    below, above = split(
        losses, np.zeros(n), np.zeros(n, bool), np.full(n, -1.0), np.full(n, np.inf), k
    )
    assert len(below) == k and len(above) == n - k
    ranks = non_dominated_ranks(losses)
    cut = ranks[below].max()
    # every row of a better front than the cut front is below
    assert set(np.flatnonzero(ranks < cut)) <= set(below.tolist())


def test_sampler_sees_the_params_of_trials_asked_but_not_told() -> None:
    """The study queues parameter writes; a sampler must still see where running trials are."""
    seen: list[dict] = []

    class Recording(TPESampler):
        def infer_relative_space(self, history, trial, declared_space=None):  # type: ignore[override]
            seen.append({t.number: dict(t.params) for t in history.running})
            return super().infer_relative_space(history, trial, declared_space)

    study = honed.create_study(sampler=Recording(seed=0))
    first = study.ask(SPHERE)
    study.ask(SPHERE)
    assert seen[-1] == {first.number: first.params}


def test_multi_objective_good_trials_weigh_by_contribution() -> None:
    losses = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.6, 0.6]])
    w = below_weights(losses)
    assert w[3] < 1e-9  # dominated by [0.5, 0.5]: contributes nothing
    assert np.all(w[:3] > 0.1) and w.max() == 1.0
    assert below_weights(np.ones((3, 4))).tolist() == [1.0, 1.0, 1.0]  # nothing contributes


def _proposals(sampler: TPESampler, n_params: int, n_trials: int = 24) -> list[dict]:
    study = honed.create_study("g", sampler=sampler)
    out = []
    for _ in range(n_trials):
        t = study.ask()
        xs = [t.float(f"x{i}", -1.0, 1.0) for i in range(n_params)]
        study.tell(t, float(sum((x - 0.3) ** 2 for x in xs)))
        out.append(dict(t.params))
    return out


def test_default_gamma_is_larger_for_one_or_two_parameters() -> None:
    from honed.samplers.tpe._sampler import auto_gamma

    assert auto_gamma(1) == auto_gamma(2) == 0.25 and auto_gamma(3) == auto_gamma(20) == 0.1
    # the default behaves exactly as the explicit share for the space's size, and differs
    # from the other one (so the rule is really applied)
    low = _proposals(TPESampler(seed=3), 2)
    assert low == _proposals(TPESampler(seed=3, gamma=0.25), 2)
    assert low != _proposals(TPESampler(seed=3, gamma=0.1), 2)
    high = _proposals(TPESampler(seed=3), 4)
    assert high == _proposals(TPESampler(seed=3, gamma=0.1), 4)
    with pytest.raises(ValueError, match="gamma"):
        TPESampler(gamma=True)


def _mo_proposals(sampler: TPESampler, n_trials: int = 24) -> list[dict]:
    space = {f"x{i}": Float(0.0, 1.0) for i in range(3)}
    study = honed.create_study(sampler=sampler, directions=["minimize", "minimize"])
    out = []
    for _ in range(n_trials):
        t = study.ask(space)
        study.tell(t, _zdt1(t.params))
        out.append(dict(t.params))
    return out


def test_default_bandwidth_depends_on_the_number_of_objectives() -> None:
    # one objective keeps the per-point gaps; several use Scott's rule; both really differ
    one = _proposals(TPESampler(seed=5), 4)
    assert one == _proposals(TPESampler(seed=5, bandwidth="neighbour"), 4)
    assert one != _proposals(TPESampler(seed=5, bandwidth="scott"), 4)
    many = _mo_proposals(TPESampler(seed=5))
    assert many == _mo_proposals(TPESampler(seed=5, bandwidth="scott"))
    assert many != _mo_proposals(TPESampler(seed=5, bandwidth="neighbour"))
    with pytest.raises(ValueError, match="bandwidth"):
        TPESampler(bandwidth="silverman")


def test_default_models_jointly_for_one_objective_and_alone_for_several() -> None:
    one = _proposals(TPESampler(seed=7), 4)
    assert one == _proposals(TPESampler(seed=7, multivariate=True), 4)
    assert one != _proposals(TPESampler(seed=7, multivariate=False), 4)
    many = _mo_proposals(TPESampler(seed=7))
    assert many == _mo_proposals(TPESampler(seed=7, multivariate=False))
    assert many != _mo_proposals(TPESampler(seed=7, multivariate=True))


def test_three_objective_weights_are_square_roots_of_the_shares() -> None:
    front2 = np.array([[0.0, 1.0], [0.2, 0.5], [1.0, 0.0]])
    front3 = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.5]])
    for front, power in ((front2, 1.0), (front3, 0.5)):
        hi, lo = front.max(axis=0), front.min(axis=0)
        exact = hypervolume_contributions(front, hi + 0.1 * (hi - lo))
        np.testing.assert_allclose(below_weights(front), (exact / exact.max()) ** power)
    assert np.all(below_weights(front3) > 0.1)
