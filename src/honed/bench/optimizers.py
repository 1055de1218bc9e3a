"""Optimizers the benchmark can run, by name: ``honed:<sampler>`` for any honed sampler and
``<peer>:<algorithm>`` for other libraries (Optuna; SMAC3 and HEBO when installed).

Every optimizer is wrapped in an :class:`Adapter` with the same ask/tell protocol over a
problem's declarative honed space, so the runner times and scores them identically. Adding a
peer means writing one small ``Adapter`` subclass and one :func:`register` call; the runner,
CLI and reports need no change.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from honed.bench.problems.base import Problem
from honed.space import Choice, Distribution, Float, Int

__all__ = [
    "Adapter",
    "MissingOptimizerError",
    "available_optimizers",
    "make_optimizer",
    "parse_options",
    "register",
    "split_optimizers",
    "to_optuna_params",
]


class MissingOptimizerError(RuntimeError):
    """The named optimizer exists but cannot run here (an uninstalled library, a honed sampler
    that is not written yet)."""


class Adapter(ABC):
    """One optimizer on one problem, with one seed.

    ``ask`` returns ``(handle, params)``; ``tell`` takes the handle back with the objective
    value(s), or ``None`` when the evaluation failed. The runner times these two calls only,
    so everything the optimizer does per suggestion belongs inside them.
    """

    def __init__(self, problem: Problem, seed: int, n_trials: int = 1000) -> None:
        self.problem = problem
        self.seed = seed
        self.n_trials = n_trials  # the run's budget; some peers (SMAC) want it up front

    def _require_single_objective(self, peer: str) -> None:
        """Refuse a multi-objective problem for a peer that optimizes one objective only."""
        if self.problem.n_objectives != 1:
            raise MissingOptimizerError(
                f"the {peer} adapter runs single-objective problems only; "
                f"{self.problem.name!r} has {self.problem.n_objectives} objectives."
            )

    @abstractmethod
    def ask(self) -> tuple[Any, dict[str, Any]]: ...

    @abstractmethod
    def tell(self, handle: Any, values: Sequence[float] | None) -> None: ...


# name -> (factory(problem, seed, algorithm, n_trials, options) -> Adapter, description)
_Factory = Callable[[Problem, int, str, int, dict[str, Any]], Adapter]
_REGISTRY: dict[str, tuple[_Factory, str]] = {}


def register(prefix: str, factory: _Factory, description: str) -> None:
    """Make ``prefix:<algorithm>`` names resolve through ``factory``."""
    _REGISTRY[prefix] = (factory, description)


def _parse_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def parse_options(name: str) -> tuple[str, dict[str, Any]]:
    """Split ``"honed:tpe[n_startup_trials=5,multivariate=true]"`` into the base name and
    keyword options for the sampler's constructor (ints, floats, true/false/none, strings)."""
    if not name.endswith("]") or "[" not in name:
        return name, {}
    base, _, inner = name[:-1].partition("[")
    options: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in inner.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(
                f"optimizer option {item!r} in {name!r} must look like key=value, e.g. "
                "'honed:tpe[n_startup_trials=5]'."
            )
        options[key.strip()] = _parse_value(value)
    return base, options


def split_optimizers(text: str) -> list[str]:
    """Split a comma list of optimizer names, keeping commas inside ``[...]`` options."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [s for s in out if s]


def _split(name: str) -> tuple[str, str, dict[str, Any]]:
    name, options = parse_options(name)
    prefix, sep, algo = name.partition(":")
    if not sep or not algo:
        raise ValueError(
            f"optimizer {name!r} must look like 'library:algorithm', e.g. 'honed:tpe' or "
            "'optuna:tpe'; `honed bench --list` shows them."
        )
    if prefix not in _REGISTRY:
        raise ValueError(
            f"unknown optimizer library {prefix!r} in {name!r}; choose from {sorted(_REGISTRY)}."
        )
    return prefix, algo, options


def make_optimizer(name: str, problem: Problem, seed: int, n_trials: int = 1000) -> Adapter:
    """An adapter running optimizer ``name`` on ``problem`` with ``seed`` for a budget of
    ``n_trials``. Options in brackets go to the sampler's constructor."""
    prefix, algo, options = _split(name)
    return _REGISTRY[prefix][0](problem, seed, algo, n_trials, options)


