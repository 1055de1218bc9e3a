"""Time per suggestion of honed TPE vs Optuna's default TPESampler on a 10-D problem, in the
same process, for the trials in a window (default: trials 1000-2000), both on in-memory
storage with the same cheap objective (so the time measured is the optimizer's own).

    nice -n 10 python bench/scripts/tpe_overhead.py --trials 2000 --window 1000

Suggestion time = ``ask`` plus sampling all 10 parameters (what a user waits for before the
objective runs); the full loop adds ``tell``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import honed
from honed.samplers import TPESampler
from honed.space import Float

D = 10


def f(x: list[float]) -> float:
    return float(sum((v - 0.3) ** 2 for v in x))


def run_honed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    space = {f"x{i}": Float(-5.0, 5.0) for i in range(D)}
    study = honed.create_study(sampler=TPESampler(seed=seed))
    ask, loop = np.empty(n), np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        trial = study.ask(space)
        t1 = time.perf_counter()
        v = f([trial.params[f"x{j}"] for j in range(D)])
        t2 = time.perf_counter()
        study.tell(trial, v)
        t3 = time.perf_counter()
        ask[i], loop[i] = t1 - t0, (t1 - t0) + (t3 - t2)
    return ask, loop


def run_optuna(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    ask, loop = np.empty(n), np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        trial = study.ask()
        x = [trial.suggest_float(f"x{j}", -5.0, 5.0) for j in range(D)]
        t1 = time.perf_counter()
        v = f(x)
        t2 = time.perf_counter()
        study.tell(trial, v)
        t3 = time.perf_counter()
        ask[i], loop[i] = t1 - t0, (t1 - t0) + (t3 - t2)
    return ask, loop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--window", type=int, default=1000, help="first trial of the timed window")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    w = slice(args.window, args.trials)
    h_ask, h_loop = run_honed(args.trials, args.seed)
    o_ask, o_loop = run_optuna(args.trials, args.seed)
    print(f"10-D, trials {args.window}-{args.trials}, mean ms per trial")
    print(
        f"  suggestion (ask + sample): honed {1e3 * h_ask[w].mean():.2f}  "
        f"optuna {1e3 * o_ask[w].mean():.2f}  ratio {h_ask[w].mean() / o_ask[w].mean():.3f}"
    )
    print(
        f"  ask + sample + tell:       honed {1e3 * h_loop[w].mean():.2f}  "
        f"optuna {1e3 * o_loop[w].mean():.2f}  ratio {h_loop[w].mean() / o_loop[w].mean():.3f}"
    )


if __name__ == "__main__":
    main()
