"""Overhead mode: time per suggestion of each optimizer over a window of a long run.

Each optimizer runs in a fresh worker process, one after the other (never two at once, so they
do not compete for the cores), on the same problem and seed. Time per suggestion is the time in
``ask`` + ``tell``, evaluation excluded.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from honed_bench.progress import ProgressBar

__all__ = ["overhead_markdown", "run_overhead"]


def run_overhead(
    optimizers: Sequence[str],
    problem: str,
    n_trials: int,
    window: tuple[int, int],
    seeds: Sequence[int] = (0,),
    quiet: bool = True,
) -> dict[str, Any]:
    """Run each optimizer for ``n_trials`` and report its time per suggestion in ``window``
    (trial indices ``[start, stop)``); the first optimizer is the baseline of the ratios.
    Unless ``quiet``, progress (runs done, time left) goes to stderr."""
    import multiprocessing as mp

    from honed_bench.runner import run_one, single_threaded_children

    start, stop = window
    if not 0 <= start < stop <= n_trials:
        raise ValueError(
            f"--window {start}:{stop} must satisfy 0 <= start < stop <= --n-trials ({n_trials})."
        )
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    results: dict[str, Any] = {}
    with ProgressBar(len(optimizers) * len(seeds), "overhead", quiet=quiet) as bar:
        for opt in optimizers:
            per_seed, cpu_seed = [], []
            for seed in seeds:
                with single_threaded_children(), ProcessPoolExecutor(1, mp_context=ctx) as pool:
                    trace = pool.submit(run_one, opt, problem, seed, n_trials).result()
                per = np.asarray(trace["ask_s"]) + np.asarray(trace["tell_s"])
                per_seed.append(per)
                cpu_seed.append(np.asarray(trace["cpu_s"]))
                bar.advance(note=f"  {opt} seed {seed}: {n_trials} trials on {problem}")
            per_all = np.stack(per_seed)
            win = per_all[:, start:stop]
            cpu_win = np.stack(cpu_seed)[:, start:stop]
            results[opt] = {
                "window_mean_s": float(win.mean()),
                "window_median_s": float(np.median(win)),
                "window_mean_cpu_s": float(cpu_win.mean()),
                "first_100_mean_s": float(per_all[:, : min(100, n_trials)].mean()),
                "total_s": float(per_all.sum(axis=1).mean()),
            }
    base = results[optimizers[0]]["window_mean_s"]
    base_cpu = results[optimizers[0]]["window_mean_cpu_s"]
    for r in results.values():
        r["ratio_vs_first"] = r["window_mean_s"] / base if base > 0 else float("inf")
        r["cpu_ratio_vs_first"] = (
            r["window_mean_cpu_s"] / base_cpu if base_cpu > 0 else float("inf")
        )
    return {
        "problem": problem,
        "n_trials": n_trials,
        "window": [start, stop],
        "seeds": list(seeds),
        "baseline": optimizers[0],
        "optimizers": results,
    }


def overhead_markdown(res: dict[str, Any], command: str | None = None) -> str:
    start, stop = res["window"]
    lines = ["# honed-bench overhead", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [
        f"Problem `{res['problem']}`, {res['n_trials']} trials, seeds {res['seeds']}; time per "
        f"suggestion (ask + tell) over trials {start}..{stop - 1}; ratio vs "
        f"`{res['baseline']}`.",
        "",
        "| optimizer | mean ms (window) | median ms (window) | cpu ms (window) | "
        "mean ms (first 100) | total s | ratio | cpu ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for opt, r in res["optimizers"].items():
        lines.append(
            f"| `{opt}` | {r['window_mean_s'] * 1e3:.2f} | {r['window_median_s'] * 1e3:.2f} | "
            f"{r['window_mean_cpu_s'] * 1e3:.2f} | {r['first_100_mean_s'] * 1e3:.2f} | "
            f"{r['total_s']:.1f} | {r['ratio_vs_first']:.2f} | {r['cpu_ratio_vs_first']:.2f} |"
        )
    return "\n".join(lines) + "\n"
