"""The tabular problems: the shipped tables are whole, a lookup returns the stored cell under
either presentation, and re-training a cell gives the stored loss."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from honed.space import Choice, Int
from honed_bench.problems import select_problems
from honed_bench.problems import tabular as tab


@pytest.mark.parametrize("table", tab.TABLES, ids=lambda t: t.name)
def test_table_is_whole_and_its_optimum_is_its_least_loss(table: tab.Table) -> None:
    losses = tab.table_losses(table.name)
    assert losses.shape == table.shape
    assert np.isfinite(losses).all()
    # a table where every cell ties says nothing about an optimizer
    assert losses.max() > losses.min()
    (problem,) = [p for p in select_problems(["dev"]) if p.name == f"dev-tabular-{table.name}"]
    assert problem.optimum == pytest.approx(float(losses.min()))
    assert problem.tags["family"] == "tabular"


@pytest.mark.parametrize("table", tab.TABLES, ids=lambda t: t.name)
def test_lookup_reads_the_cell_in_either_presentation(table: tab.Table) -> None:
    space = table.space()
    losses = tab.table_losses(table.name)
    rng = random.Random(0)
    for _ in range(20):
        index = tuple(rng.randrange(n) for n in table.shape)
        params = {}
        for (axis, values), i in zip(table.axes.items(), index, strict=True):
            d = space[axis]
            if isinstance(d, Int):
                assert table.presentation == "ordinal" and axis in table.ordinal
                assert (d.low, d.high) == (0, len(values) - 1)
                params[axis] = i
            else:
                assert isinstance(d, Choice)
                params[axis] = list(values)[i]
        assert tab.lookup(table.name, params) == losses[index]


def test_choice_presentation_makes_every_axis_a_choice() -> None:
    for table in tab.TABLES:
        n_choice = sum(isinstance(d, Choice) for d in table.space().values())
        if table.presentation == "choice":
            assert n_choice == len(table.axes)
        else:
            assert n_choice == len(table.axes) - len(table.ordinal)


@pytest.mark.parametrize(
    "name", ["dt-digits-error", "svm-breast-balanced_error", "knn-wine-logloss"]
)
def test_retraining_a_cell_gives_the_stored_loss(name: str) -> None:
    table = tab._BY_NAME[name]
    grid = tab.cells(table)
    losses = tab.table_losses(name).ravel()
    rng = random.Random(1)
    for i in rng.sample(range(len(grid)), 3):
        assert tab.cell_loss(table, grid[i]) == pytest.approx(losses[i], rel=1e-8, abs=1e-10)
    assert len(grid) == math.prod(table.shape)


def test_a_table_of_the_wrong_size_is_refused(tmp_path, monkeypatch) -> None:
    import gzip

    table = tab.TABLES[0]
    path = tmp_path / f"{table.name}.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("0.5\n0.25\n")
    monkeypatch.setattr(tab, "DATA_DIR", tmp_path)
    tab.table_losses.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"rebuild it with bench/scripts/tabular_build\.py"):
            tab.table_losses(table.name)
    finally:
        tab.table_losses.cache_clear()
