"""Parameter kinds, unit encodings, declarative spaces (dict and YAML/JSON files)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import honed
from honed import Choice, Float, Int, SpaceError
from honed.space import (
    SearchSpace,
    distribution_from_json,
    flatten_space,
    load_space,
    normalize_space,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-8, max_value=1e6, allow_nan=False, allow_infinity=False)
units = st.floats(min_value=0.0, max_value=1.0)


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


# ---- Float -----------------------------------------------------------------------------------
@given(finite, finite, units)
def test_float_linear_round_trip(a: float, b: float, u: float) -> None:
    low, high = min(a, b), max(a, b)
    d = Float(low, high)
    x = d.from_unit(u)
    assert d.contains(x)
    back = d.to_unit(x)
    assert 0.0 <= back <= 1.0
    assert d.from_unit(back) == pytest.approx(x, rel=1e-9, abs=1e-9 * (high - low + 1))


@given(positive, positive, units)
def test_float_log_round_trip(a: float, b: float, u: float) -> None:
    low, high = min(a, b), max(a, b)
    d = Float(low, high, log=True)
    x = d.from_unit(u)
    assert d.contains(x) and low <= x <= high
    assert d.from_unit(d.to_unit(x)) == pytest.approx(x, rel=1e-9)


def test_float_log_is_uniform_in_log_space() -> None:
    d = Float(1e-4, 1.0, log=True)
    assert d.from_unit(0.5) == pytest.approx(1e-2)
    assert d.to_unit(1e-3) == pytest.approx(0.25)


@given(
    st.integers(-1000, 1000),
    st.sampled_from([0.001, 0.1, 0.25, 0.5, 1.0, 3.0]),
    st.integers(0, 60),
    st.data(),
)
def test_float_step_round_trip(low_k: int, step: float, n: int, data: st.DataObject) -> None:
    low = low_k * step
    d = Float(low, low + n * step, step=step)
    assert d.n_steps == n + 1
    k = data.draw(st.integers(0, n))
    x = d.from_unit((k + 0.5) / (n + 1))
    assert d.contains(x)
    assert x == pytest.approx(low + k * step)
    assert d.from_unit(d.to_unit(x)) == x


def test_float_step_values_have_no_binary_noise() -> None:
    d = Float(0.0, 1.0, step=0.1)
    values = [d.from_unit((k + 0.5) / 11) for k in range(11)]
    assert values == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def test_float_step_grid_points_own_equal_slices() -> None:
    d = Float(-1.0, 1.0, step=0.5)
    us = (np.arange(10_000) + 0.5) / 10_000
    counts: dict[float, int] = {}
    for u in us:
        x = d.from_unit(u)
        counts[x] = counts.get(x, 0) + 1
    assert sorted(counts) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert set(counts.values()) == {2000}


# ---- Int -------------------------------------------------------------------------------------
@given(st.integers(-10_000, 10_000), st.integers(0, 300), st.integers(1, 7), st.data())
def test_int_linear_and_step_round_trip(low: int, n: int, step: int, data: st.DataObject) -> None:
    d = Int(low, low + n * step, step=step)
    v = low + data.draw(st.integers(0, n)) * step
    assert d.contains(v)
    assert _same(d.from_unit(d.to_unit(v)), v)
    assert not d.contains(v + 0.5)
    if step > 1:
        assert not d.contains(v + 1) or v + 1 > d.high


@given(st.integers(1, 10_000), st.integers(0, 5_000), st.data())
def test_int_log_round_trip(low: int, span: int, data: st.DataObject) -> None:
    d = Int(low, low + span, log=True)
    v = data.draw(st.integers(low, low + span))
    u = d.to_unit(v)
    assert 0.0 <= u <= 1.0
    assert _same(d.from_unit(u), v)


@given(st.integers(1, 50), st.integers(0, 200), units)
def test_int_from_unit_always_valid(low: int, span: int, u: float) -> None:
    for d in (Int(low, low + span), Int(low, low + span, log=True)):
        v = d.from_unit(u)
        assert isinstance(v, int) and d.contains(v)


def test_int_edges_and_clipping() -> None:
    d = Int(1, 1000, log=True)
    assert d.from_unit(0.0) == 1 and d.from_unit(1.0) == 1000
    assert d.from_unit(-3.0) == 1 and d.from_unit(7.0) == 1000
    lin = Int(0, 4)
    # Each integer owns an equal slice, so the end points are not under-sampled.
    us = (np.arange(1000) + 0.5) / 1000
    counts = np.bincount([lin.from_unit(u) for u in us])
    assert counts.tolist() == [200] * 5
    assert Int(3, 3).from_unit(0.9) == 3 and Int(3, 3).is_single


def test_int_accepts_whole_floats_and_numpy() -> None:
    d = Int(0.0, 10.0)  # type: ignore[arg-type]
    assert (d.low, d.high) == (0, 10) and isinstance(d.low, int)
    assert d.contains(np.int64(3)) and d.contains(3.0) and not d.contains(True)


# ---- Choice ----------------------------------------------------------------------------------
MIXED = [None, True, False, 0, 1, 1.5, "a", "1", "None"]


def test_choice_mixed_types_round_trip_exactly() -> None:
    d = Choice(MIXED)
    for i, c in enumerate(MIXED):
        assert d.index(c) == i
        assert _same(d.from_unit(d.to_unit(c)), c)
    assert not d.contains(2) and not d.contains("b")


def test_choice_bool_and_int_are_different_options() -> None:
    assert Choice([0, 1]) != Choice([False, True])
    assert Choice([1, 2.0]) != Choice([1.0, 2.0])
    assert Choice([True, "a"]) == Choice([True, "a"])
    assert len({Choice([0, 1]), Choice([False, True]), Choice([0, 1])}) == 2
    d = Choice([True, 1])
    assert d.index(1) == 1 and d.index(True) == 0
    assert Choice([1, 1.0]).index(1.0) == 1
    assert not Choice([0, 1]).contains(False) and not Choice([False]).contains(0)
    # A numpy integer or a whole float read back from JSON still finds its option.
    assert Choice([1, 2]).index(np.int64(2)) == 1


def test_choice_json_round_trip_keeps_types() -> None:
    d = Choice(MIXED)
    back = distribution_from_json(json.loads(json.dumps(d.to_json())))
    assert back == d
    assert [type(c) for c in back.choices] == [type(c) for c in MIXED]


def test_choice_options_own_equal_slices() -> None:
    d = Choice(["a", "b", "c"])
    assert [d.from_unit(u) for u in (0.0, 0.33, 0.34, 0.66, 0.67, 1.0)] == list("aabbcc")


# ---- JSON round trip of every kind -----------------------------------------------------------
@pytest.mark.parametrize(
    "dist",
    [
        Float(-1, 1),
        Float(1e-5, 1, log=True),
        Float(0, 1, step=0.25),
        Float(2, 2),
        Int(0, 10),
        Int(1, 1024, log=True),
        Int(-6, 6, step=3),
        Choice(MIXED),
        Choice(["only"]),
    ],
    ids=str,
)
def test_distribution_json_round_trip(dist: honed.Distribution) -> None:
    text = json.dumps(dist.to_json())
    back = distribution_from_json(json.loads(text))
    assert back == dist and hash(back) == hash(dist) and type(back) is type(dist)


# ---- invalid definitions ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: Float(1, 0), "swap"),
        (lambda: Float(0, 1, log=True), "low > 0"),
        (lambda: Float(0, 1, step=0.3), "multiple of step"),
        (lambda: Float(0, 1, step=-1), "positive"),
        (lambda: Float(1, 2, step=0.5, log=True), "both step and log"),
        (lambda: Float(0, math.inf), "finite"),
        (lambda: Float(math.nan, 1), "finite"),
        (lambda: Float("0", 1), "finite number"),
        (lambda: Float(0, 1, log="yes"), "True or False"),
        (lambda: Int(5, 1), "swap"),
        (lambda: Int(0.5, 3), "integer"),
        (lambda: Int(0, 10, step=3), "high=9"),
        (lambda: Int(0, 10, step=0), ">= 1"),
        (lambda: Int(0, 10, log=True), "low >= 1"),
        (lambda: Int(1, 9, log=True, step=2), "log=True and step"),
        (lambda: Int(True, 3), "integer"),
        (lambda: Choice([]), "at least one"),
        (lambda: Choice("abc"), "list of options"),
        (lambda: Choice([1, 1]), "distinct"),
        (lambda: Choice([[1, 2]]), "str, int, float, bool or None"),
        (lambda: Choice([math.nan]), "str, int, float, bool or None"),
        (lambda: Choice(["a"], branches={"zz": {}}), "do not exist"),
    ],
)
def test_invalid_distributions_are_rejected_clearly(make, fragment: str) -> None:
    with pytest.raises(SpaceError, match=re.escape(fragment)) as info:
        make()
    assert isinstance(info.value, ValueError)  # SpaceError is a ValueError for old code


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"type": "float", "low": 1, "high": 0}, "swap"),
        ({"type": "float", "low": 1}, "needs high"),
        ({"type": "int", "low": 0, "high": 10, "step": 3}, "multiple"),
        ({"type": "int", "low": 0, "high": 10, "bogus": 1}, "bogus"),
        ({"type": "gaussian", "low": 0, "high": 1}, "unknown type"),
        ({"type": "choice"}, "'choices'"),
        ({"type": "choice", "choices": []}, "at least one"),
        ({"low": 0, "high": 1}, "'type' key"),
        (3.5, "'type' key"),
        ({"type": "choice", "branches": ["a"]}, "map each option"),
    ],
)
def test_declarative_errors_name_the_parameter(spec: object, fragment: str) -> None:
    with pytest.raises(SpaceError) as info:
        load_space({"ok": {"type": "int", "low": 0, "high": 1}, "learning_rate": spec})
    assert "'learning_rate'" in str(info.value)
    assert fragment in str(info.value)


def test_trial_methods_name_the_parameter() -> None:
    study = honed.create_study()
    trial = study.ask()
    for call in (
        lambda: trial.float("lr", 1.0, 0.0),
        lambda: trial.float("lr", 0.0, 1.0, log=True),
        lambda: trial.int("lr", 0, 10, step=4),
        lambda: trial.choice("lr", []),
    ):
        with pytest.raises(SpaceError, match="'lr'"):
            call()
    with pytest.raises(SpaceError, match="non-empty strings"):
        trial.float("", 0, 1)


spec_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 50),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=3),
)
param_specs = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["float", "int"]), "low": spec_values, "high": spec_values},
        optional={"log": spec_values, "step": spec_values},
    ),
    st.fixed_dictionaries(
        {"type": st.just("choice")},
        optional={
            "choices": st.one_of(spec_values, st.lists(spec_values, max_size=4)),
            "branches": st.dictionaries(st.sampled_from(["a", "b", 1]), st.just({}), max_size=2),
        },
    ),
    spec_values,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["alpha", "beta", "gamma_1"]), param_specs, min_size=1))
def test_fuzzed_spaces_are_valid_or_rejected_by_name(space: dict) -> None:
    """Any user spec either loads into distributions whose decoded values are all valid, or is
    refused with a SpaceError that names the faulty parameter; never another exception."""
    try:
        tree = load_space(space)
    except SpaceError as e:
        assert any(f"'{name}'" in str(e) for name in space), str(e)
        return
    flat = flatten_space(tree)
    for name, dist in flat.items():
        assert name in space
        for u in (0.0, 0.2, 0.5, 0.999, 1.0):
            assert dist.contains(dist.from_unit(u)), (name, dist, u)
        assert distribution_from_json(json.loads(json.dumps(dist.to_json()))) == dist


# ---- declarative spaces, branches and files --------------------------------------------------
TREE_YAML = """
lr: {type: float, low: 1.0e-5, high: 0.1, log: true}
layers: {type: int, low: 1, high: 4}
model:
  type: choice
  branches:
    svm:
      C: {type: float, low: 0.001, high: 1000, log: true}
      kernel:
        type: choice
        branches:
          rbf: {gamma: {type: float, low: 0.0001, high: 1, log: true}}
          linear: {}
    tree:
      max_depth: {type: int, low: 1, high: 20}
    none: {}
