"""HEBO (0.3.6, Huawei's winner of the NeurIPS 2020 black-box challenge) as a benchmark peer.

HEBO has no conditional spaces, so a tree-shaped honed space is flattened (every branch's
parameters always exist; the objective only receives the active ones, found by walking the
tree with the suggested values). Categorical options are passed as index strings, stepped
parameters as integers over the step index, log floats as HEBO's ``pow`` type and log integers
as ``pow_int``. Install beside numpy 2 with ``pip install hebo==0.3.6 --no-deps`` plus
``pandas pymoo gpytorch disjoint-set``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Float, Int, flatten_space, load_space
from honed_bench.adapter import Adapter, MissingOptimizerError
from honed_bench.problems.base import Problem

__all__ = ["HeboAdapter", "check_hebo", "to_hebo_space"]

Decoder = Callable[[Any], Any]


def check_hebo(algorithm: str) -> None:
    if algorithm != "hebo":
        raise ValueError(f"unknown HEBO algorithm {algorithm!r}; use 'hebo:hebo'.")
    # Look the modules up without importing them: importing HEBO pulls in torch and gpytorch
    # (seconds, and deprecation warnings), which `--list` and argument checks should not pay.
    from importlib.util import find_spec

    missing = [
        m for m in ("hebo", "pandas", "pymoo", "gpytorch", "disjoint_set") if not find_spec(m)
    ]
    if missing:
        raise MissingOptimizerError(
            f"HEBO needs {missing} (`pip install hebo==0.3.6 --no-deps` plus `pip install "
            "pandas pymoo gpytorch disjoint-set`)."
        )


def to_hebo_space(
    space: Mapping[str, Distribution],
) -> tuple[list[dict[str, Any]], dict[str, Decoder]]:
    """HEBO ``DesignSpace.parse`` entries for the flattened space, and decoders back."""
    entries: list[dict[str, Any]] = []
    decoders: dict[str, Decoder] = {}
    for name, d in flatten_space(load_space(space)).items():
        if d.is_single:
            # A one-value range is not a search dimension.
            value = d.choices[0] if isinstance(d, Choice) else d.low  # type: ignore[attr-defined]
            decoders[name] = lambda _v, value=value: value
            continue
        if isinstance(d, Float):
            if d.step is not None:
                n = d.n_steps
                assert n is not None
                entries.append({"name": name, "type": "int", "lb": 0, "ub": n - 1})
                decoders[name] = lambda k, d=d: min(d.low + int(k) * d.step, d.high)
            elif d.log:
                entries.append({"name": name, "type": "pow", "lb": d.low, "ub": d.high, "base": 10})
                decoders[name] = lambda v, d=d: min(max(float(v), d.low), d.high)
            else:
                entries.append({"name": name, "type": "num", "lb": d.low, "ub": d.high})
                decoders[name] = lambda v, d=d: min(max(float(v), d.low), d.high)
        elif isinstance(d, Int):
            if d.step != 1:
                entries.append({"name": name, "type": "int", "lb": 0, "ub": d.n_values - 1})
                decoders[name] = lambda k, d=d: d.low + int(k) * d.step
            elif d.log:
                entries.append({"name": name, "type": "pow_int", "lb": d.low, "ub": d.high})
                decoders[name] = lambda v, d=d: min(max(int(v), d.low), d.high)
            else:
                entries.append({"name": name, "type": "int", "lb": d.low, "ub": d.high})
                decoders[name] = lambda v, d=d: min(max(int(v), d.low), d.high)
        elif isinstance(d, Choice):
            cats = [str(i) for i in range(len(d.choices))]
            entries.append({"name": name, "type": "cat", "categories": cats})
            decoders[name] = lambda s, d=d: d.choices[int(s)]
        else:
            raise TypeError(f"parameter {name!r}: unsupported distribution {d!r}")
    return entries, decoders


def _active(space: Mapping[str, Distribution], flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(sub: Mapping[str, Distribution]) -> None:
        for name, d in sub.items():
            out[name] = flat[name]
            if isinstance(d, Choice) and d.branches and d.branches.get(flat[name]):
                walk(d.branches[flat[name]])

    walk(space)
    return out


class HeboAdapter(Adapter):
    """HEBO with its defaults (GP surrogate, MACE acquisition optimized by NSGA-II)."""

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
        check_hebo(algorithm)
        self.require_single_objective("hebo")
        import torch
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        torch.set_num_threads(1)  # one worker process per core
        torch.manual_seed(seed)
        np.random.seed(seed)  # HEBO samples with numpy's global generator
        self._space = load_space(problem.space)
        entries, self._decoders = to_hebo_space(self._space)
        self._sign = 1.0 if problem.directions[0] == "minimize" else -1.0
        self._opt = HEBO(DesignSpace().parse(entries), scramble_seed=seed, **options)

    def ask(self) -> tuple[Any, dict[str, Any]]:
        rec = self._opt.suggest(n_suggestions=1)
        row = rec.iloc[0].to_dict()
        flat = {k: dec(row.get(k)) for k, dec in self._decoders.items()}
        return rec, _active(self._space, flat)

    def tell(self, handle: Any, values: Sequence[float] | None) -> None:
        if values is None:
            return  # HEBO has no notion of a failed trial; leave it unobserved
        self._opt.observe(handle, np.array([[self._sign * float(values[0])]]))
