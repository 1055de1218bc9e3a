"""Optuna's samplers as benchmark peers: ``optuna:<tpe|random|cmaes|gp|nsga2|nsga3|qmc>``,
library defaults with only the seed set (and the bracket options, if any).

``optuna:auto`` is OptunaHub's AutoSampler. It is on no package registry: the ``optunahub``
wheel carries only the loader, and ``optunahub.load_module`` downloads the sampler's source
from the registry's GitHub repository at run time. Offline, the benchmark loads it from a
local copy of that repository with ``optunahub.load_local_module``: set
``HONED_BENCH_OPTUNAHUB_REGISTRY`` to the copy's ``package`` folder (the one holding
``samplers/auto_sampler``). Without it, ``optuna:auto`` is listed as unavailable and says why.

Optuna has no simplex parameter. A ``honed.Simplex`` is suggested the ways Optuna users write
one, chosen by the adapter option ``simplex`` (not passed to the sampler):

* ``normalize`` (default): ``k`` independent floats in ``[0, 1]``, divided by their sum;
* ``exp``: ``k`` floats ``u`` in ``[0, 1]`` read as ``-log(1 - u)`` and normalized (Optuna's
  FAQ recipe for Dirichlet-distributed proportions: random search is then uniform on the
  simplex).

Both give ``min_weight + (1 - k * min_weight) * share`` per component (uniform weights when
every float is 0), with the last weight fixed so the sum is 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Float, Int, Simplex
from honed_bench.adapter import Adapter, MissingOptimizerError
from honed_bench.problems.base import Problem

__all__ = [
    "OPTUNA_ALGOS",
    "SIMPLEX_ENCODINGS",
    "OptunaAdapter",
    "check_optuna",
    "simplex_from_raw",
    "to_optuna_params",
]

OPTUNA_ALGOS = ("tpe", "random", "cmaes", "gp", "nsga2", "nsga3", "qmc", "auto")
OPTUNAHUB_ENV = "HONED_BENCH_OPTUNAHUB_REGISTRY"
AUTO_SAMPLER_PACKAGE = "samplers/auto_sampler"
SIMPLEX_ENCODINGS = ("normalize", "exp")


def simplex_from_raw(
    name: str, d: Simplex, raw: Sequence[float], encoding: str = "normalize"
) -> dict[str, float]:
    """The workaround's weights from ``k`` independent floats in ``[0, 1]`` (see the module
    docstring); peers without a simplex parameter (Nevergrad too) share it."""
    u = np.asarray(raw, dtype=float)
    x = -np.log1p(-np.minimum(u, 1.0 - 2.0**-53)) if encoding == "exp" else u
    k = len(u)
    share = x / x.sum() if x.sum() > 0 else np.full(k, 1.0 / k)
    w = [d.min_weight + (1.0 - k * d.min_weight) * float(s) for s in share]
    w[-1] = 1.0 - sum(w[:-1])
    return {f"{name}.{c}": v for c, v in zip(d.components, w, strict=True)}


def _suggest_simplex(trial: Any, name: str, d: Simplex, encoding: str) -> dict[str, float]:
    """The workaround: ``k`` independent floats, normalized (see the module docstring)."""
    raw = [trial.suggest_float(f"{name}.{c}.raw", 0.0, 1.0) for c in d.components]
    return simplex_from_raw(name, d, raw, encoding)


def to_optuna_params(
    trial: Any, space: Mapping[str, Distribution | Simplex], simplex: str = "normalize"
) -> dict[str, Any]:
    """Suggest every parameter of a honed (possibly tree-shaped) space on an Optuna trial,
    define-by-run: a ``Choice`` with branches suggests its option, then that option's
    sub-space; a ``Simplex`` its ``simplex`` encoding. Returns the honed-style params dict."""
    if simplex not in SIMPLEX_ENCODINGS:
        raise ValueError(f"simplex encoding must be one of {SIMPLEX_ENCODINGS}, got {simplex!r}.")
    params: dict[str, Any] = {}

    def walk(sub: Mapping[str, Distribution | Simplex]) -> None:
        for name, d in sub.items():
            if isinstance(d, Simplex):
                params.update(_suggest_simplex(trial, name, d, simplex))
            elif isinstance(d, Float):
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


def optuna_sampler(algorithm: str, seed: int, options: dict[str, Any] | None = None) -> Any:
    """Optuna's sampler ``algorithm`` with ``seed`` and ``options``."""
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
    if algorithm == "auto":
        algos["auto"] = lambda: _auto_sampler_module().AutoSampler(seed=seed, **kw)
    if algorithm not in algos:
        raise ValueError(f"unknown Optuna sampler {algorithm!r}; choose from {sorted(algos)}.")
    with warnings.catch_warnings():
        # ExperimentalWarning for some samplers: they are what we compare against, as they are.
        warnings.simplefilter("ignore")
        return algos[algorithm]()


