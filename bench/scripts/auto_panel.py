"""Score the AutoSampler panel from saved ``honed-bench`` traces, without running anything.

``honed-bench`` reports the mean rank at the final budget only, and re-runs whatever is
missing. The issue-4 bar needs regret *and* rank at 50 and at 100 trials, per suite, and the
panel's peers were run in separate (resumable) invocations into one folder, some of them
(SMAC) on fewer seeds. This script reads the traces under ``OUT/runs`` and prints, per suite
and budget, each optimizer's mean normalized regret and mean rank, over the (problem, seed)
pairs that *every* listed optimizer has, so the comparison is always paired.

Scoring is :func:`honed_bench.scoring.summarize`'s: regret is normalized with the problem's
cached random reference and the best value found by any listed run at its full length; the
rank at budget ``b`` ranks the best values after ``b`` trials.

Usage::

    python bench/scripts/auto_panel.py --out /work/runs/auto/panel \
        --optimizers honed:auto,honed:tpe,optuna:gp,optuna:tpe,smac:hpo,honed:random \
        --problems branin,hartmann6 --budgets 25,50,100 --cache-dir /work/runs/cache
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from honed_bench.optimizers import split_optimizers
from honed_bench.problems import get_problem
from honed_bench.runner import (
    RunKey,
    _load_json,
    _truncate,
    problem_fingerprint,
    reference_path,
    trace_path,
)
from honed_bench.scoring import summarize


def load(
    out: Path,
    optimizers: list[str],
    problems: list[str],
    seeds: int,
    n_trials: int,
    first_seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
    """Traces of every optimizer on the seeds all of them have, per problem, among
    ``first_seed .. seeds - 1``."""
    traces: list[dict[str, Any]] = []
    common: dict[str, list[int]] = {}
    for name in problems:
        fp = problem_fingerprint(get_problem(name))
        have: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
        for opt in optimizers:
            for s in range(first_seed, seeds):
                t = _load_json(trace_path(out, RunKey(opt, name, s)))
                if (
                    t is not None
                    and t.get("n_trials", 0) >= n_trials
                    and t.get("fingerprint", fp) == fp
                ):
                    have[opt][s] = _truncate(t, n_trials)
        seeds_ok = sorted(set.intersection(*(set(have[o]) for o in optimizers)))
        common[name] = seeds_ok
        traces += [have[o][s] for s in seeds_ok for o in optimizers]
    return traces, common


def score(
    traces: list[dict[str, Any]],
    problems: list[str],
    optimizers: list[str],
    budgets: list[int],
    cache_dir: Path,
) -> dict[str, Any]:
    """Per suite and budget: mean regret and mean rank of each optimizer; per problem too."""
    probs = [get_problem(n) for n in problems]
    refs = {p.name: json.loads(reference_path(cache_dir, p.name).read_text()) for p in probs}
    probs = [p for p in probs if any(t["problem"] == p.name for t in traces)]
    full = summarize(traces, probs, refs, optimizers, budgets)
    ranks: dict[int, dict[str, Any]] = {}
    for b in budgets:
        cut = [_truncate(t, b) for t in traces]
        ranks[b] = summarize(cut, probs, refs, optimizers, [b])
    table: dict[str, Any] = {"suites": {}, "problems": {}}
    suites = dict.fromkeys(p.suite for p in probs)
    for suite in [*suites, "all"]:
        names = [p.name for p in probs if suite in ("all", p.suite)]
        row: dict[str, Any] = {}
        for o in optimizers:
            reg = [full["problems"][n]["optimizers"][o]["regret_mean"] for n in names]
            row[o] = {
                "regret": [float(x) for x in np.mean(reg, axis=0)],
                "rank": [
                    float(
                        np.mean(
                            [
                                r
                                for n in names
                                for r in ranks[b]["problems"][n]["optimizers"][o].get("ranks", [])
                            ]
                        )
                    )
                    for b in budgets
                ],
            }
        table["suites"][suite] = {"n_problems": len(names), "optimizers": row}
    for p in probs:
        e = full["problems"][p.name]["optimizers"]
        table["problems"][p.name] = {
            o: {
                "regret": e[o]["regret_mean"],
                "sem": e[o]["regret_sem"],
                "rank": [
                    float(np.mean(ranks[b]["problems"][p.name]["optimizers"][o].get("ranks", [0])))
                    for b in budgets
                ],
                "overhead_ms": 1e3 * e[o]["overhead_s"],
            }
            for o in optimizers
        }
    return table


def markdown(
    table: dict[str, Any],
    optimizers: list[str],
    budgets: list[int],
    per_problem_all: bool = False,
) -> str:
    lines: list[str] = []
    for b_i, b in enumerate(budgets):
        lines += [f"### {b} trials: mean normalized regret (mean rank)", ""]
        lines.append("| suite | " + " | ".join(f"`{o}`" for o in optimizers) + " |")
        lines.append("|---" * (len(optimizers) + 1) + "|")
        for suite, e in table["suites"].items():
            rows = e["optimizers"]
            best_r = min(rows[o]["regret"][b_i] for o in optimizers)
            best_k = min(rows[o]["rank"][b_i] for o in optimizers)
            cells = []
            for o in optimizers:
                r, k = rows[o]["regret"][b_i], rows[o]["rank"][b_i]
                rs = f"**{r:.3f}**" if r <= best_r + 1e-12 else f"{r:.3f}"
                ks = f"**{k:.2f}**" if k <= best_k + 1e-12 else f"{k:.2f}"
                cells.append(f"{rs} ({ks})")
            lines.append(f"| {suite} ({e['n_problems']}) | " + " | ".join(cells) + " |")
        lines.append("")
    for b_i, b in enumerate(budgets):
        if not per_problem_all and b != budgets[-1]:
            continue
        lines += [f"### Per problem, {b} trials: mean regret (mean rank)", ""]
        lines.append("| problem | " + " | ".join(f"`{o}`" for o in optimizers) + " |")
        lines.append("|---" * (len(optimizers) + 1) + "|")
        for name, e in table["problems"].items():
            best = min(e[o]["regret"][b_i] for o in optimizers)
            cells = []
            for o in optimizers:
                r = e[o]["regret"][b_i]
                s = f"{r:.3f} ({e[o]['rank'][b_i]:.1f})"
                cells.append(f"**{s}**" if r <= best + 1e-12 else s)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="a honed-bench --out folder")
    ap.add_argument("--optimizers", required=True)
    ap.add_argument("--problems", required=True)
    ap.add_argument("--budgets", default="25,50,100")
    ap.add_argument("--seeds", type=int, default=10, help="seeds below this number")
    ap.add_argument(
        "--first-seed", type=int, default=0, help="score only seeds from this one (fresh blocks)"
    )
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--json", default=None, help="also write the numbers here")
    ap.add_argument(
        "--per-problem-all", action="store_true", help="per-problem tables at every budget"
    )
    args = ap.parse_args()
    opts = split_optimizers(args.optimizers)  # brackets may hold commas
    names = [p.strip() for p in args.problems.split(",") if p.strip()]
    budgets = sorted(int(b) for b in args.budgets.split(","))
    traces, common = load(Path(args.out), opts, names, args.seeds, budgets[-1], args.first_seed)
    missing = [n for n, s in common.items() if not s]
    names = [n for n in names if common[n]]
    table = score(traces, names, opts, budgets, Path(args.cache_dir))
    seeds_used = sorted({len(s) for s in common.values() if s})
    print(
        f"{len(names)} problem(s); seeds per problem (common to all optimizers): {seeds_used}"
        + (f"; no common seed yet: {', '.join(missing)}" if missing else "")
        + "\n"
    )
    print(markdown(table, opts, budgets, args.per_problem_all))
    if args.json:
        Path(args.json).write_text(json.dumps({"common_seeds": common, **table}, indent=1))


if __name__ == "__main__":
    main()
