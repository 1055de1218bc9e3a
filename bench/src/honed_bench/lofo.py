"""Leave-one-family-out scoring of the development suite (issue 20).

A variant of honed's default sampler (a rule or constant changed) is chosen on five (here six)
families and scored on the family left out, in turn; the left-out scores, put together, are
what the default would score on problems of a kind it was not chosen on. They, not the
in-sample scores, are what the reports compare with the peers.

Regrets are per run (optimizer, problem, seed) and budget, normalized per problem as in
:mod:`honed_bench.scoring`: 0 at the best value known (the problem's optimum, the best random
configuration or the best any run in the results found), 1 at the median random
configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from honed_bench.problems.base import Problem
from honed_bench.scoring import trace_curve

__all__ = [
    "LOFO_NAME",
    "compose",
    "family_table",
    "leave_one_family_out",
    "mean_ranks",
    "run_regrets",
]

LOFO_NAME = "honed:default(lofo)"

# (optimizer, problem, seed) -> regret at each budget
Regrets = dict[tuple[str, str, int], np.ndarray]


def run_regrets(
    traces: Sequence[dict[str, Any]],
    problems: Sequence[Problem],
    references: Mapping[str, Mapping[str, Any]],
    budgets: Sequence[int],
) -> Regrets:
    """Normalized regret of every single-objective run after each budget (runs shorter than a
    budget score their last value there)."""
    by_problem: dict[str, list[dict[str, Any]]] = {}
    for t in traces:
        by_problem.setdefault(t["problem"], []).append(t)
    out: Regrets = {}
    for prob in problems:
        sign = np.array([1.0 if prob.directions[0] == "minimize" else -1.0])
        ref = np.array(
            [np.nan if v is None else sign[0] * v[0] for v in references[prob.name]["values"]]
        )
        ref = ref[~np.isnan(ref)]
        if len(ref) == 0:
            raise ValueError(f"problem {prob.name!r}: every random reference configuration failed.")
        median, worst = float(np.median(ref)), float(ref.max())
        curves = {
            (t["optimizer"], t["seed"]): np.array(
                trace_curve(t, sign, budgets, None, worst), dtype=float
            )
            for t in by_problem.get(prob.name, [])
        }
        candidates = [float(ref.min())] + [float(c.min()) for c in curves.values()]
        if prob.optimum is not None:
            candidates.append(sign[0] * float(prob.optimum))
        optimum = min(candidates)
        scale = median - optimum
        for (opt, seed), c in curves.items():
            out[(opt, prob.name, seed)] = (c - optimum) / scale if scale > 0 else np.zeros_like(c)
    return out


def _family(problem: Problem) -> str:
    return str(problem.tags.get("family", problem.suite))


def family_table(
    regrets: Regrets, problems: Sequence[Problem], optimizers: Sequence[str], budget: int
) -> dict[str, dict[str, float]]:
    """family -> optimizer -> mean over problems of the mean-over-seeds regret at budget index
    ``budget``; the ``"all"`` row averages over every problem."""
    table: dict[str, dict[str, float]] = {}
    families = [*dict.fromkeys(_family(p) for p in problems), "all"]
    for fam in families:
        probs = [p for p in problems if fam == "all" or _family(p) == fam]
        table[fam] = {}
        for opt in optimizers:
            per_problem = []
            for p in probs:
                vals = [r[budget] for (o, n, _), r in regrets.items() if o == opt and n == p.name]
                if vals:
                    per_problem.append(float(np.mean(vals)))
            if len(per_problem) == len(probs):  # an optimizer missing a problem gets no cell
                table[fam][opt] = float(np.mean(per_problem))
    return table


def leave_one_family_out(
    regrets: Regrets,
    problems: Sequence[Problem],
    candidates: Sequence[str],
    budgets: Sequence[int],
) -> dict[str, str]:
    """family -> the candidate with the lowest mean regret on every other family (averaged
    over the budget indices ``budgets``)."""
    families = list(dict.fromkeys(_family(p) for p in problems))
    chosen: dict[str, str] = {}
    for fam in families:
        rest = [p for p in problems if _family(p) != fam]
        scores = {}
        for cand in candidates:
            cells = [family_table(regrets, rest, [cand], b)["all"].get(cand) for b in budgets]
            if all(c is not None for c in cells):
                scores[cand] = float(np.mean([c for c in cells if c is not None]))
        if not scores:
            raise ValueError(f"no candidate has runs on every problem outside family {fam!r}.")
        chosen[fam] = min(scores, key=lambda c: (scores[c], list(candidates).index(c)))
    return chosen


def compose(
    regrets: Regrets, problems: Sequence[Problem], chosen: Mapping[str, str], name: str = LOFO_NAME
) -> Regrets:
    """The runs of ``chosen[family]`` on each family's problems, renamed ``name``: the
    left-out scores as one optimizer."""
    fam_of = {p.name: _family(p) for p in problems}
    out: Regrets = {}
    for (opt, prob, seed), r in regrets.items():
        if prob in fam_of and chosen.get(fam_of[prob]) == opt:
            out[(name, prob, seed)] = r
    return out


def mean_ranks(
    regrets: Regrets, problems: Sequence[Problem], optimizers: Sequence[str], budget: int
) -> dict[str, dict[str, float]]:
    """family (and ``"all"``) -> optimizer -> mean rank among ``optimizers`` per (problem,
    seed) at budget index ``budget`` (ties share the mean rank); seeds that some optimizer
    lacks are left out."""
    ranks: dict[str, dict[str, list[float]]] = {}
    for p in problems:
        seeds = sorted({s for (o, n, s) in regrets if n == p.name})
        for s in seeds:
            if not all((o, p.name, s) in regrets for o in optimizers):
                continue
            finals = [regrets[(o, p.name, s)][budget] for o in optimizers]
            for o, r in zip(optimizers, rankdata(finals), strict=True):
                for fam in (_family(p), "all"):
                    ranks.setdefault(fam, {}).setdefault(o, []).append(float(r))
    return {fam: {o: float(np.mean(v)) for o, v in by_opt.items()} for fam, by_opt in ranks.items()}
