"""The ``honed`` command line. It reads and drives studies through the public API only."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from honed.storage import DEFAULT_STORAGE_URL

__all__ = ["main"]

# Modules that add their own subcommands: each defines ``register(subparsers)``, which adds a
# parser whose ``func`` default takes the parsed args and returns an exit code. They must keep
# heavy imports inside their handlers so that ``honed --help`` stays fast.
_PLUGINS = (
    "honed.bench.cli",
    "honed.dashboard.cli",
    "honed.analysis.cli",
)


def _add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE_URL,
        help=f"storage URL or .db path (default: {DEFAULT_STORAGE_URL})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="honed", description="Hyperparameter optimization: run, inspect and compare studies."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
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
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
