"""Scores: normalized regret at several budgets, mean rank, optimizer overhead.

**Normalized regret** of a run after ``b`` trials, for one objective (as a loss, lower is
better; maximized objectives are negated)::

    regret(b) = (best_loss(b) - optimum) / (reference - optimum)

* ``reference`` is the median loss of random configurations of the problem (256 of them, 64
  for scikit-learn problems, drawn once with a fixed seed and cached on disk). Regret 1 means
  "as good as a typical random configuration", 0 means "found the optimum".
* ``optimum`` is the best of: the problem's known optimum (synthetic functions), the best
  reference sample, and the best value any run in these results found. For problems with an
  unknown optimum (scikit-learn) the regrets therefore depend on which runs are in the
  results; ranks and ratios between optimizers in the same results do not.
* A run whose trials all failed so far scores the worst reference sample.
* A noisy problem (``Problem.noiseless`` set) scores the noiseless value of the trial with the
  best observed value, and its reference samples are noiseless values.

**Multi-objective** problems are scored by the hypervolume of everything found so far,
relative to the problem's reference point, as a loss ``-HV``: the optimum is the largest of
``problem.optimum`` (read as the true front's hypervolume when set) and the best hypervolume
seen; the reference is the median hypervolume of single random configurations (often 0).

**Mean rank**: per (problem, seed), optimizers are ranked by final best loss (ties share the
mean rank), then averaged. **Overhead**: mean seconds in ``ask`` + ``tell`` per trial.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from honed.analysis import hypervolume
from honed_bench.problems.base import Problem

__all__ = ["DEFAULT_BUDGETS", "budgets_for", "summarize", "trace_curve"]

DEFAULT_BUDGETS = (10, 25, 50, 100)


def budgets_for(n_trials: int, budgets: Sequence[int] = DEFAULT_BUDGETS) -> list[int]:
    out = sorted({b for b in budgets if 0 < b < n_trials} | {n_trials})
    return out


def _signs(problem: Problem) -> np.ndarray:
    return np.array([1.0 if d == "minimize" else -1.0 for d in problem.directions])


def _loss_matrix(values: Sequence[Sequence[float] | None], signs: np.ndarray) -> np.ndarray:
    out = np.full((len(values), len(signs)), np.nan)
    for i, v in enumerate(values):
        if v is not None:
            out[i] = np.asarray(v, dtype=float) * signs
    return out


def _mo_ref(problem: Problem, signs: np.ndarray, ref_losses: np.ndarray) -> np.ndarray:
    if problem.reference_point is not None:
        return np.asarray(problem.reference_point, dtype=float) * signs
    # No reference point given: the worst random configuration per objective, plus 10%.
    ok = ref_losses[~np.isnan(ref_losses).any(axis=1)]
    hi, lo = ok.max(axis=0), ok.min(axis=0)
    return hi + 0.1 * np.maximum(hi - lo, 1e-12)


def _curve(
    losses: np.ndarray,
    budgets: Sequence[int],
    mo_ref: np.ndarray | None,
    worst: float,
    true_losses: np.ndarray | None = None,
) -> list[float]:
    """Score (a loss) after each budget: best-so-far for one objective, -HV for several.
    With ``true_losses`` (a noisy problem), the true loss of the trial observed as best."""
    out = []
    for b in budgets:
        if true_losses is not None and mo_ref is None:
            observed = losses[:b, 0]
            if np.isnan(observed).all():
                out.append(worst)
            else:
                out.append(float(true_losses[int(np.nanargmin(observed))]))
            continue
        head = losses[:b]
        head = head[~np.isnan(head).any(axis=1)]
        if len(head) == 0:
            out.append(worst)
        elif mo_ref is None:
            out.append(float(head[:, 0].min()))
        else:
            out.append(-hypervolume(head, mo_ref))
    return out


def trace_curve(
    trace: dict[str, Any],
    signs: np.ndarray,
    budgets: Sequence[int],
    mo_ref: np.ndarray | None,
    worst: float,
) -> list[float]:
    """One run's score (a loss) after each budget; noisy problems by true values."""
    losses = _loss_matrix(trace["values"], signs)
    true = trace.get("true_values")
    true_losses = None
    if true is not None:
        true_losses = np.array([np.nan if v is None else v for v in true], dtype=float) * signs[0]
    return _curve(losses, budgets, mo_ref, worst, true_losses)


