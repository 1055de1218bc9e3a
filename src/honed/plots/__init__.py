"""Plots of a study for notebooks and reports: the dashboard's views as figures.

Each function returns a :class:`Figure`. Save it as ``.html`` (a self-contained page drawn by
the dashboard's own SVG renderer, no network needed) or as ``.png`` / ``.svg`` / ``.pdf``
(drawn with matplotlib: ``pip install 'honed[plots]'``). In a notebook a figure shows itself.

::

    import honed.plots

    fig = honed.plots.plot_history(study)
    fig.save("history.png")
    honed.plots.plot_importance(study).save("importance.html")
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from honed.plots import _data
from honed.plots._figure import Figure

if TYPE_CHECKING:
    from honed.history import History
    from honed.study import Study

__all__ = [
    "Figure",
    "plot_all",
    "plot_contour",
    "plot_history",
    "plot_importance",
    "plot_intermediate",
    "plot_parallel",
    "plot_pareto",
    "plot_slice",
]


def _read(study: Study | History) -> tuple[list, tuple]:
    from honed.history import History

    if isinstance(study, History):
        return list(study), study.directions
    if not hasattr(study, "trials") or not hasattr(study, "directions"):
        raise TypeError(f"expected a honed Study or History, got {type(study).__name__}.")
    return study.trials, tuple(study.directions)


def plot_history(study: Study | History, *, objective: int = 0) -> Figure:
    """Objective value of each complete trial by trial number, with the best so far."""
    trials, dirs = _read(study)
    return Figure(_data.history_data(trials, dirs, objective=objective))


def plot_intermediate(study: Study | History, *, objective: int = 0) -> Figure:
    """Learning curves from ``trial.report``; pruned trials are marked where they stopped.
    In a multi-objective study, the curves of objective number ``objective``."""
    trials, dirs = _read(study)
    _data._check_objective(objective, dirs)
    return Figure(_data.intermediate_data(trials, objective=objective))


def plot_parallel(
    study: Study | History, *, params: Sequence[str] | None = None, objective: int = 0
) -> Figure:
    """Parallel coordinates: one line per complete trial through each parameter's axis."""
    trials, dirs = _read(study)
    return Figure(_data.parallel_data(trials, dirs, params=params, objective=objective))


def plot_slice(
    study: Study | History, *, params: Sequence[str] | None = None, objective: int = 0
) -> Figure:
    """The objective against each parameter, one panel per parameter."""
    trials, dirs = _read(study)
    return Figure(_data.slice_data(trials, dirs, params=params, objective=objective))


def plot_contour(
    study: Study | History,
    x: str | None = None,
    y: str | None = None,
    *,
    objective: int = 0,
) -> Figure:
    """The objective over two parameters (default: the first two), smoothed, with the trials."""
    trials, dirs = _read(study)
    names = list(_data.common_params(trials))
    for name, arg in ((x, "x"), (y, "y")):
        if name is not None and name not in names:
            raise ValueError(
                f"{arg}={name!r} is not a parameter of this study; use one of {names}."
            )
    return Figure(_data.contour_data(trials, dirs, x, y, objective=objective))


def plot_importance(
    study: Study | History, *, method: str = "fanova", objective: int = 0
) -> Figure:
    """Bars of parameter importance (``"fanova"`` or ``"ped-anova"``)."""
    from honed.analysis.importance import importance
    from honed.history import History

    trials, dirs = _read(study)
    _data._check_objective(objective, dirs)
    sign = dirs[objective].sign
    scores = importance(
        History(trials, dirs),
        method,
        target=lambda t: sign * t.values[objective],  # type: ignore[index]  # complete trials
    )
    return Figure(_data.importance_data(scores, method))


def plot_pareto(study: Study | History, *, objectives: tuple[int, int] = (0, 1)) -> Figure:
    """Two objectives of a multi-objective study against each other; the front highlighted."""
    trials, dirs = _read(study)
    return Figure(_data.pareto_data(trials, dirs, objectives=objectives))


def plot_all(study: Study, path: str | Path | None = None, *, width: int = 900) -> str:
    """Every figure of ``study`` on one self-contained HTML page; written to ``path`` if given.

    For the report to share (best configurations, confirmation, soups, environment, with
    these figures) use :func:`honed.recipes.report` or ``honed report STUDY``.

    Views that do not apply (a Pareto front of one objective, importance with too few
    trials) are left out.
    """
    import html

    from honed.plots._figure import page, renderer_js

    trials, dirs = _read(study)
    figs = [plot_history(study), plot_intermediate(study), plot_parallel(study)]
    figs += [plot_slice(study), plot_contour(study)]
    with contextlib.suppress(ValueError):  # too few trials to rank parameters
        figs.append(plot_importance(study, method="ped-anova"))
    if len(dirs) > 1:
        figs.append(plot_pareto(study))
    name = getattr(study, "name", "study")
    n_done = sum(1 for t in trials if t.state.name == "COMPLETE")
    parts = [
        f"<h2>{html.escape(str(name))}</h2>",
        f"<p>{len(trials)} trials, {n_done} complete; "
        f"{html.escape(', '.join(d.value for d in dirs))}</p>",
        f"<script>{renderer_js()}</script>",
    ]
    for fig in figs:
        parts.append(f"<h3>{html.escape(fig.title)}</h3>")
        parts.append(fig._fragment(width, with_renderer=False))
    text = page(f"{name} - honed figures", "\n".join(parts))
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
