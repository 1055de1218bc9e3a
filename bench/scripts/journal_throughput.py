"""The journal storage under load and under SIGKILL, beside SQLite and Optuna's journal.

Throughput: ``--workers`` forked processes each open the shared storage themselves and run
``optimize`` on a trivial objective (a float, a log int and a categorical; random sampling;
no sleep), so the figure is the framework's own cost per trial under contention. Systems,
in one run, interleaved repeat by repeat so drifts of a shared machine hit all alike:

* ``honed-journal``: honed's JournalStorage (``journal:///`` file),
* ``honed-journal-fsync-all``: the same with every write flushed to disk (``fsync``), as
  Optuna's file backend does; honed flushes only studies and trial ends (an experiment
  patched in here, not an option of honed),
* ``honed-sqlite``: honed on a SQLite file (WAL),
* ``optuna-journal``: Optuna's ``JournalStorage(JournalFileBackend(path))``.

Each cell runs ``--seconds`` on a fresh file, ``--repeats`` times; trials/s counts COMPLETE
trials. Ratios are paired per repeat (the two runs were adjacent) with a t-interval.

Storm: ``--storm-kills`` times, one of four worker processes running honed's ``optimize``
(heartbeats 0.2 s, grace 1 s, retries) is SIGKILLed at a random moment and replaced; at
the end all are killed. A trial is *acknowledged* when the study's callback ran for it
(it was recorded). Lost = acknowledged trials not COMPLETE with their value afterwards.

Run::

    nice -n 10 python bench/scripts/journal_throughput.py --workers 1 4 16 --seconds 5 \\
        --repeats 3 --storm-kills 30
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing as mp
import os
import random
import resource
import signal
import statistics
import tempfile
import time
import traceback
from pathlib import Path

SYSTEMS = ("honed-journal", "honed-journal-fsync-all", "honed-sqlite", "optuna-journal")


class _Everything:
    def __contains__(self, op: object) -> bool:
        return True


def _fsync_every_write() -> None:
    """The experiment behind ``honed-journal-fsync-all``: honed's journal flushing every
    write to disk, as Optuna's JournalFileBackend does (honed flushes studies and trial
    ends only), to tell the cost of that policy from the rest of the design."""
    from honed.storage.journal import _storage

    _storage._SYNCED = _Everything()  # type: ignore[assignment]


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


def _url(system: str, tmp: Path, n: int) -> str:
    if system.startswith("honed-journal"):
        return f"journal:///{tmp / f'j{n}.log'}"
    if system == "honed-sqlite":
        return f"sqlite:///{tmp / f'db{n}.sqlite'}"
    return str(tmp / f"optuna{n}.log")


def _optuna_study(path: str, create: bool, seed: int = 0):
    import optuna
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = optuna.storages.JournalStorage(JournalFileBackend(path))
    if create:
        return optuna.create_study(study_name="load", storage=storage)
    return optuna.load_study(
        study_name="load", storage=storage, sampler=optuna.samplers.RandomSampler(seed)
    )


def _worker(system: str, url: str, seconds: float, seed: int, start_at: float, out) -> None:
    errors = 0
    logging.getLogger("honed").setLevel(logging.WARNING)
    if system == "honed-journal-fsync-all":
        _fsync_every_write()
    try:
        if system.startswith("honed"):
            import honed

            study = honed.load_study("load", storage=url, sampler="random", seed=seed)
            while time.time() < start_at:
                time.sleep(0.001)
            study.optimize(_objective, timeout=seconds, show_progress=False)
            study.storage.close()
        else:
            study = _optuna_study(url, create=False, seed=seed)
            while time.time() < start_at:
                time.sleep(0.001)
            study.optimize(_optuna_objective, timeout=seconds, catch=(Exception,))
    except Exception:
        traceback.print_exc()
        errors += 1
    out.put(errors)


def _count_complete(system: str, url: str) -> tuple[int, int]:
    if system.startswith("honed"):
        import honed
        from honed.trial import TrialState

        study = honed.load_study("load", storage=url)
        n = len(study.get_trials([TrialState.COMPLETE]))
        failed = len(study.get_trials([TrialState.FAILED]))
        study.storage.close()
        return n, failed
    import optuna

    states = [t.state for t in _optuna_study(url, create=False).get_trials(deepcopy=False)]
    return states.count(optuna.trial.TrialState.COMPLETE), states.count(
        optuna.trial.TrialState.FAIL
    )


def run_one(system: str, url: str, workers: int, seconds: float) -> dict:
    if system.startswith("honed"):
        import honed

        honed.create_study("load", storage=url).storage.close()
    else:
        _optuna_study(url, create=True)
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5 + 0.05 * workers  # every worker open before the clock
    procs = [
        ctx.Process(target=_worker, args=(system, url, seconds, 1000 + i, start_at, out))
        for i in range(workers)
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for p in procs:
        p.start()
    errors = sum(out.get(timeout=seconds + 600) for _ in procs)
    for p in procs:
        p.join()
    elapsed = time.time() - start_at
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    complete, failed = _count_complete(system, url)
    return {
        "system": system,
        "workers": workers,
        "complete": complete,
        "trials_per_s": complete / elapsed,
        # The workers' CPU time (start-up and the wait for the clock included) per trial:
        # steadier than trials/s on a shared machine, blind to time spent waiting on disk.
        "cpu_ms_per_trial": 1000 * cpu / max(complete, 1),
        "errors": errors + failed,
    }


def _interval(xs: list[float]) -> str:
    """Mean and 95% t-interval half-width."""
    from scipy import stats

    m = statistics.fmean(xs)
    if len(xs) < 2:
        return f"{m:.2f}"
    half = stats.t.ppf(0.975, len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))
    return f"{m:.2f} ± {half:.2f}"


# ---- the storm -------------------------------------------------------------------------------
STORM_FAULTS = {"heartbeat_interval": 0.2, "grace_period": 1.0, "retries": 5}


def _storm_worker(url: str, ack_path: str, seed: int) -> None:
    import honed

    logging.getLogger("honed").setLevel(logging.WARNING)
    random.seed(seed)
    study = honed.load_study("storm", storage=url, sampler="random", seed=seed)
    ack = os.open(ack_path, os.O_WRONLY | os.O_APPEND)

    def objective(trial) -> float:
        x = trial.float("x", 0.0, 1.0)
        for step in range(3):
            time.sleep(random.uniform(0.002, 0.02))
            trial.report(x + step, step)
        return x

    def acknowledge(study, trial) -> None:  # the trial is recorded: one line, one write
        if trial.value is not None:
            os.write(ack, f"{trial.number} {trial.value!r}\n".encode())

    study.optimize(objective, n_trials=100_000, callbacks=[acknowledge], show_progress=False)


def storm(url: str, kills: int, seed: int, tmp: Path) -> dict:
    import honed
    from honed.trial import TrialState

    faults = honed.FaultPolicy(**STORM_FAULTS)
    honed.create_study("storm", storage=url, faults=faults).storage.close()
    ack_path = tmp / f"ack-{seed}-{url.split(':')[0]}.txt"
    ack_path.write_text("")
    ctx = mp.get_context("fork")
    rng = random.Random(seed)
    seeds = iter(range(1, 100_000))

    def spawn() -> mp.Process:
        p = ctx.Process(target=_storm_worker, args=(url, str(ack_path), next(seeds)))
        p.start()
        return p

    workers = [spawn() for _ in range(4)]
    for _ in range(kills):
        time.sleep(rng.uniform(0.1, 0.5))
        i = rng.randrange(len(workers))
        os.kill(workers[i].pid, signal.SIGKILL)
        workers[i].join()
        workers[i] = spawn()
    time.sleep(1.0)
    for p in workers:  # the last ones go down too, mid-trial
        os.kill(p.pid, signal.SIGKILL)
        p.join()
    acknowledged = {
        int(n): float(v) for n, v in (line.split() for line in ack_path.read_text().splitlines())
    }
    study = honed.load_study("storm", storage=url)
    time.sleep(1.1)  # past the grace period: every orphan is stale now
    orphans = study.fail_stale_trials()
    trials = {t.number: t for t in study.trials}
    lost = [
        n
        for n, v in acknowledged.items()
        if n not in trials or trials[n].state is not TrialState.COMPLETE or trials[n].value != v
    ]
    row = {
        "storage": url.split(":")[0],
        "kills": kills + 4,
        "trials": len(trials),
        "acknowledged": len(acknowledged),
        "lost": len(lost),
        "dense": sorted(trials) == list(range(len(trials))),
        "stale_failed_at_end": len(orphans),
        "left_running": sum(t.state is TrialState.RUNNING for t in trials.values()),
    }
    if url.startswith("journal:///"):
        from honed.storage.journal._file import decode_line

        *lines, tail = Path(url[len("journal:///") :]).read_bytes().split(b"\n")
        row["cut_lines"] = sum(decode_line(line) is None for line in lines) + bool(tail)
    study.storage.close()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    ap.add_argument("--storm-kills", type=int, default=30, help="0 skips the storm")
    ap.add_argument("--json", type=Path, help="write every row here too")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="honed-journal-bench-"))
    rows: list[dict] = []
    n = 0
    for rep in range(args.repeats):
        for workers in args.workers:
            for system in args.systems:
                n += 1
                row = run_one(system, _url(system, tmp, n), workers, args.seconds)
                row["repeat"] = rep
                rows.append(row)
                print(json.dumps(row), flush=True)

    print(f"\ntrials/s, mean ± 95% t-interval over {args.repeats} repeats (errors in all)")
    print(f"{'workers':>7}  " + "  ".join(f"{s:>20}" for s in args.systems))
    for workers in args.workers:
        cells = []
        for system in args.systems:
            mine = [r for r in rows if r["system"] == system and r["workers"] == workers]
            errors = sum(r["errors"] for r in mine)
            cells.append(f"{_interval([r['trials_per_s'] for r in mine])} ({errors})")
        print(f"{workers:>7}  " + "  ".join(f"{c:>20}" for c in cells))
    print("\nworkers' CPU ms per trial, mean ± 95% t-interval")
    for workers in args.workers:
        cells = []
        for system in args.systems:
            mine = [r for r in rows if r["system"] == system and r["workers"] == workers]
            cells.append(_interval([r["cpu_ms_per_trial"] for r in mine]))
        print(f"{workers:>7}  " + "  ".join(f"{c:>20}" for c in cells))
    if "honed-journal" in args.systems:
        print("\nhoned-journal / peer, paired by repeat: mean ± 95% t-interval")
        for peer in [s for s in args.systems if s != "honed-journal"]:
            for workers in args.workers:
                ratios = []
                for rep in range(args.repeats):
                    (a,) = [
                        r["trials_per_s"]
                        for r in rows
                        if (r["system"], r["workers"], r["repeat"])
                        == ("honed-journal", workers, rep)
                    ]
                    (b,) = [
                        r["trials_per_s"]
                        for r in rows
                        if (r["system"], r["workers"], r["repeat"]) == (peer, workers, rep)
                    ]
                    ratios.append(a / b)
                print(f"  vs {peer:<15} {workers:>3} workers: {_interval(ratios)}x")

    if args.storm_kills:
        print(f"\nSIGKILL storm: {args.storm_kills} kills of 4 workers, then all 4")
        for i, system in enumerate(["honed-journal", "honed-sqlite"]):
            row = storm(_url(system, tmp, 10_000 + i), args.storm_kills, 7, tmp)
            rows.append({"storm": row})
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