def paired_p_value(a: dict[str, float], b: dict[str, float]) -> float | None:
    """Two-sided Wilcoxon signed-rank p-value of paired final regrets (same seeds), or None
    when there are too few seeds or no differences."""
    seeds = sorted(set(a) & set(b))
    diff = np.array([a[s] - b[s] for s in seeds])
    if len(seeds) < 5 or not np.any(np.abs(diff) > 1e-12):
        return None
    import warnings

    from scipy.stats import wilcoxon

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties and zero differences: handled by zero_method
        return float(wilcoxon(diff, zero_method="zsplit").pvalue)


def summarize(
    traces: Sequence[dict[str, Any]],
    problems: Sequence[Problem],
    references: dict[str, dict[str, Any]],
    optimizers: Sequence[str],
    budgets: Sequence[int],
    baseline: str | None = None,
) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data."""
    baseline = baseline or optimizers[0]
    by_problem: dict[str, list[dict[str, Any]]] = {p.name: [] for p in problems}
    for t in traces:
        by_problem.setdefault(t["problem"], []).append(t)
    per_problem: dict[str, Any] = {}
    ranks: dict[str, list[float]] = {o: [] for o in optimizers}
    for prob in problems:
        signs = _signs(prob)
        ref_losses = _loss_matrix(references[prob.name]["values"], signs)
        mo = prob.n_objectives > 1
        mo_ref = _mo_ref(prob, signs, ref_losses) if mo else None
        ok_ref = ref_losses[~np.isnan(ref_losses).any(axis=1)]
        if mo:
            single = np.array([-hypervolume(r[None, :], mo_ref) for r in ok_ref])
        else:
            single = ok_ref[:, 0]
        if len(single) == 0:
            raise ValueError(f"problem {prob.name!r}: every random reference configuration failed.")
        ref_value = float(np.median(single))
        worst = float(single.max())
        curves: dict[tuple[str, int], list[float]] = {}
        for t in by_problem.get(prob.name, []):
            curves[(t["optimizer"], t["seed"])] = trace_curve(t, signs, budgets, mo_ref, worst)
        candidates = [float(single.min())] + [c[-1] for c in curves.values()]
        if prob.optimum is not None:
            known = -float(prob.optimum) if mo else signs[0] * float(prob.optimum)
            candidates.append(known)
        optimum = min(candidates)
        scale = ref_value - optimum
        # Back from loss form to the problem's own terms (a value, or a hypervolume).
        own = -1.0 if mo else float(signs[0])
        entry: dict[str, Any] = {
            "suite": prob.suite,
            "reference": own * ref_value,
            "optimum": own * optimum,
            "known_optimum": prob.optimum,
            "score": "hypervolume" if mo else "best value",
            "optimizers": {},
        }
        for opt in optimizers:
            runs = {s: c for (o, s), c in curves.items() if o == opt}
            if not runs:
                continue
            reg = np.array(
                [[(v - optimum) / scale if scale > 0 else 0.0 for v in c] for c in runs.values()]
            )
            over = [
                (sum(t["ask_s"]) + sum(t["tell_s"])) / max(1, len(t["ask_s"]))
                for t in by_problem[prob.name]
                if t["optimizer"] == opt
            ]
            cpu = [
                sum(t["cpu_s"]) / max(1, len(t["ask_s"])) if "cpu_s" in t else math.nan
                for t in by_problem[prob.name]
                if t["optimizer"] == opt
            ]
            evals = [
                sum(t["eval_s"]) / max(1, len(t["eval_s"]))
                for t in by_problem[prob.name]
                if t["optimizer"] == opt
            ]
            n = len(reg)
            entry["optimizers"][opt] = {
                "n_seeds": n,
                "final_regret_by_seed": {
                    str(seed): float(r[-1]) for seed, r in zip(runs, reg, strict=True)
                },
                "regret_mean": [float(x) for x in reg.mean(axis=0)],
                "regret_sem": [
                    float(x)
                    for x in (
                        reg.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(len(budgets))
                    )
                ],
                "final_mean": own * float(np.mean([c[-1] for c in runs.values()])),
                "overhead_s": float(np.mean(over)),
                "overhead_cpu_s": float(np.mean(cpu)),
                "eval_s": float(np.mean(evals)),
                "n_failed": int(
                    sum(t["n_failed"] for t in by_problem[prob.name] if t["optimizer"] == opt)
                ),
            }
        # Ranks per seed among the optimizers that have that seed (one that failed on a
        # problem is left out of its ranking rather than dropping the problem).
        from scipy.stats import rankdata

        for s in sorted({s for (_, s) in curves}):
            present = [o for o in optimizers if (o, s) in curves]
            if len(present) < 2:
                continue
            finals = np.array([curves[(o, s)][-1] for o in present])
            for o, r in zip(present, rankdata(finals), strict=True):
                ranks[o].append(float(r))
                entry["optimizers"][o].setdefault("ranks", []).append(float(r))
        per_problem[prob.name] = entry

    aggregate: dict[str, Any] = {}
    for opt in optimizers:
        rows = [e["optimizers"][opt] for e in per_problem.values() if opt in e["optimizers"]]
        if not rows:
            continue
        aggregate[opt] = {
            "n_problems": len(rows),
            "regret_mean": [float(x) for x in np.mean([r["regret_mean"] for r in rows], axis=0)],
            "mean_rank": float(np.mean(ranks[opt])) if ranks[opt] else None,
            "overhead_s": float(np.mean([r["overhead_s"] for r in rows])),
            "overhead_cpu_s": float(np.mean([r["overhead_cpu_s"] for r in rows])),
        }
    by_suite: dict[str, Any] = {}
    for suite in dict.fromkeys(e["suite"] for e in per_problem.values()):
        entries = [e for e in per_problem.values() if e["suite"] == suite]
        by_suite[suite] = {}
        for opt in optimizers:
            rows = [e["optimizers"][opt] for e in entries if opt in e["optimizers"]]
            if not rows:
                continue
            suite_ranks = [r for row in rows for r in row.get("ranks", [])]
            by_suite[suite][opt] = {
                "n_problems": len(rows),
                "regret_final": float(np.mean([r["regret_mean"][-1] for r in rows])),
                "mean_rank": float(np.mean(suite_ranks)) if suite_ranks else None,
            }
    base = aggregate.get(baseline)
    for opt, agg in aggregate.items():
        if base is None:
            break
        agg["regret_ratio"] = [
            (a / b if b > 0 else (1.0 if a == 0 else math.inf))
            for a, b in zip(agg["regret_mean"], base["regret_mean"], strict=True)
        ]
        agg["overhead_ratio"] = (
            agg["overhead_s"] / base["overhead_s"] if base["overhead_s"] > 0 else math.inf
        )
        wins = ties = losses = sig_wins = sig_losses = 0
        for e in per_problem.values():
            if opt in e["optimizers"] and baseline in e["optimizers"]:
                a = e["optimizers"][opt]["regret_mean"][-1]
                b = e["optimizers"][baseline]["regret_mean"][-1]
                if abs(a - b) <= 1e-12 * max(1.0, abs(b)):
                    ties += 1
                elif a < b:
                    wins += 1
                else:
                    losses += 1
                p = paired_p_value(
                    e["optimizers"][opt]["final_regret_by_seed"],
                    e["optimizers"][baseline]["final_regret_by_seed"],
                )
                if p is not None and p < 0.05:
                    sig_wins += a < b
                    sig_losses += a > b
        agg["vs_baseline"] = {
            "wins": wins,
            "ties": ties,
            "losses": losses,
            "significant_wins": sig_wins,
            "significant_losses": sig_losses,
        }
    return {
        "budgets": list(budgets),
        "baseline": baseline,
        "optimizers": list(optimizers),
        "problems": per_problem,
        "aggregate": aggregate,
        "by_suite": by_suite,
    }
