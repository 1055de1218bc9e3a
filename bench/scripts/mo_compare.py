"""Side-by-side hypervolume of honed's and Optuna's multi-objective samplers on ZDT/DTLZ.

    nice -n 10 python bench/scripts/mo_compare.py --trials 300 --seeds 5 \
        --problems zdt1,zdt2,zdt3,zdt4,zdt6,dtlz2,dtlz7,dtlz1,dtlz2-4obj

Prints the mean hypervolume (normalized by the true front's) per optimizer and problem, and
the ratio of each to Optuna's NSGA-II.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import honed
from honed.analysis import hypervolume
from honed_bench.problems.multiobjective import PROBLEMS


def run_honed(problem, sampler_name, seed, n_trials, **kw):
    sampler = honed.samplers.get_sampler(sampler_name, seed=seed, **kw)
    study = honed.create_study(directions=list(problem.directions), sampler=sampler)
    losses = []
    for _ in range(n_trials):
        trial = study.ask(problem.space)
        values = problem.evaluate(dict(trial.params))
        study.tell(trial, values)
        losses.append(values)
    return np.array(losses)


def run_optuna(problem, algo, seed, n_trials, **kw):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = {
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed, **kw),
        "nsga3": lambda: optuna.samplers.NSGAIIISampler(seed=seed, **kw),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, **kw),
    }[algo]()
    study = optuna.create_study(directions=list(problem.directions), sampler=sampler)
    dists = {
        k: optuna.distributions.FloatDistribution(d.low, d.high) for k, d in problem.space.items()
    }
    losses = []
    for _ in range(n_trials):
        t = study.ask(dists)
        values = problem.evaluate(dict(t.params))
        study.tell(t, values)
        losses.append(values)
    return np.array(losses)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--problems", default="zdt1,zdt2,zdt3,zdt4,zdt6,dtlz1,dtlz2,dtlz7")
    ap.add_argument("--optimizers", default="honed:nsga2,optuna:nsga2,honed:tpe,optuna:tpe")
    args = ap.parse_args()
    probs = {p.name: p for p in PROBLEMS}
    opts = args.optimizers.split(",")
    print(f"trials={args.trials} seeds={args.seeds}")
    print("problem".ljust(12) + "".join(o.rjust(16) for o in opts) + "   ratios vs " + opts[1])
    for name in args.problems.split(","):
        p = probs[name]
        ref = np.array(p.reference_point)
        scores = {}
        times = {}
        for o in opts:
            lib, algo = o.split(":")
            hvs = []
            t0 = time.time()
            for s in range(args.seeds):
                # "nsga2@population_size=20+selection=hypervolume": sampler arguments.
                algo_name, _, extra = algo.partition("@")
                kw = {}
                for item in filter(None, extra.split("+")):
                    k, _, v = item.partition("=")
                    kw[k] = int(v) if v.isdigit() else v
                if lib == "honed":
                    losses = run_honed(p, algo_name, s, args.trials, **kw)
                else:
                    losses = run_optuna(p, algo_name, s, args.trials, **kw)
                hvs.append(hypervolume(losses, ref) / p.optimum)
            scores[o] = float(np.mean(hvs))
            times[o] = time.time() - t0
        base = scores[opts[1]]
        print(
            name.ljust(12)
            + "".join(f"{scores[o]:16.4f}" for o in opts)
            + "   "
            + " ".join(f"{scores[o] / base:.3f}" for o in opts)
            + "   time "
            + " ".join(f"{times[o]:.0f}s" for o in opts),
            flush=True,
        )


if __name__ == "__main__":
    main()
