"""Nevergrad (1.x, Meta's gradient-free optimization library) as a benchmark peer, through its
ask/tell interface: ``nevergrad:ngopt`` (NGOpt, the optimizer Nevergrad recommends by default:
it picks an algorithm from the space's shape, the budget and the number of workers) and
``nevergrad:random`` (its RandomSearch). The budget given to Nevergrad is the run's
``n_trials``; the seed is the parametrization's random state.

Nevergrad has no conditional spaces, so a tree-shaped honed space is flattened as for HEBO:
every branch's parameters always exist in the ``ng.p.Dict``, and the objective only receives
the active ones, found by walking the tree with the suggested values. (Nevergrad's own way to
nest, a ``ng.p.Choice`` over sub-parametrizations, also keeps every branch's coordinates in
the optimizer's vector, so flattening loses nothing the optimizer would have used.)

Translation: floats are ``ng.p.Scalar`` (``ng.p.Log`` for log floats), integers the same with
integer casting, stepped parameters integer-cast scalars over the step index, categorical
options an unordered ``ng.p.Choice`` over their indices (so any honed option type round-trips),
and a ``honed.Simplex`` ``k`` floats in ``[0, 1]`` normalized as in the Optuna adapter's default
``normalize`` encoding (Nevergrad has no simplex parameter either). Single-objective problems
only: Nevergrad's multi-objective mode scalarizes by hypervolume, which is not the comparison
the multi-objective suite makes. Install with ``pip install 'nevergrad>=1.0'``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from honed.space import Choice, Distribution, Float, Int, Simplex
from honed_bench.adapter import Adapter, MissingOptimizerError
from honed_bench.peers.optuna_adapter import simplex_from_raw
from honed_bench.problems.base import Problem

__all__ = ["NEVERGRAD_ALGOS", "NevergradAdapter", "check_nevergrad", "to_nevergrad"]

# honed-bench name -> Nevergrad registry name
NEVERGRAD_ALGOS = {"ngopt": "NGOpt", "random": "RandomSearch"}

# What a failed evaluation is told. Nevergrad has no failed-trial state; its own handling of a
# non-finite loss is to clip it to this ceiling (``Optimizer.tell``: "sys.float_info.max leads
# to numerical problems"), so a failure is told exactly what Nevergrad makes of inf or NaN,
# without its LossTooLargeWarning. Its constraint_violation argument is for a measured loss
# outside a feasible region, which a failed evaluation does not have.
FAILED_LOSS = 5.0e20

Space = Mapping[str, Distribution | Simplex]
Decode = Callable[[Mapping[str, Any]], dict[str, Any]]


def check_nevergrad(algorithm: str) -> None:
    if algorithm not in NEVERGRAD_ALGOS:
        raise ValueError(
            f"unknown Nevergrad optimizer {algorithm!r}; choose from {sorted(NEVERGRAD_ALGOS)}."
        )
    from importlib.util import find_spec  # importing nevergrad takes a second; only look it up

    if not find_spec("nevergrad"):
        raise MissingOptimizerError(
            "Nevergrad is not installed; `pip install 'nevergrad>=1.0'` (or "
            "`pip install 'honed-bench[peers]'`) installs it."
        )


def _clip(v: float, d: Float | Int) -> float:
    return min(max(v, d.low), d.high)


def to_nevergrad(space: Space, simplex: str = "normalize") -> tuple[dict[str, Any], Decode]:
    """The flattened space as Nevergrad parameters by name (for ``ng.p.Dict``), and a decoder
    from a candidate's ``value`` dict to the honed params of its active branches."""
    import nevergrad as ng

    dims: dict[str, Any] = {}

    def collect(sub: Space) -> None:
        for name, d in sub.items():
            if isinstance(d, Simplex):
                for c in d.components:
                    dims[f"{name}.{c}.raw"] = ng.p.Scalar(lower=0.0, upper=1.0)
                continue
            if not isinstance(d, Float | Int | Choice):
                raise TypeError(f"parameter {name!r}: unsupported distribution {d!r}")
            if d.is_single:
                continue  # a one-value range is not a search dimension
            if isinstance(d, Choice):
                dims[name] = ng.p.Choice(list(range(len(d.choices))))
                for branch in (d.branches or {}).values():
                    if branch:
                        collect(branch)
            elif isinstance(d, Float) and d.step is not None:
                n = d.n_steps
                assert n is not None
                dims[name] = ng.p.Scalar(lower=0, upper=n - 1).set_integer_casting()
            elif isinstance(d, Int) and d.step != 1:
                dims[name] = ng.p.Scalar(lower=0, upper=d.n_values - 1).set_integer_casting()
            else:
                kind = ng.p.Log if d.log else ng.p.Scalar
                p = kind(lower=d.low, upper=d.high)
                dims[name] = p.set_integer_casting() if isinstance(d, Int) else p

    def decode(values: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}

        def walk(sub: Space) -> None:
            for name, d in sub.items():
                if isinstance(d, Simplex):
                    raw = [values[f"{name}.{c}.raw"] for c in d.components]
                    params.update(simplex_from_raw(name, d, raw, simplex))
                elif isinstance(d, Choice):
                    value = d.choices[0] if d.is_single else d.choices[int(values[name])]
                    params[name] = value
                    if d.branches and d.branches.get(value):
                        walk(d.branches[value])
                elif d.is_single:
                    params[name] = d.low
                elif isinstance(d, Float):
                    v = values[name]
                    if d.step is not None:
                        params[name] = min(d.low + int(v) * d.step, d.high)
                    else:
                        params[name] = _clip(float(v), d)
                else:
                    v = values[name]
                    if d.step != 1:
                        params[name] = d.low + int(v) * d.step
                    else:
                        params[name] = int(_clip(int(round(v)), d))

        walk(space)
        return params

    collect(space)
    return dims, decode


class NevergradAdapter(Adapter):
    """A Nevergrad optimizer with its defaults, ``budget=n_trials`` and one worker."""

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
        check_nevergrad(algorithm)
        self.require_single_objective("nevergrad")
        simplex = str(options.pop("simplex", "normalize"))
        if options:
            raise ValueError(
                f"nevergrad:{algorithm} takes no options but simplex=normalize|exp, got {options}."
            )
        import nevergrad as ng

        self._ng = ng
        dims, self._decode = to_nevergrad(problem.space, simplex)
        if not dims:
            raise ValueError(f"{problem.name!r} has no search dimension for Nevergrad.")
        parametrization = ng.p.Dict(**dims)
        parametrization.random_state = np.random.RandomState(seed)
        self._sign = 1.0 if problem.directions[0] == "minimize" else -1.0
        optimizer_cls = ng.optimizers.registry[NEVERGRAD_ALGOS[algorithm]]
        self.optimizer = optimizer_cls(
            parametrization=parametrization, budget=max(n_trials, 1), num_workers=1
        )

    def ask(self) -> tuple[Any, dict[str, Any]]:
        candidate = self.optimizer.ask()
        return candidate, self._decode(candidate.value)

    def tell(self, handle: Any, values: Sequence[float] | None) -> None:
        if values is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", self._ng.errors.LossTooLargeWarning)
                self.optimizer.tell(handle, FAILED_LOSS)
        else:
            self.optimizer.tell(handle, self._sign * float(values[0]))
