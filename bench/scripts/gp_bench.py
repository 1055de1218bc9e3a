"""Side-by-side benchmark of honed's GP sampler against peers on honed's benchmark problems.

Usage::

    nice -n 10 python bench/scripts/gp_bench.py --problems branin hartmann6 --optimizers gp \
        optuna-gp optuna-tpe random --n-trials 50 --seeds 10 --jobs 2

Prints, per problem and budget, each optimizer's mean normalized regret and mean rank over
seeds, plus the mean sampler time per suggestion. Normalized regret is
``(best - f_ref) / (f_rand - f_ref)``: ``f_ref`` is the known optimum (or the best value any
run found) and ``f_rand`` the median value of the first (quasi-)random trials of all runs, so
0 is perfect and 1 is no better than a typical random point.
"""

from __future__ import annotations

import os

# One BLAS thread per worker process: the pool provides the parallelism.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

import honed
from honed.space import Float, Int
from honed_bench.peers.honed_adapter import build_sampler
from honed_bench.problems import Problem, select_problems


def _walk_optuna(trial: Any, tree: dict[str, Any], out: dict[str, Any]) -> None:
    for name, d in tree.items():
        if isinstance(d, Float):
            if d.step is not None:
                v = trial.suggest_float(name, d.low, d.high, step=d.step)
            else:
                v = trial.suggest_float(name, d.low, d.high, log=d.log)
        elif isinstance(d, Int):
            v = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
        else:
            v = trial.suggest_categorical(name, list(d.choices))
            if d.branches and d.branches.get(v):
                out[name] = v
                _walk_optuna(trial, dict(d.branches[v]), out)
                continue
        out[name] = v


def _run_honed(problem: Problem, sampler: Any, n_trials: int) -> tuple[list[float], list[float]]:
    study = honed.create_study(sampler=sampler, directions=list(problem.directions))
    vals, times = [], []
    for _ in range(n_trials):
        t0 = time.perf_counter()
        trial = study.ask(problem.space)
        times.append(time.perf_counter() - t0)
        v = float(problem.evaluate(dict(trial.params)))
        study.tell(trial, v)
        vals.append(v)
    return vals, times


