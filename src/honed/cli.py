"""The ``honed`` command line. It reads and drives studies through the public API only."""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from honed.errors import HonedError
from honed.storage import DEFAULT_STORAGE_URL, Storage, get_storage
from honed.trial import FrozenTrial, TrialState

__all__ = ["main"]

# Modules that add their own subcommands: each defines ``register(subparsers)``, which adds a
# parser whose ``func`` default takes the parsed args and returns an exit code. They must keep
# heavy imports inside their handlers so that ``honed --help`` stays fast.
_PLUGINS = (
    "honed.dashboard.cli",
    "honed.analysis.cli",
    "honed.recipes.cli",
)


def _add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE_URL,
        help=f"storage URL or .db path (default: {DEFAULT_STORAGE_URL})",
    )


def _open_existing(url: str) -> Storage:
    """Open a storage for reading without creating an empty SQLite file by accident."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.exists():
            raise HonedError(
                f"no database at {path} (from --storage {url}); run `honed demo` to create "
                "one, or pass --storage with the URL of your studies."
            )
    return get_storage(url)


def _console() -> Any:
    from rich.console import Console

    # Pipes and CI logs get a wide table rather than names cut to "demo-2…".
    return Console() if sys.stdout.isatty() else Console(width=200)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}" if math.isfinite(x) else str(x)
    return str(x)


def _values(t: FrozenTrial) -> str:
    return "" if t.values is None else ", ".join(_fmt(v) for v in t.values)


def _cmd_studies(args: argparse.Namespace) -> int:
    from rich.table import Table

    summaries = _open_existing(args.storage).list_studies()
    console = _console()
    if not summaries:
        console.print(f"no studies in {args.storage}")
        return 0
    table = Table(title=f"studies in {args.storage}")
    for col in ("name", "direction", "complete", "pruned", "failed", "running", "best", "created"):
        table.add_column(
            col, justify="left" if col in ("name", "direction") else "right", no_wrap=col == "name"
        )
    for s in summaries:
        n = s.n_trials_by_state
        best = "" if s.best_values is None else ", ".join(_fmt(v) for v in s.best_values)
        created = s.datetime_created.strftime("%Y-%m-%d %H:%M") if s.datetime_created else ""
        table.add_row(
            s.name,
            ", ".join(d.value for d in s.directions),
            str(n[TrialState.COMPLETE]),
            str(n[TrialState.PRUNED]),
            str(n[TrialState.FAILED]),
            str(n[TrialState.RUNNING] + n[TrialState.WAITING]),
            best,
            created,
        )
    console.print(table)
    return 0


def _load(args: argparse.Namespace) -> Any:
    from honed.study import load_study

    return load_study(args.study, _open_existing(args.storage))


def _cmd_show(args: argparse.Namespace) -> int:
    from rich.table import Table

    study = _load(args)
    console = _console()
    trials = study.trials
    dirs = ", ".join(d.value for d in study.directions)
    console.print(f"[bold]{study.name}[/] ({dirs}), {len(trials)} trials")
    best = study.best_trials
    if not best:
        console.print("no complete trial yet")
    for t in best[:10]:
        console.print(f"[bold green]best trial {t.number}[/]: value {_values(t)}")
        for k, v in t.params.items():
            console.print(f"  {k} = {_fmt(v)}")
    params: list[str] = []
    for t in trials:
        params += [k for k in t.params if k not in params]
    if args.sort == "value":
        sign = study.directions[0].sign
        trials = sorted(
            trials, key=lambda t: (t.values is None, sign * t.values[0] if t.values else 0)
        )
    shown = (
        trials
        if args.limit <= 0
        else trials[-args.limit :]
        if args.sort == "number"
        else trials[: args.limit]
    )
    table = Table(title=f"trials ({len(shown)} of {len(trials)})")
    for col in ("#", "state", "value", *params, "duration s", "note"):
        table.add_column(col, overflow="fold")
    for t in shown:
        note = t.fail_reason or ""
        table.add_row(
            str(t.number),
            t.state.name,
            _values(t),
            *(_fmt(t.params[p]) if p in t.params else "" for p in params),
            "" if t.duration is None else f"{t.duration:.2f}",
            note[:80],
        )
    console.print(table)
    return 0


def _trial_record(t: FrozenTrial) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.name,
        "values": list(t.values) if t.values is not None else None,
        "params": dict(t.params),
        "intermediate_values": {str(k): v for k, v in t.intermediate_values.items()},
        "intermediate_vectors": {str(k): list(v) for k, v in t.intermediate_vectors.items()},
        "report_seconds": {str(k): v for k, v in t.report_seconds.items()},
        "constraints": list(t.constraints) if t.constraints is not None else None,
        "user_attrs": dict(t.user_attrs),
        "fail_reason": t.fail_reason,
        "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
        "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
        "duration": t.duration,
    }


def _cmd_export(args: argparse.Namespace) -> int:
    study = _load(args)
    trials = study.trials
    if args.format == "json":
        doc = {
            "study": study.name,
            "directions": [d.value for d in study.directions],
            "trials": [_trial_record(t) for t in trials],
        }
        text = json.dumps(doc, indent=2, default=str) + "\n"
    else:
        params: list[str] = []
        attrs: list[str] = []
        for t in trials:
            params += [k for k in t.params if k not in params]
            attrs += [k for k in t.user_attrs if k not in attrs]
        n_obj = len(study.directions)
        value_cols = ["value"] if n_obj == 1 else [f"value_{i}" for i in range(n_obj)]
        header = [
            "number",
            "state",
            *value_cols,
            *(f"param_{p}" for p in params),
            *(f"user_{a}" for a in attrs),
            "datetime_start",
            "datetime_complete",
            "duration",
            "fail_reason",
        ]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        for t in trials:
            vals = list(t.values) if t.values is not None else [""] * n_obj
            w.writerow(
                [
                    t.number,
                    t.state.name,
                    *vals,
                    *(t.params.get(p, "") for p in params),
                    *(json.dumps(t.user_attrs[a]) if a in t.user_attrs else "" for a in attrs),
                    t.datetime_start.isoformat() if t.datetime_start else "",
                    t.datetime_complete.isoformat() if t.datetime_complete else "",
                    "" if t.duration is None else t.duration,
                    t.fail_reason or "",
                ]
            )
        text = buf.getvalue()
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {len(trials)} trials to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    storage = _open_existing(args.storage)
    study_id = storage.get_study_id(args.study)
    if not args.yes:
        if not sys.stdin.isatty():
            raise HonedError(f"deleting {args.study!r} needs --yes when not run interactively.")
        n = storage.count_trials(study_id)
        answer = input(f"delete study {args.study!r} and its {n} trials? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("kept")
            return 1
    storage.delete_study(study_id)
    print(f"deleted study {args.study!r}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from honed.demo import run_demo

    run_demo(args.storage, n_trials=args.n_trials, n_jobs=args.n_jobs, study_name=args.name)
    return 0


def _register_core(sub: Any) -> None:
    p = sub.add_parser("demo", help="tune a real model on scikit-learn data (the main job)")
    _add_storage(p)
    p.add_argument("--n-trials", type=int, default=50)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--name", default=None, help="study name (default: demo-DATE-TIME)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("studies", help="list the studies in a storage")
    _add_storage(p)
    p.set_defaults(func=_cmd_studies)

    p = sub.add_parser("show", help="best trial and a table of trials of a study")
    p.add_argument("study")
    _add_storage(p)
    p.add_argument("--limit", type=int, default=50, help="rows to show (0 = all)")
    p.add_argument("--sort", choices=["number", "value"], default="number")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("export", help="write a study's trials as CSV or JSON")
    p.add_argument("study")
    _add_storage(p)
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", "-o", default=None, help="file (default: standard output)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("delete", help="delete a study and its trials")
    p.add_argument("study")
    _add_storage(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_cmd_delete)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="honed", description="Hyperparameter optimization: run, inspect and compare studies."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_core(sub)
    for module in _PLUGINS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                continue  # that part of honed is not built yet
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except HonedError as e:
        print(f"honed: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
