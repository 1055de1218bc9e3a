"""TPE on conditional (tree-shaped) spaces: how branches are split and refined."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest

import honed
from honed.samplers.tpe import TPESampler
from honed.samplers.tpe import _sampler as tpe_sampler
from honed.space import Choice, Float, Int

SPACE = {
    "family": Choice(
        {
            "a": {"a_x": Float(-2.0, 2.0), "a_y": Float(-2.0, 2.0)},
            "b": {"b_u": Float(1e-3, 1.0, log=True), "b_k": Int(0, 8), "b_c": Choice(["p", "q"])},
        }
    )
}


def _objective(p: Mapping) -> float:
    if p["family"] == "a":
        return 0.5 + p["a_x"] ** 2 + (p["a_y"] - 1.0) ** 2
    return (math.log10(p["b_u"]) + 2.0) ** 2 + 0.1 * abs(p["b_k"] - 3) + (p["b_c"] == "q")


def _gammas(monkeypatch: pytest.MonkeyPatch, sampler: TPESampler, n_trials: int = 30) -> list:
    """(rows, gamma) of every split the sampler made for its last proposal."""
    calls: list[tuple[int, float]] = []
    real = tpe_sampler.n_below

    def recording(n: int, gamma: float, cap: int) -> int:
        calls.append((n, gamma))
        return real(n, gamma, cap)

    monkeypatch.setattr(tpe_sampler, "n_below", recording)
    study = honed.create_study(sampler=sampler)
    for _ in range(n_trials):
        calls.clear()
        t = study.ask(SPACE)
        study.tell(t, _objective(t.params))
    return calls


def test_branches_split_with_the_branch_gamma(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _gammas(monkeypatch, TPESampler(seed=0))
    total = 29  # finished trials when the last one was asked
    choice = [g for n, g in calls if n == total]
    branches = [(n, g) for n, g in calls if n < total]
    # the choice between branches, which every trial has: the space's usual gamma (5 params)
    assert choice == [0.1]
    # each branch, fitted on its own trials only: the branch gamma, and both branches split
    assert len(branches) == 2 and all(g == tpe_sampler._BRANCH_GAMMA for _, g in branches)
    assert sum(n for n, _ in branches) == total


def test_explicit_gamma_applies_to_branches_too(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _gammas(monkeypatch, TPESampler(seed=0, gamma=0.15))
    assert calls and all(g == 0.15 for _, g in calls)


def test_branch_gamma_gives_each_branch_more_good_points() -> None:
    """With 0.25, a branch of 12 trials has 3 good trials instead of 2: the proposals differ
    from a sampler that keeps 0.1 everywhere, and only inside the branches."""
    default = TPESampler(seed=1)
    plain = TPESampler(seed=1, gamma=0.1)
    s1, s2 = honed.create_study(sampler=default), honed.create_study(sampler=plain)
    for _ in range(24):  # the same history for both
        t = s1.ask(SPACE)
        s1.tell(t, _objective(t.params))
        s2.enqueue(t.params)
        t2 = s2.ask(SPACE)
        s2.tell(t2, _objective(t2.params))
    h1, h2 = s1._history(), s2._history()
    current = honed.trial.FrozenTrial(number=24, state=honed.trial.TrialState.RUNNING, trial_id=24)
    p1 = default.sample_relative(h1, current, default.infer_relative_space(h1, current, None))
    p2 = plain.sample_relative(h2, current, plain.infer_relative_space(h2, current, None))
    assert p1["family"] == p2["family"]  # the choice itself is split as before
    assert any(p1[k] != p2[k] for k in p1 if k != "family")


def test_conditional_tpe_refines_the_good_branch() -> None:
    """The optimum (0) is in branch "b" at u = 0.01, k = 3, c = "p"; branch "a" bottoms out
    at 0.5. Over 60 trials TPE must find "b" and refine it below what "a" can give."""
    bests = []
    for seed in range(3):
        study = honed.create_study(sampler=TPESampler(seed=seed))
        for _ in range(60):
            t = study.ask(SPACE)
            study.tell(t, _objective(t.params))
        bests.append(study.best_value)
    assert np.median(bests) < 0.3, bests


def test_global_branch_split_ranks_all_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    """``branch_split="global"`` takes the good share of all trials (the
    space's gamma on every finished trial) and never splits a branch on its own rows."""
    calls = _gammas(monkeypatch, TPESampler(seed=0, branch_split="global"))
    assert calls and all(n == 29 for n, _ in calls)
    assert all(g == 0.1 for _, g in calls)
    study = honed.create_study(sampler=TPESampler(seed=0, branch_split="global"))
    for _ in range(30):
        t = study.ask(SPACE)
        study.tell(t, _objective(t.params))
    assert study.best_value < 1.5
    # On one history, the choice between branches is split alike (every trial has it) and
    # the branches' parameters are not.
    branch, whole = TPESampler(seed=1), TPESampler(seed=1, branch_split="global")
    s1, s2 = honed.create_study(sampler=branch), honed.create_study(sampler=whole)
    for _ in range(24):
        t = s1.ask(SPACE)
        s1.tell(t, _objective(t.params))
        s2.enqueue(t.params)
        t2 = s2.ask(SPACE)
        s2.tell(t2, _objective(t2.params))
    current = honed.trial.FrozenTrial(number=24, state=honed.trial.TrialState.RUNNING, trial_id=24)
    h1, h2 = s1._history(), s2._history()
    p1 = branch.sample_relative(h1, current, branch.infer_relative_space(h1, current, None))
    p2 = whole.sample_relative(h2, current, whole.infer_relative_space(h2, current, None))
    assert p1["family"] == p2["family"]
    assert any(p1[k] != p2[k] for k in p1 if k != "family")
    with pytest.raises(ValueError, match="branch_split must be 'branch' or 'global'"):
        TPESampler(branch_split="local")  # type: ignore[arg-type]
