"""Properties every sampler must have, as tests.

Usage, in a test file of your own::

    from honed.testing.samplers import SamplerTests

    class TestMySampler(SamplerTests):
        def make_sampler(self, seed, space):
            return MySampler(seed=seed)

``space`` is the flat dict of distributions the test is about to use (branches included), for
samplers that must know it up front, like a grid. A sampler that handles only some kinds
overrides :meth:`SamplerTests.search_space` and :meth:`SamplerTests.conditional_space`.

The checks: every proposed value is valid for every parameter kind (define-by-run and
declared spaces, conditional ones too, single-objective and multi-objective, with failed and
pruned trials in the history); simplex weights (:meth:`SamplerTests.simplex_space`) sum to
exactly 1 and respect ``min_weight``, declared, define-by-run and inside a branch; no
configuration is proposed twice, even when most trials are pruned or fail where the optimum
seems to be (:meth:`SamplerTests.repeat_space`); the same
seed gives the same sequence, on in-memory and SQLite storage alike; and the sampler decides
from a plain history, with no study or storage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import honed
from honed.errors import TrialPruned
from honed.history import History
from honed.samplers.base import Sampler
from honed.space import (
    Choice,
    Distribution,
    Float,
    Int,
    Simplex,
    SimplexWeight,
    flatten_space,
    normalize_space,
    simplex_weights,
)
from honed.trial import Direction, FrozenTrial, TrialState

__all__ = ["ALL_KINDS", "CONDITIONAL", "SIMPLEXES", "SamplerTests", "walk_space"]

#: One parameter of every kind, single-valued ones included.
ALL_KINDS: dict[str, Distribution] = {
    "f_lin": Float(-3.0, 7.0),
    "f_log": Float(1e-5, 1.0, log=True),
    "f_step": Float(0.0, 2.0, step=0.25),
    "f_single": Float(1.5, 1.5),
    "i_lin": Int(-4, 9),
    "i_log": Int(1, 4096, log=True),
    "i_step": Int(0, 60, step=5),
    "i_single": Int(7, 7),
    "c_str": Choice(["adam", "sgd", "rmsprop"]),
    "c_mixed": Choice([None, True, False, 0, 1, 2.5, "1"]),
    "c_single": Choice(["only"]),
}

#: A tree-shaped space: two levels of branches.
CONDITIONAL: dict[str, Any] = {
    "lr": Float(1e-4, 1.0, log=True),
    "model": Choice(
        {
            "svm": {
                "C": Float(1e-3, 1e3, log=True),
                "kernel": Choice({"rbf": {"gamma": Float(1e-4, 1.0, log=True)}, "linear": {}}),
            },
            "tree": {"depth": Int(1, 12), "split": Choice(["gini", "entropy"])},
            "none": {},
        }
    ),
}


#: Two simplexes (one with a floor on every weight) beside a choice: finite enough for a grid.
SIMPLEXES: dict[str, Any] = {
    "mix": Simplex(["web", "code", "books", "wiki"]),
    "floor": Simplex(["a", "b", "c"], min_weight=0.1),
    "opt": Choice(["adam", "sgd"]),
}


def _check_simplexes(params: Mapping[str, Any], space: Mapping[str, Any]) -> None:
    """Every simplex of ``space`` in ``params``: its weights sum to exactly 1 and respect
    ``min_weight``."""
    for name, spec in space.items():
        if not isinstance(spec, Simplex):
            continue
        w = simplex_weights(params, name)
        assert list(w) == list(spec.components), (name, w)
        assert sum(w.values()) == 1.0, (name, w, sum(w.values()))
        assert all(spec.min_weight <= v <= 1.0 for v in w.values()), (name, w)


def walk_space(trial: honed.Trial, tree: Mapping[str, Distribution]) -> None:
    """Ask ``trial`` for the parameters of a tree-shaped space, define-by-run style: a
    branch's parameters are asked only when its option is taken."""
    for name, dist in tree.items():
        if isinstance(dist, Choice) and dist.branches:
            value = trial.suggest(name, Choice(dist.choices))
            walk_space(trial, dist.branches.get(value, {}))
        else:
            trial.suggest(name, dist)


def _score(params: Mapping[str, Any]) -> float:
    """A deterministic objective of any parameter dict."""
    total = 0.0
    for k in sorted(params):
        v = params[k]
        if isinstance(v, int | float) and not isinstance(v, bool):
            total += math.sin(float(v)) + 0.01 * len(k)
        else:
            total += (len(repr(v)) % 5) * 0.1
    return total


