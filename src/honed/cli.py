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

from honed._text import printable
from honed.errors import HonedError
from honed.pareto import non_dominated_ranks
from honed.storage import DEFAULT_STORAGE_URL, Storage, get_storage
from honed.trial import Direction, FrozenTrial, TrialState

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


def _open_existing(url: str, *, read_only: bool = True) -> Storage:
    """Open an existing storage, read-only unless asked: reading never writes, and a missing
    SQLite file (or plain ``.db`` path) is an error, not a new empty database."""
    path = None
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :].split("?", 1)[0])
    elif url.startswith("journal:///") and len(url) > len("journal:///"):
        path = Path(url[len("journal:///") :])
    elif "://" not in url and Path(url).suffix in (".db", ".sqlite", ".sqlite3"):
        path = Path(url)  # a plain path: get_storage would create it
    if path is not None and not path.is_file():
        raise HonedError(
            f"no database at {path} (from {url}); run `honed demo` to create one, or pass "
            "the URL of your studies (--storage)."
        )
    return get_storage(url, read_only=read_only)


def _console() -> Any:
    from rich.console import Console

    # User strings are text: no markup ("[/bold]" in a name is printed, not parsed), no
    # ":emoji:" codes, no highlighting; styles come only from Text objects built here.
    # Pipes and CI logs get a wide table rather than names cut to "demo-2…".
    width = None if sys.stdout.isatty() else 200
    return Console(width=width, markup=False, emoji=False, highlight=False)


def _styled(*parts: str | tuple[str, str]) -> Any:
    """A line of text: plain strings, or (string, rich style) pairs."""
    from rich.text import Text

    return Text.assemble(*parts)


def _fmt(x: Any) -> str:
    """A value or name as one line of text, control characters escaped."""
    if isinstance(x, float):
        return f"{x:.6g}" if math.isfinite(x) else str(x)
    return printable(x)


def _values(t: FrozenTrial) -> str:
    return "" if t.values is None else ", ".join(_fmt(v) for v in t.values)