flag: {type: choice, choices: [true, false, null]}
"""


def test_yaml_file_with_nested_branches(tmp_path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(TREE_YAML)
    tree = load_space(path)
    assert list(tree) == ["lr", "layers", "model", "flag"]
    assert tree["flag"] == Choice([True, False, None])
    flat = flatten_space(tree)
    assert set(flat) == {"lr", "layers", "model", "C", "kernel", "gamma", "max_depth", "flag"}
    assert flat["lr"] == Float(1e-5, 0.1, log=True)
    assert flat["model"] == Choice(["svm", "tree", "none"])

    study = honed.create_study(seed=3)
    seen_models, seen_kernels = set(), set()
    for _ in range(60):
        t = study.ask(tree)
        p = t.params
        assert set(p) >= {"lr", "layers", "model", "flag"}
        seen_models.add(p["model"])
        assert ("C" in p) == ("kernel" in p) == (p["model"] == "svm")
        assert ("max_depth" in p) == (p["model"] == "tree")
        if p["model"] == "svm":
            seen_kernels.add(p["kernel"])
            assert ("gamma" in p) == (p["kernel"] == "rbf")
        else:
            assert "gamma" not in p
        for k, v in p.items():
            assert flat[k].contains(v)
        study.tell(t, p["lr"])
    assert seen_models == {"svm", "tree", "none"} and seen_kernels == {"rbf", "linear"}


def test_json_file_and_dict_spaces_match(tmp_path) -> None:
    spec = {
        "x": {"type": "float", "low": -1, "high": 1, "step": 0.5},
        "n": {"type": "int", "low": 2, "high": 64, "log": True},
        "opt": {"type": "choice", "choices": ["adam", "sgd"]},
    }
    path = tmp_path / "space.json"
    path.write_text(json.dumps(spec))
    assert load_space(path) == load_space(spec)
    assert load_space(spec)["n"] == Int(2, 64, log=True)
    mixed = load_space({"x": Float(0, 1), "y": {"type": "int", "low": 0, "high": 3}})
    assert mixed == {"x": Float(0, 1), "y": Int(0, 3)}


def test_space_file_errors(tmp_path) -> None:
    with pytest.raises(SpaceError, match="does not exist"):
        load_space(tmp_path / "missing.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(SpaceError, match="mapping"):
        load_space(bad)
    with pytest.raises(SpaceError, match="dict of parameters"):
        normalize_space([("x", Float(0, 1))])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # an unclosed brace: where the parser noticed, and where the mapping began
            "lr: {type: float, low: 1.0e-5, high: 0.1\ndepth: {type: int, low: 2, high: 12}\n",
            r"line 2, column 6: expected ',' or '}', but got ':' \(while parsing a flow "
            r"mapping that starts on line 1\)\. Fix the YAML there",
        ),
        ("x: [1, 2\n", r"line 2, column 1: expected ',' or '\]'"),
        ("x:\n  type: int\n    low: 1\n", r"line 3, column 8: mapping values are not allowed"),
        ("x: {type: int, low: 1, high: 3}\n\tbad\n", r"line 2, column 1: found character"),
        ("x: *nowhere\n", r"line 1, column 4: found undefined alias 'nowhere'"),
        ("x: !!python/object:os.system {}\n", r"line 1, column 4: could not determine a "),
        (  # PyYAML keeps the last of two equal keys without a word: refused here
            "lr: {type: float, low: 0, high: 1}\nk: {type: int, low: 1, high: 3}\n"
            "lr: {type: float, low: 0, high: 2}\n",
            r"line 3: the key 'lr' is written twice \(first on line 1\); YAML would silently "
            r"keep the last one",
        ),
        (
            "m:\n  type: choice\n  branches:\n    a: {c: {type: int, low: 1, high: 3}}\n"
            "    a: {}\n",
            r"line 5: the key 'a' is written twice \(first on line 4\)",
        ),
        ("x: {type: int, low: 1, type: float}\n", r"line 1: the key 'type' is written twice"),
        ("? [1, 2]\n: {type: int}\n", r"line 1: a key must be a name, not a list"),
        (  # a valid file with a bad spec: the parameter's line
            "lr: {type: float, low: 1.0e-5, high: 0.1}\n\ndepth: {type: int, low: 12, high: 2}\n",
            r"line 3: parameter 'depth': Int needs low <= high",
        ),
        ("", r"line 1: the file must hold a mapping of parameter names"),
        ("- 1\n- 2\n", r"line 1: the file must hold a mapping"),
    ],
)
def test_yaml_problems_are_space_errors_with_file_and_line(tmp_path, text, message) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpaceError, match=re.escape(str(path)) + ", " + message):
        load_space(path)


def test_yaml_files_that_cannot_be_read(tmp_path) -> None:
    binary = tmp_path / "space.yaml"
    binary.write_bytes(b"x: {type: int, low: 1, high: 3}\n\xff\xfe")
    with pytest.raises(SpaceError, match=r"space\.yaml: not UTF-8 text"):
        load_space(binary)
    with pytest.raises(SpaceError, match="is a folder"):
        load_space(tmp_path)
    with pytest.raises(SpaceError, match="a dict or a YAML/JSON file path"):
        load_space(3)  # type: ignore[arg-type]


def test_yaml_merge_keys_may_override_what_they_merge(tmp_path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(
        "a: &base {type: float, low: 0, high: 1}\nb:\n  <<: *base\n  high: 2\nc: *base\n"
    )
    assert load_space(path) == {"a": Float(0, 1), "b": Float(0, 2), "c": Float(0, 1)}


def test_float_steps_follow_the_int_rule_up_to_rounding() -> None:
    # like Int: a step that does not divide the range is refused with the high that fits
    with pytest.raises(SpaceError, match=r"not a multiple of step 0\.3; use high=9\.9"):
        Float(0, 10, step=0.3)
    with pytest.raises(SpaceError, match=r"not a multiple of step 3; use high=9"):
        Int(0, 10, step=3)
    # decimal steps whose binary sums are a rounding off the bound are fine
    for low, high, step in [(0.1, 0.7, 0.2), (0.0, 0.9, 0.3), (-1e6, 1e6, 0.1), (0, 1, 1e-9)]:
        d = Float(low, high, step=step)
        assert d.contains(high) and d.contains(d.from_unit(1.0)) and d.from_unit(1.0) == high
    # a grid finer than float64 can place: Float(0, 1e9, step=0.3) has 3.3e9 points whose
    # spacing is 1e-10 of their size; refused with the smallest step that works
    with pytest.raises(
        SpaceError,
        match=r"step 0\.3 is too fine for values up to 1e\+09.*"
        r"use step >= 1, or no step",
    ):
        Float(0, 1e9, step=0.3)
    with pytest.raises(SpaceError, match="too fine"):
        Float(0, 1e9, step=0.25)  # divides the range, but still 4e9 points
    big = Float(0, 1e9, step=1)
    assert big.n_steps == 1_000_000_001 and big.contains(999_999_999.0)
    assert not big.contains(999_999_999.5) and not big.contains(0.3)
    for bad in (math.inf, math.nan, 0, -1, "0.1", True):
        with pytest.raises(SpaceError, match="step must be a positive number"):
            Float(0, 1, step=bad)  # type: ignore[arg-type]
    # the on-grid test no longer widens with the number of steps: 1e-8 per step of a
    # 1e8-step grid let any value through before
    d = Float(0, 1e7, step=0.1)
    assert d.contains(1234567.8) and not d.contains(1234567.85)
    assert np.isnan(d.encode_numbers(np.array([1234567.85]))[0])


@given(
    st.floats(-1e9, 1e9),
    st.sampled_from([1e-3, 0.1, 0.25, 1.0, 7.0, 1e3]),
    st.integers(0, 10**6),
    units,
)
def test_float_step_grids_contain_their_points(low: float, step: float, n: int, u: float) -> None:
    try:
        d = Float(low, low + n * step, step=step)
    except SpaceError as e:
        assert "too fine" in str(e) or "not a multiple" in str(e)
        return
    x = d.from_unit(u)
    assert d.contains(x)
    assert d.encode_numbers(np.array([x]))[0] == pytest.approx(d.to_unit(x))
    assert d.from_unit(d.to_unit(x)) == x


def test_names_must_be_unique_across_branches() -> None:
    space = {
        "model": {
            "type": "choice",
            "branches": {"a": {"depth": {"type": "int", "low": 1, "high": 3}}, "b": {}},
        },
        "depth": {"type": "int", "low": 1, "high": 9},
    }
    with pytest.raises(SpaceError, match="'depth' appears twice"):
        load_space(space)


# ---- define-by-run rules ---------------------------------------------------------------------
def test_same_name_twice_in_one_trial() -> None:
    study = honed.create_study(seed=0)
    t = study.ask()
    x = t.float("x", 0, 1)
    assert t.float("x", 0, 1) == x  # same definition: same value
    with pytest.raises(SpaceError, match=r"'x'.*already sampled"):
        t.float("x", 0, 2)
    with pytest.raises(SpaceError, match="'x'"):
        t.int("x", 0, 1)
    c = t.choice("c", [0, 1])
    with pytest.raises(SpaceError, match="'c'"):
        t.choice("c", [False, True])
    assert t.choice("c", [0, 1]) == c
    # Another trial may use another range under the same name.
    t2 = study.ask()
    assert 0 <= t2.float("x", 0, 2) <= 2


# ---- SearchSpace encodings ------------------------------------------------------------------
def test_search_space_encode_decode_with_missing_params() -> None:
    space = SearchSpace({"x": Float(0, 10), "n": Int(1, 100, log=True), "c": Choice(["a", None])})
    params = [{"x": 5.0, "n": 10, "c": None}, {"x": 2.5}, {"x": 99.0, "c": "a"}]
    enc = space.encode(params)
    assert enc.shape == (3, 3)
    assert enc[0, 0] == 0.5 and enc[0, 2] == 0.75
    assert math.isnan(enc[1, 1]) and math.isnan(enc[1, 2])
    assert math.isnan(enc[2, 0])  # outside the range: absent, not clipped
    row = space.decode(enc[:1])[0]
    assert row["x"] == 5.0 and row["n"] == 10 and row["c"] is None
    with pytest.raises(ValueError, match="columns"):
        space.decode(np.zeros((1, 2)))
    with pytest.raises(SpaceError, match="'bad'"):
        SearchSpace({"bad": (0, 1)})  # type: ignore[dict-item]


@given(st.lists(units, min_size=4, max_size=4))
def test_vector_encodings_match_scalar(us: list[float]) -> None:
    for d in (
        Float(-3, 7),
        Float(1e-3, 1e3, log=True),
        Float(0, 2, step=0.5),
        Int(1, 50, log=True),
        Int(-4, 8, step=4),
    ):
        values = d.from_unit_array(np.array(us))
        assume(all(d.contains(v) for v in values))
        np.testing.assert_allclose(d.to_unit_array(values), [d.to_unit(v) for v in values])


_ENCODE_DISTS = [
    Float(-3.0, 5.0),
    Float(1e-4, 10.0, log=True),
    Float(0.0, 1.0, step=0.125),
    Int(-4, 20),
    Int(1, 1000, log=True),
    Int(0, 30, step=3),
    Float(2.0, 2.0),
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=-50, max_value=1e4),
            st.sampled_from([math.nan, math.inf, -math.inf]),
            st.integers(-50, 1200),
            st.sampled_from([0.375, 9.0, 21, 1e-4, 10.0, 2.0, 999]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_vectorized_encode_matches_contains_and_to_unit_value_by_value(values):
    # the column fast path of SearchSpace.encode (plain floats and ints) must give exactly
    # what contains/to_unit give one value at a time, NaN where a value is not in the range
    space = honed.SearchSpace({f"p{i}": d for i, d in enumerate(_ENCODE_DISTS)})
    params = [{f"p{i}": v for i in range(len(_ENCODE_DISTS))} for v in values]
    got = space.encode(params)
    for j, d in enumerate(_ENCODE_DISTS):
        for i, v in enumerate(values):
            if d.contains(v):
                assert got[i, j] == pytest.approx(d.to_unit(v), abs=1e-12), (d, v)
            else:
                assert math.isnan(got[i, j]), (d, v)


def test_encode_mixes_plain_and_other_values_in_a_column():
    space = honed.SearchSpace({"n": Int(0, 10), "x": Float(0.0, 1.0)})
    rows = [{"n": 3, "x": 0.5}, {"n": np.int64(4), "x": np.float64(0.25)}, {"n": True}, {}]
    got = space.encode(rows)
    assert got[0, 0] == pytest.approx(Int(0, 10).to_unit(3))
    assert got[1, 0] == pytest.approx(Int(0, 10).to_unit(4))
    assert got[1, 1] == pytest.approx(0.25)
    assert np.isnan(got[2:, :]).all()  # a bool is not an Int value; absent is NaN
