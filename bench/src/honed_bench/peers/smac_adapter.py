"""SMAC3 (2.x) as a benchmark peer, through its ask/tell interface.

The honed space is translated to a ConfigSpace with conditions: a ``Choice`` with branches
becomes a categorical parent and every parameter of a branch is active only when the parent
takes that branch's option (``EqualsCondition``). Categorical options are passed as their
index strings and mapped back, so any honed option type (bool, None, float) round-trips, and
stepped parameters become integer grids over the step index.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from honed.space import Choice, Distribution, Float, Int
from honed_bench.adapter import Adapter, MissingOptimizerError
from honed_bench.problems.base import Problem

__all__ = ["SmacAdapter", "check_smac", "to_configspace"]

_FACADES = {
    "hpo": "HyperparameterOptimizationFacade",  # random forest, SMAC's default for HPO
    "bo": "BlackBoxFacade",  # Gaussian process
}


def check_smac(algorithm: str) -> None:
    if algorithm not in _FACADES:
        raise ValueError(f"unknown SMAC facade {algorithm!r}; choose from {sorted(_FACADES)}.")
    from importlib.util import find_spec  # importing smac takes seconds; only look it up

    missing = [m for m in ("smac", "ConfigSpace") if not find_spec(m)]
    if missing:
        raise MissingOptimizerError(
            f"SMAC3 is not installed ({missing}); `pip install 'honed-bench[peers]'` installs it."
        )


Decoder = Callable[[Any], Any]


def to_configspace(space: Mapping[str, Distribution], seed: int) -> tuple[Any, dict[str, Decoder]]:
    """A ConfigurationSpace for a honed (possibly tree-shaped) space, and per-parameter
    decoders from ConfigSpace values back to honed values."""
    import ConfigSpace

    config_space = ConfigSpace.ConfigurationSpace(seed=seed)
    decoders: dict[str, Decoder] = {}
    conditions: list[Any] = []
    hps: list[Any] = []

    def add(name: str, d: Distribution) -> Any:
        if isinstance(d, Float):
            if d.is_single:
                hp = ConfigSpace.Constant(name, d.low)
                decoders[name] = float
            elif d.step is not None:
                n = d.n_steps
                assert n is not None
                hp = ConfigSpace.Integer(name, (0, n - 1))
                decoders[name] = lambda k, d=d: min(d.low + int(k) * d.step, d.high)
            else:
                hp = ConfigSpace.Float(name, (d.low, d.high), log=d.log)
                decoders[name] = lambda v, d=d: min(max(float(v), d.low), d.high)
        elif isinstance(d, Int):
            if d.is_single:
                hp = ConfigSpace.Constant(name, d.low)
                decoders[name] = int
            elif d.step != 1:
                hp = ConfigSpace.Integer(name, (0, d.n_values - 1))
                decoders[name] = lambda k, d=d: d.low + int(k) * d.step
            else:
                hp = ConfigSpace.Integer(name, (d.low, d.high), log=d.log)
                decoders[name] = int
        elif isinstance(d, Choice):
            hp = ConfigSpace.Categorical(name, [str(i) for i in range(len(d.choices))])
            decoders[name] = lambda s, d=d: d.choices[int(s)]
        else:
            raise TypeError(f"parameter {name!r}: unsupported distribution {d!r}")
        hps.append(hp)
        return hp

    def walk(sub: Mapping[str, Distribution], parent: tuple[Any, str] | None) -> None:
        for name, d in sub.items():
            hp = add(name, d)
            if parent is not None:
                conditions.append(ConfigSpace.EqualsCondition(hp, parent[0], parent[1]))
            if isinstance(d, Choice) and d.branches:
                for i, option in enumerate(d.choices):
                    branch = d.branches.get(option)
                    if branch:
                        walk(branch, (hp, str(i)))

    walk(space, None)
    config_space.add(hps)
    if conditions:
        config_space.add(conditions)
    return config_space, decoders


class SmacAdapter(Adapter):
    """A SMAC3 facade with its defaults (initial design, intensifier), told costs in order."""

    def __init__(
        self,
        problem: Problem,
        seed: int,
        algorithm: str,
        n_trials: int,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(problem, seed, n_trials)
        options = dict(options or {})
        check_smac(algorithm)
        self.require_single_objective("smac")
        import smac
        from smac.runhistory.dataclasses import TrialValue

        self._trial_value = TrialValue
        self._sign = 1.0 if problem.directions[0] == "minimize" else -1.0
        self._space, self._decoders = to_configspace(problem.space, seed)
        self._exhausted: dict[str, Any] | None = None
        self._worst: float | None = None  # the worst cost told so far
        # SMAC insists on an output folder; keep it out of the user's way and remove it.
        self._dir = tempfile.mkdtemp(prefix="honed-bench-smac-")
        scenario = smac.Scenario(
            self._space,
            deterministic=True,
            n_trials=max(n_trials, 1),
            seed=seed,
            output_directory=self._dir,
        )
        facade = getattr(smac, _FACADES[algorithm])
        self._smac = facade(
            scenario,
            target_function=_never_called,
            overwrite=True,
            logging_level=40,
            **options,
        )
        # SMAC writes its run history to the output folder after each tell; that I/O is part
        # of SMAC's overhead as shipped, so it is timed like the rest.

    def ask(self) -> tuple[Any, dict[str, Any]]:
        from smac.main.exceptions import ConfigurationSpaceExhaustedException

        if self._exhausted is not None:
            return None, dict(self._exhausted)
        try:
            info = self._smac.ask()
        except ConfigurationSpaceExhaustedException:
            # SMAC never repeats a configuration and gives up once a small discrete space is
            # used up (sklearn-knn-*: 100 configurations; its ask generator is dead after
            # that); the run then holds at its best configuration, re-evaluated and not told,
            # instead of failing the whole run.
            incumbent = self._smac.intensifier.get_incumbent()
            if incumbent is None:
                raise
            self._exhausted = {k: self._decoders[k](v) for k, v in dict(incumbent).items()}
            return None, dict(self._exhausted)
        params = {k: self._decoders[k](v) for k, v in dict(info.config).items()}
        return info, params

    def tell(self, handle: Any, values: Sequence[float] | None) -> None:
        if handle is None:
            return  # a re-evaluation of the incumbent after SMAC ran out of configurations
        if values is None:
            from smac.runhistory.enumerations import StatusType

            # A crash costs the worst cost seen so far (SMAC's crash_cost is meant to be a
            # finite value; an infinite one makes its random forest fail on NaN targets).
            cost = self._worst if self._worst is not None else 1e10
            self._smac.tell(handle, self._trial_value(cost=cost, status=StatusType.CRASHED))
        else:
            cost = self._sign * float(values[0])
            self._worst = cost if self._worst is None else max(self._worst, cost)
            self._smac.tell(handle, self._trial_value(cost=cost))

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_dir", ""), ignore_errors=True)


def _never_called(config: Any, seed: int = 0) -> float:
    raise RuntimeError("the benchmark drives SMAC through ask/tell; the target is not called.")
