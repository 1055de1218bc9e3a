"""honed bench: problems, space translation to peers, scoring, and a tiny real CLI run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from honed.bench.problems import get_problem, select_problems
from honed.bench.problems.synthetic import PROBLEMS as SYNTHETIC
from honed.bench.problems.synthetic import ST_ARGMIN
from honed.cli import main
from honed.space import Choice, Float, Int


def test_branin_optimum_at_its_three_minimizers() -> None:
    p = get_problem("branin")
    for x1, x2 in [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)]:
        assert p.evaluate({"x0": x1, "x1": x2}) == pytest.approx(0.397887, abs=1e-5)
    assert p.optimum == pytest.approx(0.397887, abs=1e-6)


@pytest.mark.parametrize(
    ("name", "coord"),
    [("ackley-5", 0.0), ("rosenbrock-10", 1.0), ("levy-20", 1.0), ("styblinski-tang-2", ST_ARGMIN)],
)
def test_scalable_functions_reach_their_optimum(name: str, coord: float) -> None:
    p = get_problem(name)
    value = p.evaluate(dict.fromkeys(p.space, coord))
    assert value == pytest.approx(p.optimum, abs=1e-9)
    # and a random point is worse
    rng = np.random.default_rng(0)
    other = {k: d.from_unit(rng.random()) for k, d in p.space.items()}
    assert p.evaluate(other) > p.optimum


def test_hartmann6_optimum() -> None:
    p = get_problem("hartmann6")
    x = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
    assert p.evaluate({f"x{i}": v for i, v in enumerate(x)}) == pytest.approx(p.optimum, abs=1e-4)


def test_mixed_problems_optimum_is_attainable_in_their_space() -> None:
    p = get_problem("styblinski-tang-mixed-8")
    kinds = [type(d) for d in p.space.values()]
    assert Float in kinds and Int in kinds and Choice in kinds
    best = {}
    for name, d in p.space.items():
        if isinstance(d, Float):
            best[name] = ST_ARGMIN
        elif isinstance(d, Int):
            best[name] = -3
        else:
            best[name] = min(d.choices, key=lambda v: abs(v - ST_ARGMIN))
        assert d.contains(best[name])
    assert p.evaluate(best) == pytest.approx(p.optimum, abs=1e-9)
    levy = get_problem("levy-mixed-16")
    assert levy.evaluate(dict.fromkeys(levy.space, 1.0)) == pytest.approx(0.0, abs=1e-12)


def test_every_synthetic_problem_is_finite_on_random_points() -> None:
    rng = np.random.default_rng(1)
    for p in SYNTHETIC:
        for _ in range(3):
            params = {k: d.from_unit(rng.random()) for k, d in p.space.items()}
            v = p.evaluate(params)
            assert math.isfinite(v) and v >= p.optimum - 1e-9, p.name


def test_conditional_synthetic_optimum_and_branches() -> None:
    p = get_problem("conditional-synthetic")
    best = {"family": "levy", "levy_x0": 1.0, "levy_x1": 1.0, "levy_x2": 1.0, "levy_k": 2}
    assert p.evaluate(best) == pytest.approx(0.0, abs=1e-12)
    assert p.evaluate({"family": "rosen", "rosen_x0": 1.0, "rosen_x1": 1.0}) == pytest.approx(0.5)


def test_sklearn_problems_train_real_models_deterministically() -> None:
    p = get_problem("sklearn-knn-iris")
    params = {"n_neighbors": 5, "p": 2}
    loss = p.evaluate(params)
    assert 0.0 <= loss < 0.2  # kNN classifies iris well
    assert p.evaluate(params) == loss
    bad = p.evaluate({"n_neighbors": 25, "p": 1})
    assert math.isfinite(bad)
    cond = get_problem("conditional-sklearn-breast")
    v = cond.evaluate({"model": "linear", "linear_C": 1.0, "linear_intercept_scaling": 1.0})
    assert 0.0 <= v < 0.1


def test_select_problems_by_pattern_and_errors() -> None:
    names = [p.name for p in select_problems(None, ["ackley-*"])]
    assert names == ["ackley-2", "ackley-5", "ackley-10", "ackley-20"]
    with pytest.raises(ValueError, match="no problem matches"):
        select_problems(None, ["nope-*"])
    assert get_problem("levy-7").tags["dim"] == 7


def test_space_translation_to_optuna_round_trips() -> None:
    optuna = pytest.importorskip("optuna")
    from honed.bench.optimizers import to_optuna_params

    space = {
        "lr": Float(1e-4, 1.0, log=True),
        "w": Float(0.0, 1.0, step=0.25),
        "n": Int(2, 20, step=2),
        "k": Int(1, 64, log=True),
        "model": Choice(
            {
                "svm": {"C": Float(0.1, 10.0, log=True)},
                "tree": {"depth": Int(1, 8), "crit": Choice(["gini", "entropy"])},
                "none": {},
            }
        ),
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        params = to_optuna_params(trial, space)
        study.tell(trial, 0.0)
        frozen = study.trials[-1]
        assert frozen.params == params  # what Optuna stored is what the objective gets
        for name, value in params.items():
            d = (
                space.get(name)
                or {
                    **space["model"].branches["svm"],
                    **space["model"].branches["tree"],
                }[name]
            )
            assert d.contains(value), (name, value)
        branch = params["model"]
        seen.add(branch)
        extra = set(params) - {"lr", "w", "n", "k", "model"}
        assert extra == set(space["model"].branches.get(branch, {}))
        dists = frozen.distributions
        assert dists["lr"].log and dists["k"].log and dists["w"].step == 0.25
        assert dists["n"].step == 2
    assert seen == {"svm", "tree", "none"}


def test_scores_use_the_exact_hypervolume() -> None:
    from honed.analysis import hypervolume as exact_hypervolume

    ref = np.array([4.0, 4.0])
    assert exact_hypervolume(np.array([[1.0, 1.0]]), ref) == pytest.approx(9.0)
    pts = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5]])
    assert exact_hypervolume(pts, ref) == pytest.approx(3 + 2 + 1)
    cube = np.array([[0.0, 0.0, 0.0]])
    assert exact_hypervolume(cube, np.ones(3)) == pytest.approx(1.0)
    # two boxes of the unit cube overlapping in a quarter: 0.5 + 0.5 - 0.25
    two = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
    assert exact_hypervolume(two, np.ones(3)) == pytest.approx(0.75)
    assert exact_hypervolume(np.array([[5.0, 0.0]]), ref) == 0.0


def test_cli_smoke_run_writes_sane_results_and_resumes(tmp_path, capsys) -> None:
    pytest.importorskip("optuna")
    out = tmp_path / "run"
    argv = [
        "bench",
        "--optimizers", "honed:random,optuna:random",
        "--problems", "branin,conditional-synthetic",
        "--n-trials", "5",
        "--seeds", "2",
        "--workers", "2",
        "--out", str(out),
        "--cache-dir", str(tmp_path / "cache"),
        "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| `optuna:random` |" in printed and "branin" in printed
    data = json.loads((out / "results.json").read_text())
    summary = data["summary"]
    assert summary["budgets"] == [5]
    for opt in ("honed:random", "optuna:random"):
        agg = summary["aggregate"][opt]
        assert agg["n_problems"] == 2
        assert all(0.0 <= r < 5.0 for r in agg["regret_mean"])
        assert 1.0 <= agg["mean_rank"] <= 2.0
        assert 0.0 < agg["overhead_s"] < 1.0
    assert summary["aggregate"]["honed:random"]["regret_ratio"] == [1.0]
    assert summary["problems"]["branin"]["optimum"] == pytest.approx(0.397887, abs=1e-5)
    md = (out / "results.md").read_text()
    assert md.startswith("# honed bench") and "## By suite" in md
    assert set(summary["by_suite"]) == {"synthetic", "conditional"}
    ranks = [summary["by_suite"]["synthetic"][o]["mean_rank"] for o in summary["aggregate"]]
    assert sum(ranks) == pytest.approx(3.0)  # two optimizers share ranks 1 and 2
    traces = sorted((out / "runs").rglob("seed*.json"))
    assert len(traces) == 2 * 2 * 2
    trace = json.loads(traces[0].read_text())
    assert len(trace["values"]) == 5 and all(v is not None for v in trace["values"])
    assert list((tmp_path / "cache").rglob("branin.json"))

    # A second call resumes: nothing is re-run, the scores are identical.
    mtimes = [t.stat().st_mtime_ns for t in traces]
    assert main([*argv[:-1], "--workers", "1", "--quiet"]) == 0
    assert [t.stat().st_mtime_ns for t in traces] == mtimes
    again = json.loads((out / "results.json").read_text())["summary"]
    key = "regret_mean"
    assert again["aggregate"]["optuna:random"][key] == summary["aggregate"]["optuna:random"][key]

    # A trace recorded for a different definition of its problem is run again.
    stale = json.loads(traces[0].read_text())
    stale["fingerprint"] = "0" * 16
    traces[0].write_text(json.dumps(stale))
    assert main([*argv[:-1], "--workers", "1", "--quiet"]) == 0
    assert json.loads(traces[0].read_text())["fingerprint"] != "0" * 16
    assert [t.stat().st_mtime_ns for t in traces[1:]] == mtimes[1:]


def test_cli_rejects_unknown_optimizers_clearly(tmp_path, capsys) -> None:
    rc = main(["bench", "--optimizers", "honed:nope", "--out", str(tmp_path)])
    assert rc == 2
    assert "honed has no sampler named 'nope'" in capsys.readouterr().err
    rc = main(["bench", "--optimizers", "tpe", "--out", str(tmp_path)])
    assert rc == 2
    assert "library:algorithm" in capsys.readouterr().err


def test_cli_list(capsys) -> None:
    assert main(["bench", "--list"]) == 0
    text = capsys.readouterr().out
    assert "branin" in text and "optuna:tpe" in text and "honed:random" in text


def test_space_translation_to_configspace_round_trips() -> None:
    pytest.importorskip("ConfigSpace")
    from honed.bench.peer_smac import to_configspace

    space = {
        "lr": Float(1e-4, 1.0, log=True),
        "w": Float(0.0, 1.0, step=0.25),
        "n": Int(2, 20, step=2),
        "flag": Choice([False, True, None]),
        "model": Choice(
            {
                "svm": {"C": Float(0.1, 10.0, log=True)},
                "tree": {"depth": Int(1, 8), "crit": Choice(["gini", "entropy"])},
            }
        ),
    }
    cs, decoders = to_configspace(space, seed=0)
    flat = {**space, **space["model"].branches["svm"], **space["model"].branches["tree"]}
    seen_flags = set()
    for config in cs.sample_configuration(40):
        params = {k: decoders[k](v) for k, v in dict(config).items()}
        for k, v in params.items():
            assert flat[k].contains(v), (k, v)
        active = set(params) - {"lr", "w", "n", "flag", "model"}
        assert active == set(space["model"].branches[params["model"]])
        seen_flags.add(params["flag"])
    assert seen_flags == {False, True, None}


def test_multiobjective_runs_are_scored_by_hypervolume() -> None:
    from honed.bench.problems import all_problems
    from honed.bench.runner import _reference_task, run_one
    from honed.bench.scoring import summarize

    mo = [p for p in all_problems(["multiobjective"]) if p.n_objectives == 2][:1]
    assert mo, "the multiobjective suite should provide 2-objective problems"
    prob = mo[0]
    traces = [run_one("honed:random", prob, seed, 12) for seed in (0, 1)]
    refs = {prob.name: _reference_task(prob.name, 16)}
    s = summarize(traces, [prob], refs, ["honed:random"], [6, 12])
    entry = s["problems"][prob.name]
    assert entry["score"] == "hypervolume"
    regret = entry["optimizers"]["honed:random"]["regret_mean"]
    assert 0.0 <= regret[1] <= regret[0]  # more trials never lose hypervolume
    assert entry["optimum"] >= entry["optimizers"]["honed:random"]["final_mean"] > 0.0


def test_regret_is_zero_at_the_optimum_and_one_at_the_reference() -> None:
    from honed.bench.scoring import summarize

    prob = get_problem("branin")
    refs = {prob.name: {"values": [[1.0], [3.0], [5.0]]}}  # median 3
    trace = {
        "optimizer": "a",
        "problem": "branin",
        "seed": 0,
        "values": [[3.0], None, [prob.optimum]],
        "ask_s": [0.001] * 3,
        "tell_s": [0.001] * 3,
        "cpu_s": [0.0015] * 3,
        "eval_s": [0.0] * 3,
        "n_failed": 1,
    }
    s = summarize([trace], [prob], refs, ["a"], [1, 3])
    r = s["problems"]["branin"]["optimizers"]["a"]
    assert r["regret_mean"] == pytest.approx([1.0, 0.0])
    assert r["overhead_s"] == pytest.approx(0.002)
    assert r["overhead_cpu_s"] == pytest.approx(0.0015)
    assert r["n_failed"] == 1


def test_overhead_mode_through_the_cli(tmp_path, capsys) -> None:
    pytest.importorskip("optuna")
    argv = [
        "bench", "overhead",
        "--optimizers", "honed:random,optuna:random",
        "--n-trials", "12", "--dim", "3", "--window", "4:12",
        "--out", str(tmp_path),
    ]  # fmt: skip
    assert main(argv) == 0
    assert "| `optuna:random` |" in capsys.readouterr().out
    res = json.loads((tmp_path / "overhead.json").read_text())
    assert res["problem"] == "styblinski-tang-3" and res["window"] == [4, 12]
    assert res["optimizers"]["honed:random"]["ratio_vs_first"] == 1.0
    assert res["optimizers"]["optuna:random"]["window_mean_s"] > 0.0
    assert main([*argv[:-2], "--window", "10:20"]) == 2


def test_space_translation_to_hebo_decodes_into_the_honed_space() -> None:
    from honed.bench.peer_hebo import _active, to_hebo_space

    space = {
        "lr": Float(1e-4, 1.0, log=True),
        "w": Float(0.0, 1.0, step=0.25),
        "n": Int(2, 20, step=2),
        "k": Int(1, 64, log=True),
        "fixed": Int(3, 3),
        "model": Choice({"svm": {"C": Float(0.1, 10.0, log=True)}, "knn": {"p": Int(1, 4)}}),
    }
    entries, decoders = to_hebo_space(space)
    types = {e["name"]: e["type"] for e in entries}
    assert types == {"lr": "pow", "w": "int", "n": "int", "k": "pow_int", "model": "cat",
                     "C": "pow", "p": "int"}  # fmt: skip
    rng = np.random.default_rng(0)
    flat_space = {**space, "C": Float(0.1, 10.0, log=True), "p": Int(1, 4)}
    for _ in range(50):
        raw: dict[str, object] = {}
        for e in entries:
            if e["type"] == "cat":
                raw[e["name"]] = str(rng.choice(e["categories"]))
            elif e["type"] in ("int", "pow_int"):
                raw[e["name"]] = int(rng.integers(e["lb"], e["ub"] + 1))
            else:
                raw[e["name"]] = float(rng.uniform(e["lb"], e["ub"]))
        flat = {k: dec(raw.get(k)) for k, dec in decoders.items()}
        params = _active(space, flat)
        for k, v in params.items():
            assert flat_space[k].contains(v), (k, v)
        assert ("C" in params) == (params["model"] == "svm")
        assert ("p" in params) == (params["model"] == "knn")
        assert params["fixed"] == 3


def test_optimizer_options_in_brackets_reach_the_sampler() -> None:
    pytest.importorskip("optuna")
    from honed.bench.optimizers import make_optimizer, parse_options, split_optimizers
    from honed.bench.runner import run_one

    names = split_optimizers("honed:random, optuna:tpe[n_startup_trials=3,multivariate=true],x:y")
    assert names == ["honed:random", "optuna:tpe[n_startup_trials=3,multivariate=true]", "x:y"]
    assert parse_options(names[1]) == (
        "optuna:tpe",
        {"n_startup_trials": 3, "multivariate": True},
    )
    adapter = make_optimizer(names[1], get_problem("branin"), seed=0)
    assert adapter.study.sampler._n_startup_trials == 3
    trace = run_one(names[1], "branin", 0, 6)
    assert trace["optimizer"] == names[1] and len(trace["cpu_s"]) == 6
    with pytest.raises(TypeError):
        make_optimizer("honed:random[bogus=1]", get_problem("branin"), seed=0)
    with pytest.raises(ValueError, match="key=value"):
        parse_options("honed:tpe[5]")


def test_paired_significance() -> None:
    from honed.bench.scoring import paired_p_value

    base = {str(s): 0.5 + 0.01 * s for s in range(8)}
    better = {k: v - 0.2 for k, v in base.items()}
    p = paired_p_value(better, base)
    assert p is not None and p < 0.05
    assert paired_p_value(base, dict(base)) is None  # no differences
    assert paired_p_value({"0": 0.1}, {"0": 0.2}) is None  # too few seeds


def test_a_failing_run_is_reported_and_the_rest_is_scored(tmp_path, capsys) -> None:
    pytest.importorskip("optuna")
    out = tmp_path / "mo"
    argv = [
        "bench",
        "--optimizers", "honed:random,optuna:cmaes",  # Optuna's CMA-ES refuses two objectives
        "--problems", "zdt1",
        "--n-trials", "4", "--seeds", "1", "--workers", "1",
        "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--quiet",
    ]  # fmt: skip
    assert main(argv) == 1
    assert "optuna:cmaes on zdt1 seed 0: ValueError" in capsys.readouterr().err
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert set(summary["aggregate"]) == {"honed:random"}
    assert len(summary["failures"]) == 1
    assert "Failed runs (1" in (out / "results.md").read_text()
