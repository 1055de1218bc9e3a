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
        help="require this token for every read and write (the page asks for it once); "
        "needed to bind beyond 127.0.0.1 (default: $HONED_DASHBOARD_TOKEN; unset: read-only "
        "and open to whoever reaches it)",
    )
    p.add_argument(
        "--read-only",
        action="store_true",
        help="with --token, refuse writes anyway (the token then only guards reads)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the dashboard may be reached under, besides --host, localhost and "
        "IP addresses (repeatable); other Host headers are refused",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    from honed._text import printable
    from honed.dashboard import serve
    from honed.errors import HonedError

    try:
        serve(
            args.storage,
            host=args.host,
            port=args.port,
            token=args.token,
            allowed_hosts=args.allow_host,
            read_only=args.read_only,
        )
    except (HonedError, ValueError, ImportError, OSError) as e:
        print(f"honed dashboard: {printable(e, lines=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
