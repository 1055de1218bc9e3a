"""A study's report: what it found, how sure we are, and how it was run, in one file.

Sections: the best configurations, the model's likely best, the confirmation on fresh seeds,
the saved soups, parameter importance, the history and parallel-coordinate plots, and the
environment. HTML is one self-contained file (plots as inline SVG data URIs, styles inline,
no script, nothing fetched); Markdown reads as text, with the plots as SVG files beside it.
"""

from __future__ import annotations

import base64
import contextlib
import html
import importlib.metadata
import io
import math
import platform
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import honed
from honed.trial import FrozenTrial, TrialState

__all__ = ["report"]

FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}
PACKAGES = ("numpy", "scipy", "sqlalchemy", "scikit-learn", "torch", "matplotlib")
MAX_MODEL_TRIALS = 2000  # the likely best's GP beyond this costs more than a report should


# ---- the document, as blocks both formats render --------------------------------------------


@dataclass
class _Heading:
    text: str
    level: int = 2


@dataclass
class _Text:
    text: str


@dataclass
class _Table:
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass
class _Figure:
    name: str
    title: str
    svg: bytes


Block = _Heading | _Text | _Table | _Figure


def report(
    study: honed.Study,
    path: str | Path | None = None,
    *,
    format: str | None = None,
    top: int = 10,
) -> str:
    """What ``study`` found, as one HTML or Markdown document (written to ``path`` if given).

    Args:
        study: The study (its confirmation and soups are found through it).
        path: Where to write; its suffix (``.html``, ``.md``) picks the format. Markdown
            plots go to ``<stem>_files/`` beside it.
        format: ``"html"`` or ``"md"``; default: from ``path``, else HTML.
        top: How many of the best trials to list.

    Returns:
        The document's text.
    """
    if not isinstance(study, honed.Study):
        raise TypeError(f"report needs a honed.Study, got {type(study).__name__}.")
    fmt = _format(path, format)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be an int >= 1, got {top!r}.")
    blocks = _blocks(study, top)
    title = f"{study.name}: honed report"
    if fmt == "html":
        text = _html(title, blocks)
    else:
        files = None
        if path is not None:
            files = Path(path).with_name(Path(path).stem + "_files")
        text = _markdown(title, blocks, files, Path(path).parent if path else None)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _format(path: str | Path | None, format: str | None) -> str:
    if format is not None:
        if format not in ("html", "md"):
            raise ValueError(f"format must be 'html' or 'md', got {format!r}.")
        return format
    if path is None:
        return "html"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot tell the format of {str(path)!r}; name it .html or .md, or pass "
            "format='html' or 'md'."
        )
    return FORMATS[suffix]


# ---- what goes in -------------------------------------------------------------------------------


def _blocks(study: honed.Study, top: int) -> list[Block]:
    trials = study.trials
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.values is not None]
    blocks: list[Block] = [_Text(_summary(study, trials))]
    blocks += _best(study, done, top)
    if not study.is_multi_objective:
        blocks += _likely(study, done)
    blocks += _confirmation(study)
    blocks += _soups(study)
    blocks += _importance(study, done)
    blocks += _plots(study, done)
    blocks += _environment(study)
    return blocks


def _g(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}" if math.isfinite(x) else "n/a"
    return str(x)


def _params(params: Any) -> str:
    return ", ".join(f"{k}={_g(v)}" for k, v in params.items())


def _summary(study: honed.Study, trials: list[FrozenTrial]) -> str:
    counts = {s: 0 for s in TrialState}
    for t in trials:
        counts[t.state] += 1
    states = ", ".join(f"{n} {s.name.lower()}" for s, n in counts.items() if n)
    dirs = ", ".join(d.value for d in study.directions)
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    when = ""
    if starts and ends:
        span = (max(ends) - min(starts)).total_seconds()
        when = f", from {min(starts):%Y-%m-%d %H:%M} over {_duration(span)}"
    return f"{len(trials)} trials ({states or 'none yet'}); {dirs}{when}."


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _best(study: honed.Study, done: list[FrozenTrial], top: int) -> list[Block]:
    blocks: list[Block] = [_Heading("Best configurations")]
    if not done:
        return [*blocks, _Text("No complete trial yet.")]
    if study.is_multi_objective:
        front = study.best_trials
        blocks.append(_Text(f"The Pareto front: {len(front)} trial(s), first {top} shown."))
        chosen = front[:top]
    else:
        sign = study.direction.sign
        feasible = [t for t in done if t.is_feasible]
        chosen = sorted(feasible, key=lambda t: (sign * t.values[0], t.number))[:top]  # type: ignore[index]
    names = [f"value {i}" for i in range(len(study.directions))]
    if len(names) == 1:
        names = ["value"]
    rows = [[t.number, *(_g(v) for v in t.values), _params(t.params)] for t in chosen]  # type: ignore[union-attr]
    return [*blocks, _Table(["trial", *names, "parameters"], rows)]