def _bowl(params: Mapping[str, Any]) -> float:
    """Lowest at the low end of every numeric parameter and at the first option: the corner
    where a model that ignores stopped trials keeps proposing the same point."""
    total = 0.0
    for k in sorted(params):
        v = params[k]
        if isinstance(v, int | float) and not isinstance(v, bool):
            total += float(v)
        else:
            total += 0.5 * (len(str(v)) + ord(str(v)[-1:] or "a") - ord("a"))
    return total


def _configuration(trial: FrozenTrial) -> tuple[tuple[str, str, Any], ...]:
    """A trial's parameters as compared for repeats: typed (``True`` is not ``1``), stepped
    floats on their grid."""
    out = []
    for name, value in trial.params.items():
        dist = trial.distributions.get(name)
        if isinstance(dist, Float) and dist.step is not None:
            value = round((float(value) - dist.low) / dist.step)  # type: ignore[arg-type]
        out.append((name, type(value).__name__, value))
    return tuple(sorted(out, key=repr))


def _discrete(space: Mapping[str, Distribution]) -> dict[str, Distribution]:
    return {k: d for k, d in space.items() if not (isinstance(d, Float) and d.step is None)}


def _assert_no_repeats(trials: list[FrozenTrial]) -> None:
    seen: dict[tuple[tuple[str, str, Any], ...], int] = {}
    for t in trials:
        key = _configuration(t)
        assert key not in seen, (
            f"trial {t.number} repeats the configuration of trial {seen[key]}: {t.params}"
        )
        seen[key] = t.number


def _check_conditional(params: Mapping[str, Any]) -> None:
    model = params["model"]
    assert ("C" in params) == ("kernel" in params) == (model == "svm"), params
    assert ("depth" in params) == ("split" in params) == (model == "tree"), params
    assert ("gamma" in params) == (params.get("kernel") == "rbf"), params


