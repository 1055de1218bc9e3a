"""honed.recipes stands on honed's public API, as a user's code would.

Read from the AST of each recipes module: every name imported from honed is in a public
module's ``__all__``, and no attribute starting with ``_`` is read off a honed object. The
import contract in pyproject.toml keeps the CLI and dashboard out.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "honed"
RECIPES = sorted((PACKAGE / "recipes").glob("*.py"))
# Underscored names of other libraries: torch keeps a state_dict's per-module versions in its
# ``_metadata``, which a soup carries over; argparse types its subparsers _SubParsersAction.
FOREIGN = {"_metadata", "_SubParsersAction"}


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c.get("source_modules") == ["honed.recipes"]
    ]
    return contract


def test_the_contract_keeps_the_faces_out() -> None:
    assert set(_contract()["forbidden_modules"]) >= {"honed.cli", "honed.dashboard"}


def _public_names(module: str) -> set[str]:
    mod = importlib.import_module(module)
    subs = (
        {
            p.stem if p.suffix else p.name
            for p in Path(mod.__file__).parent.iterdir()  # type: ignore[arg-type]
            if not p.name.startswith("_")
        }
        if mod.__file__ and mod.__file__.endswith("__init__.py")
        else set()
    )
    return set(getattr(mod, "__all__", ())) | subs


def test_recipes_import_only_public_names_and_read_no_private_attribute() -> None:
    problems = []
    for path in RECIPES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                module = node.module
                if module.split(".")[0] != "honed" or module.startswith("honed.recipes"):
                    continue
                if any(p.startswith("_") for p in module.split(".")):
                    problems.append(f"{path.name}: from {module} (a private module)")
                    continue
                public = _public_names(module)
                for alias in node.names:
                    if alias.name not in public:
                        problems.append(f"{path.name}: {alias.name} is not public in {module}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("honed") and any(
                        p.startswith("_") for p in alias.name.split(".")
                    ):
                        problems.append(f"{path.name}: import {alias.name}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                if node.attr.startswith("__") and node.attr.endswith("__"):
                    continue
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                if node.attr in FOREIGN:
                    continue
                problems.append(f"{path.name}:{node.lineno}: reads .{node.attr}")
    assert problems == []