def _auto_sampler_root() -> str:
    """The local OptunaHub registry folder holding AutoSampler, or MissingOptimizerError
    saying why there is none (see the module docstring)."""
    import os
    from importlib.util import find_spec

    why = (
        "OptunaHub's AutoSampler is on no package registry (the optunahub wheel holds only "
        "the loader; optunahub.load_module downloads the sampler from GitHub, which an "
        "offline machine cannot reach)"
    )
    if not find_spec("optunahub"):
        raise MissingOptimizerError(
            f"{why}; `pip install optunahub` for the loader, then set {OPTUNAHUB_ENV} to the "
            "'package' folder of a local copy of the optunahub-registry repository."
        )
    root = os.environ.get(OPTUNAHUB_ENV, "")
    if not root:
        raise MissingOptimizerError(
            f"{why}, and {OPTUNAHUB_ENV} is not set: set it to the 'package' folder of a "
            "local copy of the optunahub-registry repository."
        )
    init = os.path.join(root, *AUTO_SAMPLER_PACKAGE.split("/"), "__init__.py")
    if not os.path.isfile(init):
        raise MissingOptimizerError(
            f"{OPTUNAHUB_ENV}={root!r} holds no {AUTO_SAMPLER_PACKAGE}/__init__.py; it must be "
            "the 'package' folder of a local copy of the optunahub-registry repository."
        )
    return root


def _auto_sampler_module() -> Any:
    import optunahub

    return optunahub.load_local_module(AUTO_SAMPLER_PACKAGE, registry_root=_auto_sampler_root())


def check_optuna(algorithm: str) -> None:
    try:
        import optuna  # noqa: F401
    except ImportError as e:
        raise MissingOptimizerError(
            "Optuna is not installed; `pip install 'honed-bench[peers]'` installs the peers."
        ) from e
    if algorithm not in OPTUNA_ALGOS:
        raise ValueError(
            f"unknown Optuna sampler {algorithm!r}; choose from {sorted(OPTUNA_ALGOS)}."
        )
    if algorithm == "auto":
        _auto_sampler_root()


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
        check_optuna(algorithm)
        import optuna

        options = dict(options or {})
        self._simplex = str(options.pop("simplex", "normalize"))
        if self._simplex not in SIMPLEX_ENCODINGS:
            raise ValueError(
                f"optuna:{algorithm}[simplex=...] must be one of {SIMPLEX_ENCODINGS}, got "
                f"{self._simplex!r}."
            )

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self._fail = optuna.trial.TrialState.FAIL
        self.study = optuna.create_study(
            directions=list(problem.directions),
            sampler=optuna_sampler(algorithm, seed, options),
        )

    def ask(self) -> tuple[Any, dict[str, Any]]:
        trial = self.study.ask()
        return trial, to_optuna_params(trial, self.problem.space, self._simplex)

    def tell(self, handle: Any, values: Sequence[float] | None) -> None:
        if values is None:
            self.study.tell(handle, state=self._fail)
        else:
            self.study.tell(handle, list(values) if len(values) > 1 else values[0])

    def tell_pruned(self, handle: Any, curve: Sequence[float]) -> None:
        import optuna

        for step, loss in enumerate(curve):  # (pruning problems minimize)
            handle.report(loss, step)
        self.study.tell(handle, state=optuna.trial.TrialState.PRUNED)
