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

from honed.dashboard._server import DashboardServer, serve

__all__ = ["DashboardServer", "create_app", "serve"]


def create_app(storage, *, token=None, host="127.0.0.1", allowed_hosts=(), read_only=False):  # type: ignore[no-untyped-def]
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
