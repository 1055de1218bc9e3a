"""honed.plots: every view as a figure, saved as HTML (our SVG renderer) and PNG (matplotlib)."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

import honed
import honed.plots as hp
from honed.plots._data import intermediate_data
from honed.trial import TrialState

matplotlib = pytest.importorskip("matplotlib")


def _objective(trial: honed.Trial) -> float:
    x = trial.float("x", -3, 3)
    lr = trial.float("lr", 1e-4, 1e-1, log=True)
    k = trial.int("k", 1, 5)
    c = trial.choice("c", ["a", "b", "</script><script>alert(1)</script>"])
    v = x**2 + abs(np.log10(lr) + 2) + 0.1 * k + (c == "b")
    for step in range(5):
        trial.report(v + 1.0 / (step + 1), step)
        if trial.number % 5 == 2 and step == 1:
            raise honed.TrialPruned()
    return v


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('plots') / 'p.db'}"
    s = honed.create_study("plots", storage=url, sampler="random", seed=0)
    s.optimize(_objective, n_trials=30)
    return s


@pytest.fixture(scope="module")
def multi():
    s = honed.create_study(directions=["minimize", "minimize"], sampler="random", seed=1)
    s.optimize(
        lambda t: (t.float("a", 0, 1), 1 - t.float("a", 0, 1) ** 0.5 + t.float("b", 0, 1)),
        n_trials=40,
    )
    return s


def _complete(study):
    return [t for t in study.trials if t.state is TrialState.COMPLETE]


def test_history_points_and_best_line(study, tmp_path):
    fig = hp.plot_history(study)
    done = _complete(study)
    assert fig.data["number"] == [t.number for t in done]
    best = min(t.value for t in done)
    assert fig.data["best"][-1][1] == best
    # The best line only goes down for a minimized study.
    ys = [b[1] for b in fig.data["best"]]
    assert ys == sorted(ys, reverse=True)
    mpl = fig.to_matplotlib()
    ax = mpl.axes[0]
    assert len(ax.collections[0].get_offsets()) == len(done)
    png = fig.save(tmp_path / "history.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5000


def test_every_view_saves_as_png_and_html(study, multi, tmp_path):
    figs = {
        "history": hp.plot_history(study),
        "intermediate": hp.plot_intermediate(study),
        "parallel": hp.plot_parallel(study),
        "slice": hp.plot_slice(study),
        "contour": hp.plot_contour(study, "x", "lr"),
        "importance": hp.plot_importance(study, method="ped-anova"),
        "pareto": hp.plot_pareto(multi),
    }
    for name, fig in figs.items():
        assert fig.kind == name
        png = fig.save(tmp_path / f"{name}.png")
        assert png.read_bytes()[:4] == b"\x89PNG"
        page = fig.save(tmp_path / f"{name}.html").read_text()
        assert "HonedCharts.render" in page and "<script src=" not in page  # self-contained
        # The data rides along as JSON that cannot close its <script> element early.
        m = re.search(r'<script type="application/json" id="([^"]+)-data">(.*?)</script>', page)
        assert m is not None
        assert json.loads(m.group(2))["kind"] == name
    svg = figs["slice"].save(tmp_path / "slice.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_counts_match_the_study(study, multi):
    done = _complete(study)
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    inter = hp.plot_intermediate(study).data
    assert len(inter["curves"]) == len(done) + len(pruned)
    assert sum(c["state"] == "PRUNED" for c in inter["curves"]) == len(pruned) > 0
    par = hp.plot_parallel(study).data
    assert [a["label"] for a in par["axes"]] == ["x", "lr", "k", "c", "objective"]
    assert len(par["lines"]) == len(done)
    assert all(0 <= u <= 1 for ln in par["lines"] for u in ln["pos"])
    sl = hp.plot_slice(study, params=["x", "c"]).data
    assert [p["param"] for p in sl["panels"]] == ["x", "c"]
    assert all(len(p["pos"]) == len(done) for p in sl["panels"])
    # A choice axis has one cell per option.
    con = hp.plot_contour(study, "x", "c").data
    assert len(con["cells"]) == 24 * 3
    par_mo = hp.plot_pareto(multi).data
    losses = np.array([t.values for t in _complete(multi)])
    from honed.pareto import non_dominated_mask

    assert sum(par_mo["front"]) == non_dominated_mask(losses).sum()


def test_log_axis_ticks_sit_at_powers_of_ten(study):
    axis = next(a for a in hp.plot_parallel(study).data["axes"] if a["label"] == "lr")
    ticks = dict((text, pos) for pos, text in axis["ticks"])
    assert ticks["0.0001"] == pytest.approx(0.0) and ticks["0.1"] == pytest.approx(1.0)
    assert ticks["0.01"] == pytest.approx(2 / 3)


def test_html_escapes_the_title_and_data(study, tmp_path):
    page = hp.plot_parallel(study).to_html()
    assert "</script><script>alert(1)" not in page
    assert "\\u003c/script>\\u003cscript>alert(1)" in page
    assert hp.plot_history(study)._repr_html_().count("HonedCharts.render") == 1


def test_bad_input_is_named(study, multi, tmp_path):
    with pytest.raises(ValueError, match=r"use one of \.html"):
        hp.plot_history(study).save(tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="x='nope'"):
        hp.plot_contour(study, "nope", "x")
    with pytest.raises(ValueError, match="objective must be between 0 and 0"):
        hp.plot_history(study, objective=1)
    with pytest.raises(ValueError, match="two objectives"):
        hp.plot_pareto(study)
    with pytest.raises(TypeError, match="Study or History"):
        hp.plot_history([1, 2, 3])  # type: ignore[arg-type]


def test_non_finite_reports_are_skipped():
    s = honed.create_study()
    t = s.ask()
    t.float("x", 0, 1)
    for step, v in enumerate([float("nan"), 2.0, float("inf"), 1.0]):
        t.report(v, step)
    s.tell(t, 1.0)
    t = s.ask()
    t.float("x", 0, 1)
    t.report(float("nan"), 0)
    s.tell(t, 2.0)
    data = hp.plot_intermediate(s).data
    assert [(c["step"], c["value"]) for c in data["curves"]] == [([1, 3], [2.0, 1.0])]
    json.dumps(data, allow_nan=False)  # strict JSON: what the browser gets


def test_multi_objective_curves_are_drawn_per_objective():
    s = honed.create_study(directions=["minimize", "maximize"])
    for k in range(2):
        t = s.ask()
        t.float("x", 0, 1)
        for step in (1, 2, 3):
            t.report([1.0 / step + k, 0.5 * step], step)
        s.tell(t, [1.0 / 3 + k, 1.5])
    first = hp.plot_intermediate(s).data
    second = hp.plot_intermediate(s, objective=1).data
    assert [c["value"] for c in first["curves"]] == [[1.0, 0.5, 1.0 / 3], [2.0, 1.5, 4.0 / 3]]
    assert [c["value"] for c in second["curves"]] == [[0.5, 1.0, 1.5]] * 2
    with pytest.raises(ValueError, match="objective must be between 0 and 1"):
        hp.plot_intermediate(s, objective=2)


def test_plot_all_puts_every_view_on_one_page(study, multi, tmp_path):
    text = hp.plot_all(study, tmp_path / "report.html")
    assert (tmp_path / "report.html").read_text() == text
    kinds = [
        json.loads(m)["kind"]
        for m in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', text)
    ]
    assert kinds == ["history", "intermediate", "parallel", "slice", "contour", "importance"]
    assert text.count("const NS =") == 1  # the renderer is inlined once
    assert "pareto" in [
        json.loads(m)["kind"]
        for m in re.findall(
            r'<script type="application/json" id="[^"]+">(.*?)</script>', hp.plot_all(multi)
        )
    ]


def test_learning_curve_forecasts_are_drawn_with_their_band(tmp_path):
    from tests.test_schedulers import lc_study

    study = lc_study()
    stopped = study.trials[1]
    assert stopped.state is TrialState.PRUNED
    fig = hp.plot_intermediate(study)
    (curve,) = [c for c in fig.data["curves"] if c["number"] == stopped.number]
    pred = curve["prediction"]
    stored = stopped.system_attrs["lc_prediction"]
    assert pred["step"] == 20 and pred["mean"] == pytest.approx(stored["mean"])
    assert pred["low"] < pred["mean"] < pred["high"]
    assert pred["high"] - pred["mean"] == pytest.approx(1.96 * stored["std"])
    assert 0.0 <= pred["p_beat_best"] <= 1.0
    # the x axis reaches the forecast's step (the stopped curve itself ends earlier)
    assert curve["step"][-1] < 20 <= fig.data["x"]["domain"][1]
    json.dumps(fig.data, allow_nan=False)
    fig.save(tmp_path / "lc.png")  # matplotlib draws the band too
    assert (tmp_path / "lc.png").stat().st_size > 0
    # a malformed attribute is ignored, not drawn
    bad = dataclasses.replace(stopped, system_attrs={"lc_prediction": {"mean": "x"}})
    assert "prediction" not in intermediate_data([bad])["curves"][0]
