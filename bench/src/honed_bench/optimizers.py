"""Optimizers the benchmark can run, by name: ``honed:<sampler>`` for any honed sampler and
``<peer>:<algorithm>`` for other libraries (Optuna; SMAC3, HEBO, Nevergrad and OptunaHub's
AutoSampler when installed).

Every optimizer is wrapped in an :class:`~honed_bench.adapter.Adapter` with the same ask/tell
protocol over a problem's declarative honed space, so the runner times and scores them
identically. Adding a peer means writing one small ``Adapter`` subclass (in
:mod:`honed_bench.peers`) and one :func:`register` call; the runner, CLI and reports need no
change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from honed_bench.adapter import Adapter, MissingOptimizerError
from honed_bench.peers import (
    hebo_adapter,
    honed_adapter,
    nevergrad_adapter,
    optuna_adapter,
    smac_adapter,
)
from honed_bench.peers.optuna_adapter import to_optuna_params
from honed_bench.problems.base import Problem

__all__ = [
    "Adapter",
    "MissingOptimizerError",
    "available_optimizers",
    "check_optimizer",
    "make_optimizer",
    "parse_options",
    "register",
    "split_optimizers",
    "to_optuna_params",
]

# factory(problem, seed, algorithm, n_trials, options) -> Adapter
Factory = Callable[[Problem, int, str, int, dict[str, Any]], Adapter]
_REGISTRY: dict[str, tuple[Factory, Callable[[str], None] | None, str]] = {}


def register(
    prefix: str,
    factory: Factory,
    description: str,
    check: Callable[[str], None] | None = None,
) -> None:
    """Make ``prefix:<algorithm>`` names resolve through ``factory``; ``check(algorithm)``
    raises early (in the parent, not in a worker) when the algorithm cannot run here."""
    _REGISTRY[prefix] = (factory, check, description)


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
            "'optuna:tpe'; `honed-bench --list` shows them."
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
    checker = _REGISTRY[prefix][1]
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


register(
    "honed",
    honed_adapter.HonedAdapter,
    "honed samplers by name (honed.samplers.sampler_names())",
    honed_adapter.check_honed,
)
register(
    "optuna",
    optuna_adapter.OptunaAdapter,
    "Optuna samplers with library defaults; auto: OptunaHub's AutoSampler from a local registry",
    optuna_adapter.check_optuna,
)
register(
    "smac",
    smac_adapter.SmacAdapter,
    "SMAC3 facades: hpo (random forest), bo (Gaussian process)",
    smac_adapter.check_smac,
)
register(
    "hebo",
    hebo_adapter.HeboAdapter,
    "HEBO 0.3.6 (GP + MACE); slow, seconds per suggestion",
    hebo_adapter.check_hebo,
)
register(
    "nevergrad",
    nevergrad_adapter.NevergradAdapter,
    "Nevergrad: ngopt (NGOpt, its recommended default), random (RandomSearch)",
    nevergrad_adapter.check_nevergrad,
)

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
    "optuna:auto",
    "smac:hpo",
    "smac:bo",
    "hebo:hebo",
    "nevergrad:ngopt",
    "nevergrad:random",
]
