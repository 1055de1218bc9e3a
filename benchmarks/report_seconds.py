"""Cost of ``trial.report`` on SQLite with and without recorded seconds, for long curves.

Until schema version 2 each report's seconds went into one JSON system attribute that was
rewritten whole at every report, so a trial's reports cost quadratic time. Now they are a
column of the report row. Prints seconds per 1,000 reports and the timed/plain ratio.

    python benchmarks/report_seconds.py --reports 1000 4000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import honed


def time_reports(n: int, timed: bool) -> float:
    with tempfile.TemporaryDirectory() as d:
        study = honed.create_study("r", storage=f"sqlite:///{Path(d) / 'r.db'}")
        trial = study.ask()
        start = time.perf_counter()
        for step in range(1, n + 1):
            if timed:
                trial.report(0.5, step, elapsed=0.01 * step)
            else:
                trial.report(0.5, step)
        spent = time.perf_counter() - start
        study.tell(trial, 0.5)
        study.storage.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, nargs="+", default=[1000, 4000])
    args = parser.parse_args()
    print("| reports | plain (s) | with seconds (s) | ratio |")
    print("|---|---|---|---|")
    for n in args.reports:
        plain = time_reports(n, timed=False)
        timed = time_reports(n, timed=True)
        print(f"| {n} | {plain:.2f} | {timed:.2f} | {timed / plain:.2f}x |")


if __name__ == "__main__":
    main()
