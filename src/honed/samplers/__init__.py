"""Samplers: what to try next. Each is a pure decision over a read-only history.

Every sampler is importable from here; the model-based ones load on first use, so
``import honed`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from honed.samplers.base import Sampler, intersection_space
from honed.samplers.grid import GridSampler
from honed.samplers.qmc import QMCSampler
from honed.samplers.random import RandomSampler

if TYPE_CHECKING:
    from honed.samplers.auto import AutoRules, AutoSampler
    from honed.samplers.cmaes import CmaEsSampler
    from honed.samplers.gp import GPPosterior, GPSampler, GPTuning
    from honed.samplers.multifidelity import MultiFidelitySampler, bohb
    from honed.samplers.nsga import NSGAIIISampler, NSGAIISampler
    from honed.samplers.tpe import TPESampler

__all__ = [
    "AutoRules",
    "AutoSampler",
    "CmaEsSampler",
    "GPPosterior",
    "GPSampler",
    "GPTuning",
    "GridSampler",
    "MultiFidelitySampler",
    "NSGAIIISampler",
    "NSGAIISampler",
    "QMCSampler",
    "RandomSampler",
    "Sampler",
    "TPESampler",
    "bohb",
    "get_sampler",
    "intersection_space",
    "register_sampler",
    "sampler_names",
]

# Samplers whose modules pull in scipy, cmaes or a model load on first use.
_LAZY = {
    "AutoRules": "honed.samplers.auto",
    "AutoSampler": "honed.samplers.auto",
    "CmaEsSampler": "honed.samplers.cmaes",
    "GPPosterior": "honed.samplers.gp",
    "GPSampler": "honed.samplers.gp",
    "GPTuning": "honed.samplers.gp",
    "MultiFidelitySampler": "honed.samplers.multifidelity",
    "bohb": "honed.samplers.multifidelity",
    "NSGAIISampler": "honed.samplers.nsga",
    "NSGAIIISampler": "honed.samplers.nsga",
    "TPESampler": "honed.samplers.tpe",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'honed.samplers' has no attribute {name!r}")


_REGISTRY: dict[str, str] = {
    "random": "honed.samplers.random:RandomSampler",
    "qmc": "honed.samplers.qmc:QMCSampler",
    "sobol": "honed.samplers.qmc:QMCSampler",
    "tpe": "honed.samplers.tpe:TPESampler",
    "gp": "honed.samplers.gp:GPSampler",
    # The default: CMA-ES, GP-BO or TPE by space and history.
    "auto": "honed.samplers.auto:AutoSampler",
    "cmaes": "honed.samplers.cmaes:CmaEsSampler",
    "nsga2": "honed.samplers.nsga:NSGAIISampler",
    "nsga3": "honed.samplers.nsga:NSGAIIISampler",
}


def register_sampler(name: str, target: str) -> None:
    """Make ``sampler=name`` resolve to ``target`` (``"module:ClassName"``)."""
    _REGISTRY[name.lower()] = target


def sampler_names() -> list[str]:
    """The names ``sampler=`` accepts."""
    return sorted(_REGISTRY)


def get_sampler(sampler: Sampler | str | None, seed: int | None = None) -> Sampler:
    """A sampler from an instance (returned as is), a name, or ``None`` (the default, the
    :class:`AutoSampler`). A name builds the class with its defaults and ``seed``."""
    if isinstance(sampler, Sampler):
        return sampler
    if sampler is None:
        sampler = "auto"
    if not isinstance(sampler, str):
        raise TypeError(f"sampler must be a Sampler or a name, got {type(sampler).__name__}.")
    key = sampler.lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"unknown sampler {sampler!r}; choose one of {sampler_names()} or pass an instance."
        )
    module, _, cls = _REGISTRY[key].partition(":")
    sampler_cls: type[Sampler] = getattr(importlib.import_module(module), cls)
    return sampler_cls(seed=seed)
