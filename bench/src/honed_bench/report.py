"""Markdown tables of a benchmark summary (see :mod:`honed_bench.scoring`)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["markdown"]


def _f(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def markdown(summary: dict[str, Any], title: str, meta: dict[str, Any]) -> str:
    budgets: list[int] = summary["budgets"]
    base = summary["baseline"]
    opts = [o for o in summary["optimizers"] if o in summary["aggregate"]]
    agg = summary["aggregate"]
    n_problems = len(summary["problems"])
    lines = [f"# {title}", ""]
    if meta.get("command"):
        lines += [f"Command: `{meta['command']}`", ""]
    lines += [
        f"{n_problems} problem(s), {meta.get('n_seeds', '?')} seed(s), "
        f"{meta.get('n_trials', '?')} trials per run, {meta.get('workers', '?')} worker(s). "
        "Normalized regret: (best - optimum) / (median random - optimum); lower is better, "
        "1 = a typical random configuration. Overhead = time in ask + tell per trial "
        "(wall clock; cpu = process CPU time).",
        "",
        f"## Aggregate (mean over problems; ratios vs `{base}`)",
        "",
    ]
    header = (
        ["optimizer"]
        + [f"regret@{b}" for b in budgets]
        + [
            f"ratio@{budgets[-1]}",
            "W/T/L",
            "sig W/L",
            "mean rank",
            "overhead ms",
            "cpu ms",
            "overhead ratio",
        ]
    )
    rows = []
    for o in opts:
        a = agg[o]
        vs = a.get("vs_baseline", {})
        rows.append(
            [f"`{o}`"]
            + [_f(x) for x in a["regret_mean"]]
            + [
                _f(a.get("regret_ratio", [math.nan])[-1], 2),
                "-"
                if o == base
                else f"{vs.get('wins', 0)}/{vs.get('ties', 0)}/{vs.get('losses', 0)}",
                "-"
                if o == base
                else f"{vs.get('significant_wins', 0)}/{vs.get('significant_losses', 0)}",
                _f(a["mean_rank"], 2),
                _f(a["overhead_s"] * 1e3, 2),
                _f(a["overhead_cpu_s"] * 1e3, 2),
                _f(a.get("overhead_ratio"), 2),
            ]
        )
    lines += _table(header, rows)
    lines += [
        "",
        f"W/T/L: problems where the optimizer's mean final regret is lower / equal / higher "
        f"than `{base}`'s; sig W/L: of those, the ones where a paired Wilcoxon signed-rank "
        "test over seeds gives p < 0.05 (needs >= 5 seeds).",
        "",
    ]
    suites = summary.get("by_suite", {})
    if len(suites) > 1:
        lines += [f"## By suite: normalized regret after {budgets[-1]} trials (mean rank)", ""]
        rows = []
        for suite, per_opt in suites.items():
            n = max((r["n_problems"] for r in per_opt.values()), default=0)
            row = [f"{suite} ({n})"]
            for o in opts:
                r = per_opt.get(o)
                row.append(
                    "-" if r is None else f"{_f(r['regret_final'])} ({_f(r['mean_rank'], 2)})"
                )
            rows.append(row)
        lines += _table(["suite"] + [f"`{o}`" for o in opts], rows)
        lines += [""]
    lines += [
        f"## Per problem: normalized regret after {budgets[-1]} trials (mean ± s.e. over seeds)",
        "",
    ]
    rows = []
    for name, e in summary["problems"].items():
        finals = {o: e["optimizers"][o]["regret_mean"][-1] for o in opts if o in e["optimizers"]}
        best = min(finals.values()) if finals else None
        row = [name]
        for o in opts:
            if o not in e["optimizers"]:
                row.append("-")
                continue
            r = e["optimizers"][o]
            cell = f"{_f(r['regret_mean'][-1])} ± {_f(r['regret_sem'][-1])}"
            row.append(f"**{cell}**" if best is not None and finals[o] <= best + 1e-12 else cell)
        row.append(_f(e["optimum"], 4))
        rows.append(row)
    lines += _table(["problem"] + [f"`{o}`" for o in opts] + ["optimum used"], rows)
    lines += ["", "## Per problem: optimizer overhead, ms per trial (ask + tell)", ""]
    rows = []
    for name, e in summary["problems"].items():
        rows.append(
            [name]
            + [
                _f(e["optimizers"][o]["overhead_s"] * 1e3, 2) if o in e["optimizers"] else "-"
                for o in opts
            ]
            + [_f(max((r["eval_s"] for r in e["optimizers"].values()), default=0.0) * 1e3, 1)]
        )
    lines += _table(["problem"] + [f"`{o}`" for o in opts] + ["eval ms (max)"], rows)
    if summary.get("failures"):
        lines += ["", f"## Failed runs ({len(summary['failures'])}, left out)", ""]
        lines += [f"- {line}" for line in summary["failures"][:50]]
    return "\n".join(lines) + "\n"