class SamplerTests:
    """Conformance checks for a :class:`~honed.samplers.Sampler`."""

    #: Trials per check; raise it for samplers whose model starts after a warm-up.
    n_trials: int = 14

    def make_sampler(self, seed: int | None, space: Mapping[str, Distribution]) -> Sampler:
        """A new sampler seeded with ``seed``. Override this."""
        raise NotImplementedError("subclasses of SamplerTests implement make_sampler")

    def search_space(self) -> dict[str, Distribution]:
        """The flat space of the kind checks: every kind by default."""
        return dict(ALL_KINDS)

    def conditional_space(self) -> dict[str, Any]:
        """The tree-shaped space of the conditional checks."""
        return dict(CONDITIONAL)

    def simplex_space(self) -> dict[str, Any]:
        """The space of the simplex checks: :data:`SIMPLEXES` by default."""
        return dict(SIMPLEXES)

    def repeat_space(self) -> dict[str, Distribution]:
        """The small space of the repeat checks (36 configurations, a continuous parameter
        aside): few enough values that a sampler which learns nothing from pruned or failed
        trials proposes one of them again."""
        return {
            "n": Int(0, 5),
            "c": Choice(["a", "b", "c"]),
            "s": Float(0.0, 0.5, step=0.5),
            "x": Float(0.0, 1.0),
        }

    def _study(
        self,
        space: Mapping[str, Any],
        seed: int | None = 0,
        storage: Any = None,
        directions: list[str] | None = None,
        scheduler: str | None = None,
    ) -> honed.Study:
        flat = dict(flatten_space(normalize_space(space)))
        return honed.create_study(
            storage=storage,
            sampler=self.make_sampler(seed, flat),
            directions=directions or ["minimize"],
            scheduler=scheduler,
        )

    # ---- valid values ------------------------------------------------------------------------
    def test_define_by_run_values_are_valid(self) -> None:
        space = self.search_space()
        study = self._study(space)

        def objective(trial: honed.Trial) -> float:
            walk_space(trial, space)
            return _score(trial.params)

        study.optimize(objective, n_trials=self.n_trials, show_progress=False)
        trials = study.trials
        assert len(trials) == self.n_trials
        for t in trials:
            assert t.state is TrialState.COMPLETE, t.fail_reason
            assert set(t.params) == set(space)
            for name, dist in space.items():
                assert dist.contains(t.params[name]), (name, t.params[name], dist)
                assert t.distributions[name] == dist

    def test_declared_space_values_are_valid(self) -> None:
        space = self.search_space()
        study = self._study(space)
        for _ in range(self.n_trials):
            trial = study.ask(space)
            assert set(trial.params) == set(space)
            for name, dist in space.items():
                value = trial.params[name]
                assert dist.contains(value), (name, value, dist)
                if isinstance(dist, Choice):  # the option itself, type included
                    assert type(value) is type(dist.choices[dist.index(value)])
            study.tell(trial, _score(trial.params))

    def test_conditional_declared_space(self) -> None:
        tree = self.conditional_space()
        flat = flatten_space(normalize_space(tree))
        study = self._study(tree)
        for _ in range(self.n_trials):
            trial = study.ask(tree)
            _check_conditional(trial.params)
            for name, value in trial.params.items():
                assert flat[name].contains(value), (name, value)
            study.tell(trial, _score(trial.params))

    def test_conditional_define_by_run(self) -> None:
        tree = normalize_space(self.conditional_space())
        flat = flatten_space(tree)
        study = self._study(tree)

        def objective(trial: honed.Trial) -> float:
            walk_space(trial, tree)
            return _score(trial.params)

        study.optimize(objective, n_trials=self.n_trials, show_progress=False)
        for t in study.trials:
            assert t.state is TrialState.COMPLETE, t.fail_reason
            _check_conditional(t.params)
            for name, value in t.params.items():
                assert flat[name].contains(value), (name, value)

    def test_multi_objective_with_failed_and_pruned_history(self) -> None:
        space = self.search_space()
        study = self._study(space, directions=["minimize", "maximize"])

        def objective(trial: honed.Trial) -> tuple[float, float]:
            walk_space(trial, space)
            if trial.number % 5 == 3:
                raise ValueError("a failing configuration")
            if trial.number % 5 == 4:
                trial.report(1.0, 0)
                raise TrialPruned()
            s = _score(trial.params)
            return s, s * s

        study.optimize(objective, n_trials=self.n_trials, show_progress=False)
        trials = study.trials
        assert len(trials) == self.n_trials
        states = {t.state for t in trials}
        assert TrialState.COMPLETE in states and TrialState.FAILED in states
        for t in trials:
            for name, dist in space.items():
                assert dist.contains(t.params[name]), (name, t.params[name])

    # ---- simplex weights ---------------------------------------------------------------------
    def _simplex_objective(self, space: Mapping[str, Any]) -> Any:
        def objective(trial: honed.Trial) -> float:
            for name, spec in space.items():
                if isinstance(spec, Simplex):
                    trial.simplex(name, spec.components, min_weight=spec.min_weight)
                else:
                    trial.suggest(name, spec)
            return _score(trial.params)

        return objective

    def test_simplex_define_by_run(self) -> None:
        space = self.simplex_space()
        study = self._study(space)
        study.optimize(self._simplex_objective(space), n_trials=self.n_trials, show_progress=False)
        flat = flatten_space(normalize_space(space))
        for t in study.trials:
            assert t.state is TrialState.COMPLETE, t.fail_reason
            _check_simplexes(t.params, space)
            assert set(t.params) == set(flat)
            for name, dist in flat.items():
                assert t.distributions[name] == dist  # group, components and min_weight
        # the model-based part of the run proposes more than one point
        assert len({tuple(t.params.values()) for t in study.trials}) > self.n_trials // 2

    def test_simplex_declared(self) -> None:
        space = self.simplex_space()
        study = self._study(space)
        for _ in range(self.n_trials):
            trial = study.ask(space)
            _check_simplexes(trial.params, space)
            for name, dist in trial.distributions.items():
                if isinstance(dist, SimplexWeight):
                    assert name == f"{dist.group}.{dist.component}"
            study.tell(trial, _score(trial.params))

    def test_simplex_in_a_branch(self) -> None:
        inner = {k: v for k, v in self.simplex_space().items() if isinstance(v, Simplex)}
        tree = {"use": Choice({"mixed": inner, "plain": {}})}
        study = self._study(tree)
        seen = set()
        for i in range(self.n_trials):
            if i % 2:
                trial = study.ask(tree)
            else:
                trial = study.ask()
                if trial.choice("use", ["mixed", "plain"]) == "mixed":
                    for name, spec in inner.items():
                        trial.simplex(name, spec.components, min_weight=spec.min_weight)
            seen.add(trial.params["use"])
            if trial.params["use"] == "mixed":
                _check_simplexes(trial.params, inner)
            else:
                assert set(trial.params) == {"use"}, trial.params
            study.tell(trial, _score(trial.params))
        assert "mixed" in seen

    def test_simplex_same_seed_same_weights(self, tmp_path: Path) -> None:
        space = self.simplex_space()

        def run(seed: int, storage: Any) -> list[dict[str, Any]]:
            study = self._study(space, seed=seed, storage=storage)
            objective = self._simplex_objective(space)
            study.optimize(objective, n_trials=self.n_trials, show_progress=False)
            return [dict(t.params) for t in study.trials]

        first = run(5, None)
        assert first == run(5, f"sqlite:///{tmp_path / 'simplex.db'}")
        assert first != run(6, None)

    # ---- no repeats --------------------------------------------------------------------------
    def test_no_repeats_when_most_trials_are_pruned(self) -> None:
        """Pruned trials are evaluated configurations: none is proposed again (define-by-run,
        on the discrete parameters of :meth:`repeat_space`)."""
        space = _discrete(self.repeat_space())
        study = self._study(space, scheduler="median")

        def objective(trial: honed.Trial) -> float:
            walk_space(trial, space)
            loss = _bowl(trial.params)
            for step in range(4):
                trial.report(loss + 1.0 / (step + 1), step)
            if trial.number % 4:
                raise TrialPruned()  # three trials in four, on top of the median rule
            return loss

        study.optimize(objective, n_trials=self.n_trials + 6, show_progress=False)
        trials = study.trials
        assert sum(t.state is TrialState.PRUNED for t in trials) >= len(trials) // 2
        _assert_no_repeats(trials)

    def test_no_repeats_when_the_best_region_fails(self) -> None:
        """Failed trials are evaluated configurations too, define-by-run and declared: a
        sampler drawn to the region where the objective raises proposes no point twice."""
        space = self.repeat_space()
        discrete = _discrete(space)
        for declared in (False, True):
            study = self._study(space if declared else discrete)

            def objective(trial: honed.Trial, declared: bool = declared) -> float:
                if not declared:
                    walk_space(trial, discrete)
                loss = _bowl(trial.params)
                if loss < 3.0:
                    raise RuntimeError("the corner of the best values crashes")
                return loss

            if declared:
                for _ in range(self.n_trials + 6):
                    trial = study.ask(space)
                    try:
                        study.tell(trial, objective(trial))
                    except RuntimeError as e:
                        study.tell(trial, state=TrialState.FAILED, fail_reason=str(e))
            else:
                study.optimize(objective, n_trials=self.n_trials + 6, show_progress=False)
            trials = study.trials
            assert sum(t.state is TrialState.FAILED for t in trials) >= 2
            _assert_no_repeats(trials)

    # ---- reproducibility ---------------------------------------------------------------------
    def _sequence(self, seed: int, storage: Any) -> list[dict[str, Any]]:
        tree = self.conditional_space()
        space = self.search_space()
        study = self._study({**space, **tree}, seed=seed, storage=storage)

        def objective(trial: honed.Trial) -> float:
            walk_space(trial, normalize_space(space))
            walk_space(trial, normalize_space(tree))
            return _score(trial.params)

        study.optimize(objective, n_trials=self.n_trials, show_progress=False)
        return [dict(t.params) for t in study.trials]

    def test_same_seed_same_sequence(self, tmp_path: Path) -> None:
        first = self._sequence(7, None)
        again = self._sequence(7, None)
        on_disk = self._sequence(7, f"sqlite:///{tmp_path / 'repro.db'}")
        assert first == again
        assert first == on_disk  # storage must not change what a sampler proposes
        for a, b in zip(first, on_disk, strict=True):  # types too: True is not 1
            assert [type(v) for v in a.values()] == [type(v) for v in b.values()]
        other = self._sequence(8, None)
        assert other != first

    # ---- a pure decision ---------------------------------------------------------------------
    def test_decides_from_a_plain_history(self) -> None:
        space = self.search_space()
        sampler = self.make_sampler(3, space)
        trials = []
        for n in range(6):
            params = {name: dist.from_unit((n + 0.5) / 6) for name, dist in space.items()}
            state = [TrialState.COMPLETE, TrialState.FAILED, TrialState.RUNNING][n % 3]
            trials.append(
                FrozenTrial(
                    number=n,
                    state=state,
                    params=params,
                    distributions=dict(space),
                    values=(_score(params),) if state is TrialState.COMPLETE else None,
                    trial_id=n,
                )
            )
        history = History(trials, [Direction.MINIMIZE])
        current = FrozenTrial(number=6, state=TrialState.RUNNING, trial_id=6)
        relative_space = sampler.infer_relative_space(history, current, space)
        proposal = sampler.sample_relative(history, current, relative_space)
        for name, value in proposal.items():
            assert name in relative_space
            assert relative_space[name].contains(value), (name, value)
        for name, dist in space.items():
            if name in proposal and dist.contains(proposal[name]):
                continue
            value = sampler.sample_independent(history, current, name, dist)
            assert dist.contains(value), (name, value, dist)
        assert [t.number for t in history] == list(range(6))  # the history is untouched

    @pytest.mark.parametrize("n_complete", [0, 1])
    def test_cold_start(self, n_complete: int) -> None:
        space = self.search_space()
        study = self._study(space)
        for _ in range(n_complete):
            trial = study.ask(space)
            study.tell(trial, 0.0)
        trial = study.ask(space)
        assert all(dist.contains(trial.params[n]) for n, dist in space.items())
