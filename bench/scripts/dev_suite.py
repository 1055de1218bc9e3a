"""The development suite of issue 20: run optimizers on it, keep their runs, and report the
default sampler's leave-one-family-out scores against the peers.

    # run (or resume) optimizers; their runs are stored in bench/results/dev-suite/runs/
    python bench/scripts/dev_suite.py run --optimizers honed:auto,optuna:tpe --seeds 3
    # tables: bench/results/dev-suite-tables.md and bench/results/dev-suite/regrets.csv.gz
    python bench/scripts/dev_suite.py report --candidates 'honed:auto,honed:auto[cmaes_min_dim=0]'

Peers' runs are stored once (one gzip JSON-lines file per optimizer: values, noiseless values
and timings per trial) and reused, so only honed's candidates are re-run as they change. A
problem whose definition changed (its fingerprint) has its stored runs ignored.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from honed_bench.lofo import (
    LOFO_NAME,
    compose,
    family_table,
    leave_one_family_out,
    mean_ranks,
    run_regrets,
)
from honed_bench.optimizers import split_optimizers
from honed_bench.problems import select_problems
from honed_bench.problems.base import Problem
from honed_bench.runner import (
    RunKey,
    _load_json,
    _truncate,
    _write_json,
    problem_fingerprint,
    reference_samples,
    run_benchmark,
    trace_path,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"
STORE = RESULTS / "dev-suite"
BUDGETS = (25, 50, 100, 200)
PEERS = (
    "optuna:tpe",
    "optuna:gp",
    "smac:hpo",
    "smac:bo",
    "hebo:hebo",
    "nevergrad:ngopt",
    "honed:random",
)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _budget(p: Problem) -> int:
    return int(p.tags.get("budget", 100))


def _store_path(optimizer: str) -> Path:
    return STORE / "runs" / f"{_safe(optimizer)}.jsonl.gz"


def _gzip_text(path: Path) -> io.TextIOWrapper:
    """A gzip text file with no timestamp in its header, so unchanged content rewrites the
    same bytes (the results folder shows no change)."""
    return io.TextIOWrapper(gzip.GzipFile(path, "wb", mtime=0), encoding="utf-8")


def load_store(optimizer: str, problems: list[Problem]) -> list[dict[str, Any]]:
    """The stored runs of ``optimizer`` whose problem definition is unchanged."""
    path = _store_path(optimizer)
    if not path.exists():
        return []
    prints = {p.name: problem_fingerprint(p) for p in problems}
    out = []
    with gzip.open(path, "rt") as f:
        for line in f:
            t = json.loads(line)
            if prints.get(t["problem"]) == t.get("fingerprint"):
                out.append(t)
    return out


def save_store(optimizer: str, traces: list[dict[str, Any]]) -> None:
    keep = ("fingerprint", "optimizer", "problem", "seed", "n_trials", "values", "true_values")
    path = _store_path(optimizer)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(traces, key=lambda t: (t["problem"], t["seed"]))
    with _gzip_text(path) as f:
        for t in rows:
            row = {k: t[k] for k in keep if k in t}
            row["overhead_s"] = (
                t["overhead_s"]
                if "overhead_s" in t
                else round((sum(t["ask_s"]) + sum(t["tell_s"])) / max(1, len(t["ask_s"])), 5)
            )
            row["n_failed"] = t["n_failed"]
            if "n_pruned" in t:
                row["n_pruned"] = t["n_pruned"]
            if "same_as" in t:
                row["same_as"] = t["same_as"]
            f.write(json.dumps(row) + "\n")


def _finished(
    opt: str, problems: list[Problem], seeds: range, budget: int, scratch: Path
) -> list[dict[str, Any]]:
    out = []
    for p in problems:
        for seed in seeds:
            t = _load_json(trace_path(scratch, RunKey(opt, p.name, seed)))
            if t is None:
                continue
            if t.get("fingerprint") == problem_fingerprint(p) and t["n_trials"] >= budget:
                out.append(_truncate(t, budget))
    return out


def run(args: argparse.Namespace) -> None:
    problems = select_problems(["dev"], args.problems)
    everything = select_problems(["dev"])
    names = {p.name for p in problems}
    scratch = Path(args.scratch)
    for opt in split_optimizers(args.optimizers):
        # Every stored run is kept: --problems selects what to run, not what to store.
        stored = {(t["problem"], t["seed"]): t for t in load_store(opt, everything)}
        if args.same_as:
            # A candidate that changes a rule which never fires outside --problems: on the
            # other problems its runs are the reference optimizer's, seed for seed.
            # (A run the candidate made itself is never replaced by a copy.)
            for t in load_store(args.same_as, everything):
                key = (t["problem"], t["seed"])
                own = key in stored and "same_as" not in stored[key]
                if t["problem"] not in names and t["seed"] < args.seeds and not own:
                    stored[key] = dict(t, optimizer=opt, same_as=args.same_as)
        budget_of = {p.name: args.n_trials or _budget(p) for p in problems}
        for budget in sorted(set(budget_of.values())):
            group = [p for p in problems if budget_of[p.name] == budget]
            # Stored runs go back into the scratch folder, so the runner resumes them.
            for (prob, seed), t in stored.items():
                if any(p.name == prob for p in group) and seed < args.seeds:
                    path = trace_path(scratch, RunKey(opt, prob, seed))
                    if not path.exists() and t.get("n_trials", 0) >= budget:
                        full = dict(t, version=2, ask_s=[0.0] * len(t["values"]))
                        full.update(
                            tell_s=[t["overhead_s"]] * len(t["values"]),
                            cpu_s=[math.nan] * len(t["values"]),
                            eval_s=[0.0] * len(t["values"]),
                        )
                        _write_json(path, full)
            if args.store_only:
                # Keep what the scratch folder holds (an interrupted slow peer), run nothing.
                traces, failures = _finished(opt, group, range(args.seeds), budget, scratch), []
            else:
                traces, _, failures = run_benchmark(
                    [opt],
                    group,
                    range(args.seeds),
                    budget,
                    scratch,
                    workers=args.workers,
                    quiet=False,
                )
            for t in traces:
                stored[(t["problem"], t["seed"])] = t
            for line in failures:
                print("FAILED", line, file=sys.stderr)
        save_store(opt, list(stored.values()))
        print(f"{opt}: {len(stored)} runs stored in {_store_path(opt)}", file=sys.stderr)


def _fmt(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def report(args: argparse.Namespace) -> None:
    problems = select_problems(["dev"], args.problems)
    candidates = split_optimizers(args.candidates)
    peers = [p for p in split_optimizers(args.peers) if _store_path(p).exists()]
    missing_peers = [p for p in split_optimizers(args.peers) if p not in peers]
    traces = [t for o in candidates + peers for t in load_store(o, problems)]
    if args.seeds:
        traces = [t for t in traces if t["seed"] < args.seeds]
    refs = {p.name: reference_samples(p, Path(args.cache_dir)) for p in problems}
    shortest = min((t["n_trials"] for t in traces), default=0)
    budgets = [b for b in BUDGETS if b <= shortest]
    if not budgets:
        raise SystemExit("no stored runs of 25 trials or more; run some first.")
    # runs longer than the report's budgets are scored on their first trials
    traces = [_truncate(t, budgets[-1]) for t in traces]
    regrets = run_regrets(traces, problems, refs, budgets)
    b_index = {b: i for i, b in enumerate(budgets)}
    choose_at = [b_index[b] for b in (50, 100) if b in b_index] or [len(budgets) - 1]
    chosen = leave_one_family_out(regrets, problems, candidates, choose_at)
    regrets.update(compose(regrets, problems, chosen))
    # Peers run on part of the suite only (the slowest) are compared on that part, below.
    covered = {o: {(n, sd) for (oo, n, sd) in regrets if oo == o} for o in peers}
    most = max((len(c) for c in covered.values()), default=0)
    partial = [o for o in peers if len(covered[o]) < most]
    peers = [o for o in peers if o not in partial]
    shown = [LOFO_NAME, *candidates, *peers]
    field = [LOFO_NAME, *peers]
    families = list(dict.fromkeys(str(p.tags["family"]) for p in problems))
    lines = [
        "# Development suite (issue 20): honed's default, left-out scores, against the peers",
        "",
        f"Regenerate: `python bench/scripts/dev_suite.py report --candidates '{args.candidates}'`"
        f" (runs: `python bench/scripts/dev_suite.py run --optimizers ... --seeds N`).",
        "",
        f"{len(problems)} problems in {len(families)} families "
        f"({', '.join(families)}; `bench/src/honed_bench/problems/dev.py` says why each is "
        "there). Seeds per optimizer: "
        + ", ".join(
            f"`{o}` {len({s for (oo, _, s) in regrets if oo == o})}" for o in candidates + peers
        )
        + ". Peers without stored runs: "
        + (", ".join(f"`{p}`" for p in missing_peers) or "none")
        + ".",
        "",
        "Normalized regret: 0 at the best value known, 1 at the median random configuration "
        "(noisy problems: the noiseless value of the configuration observed as best).",
        "",
        "## Leave-one-family-out choice",
        "",
        "Each family's row in the tables below for "
        f"`{LOFO_NAME}` is the candidate chosen on the other families (lowest mean regret at "
        f"{' and '.join(str(budgets[i]) for i in choose_at)} trials), scored on that family:",
        "",
        "| left-out family | candidate chosen on the others |",
        "|---|---|",
        *[f"| {fam} | `{c}` |" for fam, c in chosen.items()],
        "",
    ]
    for b in budgets:
        table = family_table(regrets, problems, shown, b_index[b])
        ranks = mean_ranks(regrets, problems, field, b_index[b])
        lines += [
            f"## {b} trials: mean normalized regret (mean rank among `{LOFO_NAME}` and peers)",
            "",
            "| family | " + " | ".join(f"`{o}`" for o in shown) + " |",
            "|---|" + "---|" * len(shown),
        ]
        for fam in [*families, "all"]:
            row = table.get(fam, {})
            best = min((row[o] for o in field if o in row), default=None)
            cells = []
            for o in shown:
                v = row.get(o)
                text = _fmt(v)
                if v is not None and best is not None and o in field and v <= best + 1e-12:
                    text = f"**{text}**"
                if o in field and fam in ranks and o in ranks[fam]:
                    text += f" ({ranks[fam][o]:.2f})"
                cells.append(text)
            lines.append(f"| {fam} | " + " | ".join(cells) + " |")
        all_row = table["all"]
        peer_best = min((all_row[o] for o in peers if o in all_row), default=None)
        if peer_best and LOFO_NAME in all_row:
            lines += [
                "",
                f"Ratio of `{LOFO_NAME}`'s mean regret to the best peer's: "
                f"{all_row[LOFO_NAME] / peer_best:.2f}.",
            ]
        lines.append("")
    for o in partial:
        pairs = sorted({(n, sd) for (oo, n, sd) in regrets if oo == o})
        names = sorted({n for n, _ in pairs})
        group = [o, *field]
        lines += [
            f"## `{o}` on the part of the suite it ran ({len(names)} problems, {len(pairs)} runs)",
            "",
            "Problems: " + ", ".join(names) + ". Mean normalized regret over these runs "
            "(mean rank among the columns):",
            "",
            "| trials | " + " | ".join(f"`{g}`" for g in group) + " |",
            "|---|" + "---|" * len(group),
        ]
        for b in budgets:
            cells = []
            for g in group:
                vals = [regrets[(g, n, sd)][b_index[b]] for n, sd in pairs if (g, n, sd) in regrets]
                cells.append(_fmt(float(np.mean(vals))) if len(vals) == len(pairs) else "-")
            sub = [p for p in problems if p.name in names]
            sub_regrets = {k: v for k, v in regrets.items() if (k[1], k[2]) in set(pairs)}
            ranks = mean_ranks(sub_regrets, sub, group, b_index[b]).get("all", {})
            cells = [f"{c} ({ranks[g]:.2f})" if g in ranks else c for c, g in zip(cells, group)]
            lines.append(f"| {b} | " + " | ".join(cells) + " |")
        lines.append("")
    overhead = {}
    for o in [*candidates, *peers, *partial]:
        own = [t["overhead_s"] for t in traces if t["optimizer"] == o and "same_as" not in t]
        if own:
            overhead[o] = 1000 * float(np.mean(own))
    lines += [
        "## Overhead: mean milliseconds in ask + tell per trial",
        "",
        "Measured while other runs shared the 2-core machine: compare within a row only roughly.",
        "",
        "| " + " | ".join(f"`{o}`" for o in overhead) + " |",
        "|" + "---|" * len(overhead),
        "| " + " | ".join(f"{v:.1f}" for v in overhead.values()) + " |",
        "",
    ]
    at = b_index.get(50, len(budgets) - 1)
    lines += [
        f"## Per problem at {budgets[at]} trials (mean over seeds)",
        "",
        "| problem | " + " | ".join(f"`{o}`" for o in shown) + " |",
        "|---|" + "---|" * len(shown),
    ]
    for p in problems:
        vals = {}
        for o in shown:
            rs = [r[at] for (oo, n, _), r in regrets.items() if oo == o and n == p.name]
            vals[o] = float(np.mean(rs)) if rs else None
        best = min((v for o, v in vals.items() if o in field and v is not None), default=None)
        cells = [
            (f"**{_fmt(v)}**" if v is not None and o in field and v == best else _fmt(v))
            for o, v in vals.items()
        ]
        lines.append(f"| {p.name} | " + " | ".join(cells) + " |")
    out = Path(args.out)
    out.write_text("\n".join(lines) + "\n")
    csv = STORE / "regrets.csv.gz"
    csv.parent.mkdir(parents=True, exist_ok=True)
    with _gzip_text(csv) as f:
        f.write("optimizer,problem,family,seed," + ",".join(f"regret@{b}" for b in budgets) + "\n")
        fam_of = {p.name: p.tags["family"] for p in problems}
        for (o, n, s), r in sorted(regrets.items()):
            f.write(f'"{o}",{n},{fam_of[n]},{s},' + ",".join(f"{x:.6g}" for x in r) + "\n")
    print(out.read_text())


def main() -> None:
    global STORE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run", help="run (or resume) optimizers and store their runs")
    r.add_argument("--optimizers", required=True)
    r.add_argument("--seeds", type=int, default=10)
    r.add_argument("--workers", type=int, default=2)
    r.add_argument(
        "--n-trials",
        type=int,
        default=0,
        help="trials per run (default: each problem's budget, 100, or 200 for the long family)",
    )
    r.add_argument("--problems", default="", help="comma list of name patterns")
    r.add_argument("--scratch", default=str(Path.home() / ".cache/honed/bench/dev-runs"))
    r.add_argument(
        "--store-only",
        action="store_true",
        help="store the finished runs in --scratch and run nothing (an interrupted slow peer)",
    )
    r.add_argument(
        "--same-as",
        default="",
        help="copy this optimizer's stored runs for the problems not selected by --problems "
        "(for a candidate whose changed rule never fires there)",
    )
    q = sub.add_parser("report", help="leave-one-family-out tables")
    q.add_argument("--candidates", default="honed:auto")
    q.add_argument("--peers", default=",".join(PEERS))
    q.add_argument("--seeds", type=int, default=0, help="use seeds below this (0: all)")
    q.add_argument("--problems", default="")
    q.add_argument("--cache-dir", default=str(Path.home() / ".cache/honed/bench"))
    q.add_argument("--out", default=str(RESULTS / "dev-suite-tables.md"))
    for p in (r, q):
        p.add_argument("--store", default=str(STORE), help="where the runs are stored")
    args = ap.parse_args()
    STORE = Path(args.store)
    args.problems = [s for s in args.problems.split(",") if s]
    (run if args.mode == "run" else report)(args)


if __name__ == "__main__":
    main()
