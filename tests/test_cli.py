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


@pytest.mark.slow
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
    out = _honed("show", "demo-test", "--limit", "3", cwd=demo_dir).stdout
    study = honed.load_study("demo-test", storage=f"sqlite:///{demo_dir / 'honed.db'}")
    assert out.index("trials (3 of 6, best first)") < out.index("best trial")  # table leads
    assert f"best trial {study.best_trial.number}" in out
    assert "learning_rate" in out


@pytest.mark.slow
def test_show_ranks_complete_before_pruned_and_shows_whole_fronts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    s = honed.create_study("s", storage=url, direction="maximize")
    t = s.ask()
    t.float("x", 0, 1)
    t.report(0.99, 0)  # stopped early at a value better than any finished trial's
    s.tell(t, state=honed.TrialState.PRUNED)
    for v in (0.5, 0.7, 0.6):
        t = s.ask()
        t.float("x", 0, 1)
        s.tell(t, v)
    s.tell(s.ask(), state=honed.TrialState.FAILED)
    out = _honed("show", "s", "--storage", url, "--limit", "3", cwd=tmp_path).stdout
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert rows == ["2", "3", "1"]  # --limit shows the best; the pruned 0.99 is not among them
    out = _honed("show", "s", "--storage", url, "--limit", "0", cwd=tmp_path).stdout
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert rows == ["2", "3", "1", "0", "4"]  # complete, then pruned, then failed
    mo = honed.create_study("mo", storage=url, directions=["minimize", "minimize"])
    front = [(0.1 * i, 1.0 - 0.1 * i) for i in range(12)]  # twelve non-dominated trials
    for values in [*front, (2.0, 2.0)]:
        t = mo.ask()
        t.float("x", 0, 1)
        mo.tell(t, list(values))
    out = _honed("show", "mo", "--storage", url, "--limit", "5", cwd=tmp_path).stdout
    assert "Pareto front: 12 trials" in out
    assert all(f"best trial {n}:" in out for n in range(12)) and "best trial 12:" not in out


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


# ---- hostile names: printed as text, never obeyed, never a crash -----------------------------
HOSTILE = [
    "[/bold]",
    "[red]alarm[/red]",
    ":smile: [link=http://x]y",
    "\x1b]0;owned title\x07",
    "\x1b[2Jcleared",
    "bell\x07 and \x9b31m c1",
    "line\nbreak\rover",
    "rtl \u202eevil\u202c",
    "研究",
]
# What a terminal would obey: ESC, BEL, CSI (C1), carriage return, bidi overrides.
RAW = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{d / 'honed.db'}"
    for name in HOSTILE:
        study = honed.create_study(name, storage=url)
        for i, text in enumerate(HOSTILE[:3] if name != HOSTILE[5] else HOSTILE[:3] * 4):
            t = study.ask()
            t.float(name, 0, 1)  # the study's name is also a parameter name
            t.choice(f"pick{i % 3}", [text])
            t.set_user_attr(name, text)
            if i == 2:
                study.tell(t, state=honed.TrialState.FAILED, fail_reason=f"boom {name}")
            else:
                study.tell(t, float(i))
    study.storage.close()
    return d


def _no_raw_controls(text: str) -> None:
    for ch in RAW:
        assert ch not in text, (ch, text[:400])


def test_studies_prints_hostile_names_as_text(hostile_db: Path) -> None:
    out = _honed("studies", cwd=hostile_db).stdout
    _no_raw_controls(out)
    assert "[/bold]" in out and "[red]alarm[/red]" in out and ":smile:" in out
    assert "\\x1b]0;owned title\\x07" in out and "\\x1b[2Jcleared" in out
    assert "\\x9b31m" in out and "\\u202eevil" in out and "研究" in out


