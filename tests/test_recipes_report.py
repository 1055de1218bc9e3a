"""``honed report``: one self-contained HTML file, or Markdown with its plots beside it."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import honed
from honed.cli import main
from honed.recipes import confirm, report, soup
from honed.recipes._report import _storage_text


def objective(trial: honed.Trial) -> float:
    x = trial.float("x", 0.0, 1.0)
    depth = trial.int("depth", 1, 8)
    kind = trial.choice("kind", ["a", "b"])
    rng = np.random.default_rng(trial.seed)
    trial.save_checkpoint({"w": np.full(3, x), "steps": np.array(depth)})
    return (
        -((x - 0.3) ** 2)
        + 0.01 * depth
        + (0.02 if kind == "b" else 0.0)
        + 0.01 * float(rng.standard_normal())
    )


@pytest.fixture
def finished(tmp_path: Path) -> tuple[str, honed.Study]:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = honed.create_study("sweep", storage=url, direction="maximize", sampler="tpe", seed=0)
    study.optimize(objective, n_trials=20, show_progress=False)
    confirm(study, objective, top_k=3, n_seeds=3, show_progress=False)
    soup(study, lambda state: -float(np.abs(state["w"] - 0.3).sum()), top_k=5)
    return url, study


_ASSET = re.compile(
    r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import|<script|<link|<iframe""",
    re.IGNORECASE,
)


def test_the_html_report_is_self_contained_and_has_every_section(
    finished: tuple[str, honed.Study], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, study = finished
    out = tmp_path / "report.html"
    assert main(["report", "sweep", "--storage", url, "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    assert _ASSET.search(text) is None, _ASSET.search(text)
    assert "http://" not in text and "https://" not in text
    for heading in (
        "Best configurations",
        "Likely best (model-based)",
        "Confirmation on fresh seeds",
        "Model soups",
        "Parameter importance",
        "Plots",
        "Environment",
    ):
        assert f"<h2>{heading}</h2>" in text
    best = study.best_trial.number
    assert f"<td>{best}</td>" in text or f"<td>{best} (best)</td>" in text
    assert "runs in study &#x27;sweep:confirm&#x27;" in text and "<td>3/3</td>" in text
    assert "<td>greedy</td>" in text
    for name in ("x", "depth", "kind"):
        assert f"<td>{name}</td>" in text  # a row of the importance table
    images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 3  # importance, history, parallel coordinates
    for data in images:
        svg = base64.b64decode(data)
        assert b"<svg" in svg and b"<image" not in svg
    assert "sqlite:///" in text and "scikit-learn" in text and "AutoSampler" in text


def test_the_markdown_report_reads_as_text_with_its_plots_beside(
    finished: tuple[str, honed.Study], tmp_path: Path
) -> None:
    _, study = finished
    out = tmp_path / "out" / "sweep.md"
    out.parent.mkdir()
    text = report(study, out)
    assert out.read_text() == text
    assert text.startswith("# sweep: honed report\n")
    assert "## Confirmation on fresh seeds" in text
    assert "| trial | tuning | mean | std | 95% interval | runs | parameters |" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == [
        "sweep_files/importance.svg",
        "sweep_files/history.svg",
        "sweep_files/parallel.svg",
    ]
    assert all((out.parent / link).read_bytes().startswith(b"<?xml") for link in links)
    inline = report(study, format="md")  # no path: the plots go inline
    assert inline.count("](data:image/svg+xml;base64,") == 3


def test_reports_of_an_empty_and_a_multi_objective_study() -> None:
    empty = honed.create_study("empty")
    text = report(empty)
    assert "0 trials (none yet)" in text and "No complete trial yet." in text
    assert "<h2>Plots</h2>" not in text
    multi = honed.create_study("mo", directions=["minimize", "maximize"], sampler="random")
    multi.optimize(
        lambda t: (t.float("x", 0, 1), t.float("y", 0, 1)), n_trials=12, show_progress=False
    )
    text = report(multi, format="md", top=3)
    assert "The Pareto front:" in text and "| trial | value 0 | value 1 | parameters |" in text
    assert "Likely best" not in text
    assert "(objective 0)" in text and text.count("](data:image/svg+xml") == 4  # + Pareto


def test_bad_arguments_and_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = honed.create_study()
    with pytest.raises(ValueError, match=r"cannot tell the format of 'r\.pdf'"):
        report(study, "r.pdf")
    with pytest.raises(ValueError, match="format must be 'html' or 'md'"):
        report(study, format="pdf")
    with pytest.raises(ValueError, match="top must be an int >= 1"):
        report(study, top=0)
    with pytest.raises(TypeError, match=r"report needs a honed\.Study"):
        report("study")  # type: ignore[arg-type]
    assert main(["report", "x", "--storage", str(tmp_path / "none.db")]) == 2
    assert "no database at" in capsys.readouterr().err
    assert main(["report", "x", "--storage", f"journal:///{tmp_path / 'none.log'}"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "none.log").exists()  # reading creates nothing
    url = "postgresql+psycopg://honed:s3cret@db.example:5432/studies"
    assert _storage_text(SimpleNamespace(url=url)) == (
        "postgresql+psycopg://honed:***@db.example:5432/studies"
    )
