"""The benchmark runner: every (optimizer, problem, seed) run in worker processes, each run's
trace written to JSON as it finishes (so a long run resumes where it stopped), then scored.

Timing: each trial's ``ask`` and ``tell`` are timed with ``time.perf_counter`` around the
adapter calls only; the evaluation is timed separately and never counted as overhead. With
two workers on two cores the runs share the machine, so absolute times carry some noise;
compare optimizers in the same run (the report's ratios), not across runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, SearchSpace, Simplex
from honed_bench.problems import get_problem
from honed_bench.problems.base import Problem
from honed_bench.progress import ProgressBar

__all__ = [
    "RunKey",
    "default_cache_dir",
    "problem_fingerprint",
    "reference_samples",
    "run_benchmark",
    "run_one",
    "sample_uniform",
    "single_threaded_children",
]

TRACE_VERSION = 2
REFERENCE_VERSION = 1
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class RunKey:
    optimizer: str
    problem: str
    seed: int


def default_cache_dir() -> Path:
    env = os.environ.get("HONED_BENCH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "honed" / "bench"


def _callable_id(obj: Any) -> Any:
    """A stable description of an evaluation function (partials included, no addresses)."""
    import functools

    if isinstance(obj, functools.partial):
        return [_callable_id(obj.func), [_callable_id(a) for a in obj.args], sorted(obj.keywords)]
    if callable(obj):
        module = getattr(obj, "__module__", "?")
        if module.startswith("honed_bench."):
            # The problems lived in honed.bench before the bench left honed: the old module
            # path keeps every fingerprint, so cached references and traces stay valid.
            module = "honed.bench." + module[len("honed_bench.") :]
        return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"
    return obj


def problem_fingerprint(problem: Problem) -> str:
    """A short hash of what defines a problem (space with branches, directions, optimum,
    reference point, tags, evaluation function): cached references and resumed traces of a
    problem whose definition changed are recomputed instead of silently reused."""
    import hashlib

    from honed.space import load_space

    def enc(sub: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, d in load_space(sub).items():
            item = d.to_json()
            if isinstance(d, Choice) and d.branches:
                item["branches"] = {repr(k): enc(v) for k, v in d.branches.items()}
            out[name] = item
        return out

    payload = {
        "name": problem.name,
        "space": enc(problem.space),
        "directions": list(problem.directions),
        "optimum": problem.optimum,
        "reference_point": problem.reference_point,
        "tags": {str(k): repr(v) for k, v in problem.tags.items()},
        "evaluate": _callable_id(problem.evaluate),
    }
    if problem.noiseless is not None:
        payload["noiseless"] = _callable_id(problem.noiseless)
    if problem.curve is not None:
        payload["curve"] = [_callable_id(problem.curve), MEDIAN_RULE]
    text = json.dumps(payload, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def trace_path(out: Path, key: RunKey) -> Path:
    return out / "runs" / _safe(key.optimizer) / _safe(key.problem) / f"seed{key.seed}.json"


def _write_json(path: Path, data: Any) -> None:
    """Write atomically, so an interrupted run never leaves a half-written trace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _values(raw: Any, n_objectives: int) -> list[float] | None:
    """The evaluation's value(s) as a list of finite floats, or None when unusable."""
    try:
        vals = [float(raw)] if np.ndim(raw) == 0 else [float(v) for v in raw]
    except (TypeError, ValueError):
        return None
    if len(vals) != n_objectives or not all(math.isfinite(v) for v in vals):
        return None
    return vals


