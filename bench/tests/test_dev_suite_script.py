"""bench/scripts/dev_suite.py end to end on four cheap problems of two families: runs are
stored once, reused on the next call, and reported with the left-out choices."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "dev_suite.py"
PROBLEMS = "dev-bbob-f12-d2-i2,dev-bbob-f20-d3-i1,dev-intcat-chain-8x5,dev-intcat-bqp-12"


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as f:
        return f.read().splitlines()


def _store(tmp: Path, optimizer_file: str) -> Path:
    return tmp / "store" / "runs" / f"{optimizer_file}.jsonl.gz"


def _script(tmp: Path, *args: str, problems: str = PROBLEMS) -> str:
    cmd = [sys.executable, str(SCRIPT), *args, "--store", str(tmp / "store")]
    cmd += ["--problems", problems]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


@pytest.mark.slow
def test_runs_are_stored_once_and_reported_left_out(tmp_path: Path) -> None:
    common = ["--seeds", "2", "--n-trials", "25", "--workers", "1"]
    scratch = ["--scratch", str(tmp_path / "scratch")]
    _script(tmp_path, "run", "--optimizers", "honed:random,honed:qmc,honed:tpe", *common, *scratch)
    store = tmp_path / "store" / "runs" / "honed_random.jsonl.gz"
    rows = [json.loads(line) for line in _lines(store)]
    assert sorted((r["problem"], r["seed"]) for r in rows) == sorted(
        (p, s) for p in PROBLEMS.split(",") for s in range(2)
    )
    assert all(len(r["values"]) == 25 for r in rows)
    # A second call with a fresh scratch folder runs nothing: the stored runs are reused.
    out = _script(
        tmp_path, "run", "--optimizers", "honed:random", *common, "--scratch", str(tmp_path / "s2")
    )
    assert "job(s) to run" not in out
    assert [json.loads(line) for line in _lines(store)] == rows
    # Running one problem (a third seed) keeps every other stored run (regression: the store
    # was rewritten with the selected problems' runs only).
    _script(
        tmp_path,
        "run",
        "--optimizers",
        "honed:random",
        "--seeds",
        "3",
        "--n-trials",
        "25",
        "--workers",
        "1",
        "--scratch",
        str(tmp_path / "s3"),
        problems="dev-bbob-f12-d2-i2",
    )
    again = [json.loads(line) for line in _lines(store)]
    assert len(again) == len(rows) + 1
    assert all(r in again for r in rows)
    # --store-only keeps what a scratch folder holds and runs nothing
    (tmp_path / "store" / "runs" / "honed_qmc.jsonl.gz").unlink()
    out = _script(tmp_path, "run", "--optimizers", "honed:qmc", "--store-only", *common, *scratch)
    assert "job(s) to run" not in out
    assert len(_lines(tmp_path / "store" / "runs" / "honed_qmc.jsonl.gz")) == 8
    # --same-as: a candidate run on one problem takes the reference's runs on the others
    cand = "honed:tpe[n_startup_trials=5]"
    _script(
        tmp_path,
        "run",
        "--optimizers",
        cand,
        "--same-as",
        "honed:tpe",
        *common,
        *scratch,
        problems="dev-bbob-f12-d2-i2",
    )
    ref = {
        (r["problem"], r["seed"]): r for r in map(json.loads, _lines(_store(tmp_path, "honed_tpe")))
    }
    rows = [json.loads(line) for line in _lines(_store(tmp_path, "honed_tpe_n_startup_trials_5_"))]
    assert len(rows) == 8
    for r in rows:
        if r["problem"] == "dev-bbob-f12-d2-i2":
            assert "same_as" not in r
        else:
            assert r["same_as"] == "honed:tpe"
            assert r["values"] == ref[(r["problem"], r["seed"])]["values"]
    report = tmp_path / "report.md"
    _script(
        tmp_path,
        "report",
        "--candidates",
        "honed:random,honed:qmc",
        "--peers",
        "honed:tpe",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(report),
    )
    text = report.read_text()
    assert "| bbob | `honed:" in text and "| intcat | `honed:" in text
    assert "## 25 trials" in text and "`honed:default(lofo)`" in text
    csv = _lines(tmp_path / "store" / "regrets.csv.gz")
    assert csv[0].startswith("optimizer,problem,family,seed,regret@25")
    # (3 optimizers + the left-out one) x 4 problems x 2 seeds; random's third seed besides
    seeds = [int(line.split(",")[3]) for line in csv[1:]]
    assert sum(s < 2 for s in seeds) == 4 * 2 * 4
    assert 1 <= sum(s == 2 for s in seeds) <= 2
