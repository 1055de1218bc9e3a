"""The multi-fidelity benchmark's simulated clock, on real (tiny) training."""

from __future__ import annotations

import json
import math

import pytest

from honed_bench.cli import main
from honed_bench.multifidelity import (
    Trace,
    _method_factories,
    make_problem,
    markdown,
    run_multifidelity,
    simulate,
)


def test_problem_trains_incrementally_and_caches(tmp_path):
    prob = make_problem("mlp-digits", tmp_path, max_epochs=3)
    idx = {k: 0 for k in prob.grid}
    acc1, cost1 = prob.epoch(idx, 1)
    assert 0.0 <= acc1 <= 1.0 and cost1 > 0
    acc3, _ = prob.epoch(idx, 3)
    row = prob.table[prob.key(idx)]
    assert len(row["acc"]) == 3 and row["acc"][0] == acc1
    prob.save()
    again = make_problem("mlp-digits", tmp_path, max_epochs=3)
    assert again.epoch(idx, 3) == (acc3, row["cost"][2])  # served from the cache


@pytest.mark.slow
def test_simulate_replays_costs_on_two_workers(tmp_path):
    prob = make_problem("mlp-digits", tmp_path, max_epochs=9)
    run = _method_factories(9)["honed:asha"](0)
    tr = simulate("honed:asha", run, prob, 0, budget=1.0, workers=2)
    assert tr.n_trials >= 2 and tr.n_epochs >= tr.n_trials
    assert tr.best == sorted(tr.best) and all(t <= 1.0 for t in tr.times)
    # ASHA stops most trials before the end: fewer epochs than trials * max_epochs
    assert tr.n_epochs < 9 * tr.n_trials
    states = {t.state.name for t in run.study.trials}
    assert "PRUNED" in states
    assert tr.time_to(2.0) == math.inf and tr.time_to(tr.best[0]) == tr.times[0]


def test_fixed_decision_seconds_make_runs_repeatable(tmp_path):
    prob = make_problem("mlp-digits", tmp_path, max_epochs=9)
    traces = []
    for _ in range(2):
        run = _method_factories(9)["honed:asha+ranked-tpe"](3)
        traces.append(simulate("m", run, prob, 3, 0.5, 2, decision_seconds=0.002))
    first, second = traces
    assert (first.times, first.best, first.n_trials) == (second.times, second.best, second.n_trials)
    assert first.overhead == pytest.approx(0.002 * (first.n_trials + first.n_epochs))
    with pytest.raises(ValueError, match="decision_seconds must be >= 0"):
        run_multifidelity(["honed:asha"], ["mlp-digits"], [0], 0.1, decision_seconds=-1.0)


def test_trace_and_markdown():
    tr = Trace("m", "p", 0, [1.0, 2.0], [0.5, 0.9], 3, 10, 0.1)
    assert tr.best_by(1.5) == 0.5 and tr.time_to(0.8) == 2.0
    res = run_multifidelity(["honed:asha", "optuna:tpe+median"], [], [0], 1.0)
    assert res == {"problems": {}}
    md = markdown(
        {
            "problems": {
                "p": {
                    "target": 0.9,
                    "budget": 3.0,
                    "n_configs_trained": 1,
                    "summary": {
                        "honed:asha": {
                            "median_time_to_target": 1.0,
                            "mean_time_to_target": 1.5,
                            "reached": 1,
                            "runs": 1,
                            "mean_best": 0.9,
                            "mean_trials": 3,
                            "mean_overhead_s": 0.1,
                        },
                        "optuna:tpe+median": {
                            "median_time_to_target": 2.0,
                            "mean_time_to_target": 2.5,
                            "reached": 1,
                            "runs": 1,
                            "mean_best": 0.9,
                            "mean_trials": 3,
                            "mean_overhead_s": 0.1,
                        },
                    },
                }
            }
        },
        "cmd",
    )
    assert "| honed:asha | 1.0 | 1/1 | 1.5 |" in md and "2.00x" in md


@pytest.mark.slow
def test_bench_mf_command(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "mf",
            "--methods",
            "honed:asha,optuna:tpe+median",
            "--seeds",
            "1",
            "--budget",
            "0.5",
            "--max-epochs",
            "3",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--out",
            str(out),
            "--target",
            "mlp-digits=0.5",
            "--first-seed",
            "7",
        ]
    )
    assert code == 0
    result = json.loads((out / "mf.json").read_text())
    summ = result["problems"]["mlp-digits"]["summary"]
    assert set(summ) == {"honed:asha", "optuna:tpe+median"}
    assert {tr["seed"] for tr in result["problems"]["mlp-digits"]["traces"]} == {7}
    captured = capsys.readouterr()
    assert "target accuracy 0.5000" in captured.out
    # not a terminal: a line per run, with the runs done out of the total (2 methods x 1 seed)
    assert "[1/2 done (" in captured.err and "[2/2 done (" in captured.err
    assert main(["mf", "--methods", "nope", "--seeds", "1"]) == 2


def test_bench_markdown_has_mean_ratio_and_per_seed_times():
    def summ(med, mean):
        return {
            "median_time_to_target": med,
            "mean_time_to_target": mean,
            "reached": 2,
            "runs": 2,
            "mean_best": 0.9,
            "mean_trials": 3,
            "mean_overhead_s": 0.1,
        }

    def trace(m, seed, times, best):
        return {"method": m, "seed": seed, "times": times, "best": best}

    res = {
        "target": 0.9,
        "budget": 5.0,
        "n_configs_trained": 1,
        "summary": {"honed:asha-time": summ(1.0, 1.5), "optuna:tpe+sh": summ(2.0, 4.5)},
        "traces": [
            trace("honed:asha-time", 0, [0.5, 1.0], [0.5, 0.95]),
            trace("honed:asha-time", 1, [2.0], [0.91]),
            trace("optuna:tpe+sh", 0, [3.0], [0.92]),
            trace("optuna:tpe+sh", 1, [1.0], [0.5]),
        ],
    }
    md = markdown({"problems": {"p": res}}, "cmd")
    assert "| honed:asha-time | 1.0 | 2/2 | 1.5 | 0.9000 | 3 | 0.10 | 2.00x | 3.00x |" in md
    assert "* honed:asha-time: 1.0 2.0" in md
    assert "* optuna:tpe+sh: 3.0 5.0" in md  # seed 1 never reached 0.9: the budget
