"""Notebooks: studies and trials as HTML tables, study.to_dataframe() on real pandas, and a
real notebook executed by a Jupyter kernel (nbclient)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import honed
from honed._display import in_jupyter

EVIL = "<script>alert('x')</script>"


def _study(**kw):
    study = honed.create_study(
        EVIL, sampler=honed.samplers.RandomSampler(seed=0), direction="maximize", **kw
    )

    def objective(trial):
        x = trial.float("x", 0.0, 1.0)
        trial.choice("<b>kind</b>", ["<i>a</i>", "plain"])
        trial.set_user_attr("note", EVIL)
        trial.report(x / 2, 1)
        if trial.number == 2:
            raise ValueError(EVIL)
        return x

    study.optimize(objective, n_trials=4, show_progress=False)
    return study


def test_study_html_escapes_every_user_string():
    study = _study()
    out = study._repr_html_()
    assert "<script>" not in out and "<b>kind</b>" not in out and "<i>a</i>" not in out
    assert "&lt;script&gt;" in out and "&lt;b&gt;kind&lt;/b&gt;" in out
    assert "4 trials (3 complete, 1 failed)" in out
    best = study.best_trial
    assert f"best trial: #{best.number}" in out and f"{best.number} ★" in out
    assert out.count("<tr>") == 1 + 4  # the header and a row per trial


def test_trial_html_shows_fields_params_attrs_and_fail_reason():
    study = _study()
    failed = study.trials[2]
    out = failed._repr_html_()
    assert "<script>" not in out and "<b>kind</b>" not in out
    assert "FAILED" in out and "fail reason" in out and "ValueError: &lt;script&gt;" in out
    assert "user attr <code>note</code>" in out and "reports" in out
    done = study.trials[0]._repr_html_()
    assert f"{study.trials[0].value:.6g}" in done and "duration" in done


def test_long_and_multi_objective_studies():
    study = honed.create_study(directions=["minimize", "maximize"])
    study.optimize(
        lambda t: (t.float("x", 0, 1), t.float("y", 0, 1)), n_trials=25, show_progress=False
    )
    out = study._repr_html_()
    assert "the latest 20 of 25 trials" in out and out.count("<tr>") == 21
    assert f"Pareto front: {len(study.best_trials)} trials" in out
    empty = honed.create_study()._repr_html_()
    assert "0 trials (no trials yet)" in empty


def test_to_dataframe_has_optunas_columns_and_real_types():
    study = _study()
    df = study.to_dataframe()
    assert list(df.columns) == [
        "number",
        "value",
        "datetime_start",
        "datetime_complete",
        "duration",
        "params_<b>kind</b>",
        "params_x",
        "user_attrs_note",
        "state",
    ]
    assert list(df["state"]) == ["COMPLETE", "COMPLETE", "FAILED", "COMPLETE"]
    assert df["value"].isna().tolist() == [False, False, True, False]
    assert df["value"][0] == study.trials[0].value
    assert pd.api.types.is_datetime64_any_dtype(df["datetime_start"])
    assert pd.api.types.is_timedelta64_dtype(df["duration"])
    assert (df["duration"] >= pd.Timedelta(0)).all()
    assert df["user_attrs_note"][0] == EVIL

    # the same columns as Optuna's trials_dataframe() for the same kind of study (less its
    # system_attrs, which honed keeps to itself)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    peer = optuna.create_study(direction="maximize")

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.suggest_categorical("<b>kind</b>", ["<i>a</i>", "plain"])
        trial.set_user_attr("note", EVIL)
        return x

    peer.optimize(objective, n_trials=2)
    theirs = [c for c in peer.trials_dataframe().columns if not c.startswith("system_attrs")]
    assert list(df.columns) == theirs

    mo = honed.create_study(directions=["minimize", "maximize"])
    mo.optimize(lambda t: (t.float("x", 0, 1), 1.0), n_trials=2, show_progress=False)
    assert list(mo.to_dataframe().columns[:3]) == ["number", "values_0", "values_1"]
    assert honed.create_study().to_dataframe().empty


def test_to_dataframe_without_pandas_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an environment without it sees
    with pytest.raises(ImportError, match="pip install pandas"):
        honed.create_study().to_dataframe()


def test_progress_stays_silent_outside_terminals_and_notebooks(capsys):
    assert not in_jupyter()
    honed.create_study().optimize(lambda t: t.float("x", 0, 1), n_trials=3)
    out = capsys.readouterr()
    # no bar: only the log's line per trial, on stderr
    assert out.out == "" and out.err.count("[honed INFO] trial") == 3
    assert "\x1b" not in out.err and "3/3" not in out.err


@pytest.mark.slow
def test_the_example_notebook_runs_with_tables_and_a_progress_bar(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    path = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"path": str(tmp_path)}
    )
    client.execute()
    run, shown, best, frame = (c.outputs for c in nb.cells if c.cell_type == "code")
    kinds = {k for o in run for k in o.get("data", {})}
    # rich draws its bar as an ipywidgets output in a notebook
    assert "application/vnd.jupyter.widget-view+json" in kinds, run
    html = shown[0]["data"]["text/html"]
    assert "<b>Study notebook-demo</b>" in html and "20 trials (20 complete)" in html
    assert "<b>Trial" in best[0]["data"]["text/html"]
    assert "params_kind" in frame[0]["data"]["text/html"]