def _cmd_studies(args: argparse.Namespace) -> int:
    from rich.table import Table

    summaries = _open_existing(args.storage).list_studies()
    console = _console()
    if not summaries:
        console.print(f"no studies in {printable(args.storage)}")
        return 0
    table = Table(title=f"studies in {printable(args.storage)}")
    for col in ("name", "direction", "complete", "pruned", "failed", "running", "best", "created"):
        table.add_column(
            col, justify="left" if col in ("name", "direction") else "right", no_wrap=col == "name"
        )
    for s in summaries:
        n = s.n_trials_by_state
        best = "" if s.best_values is None else ", ".join(_fmt(v) for v in s.best_values)
        created = s.datetime_created.strftime("%Y-%m-%d %H:%M") if s.datetime_created else ""
        table.add_row(
            _fmt(s.name),
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


def _ranked(trials: list[FrozenTrial], directions: Sequence[Direction]) -> list[FrozenTrial]:
    """Best first: complete feasible trials (by value, or by Pareto rank with several
    objectives), then complete infeasible ones, then pruned ones by their last value (a trial
    stopped early never ranks above one that finished), then running, waiting and failed
    trials by number."""
    from honed.history import History

    history = History(trials, tuple(directions))
    complete = [t for t in trials if t.state is TrialState.COMPLETE and t.values is not None]
    if not complete:
        score: dict[int, tuple[float, float]] = {}
    elif len(directions) == 1:
        losses = history.losses(complete)[:, 0]
        score = {t.number: (0.0, float(v)) for t, v in zip(complete, losses, strict=True)}
    else:
        ranks = non_dominated_ranks(history.losses(complete))
        score = {t.number: (float(r), 0.0) for t, r in zip(complete, ranks, strict=True)}
    order = {TrialState.PRUNED: 2, TrialState.RUNNING: 3, TrialState.WAITING: 4}

    def key(t: FrozenTrial) -> tuple[float, float, float, int]:
        if t.number in score:
            return (0 if t.is_feasible else 1, *score[t.number], t.number)
        if t.state is TrialState.PRUNED and t.values is not None and len(directions) == 1:
            return (2, 0.0, directions[0].sign * t.values[0], t.number)
        return (order.get(t.state, 5), 0.0, 0.0, t.number)

    return sorted(trials, key=key)


def _cmd_show(args: argparse.Namespace) -> int:
    from rich.table import Table

    study = _load(args)
    console = _console()
    trials = study.trials
    directions = study.directions
    dirs = ", ".join(d.value for d in directions)
    if args.sort == "value":
        ordered, order = _ranked(trials, directions), "best first"
    else:
        ordered, order = trials[::-1], "latest first"
    shown = ordered if args.limit <= 0 else ordered[: args.limit]
    params: list[str] = []
    for t in shown:
        params += [k for k in t.params if k not in params]
    table = Table(title=f"{_fmt(study.name)}: trials ({len(shown)} of {len(trials)}, {order})")
    for col in ("#", "state", "value", *map(_fmt, params), "duration s", "note"):
        table.add_column(col, overflow="fold")
    for t in shown:
        table.add_row(
            str(t.number),
            t.state.name,
            _values(t),
            *(_fmt(t.params[p]) if p in t.params else "" for p in params),
            "" if t.duration is None else f"{t.duration:.2f}",
            _fmt(t.fail_reason or "")[:80],
        )
    console.print(table)
    console.print(_styled((_fmt(study.name), "bold"), f" ({dirs}), {len(trials)} trials"))
    best = study.best_trials
    if not best:
        console.print("no complete trial yet")
    elif len(directions) > 1:  # the front is the answer: all of it, every member
        console.print(_styled((f"Pareto front: {len(best)} trials", "bold green")))
    for t in best if len(directions) > 1 else best[:1]:
        console.print(_styled((f"best trial {t.number}", "bold green"), f": value {_values(t)}"))
        for k, v in t.params.items():
            console.print(f"  {_fmt(k)} = {_fmt(v)}")
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
        # The data as stored (UTF-8, whatever the locale), to be read back by a program.
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {len(trials)} trials to {printable(args.output)}", file=sys.stderr)
    else:
        # On a terminal, control characters in names and values are shown escaped (JSON
        # escapes them itself); through a pipe the CSV is the data as stored.
        sys.stdout.write(printable(text, lines=True) if sys.stdout.isatty() else text)
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    storage = _open_existing(args.storage, read_only=False)
    study_id = storage.get_study_id(args.study)
    if not args.yes:
        if not sys.stdin.isatty():
            raise HonedError(f"deleting {args.study!r} needs --yes when not run interactively.")
        n = storage.count_trials(study_id)
        answer = input(f"delete study {args.study!r} and its {n} trials? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("kept")
            return 1
    from honed.study import delete_study

    delete_study(args.study, storage)  # its checkpoints too
    print(f"deleted study {args.study!r}")
    return 0


def _cmd_copy(args: argparse.Namespace) -> int:
    from honed.storage import copy_study

    src = _open_existing(args.src)
    dst = get_storage(args.dst)
    try:
        new_id = copy_study(src, dst, args.study, args.new_name)
        n = dst.count_trials(new_id)
    finally:
        src.close()
        dst.close()
    name = args.study if args.new_name is None else args.new_name
    print(f"copied study {args.study!r} ({n} trials) to {printable(args.dst)} as {name!r}")
    return 0


def _cmd_storage_upgrade(args: argparse.Namespace) -> int:
    storage = _open_existing(args.storage, read_only=False)  # opening to write upgrades
    version = getattr(storage, "upgraded_from", None)
    done = "is current" if version is None else f"was upgraded from version {version}"
    print(f"{args.storage}: the schema {done}")
    storage.close()
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

    p = sub.add_parser("show", help="a study's trials, best first, then its best trial")
    p.add_argument("study")
    _add_storage(p)
    p.add_argument("--limit", type=int, default=50, help="rows to show, the best first (0 = all)")
    p.add_argument(
        "--sort",
        choices=["value", "number"],
        default="value",
        help="value: best first, complete before pruned (default); number: latest first",
    )
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("export", help="write a study's trials as CSV or JSON")
    p.add_argument("study")
    _add_storage(p)
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", "-o", default=None, help="file (default: standard output)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("storage", help="look after a storage (upgrade its schema)")
    storage_sub = p.add_subparsers(dest="storage_command", metavar="ACTION", required=True)
    p = storage_sub.add_parser(
        "upgrade", help="upgrade a database written by an older honed to this version's schema"
    )
    _add_storage(p)
    p.set_defaults(func=_cmd_storage_upgrade)

    p = sub.add_parser(
        "copy",
        help="copy a study, every trial and setting, from one storage to another",
        description="Copy a study between any two storages (SQLite, PostgreSQL, journal "
        "files): its trials with their parameters, values, reports, attributes and times, "
        "and its settings. SRC is only read.",
    )
    p.add_argument("src", metavar="SRC_URL", help="where the study is (only read)")
    p.add_argument("dst", metavar="DST_URL", help="where to copy it (created if missing)")
    p.add_argument("study", metavar="STUDY")
    p.add_argument("--as", dest="new_name", metavar="NEW", default=None, help="name of the copy")
    p.set_defaults(func=_cmd_copy)

    p = sub.add_parser("delete", help="delete a study and its trials")
    p.add_argument("study")
    _add_storage(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_cmd_delete)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="honed", description="Hyperparameter optimization: run, inspect and compare studies."
    )
    from honed import __version__

    parser.add_argument("--version", action="version", version=f"honed {__version__}")
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
    """Run the ``honed`` command; returns its exit code: 0 done, 1 refused or an unexpected
    error, 2 bad usage or input (a message on standard error, never a traceback; set
    ``HONED_DEBUG=1`` to see the traceback of an unexpected error)."""
    for stream in (sys.stdout, sys.stderr):
        # A name the terminal's encoding cannot show is written escaped, not a crash.
        if hasattr(stream, "reconfigure") and stream.encoding.lower().replace("-", "") != "utf8":
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (HonedError, ValueError, OSError) as e:
        if isinstance(e, BrokenPipeError):  # `honed export s | head`: the reader has enough
            _quiet_stdout()
            return 1
        print(f"honed: error: {printable(e, lines=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("honed: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        import os

        if os.environ.get("HONED_DEBUG"):
            raise
        print(
            f"honed: unexpected error: {type(e).__name__}: {printable(e, lines=True)}\n"
            "This is a bug in honed; run again with HONED_DEBUG=1 for the traceback and "
            "report it.",
            file=sys.stderr,
        )
        return 1


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not raise again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
