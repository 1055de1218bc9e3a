"""Many workers on one study: trials per second, honed vs Optuna, side by side in one run.

Every worker is a forked process that opens the shared storage itself and runs
``optimize`` on a trivial objective (a float, a log int and a categorical; no sleep), so the
figure is the framework's own cost per trial under contention: sampling, writing, reading.
Each configuration runs for ``--seconds`` on a fresh database; a trial counts when it is
COMPLETE. Errors are failed trials plus worker processes that raised.

Peers, same harness, same objective, random sampling everywhere:

* honed on SQLite (WAL file) and PostgreSQL (a private server started here, see
  tests/_pg.py; the Debian ``postgresql`` package must be installed),
* Optuna's RDBStorage on the same two databases, and Optuna's JournalStorage on a file,
* honed with ``executor=RayExecutor`` (one driver, ``--ray-workers`` Ray worker processes,
  local Ray started before the clock runs).

Run::

    nice -n 10 python bench/scripts/load_throughput.py --workers 1 4 16 --seconds 8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # for tests/_pg.py, the private PostgreSQL server


def _objective(trial) -> float:
    x = trial.float("x", -5.0, 5.0)
    k = trial.int("k", 1, 256, log=True)
    c = trial.choice("c", ["a", "b", "c"])
    return x * x + k + len(c)


def _optuna_objective(trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    k = trial.suggest_int("k", 1, 256, log=True)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    return x * x + k + len(c)


def _worker(system: str, url: str, seconds: float, seed: int, start_at: float, out) -> None:
    errors = 0
    try:
        if system == "honed":
            import honed

            study = honed.load_study("load", storage=url, sampler="random", seed=seed)
            while time.time() < start_at:
                time.sleep(0.001)
            study.optimize(_objective, timeout=seconds, show_progress=False)
            study.storage.close()
        else:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.ERROR)
            storage = _optuna_storage(system, url)
            study = optuna.load_study(
                study_name="load", storage=storage, sampler=optuna.samplers.RandomSampler(seed)
            )
            while time.time() < start_at:
                time.sleep(0.001)
            study.optimize(_optuna_objective, timeout=seconds, catch=(Exception,))
    except Exception:
        traceback.print_exc()
        errors += 1
    out.put(errors)


def _optuna_storage(system: str, url: str):
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if system == "optuna-journal":
        return optuna.storages.JournalStorage(JournalFileBackend(url))
    return optuna.storages.RDBStorage(url)


def _create(system: str, url: str) -> None:
    if system == "honed":
        import honed

        honed.create_study("load", storage=url).storage.close()
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        optuna.create_study(study_name="load", storage=_optuna_storage(system, url))


def _count(system: str, url: str) -> tuple[int, int]:
    """(complete, failed) trials of the study."""
    if system == "honed":
        import honed
        from honed.trial import TrialState

        study = honed.load_study("load", storage=url)
        sid = study.storage.get_study_id("load")
        c = study.storage.count_trials(sid, [TrialState.COMPLETE])
        f = study.storage.count_trials(sid, [TrialState.FAILED])
        study.storage.close()
        return c, f
    import optuna

    study = optuna.load_study(study_name="load", storage=_optuna_storage(system, url))
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return (
        states.count(optuna.trial.TrialState.COMPLETE),
        states.count(optuna.trial.TrialState.FAIL),
    )


def run_one(system: str, url: str, workers: int, seconds: float) -> dict:
    _create(system, url)
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5 + 0.05 * workers  # every worker connected before the clock
    procs = [
        ctx.Process(target=_worker, args=(system, url, seconds, 1000 + i, start_at, out))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    errors = sum(out.get(timeout=seconds + 600) for _ in procs)
    for p in procs:
        p.join()
    elapsed = time.time() - start_at
    complete, failed = _count(system, url)
    return {
        "system": system,
        "workers": workers,
        "complete": complete,
        "seconds": round(elapsed, 2),
        "trials_per_s": round(complete / elapsed, 1),
        "errors": errors + failed,
    }


def run_ray(url: str, ray_workers: int, seconds: float) -> dict:
    import ray

    import honed
    from honed.execution import RayExecutor
    from honed.trial import TrialState

    if not ray.is_initialized():
        ray.init(num_cpus=ray_workers, include_dashboard=False, log_to_driver=False)
    space = {
        "x": honed.Float(-5.0, 5.0),
        "k": honed.Int(1, 256, log=True),
        "c": honed.Choice(["a", "b", "c"]),
    }
    study = honed.create_study("load", storage=url, sampler="random", seed=0)
    ex = RayExecutor(max_concurrent=ray_workers)
    # Warm the Ray workers (process start, imports) before the clock runs.
    study.optimize(_objective, n_trials=ray_workers * 2, space=space, executor=ex)
    sid = study.storage.get_study_id("load")
    before = study.storage.count_trials(sid, [TrialState.COMPLETE])
    start = time.time()
    study.optimize(_objective, timeout=seconds, space=space, executor=ex, show_progress=False)
    elapsed = time.time() - start
    complete = study.storage.count_trials(sid, [TrialState.COMPLETE]) - before
    failed = study.storage.count_trials(sid, [TrialState.FAILED])
    study.storage.close()
    return {
        "system": "honed-ray",
        "workers": ray_workers,
        "complete": complete,
        "seconds": round(elapsed, 2),
        "trials_per_s": round(complete / elapsed, 1),
        "errors": failed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres", "journal"])
    ap.add_argument("--systems", nargs="+", default=["honed", "optuna"])
    ap.add_argument("--ray-workers", type=int, default=4, help="0 skips the Ray run")
    ap.add_argument("--json", type=Path, help="write the rows here too")
    args = ap.parse_args()

    from tests._pg import fresh_database_url, postgres_server

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="honed-load-"))
    pg = postgres_server() if "postgres" in args.backends else contextlib.nullcontext()
    with pg as server:
        n = 0

        def fresh(backend: str) -> str:
            nonlocal n
            n += 1
            if backend == "sqlite":
                return f"sqlite:///{tmp / f'db{n}.sqlite'}"
            if backend == "postgres":
                return fresh_database_url(server)
            return str(tmp / f"journal{n}.log")

        for workers in args.workers:
            for backend in args.backends:
                systems = ["optuna-journal"] if backend == "journal" else []
                if backend != "journal":
                    systems = [s if s == "honed" else "optuna-rdb" for s in args.systems]
                elif "optuna" not in args.systems:
                    continue
                for system in systems:
                    url = fresh(backend)
                    row = run_one(system, url, workers, args.seconds)
                    row["backend"] = backend
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        if args.ray_workers:
            for backend in [b for b in args.backends if b != "journal"]:
                row = run_ray(fresh(backend), args.ray_workers, args.seconds)
                row["backend"] = backend
                rows.append(row)
                print(json.dumps(row), flush=True)

    print("\nworkers backend   system          trials/s  errors  vs optuna-rdb")
    for r in rows:
        peer = next(
            (
                p
                for p in rows
                if p["system"] == "optuna-rdb"
                and p["backend"] == r["backend"]
                and p["workers"] == r["workers"]
            ),
            None,
        )
        ratio = (
            f"{r['trials_per_s'] / peer['trials_per_s']:.1f}x"
            if peer and peer["trials_per_s"]
            else ""
        )
        print(
            f"{r['workers']:>7} {r['backend']:<9} {r['system']:<15} {r['trials_per_s']:>8} "
            f"{r['errors']:>7}  {ratio}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    with contextlib.suppress(OSError):
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    main()
