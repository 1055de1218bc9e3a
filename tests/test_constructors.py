"""Public constructors take real, documented options only: no ``**kwargs`` catch-alls that
swallow typos, and every argument is named in the class's docstring."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

MODULES = ["honed", "honed.samplers", "honed.schedulers", "honed.storage", "honed.execution"]


def _public_classes() -> list[tuple[str, type]]:
    found: dict[str, type] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(found.items())


CLASSES = _public_classes()
# Built by honed and handed to user code, never constructed by users.
MADE_BY_HONED = {"honed.study._study.Study", "honed.execution._remote.RemoteTrial"}


def test_there_are_classes_to_check() -> None:
    names = [name for name, _ in CLASSES]
    assert any(name.endswith("NSGAIIISampler") for name in names)
    assert any(name.endswith("ASHA") for name in names)


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[n for n, _ in CLASSES])
def test_every_argument_is_documented(name: str, cls: type) -> None:
    init = cls.__dict__.get("__init__")
    if init is None or getattr(cls, "_is_protocol", False) or dataclasses.is_dataclass(cls):
        return  # records document their fields as attributes
    if name in MADE_BY_HONED:
        return
    # A subclass may point to its base's arguments (ASHA to SuccessiveHalving's).
    docs = "\n".join(
        f"{k.__doc__ or ''}\n{getattr(k.__dict__.get('__init__'), '__doc__', '') or ''}"
        for k in cls.__mro__
    )
    undocumented = [
        p.name
        for p in list(inspect.signature(init).parameters.values())[1:]
        if not p.name.startswith("_") and p.name not in docs
    ]
    assert not undocumented, f"{name}: document {undocumented} in its docstring"


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[n for n, _ in CLASSES])
def test_no_catch_all_keyword_arguments(name: str, cls: type) -> None:
    init = cls.__dict__.get("__init__")
    if init is None or getattr(cls, "_is_protocol", False):
        return  # inherited (checked where defined), or a typing.Protocol
    params = inspect.signature(init).parameters.values()
    catch_all = [p.name for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    assert not catch_all, f"{name}.__init__ takes **{catch_all[0]}: name each option"
    private = [p.name for p in inspect.signature(init).parameters.values() if p.name[0] == "_"]
    assert not private, f"{name}.__init__ takes private options {private}: the bench owns those"
