"""Write docs/api.md: honed's public API, generated from each public module's ``__all__``.

    python scripts/gen_api_docs.py           # rewrite docs/api.md
    python scripts/gen_api_docs.py --check   # exit 1 when docs/api.md is stale

A public module is one whose dotted path has no part starting with ``_``. Each gets a section
with the first paragraph of its docstring, then every name in its ``__all__`` (lazily exported
ones are imported): its signature and the first paragraph of its docstring. A name re-exported
from a module already shown is listed by reference. Constants and type aliases are documented
by the comment block right above their assignment (``#:`` or ``#``). tests/test_docs.py fails
when the file is stale or a public name has no documentation.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import enum
import importlib
import inspect
import os
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

# Importing honed.integrations.keras imports Keras, whose default backend is TensorFlow, which
# honed does not install; the docs are built on the backend honed is tested with.
os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parent.parent
API_MD = ROOT / "docs" / "api.md"
FIX_COMMAND = "python scripts/gen_api_docs.py"


def public_modules() -> list[str]:
    """Dotted names of honed's public modules: ``honed`` first, then the rest in walk order."""
    import honed

    names = ["honed"]
    for info in pkgutil.walk_packages(honed.__path__, "honed."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        names.append(info.name)
    return names


def _first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "").strip()
    para = text.split("\n\n")[0].strip()
    # reST roles and literals as Markdown code.
    para = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", para)
    para = re.sub(r"``([^`]+)``", r"`\1`", para)
    return para


def own_docstring(obj: Any) -> str | None:
    """The docstring written for ``obj`` itself (not inherited, not a dataclass's generated
    one), or ``None``."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        if dataclasses.is_dataclass(obj) and doc and doc.startswith(obj.__name__ + "("):
            return None
        return doc.strip() if isinstance(doc, str) and doc.strip() else None
    if callable(obj) or inspect.ismodule(obj):
        doc = getattr(obj, "__doc__", None)
        return doc.strip() if isinstance(doc, str) and doc.strip() else None
    return None


def _is_data(obj: Any) -> bool:
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))


def _assignment(
    module_name: str, name: str
) -> tuple[str, ast.Assign | ast.AnnAssign | None, list[str]]:
    """The module that assigns ``name`` (following ``from x import name`` re-exports), the
    assignment and that module's source lines; no assignment when it is not found."""
    seen: set[str] = set()
    while module_name not in seen:
        seen.add(module_name)
        try:
            source = inspect.getsource(importlib.import_module(module_name))
        except (OSError, TypeError):
            break
        lines = source.splitlines()
        follow = None
        for node in ast.parse(source).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        follow = (node.module, alias.name)
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    return module_name, node, lines
        if follow is None:
            break
        module_name, name = follow
    return module_name, None, []


def data_source(module_name: str, name: str) -> tuple[str, str]:
    """``(comment, assignment)`` of a constant or type alias: the comment block right above
    its assignment and the assignment as written (a multi-line value shortened to ``{...}``);
    empty strings when there is no assignment to read."""
    _, node, lines = _assignment(module_name, name)
    if node is None:
        return "", ""
    comment: list[str] = []
    i = node.lineno - 2
    while i >= 0 and lines[i].lstrip().startswith("#"):
        comment.insert(0, lines[i].lstrip().lstrip("#:").strip())
        i -= 1
    text = name
    if isinstance(node, ast.AnnAssign):
        text += f": {ast.unparse(node.annotation)}"
    if node.value is not None:
        code = ast.unparse(node.value)
        if node.value.lineno != node.value.end_lineno or len(code) > 80:
            code = code[0] + "..." + code[-1] if code[0] in "{[(" else code[:77] + "..."
        text += f" = {code}"
    return " ".join(c for c in comment if c), text


def _annotation(ann: Any) -> str:
    return ann if isinstance(ann, str) else inspect.formatannotation(ann)


def _default(value: Any) -> str:
    if inspect.isroutine(value) or inspect.isclass(value):
        return value.__qualname__
    text = repr(value)
    if " at 0x" in text:
        raise ValueError(f"default {text} has no stable repr; give its type a __repr__")
    return text


def signature(obj: Any) -> str | None:
    """``name(params) -> return`` as written in the source, or ``None`` without one."""
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    parts: list[str] = []
    star_done = False
    prev = None
    for p in sig.parameters.values():
        if prev is inspect.Parameter.POSITIONAL_ONLY and p.kind is not prev:
            parts.append("/")
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            text, star_done = "*" + p.name, True
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            text = "**" + p.name
        else:
            text = p.name
        has_ann = p.annotation is not inspect.Parameter.empty
        if has_ann:
            text += ": " + _annotation(p.annotation)
        if p.default is not inspect.Parameter.empty:
            text += (" = " if has_ann else "=") + _default(p.default)
        parts.append(text)
        prev = p.kind
    if prev is inspect.Parameter.POSITIONAL_ONLY:
        parts.append("/")
    ret = ""
    if sig.return_annotation is not inspect.Signature.empty and not inspect.isclass(obj):
        ret = " -> " + _annotation(sig.return_annotation)
    name = obj.__name__
    one_line = f"{name}({', '.join(parts)}){ret}"
    if len(one_line) <= 96 or not parts:
        return one_line
    body = "".join(f"    {p},\n" for p in parts)
    return f"{name}(\n{body}){ret}"


