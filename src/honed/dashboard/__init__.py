"""The honed dashboard: a local web app to watch and inspect studies.

Start it with ``honed dashboard`` or from Python::

    from honed.dashboard import serve
    server = serve("sqlite:///honed.db", background=True)
    print(server.url)
    ...
    server.stop()

It needs the ``dashboard`` extra (``pip install 'honed[dashboard]'``: Starlette and uvicorn).
It reads studies through the Storage API only, binds 127.0.0.1 by default, and is read-only
unless started with a token; with a token, reading needs it too. It answers only to Host
headers that name this machine and refuses requests made by other web pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from honed.dashboard._server import DashboardServer, serve

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from honed.storage import Storage

__all__ = ["DashboardServer", "create_app", "serve"]


def create_app(
    storage: str | Path | Storage,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: Sequence[str] = (),
    read_only: bool = False,
) -> Starlette:
    """The Starlette app over ``storage`` (a URL, a path or a Storage); see :func:`serve`."""
    from honed.dashboard._app import create_app as _create
    from honed.storage import get_storage

    return _create(
        get_storage(storage),
        token=token,
        host=host,
        allowed_hosts=allowed_hosts,
        read_only=read_only,
    )
