"""``honed dashboard``: serve the web dashboard for a storage."""

from __future__ import annotations

import argparse
import os

from honed.storage import DEFAULT_STORAGE_URL

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``honed dashboard`` command to the ``honed`` command line."""
    p = subparsers.add_parser(
        "dashboard",
        help="watch and inspect studies in a local web app",
        description=(
            "Serve a web dashboard of the studies in a storage: live plots, importance and a "
            "trial table. Read-only unless started with --token."
        ),
    )
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE_URL,
        help=f"storage URL or .db path (default: {DEFAULT_STORAGE_URL})",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default: 8080; 0: any)")
    p.add_argument(
        "--token",
        default=os.environ.get("HONED_DASHBOARD_TOKEN"),
        help="allow write actions (notes, deleting studies) to requests carrying this token "
        "(default: $HONED_DASHBOARD_TOKEN; unset means read-only)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    from honed.dashboard import serve
    from honed.errors import HonedError

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.token:
        print(
            f"honed dashboard: note: binding {args.host} shows your studies to the network; "
            "anyone who can reach it can read them.",
            file=sys.stderr,
        )
    try:
        serve(args.storage, host=args.host, port=args.port, token=args.token)
    except (HonedError, ValueError, ImportError, OSError) as e:
        print(f"honed dashboard: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
