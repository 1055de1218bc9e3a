"""Read-only dicts and lists: the containers of an immutable trial record.

They subclass ``dict`` and ``list``, so they compare equal to plain ones, serialize with
``json`` and pickle, and ``dict(x)``, ``x.copy()`` or ``{**x}`` give a mutable copy; only
changing them in place raises. (``types.MappingProxyType`` would break ``json.dumps`` and
pickling of records, and would leave nested attribute lists mutable.)
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["EMPTY", "FrozenDict", "FrozenList", "freeze"]


def _refuse(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(
        f"this {type(self).__name__} belongs to an immutable trial record; "
        "change a copy instead (dict(x) or list(x))."
    )


class FrozenDict(dict[Any, Any]):
    """A dict that cannot be changed in place."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[Any, Any]]]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A list that cannot be changed in place."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self


EMPTY = FrozenDict()


def freeze(value: Any) -> Any:
    """``value`` with every dict and list in it, at any depth, made read-only (the JSON-like
    values of attributes); other values are returned as they are."""
    if type(value) is FrozenDict or type(value) is FrozenList:
        return value
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()}) if value else EMPTY
    if isinstance(value, list):
        return FrozenList([freeze(v) for v in value])
    return value
