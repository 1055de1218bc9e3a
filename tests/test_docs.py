"""docs/api.md is generated from the public modules' ``__all__`` and kept current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "scripts/gen_api_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_page_is_current(gen) -> None:
    current = (ROOT / "docs/api.md").read_text(encoding="utf-8")
    assert gen.generate() == current, (
        "docs/api.md is stale: run `python scripts/gen_api_docs.py` and commit docs/api.md"
    )


def test_every_public_name_resolves_and_is_documented(gen) -> None:
    missing = gen.undocumented()
    assert not missing, "public names without documentation:\n" + "\n".join(missing)


def test_the_page_covers_lazy_exports_and_the_public_modules(gen) -> None:
    text = gen.generate()
    modules = gen.public_modules()
    assert "honed.bench" not in " ".join(modules)
    for module in (
        "honed",
        "honed.samplers",
        "honed.schedulers",
        "honed.storage",
        "honed.execution",
        "honed.analysis",
        "honed.pareto",
        "honed.plots",
        "honed.artifacts",
        "honed.integrations",
        "honed.testing",
    ):
        assert module in modules and f"## `{module}`" in text
    # Loaded on first use, yet documented with a signature.
    assert "### `honed.samplers.TPESampler` (class)" in text
    assert "### `honed.integrations.XGBoostCallback` (class)" in text


def test_the_check_names_what_is_missing(gen, tmp_path, monkeypatch) -> None:
    (tmp_path / "fake_api.py").write_text(
        '"""A module."""\n'
        '__all__ = ["documented", "bare", "LIMIT", "gone"]\n'
        "def documented():\n"
        '    """Does a thing."""\n'
        "def bare():\n"
        "    pass\n"
        "LIMIT = 3\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert gen.undocumented(["fake_api"]) == [
            "fake_api.bare (no docstring)",
            "fake_api.LIMIT (no comment above its assignment)",
            "fake_api.gone (in __all__ but does not resolve)",
        ]
    finally:
        sys.modules.pop("fake_api", None)
