"""The `honed` command on a real SQLite file, run as a user runs it: a subprocess."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import honed


def _honed(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("honed")
    cmd = [exe] if exe else [sys.executable, "-m", "honed.cli"]
    proc = subprocess.run(
        [*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=240, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"honed {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real demo run (6 trials, 2 worker processes) shared by the tests below."""
    d = tmp_path_factory.mktemp("demo")
    proc = _honed("demo", "--n-trials", "6", "--n-jobs", "2", "--name", "demo-test", cwd=d)
    assert "CV accuracy" in proc.stdout
    assert "default" in proc.stdout
    return d


def test_demo_leaves_a_sqlite_file_with_its_trials(demo_dir: Path) -> None:
    db = demo_dir / "honed.db"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        n = conn.execute("SELECT COUNT(*) FROM trials WHERE state = 2").fetchone()[0]
    assert n == 6
    study = honed.load_study("demo-test", storage=f"sqlite:///{db}")
    assert len(study.trials) == 6
    # trial 0 is scikit-learn's default configuration, measured like every other trial
    assert study.trials[0].params["max_leaf_nodes"] == 31
    assert 0.85 < study.best_value <= 1.0


def test_studies_lists_the_demo_with_counts_and_best(demo_dir: Path) -> None:
    out = _honed("studies", cwd=demo_dir).stdout
    line = next(line for line in out.splitlines() if "demo-test" in line)
    assert "maximize" in line
    assert " 6 " in line
    study = honed.load_study("demo-test", storage=f"sqlite:///{demo_dir / 'honed.db'}")
    assert f"{study.best_value:.6g}" in line


def test_show_prints_best_trial_and_table(demo_dir: Path) -> None:
    out = _honed("show", "demo-test", "--sort", "value", "--limit", "3", cwd=demo_dir).stdout
    study = honed.load_study("demo-test", storage=f"sqlite:///{demo_dir / 'honed.db'}")
    assert f"best trial {study.best_trial.number}" in out
    assert "learning_rate" in out
    assert "trials (3 of 6)" in out


def test_export_csv_and_json_round_trip(demo_dir: Path) -> None:
    text = _honed("export", "demo-test", "--format", "csv", cwd=demo_dir).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6
    assert {"number", "state", "value", "param_learning_rate"} <= set(rows[0])
    out = demo_dir / "t.json"
    _honed("export", "demo-test", "--format", "json", "-o", str(out), cwd=demo_dir)
    doc = json.loads(out.read_text())
    assert doc["directions"] == ["maximize"]
    assert [t["number"] for t in doc["trials"]] == list(range(6))
    study = honed.load_study("demo-test", storage=f"sqlite:///{demo_dir / 'honed.db'}")
    by_number = {t.number: t for t in study.trials}
    for rec in doc["trials"]:
        assert rec["params"] == dict(by_number[rec["number"]].params)
        assert rec["values"] == list(by_number[rec["number"]].values or [])


def test_json_export_keeps_reports_of_every_kind(tmp_path: Path) -> None:
    study = honed.create_study(
        "mo", storage=f"sqlite:///{tmp_path / 'honed.db'}", directions=["minimize", "maximize"]
    )
    t = study.ask()
    t.report([1.0, 0.5], 1, elapsed=0.25)
    t.report([0.8, 0.6], 2, elapsed=0.5)
    study.tell(t, [0.8, 0.6])
    study.storage.close()
    out = tmp_path / "mo.json"
    _honed("export", "mo", "--format", "json", "-o", str(out), cwd=tmp_path)
    (rec,) = json.loads(out.read_text())["trials"]
    assert rec["intermediate_vectors"] == {"1": [1.0, 0.5], "2": [0.8, 0.6]}
    assert rec["report_seconds"] == {"1": 0.25, "2": 0.5}
    assert rec["intermediate_values"] == {}


def test_errors_are_clear_and_nonzero(tmp_path: Path, demo_dir: Path) -> None:
    proc = _honed("studies", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "no database" in proc.stderr and "honed demo" in proc.stderr
    assert not (tmp_path / "honed.db").exists()  # reading never creates an empty file
    proc = _honed("show", "nope", cwd=demo_dir, check=False)
    assert proc.returncode == 2 and "no study named 'nope'" in proc.stderr


def test_delete_needs_yes_then_deletes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'honed.db'}"
    study = honed.create_study("gone", storage=url)
    study.optimize(lambda t: t.float("x", 0, 1), n_trials=3)
    proc = _honed("delete", "gone", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "--yes" in proc.stderr
    _honed("delete", "gone", "--yes", cwd=tmp_path)
    with pytest.raises(honed.StudyNotFoundError):
        honed.load_study("gone", storage=url)


def test_version(tmp_path: Path) -> None:
    out = _honed("--version", cwd=tmp_path)
    assert out.stdout.strip() == f"honed {honed.__version__}"
