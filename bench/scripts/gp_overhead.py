"""Seconds per suggestion of honed's GP sampler vs Optuna's GPSampler at a given history size.

Both get the same ``n`` random trials of Levy on ``d`` dimensions. Two measurements:

* **cold**: a fresh sampler proposes one point from the ``n`` trials (nothing cached: a full
  hyperparameter fit); the mean over ``--reps`` fresh samplers.
* **warm** (``--steps K``): one sampler goes on for ``K`` real suggestions (ask, evaluate, tell),
  as in a study, where each sampler may reuse what it learnt on the previous trial (both do:
  Optuna warm-starts its kernel parameters, honed refits them only every few trials once the
  history is long). The mean over the ``K`` steps.

Wall-clock and process CPU seconds are both printed, as ratios honed/Optuna measured in the
same run; on a busy machine the CPU ratio is the steadier one. BLAS runs on one thread for both
(honed does so itself; Optuna's torch gets ``torch.set_num_threads(1)``) so CPU time is
comparable. Run: ``nice -n 10 python bench/scripts/gp_overhead.py --n 200 500 --steps 20``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import honed
from honed.history import History
from honed.samplers import GPSampler
from honed.trial import Direction, FrozenTrial, TrialState


def levy(x: np.ndarray) -> float:
    w = 1 + (x - 1) / 4
    return float(
        np.sin(np.pi * w[0]) ** 2
        + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
        + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    )


class _Clock:
    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> _Clock:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c


def _frozen(i: int, x: np.ndarray, y: float, space: dict) -> FrozenTrial:
    return FrozenTrial(
        number=i,
        state=TrialState.COMPLETE,
        params={f"x{j}": float(v) for j, v in enumerate(x)},
        distributions=space,
        values=(y,),
    )


def space_of(hist: History, me: FrozenTrial, space: dict):
    return GPSampler(seed=0).infer_relative_space(hist, me, space)


def time_honed(xs: np.ndarray, ys: list[float], space: dict, reps: int, steps: int):
    n = len(xs)
    trials = [_frozen(i, x, y, space) for i, (x, y) in enumerate(zip(xs, ys, strict=True))]
    me = FrozenTrial(number=n, state=TrialState.RUNNING)
    hist = History(trials, [Direction.MINIMIZE])
    warm_up = History(trials[:30], [Direction.MINIMIZE])  # imports and first-call costs
    GPSampler(seed=0).sample_relative(warm_up, me, space_of(warm_up, me, space))
    cold = _Clock()
    for r in range(reps):
        s = GPSampler(seed=r)
        rel = s.infer_relative_space(hist, me, space)
        with cold:
            s.sample_relative(hist, me, rel)
    warm = _Clock()
    s = GPSampler(seed=0)
    s.sample_relative(hist, me, s.infer_relative_space(hist, me, space))  # as after trial n-1
    for k in range(steps):
        me = FrozenTrial(number=n + k, state=TrialState.RUNNING)
        hist = History(trials, [Direction.MINIMIZE])
        with warm:
            p = s.sample_relative(hist, me, s.infer_relative_space(hist, me, space))
        x = np.array([p[f"x{j}"] for j in range(len(space))])
        trials.append(_frozen(n + k, x, levy(x), space))
    return cold, warm


def time_optuna(xs: np.ndarray, ys: list[float], space: dict, reps: int, steps: int):
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    dists = {k: optuna.distributions.FloatDistribution(-10.0, 10.0) for k in space}
    frozen = [
        optuna.trial.create_trial(
            params={f"x{j}": float(v) for j, v in enumerate(x)}, distributions=dists, value=y
        )
        for x, y in zip(xs, ys, strict=True)
    ]

    def new_study(seed: int) -> optuna.Study:
        study = optuna.create_study(
            sampler=optuna.samplers.GPSampler(seed=seed)  # library defaults, as `optuna:gp`
        )
        study.add_trials(frozen)
        return study

    warm_up = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
    warm_up.add_trials(frozen[:30])
    warm_up.tell(warm_up.ask(dists), 0.0)  # imports and first-call costs
    cold = _Clock()
    for r in range(reps):
        study = new_study(r)
        with cold:
            t = study.ask(dists)
            study.tell(t, 0.0)
    warm = _Clock()
    study = new_study(0)
    t = study.ask(dists)  # as after trial n-1: the kernel parameters are cached
    study.tell(t, levy(np.array([t.params[f"x{j}"] for j in range(len(space))])))
    for _ in range(steps):
        with warm:
            t = study.ask(dists)
        y = levy(np.array([t.params[f"x{j}"] for j in range(len(space))]))
        with warm:
            study.tell(t, y)
    return cold, warm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[200, 500])
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3, help="fresh samplers for the cold time")
    ap.add_argument("--steps", type=int, default=0, help="sequential steps for the warm time")
    ap.add_argument("--no-optuna", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    space = {f"x{i}": honed.Float(-10.0, 10.0) for i in range(a.d)}
    for n in a.n:
        xs = rng.uniform(-10, 10, (n, a.d))
        ys = [levy(x) for x in xs]
        hc, hw = time_honed(xs, ys, space, a.reps, a.steps)
        oc = ow = None
        if not a.no_optuna:
            oc, ow = time_optuna(xs, ys, space, a.reps, a.steps)
        for label, h, o, k in (("cold", hc, oc, a.reps), ("warm", hw, ow, a.steps)):
            if k == 0:
                continue
            line = f"n={n} d={a.d} {label}: honed {h.wall / k:.3f} s wall, {h.cpu / k:.3f} s cpu"
            if o is not None:
                line += (
                    f"; optuna {o.wall / k:.3f} s wall, {o.cpu / k:.3f} s cpu"
                    f"; ratio honed/optuna wall {h.wall / o.wall:.3f}, cpu {h.cpu / o.cpu:.3f}"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
