"""Parameter importance: honed vs Optuna on functions whose true importances are known.

    nice -n 10 python bench/scripts/importance_compare.py [--trials 300] [--seeds 5]

The objective is additive, f(x) = sum_i a_i * g_i(x_i) on the unit cube, so the exact
main-effect variance shares are a_i^2 Var(g_i) / sum_j a_j^2 Var(g_j). For each estimator
we report the mean absolute error of its shares against those (fANOVA estimates exactly
these shares; PED-ANOVA measures something else, so only its ranking is scored), the
Spearman rank correlation with the truth, whether the top-2 set is right, and seconds per call.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.stats import spearmanr

import honed
from honed.analysis import importance

D = 8
COEF = np.array([3.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0])
# g(x) = x (variance 1/12) for even i, a bump for odd i (variance computed numerically).
_grid = (np.arange(100000) + 0.5) / 100000
_bump = np.exp(-((_grid - 0.3) ** 2) / 0.02)
VAR = np.array([1 / 12 if i % 2 == 0 else _bump.var() for i in range(D)])
TRUTH = COEF**2 * VAR / (COEF**2 * VAR).sum()
NAMES = [f"p{i}" for i in range(D)]


def f(x: np.ndarray) -> float:
    g = np.where(np.arange(D) % 2 == 0, x, np.exp(-((x - 0.3) ** 2) / 0.02))
    return float((COEF * g).sum())


def data(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n, D))


def make_honed(x: np.ndarray) -> honed.Study:
    s = honed.create_study(sampler="random")
    for row in x:
        s.enqueue({n: float(v) for n, v in zip(NAMES, row)})
        t = s.ask()
        vals = np.array([t.float(n, 0.0, 1.0) for n in NAMES])
        s.tell(t, f(vals))
    return s


def make_optuna(x: np.ndarray):  # type: ignore[no-untyped-def]
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    s = optuna.create_study()
    for row in x:
        params = {n: float(v) for n, v in zip(NAMES, row)}
        s.add_trial(
            optuna.trial.create_trial(
                params=params, distributions={n: dist for n in NAMES}, value=f(row)
            )
        )
    return s


def score(shares: dict[str, float]) -> tuple[float, float, bool]:
    est = np.array([shares.get(n, 0.0) for n in NAMES])
    est = est / est.sum() if est.sum() > 0 else est
    mae = float(np.abs(est - TRUTH).mean())
    rho = float(spearmanr(est[:4], TRUTH[:4]).statistic)  # order among those that matter
    top2 = set(np.argsort(-est)[:2]) == set(np.argsort(-TRUTH)[:2])
    return mae, rho, top2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    from optuna.importance import (
        FanovaImportanceEvaluator,
        PedAnovaImportanceEvaluator,
        get_param_importances,
    )

    rows: dict[str, list[tuple[float, float, bool, float]]] = {}
    for seed in range(args.seeds):
        x = data(args.trials, seed)
        hs, os_ = make_honed(x), make_optuna(x)
        runs = {
            "honed fanova": lambda hs=hs, seed=seed: importance(hs, "fanova", seed=seed),
            "optuna fanova": lambda os_=os_, seed=seed: get_param_importances(
                os_, evaluator=FanovaImportanceEvaluator(seed=seed), normalize=True
            ),
            "honed ped-anova": lambda hs=hs: importance(hs, "ped-anova"),
            "optuna ped-anova": lambda os_=os_: get_param_importances(
                os_, evaluator=PedAnovaImportanceEvaluator(), normalize=True
            ),
        }
        for name, run in runs.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna flags PED-ANOVA as experimental
                run()  # warm up imports
                t0 = time.perf_counter()
                shares = run()
                dt = time.perf_counter() - t0
            rows.setdefault(name, []).append((*score(dict(shares)), dt))
    print(f"{args.trials} trials, {args.seeds} seeds; truth = {np.round(TRUTH, 3).tolist()}")
    print(f"{'estimator':18s} {'share MAE':>10s} {'spearman':>9s} {'top-2 ok':>9s} {'s/call':>8s}")
    for name, r in rows.items():
        a = np.array([[m, s, float(t), d] for m, s, t, d in r])
        print(
            f"{name:18s} {a[:, 0].mean():10.4f} {a[:, 1].mean():9.3f} "
            f"{a[:, 2].mean():9.0%} {a[:, 3].mean():8.3f}"
        )
    for kind in ("fanova", "ped-anova"):
        h = np.array([d for *_, d in rows[f"honed {kind}"]]).mean()
        o = np.array([d for *_, d in rows[f"optuna {kind}"]]).mean()
        print(f"time ratio honed/optuna {kind}: {h / o:.2f}")


if __name__ == "__main__":
    main()
