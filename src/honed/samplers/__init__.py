"""Samplers: what to try next. Each is a pure decision over a read-only history."""

from __future__ import annotations

from typing import Any

from honed.samplers.base import Sampler, intersection_space
from honed.samplers.grid import GridSampler
from honed.samplers.qmc import QMCSampler
from honed.samplers.random import RandomSampler

__all__ = [
    "GridSampler",
    "QMCSampler",
    "RandomSampler",
    "Sampler",
    "get_sampler",
    "intersection_space",
    "register_sampler",
]

_REGISTRY: dict[str, str] = {
    "random": "honed.samplers.random:RandomSampler",
    "qmc": "honed.samplers.qmc:QMCSampler",
    "sobol": "honed.samplers.qmc:QMCSampler",
    "tpe": "honed.samplers.tpe:TPESampler",
    "gp": "honed.samplers.gp:GPSampler",
    # The default: CMA-ES, GP-BO or TPE by space and history (issue 4).
    "auto": "honed.samplers.auto:AutoSampler",
    "cmaes": "honed.samplers.cmaes:CmaEsSampler",
    "nsga2": "honed.samplers.nsga:NSGAIISampler",
    "nsga3": "honed.samplers.nsga:NSGAIIISampler",
}


def register_sampler(name: str, target: str) -> None:
    """Make ``sampler=name`` resolve to ``target`` (``"module:ClassName"``)."""
    _REGISTRY[name.lower()] = target


def get_sampler(sampler: Sampler | str | None, seed: int | None = None, **kwargs: Any) -> Sampler:
    """A sampler from an instance (returned as is), a name, or ``None`` (the default)."""
    if isinstance(sampler, Sampler):
        return sampler
    if sampler is None:
        # The AutoSampler (CMA-ES/GP/TPE by space and history): on the issue-4 panel (honed
        # bench, 12 problems, 100 trials, 10 seeds) mean regret 0.067 vs TPE 0.127.
        sampler = "auto"
    if not isinstance(sampler, str):
        raise TypeError(f"sampler must be a Sampler or a name, got {type(sampler).__name__}.")
    key = sampler.lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"unknown sampler {sampler!r}; choose one of {sorted(_REGISTRY)} or pass an instance."
        )
    import importlib

    module, _, cls = _REGISTRY[key].partition(":")
    return getattr(importlib.import_module(module), cls)(seed=seed, **kwargs)
