"""Pareto dominance and non-dominated sorting (honed.pareto), checked against the definition.

Hypervolume has its own file (test_hypervolume.py); crowding distance, constraint ranks and
reference points are tested with NSGA (test_nsga.py), the EHVI boxes with EHVI
(test_gp_ehvi.py).
"""

from __future__ import annotations

import numpy as np

from honed.pareto import dominates, non_dominated_mask, non_dominated_ranks


def _brute_mask(losses: np.ndarray) -> list[bool]:
    return [not any(dominates(q, p) for q in losses) for p in losses]


def test_mask_follows_the_definition_with_ties_and_duplicates() -> None:
    rng = np.random.default_rng(5)
    for case in range(60):
        n, m = int(rng.integers(1, 60)), 2 + case % 3
        # Coarse values so that ties and exact duplicates happen often.
        losses = rng.integers(0, 6, size=(n, m)).astype(float)
        assert non_dominated_mask(losses).tolist() == _brute_mask(losses), case
        assert (non_dominated_ranks(losses) == 0).tolist() == _brute_mask(losses), case
    three = rng.normal(size=(40, 3))
    assert non_dominated_mask(three).tolist() == _brute_mask(three)


def test_non_finite_losses_keep_their_order() -> None:
    losses = np.array([[0.0, np.inf], [1.0, 1.0], [np.inf, 0.0], [2.0, 2.0], [-np.inf, 5.0]])
    assert non_dominated_mask(losses).tolist() == _brute_mask(losses)
    assert non_dominated_mask(losses).tolist() == [False, True, True, False, True]
    assert non_dominated_ranks(losses).tolist() == [1, 0, 0, 1, 0]


def test_empty_and_single_inputs() -> None:
    assert non_dominated_mask(np.empty((0, 2))).tolist() == []
    assert non_dominated_ranks(np.empty((0, 3))).tolist() == []
    assert non_dominated_mask(np.array([[3.0, 1.0]])).tolist() == [True]
    assert non_dominated_ranks(np.array([[2.0], [1.0], [2.0]])).tolist() == [1, 0, 1]