def _run_optuna(problem: Problem, name: str, seed: int, n_trials: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    if name == "optuna-gp":
        sampler = optuna.samplers.GPSampler(seed=seed, deterministic_objective=True)
    elif name == "optuna-tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        raise ValueError(name)
    study = optuna.create_study(sampler=sampler, direction=problem.directions[0])
    vals, times = [], []
    for _ in range(n_trials):
        t0 = time.perf_counter()
        trial = study.ask()
        params: dict[str, Any] = {}
        _walk_optuna(trial, dict(problem.space), params)
        times.append(time.perf_counter() - t0)
        v = float(problem.evaluate(params))
        study.tell(trial, v)
        vals.append(v)
    return vals, times


def run_one(args: tuple[str, str, int, int, dict]) -> dict[str, Any] | None:
    try:
        return _run_one(args)
    except ImportError as e:  # a peer not installed here: leave it out of the table
        print(f"skipping {args[0]}: {e}")
        return None


def _run_one(args: tuple[str, str, int, int, dict]) -> dict[str, Any]:
    opt, pname, seed, n_trials, kw = args
    warnings.simplefilter("ignore")
    (problem,) = select_problems(None, [pname])
    if opt.startswith("optuna-"):
        vals, times = _run_optuna(problem, opt, seed, n_trials)
    else:
        name, _, _variant = opt.partition(":")
        extra = dict(kw.get(opt, {}))
        # the options as honed-bench reads them: 'honed:gp[_ls_shift=2]' is {"_ls_shift": 2}
        sampler = build_sampler(name, seed, extra)
        vals, times = _run_honed(problem, sampler, n_trials)
    sign = 1.0 if problem.directions[0] == "minimize" else -1.0
    return {
        "opt": opt,
        "problem": pname,
        "seed": seed,
        "losses": [sign * v for v in vals],
        "times": times,
        "optimum": None if problem.optimum is None else sign * problem.optimum,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", nargs="+", default=["branin", "hartmann6"])
    ap.add_argument("--suites", nargs="*", default=None)
    ap.add_argument("--optimizers", nargs="+", default=["gp", "optuna-gp", "optuna-tpe", "random"])
    ap.add_argument("--n-trials", type=int, default=50)
    ap.add_argument("--budgets", type=int, nargs="*", default=None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--variants", type=str, default="{}", help="JSON: opt label -> kwargs")
    ap.add_argument("--out", type=str, default=None, help="append each run as a JSON line")
    ap.add_argument("--report", type=str, default=None, help="only report a saved --out file")
    a = ap.parse_args()
    kw = json.loads(a.variants)
    probs = [
        p.name for p in select_problems(a.suites, a.problems if a.problems != ["all"] else None)
    ]
    tasks = [(o, p, s, a.n_trials, kw) for s in range(a.seeds) for p in probs for o in a.optimizers]
    results: list[dict[str, Any]] = []
    if a.report:
        with open(a.report) as f:
            results = [json.loads(line) for line in f if line.strip()]
    else:
        # Each finished run is appended to --out at once, so a cut-off run still reports.
        out = open(a.out, "a") if a.out else None  # noqa: SIM115
        with ProcessPoolExecutor(a.jobs) as ex:
            futs = [ex.submit(run_one, t) for t in tasks]
            for fut in as_completed(futs):
                r = fut.result()
                if r is None:
                    continue
                results.append(r)
                if out:
                    out.write(json.dumps(r) + "\n")
                    out.flush()
        if out:
            out.close()
    opts = [o for o in a.optimizers if any(r["opt"] == o for r in results)]
    probs = [
        p
        for p in probs
        if all(any(r["opt"] == o and r["problem"] == p for r in results) for o in opts)
    ]
    report(results, opts, probs, a.budgets or [a.n_trials])


def report(results: list[dict], opts: list[str], probs: list[str], budgets: list[int]) -> None:
    by = {(r["opt"], r["problem"], r["seed"]): r for r in results}
    seeds = sorted({r["seed"] for r in results})
    summary = {b: {o: {"regret": [], "rank": []} for o in opts} for b in budgets}
    for b in budgets:
        print(f"\n== budget {b}: mean normalized regret (mean rank) ==")
        print(f"{'problem':28s}" + "".join(f"{o:>20s}" for o in opts))
        for p in probs:
            runs = [by[(o, p, s)] for o in opts for s in seeds if (o, p, s) in by]
            # Only seeds every optimizer finished enter the comparison.
            p_seeds = [s for s in seeds if all((o, p, s) in by for o in opts)]
            opt_v = runs[0]["optimum"]
            f_ref = opt_v if opt_v is not None else min(min(r["losses"]) for r in runs)
            f_rand = float(np.median([v for r in runs for v in r["losses"][:5]]))
            scale = max(f_rand - f_ref, 1e-12)
            reg = {o: [] for o in opts}
            ranks = {o: [] for o in opts}
            for s in p_seeds:
                bests = {o: min(by[(o, p, s)]["losses"][:b]) for o in opts}
                order = sorted(bests.values())
                for o, v in bests.items():
                    reg[o].append((v - f_ref) / scale)
                    # average rank on ties
                    lo = order.index(v)
                    hi = len(order) - 1 - order[::-1].index(v)
                    ranks[o].append(1 + (lo + hi) / 2)
            row = f"{p:28s}"
            for o in opts:
                summary[b][o]["regret"].append(np.mean(reg[o]))
                summary[b][o]["rank"].append(np.mean(ranks[o]))
                row += f"{np.mean(reg[o]):>12.4f} ({np.mean(ranks[o]):4.2f})"
            print(row)
        row = f"{'MEAN':28s}"
        for o in opts:
            row += (
                f"{np.mean(summary[b][o]['regret']):>12.4f} ({np.mean(summary[b][o]['rank']):4.2f})"
            )
        print(row)
    print("\nmean sampler seconds per suggestion (after startup, trials >= 10):")
    for o in opts:
        ts = [np.mean(r["times"][10:]) for r in results if r["opt"] == o]
        print(f"  {o:20s} {np.mean(ts):.4f}")


if __name__ == "__main__":
    main()
