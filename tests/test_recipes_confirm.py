"""Confirmation on fresh seeds, and the model-based likely best, on real studies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import honed
from honed.recipes import confirm, likely_best, load_confirmation
from honed.trial import SEED_ATTR, TrialState, trial_seed

ROOT = Path(__file__).resolve().parents[1]


def truth(x: float) -> float:
    return -((x - 0.3) ** 2)


def noise(seed: int) -> float:
    return 0.05 * float(np.random.default_rng(seed).standard_normal())


def noisy(trial: honed.Trial) -> float:
    x = trial.float("x", 0.0, 1.0)
    return truth(x) + noise(trial.seed)


def _tuned(storage: str | None, n: int = 12, name: str = "noisy") -> honed.Study:
    study = honed.create_study(
        name, storage=storage, direction="maximize", sampler="random", seed=4
    )
    study.optimize(noisy, n_trials=n, show_progress=False)
    return study


def test_confirm_reruns_the_best_configurations_on_fresh_shared_seeds(sqlite_url: str) -> None:
    study = _tuned(sqlite_url)
    best = study.best_trial
    tuned = study.trials
    result = confirm(study, noisy, top_k=3, n_seeds=4, show_progress=False)

    # the tuning study is as it was: same trials, same best
    assert study.trials == tuned and study.best_trial == best
    seeds = [trial_seed("noisy", j, confirmation=True) for j in range(4)]
    assert list(result.seeds) == seeds
    assert not set(seeds) & {trial_seed("noisy", t.number) for t in tuned}
    ranked = sorted(tuned, key=lambda t: (-t.value, t.number))[:3]
    assert [c.trial for c in result.configs] == [t.number for t in ranked]
    assert result.tuning_winner.trial == best.number

    # the runs: real trials of the linked study, tagged with what they confirm
    runs = honed.load_study("noisy:confirm", storage=sqlite_url)
    assert len(runs.trials) == 12
    assert all(t.state is TrialState.COMPLETE for t in runs.trials)
    for c, t in zip(result.configs, ranked, strict=True):
        assert c.params == dict(t.params) and c.tuning_value == t.value
        assert c.seeds == tuple(seeds) and c.missing == 0
        # each value is the configuration's truth plus the noise of the confirmation seed
        np.testing.assert_allclose(c.values, [truth(c.params["x"]) + noise(s) for s in seeds])
        mine = [r for r in runs.trials if r.system_attrs["confirms_trial"] == t.number]
        assert sorted(r.system_attrs[SEED_ATTR] for r in mine) == sorted(seeds)
        assert c.mean == pytest.approx(np.mean(c.values))
        assert c.std == pytest.approx(np.std(c.values, ddof=1))
        half = stats.t.ppf(0.975, 3) * c.std / 2
        assert (c.low, c.high) == pytest.approx((c.mean - half, c.mean + half))
    want_best = max(result.configs, key=lambda c: c.mean)
    assert result.best == want_best
    assert (result.note is None) == (want_best.trial == best.number) == result.agrees
    assert load_confirmation(study) == result
    assert "confirmation of 'noisy' on 4 seeds" in str(result)

    # again: nothing new runs; more seeds: only the new pairs run
    assert confirm(study, noisy, top_k=3, n_seeds=4, show_progress=False) == result
    assert len(runs.trials) == 12
    more = confirm(study, noisy, top_k=3, n_seeds=5, show_progress=False)
    assert len(runs.trials) == 15 and all(c.n == 5 for c in more.configs)
    assert more.configs[0].values[:4] == result.configs[0].values
    # tuning goes on as before: its sampler never saw a confirmation run
    study.optimize(noisy, n_trials=2, show_progress=False)
    assert [t.number for t in study.trials] == list(range(14))
    assert not any("confirms_trial" in t.system_attrs for t in study.trials)
    study.storage.close()


def test_the_note_says_when_the_tuning_winner_was_lucky() -> None:
    study = honed.create_study(direction="maximize")
    # trial 0 drew a lucky value at x=0.9 (true -0.36); x=0.3 is the true best
    for x, value in [(0.9, 0.5), (0.3, -0.01), (0.6, -0.1)]:
        study.enqueue({"x": x})
        t = study.ask()
        t.float("x", 0.0, 1.0)
        study.tell(t, value)
    study.enqueue({"x": 0.9})
    result = confirm(study, noisy, top_k=3, n_seeds=3, show_progress=False)
    assert result.tuning_winner.trial == 0 and result.best.trial == 1
    note = result.note
    assert note is not None
    assert "The tuning winner (trial 0, 0.5 in tuning) is not the confirmed winner" in note
    assert "trial 1 has the best mean over 3 fresh seeds" in note
    assert "(significant at 95%)" in note  # shared seeds: the noise cancels in the difference
    # the enqueued trial was not run by confirm: it stays waiting in the tuning study
    assert [t.state for t in study.trials][-1] is TrialState.WAITING


def _tuned_values(result: honed.recipes.Confirmation) -> list[tuple[int, tuple[float, ...]]]:
    return [(c.trial, c.values) for c in result.configs]


def test_parallel_confirmation_gives_what_one_worker_gives(tmp_path: Path) -> None:
    inline = confirm(_tuned(None), noisy, top_k=3, n_seeds=3, show_progress=False)
    threads = confirm(
        _tuned(None), noisy, top_k=3, n_seeds=3, n_jobs=2, executor="thread", show_progress=False
    )
    processes = confirm(
        _tuned(f"sqlite:///{tmp_path / 'p.db'}"),
        noisy,
        top_k=3,
        n_seeds=3,
        n_jobs=2,
        executor="process",
        show_progress=False,
    )
    assert _tuned_values(inline) == _tuned_values(threads) == _tuned_values(processes)


_CRASHING = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {root!r})
import honed
from honed.recipes import confirm
from tests.test_recipes_confirm import noisy

count = Path({count!r})

def crashing(trial):
    runs = int(count.read_text()) if count.exists() else 0
    count.write_text(str(runs + 1))
    if runs == 4:
        os.kill(os.getpid(), signal.SIGKILL)  # the whole confirm dies mid-run
    return noisy(trial)

study = honed.load_study("noisy", storage={url!r})
confirm(study, crashing, top_k=3, n_seeds=3, show_progress=False)
"""


