"""A plot as data, drawn either by the dashboard's SVG renderer (HTML) or by matplotlib."""

from __future__ import annotations

import html
import json
import uuid
from pathlib import Path
from typing import Any

__all__ = ["Figure"]

_STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"
CSS = """
body { font-family: system-ui, sans-serif; margin: 16px; color: #1d2330; }
.hc-chart { display: block; font-size: 11px; }
.hc-chart text { fill: #4a5163; }
.hc-chart .hc-label { font-size: 12px; fill: #1d2330; font-weight: 600; }
.hc-chart .hc-caption { font-size: 11px; fill: #6b7385; }
.hc-chart .hc-small { font-size: 10px; }
.hc-domain { stroke: #9aa2b1; } .hc-grid { stroke: #eef0f4; }
circle.pt { fill: #4c6ef5; fill-opacity: .65; }
path.best { fill: none; stroke: #e8590c; stroke-width: 2; }
path.curve { fill: none; stroke: #4c6ef5; stroke-opacity: .45; stroke-width: 1.2; }
path.curve.pruned { stroke: #e67700; stroke-opacity: .6; }
path.pruned-end { stroke: #c92a2a; stroke-width: 1.5; fill: none; }
path.lc-pred { stroke: #7048e8; stroke-width: 1.4; stroke-dasharray: 4 3; fill: none; }
path.line { fill: none; stroke-opacity: .5; stroke-width: 1.2; }
[data-plot=contour] circle.pt { fill: #fff; stroke: #1d2330; stroke-width: .8; fill-opacity: .9; }
[data-plot=pareto] circle.pt { fill: #adb5bd; }
[data-plot=pareto] circle.pt.front { fill: #e8590c; fill-opacity: .9; }
rect.bar { fill: #4c6ef5; }
.hc-multiples { display: flex; flex-wrap: wrap; gap: 6px; }
.hc-note { color: #6b7385; padding: 18px 4px; }
.hc-tip { position: fixed; display: none; pointer-events: none; background: #1d2330; color: #fff;
  font-size: 12px; padding: 3px 7px; border-radius: 4px; }
"""
_FORMATS = (".html", ".png", ".svg", ".pdf")


def renderer_js() -> str:
    """The dashboard's SVG renderer, to inline into standalone pages."""
    return (_STATIC / "charts.js").read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    """A standalone HTML page with the renderer's styles."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        f"{body}\n</body></html>\n"
    )


class Figure:
    """One plot: its data (``.data``, JSON-ready) and ways to draw and save it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def title(self) -> str:
        return str(self.data.get("title", self.kind))

    def __repr__(self) -> str:
        return f"Figure(kind={self.kind!r})"

    # ---- HTML --------------------------------------------------------------------------------
    def _fragment(self, width: int, *, with_renderer: bool = True) -> str:
        from honed.plots._data import jsonable

        uid = "honed-" + uuid.uuid4().hex[:10]
        # In a <script> element only "</" can end it early; escaping "<" rules that out.
        payload = json.dumps(jsonable(self.data)).replace("<", "\\u003c")
        renderer = f"<script>{renderer_js()}</script>\n" if with_renderer else ""
        return (
            f'<div id="{uid}"></div>\n'
            f'<script type="application/json" id="{uid}-data">{payload}</script>\n'
            f"{renderer}"
            f"<script>HonedCharts.render(JSON.parse(document.getElementById('{uid}-data')"
            f".textContent), document.getElementById('{uid}'), {{width: {int(width)}}});"
            "</script>"
        )

    def to_html(self, width: int = 900) -> str:
        """A self-contained HTML page (no network access needed) drawing this plot."""
        return page(self.title, f"<h3>{html.escape(self.title)}</h3>\n{self._fragment(width)}")

    def _repr_html_(self) -> str:
        return f"<style>{CSS}</style>{self._fragment(800)}"

    # ---- matplotlib --------------------------------------------------------------------------
    def to_matplotlib(self) -> Any:
        """A ``matplotlib.figure.Figure`` of this plot (needs ``honed[plots]``)."""
        from honed.plots._mpl import draw

        return draw(self.data)

    def save(self, path: str | Path, *, dpi: int = 120) -> Path:
        """Write the plot to ``path``; the suffix picks the format (.html, .png, .svg, .pdf)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in _FORMATS:
            raise ValueError(
                f"cannot save a figure as {suffix or 'a file without a suffix'!r}; "
                f"use one of {', '.join(_FORMATS)}."
            )
        if suffix == ".html":
            path.write_text(self.to_html(), encoding="utf-8")
        else:
            fig = self.to_matplotlib()
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return path
