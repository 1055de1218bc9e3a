"""Pool several ``honed-bench mf`` runs (their ``mf.json``) into one table per problem.

Seconds to the target are read from each trace (the first incumbent at or above the run's
target; the budget when never reached), so runs on disjoint seeds can be pooled and the ratio
of honed's best to Optuna's best quoted over all of them. Runs of the same problem must share
the target and the budget.

    python bench/scripts/mf_pool.py RUN_DIR [RUN_DIR ...] [--versus METHOD,METHOD]

``--versus`` adds, for each honed method, its speed-up over the best of the listed methods
(per statistic), with a 90% bootstrap interval over seeds (each seed's runs resampled together).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np


def seconds_to_target(trace: dict, target: float, budget: float) -> float:
    for t, b in zip(trace["times"], trace["best"], strict=True):
        if b >= target:
            return min(float(t), budget)
    return budget


def pool(paths: list[Path]) -> tuple[dict[str, dict[str, list[float]]], dict[str, float]]:
    """``problem -> method -> seconds`` over every trace of every run, and each problem's
    budget."""
    out: dict[str, dict[str, list[float]]] = {}
    setting: dict[str, tuple[float, float]] = {}
    for path in paths:
        data = json.loads((path / "mf.json" if path.is_dir() else path).read_text())
        for problem, res in data["problems"].items():
            key = (float(res["target"]), float(res["budget"]))
            if setting.setdefault(problem, key) != key:
                raise SystemExit(
                    f"{path}: {problem} has target/budget {key}, other runs {setting[problem]}; "
                    "only runs with the same settings can be pooled."
                )
            for tr in res["traces"]:
                secs = seconds_to_target(tr, *key)
                out.setdefault(problem, {}).setdefault(tr["method"], []).append(secs)
    return out, {problem: budget for problem, (_, budget) in setting.items()}


def table(problem: str, by_method: dict[str, list[float]], budget: float) -> str:
    rows = []
    for method, secs in by_method.items():
        reached = sum(s < budget for s in secs)
        rows.append((method, statistics.median(secs), statistics.fmean(secs), reached, len(secs)))

    def best(prefix: str, col: int) -> float:
        vals = [r[col] for r in rows if r[0].startswith(prefix)]
        return min(vals) if vals else float("nan")

    lines = [
        f"{problem}: honed's best / Optuna's best, median "
        f"{best('optuna:', 1) / best('honed:', 1):.2f}x, mean "
        f"{best('optuna:', 2) / best('honed:', 2):.2f}x (ratios of seconds; > 1: honed sooner)",
        "| method | runs | median (s) | mean (s) | reached |",
        "|---|---|---|---|---|",
    ]
    for method, med, mean, reached, n in sorted(rows, key=lambda r: r[1]):
        lines.append(f"| {method} | {n} | {med:.2f} | {mean:.2f} | {reached}/{n} |")
    return "\n".join(lines)


def speedups(
    by_method: dict[str, list[float]], versus: list[str], n_boot: int = 2000, seed: int = 0
) -> list[str]:
    """Each honed method's speed-up over the best of ``versus``, by median and by mean, with
    90% bootstrap intervals (runs are paired by position: every method ran the same seeds)."""
    secs = {m: np.asarray(v) for m, v in by_method.items()}
    missing = [m for m in versus if m not in secs]
    if missing:
        raise SystemExit(f"--versus names methods these runs lack: {missing}")
    n = min(len(v) for v in secs.values())
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n))
    out = []
    for m in sorted(k for k in secs if k.startswith("honed:")):
        parts = []
        for name, f in (("median", np.median), ("mean", np.mean)):

            def ratio(idx: np.ndarray, f=f, m=m) -> float:
                return min(f(secs[v][idx]) for v in versus) / f(secs[m][idx])

            boot = [ratio(i) for i in draws]
            lo, hi = np.percentile(boot, [5, 95])
            parts.append(f"{name} {ratio(np.arange(n)):.2f}x ({lo:.2f}-{hi:.2f})")
        out.append(f"  {m} vs best of {', '.join(versus)}: " + ", ".join(parts))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="--out folders of honed-bench mf")
    ap.add_argument("--versus", default="", help="comma list of methods to compare honed's with")
    args = ap.parse_args()
    pooled, budgets = pool(args.runs)
    versus = [m for m in args.versus.split(",") if m]
    for problem, by_method in pooled.items():
        print(table(problem, by_method, budgets[problem]))
        if versus:
            print("\n".join(speedups(by_method, versus)))
        print()


if __name__ == "__main__":
    main()