def test_a_confirm_killed_midway_resumes_where_it_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    study = _tuned(url)
    count = tmp_path / "runs"
    script = _CRASHING.format(root=str(ROOT), count=str(count), url=url)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    runs = honed.load_study("noisy:confirm", storage=url)
    states = [t.state for t in runs.trials]
    assert states.count(TrialState.COMPLETE) == 4 and states.count(TrialState.RUNNING) == 1
    assert states.count(TrialState.WAITING) == 4
    assert load_confirmation(study).configs[0].n + load_confirmation(study).configs[1].n == 4

    ran: list[int] = []

    def counted(trial: honed.Trial) -> float:
        ran.append(trial.seed)
        return noisy(trial)

    result = confirm(study, counted, top_k=3, n_seeds=3, show_progress=False)
    assert len(ran) == 5  # the killed run and the four never started; not the four done
    trials = runs.trials
    assert len(trials) == 10
    (abandoned,) = [t for t in trials if t.state is TrialState.FAILED]
    assert "abandoned" in abandoned.fail_reason
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    pairs = {(t.system_attrs["confirms_trial"], t.system_attrs[SEED_ATTR]) for t in complete}
    assert len(pairs) == len(complete) == 9  # every pair once, nothing twice
    assert all(c.n == 3 and c.missing == 0 for c in result.configs)
    reference = confirm(_tuned(None), noisy, top_k=3, n_seeds=3, show_progress=False)
    assert _tuned_values(result) == _tuned_values(reference)
    study.storage.close()


def _kill_worker_once(trial: honed.Trial) -> float:
    marker = Path(trial.study.user_attrs["marker"])
    if trial.params["x"] == trial.study.user_attrs["victim"] and not marker.exists():
        marker.write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)  # one worker process dies, the driver lives on
    return noisy(trial)


