"""Memory of a long study: one worker runs ``--trials`` trials on a SQLite file and reports its
resident memory (RSS) and speed as the study grows.

A worker keeps a cache of the study's trials so that each ask reads only what changed; this
measures what that cache costs per trial held, and whether the time per trial stays flat.

Run::

    nice -n 10 python bench/scripts/load_memory.py --trials 50000 --every 5000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from pathlib import Path


def rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=50_000)
    ap.add_argument("--every", type=int, default=5_000)
    ap.add_argument("--sampler", default="random")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import honed

    db = Path(tempfile.mkdtemp(prefix="honed-mem-")) / "long.db"
    study = honed.create_study("long", storage=f"sqlite:///{db}", sampler=args.sampler, seed=0)
    gc.collect()
    base = rss_mib()
    rows = []
    t0 = last = time.perf_counter()
    for i in range(1, args.trials + 1):
        t = study.ask()
        x = t.float("x", -5.0, 5.0)
        k = t.int("k", 1, 256, log=True)
        c = t.choice("c", ["a", "b", "c"])
        study.tell(t, x * x + k + len(c))
        if i % args.every == 0:
            now = time.perf_counter()
            gc.collect()
            row = {
                "trials": i,
                "rss_mib": round(rss_mib(), 1),
                "rss_growth_mib": round(rss_mib() - base, 1),
                "cached_trials": i,  # one worker: every trial of the study is in its cache
                "ms_per_trial_recent": round((now - last) / args.every * 1000, 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            last = now
    total = time.perf_counter() - t0
    growth = rows[-1]["rss_growth_mib"]
    print(
        f"\n{args.trials} trials in {total:.0f} s; RSS grew {growth:.1f} MiB "
        f"({growth * 1024 * 1024 / args.trials:.0f} bytes per trial); "
        f"db {db.stat().st_size >> 20} MiB"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    study.storage.close()


if __name__ == "__main__":
    main()
