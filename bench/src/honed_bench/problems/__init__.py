"""Benchmark problems, by suite: ``synthetic``, ``sklearn``, ``conditional``,
``multiobjective``, ``simplex`` (mixture weights) and ``dev`` (the development suite of
issue 20: 78 problems in 9 families, for leave-one-family-out choices) and ``categorical``
(categorical-heavy pipelines, held out from it)."""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Iterable

from honed_bench.problems.base import Problem

__all__ = ["Problem", "SUITES", "all_problems", "get_problem", "select_problems"]

# suite name -> module exposing PROBLEMS: list[Problem]
SUITES: dict[str, str] = {
    "synthetic": "honed_bench.problems.synthetic",
    "sklearn": "honed_bench.problems.sklearn_models",
    "conditional": "honed_bench.problems.conditional",
    "multiobjective": "honed_bench.problems.multiobjective",
    "simplex": "honed_bench.problems.simplex",
    "dev": "honed_bench.problems.dev",
    "categorical": "honed_bench.problems.categorical",
}

_CACHE: dict[str, list[Problem]] = {}


def _suite(name: str) -> list[Problem]:
    if name not in _CACHE:
        try:
            mod = importlib.import_module(SUITES[name])
        except ModuleNotFoundError as e:
            if e.name == SUITES[name]:
                _CACHE[name] = []  # that suite is not written yet
                return []
            raise
        _CACHE[name] = list(mod.PROBLEMS)
    return _CACHE[name]


def all_problems(suites: Iterable[str] | None = None) -> list[Problem]:
    """Every problem of the given suites (all suites when ``None``)."""
    names = list(SUITES) if suites is None else list(suites)
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        raise ValueError(f"unknown suite(s) {unknown}; choose from {list(SUITES)}.")
    return [p for s in names for p in _suite(s)]


def get_problem(name: str) -> Problem:
    """A problem by name; synthetic functions also at any dimension (``"levy-7"``)."""
    for p in all_problems():
        if p.name == name:
            return p
    from honed_bench.problems.synthetic import parametric

    p = parametric(name)
    if p is not None:
        return p
    raise ValueError(f"unknown problem {name!r}; `honed-bench --list` shows them all.")


def select_problems(
    suites: Iterable[str] | None = None, patterns: Iterable[str] | None = None
) -> list[Problem]:
    """Problems of ``suites`` whose name matches any of the shell ``patterns`` (``branin``,
    ``ackley-*``); with patterns and no suites, all suites are searched."""
    pats = [p for p in (patterns or []) if p]
    pool = all_problems(suites if suites else None)
    if not pats:
        return pool
    out = [p for p in pool if any(fnmatch.fnmatchcase(p.name, pat) for pat in pats)]
    for pat in pats:
        if not any(fnmatch.fnmatchcase(p.name, pat) for p in pool):
            raise ValueError(f"no problem matches {pat!r}; `honed-bench --list` shows the names.")
    return out