def check_optimizer(name: str) -> None:
    """Raise a clear error now (not in a worker, later) when ``name`` cannot run here."""
    prefix, algo, _ = _split(name)
    checker = _CHECKS.get(prefix)
    if checker is not None:
        checker(algo)


def available_optimizers() -> list[tuple[str, str]]:
    """``(name, status)`` of every known optimizer name; status says whether it can run."""
    out = []
    for name in _KNOWN:
        try:
            check_optimizer(name)
            out.append((name, "ok"))
        except (MissingOptimizerError, ValueError) as e:
            out.append((name, f"unavailable: {e}"))
    return out


# ---- honed ---------------------------------------------------------------------------------


class HonedAdapter(Adapter):
    """A honed sampler driven through a real in-memory study, asked with the declarative space
    (so the timed part includes honed's own study and storage bookkeeping, as Optuna's does)."""

    def __init__(
        self,
        problem: Problem,
        seed: int,
        algorithm: str,
        n_trials: int,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(problem, seed, n_trials)
        import honed

        _check_honed(algorithm)
        from honed.samplers import get_sampler

        self.study = honed.create_study(
            directions=list(problem.directions),
            sampler=get_sampler(algorithm, seed=seed, **(options or {})),
        )

    def ask(self) -> tuple[Any, dict[str, Any]]:
        trial = self.study.ask(self.problem.space)
        return trial, dict(trial.params)

    def tell(self, handle: Any, values: Sequence[float] | None) -> None:
        from honed.trial import TrialState

        if values is None:
            self.study.tell(handle, state=TrialState.FAILED, fail_reason="evaluation failed")
        else:
            self.study.tell(handle, list(values))


def _check_honed(algorithm: str) -> None:
    from honed.samplers import _REGISTRY

    samplers = _REGISTRY

    if algorithm.lower() not in samplers:
        raise MissingOptimizerError(
            f"honed has no sampler named {algorithm!r} (yet); registered: {sorted(samplers)}."
        )
    module = samplers[algorithm.lower()].partition(":")[0]
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise MissingOptimizerError(
            f"honed sampler {algorithm!r} cannot be imported ({module}): {e}"
        ) from e


# ---- Optuna --------------------------------------------------------------------------------


def to_optuna_params(trial: Any, space: Mapping[str, Distribution]) -> dict[str, Any]:
    """Suggest every parameter of a honed (possibly tree-shaped) space on an Optuna trial,
    define-by-run: a ``Choice`` with branches suggests its option, then that option's
    sub-space. Returns the honed-style params dict."""
    params: dict[str, Any] = {}

    def walk(sub: Mapping[str, Distribution]) -> None:
        for name, d in sub.items():
            if isinstance(d, Float):
                if d.is_single:
                    params[name] = d.low
                    continue
                params[name] = trial.suggest_float(name, d.low, d.high, log=d.log, step=d.step)
            elif isinstance(d, Int):
                if d.is_single:
                    params[name] = d.low
                    continue
                params[name] = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
            elif isinstance(d, Choice):
                value = trial.suggest_categorical(name, list(d.choices))
                params[name] = value
                if d.branches and d.branches.get(value):
                    walk(d.branches[value])
            else:
                raise TypeError(f"parameter {name!r}: unsupported distribution {d!r}")

    walk(space)
    return params


_OPTUNA_ALGOS = ("tpe", "random", "cmaes", "gp", "nsga2", "nsga3", "qmc")


def _optuna_sampler(
    algorithm: str, seed: int, n_objectives: int, options: dict[str, Any] | None = None
) -> Any:
    import warnings

    import optuna

    kw = options or {}
    algos: dict[str, Callable[[], Any]] = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, **kw),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed, **kw),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed, **kw),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed, **kw),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed, **kw),
        "nsga3": lambda: optuna.samplers.NSGAIIISampler(seed=seed, **kw),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed, **kw),
    }
    if algorithm not in algos:
        raise ValueError(f"unknown Optuna sampler {algorithm!r}; choose from {sorted(algos)}.")
    with warnings.catch_warnings():
        # ExperimentalWarning for some samplers: they are what we compare against, as they are.
        warnings.simplefilter("ignore")
        return algos[algorithm]()