def test_a_killed_worker_leaves_a_missing_run_that_the_next_call_fills(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = _tuned(url)
    study.set_user_attr("marker", str(tmp_path / "marker"))
    study.set_user_attr("victim", study.best_trial.params["x"])
    first = confirm(
        study,
        _kill_worker_once,
        top_k=2,
        n_seeds=3,
        n_jobs=2,
        executor="process",
        show_progress=False,
    )
    assert [c.missing for c in first.configs] == [1, 0]
    assert first.configs[0].n == 2 and "n/a" not in str(first)
    second = confirm(
        study,
        _kill_worker_once,
        top_k=2,
        n_seeds=3,
        n_jobs=2,
        executor="process",
        show_progress=False,
    )
    assert [c.missing for c in second.configs] == [0, 0]
    study.storage.close()


def _asks_more(trial: honed.Trial) -> float:
    x = trial.float("x", 0.0, 1.0)
    return x + trial.float("extra", 0.0, 1.0)


def test_bad_inputs_get_clear_errors() -> None:
    study = _tuned(None, n=3)
    with pytest.raises(ValueError, match=r"top_k=4 but study 'noisy' has 3 distinct"):
        confirm(study, noisy, top_k=4)
    with pytest.raises(ValueError, match="n_seeds must be an int >= 2, got 1"):
        confirm(study, noisy, n_seeds=1)
    with pytest.raises(ValueError, match="top_k must be an int >= 1, got 0"):
        confirm(study, noisy, top_k=0)
    with pytest.raises(TypeError, match="objective must be callable"):
        confirm(study, "noisy")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"confirm needs a honed\.Study"):
        confirm(None, noisy)  # type: ignore[arg-type]
    # a repeated configuration counts once
    twice = honed.create_study(direction="maximize")
    for _ in range(2):
        twice.enqueue({"x": 0.5})
    twice.optimize(noisy, n_trials=2, show_progress=False)
    with pytest.raises(ValueError, match=r"1 distinct configuration.* among its 2 complete"):
        confirm(twice, noisy, top_k=2)
    multi = honed.create_study(directions=["maximize", "minimize"])
    multi.optimize(lambda t: (t.float("x", 0, 1), 1.0), n_trials=3, show_progress=False)
    with pytest.raises(ValueError, match=r"has 2 objectives .* rank_by=0\.\.1"):
        confirm(multi, noisy)
    with pytest.raises(ValueError, match=r"has 2 objectives .* rank_by=0\.\.1"):
        likely_best(multi)
    # an objective asking for a parameter tuning did not have: each run fails, saying why
    result = confirm(study, _asks_more, top_k=1, n_seeds=2, show_progress=False)
    assert result.configs[0].missing == 2
    runs = honed.load_study("noisy:confirm", storage=study.storage)
    assert all("asked for parameter 'extra'" in t.fail_reason for t in runs.trials)
    with pytest.raises(honed.HonedError, match="no confirmation run of study 'noisy' completed"):
        _ = result.best
    assert load_confirmation(_tuned(None, name="other")) is None


def test_likely_best_sees_through_a_lucky_value() -> None:
    # 30 random x, noise sd 0.1: the best value (trial 26, x=0.47) was lucky
    study = honed.create_study("lucky", direction="maximize")
    rng = np.random.default_rng(2)
    for x in rng.random(30):
        study.enqueue({"x": float(x)})
        t = study.ask()
        t.float("x", 0.0, 1.0)
        study.tell(t, truth(x) + 0.1 * rng.standard_normal())
    found = likely_best(study)
    assert found.tuning_winner.number == study.best_trial.number == 26
    assert truth(found.trial.params["x"]) > truth(study.best_trial.params["x"]) + 0.01
    assert 0.05 < found.noise_sd < 0.2
    assert found.note is not None and "may be a lucky draw" in found.note
    assert found.ranking[0][0] == found.trial.number and len(found.ranking) == 30
    assert found.mean == pytest.approx(found.ranking[0][2])
    assert found.winner_mean < found.mean

    xs = np.linspace(0.0, 1.0, 25)
    clean = honed.create_study(direction="maximize")
    for x in xs:
        clean.enqueue({"x": float(x)})
        t = clean.ask()
        t.float("x", 0.0, 1.0)
        clean.tell(t, truth(x))
    agreed = likely_best(clean)
    assert agreed.agrees and agreed.note is None
    assert agreed.trial.number == clean.best_trial.number
    with pytest.raises(ValueError, match=r"needs at least 30 complete feasible trials .* has 25"):
        likely_best(clean, min_trials=30)


def test_confirm_on_postgresql_with_worker_processes(pg_url: str, tmp_path: Path) -> None:
    study = honed.create_study(
        "pg",
        storage=pg_url,
        direction="maximize",
        sampler="random",
        seed=4,
        artifacts=tmp_path / "artifacts",
    )
    study.optimize(noisy, n_trials=8, show_progress=False)
    result = confirm(
        study, noisy, top_k=2, n_seeds=3, n_jobs=2, executor="process", show_progress=False
    )
    reference = confirm(_tuned(None, n=8, name="pg"), noisy, top_k=2, n_seeds=3)
    assert _tuned_values(result) == _tuned_values(reference)
    again = honed.load_study("pg", storage=pg_url)  # another process's view
    assert load_confirmation(again) == result
    again.storage.close()
    study.storage.close()


def test_deleting_the_tuning_study_deletes_its_confirmation_runs(tmp_path):
    """A new study of the same name must not inherit the old one's confirmation runs."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = honed.create_study("tuned", storage=url, sampler="random", seed=0)
    study.optimize(lambda t: t.float("x", 0, 1), n_trials=4)
    confirm(study, lambda t: t.float("x", 0, 1), top_k=2, n_seeds=2)
    names = {s.name for s in study.storage.list_studies()}
    assert names == {"tuned", "tuned:confirm"}
    honed.delete_study("tuned", url)
    assert study.storage.list_studies() == []
