"""Seconds per suggestion of honed's GP sampler vs Optuna's GPSampler at a given history size.

Both get the same ``n`` random trials of Levy on ``d`` dimensions, then propose ``--reps``
points (the mean is printed). Run: ``nice -n 10 python benchmarks/gp_overhead.py --n 200 500``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import honed
from honed.history import History
from honed.samplers.gp import GPSampler
from honed.trial import Direction, FrozenTrial, TrialState


def levy(x: np.ndarray) -> float:
    w = 1 + (x - 1) / 4
    return float(
        np.sin(np.pi * w[0]) ** 2
        + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
        + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[200, 500])
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-optuna", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    space = {f"x{i}": honed.Float(-10.0, 10.0) for i in range(a.d)}
    for n in a.n:
        xs = rng.uniform(-10, 10, (n, a.d))
        ys = [levy(x) for x in xs]
        trials = [
            FrozenTrial(
                number=i,
                state=TrialState.COMPLETE,
                params={f"x{j}": float(x[j]) for j in range(a.d)},
                distributions=space,
                values=(y,),
            )
            for i, (x, y) in enumerate(zip(xs, ys))
        ]
        me = FrozenTrial(number=n, state=TrialState.RUNNING)
        hist = History(trials, [Direction.MINIMIZE])
        s = GPSampler(seed=0)
        rel = s.infer_relative_space(hist, me, space)
        t0 = time.perf_counter()
        for _ in range(a.reps):
            s.sample_relative(hist, me, rel)
        t_honed = (time.perf_counter() - t0) / a.reps
        line = f"n={n} d={a.d}: honed gp {t_honed:.3f} s"
        if not a.no_optuna:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            warnings.simplefilter("ignore")
            dists = {k: optuna.distributions.FloatDistribution(-10.0, 10.0) for k in space}
            study = optuna.create_study(
                sampler=optuna.samplers.GPSampler(seed=0, deterministic_objective=True)
            )
            study.add_trials(
                [
                    optuna.trial.create_trial(
                        params={f"x{j}": float(x[j]) for j in range(a.d)},
                        distributions=dists,
                        value=y,
                    )
                    for x, y in zip(xs, ys)
                ]
            )
            t0 = time.perf_counter()
            for _ in range(a.reps):
                t = study.ask(dists)
                study.tell(t, 0.0)  # keeps n roughly fixed; the value does not matter here
            t_opt = (time.perf_counter() - t0) / a.reps
            line += f", optuna GPSampler {t_opt:.3f} s, ratio honed/optuna {t_honed / t_opt:.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
