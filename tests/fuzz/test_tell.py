"""Random objective values: every trial ends COMPLETE with finite floats or FAILED with a
reason, and ``optimize`` itself never raises because of one."""

from __future__ import annotations

import decimal
import fractions
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import honed
from honed.trial import TrialState
from tests.fuzz._settings import fuzz


class _FloatRaises:
    def __float__(self) -> float:
        raise RuntimeError("no float for you")


class _FloatLies:
    def __float__(self):  # type: ignore[no-untyped-def]
        return "not a float"


class _Index:
    def __index__(self) -> int:
        return 3


class _BadLen:
    def __len__(self) -> int:
        raise ValueError("no length")

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise ValueError("no iteration")


numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(),
    st.booleans(),
    st.complex_numbers(),
    st.decimals(),
    st.fractions(),
    st.sampled_from(
        [
            np.float32(1.5),
            np.float64("nan"),
            np.int64(2**62),
            np.bool_(True),
            np.float16(65504),
            np.longdouble("1e4000"),  # finite in x87 extended precision, inf as a float
            np.uint64(2**64 - 1),
            np.complex64(1 + 2j),
            np.str_("1.5"),
            np.datetime64("2020-01-01"),
        ]
    ),
)
values = st.recursive(
    st.one_of(
        numbers,
        st.none(),
        st.text(max_size=5),
        st.binary(max_size=4),
        st.sampled_from(
            [
                _FloatRaises(),
                _FloatLies(),
                _Index(),
                _BadLen(),
                object(),
                math.inf,
                decimal.Decimal("NaN"),
                decimal.Decimal("1e999999"),
                fractions.Fraction(10**400, 3),
                "1.5",
                "nan",
                b"1",
                Ellipsis,
            ]
        ),
        hnp.arrays(
            st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.uint8]),
            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=2), inner, max_size=2),
    ),
    max_leaves=6,
)


# Never numbers, whatever float() says of some of them ("1.5", True, 1+0j).
NOT_NUMBERS = (
    str,
    bytes,
    bool,
    np.bool_,
    type(None),
    dict,
    complex,
    np.complexfloating,
    np.str_,
    np.datetime64,
)


def _check(study: honed.Study, n_objectives: int, value: object) -> None:
    (t,) = study.trials
    assert t.state in (TrialState.COMPLETE, TrialState.FAILED), t.state
    if t.state is TrialState.COMPLETE:
        assert t.values is not None and len(t.values) == n_objectives
        assert all(type(v) is float and math.isfinite(v) for v in t.values), t.values
        assert not isinstance(value, NOT_NUMBERS), (value, t.values)  # no silent acceptance
        if type(value) in (int, float):
            assert t.values == (float(value),)
    else:
        assert t.values is None and t.fail_reason, t
        if type(value) is float and math.isfinite(value) and n_objectives == 1:
            raise AssertionError(f"a finite float failed: {value!r}: {t.fail_reason}")


@pytest.mark.slow
@fuzz(400)
@given(values)
def test_single_objective_values(value) -> None:
    study = honed.create_study(sampler="random", seed=0)
    study.optimize(
        lambda trial: (trial.float("x", 0, 1), value)[1], n_trials=1, show_progress=False
    )
    _check(study, 1, value)


@pytest.mark.slow
@fuzz(300)
@given(values)
def test_two_objective_values(value) -> None:
    study = honed.create_study(directions=["minimize", "maximize"], sampler="random", seed=0)
    study.optimize(
        lambda trial: (trial.float("x", 0, 1), value)[1], n_trials=1, show_progress=False
    )
    _check(study, 2, value)


@fuzz(200)
@given(values)
def test_ask_and_tell_values(value) -> None:
    """tell() from user code records a bad value as a FAILED trial and warns with the
    reason; it never raises and never leaves the trial RUNNING."""
    study = honed.create_study(sampler="random", seed=0)
    trial = study.ask()
    trial.float("x", 0, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.tell(trial, value)
    _check(study, 1, value)
    if study.trials[0].state is TrialState.FAILED and value is not None:  # None: "failed"
        assert any("failed" in str(w.message) for w in caught), caught