def _kind(obj: Any) -> str:
    if inspect.isclass(obj):
        return "enum" if issubclass(obj, enum.Enum) else "class"
    if inspect.isroutine(obj):
        return "function"
    return "data"


def _data_repr(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


def _exports(modules: list[str]) -> list[tuple[str, str, Any, Any, str]]:
    """``(module, name, object, key, origin)`` for every name in every ``__all__``; ``key``
    identifies the object across re-exports, ``origin`` is the module that defines it."""
    rows = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if _is_data(obj):
                origin = _assignment(module_name, name)[0]
                key: Any = ("data", origin, name)
            else:
                origin, key = getattr(obj, "__module__", None) or module_name, id(obj)
            rows.append((module_name, name, obj, key, origin))
    return rows


def _homes(rows: list[tuple[str, str, Any, Any, str]]) -> dict[Any, tuple[str, str]]:
    """Where each object is documented: the shallowest exporting module that contains its
    definition (``honed.pareto`` for ``honed.pareto._hypervolume.hypervolume``), else the
    first module that exports it."""
    homes: dict[Any, tuple[str, str]] = {}
    for module_name, name, _, key, origin in rows:
        inside = origin == module_name or origin.startswith(module_name + ".")
        best = homes.get(key)
        if best is None:
            homes[key] = (module_name, name)
            continue
        best_inside = origin == best[0] or origin.startswith(best[0] + ".")
        if inside and (not best_inside or module_name.count(".") < best[0].count(".")):
            homes[key] = (module_name, name)
    return homes


def generate() -> str:
    """The whole of docs/api.md."""
    modules = public_modules()
    rows = _exports(modules)
    homes = _homes(rows)
    out = [
        "# API reference",
        "",
        "Generated from each public module's `__all__` by `python scripts/gen_api_docs.py`;"
        " do not edit by hand (`tests/test_docs.py` fails when this page is stale).",
        "",
        "Modules: " + ", ".join(f"`{m}`" for m in modules) + ".",
        "",
    ]
    for module_name in modules:
        module = importlib.import_module(module_name)
        out += [f"## `{module_name}`", ""]
        intro = _first_paragraph(module.__doc__)
        if intro:
            out += [intro, ""]
        mine = [r for r in rows if r[0] == module_name]
        if not mine:
            out += ["No names of its own; see its submodules below.", ""]
            continue
        refs: list[str] = []
        for _, name, obj, key, _ in mine:
            home = homes[key]
            if home != (module_name, name):
                refs.append(f"`{name}` (`{home[0]}.{home[1]}`)")
                continue
            out += _entry(module_name, name, obj)
        if refs:
            out += ["Also exported here: " + ", ".join(refs) + ".", ""]
    return "\n".join(out).rstrip() + "\n"


def _entry(module_name: str, name: str, obj: Any) -> list[str]:
    kind = _kind(obj)
    lines = [f"### `{module_name}.{name}` ({kind})", ""]
    if kind == "data":
        doc, assignment = data_source(module_name, name)
        lines += ["```python signature", assignment or f"{name} = {_data_repr(obj)}", "```", ""]
        if doc:
            lines += [_first_paragraph(doc), ""]
        return lines
    sig = signature(obj)
    if sig is not None:
        lines += ["```python signature", sig, "```", ""]
    if kind == "enum":
        members = ", ".join(f"`{m.name}`" for m in obj)
        lines += [f"Members: {members}.", ""]
    doc = _first_paragraph(own_docstring(obj))
    if doc:
        lines += [doc, ""]
    return lines


def undocumented(modules: list[str] | None = None) -> list[str]:
    """What is wrong with the public names of ``modules`` (default: every public module):
    names in ``__all__`` that do not resolve, and modules, classes, functions without a
    docstring or constants without a comment."""
    missing: list[str] = []
    for module_name in public_modules() if modules is None else modules:
        module = importlib.import_module(module_name)
        if not own_docstring(module):
            missing.append(f"{module_name} (module docstring)")
        for name in getattr(module, "__all__", []):
            try:
                obj = getattr(module, name)
            except AttributeError:
                missing.append(f"{module_name}.{name} (in __all__ but does not resolve)")
                continue
            if _is_data(obj):
                if not data_source(module_name, name)[0]:
                    missing.append(f"{module_name}.{name} (no comment above its assignment)")
            elif not own_docstring(obj):
                missing.append(f"{module_name}.{name} (no docstring)")
    return missing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/api.md is stale")
    args = ap.parse_args()
    text = generate()
    if args.check:
        current = API_MD.read_text(encoding="utf-8") if API_MD.exists() else ""
        if current != text:
            print(f"{API_MD.relative_to(ROOT)} is stale; run: {FIX_COMMAND}", file=sys.stderr)
            return 1
        return 0
    API_MD.parent.mkdir(parents=True, exist_ok=True)
    API_MD.write_text(text, encoding="utf-8")
    print(f"wrote {API_MD.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
