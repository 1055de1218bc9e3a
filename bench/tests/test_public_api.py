"""honed-bench uses honed's public API only, and its own modules import one way.

Read from the source (the AST of every module of ``honed_bench`` and every script in
``bench/scripts``), so an import inside a function counts as much as one at the top:

* ``from M import name`` / ``import M`` of honed: ``M`` is one of honed's public modules and
  ``name`` is in its ``__all__`` (or is itself a public module);
* ``honed.<attr>...`` chains: each step a public module or a name in that module's ``__all__``;
* no ``obj._private`` attribute anywhere (only ``self._x`` / ``cls._x`` on the bench's own
  objects, and dunders): the bench never reaches into a honed object;
* the modules of ``honed_bench`` form no import cycle.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
SOURCES = sorted((BENCH / "src" / "honed_bench").rglob("*.py")) + sorted(
    (BENCH / "scripts").glob("*.py")
)

# honed's public modules: what honed documents, each with an ``__all__``.
PUBLIC = {
    "honed",
    "honed.analysis",
    "honed.artifacts",
    "honed.dashboard",
    "honed.execution",
    "honed.history",
    "honed.integrations",
    "honed.objective",
    "honed.pareto",
    "honed.plots",
    "honed.recipes",
    "honed.samplers",
    "honed.schedulers",
    "honed.space",
    "honed.storage",
    "honed.testing",
    "honed.trial",
}


def _exports(module: str) -> set[str]:
    mod = importlib.import_module(module)
    names = set(getattr(mod, "__all__", ()))
    return names | {m.rpartition(".")[2] for m in PUBLIC if m.rpartition(".")[0] == module}


def _is_honed(module: str) -> bool:
    return module == "honed" or module.startswith("honed.")


def _module_name(path: Path) -> str:
    if path.parent.name == "scripts":
        return f"scripts.{path.stem}"
    parts = path.relative_to(BENCH / "src").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(BENCH)
    out: list[str] = []
    honed_names: dict[str, str] = {}  # local name -> honed module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _is_honed(alias.name):
                    continue
                if alias.name not in PUBLIC:
                    out.append(f"{where}:{node.lineno}: import {alias.name} (not a public module)")
                elif alias.asname:
                    honed_names[alias.asname] = alias.name
                else:
                    honed_names["honed"] = "honed"
        elif isinstance(node, ast.ImportFrom) and node.module and _is_honed(node.module):
            if node.module not in PUBLIC:
                out.append(f"{where}:{node.lineno}: from {node.module} import ... (not public)")
                continue
            exported = _exports(node.module)
            for alias in node.names:
                if alias.name not in exported:
                    out.append(
                        f"{where}:{node.lineno}: from {node.module} import {alias.name} "
                        f"(not in {node.module}.__all__)"
                    )
                elif f"{node.module}.{alias.name}" in PUBLIC:
                    honed_names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        base = node.value
        dunder = attr.startswith("__") and attr.endswith("__")
        own = isinstance(base, ast.Name) and base.id in ("self", "cls")
        if attr.startswith("_") and not dunder and not own:
            out.append(f"{where}:{node.lineno}: private attribute .{attr}")
        # honed.<a>.<b>: check the chain from its root name
        if isinstance(base, ast.Name) and base.id in honed_names:
            module = honed_names[base.id]
            if attr not in _exports(module):
                out.append(f"{where}:{node.lineno}: {module}.{attr} is not in {module}.__all__")
        elif (
            isinstance(base, ast.Attribute)
            and isinstance(base.value, ast.Name)
            and base.value.id in honed_names
            and f"{honed_names[base.value.id]}.{base.attr}" in PUBLIC
        ):
            module = f"{honed_names[base.value.id]}.{base.attr}"
            if attr not in _exports(module):
                out.append(f"{where}:{node.lineno}: {module}.{attr} is not in {module}.__all__")
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(BENCH)))
def test_only_public_honed_names(path: Path) -> None:
    assert _violations(path) == []


def test_the_checker_catches_private_access(tmp_path: Path) -> None:
    """The rules above, on a file that breaks each of them (so the check cannot pass by
    checking nothing)."""
    bad = BENCH / "scripts" / "_checker_probe.py"
    bad.write_text(
        "import honed\n"
        "import honed.samplers.gp\n"
        "from honed.samplers import _REGISTRY, TPESampler\n"
        "from honed.samplers.tpe import TPESampler as T\n"
        "from honed.study._study import Study\n"
        "study = honed.create_study()\n"
        "h = study._history()\n"
        "x = honed.samplers.GPSampler\n"
        "y = honed.samplers.get_sampler\n"
        "z = honed.not_a_name\n"
        "w = self._fine\n"
    )
    try:
        found = _violations(bad)
    finally:
        bad.unlink()
    text = "\n".join(found)
    assert "import honed.samplers.gp (not a public module)" in text
    assert "from honed.samplers import _REGISTRY (not in honed.samplers.__all__)" in text
    assert "TPESampler" not in text.replace("honed.samplers.tpe", "")  # public: fine
    assert "from honed.samplers.tpe import" in text
    assert "from honed.study._study import" in text
    assert "private attribute ._history" in text
    assert "honed.not_a_name is not in honed.__all__" in text
    assert "._fine" not in text
    assert len(found) == 6, found


def _bench_imports() -> dict[str, set[str]]:
    """Module -> the honed_bench modules it imports (anywhere in its body)."""
    modules = {_module_name(p): p for p in SOURCES if p.parent.name != "scripts"}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    graph[name].add(t)
    return graph


def test_honed_bench_has_no_import_cycle() -> None:
    graph = _bench_imports()
    assert "honed_bench.optimizers" in graph["honed_bench.runner"]  # the graph is not empty
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = [*path[path.index(n) :], n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
