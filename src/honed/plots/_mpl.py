"""Draw plot payloads with matplotlib (for PNG, SVG and PDF files).

Uses ``matplotlib.figure.Figure`` directly, never pyplot, so no global backend or figure
registry is touched and nothing pops up in scripts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["draw"]


def _require() -> Any:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            "saving plots as PNG, SVG or PDF needs matplotlib: pip install 'honed[plots]' "
            "(or save as .html, which needs nothing)."
        ) from e
    return Figure


def _axis(ax: Any, which: str, axis: dict[str, Any]) -> None:
    ticks = axis.get("ticks") or []
    pos = [t[0] for t in ticks]
    labels = [t[1] for t in ticks]
    if which == "x":
        ax.set_xlim(*axis["domain"])
        ax.set_xticks(pos, labels)
        ax.set_xlabel(axis["label"])
    else:
        ax.set_ylim(*axis["domain"])
        ax.set_yticks(pos, labels)
        ax.set_ylabel(axis["label"])


def _cmap(direction: str) -> str:
    # Bright is better, as in the browser.
    return "viridis" if direction == "maximize" else "viridis_r"


def _note(fig: Any, text: str) -> Any:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#6b7385")
    return fig


def draw(p: dict[str, Any]) -> Any:
    """A matplotlib Figure of the payload ``p`` (see :mod:`honed.plots._data`)."""
    figure_cls = _require()
    kind = p["kind"]
    if kind == "slice":
        n = max(1, len(p["panels"]))
        cols = min(n, 4)
        rows = (n + cols - 1) // cols
        fig = figure_cls(figsize=(3.2 * cols, 2.8 * rows), layout="constrained")
    elif kind == "parallel":
        fig = figure_cls(figsize=(max(6, 1.6 * len(p["axes"])), 4), layout="constrained")
    elif kind == "importance":
        fig = figure_cls(
            figsize=(6, 1 + 0.35 * max(1, len(p.get("names") or []))), layout="constrained"
        )
    else:
        fig = figure_cls(figsize=(6.4, 4.2), layout="constrained")
    fig.suptitle(p.get("title", kind))
    if p.get("note") and not p.get("names") and kind in ("importance", "contour", "pareto"):
        return _note(fig, p["note"])
    _DRAW[kind](fig, p)
    return fig


def _history(fig: Any, p: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    if not p["number"]:
        ax.text(0.5, 0.5, "No complete trials yet.", ha="center", transform=ax.transAxes)
        return
    ax.scatter(p["number"], p["value"], s=12, color="#748ffc", alpha=0.7, label="trial")
    best = np.array(p["best"], dtype=float).reshape(-1, 2)
    ax.step(best[:, 0], best[:, 1], where="post", color="#e8590c", lw=2, label="best so far")
    _axis(ax, "x", p["x"])
    _axis(ax, "y", p["y"])
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)


def _intermediate(fig: Any, p: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    colors = {"PRUNED": "#e67700", "RUNNING": "#2b8a3e"}
    for cv in p["curves"]:
        c = colors.get(cv["state"], "#4c6ef5")
        ax.plot(cv["step"], cv["value"], color=c, alpha=0.55, lw=1.1)
        if cv["state"] == "PRUNED":
            ax.plot(cv["step"][-1], cv["value"][-1], "x", color="#c92a2a", ms=6)
        pred = cv.get("prediction")
        if pred is not None:
            # the learning-curve scheduler's forecast of the final value, with its 95% band
            ax.plot(
                [cv["step"][-1], pred["step"]],
                [cv["value"][-1], pred["mean"]],
                ls="--",
                color="#7048e8",
                lw=1.2,
            )
            ax.errorbar(
                [pred["step"]],
                [pred["mean"]],
                yerr=[[pred["mean"] - pred["low"]], [pred["high"] - pred["mean"]]],
                fmt="o",
                color="#7048e8",
                ms=3,
                capsize=2,
            )
    _axis(ax, "x", p["x"])
    _axis(ax, "y", p["y"])
    ax.grid(alpha=0.3)


def _parallel(fig: Any, p: dict[str, Any]) -> None:
    from matplotlib import colormaps

    ax = fig.add_subplot()
    axes = p["axes"]
    xs = np.arange(len(axes))
    values = np.array([ln["value"] for ln in p["lines"]], dtype=float)
    lo, hi = (values.min(), values.max()) if len(values) else (0.0, 1.0)
    cmap = colormaps[_cmap(p.get("direction", "minimize"))]
    for ln in p["lines"]:
        ys = np.array([np.nan if u is None else u for u in ln["pos"]], dtype=float)
        t = (ln["value"] - lo) / (hi - lo) if hi > lo else 0.5
        ax.plot(xs, ys, color=cmap(t), alpha=0.5, lw=1)
    for i, axis in enumerate(axes):
        ax.axvline(i, color="#9aa2b1", lw=1)
        for pos, text in axis["ticks"]:
            ax.text(i + 0.03, pos, text, fontsize=7, va="center", color="#4a5163")
    ax.set_xticks(xs, [a["label"] for a in axes], fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(-0.1, len(axes) - 0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def _slice(fig: Any, p: dict[str, Any]) -> None:
    panels = p["panels"]
    cols = min(max(1, len(panels)), 4)
    rows = (len(panels) + cols - 1) // cols
    for k, pn in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.scatter(pn["pos"], pn["value"], s=9, c=pn["number"], cmap="viridis", alpha=0.75)
        _axis(ax, "x", pn["x"])
        _axis(ax, "y", p["y"])
        if k % cols:
            ax.set_ylabel("")
        ax.grid(alpha=0.3)


def _contour(fig: Any, p: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    cells = np.array(p["cells"], dtype=float).reshape(-1, 5)
    if len(cells):
        gx = int(round(1 / cells[0, 2]))
        gy = int(round(1 / cells[0, 3]))
        z = cells[:, 4].reshape(gx, gy).T
        im = ax.imshow(
            z,
            origin="lower",
            extent=(0, 1, 0, 1),
            aspect="auto",
            cmap=_cmap(p.get("direction", "minimize")),
        )
        fig.colorbar(im, ax=ax, label=p.get("value_label", "objective"))
    ax.scatter(p["px"], p["py"], s=12, facecolor="white", edgecolor="#1d2330", lw=0.7)
    _axis(ax, "x", p["x"])
    _axis(ax, "y", p["y"])


def _importance(fig: Any, p: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    names = p["names"][::-1]
    values = p["values"][::-1]
    bars = ax.barh(range(len(names)), values, color="#4c6ef5")
    ax.set_yticks(range(len(names)), names)
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], fontsize=8, padding=2)
    ax.set_xlabel("importance")
    ax.set_xlim(0, max(values, default=1) * 1.15 or 1)


def _pareto(fig: Any, p: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    front = np.array(p["front"], dtype=bool)
    px, py = np.array(p["px"]), np.array(p["py"])
    ax.scatter(px[~front], py[~front], s=12, color="#adb5bd", label="dominated")
    ax.scatter(px[front], py[front], s=22, color="#e8590c", label="Pareto front")
    _axis(ax, "x", p["x"])
    _axis(ax, "y", p["y"])
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)


_DRAW = {
    "history": _history,
    "intermediate": _intermediate,
    "parallel": _parallel,
    "slice": _slice,
    "contour": _contour,
    "importance": _importance,
    "pareto": _pareto,
}
