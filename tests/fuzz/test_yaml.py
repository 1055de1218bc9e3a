"""Random YAML documents: ``load_space`` returns a valid space or raises a ``SpaceError``
that names the file, never another exception."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from honed import SpaceError
from honed.space import flatten_space, load_space
from tests.fuzz._settings import fuzz

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-50, 50),
    st.floats(),
    st.sampled_from(["float", "int", "choice", "true", "1e-5", "", "log", "~", "[", "{"]),
    st.text(max_size=6),
)
keys = st.sampled_from(
    ["type", "low", "high", "log", "step", "choices", "branches", "lr", "x", "a", "1"]
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=20,
)
# Fragments that make YAML interesting: indentation, flow style, anchors, tags, documents.
pieces = st.sampled_from(
    [
        "x: ",
        "  ",
        "\n",
        "- ",
        "{",
        "}",
        "[",
        "]",
        ", ",
        ": ",
        "type: float",
        "type: int",
        "type: choice",
        "low: 0",
        "high: 1",
        "log: true",
        "step: 0.5",
        "choices: [a, b]",
        "branches:",
        "&a ",
        "*a",
        "<<: *a",
        "!!int ",
        "!!python/name:os.system",
        "? ",
        "---",
        "...",
        "%YAML 1.1",
        "#",
        "'",
        '"',
        "\t",
        "\\",
        "é",
        "\x00",
        "\ufeff",
        "lr: ",
        "1e9999",
    ]
)


def _check(path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        space = load_space(path)
    except SpaceError as e:
        assert str(path) in str(e), str(e)
        return
    flat = flatten_space(space)
    for dist in flat.values():
        for u in (0.0, 0.5, 1.0):
            assert dist.contains(dist.from_unit(u))


@pytest.mark.slow
@fuzz(300)
@given(documents)
def test_random_documents_load_or_raise_space_error(tmp_path_factory, doc) -> None:
    path = tmp_path_factory.mktemp("doc") / "space.yaml"
    _check(path, yaml.safe_dump(doc, allow_unicode=True))


@fuzz(300)
@given(st.lists(pieces, max_size=30).map("".join))
def test_random_yaml_text_loads_or_raises_space_error(tmp_path_factory, text) -> None:
    _check(tmp_path_factory.mktemp("text") / "space.yaml", text)


@fuzz(200)
@given(st.text(max_size=200))
def test_random_text_loads_or_raises_space_error(tmp_path_factory, text) -> None:
    _check(tmp_path_factory.mktemp("raw") / "space.yaml", text)