def _likely(study: honed.Study, done: list[FrozenTrial]) -> list[Block]:
    from honed.recipes._likely import likely_best

    head: list[Block] = [_Heading("Likely best (model-based)")]
    if len(done) > MAX_MODEL_TRIALS:
        return [*head, _Text(f"Not estimated: more than {MAX_MODEL_TRIALS} complete trials.")]
    try:
        found = likely_best(study)
    except ValueError as e:
        return [*head, _Text(f"Not estimated: {e}")]
    text = (
        "A Gaussian process fitted to every complete trial estimates each configuration's "
        f"value without its noise (estimated noise sd {found.noise_sd:.3g}). "
    )
    text += found.note or (
        f"The best estimate is the best value's trial, {found.trial.number} "
        f"({found.mean:.4g} +- {found.sd:.2g})."
    )
    rows = [[n, _g(v), _g(m), _g(s)] for n, v, m, s in found.ranking[:5]]
    return [*head, _Text(text), _Table(["trial", "value", "estimate", "sd"], rows)]


def _confirmation(study: honed.Study) -> list[Block]:
    from honed.recipes._confirm import load_confirmation

    head: list[Block] = [_Heading("Confirmation on fresh seeds")]
    result = load_confirmation(study)
    if result is None:
        return [
            *head,
            _Text(
                "Not confirmed: honed.recipes.confirm(study, objective) re-runs the best "
                "configurations on seeds tuning never used."
            ),
        ]
    best = result.best.trial if any(c.n for c in result.configs) else None
    rows = [
        [
            f"{c.trial}{' (best)' if c.trial == best else ''}",
            _g(c.tuning_value),
            _g(c.mean),
            _g(c.std),
            "n/a" if not math.isfinite(c.low) else f"[{c.low:.4g}, {c.high:.4g}]",
            f"{c.n}/{len(result.seeds)}",
            _params(c.params),
        ]
        for c in result.configs
    ]
    text = (
        f"The best {len(result.configs)} configurations re-run on {len(result.seeds)} seeds "
        f"tuning never used, the same seeds for each (runs in study {result.confirm_study!r})."
    )
    blocks: list[Block] = [*head, _Text(text)]
    blocks.append(
        _Table(["trial", "tuning", "mean", "std", "95% interval", "runs", "parameters"], rows)
    )
    note = result.note if best is not None else "No confirmation run completed."
    blocks.append(_Text(note or "The tuning winner is the confirmed winner."))
    return blocks


def _soups(study: honed.Study) -> list[Block]:
    from honed.recipes._soup import saved_soups

    soups = saved_soups(study)
    if not soups:
        return []
    rows = [
        [
            s.name,
            s.method,
            ", ".join(map(str, s.trials))
            + ("" if s.steps is None else f" (steps {', '.join(map(str, s.steps))})"),
            _g(s.score),
            _g(s.baseline),
            f"{s.gain:+.4g}",
        ]
        for s in soups
    ]
    return [
        _Heading("Model soups"),
        _Text(
            "Weights averaged across trials (held-out score of the soup, and of its best "
            "ingredient alone; gain > 0: the soup is better)."
        ),
        _Table(["soup", "method", "trials", "score", "best alone", "gain"], rows),
    ]


def _importance(study: honed.Study, done: list[FrozenTrial]) -> list[Block]:
    from honed.analysis import importance
    from honed.plots import plot_importance

    head: list[Block] = [_Heading("Parameter importance")]
    history = honed.History(study.trials, study.directions)
    sign = study.directions[0].sign
    method = "fanova"
    try:
        import sklearn  # noqa: F401
    except ImportError:
        method = "ped-anova"
    try:
        scores = importance(
            history,
            method,
            target=lambda t: sign * t.values[0],  # type: ignore[index]
        )
    except (ValueError, ImportError) as e:
        return [*head, _Text(f"Not estimated: {e}")]
    what = "fANOVA over a random forest" if method == "fanova" else "PED-ANOVA"
    objective = " (objective 0)" if study.is_multi_objective else ""
    rows = [[name, f"{value:.3f}"] for name, value in scores.items()]
    blocks: list[Block] = [*head, _Text(f"Share of the variance explained, by {what}{objective}.")]
    blocks.append(_Table(["parameter", "importance"], rows))
    fig = _svg(lambda: plot_importance(history, method=method))
    if fig is not None:
        blocks.append(_Figure("importance", "Parameter importance", fig))
    return blocks


