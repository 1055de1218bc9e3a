"""``honed-bench``: compare any honed sampler with any peer on the same problems and seeds.

Heavy imports (numpy, the problems, the peers) stay inside the handlers so that
``honed-bench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def _csv(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``honed-bench`` argument parser, with its ``overhead`` and ``mf`` modes."""
    p = argparse.ArgumentParser(
        prog="honed-bench",
        description=(
            "Run optimizers on a problem suite for several seeds and report mean normalized "
            "regret at several budgets, mean rank and optimizer overhead per suggestion. "
            "Each run's trace is saved as it finishes, so an interrupted run resumes."
        ),
    )
    p.add_argument(
        "--optimizers",
        default="",
        help="comma list, e.g. honed:tpe,optuna:tpe,honed:random (see --list); constructor "
        "options in brackets: 'honed:tpe[n_startup_trials=5,multivariate=true]'",
    )
    p.add_argument(
        "--suite",
        default="",
        help="comma list of suites: synthetic, sklearn, conditional, multiobjective "
        "(default: synthetic, or every suite when --problems is given)",
    )
    p.add_argument(
        "--problems", default="", help="comma list of problem names or patterns (ackley-*)"
    )
    p.add_argument("--n-trials", type=int, default=50, help="evaluations per run (default 50)")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per problem (default 10)")
    p.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    p.add_argument("--out", default=None, help="results folder (default bench-results/<time>)")
    p.add_argument("--baseline", default=None, help="optimizer the ratios compare with")
    p.add_argument(
        "--budgets", default="10,25,50,100", help="budgets to report regret at (and n-trials)"
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="where reference samples are cached (default $HONED_BENCH_CACHE or "
        "~/.cache/honed/bench)",
    )
    p.add_argument("--list", action="store_true", help="list problems and optimizers, then exit")
    p.add_argument(
        "--quiet", action="store_true", help="print only the tables (no progress on stderr)"
    )
    p.set_defaults(func=_run)

    sub = p.add_subparsers(dest="bench_command", metavar="MODE")
    o = sub.add_parser(
        "overhead",
        help="time per suggestion over a window of a long run (e.g. trials 1000..2000)",
    )
    o.add_argument("--optimizers", required=True, help="comma list; the first is the baseline")
    o.add_argument("--n-trials", type=int, default=2000)
    o.add_argument("--dim", type=int, default=10, help="dimension of the default problem")
    o.add_argument(
        "--problem",
        default=None,
        help="problem name (default styblinski-tang-<dim>; any <function>-<dim> works)",
    )
    o.add_argument("--window", default="1000:2000", help="START:STOP trial indices")
    o.add_argument("--seeds", type=int, default=1)
    o.add_argument("--out", default=None, help="folder to write overhead.json and .md")
    o.add_argument("--quiet", action="store_true", help="print only the table")
    o.set_defaults(func=_run_overhead)

    from honed_bench.multifidelity import register_mode  # light: heavy imports are inside

    register_mode(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``honed-bench`` with ``argv`` (default: the command line); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = " ".join(["honed-bench", *(shlex.quote(a) for a in argv)])
    return int(args.func(args))


def _fail(msg: str) -> int:
    print(f"honed-bench: error: {msg}", file=sys.stderr)
    return 2


def _list() -> int:
    from honed.space import flatten_space, load_space
    from honed_bench.optimizers import available_optimizers
    from honed_bench.problems import SUITES, all_problems

    print("Problems:")
    for suite in SUITES:
        probs = all_problems([suite])
        if not probs:
            print(f"  {suite}: (none installed)")
            continue
        print(f"  {suite} ({len(probs)}):")
        for prob in probs:
            tree = load_space(prob.space)
            flat = flatten_space(tree)
            kinds = "/".join(sorted({d.kind for d in flat.values()}))
            cond = ", conditional" if len(flat) != len(tree) else ""
            print(
                f"    {prob.name}  [{len(flat)} parameter(s): {kinds}{cond}; "
                f"{prob.n_objectives} objective(s)]"
            )
    print("Optimizers (honed:<any registered sampler> works):")
    for name, status in available_optimizers():
        print(f"  {name:16s} {status}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    import datetime as dt
    import json
    import platform
    from pathlib import Path

    from honed_bench.optimizers import MissingOptimizerError, check_optimizer, split_optimizers
    from honed_bench.problems import select_problems
    from honed_bench.report import markdown
    from honed_bench.runner import default_cache_dir, run_benchmark
    from honed_bench.scoring import budgets_for, summarize

    optimizers = split_optimizers(args.optimizers)
    if not optimizers:
        return _fail("--optimizers is required, e.g. --optimizers honed:random,optuna:tpe.")
    if len(set(optimizers)) != len(optimizers):
        return _fail("--optimizers lists an optimizer twice.")
    for name in optimizers:
        try:
            check_optimizer(name)
        except (MissingOptimizerError, ValueError) as e:
            return _fail(str(e))
    if args.n_trials < 1:
        return _fail(f"--n-trials must be >= 1, got {args.n_trials}.")
    if args.seeds < 1:
        return _fail(f"--seeds must be >= 1, got {args.seeds}.")
    if args.workers < 1:
        return _fail(f"--workers must be >= 1, got {args.workers}.")
    baseline = args.baseline or optimizers[0]
    if baseline not in optimizers:
        return _fail(f"--baseline {baseline!r} is not one of --optimizers {optimizers}.")
    try:
        budgets = budgets_for(args.n_trials, [int(b) for b in _csv(args.budgets)])
    except ValueError:
        return _fail(f"--budgets must be a comma list of integers, got {args.budgets!r}.")
    suites = _csv(args.suite) or (None if args.problems else ["synthetic"])
    try:
        problems = select_problems(suites, _csv(args.problems))
    except ValueError as e:
        return _fail(str(e))
    if not problems:
        return _fail(f"no problems in suite(s) {suites}; `honed-bench --list` shows them.")
    now = dt.datetime.now(dt.UTC)
    out = Path(args.out or f"bench-results/{now:%Y%m%d-%H%M%S}")
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    say(
        f"honed-bench: {len(optimizers)} optimizer(s) x {len(problems)} problem(s) x "
        f"{args.seeds} seed(s), {args.n_trials} trials, {args.workers} worker(s) -> {out}"
    )
    traces, refs, failures = run_benchmark(
        optimizers,
        problems,
        range(args.seeds),
        args.n_trials,
        out,
        workers=args.workers,
        cache_dir=cache_dir,
        quiet=args.quiet,
    )
    problems = [p for p in problems if p.name in refs]
    if not traces or not problems:
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return _fail("every run failed; nothing to score.")
    summary = summarize(traces, problems, refs, optimizers, budgets, baseline)
    summary["failures"] = failures
    meta = {
        "command": args.command_line,
        "date": now.isoformat(timespec="seconds"),
        "optimizers": optimizers,
        "problems": [p.name for p in problems],
        "n_trials": args.n_trials,
        "n_seeds": args.seeds,
        "workers": args.workers,
        "cache_dir": str(cache_dir),
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }
    md = markdown(summary, f"honed-bench: {out.name}", meta)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "summary": summary}, indent=1))
    (out / "results.md").write_text(md)
    print(md)
    say(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    if failures:
        print(f"honed-bench: {len(failures)} run(s) failed and are left out:", file=sys.stderr)
        for line in failures[:20]:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("honed", "optuna", "scikit-learn", "numpy", "scipy", "smac", "hebo"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _run_overhead(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from honed_bench.optimizers import MissingOptimizerError, check_optimizer, split_optimizers
    from honed_bench.overhead import overhead_markdown, run_overhead
    from honed_bench.problems import get_problem

    optimizers = split_optimizers(args.optimizers)
    if not optimizers:
        return _fail("--optimizers is required, e.g. --optimizers honed:tpe,optuna:tpe.")
    for name in optimizers:
        try:
            check_optimizer(name)
        except (MissingOptimizerError, ValueError) as e:
            return _fail(str(e))
    problem = args.problem or f"styblinski-tang-{args.dim}"
    try:
        get_problem(problem)
        start, _, stop = args.window.partition(":")
        window = (int(start), int(stop))
    except ValueError as e:
        return _fail(
            f"{e}" if "problem" in str(e) else f"--window must be START:STOP, got {args.window!r}."
        )
    if not args.quiet:
        print(
            f"honed-bench overhead: {optimizers} on {problem}, {args.n_trials} trials, "
            f"window {window[0]}:{window[1]}",
            file=sys.stderr,
        )
    try:
        res = run_overhead(
            optimizers, problem, args.n_trials, window, seeds=range(args.seeds), quiet=args.quiet
        )
    except ValueError as e:
        return _fail(str(e))
    md = overhead_markdown(res, args.command_line)
    print(md)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "overhead.json").write_text(json.dumps(res, indent=1))
        (out / "overhead.md").write_text(md)
    return 0