class OptunaAdapter(Adapter):
    """An Optuna sampler (library defaults, only the seed set) through ``study.ask``/``tell``
    with in-memory storage; the space is suggested define-by-run inside the timed ask."""

    def __init__(
        self,
        problem: Problem,
        seed: int,
        algorithm: str,
        n_trials: int,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(problem, seed, n_trials)
        _check_optuna(algorithm)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self._fail = optuna.trial.TrialState.FAIL
        self.study = optuna.create_study(
            directions=list(problem.directions),
            sampler=_optuna_sampler(algorithm, seed, problem.n_objectives, options),
        )

    def ask(self) -> tuple[Any, dict[str, Any]]:
        trial = self.study.ask()
        return trial, to_optuna_params(trial, self.problem.space)

    def tell(self, handle: Any, values: Sequence[float] | None) -> None:
        if values is None:
            self.study.tell(handle, state=self._fail)
        else:
            self.study.tell(handle, list(values) if len(values) > 1 else values[0])


def _check_optuna(algorithm: str) -> None:
    try:
        import optuna  # noqa: F401
    except ImportError as e:
        raise MissingOptimizerError(
            "Optuna is not installed; `pip install 'honed[bench]'` installs the peers."
        ) from e
    if algorithm not in _OPTUNA_ALGOS:
        raise ValueError(
            f"unknown Optuna sampler {algorithm!r}; choose from {sorted(_OPTUNA_ALGOS)}."
        )


def _smac(
    problem: Problem, seed: int, algorithm: str, n_trials: int, options: dict[str, Any]
) -> Adapter:
    from honed.bench.peer_smac import SmacAdapter

    return SmacAdapter(problem, seed, algorithm, n_trials, options)


def _check_smac(algorithm: str) -> None:
    from honed.bench.peer_smac import check_smac

    check_smac(algorithm)


def _hebo(
    problem: Problem, seed: int, algorithm: str, n_trials: int, options: dict[str, Any]
) -> Adapter:
    from honed.bench.peer_hebo import HeboAdapter

    return HeboAdapter(problem, seed, algorithm, n_trials, options)


def _check_hebo(algorithm: str) -> None:
    from honed.bench.peer_hebo import check_hebo

    check_hebo(algorithm)


register("honed", HonedAdapter, "honed samplers by registry name (honed.samplers.get_sampler)")
register("optuna", OptunaAdapter, "Optuna samplers with library defaults")
register("smac", _smac, "SMAC3 facades: hpo (random forest), bo (Gaussian process)")
register("hebo", _hebo, "HEBO 0.3.6 (GP + MACE); slow, seconds per suggestion")

_CHECKS: dict[str, Callable[[str], None]] = {
    "honed": _check_honed,
    "optuna": _check_optuna,
    "smac": _check_smac,
    "hebo": _check_hebo,
}

# Names `--list` shows; any registered sampler name works after `honed:`.
_KNOWN = [
    "honed:random",
    "honed:qmc",
    "honed:tpe",
    "honed:cmaes",
    "honed:gp",
    "honed:nsga2",
    "optuna:random",
    "optuna:qmc",
    "optuna:tpe",
    "optuna:cmaes",
    "optuna:gp",
    "optuna:nsga2",
    "smac:hpo",
    "smac:bo",
    "hebo:hebo",
]
