"""The development suite (issue 20): its shape, its known optima, its noisy and failing
problems, and the leave-one-family-out scoring."""

from __future__ import annotations

import dataclasses
import itertools
import math
import re

import numpy as np
import pytest

from honed_bench.lofo import LOFO_NAME, compose, family_table, leave_one_family_out, mean_ranks
from honed_bench.problems import dev, select_problems
from honed_bench.runner import problem_fingerprint, run_one, sample_uniform
from honed_bench.scoring import trace_curve

PROBLEMS = select_problems(["dev"])


def test_sixty_problems_in_seven_documented_families() -> None:
    assert len(PROBLEMS) >= 60
    assert len({p.name for p in PROBLEMS}) == len(PROBLEMS)
    families = {p.tags["family"] for p in PROBLEMS}
    assert families == set(dev.FAMILIES)
    for fam in dev.FAMILIES:
        members = [p for p in PROBLEMS if p.tags["family"] == fam]
        assert len(members) >= 6, fam
        # each family is documented with why it is there
        assert re.search(rf"``{fam}`` \(\d+\)", dev.__doc__ or ""), fam
    assert all(p.tags["budget"] == 200 for p in PROBLEMS if p.tags["family"] == "long")


def test_bbob_optima_are_cocos(tmp_path: pytest.TempPathFactory, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # cocoex writes the optimum's location into the cwd
    for (f, d, i), value in dev.BBOB_OPTIMA.items():
        problem = dev._bbob(f, d, i)
        problem._best_parameter("print")
        x = np.loadtxt("._bbob_problem_best_parameter.txt", ndmin=1)
        assert problem(x) == pytest.approx(value, abs=1e-9)
        params = {f"x{k}": v for k, v in enumerate(x)}
        assert dev.bbob_value(f, d, i, params) == pytest.approx(value, abs=1e-9)


def test_exact_optima_of_the_discrete_problems() -> None:
    # the chain's dynamic programme against brute force on a small chain
    n, levels, seed = 4, 3, 7
    brute = min(
        dev.categorical_chain(n, levels, seed, {f"c{i}": f"v{c}" for i, c in enumerate(combo)})
        for combo in itertools.product(range(levels), repeat=n)
    )
    assert dev.categorical_chain_optimum(n, levels, seed) == pytest.approx(brute)
    brute = min(
        dev.bqp(6, 1, {f"b{i}": b for i, b in enumerate(bits)})
        for bits in itertools.product((0, 1), repeat=6)
    )
    assert dev.bqp_optimum(6, 1) == pytest.approx(brute)


def test_known_optima_are_attained_where_the_argmin_is_known() -> None:
    by_name = {p.name: p for p in PROBLEMS}
    conditional = {
        "dev-conditional-optimiser": {
            "optimizer": "sgd",
            "sgd_lr": 0.1,
            "sgd_momentum": 0.9,
            "sgd_nesterov": True,
            "weight_decay": 1e-4,
            "warmup": 0.1,
        },
        "dev-conditional-mixed-reg": {
            **{f"x{i}": 0.3 for i in range(3)},
            **{f"k{i}": 3 for i in range(2)},
            "act": "relu",
            "reg": True,
            "reg_strength": 1e-3,
        },
        "dev-failing-solver-choice": {**{f"x{i}": 0.2 for i in range(4)}, "solver": "fast"},
        "dev-failing-levy-6-diagonal": {f"x{i}": 1.0 for i in range(6)},
        "dev-failing-rosenbrock-5-half": {f"x{i}": 1.0 for i in range(5)},
        "dev-failing-branin-2-upper-corner": {"x0": math.pi, "x1": 2.275},
    }
    for name, params in conditional.items():
        p = by_name[name]
        assert p.evaluate(params) == pytest.approx(p.optimum, abs=1e-5), name


def test_failing_problems_fail_somewhere_and_only_there() -> None:
    rng = np.random.default_rng(0)
    for p in PROBLEMS:
        if p.tags["family"] != "failing" or "sgd" in p.name or "mlp" in p.name:
            continue
        outcomes = []
        for _ in range(300):
            try:
                p.evaluate(sample_uniform(p.space, rng))
                outcomes.append(True)
            except dev.DivergedError:
                outcomes.append(False)
        share = 1 - np.mean(outcomes)
        assert 0.05 < share < 0.8, (p.name, share)


def test_noisy_problems_disagree_on_repeats_and_have_a_deterministic_mean() -> None:
    rng = np.random.default_rng(1)
    for p in PROBLEMS:
        if p.tags["family"] != "noisy" or "cv-" in p.name:
            continue
        assert p.noiseless is not None
        params = sample_uniform(p.space, rng)
        draws = {p.evaluate(params) for _ in range(5)}
        assert len(draws) > 1, p.name
        assert p.noiseless(params) == p.noiseless(params)


def test_a_noisy_run_is_scored_by_the_noiseless_value_of_its_observed_best() -> None:
    trace = {
        "values": [[5.0], [1.0], None, [3.0]],
        "true_values": [4.0, 2.5, None, 0.5],
    }
    # after 2 trials the observed best is trial 1 (true 2.5), still after 4 (3.0 > 1.0)
    curve = trace_curve(trace, np.array([1.0]), [1, 2, 4], None, worst=10.0)
    assert curve == [4.0, 2.5, 2.5]
    # without noiseless values, the best observed value itself
    curve = trace_curve({"values": trace["values"]}, np.array([1.0]), [1, 2, 4], None, 10.0)
    assert curve == [5.0, 1.0, 1.0]


def test_a_noisy_run_records_noiseless_values() -> None:
    p = next(p for p in PROBLEMS if p.name == "dev-noisy-branin-2-additive-2")
    trace = run_one("honed:random", p, 0, 6)
    assert len(trace["true_values"]) == 6
    assert trace["true_values"] != [v[0] for v in trace["values"]]
    # a problem's noiseless function is part of its definition
    assert problem_fingerprint(p) != problem_fingerprint(dataclasses.replace(p, noiseless=None))


def _regrets() -> tuple[dict, list]:
    problems = [
        next(p for p in PROBLEMS if p.tags["family"] == fam) for fam in ("bbob", "intcat", "noisy")
    ] + [[p for p in PROBLEMS if p.tags["family"] == "bbob"][1]]
    # candidate "a" is best on bbob, "b" on intcat and noisy
    table = {
        "bbob": {"a": 0.1, "b": 0.5, "peer": 0.3},
        "intcat": {"a": 0.6, "b": 0.2, "peer": 0.3},
        "noisy": {"a": 0.6, "b": 0.3, "peer": 0.2},
    }
    regrets = {}
    for p in problems:
        for opt, v in table[p.tags["family"]].items():
            for seed in range(2):
                regrets[(opt, p.name, seed)] = np.array([v + 0.1, v])
    return regrets, problems


def test_leave_one_family_out_chooses_on_the_other_families() -> None:
    regrets, problems = _regrets()
    chosen = leave_one_family_out(regrets, problems, ["a", "b"], [1])
    # bbob left out: b wins intcat and noisy
    assert chosen["bbob"] == "b"
    # without intcat: a scores mean(0.1, 0.1, 0.6) = 0.27, b mean(0.5, 0.5, 0.3) = 0.43
    assert chosen["intcat"] == "a"
    assert chosen["noisy"] == "a"
    composed = compose(regrets, problems, chosen)
    table = family_table({**regrets, **composed}, problems, [LOFO_NAME, "peer"], 1)
    # the left-out scores, not the in-sample best: worse than the peer on bbob, intcat, noisy
    assert table["bbob"][LOFO_NAME] == pytest.approx(0.5)
    assert table["intcat"][LOFO_NAME] == pytest.approx(0.6)
    assert table["all"]["peer"] < table["all"][LOFO_NAME]
    ranks = mean_ranks({**regrets, **composed}, problems, [LOFO_NAME, "peer"], 1)
    assert ranks["all"]["peer"] == pytest.approx(1.0)
    assert ranks["all"][LOFO_NAME] == pytest.approx(2.0)


def test_the_categorical_holdout_is_categorical_heavy_and_outside_the_dev_suite() -> None:
    from honed.space import Choice, load_space

    held_out = select_problems(["categorical"])
    assert len(held_out) == 3
    assert not {p.name for p in held_out} & {p.name for p in PROBLEMS}
    rng = np.random.default_rng(0)
    for p in held_out:
        space = load_space(p.space)
        assert sum(isinstance(d, Choice) for d in space.values()) > 0.5 * len(space)
        value = p.evaluate(sample_uniform(p.space, rng))
        assert 0.0 <= value < 1.0


def test_median_rule_stops_a_curve_worse_than_the_median_at_a_step() -> None:
    from honed_bench.runner import median_stop

    earlier = [[5.0, 4.0, 3.0], [4.0, 3.0, 2.0], [3.0, 2.0, 1.0], [6.0, 5.0], [2.0, 1.0, 0.5]]
    # fewer than 5 earlier trials at a step: never stopped there
    assert median_stop([9.0, 9.0, 9.0], earlier[:4]) is None
    # worse than the median (4.0) at step 0: stopped there
    assert median_stop([4.5, 0.1, 0.0], earlier) == 0
    # better at step 0, worse than the median (3.0) of step 1 by its best so far (3.5)
    assert median_stop([3.5, 3.6, 0.0], earlier) == 1
    # step 2 has only 4 earlier trials; the last step never stops
    assert median_stop([3.0, 2.0, 9.0], earlier) is None


def test_pruning_problems_tell_the_optimizer_and_score_completed_trials() -> None:
    from honed import TrialState
    from honed_bench.optimizers import make_optimizer

    problem = next(p for p in PROBLEMS if p.name == "dev-pruning-crossing-branin")
    assert problem.curve is not None
    trace = run_one("honed:random", problem, seed=0, n_trials=30)
    assert 0 < trace["n_pruned"] < 30 and trace["n_failed"] == 0
    # a pruned trial has no final value: it can never be the best
    assert sum(v is None for v in trace["values"]) == trace["n_pruned"]
    # honed's adapter records it as PRUNED with the curve as intermediate values
    adapter = make_optimizer("honed:tpe", problem, 0, 10)
    handle, params = adapter.ask()
    curve = problem.curve(params)[:3]
    adapter.tell_pruned(handle, curve)
    (trial,) = adapter.study.trials
    assert trial.state is TrialState.PRUNED
    assert [trial.intermediate_values[s] for s in range(3)] == pytest.approx(curve)
    # evaluate is the curve's last value
    assert problem.evaluate(params) == pytest.approx(problem.curve(params)[-1])


def test_optuna_is_told_a_pruned_trial_as_pruned() -> None:
    import optuna

    from honed_bench.optimizers import make_optimizer

    problem = next(p for p in PROBLEMS if p.name == "dev-pruning-crossing-branin")
    adapter = make_optimizer("optuna:tpe", problem, 0, 10)
    handle, params = adapter.ask()
    adapter.tell_pruned(handle, problem.curve(params)[:2])
    (trial,) = adapter.study.trials
    assert trial.state is optuna.trial.TrialState.PRUNED
    assert sorted(trial.intermediate_values) == [0, 1]