def _json_param(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


# ---- one run --------------------------------------------------------------------------------


# The runner's stopping rule on pruning problems (Optuna's MedianPruner and honed's median
# scheduler with their defaults): from step 0, once 5 earlier trials reached the step.
MEDIAN_RULE = {"min_trials": 5, "warmup_steps": 0}


def median_stop(curve: Sequence[float], earlier: Sequence[Sequence[float]]) -> int | None:
    """The step at which the median rule stops a trial with learning curve ``curve`` (losses),
    given the curves (full or stopped) of the trials before it; None if it runs to the end."""
    best = math.inf
    for step, loss in enumerate(curve):
        best = min(best, loss)
        if step < MEDIAN_RULE["warmup_steps"] or step == len(curve) - 1:
            continue
        at_step = [c[step] for c in earlier if len(c) > step]
        if len(at_step) >= MEDIAN_RULE["min_trials"] and best > float(np.median(at_step)):
            return step
    return None


def run_one(optimizer: str, problem: str | Problem, seed: int, n_trials: int) -> dict[str, Any]:
    """Run ``optimizer`` on ``problem`` for ``n_trials`` evaluations; return its trace."""
    from honed_bench.optimizers import make_optimizer

    prob = get_problem(problem) if isinstance(problem, str) else problem
    values: list[list[float] | None] = []
    ask_s: list[float] = []
    tell_s: list[float] = []
    cpu_s: list[float] = []  # process CPU time in ask + tell: robust to a busy machine
    eval_s: list[float] = []
    errors: list[str] = []
    true_values: list[float | None] = []  # noisy problems: the expected value of each trial
    curves: list[list[float]] = []  # pruning problems: each trial's curve, as far as it ran
    pruned: list[bool] = []
    best: tuple[float, dict[str, Any]] | None = None
    sign = [1.0 if d == "minimize" else -1.0 for d in prob.directions]
    with warnings.catch_warnings():
        # Peers warn freely (experimental samplers, fallbacks); a benchmark records, it does
        # not stop.
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        adapter = make_optimizer(optimizer, prob, seed, n_trials)
        setup_s = time.perf_counter() - t0
        for _ in range(n_trials):
            c0 = time.process_time()
            t0 = time.perf_counter()
            handle, params = adapter.ask()
            t1 = time.perf_counter()
            c1 = time.process_time()
            stop: int | None = None
            try:
                if prob.curve is not None:
                    curve = [float(v) for v in prob.curve(params)]
                    stop = median_stop(curve, curves)
                    curve = curve if stop is None else curve[: stop + 1]
                    curves.append(curve)
                    vals = None if stop is not None else _values(curve[-1], 1)
                else:
                    vals = _values(prob.evaluate(params), prob.n_objectives)
                if vals is None and stop is None:
                    errors.append("non-finite or malformed value")
            except Exception as e:  # a failing configuration is a result, not a crash
                vals = None
                errors.append(f"{type(e).__name__}: {e}"[:200])
            c2 = time.process_time()
            t2 = time.perf_counter()
            if stop is not None:
                adapter.tell_pruned(handle, curve)
            else:
                adapter.tell(handle, vals)
            t3 = time.perf_counter()
            pruned.append(stop is not None)
            if prob.noiseless is not None:
                true_values.append(None if vals is None else float(prob.noiseless(params)))
            cpu_s.append(c1 - c0 + time.process_time() - c2)
            values.append(vals)
            ask_s.append(t1 - t0)
            eval_s.append(t2 - t1)
            tell_s.append(t3 - t2)
            if vals is not None and prob.n_objectives == 1:
                loss = sign[0] * vals[0]
                if best is None or loss < best[0]:
                    best = (loss, {k: _json_param(v) for k, v in params.items()})
    return {
        "version": TRACE_VERSION,
        "fingerprint": problem_fingerprint(prob),
        "optimizer": optimizer,
        "problem": prob.name,
        "seed": seed,
        "n_trials": n_trials,
        "directions": list(prob.directions),
        "values": values,
        "ask_s": ask_s,
        "tell_s": tell_s,
        "cpu_s": cpu_s,
        "eval_s": eval_s,
        "setup_s": setup_s,
        "best_params": best[1] if best else None,
        "n_failed": sum(v is None and not p for v, p in zip(values, pruned, strict=True)),
        # pruned trials have no final value: scored like failed ones (never a best)
        **({"n_pruned": sum(pruned)} if prob.curve is not None else {}),
        "errors": errors[:5],
        **({"true_values": true_values} if prob.noiseless is not None else {}),
    }


# ---- reference samples (random configurations) ----------------------------------------------


def sample_uniform(space: Any, rng: np.random.Generator) -> dict[str, Any]:
    """A uniformly random configuration of a (possibly tree-shaped) declarative space."""
    params: dict[str, Any] = {}

    def walk(sub: Any) -> None:
        for name, d in sub.items():
            if isinstance(d, Simplex):  # uniform on the simplex: one point, not k numbers
                group = SearchSpace(d.distributions(name))
                params.update(group.decode(rng.random((1, len(group))))[0])
                continue
            assert isinstance(d, Distribution)
            value = d.from_unit(float(rng.random()))
            params[name] = value
            if isinstance(d, Choice) and d.branches and d.branches.get(value):
                walk(d.branches[value])

    walk(space)
    return params


def reference_size(problem: Problem) -> int:
    """Random configurations per problem for the reference: fewer for costly problems."""
    return 64 if problem.suite == "sklearn" or "sklearn" in problem.name else 256


def _reference_task(problem_name: str, n: int) -> dict[str, Any]:
    prob = get_problem(problem_name)
    rng = np.random.default_rng(12345)
    values: list[list[float] | None] = []
    # Noisy problems: the reference is the expected value of random configurations.
    evaluate = prob.noiseless or prob.evaluate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            try:
                values.append(_values(evaluate(sample_uniform(prob.space, rng)), prob.n_objectives))
            except Exception:
                values.append(None)
    return {
        "version": REFERENCE_VERSION,
        "fingerprint": problem_fingerprint(prob),
        "problem": problem_name,
        "n": n,
        "seed": 12345,
        "values": values,
    }


def reference_path(cache_dir: Path, problem: str) -> Path:
    return cache_dir / f"reference-v{REFERENCE_VERSION}" / f"{_safe(problem)}.json"


def _load_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def reference_samples(problem: Problem, cache_dir: Path) -> dict[str, Any]:
    """The cached random-configuration values of ``problem`` (computed here if missing)."""
    path = reference_path(cache_dir, problem.name)
    n = reference_size(problem)
    data = _load_json(path)
    if (
        data is None
        or data.get("n") != n
        or data.get("fingerprint") != problem_fingerprint(problem)
    ):
        data = _reference_task(problem.name, n)
        _write_json(path, data)
    return data


# ---- the parallel driver --------------------------------------------------------------------


def _task(kind: str, args: tuple[Any, ...]) -> dict[str, Any]:
    if kind == "run":
        return run_one(*args)
    return _reference_task(*args)


@contextmanager
def single_threaded_children() -> Any:
    """Worker processes run one BLAS/OpenMP thread each: the workers are the parallelism."""
    old = {k: os.environ.get(k) for k in _THREAD_VARS}
    for k in _THREAD_VARS:
        os.environ[k] = "1"
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _map(
    jobs: Sequence[tuple[str, tuple[Any, ...]]],
    workers: int,
    on_done: Callable[[int, dict[str, Any]], None],
    on_error: Callable[[int, BaseException], None],
) -> None:
    if workers <= 1 or len(jobs) <= 1:
        for i, (kind, args) in enumerate(jobs):
            try:
                result = _task(kind, args)
            except Exception as e:  # one broken run must not sink the others
                on_error(i, e)
                continue
            on_done(i, result)
        return
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    with single_threaded_children(), ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = {pool.submit(_task, kind, args): i for i, (kind, args) in enumerate(jobs)}
        try:
            for fut in as_completed(futures):
                try:
                    result = fut.result()
                except Exception as e:
                    on_error(futures[fut], e)
                    continue
                on_done(futures[fut], result)
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def run_benchmark(
    optimizers: Sequence[str],
    problems: Sequence[Problem],
    seeds: Iterable[int],
    n_trials: int,
    out: Path,
    *,
    workers: int = 2,
    cache_dir: Path | None = None,
    quiet: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """Run (or resume) every run, and make sure each problem's reference is cached.

    Unless ``quiet``, progress goes to stderr: a bar with the runs done and the time left on a
    terminal, a line every twentieth of the runs otherwise.

    Returns the traces (truncated to ``n_trials``), the reference samples by problem, and one
    line per run that raised (those runs are left out; the others go on).
    """
    cache_dir = cache_dir or default_cache_dir()
    seeds = list(seeds)
    jobs: list[tuple[str, tuple[Any, ...]]] = []
    refs: dict[str, dict[str, Any]] = {}
    prints = {p.name: problem_fingerprint(p) for p in problems}
    for p in problems:
        data = _load_json(reference_path(cache_dir, p.name))
        if (
            data is not None
            and data.get("n") == reference_size(p)
            and data.get("fingerprint") == prints[p.name]
        ):
            refs[p.name] = data
        else:
            jobs.append(("ref", (p.name, reference_size(p))))
    traces: dict[RunKey, dict[str, Any]] = {}
    # Interleave optimizers so that concurrent runs see the same machine load.
    for seed in seeds:
        for p in problems:
            for opt in optimizers:
                key = RunKey(opt, p.name, seed)
                data = _load_json(trace_path(out, key))
                if (
                    data is not None
                    and data.get("version") in (1, TRACE_VERSION)  # v1: no cpu_s
                    and data.get("n_trials", 0) >= n_trials
                    # older traces carry no fingerprint; newer ones must match the problem
                    and data.get("fingerprint", prints[p.name]) == prints[p.name]
                ):
                    traces[key] = _truncate(data, n_trials)
                else:
                    jobs.append(("run", (opt, p.name, seed, n_trials)))
    failures: list[str] = []
    with ProgressBar(len(jobs), "honed-bench", quiet=quiet) as bar:
        if jobs:
            bar.note(
                f"{len(jobs)} job(s) to run ({len(traces)} run(s) resumed from {out / 'runs'})."
            )

        def on_done(i: int, result: dict[str, Any]) -> None:
            kind = jobs[i][0]
            if kind == "ref":
                _write_json(reference_path(cache_dir, result["problem"]), result)
                refs[result["problem"]] = result
            else:
                key = RunKey(result["optimizer"], result["problem"], result["seed"])
                _write_json(trace_path(out, key), result)
                traces[key] = result
            bar.advance()

        def on_error(i: int, err: BaseException) -> None:
            kind, args = jobs[i]
            what = (
                f"reference of {args[0]}"
                if kind == "ref"
                else f"{args[0]} on {args[1]} seed {args[2]}"
            )
            failures.append(f"{what}: {type(err).__name__}: {err}")
            bar.advance(note=f"  FAILED {failures[-1]}")

        _map(jobs, workers, on_done, on_error)
    failed_problems = {p.name for p in problems if p.name not in refs}
    ordered = [
        traces[key]
        for s in seeds
        for p in problems
        for o in optimizers
        if (key := RunKey(o, p.name, s)) in traces and p.name not in failed_problems
    ]
    return ordered, refs, failures


def _truncate(trace: dict[str, Any], n: int) -> dict[str, Any]:
    if trace["n_trials"] == n:
        return trace
    out = dict(trace)
    for k in ("values", "ask_s", "tell_s", "cpu_s", "eval_s", "true_values"):
        if k in trace:
            out[k] = trace[k][:n]
    out["n_trials"] = n
    return out