def _plots(study: honed.Study, done: list[FrozenTrial]) -> list[Block]:
    if not done:
        return []
    blocks: list[Block] = [_Heading("Plots")]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return [*blocks, _Text("Plots need matplotlib: pip install 'honed[plots]'.")]
    from honed.plots import plot_history, plot_parallel, plot_pareto

    history = honed.History(study.trials, study.directions)
    figures = [
        ("history", "Objective by trial", lambda: plot_history(history)),
        ("parallel", "Parallel coordinates", lambda: plot_parallel(history)),
    ]
    if study.is_multi_objective:
        figures.append(("pareto", "Pareto front", lambda: plot_pareto(history)))
    for name, title, make in figures:
        svg = _svg(make)
        if svg is not None:
            blocks.append(_Figure(name, title, svg))
    return blocks


def _svg(make: Any) -> bytes | None:
    """The figure as SVG (text drawn as paths, so no font is needed), or None without
    matplotlib or when the plot does not apply."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    try:
        figure = make().to_matplotlib()
    except ValueError:
        return None
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # layout warnings of small figures
        figure.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def _environment(study: honed.Study) -> list[Block]:
    rows: list[list[str]] = [
        ["honed", honed.__version__],
        ["python", f"{platform.python_version()} ({sys.implementation.name})"],
        ["platform", platform.platform(terse=True)],
    ]
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            rows.append([name, importlib.metadata.version(name)])
    rows.append(["storage", _storage_text(study.storage)])
    rows.append(["artifacts", repr(study.artifact_store)])
    rows.append(
        ["sampler", f"{study.sampler!r} (this session's; a study does not record its sampler)"]
    )
    if study.scheduler is not None:
        rows.append(["scheduler", repr(study.scheduler)])
    rows.append(["faults", repr(study.faults)])
    workers = {t.system_attrs.get("worker") for t in study.trials} - {None}
    if workers:
        rows.append(["workers", str(len(workers))])
    rows.append(["report written", f"{datetime.now():%Y-%m-%d %H:%M}"])
    return [_Heading("Environment"), _Table(["", ""], rows)]


def _storage_text(storage: Any) -> str:
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)  # never print a password
    return type(storage).__name__


# ---- rendering ---------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #1d2330;
  padding: 0 16px; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #e3e6ec; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.92em; }
th, td { border: 1px solid #e3e6ec; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f5f6f9; }
figure { margin: 12px 0; } figcaption { color: #6b7385; font-size: 0.9em; }
img { max-width: 100%; height: auto; }
"""


def _html(title: str, blocks: list[Block]) -> str:
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for b in blocks:
        if isinstance(b, _Heading):
            parts.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, _Text):
            parts.append(f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, _Table):
            head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                for row in b.rows
            )
            head_row = f"<thead><tr>{head}</tr></thead>" if any(b.header) else ""
            parts.append(f"<table>{head_row}<tbody>{body}</tbody></table>")
        else:
            data = base64.b64encode(b.svg).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(b.title)}" '
                f'src="data:image/svg+xml;base64,{data}">'
                f"<figcaption>{html.escape(b.title)}</figcaption></figure>"
            )
    body = "\n".join(parts)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f"{body}\n</body></html>\n"
    )


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _markdown(title: str, blocks: list[Block], files: Path | None, base: Path | None) -> str:
    lines = [f"# {title}", ""]
    for b in blocks:
        if isinstance(b, _Heading):
            lines += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, _Text):
            lines += [b.text, ""]
        elif isinstance(b, _Table):
            lines.append("| " + " | ".join(_cell(h) for h in b.header) + " |")
            lines.append("|" + "---|" * len(b.header))
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        else:
            if files is not None:
                files.mkdir(parents=True, exist_ok=True)
                target = files / f"{b.name}.svg"
                target.write_bytes(b.svg)
                link = target.relative_to(base).as_posix() if base is not None else str(target)
            else:
                link = "data:image/svg+xml;base64," + base64.b64encode(b.svg).decode("ascii")
            lines += [f"![{b.title}]({link})", ""]
    return "\n".join(lines)