@pytest.mark.slow
def test_show_and_importance_print_hostile_names_as_text(hostile_db: Path) -> None:
    for name in (HOSTILE[0], HOSTILE[3]):
        proc = _honed("show", name, cwd=hostile_db)
        _no_raw_controls(proc.stdout + proc.stderr)
        assert "boom" in proc.stdout and "[red]alarm[/red]" in proc.stdout
    proc = _honed("importance", HOSTILE[5], "--method", "ped-anova", cwd=hostile_db)
    _no_raw_controls(proc.stdout + proc.stderr)
    assert "bell\\x07" in proc.stdout
    # an unknown study's name comes back quoted, escapes and all
    proc = _honed("show", "\x1b]0;nope\x07", cwd=hostile_db, check=False)
    assert proc.returncode == 2 and "\\x1b]0;nope\\x07" in proc.stderr
    _no_raw_controls(proc.stderr)


def test_every_hostile_study_shows_and_exports_exactly(hostile_db: Path, capsys) -> None:
    """Each study on its own, through the CLI's entry point in this process (the subprocess
    tests around cover the real command): show never crashes; export through a pipe and to
    a file keeps the data exactly as stored."""
    from honed.cli import main

    url = f"sqlite:///{hostile_db / 'honed.db'}"
    for name in HOSTILE:
        assert main(["show", name, "--storage", url]) == 0
        out = capsys.readouterr().out
        _no_raw_controls(out)
        assert "boom" in out and "[red]alarm[/red]" in out
        study = honed.load_study(name, storage=url)
        assert main(["export", name, "--storage", url]) == 0
        text = capsys.readouterr().out  # not a terminal: the data as stored
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert [r[f"param_{name}"] for r in rows] == [str(t.params[name]) for t in study.trials]
        assert rows[2]["fail_reason"] == f"boom {name}"
        out_file = hostile_db / "x.json"
        assert (
            main(["export", name, "--format", "json", "-o", str(out_file), "--storage", url]) == 0
        )
        doc = json.loads(out_file.read_text(encoding="utf-8"))
        assert doc["study"] == name
        assert [r["user_attrs"] for r in doc["trials"]] == [t.user_attrs for t in study.trials]


@pytest.mark.slow
def test_a_terminal_never_receives_the_escapes(hostile_db: Path) -> None:
    """On a real pseudo-terminal, rich may style the output, but the names' own escape
    sequences (title change, screen clear, C1 CSI) arrive escaped."""
    import os
    import pty

    for args in (["show", HOSTILE[3]], ["export", HOSTILE[4]]):
        pid, fd = pty.fork()
        if pid == 0:  # the child: the honed command on the terminal
            os.chdir(hostile_db)
            os.execvp(sys.executable, [sys.executable, "-m", "honed.cli", *args])
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        out = b"".join(chunks).decode("utf-8", "replace")
        assert os.waitstatus_to_exitcode(status) == 0, out
        for seq in ("\x1b]0;", "\x1b[2J", "\x07", "\x9b", "\u202e"):
            assert seq not in out, (args, seq)
        assert "\\x1b" in out


@pytest.mark.slow
def test_unexpected_errors_and_closed_pipes_are_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'honed.db'}"
    study = honed.create_study("s", storage=url)
    study.optimize(lambda t: t.float("x", 0, 1), n_trials=300)
    study.storage.close()
    # `honed export s | head -1`: the reader stops early; no BrokenPipeError traceback
    proc = subprocess.run(
        f"{sys.executable} -m honed.cli export s | head -1",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.startswith("number,state") and proc.stderr == ""
    proc = _honed(
        "show", "s", "--storage", "postgres://nobody@127.0.0.1:1/x", cwd=tmp_path, check=False
    )
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("honed: ")


def test_reading_a_missing_path_creates_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    from honed.cli import main

    monkeypatch.chdir(tmp_path)
    for storage in ("missing.db", "sub/missing.sqlite", "sqlite:///missing.db"):
        assert main(["studies", "--storage", storage]) == 2
        assert "no database at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
