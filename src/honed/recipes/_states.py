"""Weight averaging: the arithmetic of a soup, on PyTorch ``state_dict`` s or on mappings of
names to numpy arrays.

Floating-point entries are averaged (in float64, cast back to their dtype). Integer and bool
entries, such as BatchNorm's ``num_batches_tracked``, and anything that is not a number, are
counts and flags rather than weights: they are taken from the first state (the best model)
and listed in :attr:`Mix.kept`. torch is imported only when a state holds torch tensors.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["Mix", "average_states"]


def _is_torch(value: Any) -> bool:
    return type(value).__module__.split(".", 1)[0] == "torch"


class Mix:
    """A running sum of states with matching keys and shapes; :meth:`mean` is their average.

    Each state is checked against the first one added (the reference) and an incompatible
    one is refused with the key and both labels in the message, before anything changes.
    """

    def __init__(self) -> None:
        self.count = 0
        self.kept: list[str] = []
        self._ref: Mapping[str, Any] | None = None
        self._ref_label = ""
        self._sums: dict[str, Any] = {}
        self._torch: Any = None

    def check(self, state: Any, label: str) -> Mapping[str, Any]:
        """``state`` if it can join, else a ValueError/TypeError naming ``label`` and the key."""
        if not isinstance(state, Mapping):
            raise TypeError(
                f"{label} is a {type(state).__name__}, not a mapping of names to arrays (a "
                "state_dict); pass checkpoint= to pick the weights out of what was saved."
            )
        if not state:
            raise ValueError(f"{label} is an empty mapping: there are no weights to average.")
        for key, value in state.items():
            if not isinstance(key, str):
                raise TypeError(f"{label} has a key {key!r} that is not a string.")
            if isinstance(value, Mapping):
                raise TypeError(
                    f"{label}: key {key!r} holds a mapping; soups average flat mappings of "
                    f"arrays, so pass checkpoint={key!r} (or a function) to pick the weights."
                )
        ref = self._ref
        if ref is None:
            return state
        missing = [k for k in ref if k not in state]
        if missing:
            raise ValueError(
                f"{label} lacks key {missing[0]!r} that {self._ref_label} has; soups need "
                "models of one architecture (fine-tuned from one initialisation)."
            )
        extra = [k for k in state if k not in ref]
        if extra:
            raise ValueError(
                f"{label} has key {extra[0]!r} that {self._ref_label} lacks; soups need "
                "models of one architecture (fine-tuned from one initialisation)."
            )
        for key, value in state.items():
            want = ref[key]
            if _is_torch(want) != _is_torch(value):
                kinds = ["a numpy array", "a torch tensor"]
                raise TypeError(
                    f"key {key!r}: {label} holds {kinds[_is_torch(value)]}, "
                    f"{self._ref_label} {kinds[_is_torch(want)]}; save every trial's weights "
                    "the same way."
                )
            if _averaged(want) != _averaged(value):
                raise TypeError(
                    f"key {key!r}: {label} holds {_kind(value)} values, {self._ref_label} "
                    f"{_kind(want)}; save every trial's weights the same way."
                )
            got_shape, want_shape = _shape(value), _shape(want)
            if got_shape != want_shape:
                raise ValueError(
                    f"key {key!r}: {label} has shape {got_shape}, {self._ref_label} has "
                    f"{want_shape}; soups need models of one architecture."
                )
        return state

    def add(self, state: Any, label: str) -> None:
        """Add ``state`` (checked first) to the sum."""
        state = self.check(state, label)
        if self._ref is None:
            self._ref, self._ref_label = state, label
            self.kept = [k for k, v in state.items() if not _averaged(v)]
            self._sums = {k: _as_float64(v) for k, v in state.items() if _averaged(v)}
        else:
            for key in self._sums:
                self._sums[key] = self._sums[key] + _as_float64(state[key], like=self._sums[key])
        self.count += 1

    def mean(self, extra: Mapping[str, Any] | None = None) -> Any:
        """The average of the states added (and of ``extra``, if given, without adding it):
        a state of the reference's kind, dtypes and devices."""
        assert self._ref is not None, "nothing added"
        n = self.count + (extra is not None)
        out: dict[str, Any] = OrderedDict() if isinstance(self._ref, OrderedDict) else {}
        for key, want in self._ref.items():
            if key not in self._sums:
                out[key] = want
                continue
            total = self._sums[key]
            if extra is not None:
                total = total + _as_float64(extra[key], like=total)
            out[key] = _cast_like(total / n, want)
        metadata = getattr(self._ref, "_metadata", None)  # torch's per-module versions
        if metadata is not None:
            out._metadata = metadata  # type: ignore[attr-defined]
        return out


def _shape(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    return tuple(int(s) for s in shape) if shape is not None else ()


def _kind(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return str(dtype) if dtype is not None else type(value).__name__


def _averaged(value: Any) -> bool:
    """Floating-point arrays, tensors and Python floats are averaged; the rest is kept."""
    if _is_torch(value):
        return bool(getattr(value, "is_floating_point", lambda: False)()) or bool(
            getattr(value, "is_complex", lambda: False)()
        )
    if isinstance(value, np.ndarray | np.generic):
        return bool(np.issubdtype(value.dtype, np.inexact))
    return isinstance(value, float)


def _as_float64(value: Any, like: Any = None) -> Any:
    if _is_torch(value):
        import torch

        target = torch.complex128 if value.is_complex() else torch.float64
        device = like.device if like is not None and hasattr(like, "device") else value.device
        return value.detach().to(device=device, dtype=target)
    arr = np.asarray(value)
    return arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64)


def _cast_like(avg: Any, want: Any) -> Any:
    if _is_torch(want):
        return avg.to(dtype=want.dtype)
    if isinstance(want, float):
        return float(avg)
    if isinstance(want, np.generic):
        return want.dtype.type(avg)
    return np.asarray(avg).astype(want.dtype)


def average_states(states: list[Any], labels: list[str] | None = None) -> Any:
    """The uniform average of ``states`` (``state_dict`` s or mappings of numpy arrays), with
    integer and bool entries taken from the first. ``labels`` name the states in errors."""
    if not states:
        raise ValueError("average_states needs at least one state.")
    labels = labels or [f"state {i}" for i in range(len(states))]
    mix = Mix()
    for state, label in zip(states, labels, strict=True):
        mix.add(state, label)
    return mix.mean()
