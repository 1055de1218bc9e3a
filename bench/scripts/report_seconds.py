"""Cost of ``trial.report`` on SQLite for long curves: plain reports, reports with their
seconds (``elapsed=``), and two-objective reports.

Until schema version 2 a report's seconds, and a multi-objective report's vector, went into
one JSON system attribute per trial, rewritten whole at every report, so a trial's reports
cost quadratic time. Now they are columns of the report row. Prints the seconds each kind
takes and its ratio to plain reports.

    python bench/scripts/report_seconds.py --reports 1000 4000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import honed


def time_reports(n: int, kind: str) -> float:
    with tempfile.TemporaryDirectory() as d:
        directions = ["minimize", "minimize"] if kind == "vector" else ["minimize"]
        study = honed.create_study(
            "r", storage=f"sqlite:///{Path(d) / 'r.db'}", directions=directions
        )
        trial = study.ask()
        start = time.perf_counter()
        for step in range(1, n + 1):
            if kind == "timed":
                trial.report(0.5, step, elapsed=0.01 * step)
            elif kind == "vector":
                trial.report([0.5, 0.25], step)
            else:
                trial.report(0.5, step)
        spent = time.perf_counter() - start
        study.tell(trial, [0.5, 0.25] if kind == "vector" else 0.5)
        study.storage.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, nargs="+", default=[1000, 4000])
    args = parser.parse_args()
    print("| reports | plain (s) | with seconds (s) | ratio | two objectives (s) | ratio |")
    print("|---|---|---|---|---|---|")
    for n in args.reports:
        plain = time_reports(n, "plain")
        timed = time_reports(n, "timed")
        vector = time_reports(n, "vector")
        print(
            f"| {n} | {plain:.2f} | {timed:.2f} | {timed / plain:.2f}x | {vector:.2f} | "
            f"{vector / plain:.2f}x |"
        )


if __name__ == "__main__":
    main()
