"""Ask+tell overhead per trial on a SQLite file on disk: honed vs Optuna, side by side.

Each trial samples three parameters at random (a float, a log-scaled int and a categorical)
and is told a value at once, so the time measured is the framework's bookkeeping only:
sampling, writing the trial, reading the history. Both run in the same invocation on the same
machine, alternating, each on a fresh database file:

* 1 process: ``--trials`` ask/tell pairs in a loop.
* N processes: ``--procs`` processes share one file, ``--trials / --procs`` pairs each,
  started together; throughput is all trials over the span from the first start to the last
  finish.

Run (needs the ``bench`` extra for Optuna)::

    nice -n 10 python bench/scripts/ask_tell_overhead.py --trials 1000 --procs 4
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _honed_loop(url: str, n: int, seed: int, load: bool) -> tuple[float, float]:
    import honed

    if load:
        study = honed.load_study("bench", storage=url, sampler="random", seed=seed)
    else:
        study = honed.create_study("bench", storage=url, sampler="random", seed=seed)
    start = time.perf_counter()
    for _ in range(n):
        t = study.ask()
        x = t.float("x", -5.0, 5.0)
        k = t.int("k", 1, 256, log=True)
        c = t.choice("c", ["a", "b", "c"])
        study.tell(t, x * x + k + len(c))
    return start, time.perf_counter()


def _optuna_loop(url: str, n: int, seed: int, load: bool) -> tuple[float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.RandomSampler(seed=seed)
    if load:
        study = optuna.load_study(study_name="bench", storage=url, sampler=sampler)
    else:
        study = optuna.create_study(study_name="bench", storage=url, sampler=sampler)
    start = time.perf_counter()
    for _ in range(n):
        t = study.ask()
        x = t.suggest_float("x", -5.0, 5.0)
        k = t.suggest_int("k", 1, 256, log=True)
        c = t.suggest_categorical("c", ["a", "b", "c"])
        study.tell(t, x * x + k + len(c))
    return start, time.perf_counter()


LOOPS = {"honed": _honed_loop, "optuna": _optuna_loop}


def _create(framework: str, url: str) -> None:
    if framework == "honed":
        import honed

        honed.create_study("bench", storage=url).storage.close()
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna.create_study(study_name="bench", storage=url)


def _worker(framework: str, url: str, n: int, seed: int, barrier, out) -> None:
    barrier.wait()  # all workers loaded and connected: start together
    start, end = LOOPS[framework](url, n, seed, True)
    # perf_counter is per process: report wall-clock instead for the span.
    now_wall, now_perf = time.time(), time.perf_counter()
    out.put((now_wall - (now_perf - start), now_wall - (now_perf - end)))


def _count(url: str) -> int:
    import sqlite3

    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    finally:
        con.close()


def run_single(framework: str, folder: Path, n: int) -> float:
    url = f"sqlite:///{folder / f'{framework}-single.db'}"
    start, end = LOOPS[framework](url, n, 0, False)
    assert _count(url) == n
    return n / (end - start)


def run_multi(framework: str, folder: Path, n: int, procs: int) -> float:
    url = f"sqlite:///{folder / f'{framework}-multi.db'}"
    _create(framework, url)
    ctx = mp.get_context("spawn")  # clean interpreters, like separate jobs on a cluster
    barrier = ctx.Barrier(procs)
    out = ctx.Queue()
    per = n // procs
    workers = [
        ctx.Process(target=_worker, args=(framework, url, per, 1 + i, barrier, out))
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    spans = [out.get(timeout=3600) for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise RuntimeError(f"a {framework} worker failed with exit code {w.exitcode}")
    assert _count(url) == per * procs, "trials were lost"
    return per * procs / (max(e for _, e in spans) - min(s for s, _ in spans))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell; the median counts")
    parser.add_argument("--dir", default=None, help="where the database files go (on disk)")
    parser.add_argument("--only", choices=["honed", "optuna"], default=None)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()

    import optuna

    import honed

    frameworks = [args.only] if args.only else ["honed", "optuna"]
    folder = Path(tempfile.mkdtemp(prefix="honed-overhead-", dir=args.dir))
    results: dict[str, dict[str, list[float]]] = {f: {"1": [], "N": []} for f in frameworks}
    try:
        for r in range(args.repeat):
            for f in frameworks:  # alternate, so drifting machine load hits both alike
                run_dir = folder / f"{f}-{r}"
                run_dir.mkdir()
                results[f]["1"].append(run_single(f, run_dir, args.trials))
                results[f]["N"].append(run_multi(f, run_dir, args.trials, args.procs))
                print(
                    f"  run {r + 1}: {f:6s} 1 proc {results[f]['1'][-1]:8.1f}/s, "
                    f"{args.procs} procs {results[f]['N'][-1]:8.1f}/s",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    med = {f: {k: statistics.median(v) for k, v in cells.items()} for f, cells in results.items()}
    print(
        f"\nask+tell, random sampling, 3 params, {args.trials} trials, SQLite file on disk "
        f"(honed {honed.__version__}, optuna {optuna.__version__}, python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.repeat})\n"
    )
    header = f"{'mode':<12}" + "".join(f"{f + ' trials/s':>18}{'ms/trial':>10}" for f in med)
    if len(med) == 2:
        header += f"{'honed/optuna':>14}"
    print(header)
    for key, label in (("1", "1 process"), ("N", f"{args.procs} processes")):
        row = f"{label:<12}"
        for f in med:
            row += f"{med[f][key]:>18.1f}{1000 / med[f][key]:>10.2f}"
        if len(med) == 2:
            row += f"{med['honed'][key] / med['optuna'][key]:>13.1f}x"
        print(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
