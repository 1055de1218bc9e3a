"""Studies and trials in notebooks: HTML tables (every user string escaped), a pandas frame of
the trials (``study.to_dataframe()``), and whether this process is a Jupyter kernel."""

from __future__ import annotations

import html
import math
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib.util import find_spec
from typing import Any

from honed.trial import Direction, FrozenTrial

__all__ = ["in_jupyter", "study_html", "trial_html", "trials_dataframe"]

#: Trials a study's table shows (the latest ones); the rest are counted.
MAX_ROWS = 20


def in_jupyter() -> bool:
    """Whether this process is a Jupyter kernel that can show rich's progress bars (drawn as
    ipywidgets there; without ipywidgets rich would only warn)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:
        return False
    return type(ip).__name__ == "ZMQInteractiveShell" and find_spec("ipywidgets") is not None


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:.6g}" if math.isfinite(v) else str(v)


def _value(x: Any) -> str:
    if isinstance(x, float):
        return _num(x)
    return repr(x) if isinstance(x, str) else str(x)


def _values(t: FrozenTrial) -> str:
    if t.values is None:
        return ""
    return ", ".join(_num(v) for v in t.values)


def _when(d: datetime | None) -> str:
    return "" if d is None else d.isoformat(sep=" ", timespec="seconds")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """A table of already escaped cells (Jupyter styles it)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f'<caption style="text-align:left">{caption}</caption>' if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def trial_html(t: FrozenTrial) -> str:
    """One trial as a two-column table: its fields, then a row per parameter and attribute."""
    rows: list[tuple[str, str]] = [
        ("number", str(t.number)),
        ("state", t.state.name),
        ("values" if t.values and len(t.values) > 1 else "value", _e(_values(t))),
    ]
    rows += [(f"param <code>{_e(k)}</code>", _e(_value(v))) for k, v in t.params.items()]
    if t.intermediate_values:
        last = t.last_step
        assert last is not None
        rows.append(
            (
                "reports",
                _e(
                    f"{len(t.intermediate_values)} (last: {_num(t.intermediate_values[last])} "
                    f"at step {last})"
                ),
            )
        )
    rows += [(f"user attr <code>{_e(k)}</code>", _e(repr(v))) for k, v in t.user_attrs.items()]
    if t.constraints is not None:
        rows.append(("constraints", _e(", ".join(_num(c) for c in t.constraints))))
    if t.fail_reason:
        rows.append(("fail reason", _e(t.fail_reason)))
    rows.append(("started", _e(_when(t.datetime_start))))
    if t.duration is not None:
        rows.append(("duration", _e(f"{t.duration:.3f} s")))
    return _table(["field", "value"], rows, caption=f"<b>Trial {t.number}</b>")


def study_html(
    name: str,
    directions: Sequence[Direction],
    trials: Sequence[FrozenTrial],
    best: Sequence[FrozenTrial],
    sampler: Any,
    scheduler: Any,
) -> str:
    """A study: a summary line, then its best trial(s) and latest trials as a table."""
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items()) or "no trials yet"
    dirs = ", ".join(d.value for d in directions)
    lines = [
        f"<b>Study {_e(name)}</b> ({_e(dirs)}): {len(trials)} trials ({_e(summary)})",
        f"sampler: <code>{_e(repr(sampler))}</code>"
        + (f", scheduler: <code>{_e(repr(scheduler))}</code>" if scheduler is not None else ""),
    ]
    if best:
        label = "best trial" if len(directions) == 1 else f"Pareto front: {len(best)} trials"
        first = best[0]
        lines.append(
            f"{label}: #{first.number}, value {_e(_values(first))}, params "
            f"<code>{_e(dict(first.params))}</code>"
            if len(directions) == 1
            else label
        )
    shown = list(trials)[-MAX_ROWS:]
    names: list[str] = []
    for t in shown:
        names += [k for k in t.params if k not in names]
    best_numbers = {t.number for t in best}
    value_head = "value" if len(directions) == 1 else "values"
    header = ["#", "state", value_head, *(f"<code>{_e(n)}</code>" for n in names), "duration"]
    rows = []
    for t in shown:
        mark = " ★" if t.number in best_numbers else ""
        rows.append(
            [
                f"{t.number}{mark}",
                t.state.name,
                _e(_values(t)),
                *(_e(_value(t.params[n])) if n in t.params else "" for n in names),
                "" if t.duration is None else f"{t.duration:.2f} s",
            ]
        )
    caption = "" if len(trials) <= MAX_ROWS else f"the latest {MAX_ROWS} of {len(trials)} trials"
    return "<div>" + "<br>".join(lines) + (_table(header, rows, caption) if rows else "") + "</div>"


def trials_dataframe(trials: Sequence[FrozenTrial], directions: Sequence[Direction]) -> Any:
    """A pandas DataFrame, a row per trial: ``number``, ``value`` (``values_0``, ... with
    several objectives), ``datetime_start``, ``datetime_complete``, ``duration`` (a
    timedelta), ``params_<name>``, ``user_attrs_<key>`` (each sorted by name), ``state``
    (its name)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "study.to_dataframe() needs pandas: pip install pandas (or honed[notebook])."
        ) from None
    n_obj = len(directions)
    params: list[str] = []
    attrs: list[str] = []
    for t in trials:
        params += [k for k in t.params if k not in params]
        attrs += [k for k in t.user_attrs if k not in attrs]
    params.sort()  # by name, as Optuna's trials_dataframe() orders them
    attrs.sort()
    value_cols = ["value"] if n_obj == 1 else [f"values_{i}" for i in range(n_obj)]
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number}
        for i, col in enumerate(value_cols):
            row[col] = t.values[i] if t.values is not None else math.nan
        row["datetime_start"] = t.datetime_start
        row["datetime_complete"] = t.datetime_complete
        row["duration"] = (
            t.datetime_complete - t.datetime_start
            if t.datetime_start is not None and t.datetime_complete is not None
            else None
        )
        for k in params:
            row[f"params_{k}"] = t.params.get(k)
        for k in attrs:
            row[f"user_attrs_{k}"] = t.user_attrs.get(k)
        row["state"] = t.state.name
        rows.append(row)
    columns = [
        "number",
        *value_cols,
        "datetime_start",
        "datetime_complete",
        "duration",
        *(f"params_{k}" for k in params),
        *(f"user_attrs_{k}" for k in attrs),
        "state",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("datetime_start", "datetime_complete"):
        frame[col] = pd.to_datetime(frame[col])
    frame["duration"] = pd.to_timedelta(frame["duration"])
    return frame
